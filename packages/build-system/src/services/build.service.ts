import path from 'node:path';
import { BuildSystemError, isBuildSystemError } from '../errors.js';
import { acquirePackageLock, type PackageLock, type PackageLockOptions } from '../lock.js';
import { takeoverMessage } from '../lock/owner.js';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { PackageCache } from '../cache/package-cache.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import type { BuildResult, CacheInfo, Diagnostic, PlanEntry } from '../result/schema.js';
import { createStagingDir, discardStaging, removeLeftovers, swapInStaging } from '../util/atomic-dir.js';
import { toPosix } from '../util/paths.js';
import { applyStrict, validateBuild } from '../validate/index.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { buildStep, createBuildLog, type BuildLog } from './package-build/build-step.js';
import {
  defaultSystemContext,
  runContext,
  type CacheCheck,
  type CacheMiss,
  type PackageBuildOptions,
  type PreparedPackage,
  type ResultBase,
  type RunContext,
  type SystemContext,
} from './package-build/context.js';
import { cacheWarning, firstError, missInfo } from './package-build/diagnostics.js';
import { hitInPlaceStep, hitUnderLockStep } from './package-build/hit.js';
import { keyStep } from './package-build/key.js';
import type { KeyAhead } from './keys-ahead.js';
import { loadConfigStep } from './package-build/load-config.js';
import { recordStep, storeEntryStep, type NewEntry } from './package-build/record.js';
import { errorResult } from './results.js';

export type { PackageBuildOptions, PreparedPackage, SystemContext } from './package-build/context.js';
export { CACHE_DIAGNOSTIC } from './package-build/diagnostics.js';
/** Made by the one result maker (services/results.ts); exported here for the build's callers. */
export { errorResult };

/**
 * Builds one package as named steps, each in services/package-build/:
 * load config → key → hit? (in place, lock-free) → lock → hit? (restore) →
 * build (adapter into staging) → store → publish (atomic swap) → record.
 * Every way it can end is a BuildResult; it throws only for programming
 * errors. `system` is what the instance is wired with (adapters, clock,
 * reporter; src/create.ts); everything of one run comes in `options`.
 */
export class PackageBuildService {
  constructor(private readonly system: SystemContext = defaultSystemContext) {}

  /** Step "load config". Throws BuildSystemError (config/usage) before any write. */
  prepare(pkg: PackageInfo, options: Pick<PackageBuildOptions, 'adapter' | 'reads' | 'cacheDir' | 'force' | 'noCache'>): Promise<PreparedPackage> {
    const { adapter, reads, cacheDir, force, noCache } = options;
    return loadConfigStep(pkg, { adapter, reads, adapters: this.system.adapters, cacheDir, force, noCache });
  }

  /**
   * `preparing`: the package's prepare() when the caller already started it
   * (the workspace run prepares every package up front to decide what each
   * waits for), so the config is never loaded twice. A rejected one ends the
   * build exactly as a failing prepare() here would. `ahead`: the package's
   * key computed while it waited for its dependencies (services/keys-ahead.ts),
   * undefined when it could not be kept.
   */
  async build(pkg: PackageInfo, options: PackageBuildOptions, preparing?: Promise<PreparedPackage>, ahead?: Promise<KeyAhead | undefined>): Promise<BuildResult> {
    const ctx = runContext(this.system, options.reads, options.onEvent);
    const started = ctx.now();
    const startedAt = new Date(started).toISOString();
    const finish = (result: BuildResult) => {
      ctx.emit({ type: 'package-done', result });
      return result;
    };
    ctx.emit({ type: 'package-start', package: pkg.name, dir: pkg.dir });

    let prepared: PreparedPackage;
    try {
      prepared = await (preparing ?? this.prepare(pkg, options));
    } catch (e) {
      return finish(errorResult(pkg, startedAt, started, e));
    }
    const { config, choice } = prepared;
    ctx.emit({ type: 'adapter-chosen', package: pkg.name, adapter: choice.adapter.name, version: choice.tool.version, reason: choice.reason });
    const base: ResultBase = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      package: { name: pkg.name, dir: pkg.dir },
      adapter: { name: choice.adapter.name, version: choice.tool.version, reason: choice.reason },
      startedAt,
      cache: options.noCache ? { status: 'disabled', key: null, reason: 'cache disabled (--no-cache)' } : { status: 'disabled', key: null },
      outDir: config.outDir,
    };
    const check = (cache: PackageCache, warnings: Diagnostic[], key: CacheCheck['key']): CacheCheck => ({ ctx, cache, prepared, options, base, started, warnings, key });

