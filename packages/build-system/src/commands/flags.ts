import { BuildSystemError } from '../errors.js';

export function parseSeconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new BuildSystemError('USAGE', `must be a number of seconds >= 0 (got ${JSON.stringify(value)})`, { field: flag });
  }
  return n;
}
