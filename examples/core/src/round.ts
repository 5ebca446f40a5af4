import { MINOR_UNITS, type Currency } from '@demo/types';

/** Rounds half away from zero to the currency's minor unit. */
export function roundTo(amount: number, currency: Currency): number {
  const factor = 10 ** MINOR_UNITS[currency];
  return (Math.sign(amount) * Math.round(Math.abs(amount) * factor)) / factor;
}
