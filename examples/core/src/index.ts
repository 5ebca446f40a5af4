import { isCurrency, type LineItem, type Money } from '@demo/types';
import { roundTo } from './round.js';

export const version: string = __CORE_VERSION__;

export function money(amount: number, currency: string): Money {
  if (!isCurrency(currency)) throw new TypeError(`unknown currency ${currency}`);
  return { amount: roundTo(amount, currency), currency };
}

export function add(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new TypeError(`cannot add ${a.currency} to ${b.currency}`);
  return money(a.amount + b.amount, a.currency);
}

export function total(items: readonly LineItem[]): Money | undefined {
  let sum: Money | undefined;
  for (const item of items) {
    const line = money(item.unitPrice.amount * item.quantity, item.unitPrice.currency);
    sum = sum ? add(sum, line) : line;
  }
  return sum;
}
