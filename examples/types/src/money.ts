export type Currency = 'EUR' | 'USD' | 'JPY';

export interface Money {
  readonly amount: number;
  readonly currency: Currency;
}

/** Minor units per currency: JPY has none. */
export const MINOR_UNITS: Readonly<Record<Currency, number>> = { EUR: 2, USD: 2, JPY: 0 };

export function isCurrency(value: unknown): value is Currency {
  return typeof value === 'string' && value in MINOR_UNITS;
}
