/**
 * A workspace run: builds a selection (services/selection.ts) with the
 * scheduler. The plan is services/plan.ts, every result is made in
 * services/results.ts; this module re-exports them for its old importers.
 */
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import { readSnapshotHint } from '../adapters/tsc-snapshot-hint.js';
import type { BuildResult, PlanResult, RunResult } from '../result/schema.js';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { flushCacheUsage } from '../cache/package-cache.js';
import { resolveRemoteCacheConfig } from '../cache/remote/config.js';
import type { RemoteCacheSession } from '../cache/remote/session.js';
import { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { PackageBuildService, type PackageBuildOptions, type PreparedPackage } from './build.service.js';
import { plan, resolveConcurrency, waitsFor, workspaceDependencyRefs, type RunOptions } from './plan.js';
import { errorResult, makeRunResult, runError, skippedResult } from './results.js';
import { priorityOrder, runSchedule } from './scheduler.js';
import { selectPackages, type Selection } from './selection.js';
import { KeysAhead } from './keys-ahead.js';
import { monotonicMs } from '../util/clock.js';
import { debugNoop } from '../cache/noop/debug.js';
import { planPartialRun } from './partial-run.js';
import { emitRecorded } from './recorded-events.js';
import { restoreRecordedOutputs } from './partial-restore.js';

export { hasBuildConfig, hasInferableEntry, selectPackages, type Selection, type SelectOptions } from './selection.js';
export { planSelection, waitsFor, type RunOptions, type RunPlan } from './plan.js';
export { cacheSummary, resultExitCode, runError } from './results.js';
export { availableCores, defaultConcurrency } from '../util/concurrency.js';

/**
 * Builds a selection with the scheduler: packages are prepared (config
 * loaded, each once) a few at a time in the scheduler's order, and each starts
 * as soon as it is prepared and the dependencies whose outputs it reads have
 * succeeded (`waitsFor`), up to
 * `concurrency` at once. A package whose such dependency failed is skipped
 * (never built against stale outputs); independent packages go on, and so
 * does a package that only imports the failed one as external: its output
 * does not depend on the failed build.
 */
export class WorkspaceBuildService {
  constructor(private readonly packageBuild: PackageBuildService = new PackageBuildService()) {}

  async run(runOptions: RunOptions = {}): Promise<RunResult> {
    const options = { ...runOptions, reads: runOptions.reads ?? new ReadLog() };
    const started = Date.now();
    const origin = monotonicMs();
    const startedAt = new Date(started).toISOString();
    let selection: Selection;
    let concurrency: number;
    let remoteConfig: ReturnType<typeof resolveRemoteCacheConfig>;
    try {
      concurrency = resolveConcurrency(options.concurrency);
      selection = selectPackages(options);
      // --no-cache means no cache at all, remote included.
      remoteConfig = resolveRemoteCacheConfig(options.noCache ? false : options.remoteCache);
    } catch (e) {
      return runError(startedAt, started, e);
    }
    // A process from the workspace's TypeScript 5 snapshot starts now, while configs and keys load, for
    // the first TypeScript 5 job; killed below if the run needs none (adapters/tsc-snapshot.ts, research §13).
    const root = selection.packages[0]?.workspaceRoot;
    const cacheDir = root ? resolveCacheDir(root, options.cacheDir) : undefined;
    const hint = cacheDir && process.env.BUILD_SYSTEM_TSC_SNAPSHOT !== '0' ? readSnapshotHint(cacheDir) : undefined;
    const snapshot = hint ? import('../adapters/tsc-snapshot.js') : undefined;
    void snapshot?.then((m) => m.prewarmTscSnapshot(cacheDir!, hint!)).catch(() => {});
    let remoteSession: RemoteCacheSession | undefined;
    if (remoteConfig) {
      // Loaded only when configured: node:http, zlib and the archive code stay out of runs without a remote.
      const { RemoteCacheSession } = await import('../cache/remote/session.js');
      remoteSession = new RemoteCacheSession(remoteConfig, (message) => options.onEvent?.({ type: 'warning', message }));
    }
    for (const message of selection.leftOut) options.onEvent?.({ type: 'warning', message });
    const byName = new Map(selection.packages.map((p) => [p.name, p]));
    const allDepsOf = (name: string) => selection.dependencies.get(name) ?? [];
    options.onPlan?.({ packages: selection.packages.map((p) => ({ name: p.name, dir: p.dir, dependencies: allDepsOf(p.name) })), concurrency });
    // After an edit, from the last no-op record: only the packages the changes reach go through the run.
    const partial = options.previous ? startPartial(selection, options, origin) : null;
    // Packages whose only change is their outputs, gone or edited, get them back from their recorded entries first.
    if (partial && partial.plan.restorable.size > 0) {
      const { restored, timeline } = await restoreRecordedOutputs(partial.plan, byName, options, concurrency, origin);
      for (const [name, result] of restored) partial.kept.set(name, result);
      partial.timeline.push(...timeline);
      debugNoop(`restored ${restored.size} of ${partial.plan.restorable.size} from their recorded cache entries`);
    }
    const runPackages = partial ? selection.packages.filter((p) => partial.plan.affected.has(p.name)) : selection.packages;
    // In a partial run a package also waits for the packages whose outputs it read without depending on them.
    const alsoWaits = (name: string) => partial?.plan.readsOutputsOf.get(name) ?? [];
    const depsOf = partial ? (name: string) => [...allDepsOf(name).filter((d) => partial.plan.affected.has(d)), ...alsoWaits(name)] : allDepsOf;

    // Each package is prepared (config loaded, adapter chosen) once, and starts as soon as its own
    // preparation and the dependencies it waits for are done: what it waits for depends on its config,
    // and the scheduler learns that per package (waitsFor) while earlier packages already build.
    // Each build is handed its own preparation, a failed one included, so a config error ends that
    // build as it always did (and a package that could not be prepared waits for all its dependencies).
    const tasks = runPackages.map((p) => ({ name: p.name, dependencies: depsOf(p.name) }));
    // In a partial run, a package that takes part only because it reads from one that does is kept when what it
    // read came out the same: its config is loaded only if it has to build. Until its turn it waits for everything
    // below it in the run, which holds whatever its config would have it wait for.
    const deferred = new Set(partial ? runPackages.filter((p) => !partial.plan.dirty.has(p.name)).map((p) => p.name) : []);
    const inPriority = priorityOrder(tasks).map((name) => byName.get(name)!);
    const preparing = prepareInOrder(
      inPriority.filter((p) => !deferred.has(p.name)),
      PREPARE_CONCURRENCY,
      (p) => this.packageBuild.prepare(p, options),
    );
    const prepareOf = (name: string): Promise<PreparedPackage> => {
      let prepared = preparing.get(name);
      if (!prepared) preparing.set(name, (prepared = this.packageBuild.prepare(byName.get(name)!, options)));
      return prepared;
    };
    const below = belowInRun(depsOf);
    // What a key says about a dependency must not depend on the selection: every workspace dependency counts.
    const workspaceDeps = new Map(selection.packages.map((p) => [p.name, workspaceDependencyRefs(selection.graph, p.name)]));
    const waits = new Map<string, string[]>();
    const cancel = options.signal ? followSignal(options.signal, concurrency) : undefined;
    const waiting = new Map(
      runPackages.map((p) => [
        p.name,
        (deferred.has(p.name)
          ? Promise.resolve(below(p.name))
          : preparing.get(p.name)!.then(
              (prepared) => [...waitsFor(selection, p, prepared), ...alsoWaits(p.name)],
              () => [...waitsFor(selection, p, null), ...alsoWaits(p.name)],
            )
        ).then((w) => {
          waits.set(p.name, w);
          return w;
        }),
      ]),
    );

    const perPackage = (name: string): PackageBuildOptions => ({ ...options, signal: cancel?.signal, remoteSession, workspaceDependencies: workspaceDeps.get(name)! });
    // While a package waits for dependencies, its own key is computed in the time their tools leave free.
    const ahead = new KeysAhead();
    const nested = packagesHoldingOthers(selection.packages);
    for (const p of runPackages) {
      if (nested.has(p.name) || deferred.has(p.name)) continue;
      void Promise.all([preparing.get(p.name)!, waiting.get(p.name)!]).then(
        ([prepared, waits]) => waits.length > 0 && !options.reuse?.expected(p.name, waits) && ahead.add(p.name, prepared, perPackage(p.name)),
        () => {},
      );
    }

    const emitDone = (result: BuildResult) => {
      options.onEvent?.({ type: 'package-done', result });
      return result;
    };
    const outcome = await runSchedule<BuildResult>({
      // waitsFor may name packages below a task beyond its direct dependencies (plan.ts: what a bundled one brings along).
      tasks: tasks.map((t) => ({ ...t, waitsFor: waiting.get(t.name)! })),
      concurrency,
      bail: options.bail,
      signal: cancel?.signal,
      origin,
      run: async (name) => {
        // By the time it starts, every dependency it waited for has succeeded (the scheduler skips it
        // otherwise): what it reads of them is on disk, and its key records exactly that.
        const kept = options.reuse?.take(name, waits.get(name) ?? []);
        if (kept) {
          void ahead.take(name);
          return emitDone(kept);
        }
        return this.packageBuild.build(byName.get(name)!, perPackage(name), prepareOf(name), ahead.take(name));
      },
      isFailure: (r) => r.status === 'failed',
      skip: (name, reason) => emitDone(skippedResult(byName.get(name)!, reason)),
      crash: (name, e) => emitDone(errorResult(byName.get(name)!, new Date().toISOString(), Date.now(), e)),
    });
    cancel?.dispose();
    await ahead.close();
    // A run cut short (cancelled, --bail) may end before every config is loaded: none is left running.
    await Promise.all(waiting.values());
    await flushCacheUsage();
    await (await snapshot)?.dropTscSnapshotPrewarm();

    // Uploads ran alongside the builds; the run ends once they are done (bounded: see RemoteCacheSession.finish).
    const remote = remoteSession ? await remoteSession.finish({ cancelled: options.signal?.aborted === true }) : undefined;
    return makeRunResult({
      origin,
      started,
      concurrency,
      bail: options.bail === true,
      cancelled: options.signal?.aborted === true,
      results: selection.packages.map((p) => outcome.results.get(p.name) ?? partial!.kept.get(p.name)!),
      timeline: partial ? [...partial.timeline, ...outcome.timeline] : outcome.timeline,
      waits,
      remote,
    });
  }

  /** The plan of a run without building (`--dry-run`, `list`): services/plan.ts. */
  plan(runOptions: RunOptions = {}): Promise<PlanResult> {
    return plan(this.packageBuild, runOptions);
  }
}

/**
 * A run from the last no-op record (services/partial-run.ts): the kept packages' recorded results are
 * reported at once, in selection order, and the run's reuse hook keeps those of the rest whose reads
 * came out the same. Null, with the reason printed under BUILD_SYSTEM_DEBUG_NOOP, when the changes
 * reach further than some packages' inputs: the run is a full one.
 */
function startPartial(selection: Selection, options: RunOptions, origin: number) {
  const plan = planPartialRun(selection, options.previous!, { strict: options.strict, force: options.force });
  if (typeof plan === 'string') {
    debugNoop(`no partial run: ${plan}`);
    return null;
  }
  // Changed ones among those taking part (dirty also names unselected packages that read a changed path).
  const changed = [...plan.dirty].filter((name) => plan.affected.has(name)).length;
  debugNoop(`partial run: ${plan.affected.size} of ${selection.packages.length} packages take part (${changed} changed${plan.restorable.size > 0 ? `, ${plan.restorable.size} to restore` : ''})`);
  const emit = options.onEvent;
  options.reuse = plan.reuse;
  options.onEvent = (e) => {
    if (e.type === 'package-done') plan.reuse.finished(e.result);
    emit?.(e);
  };
  options.onPartial?.({ kept: new Set(plan.kept.keys()), affected: plan.affected });
  const sinceOrigin = () => monotonicMs() - origin;
  const kept = new Map<string, BuildResult>();
  const timeline: { name: string; startMs: number; endMs: number }[] = [];
  const logs = (options.outputLogs ?? 'full') === 'full';
  for (const p of selection.packages) {
    const recorded = plan.kept.get(p.name);
    if (!recorded) continue;
    const startMs = sinceOrigin();
    kept.set(p.name, emitRecorded(recorded, (e) => emit?.(e), logs, sinceOrigin));
    timeline.push({ name: p.name, startMs, endMs: sinceOrigin() });
  }
  return { plan, kept, timeline };
}

/**
 * Configs evaluated at once. Not all of them: the esbuild service shares itself
 * among every request in flight, so 200 config bundles at once finish together
 * and hold every package build back behind the last config (measured at 200
 * packages: the first build started 2–3 s into a loaded run with all at once,
 * 0.5–0.9 s with 8–32 at once; research.md §8). In the scheduler's order
 * (priorityOrder), a few at a time, configs keep loading while the first
 * packages build. Four, not more: with kept evaluations (v1/configs) a
 * preparation is synchronous work on the main thread, and every one in flight
 * delays the first package's own steps; a hub edit with declarations at 200
 * packages reached its declarations job ~50 ms sooner with 4 than with 16
 * (1.08 -> 1.02 s, 8 alternating rounds), and a cold build with no kept
 * evaluation was not slower (3.45 vs 3.39 s, 7 rounds; research.md §13).
 */
const PREPARE_CONCURRENCY = 4;

/** Starts `prepare` for each package in order, at most `limit` at once; every promise is returned at once. */
function prepareInOrder(packages: readonly PackageInfo[], limit: number, prepare: (pkg: PackageInfo) => Promise<PreparedPackage>): Map<string, Promise<PreparedPackage>> {
  const out = new Map<string, Promise<PreparedPackage>>();
  const starters: (() => void)[] = [];
  let next = 0;
  const startNext = () => {
    if (next < starters.length) starters[next++]!();
  };
  packages.forEach((pkg) => {
    const p = new Promise<void>((resolve) => starters.push(resolve)).then(() => prepare(pkg));
    // Settled either way, the next one starts; the rejection itself stays with the returned promise.
    p.then(startNext, startNext);
    out.set(pkg.name, p);
  });
  for (let i = 0; i < Math.min(limit, packages.length); i++) startNext();
  return out;
}

/** Everything below a package through `depsOf` (the run's own dependencies), memoized. */
function belowInRun(depsOf: (name: string) => string[]): (name: string) => string[] {
  const memo = new Map<string, Set<string>>();
  const walk = (name: string): Set<string> => {
    let out = memo.get(name);
    if (!out) {
      out = new Set();
      for (const d of depsOf(name)) {
        out.add(d);
        for (const x of walk(d)) out.add(x);
      }
      memo.set(name, out);
    }
    return out;
  };
  return (name) => [...walk(name)];
}

/** Packages whose directory holds another package's: their walk may list what that one's build writes. */
function packagesHoldingOthers(packages: readonly PackageInfo[]): Set<string> {
  const byDir = new Map(packages.map((p) => [p.dir, p.name]));
  const out = new Set<string>();
  for (const p of packages) {
    for (let d = path.dirname(p.dir); d !== path.dirname(d); d = path.dirname(d)) {
      const holder = byDir.get(d);
      if (holder !== undefined) out.add(holder);
    }
  }
  return out;
}

/** Abort listeners one running build may hold at once: esbuild's per format, a lock wait, a spawned tool. */
const ABORT_LISTENERS_PER_BUILD = 4;

/**
 * A signal of the run's own that aborts with the caller's. Every running
 * build listens on it, so with 10 or more packages at once Node would warn of
 * a listener leak (its limit is 10); this one's limit grows with concurrency,
 * so a real leak still warns, and the caller's signal is left as it was.
 */
function followSignal(signal: AbortSignal, concurrency: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  setMaxListeners(ABORT_LISTENERS_PER_BUILD * concurrency + 10, controller.signal);
  const forward = () => controller.abort(signal.reason);
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  return { signal: controller.signal, dispose: () => signal.removeEventListener('abort', forward) };
}
