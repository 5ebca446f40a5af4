import { money } from '@demo/core';
import { formatMoney } from '@demo/format';
import { Ledger } from '@demo/ledger';
import { convert } from '@demo/rates';

/** One line per currency, then the total converted to `currency`. */
export function report(entries: readonly string[], currency: 'EUR' | 'USD' | 'JPY' = 'EUR'): string {
  const ledger = new Ledger();
  for (const entry of entries) ledger.record(entry);
  const lines = ledger.currencies().map((c) => `${c.padEnd(4)}${formatMoney(ledger.balance(c))}`);
  const total = ledger.currencies().reduce((sum, c) => sum + convert(ledger.balance(c), currency).amount, 0);
  lines.push(`=   ${formatMoney(money(total, currency))}`);
  return lines.join('\n');
}