    const cacheWarnings: Diagnostic[] = [];
    let cache: PackageCache | null = null;
    /** The key computed before the lock; reused under it unless we waited for another process (which may have changed inputs). */
    let early: CacheCheck['key'];
    if (!options.noCache) {
      try {
        const computed = await ahead;
        cache = computed?.cache ?? (await PackageCache.open(pkg, options, options.reads));
        // Before the lock: when outDir already holds this key's entry there is nothing to write, so nobody needs to be waited for.
        const hit = cache.read ? await hitInPlaceStep(check(cache, [], computed?.key)) : null;
        if (hit?.result) return finish(hit.result);
        early = hit?.key ?? computed?.key;
      } catch (e) {
        cache = null;
        cacheWarnings.push(cacheWarning(`cache not used: ${(e as Error).message}`));
        base.cache = unavailable(e);
      }
    }

    const signal = options.signal ?? new AbortController().signal;
    let waited = false;
    let lock: PackageLock;
    try {
      lock = await acquirePackageLock(pkg, {
        ...buildLockOptions(options, signal),
        onWait: (message) => {
          waited = true;
          ctx.emit({ type: 'lock-wait', package: pkg.name, message });
        },
      });
    } catch (e) {
      return finish({ ...errorResult(pkg, startedAt, started, e), adapter: base.adapter, outDir: config.outDir });
    }
    // A takeover is rare and means a build died or hung elsewhere: say whose lock it was and why it was judged stale.
    if (lock.tookOver) ctx.emit({ type: 'warning', message: takeoverMessage(pkg.name, lock.tookOver) });

