import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { debugNoop } from '../cache/noop/debug.js';
import { readValidRecord, recordFile, recordKey, touchManifests } from '../cache/noop/record.js';
import type { BuildResult, RunResult } from '../result/schema.js';
import { isValidationDiagnostic } from '../validate/diagnostics.js';
import { criticalPath } from '../workspace/critical-path.js';
import { ReadLog } from '../util/read-log.js';
import { findWorkspaceRoot } from '../workspace/package-info.js';
import type { ParsedBuildArgv } from './build-argv.js';
import { createRunOutput, noopRecordOptions } from './run-output.js';

/**
 * A no-op `build` answered from its record (cache/noop/record.ts): when every
 * path the last identical run read is unchanged, every package is the cache
 * hit it was, and this prints exactly what runBuildCommand would — the same
 * reporters fed the same events — with fresh times. Returns false, having
 * printed nothing, whenever the record is missing or anything changed.
 */
export async function replayNoopBuild(parsed: ParsedBuildArgv): Promise<boolean> {
  const { flags } = parsed;
  const options = noopRecordOptions(parsed.packages, flags);
  if (!options) return false;
  const cwd = flags.cwd ?? process.cwd();
  // Where the record is; what the record itself says is checked below (nothing here is an input of a build).
  const cacheDir = resolveCacheDir(findWorkspaceRoot(path.resolve(cwd), new ReadLog()), flags.cacheDir);
  const key = recordKey({ cwd, options });
  const record = readValidRecord(recordFile(cacheDir, key), key);
  if (!record) {
    debugNoop('no record, or something it watches changed: building');
    return false;
  }
  // --strict is not part of the key: it changes the outcome only of a run with package.json problems, and such a run
  // is never recorded under --strict (it fails). A record of a run without it that had problems is not replayed here:
  // the build runs, hits the cache, and fails as --strict says.
  if (flags.strict && record.packages.some((p) => p.result.diagnostics.some(isValidationDiagnostic))) {
    debugNoop('--strict and the recorded run has package.json warnings: building');
    return false;
  }
  touchManifests(record);
  debugNoop(`replayed ${recordFile(cacheDir, key)}`);

  const origin = performance.now();
  const started = Date.now();
  const reporter = await createRunOutput(flags).reporterFor();
  reporter.onPlan(record.plan);
  const replayLogs = (flags.outputLogs ?? 'full') === 'full';
  const results: BuildResult[] = [];
  const timeline: NonNullable<RunResult['timeline']> = [];
  for (const { result: recorded, logs } of record.packages) {
    const startMs = performance.now() - origin;
    const startedAt = new Date().toISOString();
    const name = recorded.package.name;
    reporter.onEvent({ type: 'package-start', package: name, dir: recorded.package.dir });
    reporter.onEvent({ type: 'adapter-chosen', package: name, adapter: recorded.adapter.name!, version: recorded.adapter.version!, reason: recorded.adapter.reason });
    if (replayLogs) for (const l of logs) reporter.onEvent({ type: 'log', package: name, stream: l.stream, line: l.line });
    const endMs = performance.now() - origin;
    const result = withTimes(recorded, startedAt, Math.round(endMs - startMs));
    reporter.onEvent({ type: 'package-done', result });
    results.push(result);
    timeline.push({ package: name, status: result.status, startMs: round(startMs), endMs: round(endMs) });
  }
  const deps = new Map(record.plan.packages.map((p) => [p.name, p.dependencies]));
  const durations = new Map(timeline.map((t) => [t.package, t.endMs - t.startMs]));
  const run: RunResult = {
    schemaVersion: record.schemaVersion as RunResult['schemaVersion'],
    ok: true,
    exitCode: 0,
    startedAt: new Date(started).toISOString(),
    endedAt: new Date().toISOString(),
    durationMs: round(performance.now() - origin),
    concurrency: record.concurrency,
    bail: record.bail,
    results,
    timeline,
    criticalPath: criticalPath(
      results.map((r) => r.package.name),
      deps,
      durations,
    ),
    cache: { hits: { local: results.length, remote: 0 }, misses: 0 },
  };
  reporter.printRun(run);
  process.exitCode = 0;
  return true;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The recorded result with this run's times, keys in the order the build service writes them. */
function withTimes(recorded: Omit<BuildResult, 'startedAt' | 'durationMs'>, startedAt: string, durationMs: number): BuildResult {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(recorded)) {
    out[k] = v;
    if (k === 'adapter') out.startedAt = startedAt;
    if (k === 'status') out.durationMs = durationMs;
  }
  return out as BuildResult;
}
