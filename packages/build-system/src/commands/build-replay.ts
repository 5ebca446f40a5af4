import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { debugNoop } from '../cache/noop/debug.js';
import { type PreviousRun, readPreviousRun, readRecordDelta, readRecordResults, type RecordDelta, settleRecord, touchManifests } from '../cache/noop/check.js';
import { type NoopResults, type RecordedPackage, readsFile, recordFile, recordKey, resultsFile, type SelectionInput } from '../cache/noop/record.js';
import type { ReplaySelection } from '../cache/noop/selection.js';
import { REMOTE_ENV } from '../cache/remote/config.js';
import type { BuildResult } from '../result/schema.js';
import { makeRunResult, type RunFacts } from '../services/results.js';
import { emitRecorded } from '../services/recorded-events.js';
import { defaultConcurrency } from '../util/concurrency.js';
import { isValidationDiagnostic } from '../validate/diagnostics.js';
import { ReadLog } from '../util/read-log.js';
import { monotonicMs } from '../util/clock.js';
import { findWorkspaceRoot } from '../workspace/package-info.js';
import type { ParsedBuildArgv } from './build-argv.js';
import { flagsToRequest } from '../cli/flags-to-request.js';
import { OrderedOutput } from '../cli/ordered-output.js';
import type { BuildRequest } from '../request.js';
import { LineReporter } from './reporter.js';
import { createRunOutput, noopRecordOptions } from './run-output.js';

/** What a replay that did not answer learned, for the run that follows. */
export interface ReplaySeen {
  /** The run's cache dir, once known (the CLI's start file prewarms TypeScript there). */
  cacheDir?: string;
  /** The record that could not be replayed, with what changed since: the run's partial plan starts from it. */
  previous?: PreviousRun;
}

/**
 * A no-op `build` answered from its record (cache/noop/record.ts): when every
 * path the last recorded run read is unchanged, every package it built is the
 * cache hit it was, and this prints exactly what runBuildCommand would — the
 * same reporters fed the same events — with fresh times. The record serves any
 * selection (names, --filter, --cwd) that resolves, against its graph, to
 * packages it has results for; print-only flags come from this invocation.
 * Returns false, having printed nothing, whenever the record is missing,
 * anything changed, or anything cannot be proven the same.
 *
 * `seen` tells the run what the attempt learned (ReplaySeen).
 */
