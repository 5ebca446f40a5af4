import { existsSync } from 'node:fs';
import { chmod, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { chooseAdapter } from '../adapters/registry.js';
import type { AdapterContext, AdapterOutput } from '../adapters/types.js';
import { loadPackageConfig } from '../config/load.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import type { AdapterName } from '../config/schema.js';
import { BuildSystemError, isBuildSystemError } from '../errors.js';
import type { BuildEventListener } from '../events.js';
import { acquirePackageLock, lockDirFor } from '../lock.js';
import { entryKey, recordBuildReads } from '../cache/build-reads.js';
import { describeChanges } from '../cache/explain.js';
import type { DependencyUse, Fingerprint, FingerprintInput } from '../cache/fingerprint.js';
import { PackageCache, type CacheOptions, type KeyState } from '../cache/package-cache.js';
import { CacheCorruptError, type CacheManifest, type LogLine } from '../cache/store.js';
import type { RemoteCacheSession } from '../cache/remote/session.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import type { Artifact, BuildResult, CacheChange, CacheInfo, Diagnostic, PlanEntry } from '../result/schema.js';
import { collectArtifacts } from '../util/artifacts.js';
import { createStagingDir, discardStaging, JOURNAL_PREFIX, removeLeftovers, swapInStaging } from '../util/atomic-dir.js';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { applyStrict, validateBuild } from '../validate/index.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { dependenciesRead, type WorkspaceDependencyRef } from './dependency-needs.js';

export interface PackageBuildOptions extends CacheOptions {
  /**
   * The run's read log (util/read-log.ts): every input is read and hashed
   * through it, once per run, and the CLI's no-op record is derived from it.
   */
  reads: ReadLog;
  /**
   * Every workspace package this one depends on (whether or not this run
   * builds it): the fingerprint says which of them the build reads, and a
   * miss names the one whose files changed. Unknown when omitted.
   */
  workspaceDependencies?: readonly WorkspaceDependencyRef[];
  /** Overrides the config's adapter (CLI `--adapter`). */
  adapter?: AdapterName;
  /** How long to wait for another process's lock; 0 = fail at once. */
  lockTimeoutMs?: number;
  /** How long a lock's heartbeat may be silent before a waiter takes it over (ms; CLI --stale-timeout). */
  staleLockMs?: number;
  signal?: AbortSignal;
  onEvent?: BuildEventListener;
  /** Command line recorded in the lock owner record. */
  command?: string;
  /**
   * The run's remote cache (the workspace service opens one per run from its
   * `remoteCache` options): consulted after a local miss, and given every
   * newly stored entry to upload.
   */
  remoteSession?: RemoteCacheSession;
  /**
   * package.json validation warnings (src/validate) fail the build (CLI
   * `--strict`): nothing is swapped in; a cache hit with stored validation
   * warnings fails the same way without restoring anything.
   */
  strict?: boolean;
}

const LOG_TAIL_LINES = 40;
/** Tool output kept in a cache entry for replay; a runaway tool must not bloat the cache. */
const STORED_LOG_LINES = 5000;

/** A cache miss on its way to becoming a stored entry. */
interface CacheMiss {
  cache: PackageCache;
  current: KeyState;
  changes: CacheChange[];
  /** An entry for this fingerprint was found corrupt: a new one with its key overwrites it. */
  replace: boolean;
}

/** A package with its config loaded, checked and its adapter chosen: everything decided before anything is written. */
export interface PreparedPackage {
  pkg: PackageInfo;
  config: ResolvedConfig;
  choice: Awaited<ReturnType<typeof chooseAdapter>>;
}

/**
 * Builds one package: config → adapter → lock → staging → adapter → declarations
 * → artifacts → swap. Every way it can end is a BuildResult; it throws only
 * for programming errors.
 */
export class PackageBuildService {
  /** Loads and checks config and tools. Throws BuildSystemError (config/usage) before any write. */
  async prepare(pkg: PackageInfo, options: Pick<PackageBuildOptions, 'adapter' | 'reads'>): Promise<PreparedPackage> {
    const { reads } = options;
    const { config, file } = await loadPackageConfig(pkg, reads);
    const raw = options.adapter ? { ...config, adapter: options.adapter } : config;
    const resolved = resolveConfig(pkg, raw, file);
    const origin = options.adapter ? '--adapter' : file ? toPosix(path.relative(pkg.dir, file)) : 'default';
    const relFile = file ? toPosix(path.relative(process.cwd(), file)) : undefined;
    const choice = await chooseAdapter(pkg, resolved.adapter, origin, reads, relFile);
    if (choice.adapter.name === 'tsc') {
      // tsc cannot emit every format/entry naming a bundler can; refuse before anything is written.
      const { assertTscCanBuild } = await import('../adapters/tsc.js');
      assertTscCanBuild(pkg, resolved);
    }
    if (resolved.dts && choice.adapter.name !== 'tsc') {
      const { checkDeclarationTool } = await import('../adapters/dts.js');
      const dtsTool = await checkDeclarationTool(pkg, reads);
      if (!dtsTool.available) {
        throw new BuildSystemError('ADAPTER_UNAVAILABLE', `dts: true needs TypeScript: ${dtsTool.reason}; install it with: ${dtsTool.installHint}`, {
          package: pkg.name,
          file: relFile,
          field: 'dts',
        });
      }
    }
    return { pkg, config: resolved, choice };
  }

  /**
   * `preparing`: the package's prepare() when the caller already started it
   * (the workspace run prepares every package up front to decide what each
   * waits for), so the config is never loaded twice. A rejected one ends the
   * build exactly as a failing prepare() here would.
   */
  async build(pkg: PackageInfo, options: PackageBuildOptions, preparing?: Promise<PreparedPackage>): Promise<BuildResult> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const emit = options.onEvent ?? (() => {});
    emit({ type: 'package-start', package: pkg.name, dir: pkg.dir });

    let prepared: PreparedPackage;
    try {
      prepared = await (preparing ?? this.prepare(pkg, options));
    } catch (e) {
      return this.finish(emit, errorResult(pkg, startedAt, started, e));
    }
    const { config, choice } = prepared;
    emit({ type: 'adapter-chosen', package: pkg.name, adapter: choice.adapter.name, version: choice.tool.version, reason: choice.reason });
    const base = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      package: { name: pkg.name, dir: pkg.dir },
      adapter: { name: choice.adapter.name, version: choice.tool.version, reason: choice.reason },
      startedAt,
      cache: { status: 'disabled', key: null } as CacheInfo,
      outDir: config.outDir,
    };
    if (options.noCache) base.cache = { status: 'disabled', key: null, reason: 'cache disabled (--no-cache)' };

    const cacheWarnings: Diagnostic[] = [];
    let cache: PackageCache | null = null;
    /** The key computed before the lock; reused under it unless we waited for another process (which may have changed inputs). */
    let early: CacheCheck['key'];
    let waited = false;
    if (!options.noCache) {
      try {
        cache = await PackageCache.open(pkg, options, options.reads);
        // Before the lock: when outDir already holds this key's entry there is nothing to write, so nobody needs to be waited for.
        const hit = cache.read ? await this.hitInPlace({ cache, prepared, options, base, started, warnings: [], key: undefined }) : null;
        if (hit?.result) return this.finish(emit, hit.result);
        early = hit?.key;
      } catch (e) {
        cache = null;
        cacheWarnings.push(cacheWarning(`cache not used: ${(e as Error).message}`));
        base.cache = { status: 'disabled', key: null, reason: `cache unavailable: ${(e as Error).message}` };
      }
    }

    const signal = options.signal ?? new AbortController().signal;
    let lock: Awaited<ReturnType<typeof acquirePackageLock>>;
    try {
      lock = await acquirePackageLock(pkg, {
        timeoutMs: options.lockTimeoutMs,
        staleMs: options.staleLockMs,
        // LOCK-INTEGRATION: the short command is what waiters are shown ("… since 12:03:11 (build:package)"); the full line is recorded for diagnosis.
        command: 'build:package',
        commandLine: options.command,
        signal,
        onWait: (message) => {
          waited = true;
          emit({ type: 'lock-wait', package: pkg.name, message });
        },
      });
    } catch (e) {
      return this.finish(emit, { ...errorResult(pkg, startedAt, started, e), adapter: base.adapter, outDir: config.outDir });
    }

    const tail: string[] = [];
    const logs: LogLine[] = [];
    const logMode = options.outputLogs ?? 'full';
    const log = (stream: 'stdout' | 'stderr', line: string) => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      if (logs.length < STORED_LOG_LINES) logs.push({ stream, line });
      if (logMode === 'full') emit({ type: 'log', package: pkg.name, stream, line });
    };
    // errors-only: the output of a build is shown once it is known to have failed.
    const showLogsOfFailure = () => {
      if (logMode === 'errors-only') for (const l of logs) emit({ type: 'log', package: pkg.name, stream: l.stream, line: l.line });
    };

    let staging: string | undefined;
    let miss: CacheMiss | null = null;
    try {
      await removeLeftovers(pkg.dir, config.outDir);
      if (cache) {
        try {
          // Under the lock, again: the process we waited for may have just built this very key.
          const outcome = await this.checkCache({ cache, prepared, options, base, started, warnings: cacheWarnings, key: waited ? undefined : early }, () => lock.assertHeld());
          if ('result' in outcome) return this.finish(emit, outcome.result);
          miss = outcome.miss;
          base.cache = missInfo(miss);
        } catch (e) {
          // A lost lock is not the cache's problem to paper over; any other cache failure only costs the shortcut.
          if (isBuildSystemError(e)) throw e;
          cacheWarnings.push(cacheWarning(`cache not used: ${(e as Error).message}`));
          base.cache = { status: 'disabled', key: null, reason: `cache unavailable: ${(e as Error).message}` };
        }
      }
      staging = await createStagingDir(pkg.dir, config.outDir);
      const ctx: AdapterContext = { pkg, config, outDir: staging, tool: choice.tool, signal, log, reads: options.reads };
      // The file system's clock as the tool starts: a read file changed since is not trusted (build-reads.ts).
      const toolStartedCtimeMs = (await stat(staging)).ctimeMs;
      const outputs: AdapterOutput[] = [await choice.adapter.build(ctx)];
      if (outputs[0]!.ok && config.dts && choice.adapter.name !== 'tsc' && !signal.aborted) {
        const { emitDeclarations } = await import('../adapters/dts.js');
        outputs.push(await emitDeclarations(ctx));
      }
      const diagnostics: Diagnostic[] = [...cacheWarnings, ...outputs.flatMap((o) => o.diagnostics)];
      const ok = outputs.every((o) => o.ok) && !signal.aborted;
      const { artifacts, missing } = ok ? await collectArtifacts(outputs.flatMap((o) => o.files), staging, config.outDir) : { artifacts: [], missing: [] };
      for (const m of missing) diagnostics.push({ severity: 'warning', message: `the ${choice.adapter.name} adapter reported ${m} but it is not a file in the output` });

      if (!ok) {
        await discardStaging(staging);
        staging = undefined;
        showLogsOfFailure();
        await miss?.cache.finish(null);
        const message = signal.aborted ? 'build cancelled' : `${choice.adapter.name} failed`;
        return this.finish(emit, {
          ...base,
          status: 'failed',
          durationMs: Date.now() - started,
          artifacts: [],
          diagnostics,
          logTail: tail,
          error: { code: 'BUILD_FAILED', message: firstError(diagnostics) ?? message },
        });
      }
      await makeBinsExecutable(config, staging);
      // package.json against what was just produced, before the entry is saved: a hit replays these without validating.
      const validation = validateBuild({ pkg, outDir: config.outDir, artifacts, staging, reads: options.reads });
      diagnostics.push(...validation.diagnostics);
      // The second half of the key: what the tools read beyond the fingerprint's files, checked for changes during the build.
      let entry: { key: string; reads: import('../cache/build-reads.js').RecordedReads } | null = null;
      if (miss) {
        const toolReads = outputs.map((o) => o.reads);
        const recorded = toolReads.some((r) => r === null)
          ? { problem: `${choice.adapter.name} ${choice.tool.version} did not report which files it read` }
          : await recordBuildReads({
              pkg,
              adapter: choice.adapter.name,
              declarations: config.dts && choice.adapter.name !== 'tsc',
              toolReads: toolReads.flatMap((r) => r!),
              staticInputs: miss.current.inputFiles,
              excludeDirs: [miss.cache.store.dir, staging],
              hasher: miss.cache.hasher,
              startedCtimeMs: toolStartedCtimeMs,
              checked: validation.looked,
            });
        if ('problem' in recorded) {
          diagnostics.push(cacheWarning(`not cached: ${recorded.problem}`));
          base.cache = { ...base.cache, key: null };
          await miss.cache.finish(null);
          miss = null;
        } else {
          entry = { key: entryKey(miss.current.primaryKey, recorded.reads), reads: recorded.reads };
          base.cache = { ...base.cache, key: entry.key };
        }
      }
      if (miss && entry) {
        // Stored from the staging dir before the swap: nothing but this build writes there.
        const problem = await miss.cache.save(
          {
            key: entry.key,
            primaryKey: miss.current.primaryKey,
            package: { name: pkg.name, dir: pkg.dir },
            outDir: config.outDir,
            fingerprint: miss.current.fingerprint,
            reads: entry.reads,
            adapter: base.adapter,
            durationMs: Date.now() - started,
            artifacts: await withModes(artifacts, config.outDir, staging),
            diagnostics: diagnostics.filter((d) => d.code !== CACHE_DIAGNOSTIC),
            logs,
          },
          staging,
          { replace: miss.replace },
        );
        if (problem) diagnostics.push(cacheWarning(problem));
      }
      // --strict: the entry above keeps the warnings (a later run without --strict uses it); this build fails before the swap.
      const strict = options.strict ? applyStrict(diagnostics) : null;
      if (strict) {
        await discardStaging(staging);
        staging = undefined;
        await miss?.cache.finish(null);
        return this.finish(emit, { ...base, status: 'failed', durationMs: Date.now() - started, artifacts: [], diagnostics: strict.diagnostics, error: strict.error });
      }
      // LOCK-INTEGRATION: publish only while the lock is still ours (it is taken over if this process stalled past the stale timeout).
      await lock.assertHeld();
      // emit: false (type-check only) wrote nothing: outDir is left as it is, neither swapped nor cleaned.
      if (config.emit) await swapInStaging(pkg.dir, config.outDir, staging, { keepStale: !config.clean });
      else await discardStaging(staging);
      staging = undefined;
      if (miss && entry) {
        if (config.emit) await miss.cache.rememberOutputs(config.outDir, artifacts);
        const problem = await miss.cache.finish({ key: entry.key, fingerprint: miss.current.fingerprint, reads: entry.reads });
        if (problem) diagnostics.push(cacheWarning(problem));
        // Queued, not awaited: the upload runs while other packages build; the run waits for it before it ends.
        options.remoteSession?.enqueueUpload({ key: entry.key, cache: miss.cache });
      }
      return this.finish(emit, { ...base, status: 'success', durationMs: Date.now() - started, artifacts, diagnostics });
    } catch (e) {
      if (staging) await discardStaging(staging).catch(() => {});
      showLogsOfFailure();
      return this.finish(emit, { ...errorResult(pkg, startedAt, started, e), adapter: base.adapter, cache: base.cache, outDir: config.outDir, logTail: tail });
    } finally {
      await lock.release();
    }
  }

  private finish(emit: BuildEventListener, result: BuildResult): BuildResult {
    emit({ type: 'package-done', result });
    return result;
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
    const current = await cache.fingerprint(await this.fingerprintInput(prepared, options));
    const found = cache.read ? await cache.find(current.primaryKey, { touch: false }) : null;
    if (found?.status !== 'hit') return { cache: { status: 'miss', key: null, wouldHit: false }, hit: false };
    return { cache: { status: 'hit', key: found.hit.manifest.key, wouldHit: true }, hit: true };
  }

  /** Everything but the files that goes into the fingerprint (the files are read by the fingerprint itself). */
  private async fingerprintInput(prepared: PreparedPackage, options: PackageBuildOptions): Promise<Omit<FingerprintInput, 'pkg' | 'hasher' | 'excludeDirs'>> {
    const { pkg, config, choice } = prepared;
    let declarations: Fingerprint['declarations'] = null;
    if (config.dts && choice.adapter.name !== 'tsc') {
      const { findTypeScript } = await import('../adapters/tsc-runner.js');
      const ts = findTypeScript(pkg, options.reads);
      const { findIsolatedEmitter } = await import('../adapters/isolated-dts.js');
      if (ts) declarations = { tool: 'typescript', version: ts.version, isolated: findIsolatedEmitter(pkg, options.reads)?.version ?? null };
    }
    // Every workspace dependency, selected or not, by how the build uses it: the same key whatever the run selected.
    const deps = options.workspaceDependencies ?? [];
    const reads = dependenciesRead({ pkg, config, adapter: choice.adapter.name }, deps);
    const dependencies: Record<string, DependencyUse> = {};
    for (const d of deps) dependencies[d.name] = reads.has(d.name) ? 'read' : 'external';
    return {
      config,
      adapter: { name: choice.adapter.name, version: choice.tool.version },
      declarations,
      dependencies,
      workspacePackages: new Set(deps.map((d) => d.name)),
    };
  }

  /** Workspace packages by name → dir, to name the dependency a changed read belongs to. */
  private workspaceDirs(options: PackageBuildOptions): Map<string, string> {
    return new Map((options.workspaceDependencies ?? []).map((d) => [d.name, d.dir]));
  }

  /**
   * The lock-free fast path: a hit whose files are already in outDir. `result`
   * is null when anything would have to be written; `key` is the fingerprint
   * it computed, for the check under the lock.
   */
  private async hitInPlace(check: CacheCheck): Promise<{ result: BuildResult | null; key?: KeyState } | null> {
    const { cache, prepared, options } = check;
    // An interrupted swap is finished by the next lock holder; until then outDir is not to be trusted.
    const parent = path.dirname(path.resolve(prepared.pkg.dir, prepared.config.outDir));
    const pending = await readdir(parent).then((names) => names.some((n) => n.startsWith(JOURNAL_PREFIX)), () => false);
    if (pending) return null;
    const current = await cache.fingerprint(await this.fingerprintInput(prepared, options));
    // A lock directory means a build is publishing, or one crashed and left it: go through the lock,
    // which waits for the first and takes over (and removes) the second. Left in place, a crashed
    // build's lock would also keep every later no-op from being recorded (cache/noop).
    if (existsSync(lockDirFor(prepared.pkg.dir))) return { result: null, key: current };
    const found = await cache.find(current.primaryKey);
    if (found.status !== 'hit' || !(await cache.outDirHolds(found.hit.manifest, prepared.config))) return { result: null, key: current };
    return { result: (await this.strictRefusal(check, found.hit.manifest, 'local')) ?? (await this.finishHit(check, current, found.hit.manifest, false)) };
  }

  /**
   * Under the lock: the fingerprint, then a hit (an entry built from it whose
   * recorded reads still hold; outDir already right, or restored through
   * staging + swap with every sha256 verified) or a miss with its
   * explanation. A corrupt entry is a miss with a warning, and is replaced.
   */
  private async checkCache(
    check: CacheCheck,
    /** Throws unless the package lock is still ours; called right before a restore is published. */
    assertLockHeld: () => Promise<void>,
  ): Promise<{ result: BuildResult } | { miss: CacheMiss }> {
    const { cache, prepared, options, warnings } = check;
    const { pkg, config } = prepared;
    const current = check.key ?? (await cache.fingerprint(await this.fingerprintInput(prepared, options)));
    if (!cache.read) return { miss: { cache, current, changes: [{ kind: 'forced' }], replace: false } };
    const found = await cache.find(current.primaryKey);
    let problem: string | null = null;
    let corruptKey: string | null = null;
    if (found.status === 'corrupt') {
      problem = found.problem;
      corruptKey = found.key;
    } else if (found.status === 'hit') {
      const { manifest } = found.hit;
      const refused = await this.strictRefusal(check, manifest, 'local');
      if (refused) return { result: refused };
      if (await cache.outDirHolds(manifest, config)) return { result: await this.finishHit(check, current, manifest, false) };
      const restoreProblem = await restoreThroughStaging(pkg.dir, config, found.hit.restore, assertLockHeld);
      if (restoreProblem === null) {
        await cache.rememberOutputs(config.outDir, manifest.artifacts);
        return { result: await this.finishHit(check, current, manifest, true) };
      }
      problem = restoreProblem;
      corruptKey = manifest.key;
    }
    const corrupt = problem === null ? null : cacheWarning(`cache entry ${corruptKey!.slice(0, 12)} is corrupt (${problem}): rebuilding and replacing it`);
    if (corrupt) warnings.push(corrupt);
    // Nothing usable locally: the remote cache, when the run has one. Its hit replaces a corrupt local entry.
    const remote = await this.remoteHit(check, current, problem !== null, assertLockHeld);
    if (remote) {
      // The result holds this very object: say what really happened to the corrupt entry.
      if (corrupt) corrupt.message = `cache entry ${corruptKey!.slice(0, 12)} was corrupt (${problem}): replaced by the remote cache's`;
      return { result: remote };
    }
    if (problem === null) return { miss: { cache, current, changes: await cache.explain(current, this.workspaceDirs(options)), replace: false } };
    return { miss: { cache, current, changes: [{ kind: 'entry-corrupt', problem }], replace: true } };
  }

  /**
   * A local miss looked up in the run's remote cache, by fingerprint key. A
   * verified artifact is written to the local store first, then found there
   * exactly like a local entry (its recorded reads checked against this
   * machine's files, every sha256 checked again on restore, staging + swap
   * under the lock), so there is one restore path. A refused artifact is a
   * warning and a miss.
   */
  private async remoteHit(check: CacheCheck, current: KeyState, replace: boolean, assertLockHeld: () => Promise<void>): Promise<BuildResult | null> {
    const { cache, prepared, options, warnings } = check;
    const remote = options.remoteSession;
    if (!remote?.canRead) return null;
    const { pkg, config } = prepared;
    const fetched = await remote.fetchInto(current.primaryKey, cache, { replace, signal: options.signal });
    if (fetched.status !== 'miss' && fetched.warning) warnings.push(cacheWarning(fetched.warning));
    if (fetched.status !== 'hit') return null;
    const found = await cache.find(current.primaryKey);
    if (found.status !== 'hit') {
      // Stored, but built from other files than this machine has (or unreadable): build here.
      if (found.status === 'corrupt') warnings.push(cacheWarning(`remote cache artifact for ${current.primaryKey.slice(0, 12)} was stored locally but does not read back (${found.problem}); building locally`));
      return null;
    }
    const { manifest } = found.hit;
    const refused = await this.strictRefusal(check, manifest, 'remote');
    if (refused) return refused;
    let restored = false;
    if (!(await cache.outDirHolds(manifest, config))) {
      const restoreProblem = await restoreThroughStaging(pkg.dir, config, found.hit.restore, assertLockHeld);
      if (restoreProblem !== null) {
        warnings.push(cacheWarning(`remote cache artifact ${manifest.key.slice(0, 12)} could not be restored (${restoreProblem}); building locally`));
        return null;
      }
      restored = true;
      await cache.rememberOutputs(config.outDir, manifest.artifacts);
    }
    return this.finishHit(check, current, manifest, restored, 'remote');
  }

  /**
   * `--strict` and a hit whose stored diagnostics hold validation warnings:
   * the build fails as the one it replays would have, and nothing is
   * restored (outDir stays as it is). Null otherwise.
   */
  private async strictRefusal(check: CacheCheck, manifest: CacheManifest, source: 'local' | 'remote'): Promise<BuildResult | null> {
    const strict = check.options.strict ? applyStrict(manifest.diagnostics) : null;
    if (!strict) return null;
    const problem = await check.cache.finish(null);
    if (problem) check.warnings.push(cacheWarning(problem));
    return {
      ...check.base,
      status: 'failed',
      durationMs: Date.now() - check.started,
      cache: { status: 'hit', key: manifest.key, fingerprintKey: manifest.primaryKey, source, restored: false },
      artifacts: [],
      diagnostics: [...check.warnings, ...strict.diagnostics],
      error: strict.error,
    };
  }

  /** A hit whose files are in outDir: recorded as used (a problem doing so is only a warning), then its result. */
  private async finishHit(check: CacheCheck, current: KeyState, manifest: CacheManifest, restored: boolean, source: 'local' | 'remote' = 'local'): Promise<BuildResult> {
    const problem = await check.cache.finish({ key: manifest.key, fingerprint: current.fingerprint, reads: manifest.reads });
    if (problem) check.warnings.push(cacheWarning(problem));
    return this.hitResult(manifest, restored, check, source);
  }

  private hitResult(manifest: CacheManifest, restored: boolean, { options, base, started, warnings }: CacheCheck, source: 'local' | 'remote'): BuildResult {
    // A hit replays what the original build printed: it stands in for that build.
    if ((options.outputLogs ?? 'full') === 'full') {
      for (const l of manifest.logs) options.onEvent?.({ type: 'log', package: base.package.name, stream: l.stream, line: l.line });
    }
    return {
      ...base,
      status: 'success',
      durationMs: Date.now() - started,
      cache: { status: 'hit', key: manifest.key, fingerprintKey: manifest.primaryKey, source, restored },
      artifacts: manifest.artifacts.map(({ mode: _mode, ...a }) => a),
      diagnostics: [...warnings, ...manifest.diagnostics],
    };
  }
}

