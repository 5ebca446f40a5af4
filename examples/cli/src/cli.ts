#!/usr/bin/env node
import { totalOf } from './index.js';

const args = process.argv.slice(2);
const currencyFlag = args.findIndex((a) => a === '--currency');
const currency = currencyFlag >= 0 ? args.splice(currencyFlag, 2)[1] : 'EUR';
try {
  process.stdout.write(`${totalOf(args, currency)}\n`);
} catch (e) {
  process.stderr.write(`demo-total: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
