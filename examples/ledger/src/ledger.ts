import { add, money } from '@demo/core';
import { parseMoney } from '@demo/parse';

type Money = ReturnType<typeof money>;

/** Balances per currency; amounts are never converted. */
export class Ledger {
  private readonly balances = new Map<Money['currency'], Money>();

  /** Records an amount given as text ("€2.50") or as Money. */
  record(entry: string | Money): this {
    const amount = typeof entry === 'string' ? parseMoney(entry) : entry;
    const before = this.balances.get(amount.currency);
    this.balances.set(amount.currency, before ? add(before, amount) : amount);
    return this;
  }

  balance(currency: Money['currency']): Money {
    return this.balances.get(currency) ?? money(0, currency);
  }

  currencies(): Money['currency'][] {
    return [...this.balances.keys()].sort();
  }
}
