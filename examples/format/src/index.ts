import { MINOR_UNITS, type Money } from '@demo/types';
import { total } from '@demo/core';
import { SYMBOLS } from './symbols.js';

export function formatMoney(m: Money): string {
  return `${SYMBOLS[m.currency]}${m.amount.toFixed(MINOR_UNITS[m.currency])}`;
}

export function formatTotal(items: Parameters<typeof total>[0]): string {
  const sum = total(items);
  return sum ? formatMoney(sum) : '—';
}