    const log = createBuildLog(pkg.name, options.outputLogs ?? 'full', ctx);
    /** Staging while it is this build's to discard: cleared once it is swapped in or discarded. */
    const work: { staging?: string } = {};
    try {
      await removeLeftovers(pkg.dir, config.outDir);
      let miss: CacheMiss | null = null;
      if (cache) {
        try {
          // Under the lock, again: the process we waited for may have just built this very key.
          const outcome = await hitUnderLockStep(check(cache, cacheWarnings, waited ? undefined : early), () => lock.assertHeld());
          if ('result' in outcome) return finish(outcome.result);
          miss = outcome.miss;
          base.cache = missInfo(miss);
        } catch (e) {
          // A lost lock is not the cache's problem to paper over; any other cache failure only costs the shortcut.
          if (isBuildSystemError(e)) throw e;
          cacheWarnings.push(cacheWarning(`cache not used: ${(e as Error).message}`));
          base.cache = unavailable(e);
        }
      }
      work.staging = await createStagingDir(pkg.dir, config.outDir);
      return finish(await this.buildAndPublish({ prepared, options, ctx, base, started, log, lock, signal, work, miss, cacheWarnings }));
    } catch (e) {
      if (work.staging) await discardStaging(work.staging).catch(() => {});
      log.showLogsOfFailure();
      return finish({ ...errorResult(pkg, startedAt, started, e), adapter: base.adapter, cache: base.cache, outDir: config.outDir, logTail: log.tail });
    } finally {
      await lock.release();
    }
  }

  /**
   * Steps build → store → publish → record, under the lock, for a miss (or
   * without a cache). `work.staging` is cleared once it is swapped in or
   * discarded; if this throws before, the caller discards it.
   */
  private async buildAndPublish(input: {
    prepared: PreparedPackage;
    options: PackageBuildOptions;
    ctx: RunContext;
    base: ResultBase;
    started: number;
    log: BuildLog;
    lock: PackageLock;
    signal: AbortSignal;
    work: { staging?: string };
    miss: CacheMiss | null;
    cacheWarnings: Diagnostic[];
  }): Promise<BuildResult> {
    const { prepared, options, ctx, base, started, log, work, miss, signal } = input;
    const staging = work.staging!;
    const consume = async (publish: () => Promise<void>) => {
      await publish();
      work.staging = undefined;
    };
    const { pkg, config, choice } = prepared;
    const durationMs = () => ctx.now() - started;

    const run = await buildStep(prepared, { staging, signal, log, ctx, cacheWarnings: input.cacheWarnings, cacheDir: resolveCacheDir(pkg.workspaceRoot, options.cacheDir) });
    const { diagnostics, artifacts } = run;
    if (!run.ok) {
      await consume(() => discardStaging(staging));
      log.showLogsOfFailure();
      await miss?.cache.finish(null);
      const message = signal.aborted ? 'build cancelled' : `${choice.adapter.name} failed`;
      return {
        ...base,
        status: 'failed',
        durationMs: durationMs(),
        artifacts: [],
        diagnostics,
        logTail: log.tail,
        error: { code: 'BUILD_FAILED', message: firstError(diagnostics) ?? message },
      };
    }
    // package.json against what was just produced, before the entry is saved: a hit replays these without validating.
    const validation = validateBuild({ pkg, outDir: config.outDir, artifacts, staging, reads: options.reads });
    diagnostics.push(...validation.diagnostics);

    let entry: NewEntry | null = null;
    if (miss) {
      const stored = await storeEntryStep({ prepared, miss, run, staging, checked: validation.looked, base, logs: log.logs, durationMs });
      entry = stored.entry;
      base.cache = stored.cacheInfo;
    }
    // --strict: the entry above keeps the warnings (a later run without --strict uses it); this build fails before the swap.
    const strict = options.strict ? applyStrict(diagnostics) : null;
    if (strict) {
      await consume(() => discardStaging(staging));
      await entry?.miss.cache.finish(null);
      return { ...base, status: 'failed', durationMs: durationMs(), artifacts: [], diagnostics: strict.diagnostics, error: strict.error };
    }
    await consume(() => publishStep(prepared, staging, input.lock));
    if (entry) {
      await recordStep(entry, { outDir: config.outDir, emitted: config.emit, artifacts, diagnostics, remoteSession: options.remoteSession });
      options.onReads?.(prepared, entry.reads, entry.key, entry.miss.current);
    }
    return { ...base, status: 'success', durationMs: durationMs(), artifacts, diagnostics };
  }

  /**
   * What the cache would do for a prepared package, writing nothing
   * (`--dry-run`). `dependencyRebuilt`: a dependency whose outputs this
   * build reads would be rebuilt first, so what it will read is not known yet.
   */
  async predictCache(prepared: PreparedPackage, options: PackageBuildOptions, dependencyRebuilt: boolean): Promise<{ cache: PlanEntry['cache']; hit: boolean }> {
    if (options.noCache) return { cache: { status: 'disabled', key: null, wouldHit: null }, hit: false };
    if (dependencyRebuilt) return { cache: { status: 'miss', key: null, wouldHit: false }, hit: false };
    const cache = await PackageCache.open(prepared.pkg, options, options.reads);
    const current = await keyStep(cache, prepared, options);
    const found = cache.read ? await cache.find(current.primaryKey, { touch: false }) : null;
    if (found?.status !== 'hit') return { cache: { status: 'miss', key: null, wouldHit: false }, hit: false };
    return { cache: { status: 'hit', key: found.hit.manifest.key, wouldHit: true }, hit: true };
  }
}

/**
 * Step "publish": LOCK-INTEGRATION: only while the lock is still ours (it is
 * taken over if this process stalled past the stale timeout), staging swapped
 * in atomically. emit: false (type-check only) wrote nothing: outDir is left
 * as it is, neither swapped nor cleaned.
 */
async function publishStep({ pkg, config }: PreparedPackage, staging: string, lock: PackageLock): Promise<void> {
  await lock.assertHeld();
  if (config.emit) await swapInStaging(pkg.dir, config.outDir, staging, { keepStale: !config.clean });
  else await discardStaging(staging);
}

function unavailable(e: unknown): CacheInfo {
  return { status: 'disabled', key: null, reason: `cache unavailable: ${(e as Error).message}` };
}


/** A package build's lock options; also the partial run's restore's, which stands in for a build. */
export function buildLockOptions(options: { lockTimeoutMs?: number; staleLockMs?: number; command?: string }, signal?: AbortSignal): PackageLockOptions {
  return {
    timeoutMs: options.lockTimeoutMs,
    staleMs: options.staleLockMs,
    // LOCK-INTEGRATION: the short command is what waiters are shown ("… since 12:03:11 (build:package)"); the full line is recorded for diagnosis.
    command: 'build:package',
    commandLine: options.command,
    signal,
  };
}
