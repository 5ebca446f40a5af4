/**
 * The composition root: one place that wires the services together with the
 * adapters and reporter it is given. The programmatic API (index.ts) is one
 * instance with the real adapters; a test passes a fake adapter
 * (test/helpers/fake-adapter.ts) and runs the whole pipeline (config, key,
 * locks, cache, staging, swap) in-process. Framework-free: no @nestjs/*.
 */
import { createAdapterRegistry } from './adapters/registry.js';
import type { BuilderAdapter } from './adapters/types.js';
import type { BuildEventListener } from './events.js';
import type { PlanResult, RunResult } from './result/schema.js';
import type { PruneReport, StoreInfo } from './cache/store.js';
import { PackageBuildService } from './services/build.service.js';
import { CacheService } from './services/cache.service.js';
import { CleanService, type CleanOptions, type CleanResult } from './services/clean.service.js';
import { ListService, type ListEntry } from './services/list.service.js';
import { WatchService, type WatchOptions, type WatchSession } from './services/watch.service.js';
import { WorkspaceBuildService, runError, type RunOptions, type SelectOptions } from './services/workspace.service.js';
import { planError, type RunHooks } from './services/plan.js';
import { checkRequest, type BuildRequest } from './request.js';

export interface BuildSystemOptions {
  /** Adapters that stand in for the real builders of the same name (e.g. a test's fake `esbuild`). */
  adapters?: readonly BuilderAdapter[];
  /** Hears every event of every run and watch round, after the call's own `onEvent`. */
  reporter?: BuildEventListener;
  /** The clock (ms since the epoch) for durations and `startedAt`; default Date.now. */
  now?: () => number;
}

export interface BuildSystem {
  build(options?: RunOptions): Promise<RunResult>;
  plan(options?: RunOptions): Promise<PlanResult>;
  list(options?: SelectOptions): Promise<ListEntry[]>;
  watch(options?: WatchOptions): WatchSession;
  clean(options?: CleanOptions): Promise<CleanResult[]>;
  pruneCache(options?: { cwd?: string; cacheDir?: string; maxSizeBytes?: number; maxAgeMs?: number }): Promise<PruneReport & { dir: string }>;
  cacheInfo(options?: { cwd?: string; cacheDir?: string }): Promise<StoreInfo>;
  clearCache(options?: { cwd?: string; cacheDir?: string }): Promise<{ entries: number; bytes: number }>;
}

// The keys of a call's options that are not request fields, let through unchecked (the Records make the compiler insist on every one).
const RUN_HOOK_KEYS = Object.keys({
  reads: true,
  onSelected: true,
  withDependencies: true,
  signal: true,
  onEvent: true,
  onReads: true,
  command: true,
  remoteSession: true,
  onPlan: true,
  reuse: true,
  previous: true,
  onPartial: true,
} satisfies Record<keyof RunHooks, true>);
const LIST_HOOK_KEYS = Object.keys({ reads: true, onSelected: true, withDependencies: true, participates: true } satisfies Record<Exclude<keyof SelectOptions, keyof BuildRequest>, true>);
const WATCH_HOOK_KEYS = Object.keys({ onEvent: true, command: true, onSelected: true, debounceMs: true } satisfies Record<Exclude<keyof WatchOptions, keyof BuildRequest>, true>);

export function createBuildSystem(options: BuildSystemOptions = {}): BuildSystem {
  const now = options.now ?? Date.now;
  const packageBuild = new PackageBuildService({ adapters: createAdapterRegistry(options.adapters), now });
  const workspace = new WorkspaceBuildService(packageBuild);
  const watcher = new WatchService(workspace);
  const cache = new CacheService();
  const { reporter } = options;
  // The reporter joins each call's own listener, so workspace-level events (warnings, plan) reach it too.
  const reported = <T extends { onEvent?: BuildEventListener }>(o: T): T => {
    if (!reporter) return o;
    const own = o.onEvent;
    return {
      ...o,
      onEvent: (e) => {
        own?.(e);
        reporter(e);
      },
    };
  };
  return {
    // A bad option is a USAGE error in the result (exit code 2), as a bad CLI flag is: build() and plan() never throw for it.
    build: async (o = {}) => {
      const started = now();
      try {
        checkRequest(o, RUN_HOOK_KEYS);
      } catch (e) {
        return runError(new Date(started).toISOString(), started, e);
      }
      return workspace.run(reported(o));
    },
    plan: async (o = {}) => {
      const started = now();
      try {
        checkRequest(o, RUN_HOOK_KEYS);
      } catch (e) {
        return planError(started, e);
      }
      return workspace.plan(reported(o));
    },
    // ListService chooses adapters itself (it is results' to make list() the plan); it sees the real registry.
    // list() throws what a plan would report (a selection error), a bad option included.
    list: async (o = {}) => new ListService().list(checkRequest(o, LIST_HOOK_KEYS)),
    // A watch has no result to carry a bad option: it throws the USAGE error before anything starts.
    watch: (o = {}) => watcher.watch(reported(checkRequest(o, WATCH_HOOK_KEYS))),
    clean: (o = {}) => new CleanService().clean(o),
    pruneCache: (o = {}) => cache.prune(o),
    cacheInfo: (o = {}) => cache.info(o),
    clearCache: (o = {}) => cache.clear(o),
  };
}
