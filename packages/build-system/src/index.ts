/**
 * Programmatic API. Framework-free: importing this module must not load
 * @nestjs/* (a test checks it). The CLI and this API call the same services.
 */
import type { AdapterName } from './config/schema.js';
import type { BuildEventListener } from './events.js';
import type { PlanResult, RunResult } from './result/schema.js';
import type { OutputLogsMode } from './cache/package-cache.js';
import type { PruneReport, StoreInfo } from './cache/store.js';
import type { RemoteCacheOptions } from './cache/remote/config.js';
import type { CleanOptions, CleanResult } from './services/clean.service.js';
import type { ListEntry } from './services/list.service.js';
import type { WatchOptions, WatchSession } from './services/watch.service.js';
import { createBuildSystem } from './create.js';
import { runInit, type InitOptions } from './init/init.service.js';
import type { InitResult } from './init/result-schema.js';

export { defineConfig, buildConfigSchema, ADAPTER_NAMES, BUILDER_NAMES } from './config/schema.js';
export type { BuildConfigInput as UserConfig, BuildConfigInput, BuildConfig, AdapterName, BuilderName, Format } from './config/schema.js';
export { buildResultSchema, runResultSchema, planResultSchema, diagnosticSchema, artifactSchema, RESULT_SCHEMA_VERSION } from './result/schema.js';
export type { BuildResult, RunResult, PlanResult, PlanEntry, TimelineEntry, Diagnostic, Artifact, CacheInfo, CacheChange, RunCacheSummary } from './result/schema.js';
export type { RemoteCacheOptions } from './cache/remote/config.js';
export { BuildSystemError, isBuildSystemError, formatIssue } from './errors.js';
export type { ErrorCode, ErrorIssue } from './errors.js';
export type { BuildEvent, BuildEventListener } from './events.js';
export type { ListEntry } from './services/list.service.js';
export type { CleanResult, CleanOptions } from './services/clean.service.js';
export type { BuilderAdapter, AdapterContext, AdapterOutput, ToolAvailability } from './adapters/types.js';
export type { ResolvedConfig } from './config/resolve.js';
export type { RunPlan, Selection, SelectOptions } from './services/workspace.service.js';
export { createBuildSystem } from './create.js';
export type { BuildSystem, BuildSystemOptions } from './create.js';
export type { OutputLogsMode } from './cache/package-cache.js';
export type { PruneReport, StoreInfo } from './cache/store.js';
export type { Fingerprint } from './cache/fingerprint.js';
export { FINGERPRINT_VERSION } from './cache/fingerprint.js';
export { initResultSchema, initPackageResultSchema } from './init/result-schema.js';
export type { InitResult, InitPackageResult } from './init/result-schema.js';
export type { InitOptions } from './init/init.service.js';
export { watchRoundSchema } from './result/watch-schema.js';
export type { WatchRound } from './result/watch-schema.js';
export type { WatchOptions, WatchSession } from './services/watch.service.js';

