import type { Currency } from '@demo/types';

/** Written forms of each currency, longest first so "US$" wins over "$". */
export const SYMBOLS: ReadonlyArray<readonly [string, Currency]> = [
  ['US$', 'USD'],
  ['EUR', 'EUR'],
  ['USD', 'USD'],
  ['JPY', 'JPY'],
  ['€', 'EUR'],
  ['$', 'USD'],
  ['¥', 'JPY'],
];
