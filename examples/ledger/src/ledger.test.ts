import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger } from './ledger.js';

test('balances add up per currency', () => {
  const ledger = new Ledger().record('€2.50').record('1.25 EUR').record('¥120');
  assert.deepEqual(ledger.balance('EUR'), { amount: 3.75, currency: 'EUR' });
  assert.deepEqual(ledger.currencies(), ['EUR', 'JPY']);
});