type ResultBase = Pick<BuildResult, 'schemaVersion' | 'package' | 'adapter' | 'startedAt' | 'cache' | 'outDir'>;

/** What the cache steps of one package build share; cache warnings collect in `warnings` and end up in the result. */
interface CacheCheck {
  cache: PackageCache;
  prepared: PreparedPackage;
  options: PackageBuildOptions;
  base: ResultBase;
  started: number;
  warnings: Diagnostic[];
  /** A fingerprint already computed for this build (hitInPlace's, reused under the lock): one fingerprint per package per run. */
  key: KeyState | undefined;
}

/** Diagnostics the cache adds (corrupt entry, unwritable store) carry this code; they are not stored with the entry. */
export const CACHE_DIAGNOSTIC = 'CACHE';

function cacheWarning(message: string): Diagnostic {
  return { severity: 'warning', message, code: CACHE_DIAGNOSTIC };
}

/** Before the build its entry key is not known yet: the fingerprint's stands in until the build has recorded its reads. */
function missInfo(miss: CacheMiss): CacheInfo {
  return { status: 'miss', key: miss.current.primaryKey, fingerprintKey: miss.current.primaryKey, reason: describeChanges(miss.changes), changes: miss.changes };
}

/**
 * Restores an entry the way a build publishes: into a staging dir, then the
 * same atomic swap. Returns the problem when the entry turned out corrupt
 * (outDir untouched), null on success.
 */
