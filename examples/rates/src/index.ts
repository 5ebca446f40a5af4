import { isCurrency, type Currency, type Money } from '@demo/types';
import { PER_EURO } from './table.js';

export type { Currency };

/** The rate that turns one unit of `from` into `to`. */
export function rate(from: Currency, to: Currency): number {
  return PER_EURO[to] / PER_EURO[from];
}

/** Converts an amount, unrounded: rounding is the caller's (see @demo/core money()). */
export function convert(value: Money, to: string): { amount: number; currency: Currency } {
  if (!isCurrency(to)) throw new TypeError(`unknown currency ${to}`);
  return { amount: value.amount * rate(value.currency, to), currency: to };
}
