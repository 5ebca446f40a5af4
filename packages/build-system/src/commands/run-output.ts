import { LineReporter, type Reporter } from './reporter.js';
import { createStyle, standardStream, terminalInfo, wantsColor, type Style } from './terminal.js';
import { BUILD_FLAG_TABLE, type BuildFlags } from '../cli/flag-table.js';

// Light on purpose: the no-op replay (build-replay.ts) uses these without loading the build services.

/**
 * How a build run prints: line reporter (and --json), or the progress view on a terminal. Shared with
 * the no-op replay, which writes a piped run's lines itself: `piped` says so before anything touches
 * process.stdout (the line reporter over the process streams is made on first use).
 */
export function createRunOutput(flags: Pick<BuildFlags, 'json' | 'color'>): { json: boolean; style: Style; piped: boolean; lines: LineReporter; reporterFor: () => Promise<Reporter> } {
  const json = Boolean(flags.json);
  const term = terminalInfo(standardStream(1), flags.color);
  // Under --json people read stderr, so its colour follows stderr.
  const style = createStyle(json ? wantsColor(standardStream(2), flags.color) : term.color);
  const piped = json || !term.interactive;
  let lines: LineReporter | undefined;
  const lineReporter = () => (lines ??= new LineReporter(json, process.stdout, process.stderr, style));
  return {
    json,
    style,
    piped,
    get lines() {
      return lineReporter();
    },
    // The progress view (and node:readline) is loaded only for a terminal: a piped no-op replay skips it.
    reporterFor: async () => (piped ? lineReporter() : new (await import('./progress.js')).ProgressView(process.stdout, style)),
  };
}

/**
 * The flags that can change what a run produces, as the no-op record's key
 * (cache/noop/record.ts recordKey): the table's `affectsOutputs: 'key'` rows
 * (cli/flag-table.ts). Rows marked 'never' make a run neither recorded nor
 * replayed (their output comes from a real run), except that a --force run is
 * recorded for the runs after it; the rest only change printing,
 * waiting or selection, which a replay applies from the current flags. Also
 * never replayed: git-ref filters (they depend on the repository's history).
 */
export function noopRecordOptions(flags: BuildFlags, purpose: 'replay' | 'record' = 'replay'): Record<string, unknown> | null {
  const given = flags as Record<string, unknown>;
  const key: Record<string, unknown> = {};
  for (const def of BUILD_FLAG_TABLE) {
    const value = given[def.key];
    // A forced run is never replayed, but it rebuilt and stored every result: the next plain run may replay it.
    if (purpose === 'record' && def.key === 'force') continue;
    if (def.affectsOutputs === 'never' && value !== undefined && isSet(def.type, value)) return null;
    if (def.affectsOutputs === 'key') key[def.key] = def.type === 'boolean' ? value === true : (value ?? null);
  }
  if (flags.filter?.some((f) => f.includes('['))) return null;
  return key;
}

/** Whether a flag's value asks for what the flag does (`--no-cache` is set when cache is false). */
function isSet(type: string, value: unknown): boolean {
  if (type === 'negation') return value === false;
  if (type === 'boolean') return value === true;
  return true;
}