async function restoreThroughStaging(
  pkgDir: string,
  config: ResolvedConfig,
  restore: (target: string) => Promise<void>,
  assertLockHeld: () => Promise<void>,
): Promise<string | null> {
  const staging = await createStagingDir(pkgDir, config.outDir);
  try {
    await restore(staging);
  } catch (e) {
    await discardStaging(staging).catch(() => {});
    if (e instanceof CacheCorruptError) return e.problem;
    throw e;
  }
  try {
    // LOCK-INTEGRATION: as for a build, publish only while the lock is still ours.
    await assertLockHeld();
    await swapInStaging(pkgDir, config.outDir, staging, { keepStale: !config.clean });
  } catch (e) {
    await discardStaging(staging).catch(() => {});
    throw e;
  }
  return null;
}

/** Artifacts with their file modes in staging (bins are executable), as a cache entry records them. */
async function withModes(artifacts: readonly Artifact[], outDir: string, staging: string): Promise<(Artifact & { mode: number })[]> {
  return Promise.all(
    artifacts.map(async (a) => {
      const st = await stat(path.join(staging, ...a.path.slice(outDir.length + 1).split('/')));
      return { ...a, mode: st.mode & 0o777 };
    }),
  );
}

function firstError(diagnostics: Diagnostic[]): string | undefined {
  const d = diagnostics.find((x) => x.severity === 'error');
  if (!d) return undefined;
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  return `${where}${d.message}`;
}

/** package.json `bin` targets that this build produced get the executable bit before the swap. */
async function makeBinsExecutable(config: ResolvedConfig, staging: string): Promise<void> {
  // emit: false wrote no bins (nor anything else).
  if (!config.emit) return;
  for (const bin of config.bins) {
    if (!bin.startsWith(`${config.outDir}/`)) continue;
    const inStaging = path.join(staging, bin.slice(config.outDir.length + 1));
    await chmod(inStaging, 0o755).catch(() => {});
  }
}

/** A result for a package that failed before or outside the adapter (config, lock, I/O). */
export function errorResult(pkg: PackageInfo, startedAt: string, started: number, e: unknown): BuildResult {
  const err = isBuildSystemError(e) ? e : new BuildSystemError('INTERNAL', (e as Error)?.message ?? String(e), { package: pkg.name, cause: e });
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
    error: { code: err.code, message: err.lines()[0] ?? err.message, file: err.file, field: err.field },
  };
}
