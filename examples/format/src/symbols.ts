import type { Currency } from '@demo/types';

export const SYMBOLS: Readonly<Record<Currency, string>> = { EUR: '€', USD: '$', JPY: '¥' };
