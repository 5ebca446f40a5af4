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
 * The flags that can change what a run produces, as the no-op record's key
 * (cache/noop/record.ts recordKey). Not in it: the selection (positional names,
 * --filter, --cwd; a replay resolves it against the recorded graph), flags that
 * only change printing or waiting (--json, --color, --concurrency, --bail,
 * --output-logs: applied by the replay from the current flags; --lock-timeout: a
 * replay needs every lock to be free), --strict (checked by the replay) and
 * --cache-dir (the resolved directory is keyed). Null for runs that must not be
 * recorded or replayed: forced or uncached builds, dry runs, --explain and
 * --summary (their extra output is computed from a real run), git-ref filters
 * (they depend on the repository's history), remote cache flags.
 */
export function noopRecordOptions(flags: BuildFlags): Record<string, unknown> | null {
  if (flags.force || flags.cache === false || flags.dryRun || flags.explain || flags.summary) return null;
  if (flags.filter?.some((f) => f.includes('['))) return null;
  if (flags.remoteCacheUrl || flags.remoteCacheToken || flags.remoteCacheTeam || flags.remoteCacheReadOnly || flags.remoteCacheSignatureKey) return null;
  if (flags.remoteCacheTimeout !== undefined || flags.remoteCacheConnectTimeout !== undefined) return null;
  return {
    // Another adapter builds other outputs.
    adapter: flags.adapter ?? null,
    // --all changes which packages take part; the record's participation answers are only valid under the same rule.
    all: flags.all === true,
  };
}
