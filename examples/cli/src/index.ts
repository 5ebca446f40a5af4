import { money } from '@demo/core';
import { formatTotal } from '@demo/format';
import { parseItem } from './parse.js';

export function totalOf(args: readonly string[], currency = 'EUR'): string {
  const items = args.map(parseItem).map((p) => ({ sku: p.sku, quantity: p.quantity, unitPrice: money(p.amount, currency) }));
  return formatTotal(items);
}
