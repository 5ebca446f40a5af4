import path from 'node:path';
import { LineReporter, type Reporter } from './reporter.js';
import { createStyle, terminalInfo, wantsColor, type Style } from './terminal.js';
import type { BuildFlags } from './build-run.js';

// Light on purpose: the no-op replay (build-replay.ts) uses these without loading the build services.

/** How a build run prints: line reporter (and --json), or the progress view on a terminal. Shared with the no-op replay. */
export function createRunOutput(flags: Pick<BuildFlags, 'json' | 'color'>): { json: boolean; style: Style; lines: LineReporter; reporterFor: () => Promise<Reporter> } {
  const json = Boolean(flags.json);
  const term = terminalInfo(process.stdout, flags.color);
  // Under --json people read stderr, so its colour follows stderr.
  const style = createStyle(json ? wantsColor(process.stderr, flags.color) : term.color);
  const lines = new LineReporter(json, process.stdout, process.stderr, style);
  return {
    json,
    style,
    lines,
    // The progress view (and node:readline) is loaded only for a terminal: a piped no-op replay skips it.
    reporterFor: async () => (json || !term.interactive ? lines : new (await import('./progress.js')).ProgressView(process.stdout, style)),
  };
}

/**
 * The flags that decide what a run builds, as the no-op record's key (flags that
 * only change how it prints — --json, --color — are not in it). Null for runs
 * that must not be recorded or replayed: forced or uncached builds, dry runs,
 * --explain and --summary (their extra output is computed from a real run),
 * git-ref filters (they depend on the repository's history), remote cache flags.
 */
export function noopRecordOptions(packages: readonly string[], flags: BuildFlags): Record<string, unknown> | null {
  if (flags.force || flags.cache === false || flags.dryRun || flags.explain || flags.summary) return null;
  if (flags.filter?.some((f) => f.includes('['))) return null;
  if (flags.remoteCacheUrl || flags.remoteCacheToken || flags.remoteCacheTeam || flags.remoteCacheReadOnly || flags.remoteCacheSignatureKey) return null;
  return {
    packages: [...packages],
    filter: flags.filter ?? [],
    all: flags.all === true,
    adapter: flags.adapter ?? null,
    concurrency: flags.concurrency ?? null,
    bail: flags.bail === true,
    outputLogs: flags.outputLogs ?? null,
    cacheDir: flags.cacheDir ? path.resolve(flags.cacheDir) : null,
    lockTimeout: flags.lockTimeout ?? null,
    remoteCache: flags.remoteCache !== false,
    // Not --strict: a recorded run is one that succeeded, so with or without --strict it had no package.json
    // problem to fail on, or it ran without --strict and the replay checks them (commands/build-replay.ts).
  };
}
