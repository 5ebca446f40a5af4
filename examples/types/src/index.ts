export type { Currency, Money } from './money.js';
export { MINOR_UNITS, isCurrency } from './money.js';

export interface LineItem {
  sku: string;
  quantity: number;
  unitPrice: import('./money.js').Money;
}