export interface BuildOptions {
  /** Directory to act from: a package, or a workspace root (default process.cwd()). */
  cwd?: string;
  /** Package names or directories; default: what cwd implies. Each comes with the workspace packages it depends on. */
  packages?: string[];
  /** turbo-style filters, e.g. ['@demo/*', '...[origin/main]', '!@demo/cli'] (see the CLI's --filter). */
  filter?: string[];
  /** Also build packages without a build.config.* when an entry can be inferred from package.json. */
  all?: boolean;
  /** Most packages built at once (default: 10, or the number of cores if more). */
  concurrency?: number;
  /** After the first failure start nothing new. */
  bail?: boolean;
  /** Return the plan (order, adapter, cache) instead of building. */
  dryRun?: boolean;
  /** Use this adapter instead of the config's. */
  adapter?: AdapterName;
  /** Wait at most this long for another process's lock (ms); 0 fails at once. Default 5 minutes. */
  lockTimeoutMs?: number;
  /** Aborting cancels running builds (locks released, outDirs left as they were) and starts nothing new. */
  signal?: AbortSignal;
  /** Receives progress and tool output as events. */
  onEvent?: BuildEventListener;
  /** Build even when the cache holds the result; the new result is still stored (CLI --force). */
  force?: boolean;
  /**
   * package.json validation warnings (codes PKG_*: a missing export target,
   * condition order, types of the wrong module kind, `files` not covering a
   * target) fail the build and nothing is swapped in (CLI --strict).
   */
  strict?: boolean;
  /** Neither read nor write the build cache (CLI --no-cache). */
  noCache?: boolean;
  /** Cache directory. Default: $BUILD_SYSTEM_CACHE_DIR, else <workspace root>/node_modules/.cache/build-system. */
  cacheDir?: string;
  /** Tool output as `log` events: all of it (default), only of failed builds, or none; a cache hit replays the original build's. */
  outputLogs?: OutputLogsMode;
  /** Eviction after each cache write: size cap (default 5 GiB) and age (default 30 days). */
  cacheLimits?: { maxSizeBytes?: number; maxAgeMs?: number };
  /**
   * Remote cache over the Turborepo HTTP API (v8): consulted after a local miss, fed by uploads
   * after each build. Unset: configured from env (BUILD_SYSTEM_REMOTE_CACHE_URL / _TOKEN / _TEAM /
   * _READ_ONLY / _SIGNATURE_KEY, falling back to TURBO_API / TURBO_TOKEN / TURBO_TEAM), and off
   * without a URL. `false`: off whatever the env says. A remote failure never fails a build.
   */
  remoteCache?: RemoteCacheOptions | false;
}

/**
 * Builds the selected packages, each as soon as its workspace dependencies are
 * built, `concurrency` at a time; never throws for build or config errors
 * (they are in the result). With `dryRun: true` it returns the plan instead.
 */
export function build(options: BuildOptions & { dryRun: true }): Promise<PlanResult>;
export function build(options?: BuildOptions & { dryRun?: false }): Promise<RunResult>;
export function build(options: BuildOptions): Promise<RunResult | PlanResult>;
export function build(options: BuildOptions = {}): Promise<RunResult | PlanResult> {
  const { dryRun, ...rest } = options;
  const system = createBuildSystem();
  return dryRun ? system.plan(rest) : system.build(rest);
}

/**
 * Builds the selection (round 0), then watches every input its builds read and
 * rebuilds what a change affects: the changed packages, then their dependents
 * in graph order (a dependent whose inputs are unchanged is a cache hit), with
 * the same locks and atomic output swaps as `build`. Changes made during a
 * round make the next one. Iterate the session for the rounds; `close()` stops
 * (a running round is cancelled cleanly). A failed round does not end it.
 */
export function watch(options: WatchOptions & Omit<BuildOptions, 'dryRun' | 'signal'> = {}): WatchSession {
  return createBuildSystem().watch(options);
}

export function list(options: { cwd?: string; packages?: string[]; filter?: string[]; all?: boolean } = {}): Promise<ListEntry[]> {
  return createBuildSystem().list(options);
}

/** Removes outDirs (and with `cache: true` the packages' cache entries). */
export function clean(options: CleanOptions = {}): Promise<CleanResult[]> {
  return createBuildSystem().clean(options);
}

/** Evicts cache entries: unused for maxAgeMs (default 30 days), then least recently used down to maxSizeBytes (default 5 GiB). */
export function pruneCache(options: { cwd?: string; cacheDir?: string; maxSizeBytes?: number; maxAgeMs?: number } = {}): Promise<PruneReport & { dir: string }> {
  return createBuildSystem().pruneCache(options);
}

/** Where the cache is, its size, entries per package. */
export function cacheInfo(options: { cwd?: string; cacheDir?: string } = {}): Promise<StoreInfo> {
  return createBuildSystem().cacheInfo(options);
}

/** Empties the whole cache directory of a workspace. */
export function clearCache(options: { cwd?: string; cacheDir?: string } = {}): Promise<{ entries: number; bytes: number }> {
  return createBuildSystem().clearCache(options);
}

/**
 * Writes a build.config.ts for each selected package that has none (every workspace package
 * from the root), reproducing what its package.json names and its tsup/tsdown/tsc setup; with
 * `dryRun` it only returns the configs. Never throws for usage or package errors (they are in the result).
 */
export function init(options: InitOptions = {}): Promise<InitResult> {
  return runInit(options);
}
