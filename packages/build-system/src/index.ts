/**
 * Programmatic API. Framework-free: importing this module must not load
 * @nestjs/* (a test checks it). The CLI and this API call the same services.
 */
import type { BuildEventListener } from './events.js';
import type { PlanResult, RunResult } from './result/schema.js';
import type { PruneReport, StoreInfo } from './cache/store.js';
import type { BuildRequest } from './request.js';
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
export type { BuildRequest } from './request.js';
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

/**
 * What build() takes: a BuildRequest (src/request.ts, where each field is
 * described; checked on every call, a bad option is a USAGE error in the
 * result) and, beside it, what cannot be data.
 */
export interface BuildOptions extends BuildRequest {
  /** Aborting cancels running builds (locks released, outDirs left as they were) and starts nothing new. */
  signal?: AbortSignal;
  /** Receives progress and tool output as events. */
  onEvent?: BuildEventListener;
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
  const system = createBuildSystem();
  // dryRun goes along so it is checked with the rest (a run ignores it).
  return options.dryRun ? system.plan(options) : system.build(options);
}

/**
 * Builds the selection (round 0), then watches every input its builds read and
 * rebuilds what a change affects: the changed packages, then their dependents
 * in graph order (a dependent whose inputs are unchanged is a cache hit), with
 * the same locks and atomic output swaps as `build`. Changes made during a
 * round make the next one. Iterate the session for the rounds; `close()` stops
 * (a running round is cancelled cleanly). A failed round does not end it. A bad
 * option throws a BuildSystemError (code USAGE) before anything starts.
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
