import type { Currency } from '@demo/types';

/** Units of each currency per euro (fixed, for the examples). */
export const PER_EURO: Readonly<Record<Currency, number>> = { EUR: 1, USD: 1.08, JPY: 162 };
