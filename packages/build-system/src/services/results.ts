/**
 * The one result maker: every BuildResult and RunResult a run, a replayed
 * no-op run, a crash or an error returns is shaped here, so the paths cannot
 * drift apart. Kept light (no graph, config or adapter code): the no-op replay
 * loads it on its fast path.
 */
import path from 'node:path';
import { BuildSystemError, exitCodeFor, isBuildSystemError, type ErrorCode } from '../errors.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import type { BuildResult, RunCacheSummary, RunResult } from '../result/schema.js';
import type { RemoteRunSummary } from '../cache/remote/session.js';
import { toPosix } from '../util/paths.js';
import { monotonicMs } from '../util/clock.js';
import { criticalPath } from '../workspace/critical-path.js';

/** Anything thrown, as a BuildSystemError (INTERNAL when it is not one; `pkg` names the package it happened in). */
export function toBuildSystemError(e: unknown, pkg?: string): BuildSystemError {
  if (isBuildSystemError(e)) return e;
  return new BuildSystemError('INTERNAL', (e as Error)?.message ?? String(e), pkg === undefined ? undefined : { package: pkg, cause: e });
}

/** The `error` of a result: code, first line, file and field. */
export function errorInfo(err: BuildSystemError): { code: BuildSystemError['code']; message: string; file: string | undefined; field: string | undefined } {
  return { code: err.code, message: err.lines()[0] ?? err.message, file: err.file, field: err.field };
}

/** The exit code an error code means (errors.ts). */
export function exitCodeOf(code: string): number {
  return exitCodeFor(code as ErrorCode);
}

/** A result for a package that failed before or outside the adapter (config, lock, I/O), or whose build crashed. */
export function errorResult(pkg: { name: string; dir: string }, startedAt: string, started: number, e: unknown): BuildResult {
  const err = toBuildSystemError(e, pkg.name);
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    package: { name: pkg.name, dir: pkg.dir },
    status: 'failed',
    adapter: { name: null, version: null, reason: 'not chosen: the build stopped before' },
    startedAt,
    durationMs: Date.now() - started,
    cache: { status: 'disabled', key: null },
    artifacts: [],
    // Issues name files relative to the cwd (for the one-line message); diagnostics are relative to the package.
    diagnostics: err.issues.map((i) => ({
      severity: 'error' as const,
      message: i.field ? `${i.field}: ${i.message}` : i.message,
      file: i.file ? toPosix(path.relative(pkg.dir, path.resolve(i.file))) : undefined,
      line: i.line,
      column: i.column,
    })),
    error: errorInfo(err),
  };
}

/** A package not built because a dependency it reads failed, or the run was cancelled / bailed. */
export function skippedResult(pkg: { name: string; dir: string }, reason: string): BuildResult {
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    package: { name: pkg.name, dir: pkg.dir },
    status: 'skipped',
    adapter: { name: null, version: null, reason: `not built: ${reason}` },
    startedAt: new Date().toISOString(),
    durationMs: 0,
    cache: { status: 'skipped', key: null, reason },
    artifacts: [],
    diagnostics: [],
  };
}

/** A run that ended before any package (bad options, selection error): no results, the error and its exit code. */
export function runError(startedAt: string, started: number, e: unknown): RunResult {
  const err = toBuildSystemError(e);
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    ok: false,
    exitCode: err.exitCode,
    startedAt,
    durationMs: Date.now() - started,
    results: [],
    error: { ...errorInfo(err), issues: err.issues },
  };
}

/** Hits by source and misses, plus the remote cache's own account when there is one. */
export function cacheSummary(results: readonly BuildResult[], remote?: RemoteRunSummary): RunCacheSummary {
  const hits = results.filter((r) => r.cache.status === 'hit');
  const remoteHits = hits.filter((r) => r.cache.source === 'remote').length;
  return {
    hits: { local: hits.length - remoteHits, remote: remoteHits },
    misses: results.filter((r) => r.cache.status === 'miss').length,
    ...(remote ? { remote } : {}),
  };
}

export function resultExitCode(r: BuildResult): number {
  if (r.status === 'success' || r.status === 'skipped') return 0;
  return r.error ? exitCodeOf(r.error.code) : 1;
}

export interface RunFacts {
  /** monotonicMs() when the run started: durations and the timeline count from it. */
  origin: number;
  /** Date.now() when the run started. */
  started: number;
  concurrency: number;
  bail: boolean;
  cancelled: boolean;
  /** In build order. */
  results: BuildResult[];
  /** Start and end of each package, ms after `origin`. */
  timeline: { name: string; startMs: number; endMs: number }[];
  /** name → the packages it waited for: the critical path runs along them. */
  waits: ReadonlyMap<string, readonly string[]>;
  remote?: RemoteRunSummary;
}

/** The RunResult of a run that got as far as its packages, built or replayed. */
export function makeRunResult(facts: RunFacts): RunResult {
  const status = new Map(facts.results.map((r) => [r.package.name, r.status]));
  const timeline = facts.timeline.map((e) => ({ package: e.name, status: status.get(e.name)!, startMs: e.startMs, endMs: e.endMs }));
  const durations = new Map(facts.timeline.map((e) => [e.name, e.endMs - e.startMs]));
  const exitCode = Math.max(0, ...facts.results.map(resultExitCode));
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    ok: exitCode === 0,
    exitCode,
    startedAt: new Date(facts.started).toISOString(),
    endedAt: new Date().toISOString(),
    durationMs: Math.round((monotonicMs() - facts.origin) * 10) / 10,
    concurrency: facts.concurrency,
    bail: facts.bail,
    ...(facts.cancelled ? { cancelled: true } : {}),
    results: facts.results,
    timeline,
    // Along the real waits: a chain through an external import is no chain at all.
    criticalPath: criticalPath(facts.results.map((r) => r.package.name), facts.waits, durations),
    cache: cacheSummary(facts.results, facts.remote),
  };
}
