import os from 'node:os';
import { BuildSystemError } from '../errors.js';

// Light on purpose: the no-op replay (commands/build-replay.ts) prints the concurrency of the run it stands in for.

/** Cores this process may use (what `--concurrency 50%` is a share of). */
export function availableCores(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : Math.max(1, os.cpus().length);
}

/**
 * Packages building at once unless told otherwise: 10, as turbo, or one per
 * core on bigger machines. Not the number of cores: a package build is mostly
 * waiting (on esbuild's own multi-threaded service, a spawned bun, the file
 * system), so two at a time on two cores leaves them idle. Measured on the
 * bench workspaces on 2 cores (research.md): cold builds get faster from 2 to 8
 * at once and stay flat up to 16; peak memory barely moves. Heavy spawned work
 * has its own bounds (TypeScript declarations run in a pool of workers).
 */
export function defaultConcurrency(): number {
  return Math.max(10, availableCores());
}

/** `--concurrency 4` or, as turbo accepts, a share of the cores: `--concurrency 50%`. */
export function parseConcurrency(value: string, cores = availableCores()): number {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  if (pct) {
    const share = Number(pct[1]);
    if (share > 0) return Math.max(1, Math.floor((cores * share) / 100));
  } else if (/^\d+$/.test(value.trim()) && Number(value) >= 1) {
    return Number(value);
  }
  throw new BuildSystemError('USAGE', `--concurrency must be a whole number >= 1 or a percentage of the cores like 50% (got ${JSON.stringify(value)})`, { field: '--concurrency' });
}
