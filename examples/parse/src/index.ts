import { money } from '@demo/core';
import type { Money } from '@demo/types';
import { SYMBOLS } from './symbols.js';

export { SYMBOLS };

export class ParseError extends Error {
  constructor(readonly input: string) {
    super(`not an amount: ${JSON.stringify(input)} (expected e.g. "€2.50" or "12 JPY")`);
  }
}

/** Parses "€2.50", "2.50 EUR", "US$ 3" or "¥120" into Money (rounded to the currency's minor units). */
export function parseMoney(input: string): Money {
  const text = input.trim();
  for (const [symbol, currency] of SYMBOLS) {
    const rest = text.startsWith(symbol) ? text.slice(symbol.length) : text.endsWith(symbol) ? text.slice(0, -symbol.length) : null;
    if (rest === null) continue;
    const amount = Number(rest.trim().replace(/,/g, ''));
    if (rest.trim() !== '' && Number.isFinite(amount)) return money(amount, currency);
  }
  throw new ParseError(input);
}