export async function replayNoopBuild(parsed: ParsedBuildArgv, seen: ReplaySeen = {}): Promise<boolean> {
  const { flags } = parsed;
  const options = noopRecordOptions(flags);
  if (!options) return false;
  let request: BuildRequest;
  try {
    // The same conversion as a real run: a value it would reject is its to report (usage error, exit 2).
    request = flagsToRequest(parsed.packages, flags).request;
  } catch {
    return false;
  }
  // A run with a remote cache configured is never replayed: it may have entries to upload that the
  // remote lacks, and it reports the remote's state. --no-remote-cache turns that off (and replays).
  if (request.remoteCache !== false && REMOTE_ENV.url.some((name) => process.env[name])) {
    debugNoop('a remote cache is configured: building');
    return false;
  }
  const concurrency = request.concurrency ?? defaultConcurrency();
  const cwd = path.resolve(request.cwd ?? process.cwd());
  // Where the record is; what the record itself says is checked below (nothing here is an input of a build).
  const root = findWorkspaceRoot(cwd, new ReadLog());
  const cacheDir = resolveCacheDir(root, request.cacheDir);
  seen.cacheDir = cacheDir;
  const key = recordKey({ root, cacheDir, options });
  const delta: RecordDelta = { changed: [], changedEntries: [] };
  const record = readRecordDelta(recordFile(cacheDir, key), key, delta);
  if (!record) {
    debugNoop('no record, or it cannot tell what changed: building');
    return false;
  }
  const rewritten = (delta.verified?.files.size ?? 0) + (delta.verified?.dirs.size ?? 0);
  if (delta.changed.length > 0 || delta.changedEntries.length > 0 || rewritten > 0) {
    // The run builds what these changes reach and keeps the rest (services/partial-run.ts). Paths written anew with
    // the same content change nothing, but their stats do: the run's record takes the new ones, a replay could not.
    const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    if (rewritten > 0) {
      const byGit = [...(delta.verified?.files.values() ?? [])].filter((f) => f.oid).length;
      debugNoop(`${count(rewritten, 'path', 'paths')} written anew with the recorded content${byGit > 0 ? ` (${byGit} of them as git's index says)` : ''}`);
    }
    // The first few, relative to the workspace: what the run does with them is the partial run's line.
    const shown = [...delta.changed.slice(0, 10).map((p) => path.relative(root, p) || '.'), ...delta.changedEntries.slice(0, 5)];
    const more = delta.changed.length + delta.changedEntries.length - shown.length;
    const listed = shown.length > 0 ? ` (${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''})` : '';
    if (shown.length > 0) debugNoop(`changed since the record: ${count(delta.changed.length, 'path', 'paths')}, ${count(delta.changedEntries.length, 'cache entry', 'cache entries')}${listed}`);
    seen.previous = readPreviousRun(recordFile(cacheDir, key), resultsFile(cacheDir, key), readsFile(cacheDir, key), record, delta) ?? undefined;
    return false;
  }
  const stored = readRecordResults(resultsFile(cacheDir, key), record);
  if (!stored) {
    debugNoop('the record has no results that go with it: building');
    return false;
  }
  const input = { cwd, names: parsed.packages, filters: request.filter ?? [] };
  // The recording invocation's own selection is stored; any other is resolved against the recorded graph,
  // with the graph and filter code loaded only then.
  const selection = storedSelection(stored, input) ?? (await import('../cache/noop/selection.js')).resolveReplaySelection(record, input.cwd, input.names, input.filters);
  if (!selection) {
    debugNoop('the selection is not one the record can answer: building');
    return false;
  }
  const packages = selection.order.map((name) => stored.packages[name]);
  if (packages.some((p) => p === undefined)) return false;
  // --strict is not part of the key: it changes the outcome only of a run with package.json problems, and such a run
  // is never recorded under --strict (it fails). A record of a run without it that had problems is not replayed here:
  // the build runs, hits the cache, and fails as --strict says.
  if (request.strict && packages.some((p) => p!.result.diagnostics.some(isValidationDiagnostic))) {
    debugNoop('--strict and the recorded run has package.json warnings: building');
    return false;
  }
  touchManifests(record, new Set(selection.order));
  settleRecord(recordFile(cacheDir, key), record);
  debugNoop(`replayed ${recordFile(cacheDir, key)}`);

  const origin = monotonicMs();
  const started = Date.now();
  const output = createRunOutput(flags);
  // Not a terminal: the same line reporter, its lines collected and written at the end in their order
  // (one write per stream run instead of ~2 per package: the replay takes milliseconds, nobody watches it stream).
  const printed = output.piped ? new OrderedOutput() : null;
  const reporter = printed ? new LineReporter(output.json, printed.stream(1), printed.stream(2), output.style) : await output.reporterFor();
  reporter.onPlan({ packages: selection.order.map((name) => ({ name, dir: selection.dirs.get(name)!, dependencies: selection.dependencies.get(name) ?? [] })), concurrency });
  const replayLogs = (request.outputLogs ?? 'full') === 'full';
  const results: BuildResult[] = [];
  const timeline: RunFacts['timeline'] = [];
  const sinceOrigin = () => monotonicMs() - origin;
  for (const recorded of packages as RecordedPackage[]) {
    const startMs = sinceOrigin();
    const result = emitRecorded(recorded, (e) => reporter.onEvent(e), replayLogs, sinceOrigin);
    results.push(result);
    timeline.push({ name: result.package.name, startMs: round(startMs), endMs: round(sinceOrigin()) });
  }
  // The same maker as a real run's result: a replay differs from the run it replays only in its times.
  const run = makeRunResult({ origin, started, concurrency, bail: request.bail === true, cancelled: false, results, timeline, waits: selection.dependencies });
  reporter.printRun(run);
  printed?.flush();
  process.exitCode = 0;
  return true;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The stored resolution when this invocation is the one that wrote the record (same cwd, names and
 * filter texts, in order): what resolveReplaySelection returns for it, computed by the same function
 * at record time against the same graph. The cwd must still exist, as resolution requires.
 */
function storedSelection(stored: NoopResults, input: SelectionInput): ReplaySelection | null {
  const s = stored.selection;
  if (!s || s.cwd !== input.cwd || !sameList(s.names, input.names) || !sameList(s.filters, input.filters) || !existsSync(input.cwd)) return null;
  return { order: s.order, dependencies: new Map(s.dependencies), dirs: new Map(s.dirs) };
}
