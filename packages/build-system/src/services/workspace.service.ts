import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { findConfigFile } from '../config/load.js';
import { resolveConfig } from '../config/resolve.js';
import { buildConfigSchema } from '../config/schema.js';
import { BuildSystemError, exitCodeFor, isBuildSystemError, type ErrorCode } from '../errors.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import type { BuildResult, PlanEntry, PlanResult, RunCacheSummary, RunResult } from '../result/schema.js';
import { flushCacheUsage } from '../cache/package-cache.js';
import { resolveRemoteCacheConfig, type RemoteCacheOptions } from '../cache/remote/config.js';
import type { RemoteCacheSession, RemoteRunSummary } from '../cache/remote/session.js';
import { isInside, toPosix } from '../util/paths.js';
import { ReadLog } from '../util/read-log.js';
import { loadWorkspace, type Workspace } from '../workspace/discover.js';
import { parseFilter } from '../workspace/filter.js';
import { chooseInGraph } from '../workspace/select.js';
import { assertAcyclic, createPackageGraph, criticalPath, subsetDependencies, topologicalOrder, type PackageGraph } from '../workspace/graph.js';
import { findWorkspaceRoot, loadPackageInfo, type PackageInfo } from '../workspace/package-info.js';
import { errorResult, PackageBuildService, type PackageBuildOptions, type PreparedPackage } from './build.service.js';
import { dependenciesRead } from './dependency-needs.js';
import { priorityOrder, runSchedule } from './scheduler.js';
import { defaultConcurrency } from '../util/concurrency.js';

export interface SelectOptions {
  /** Directory the command runs in (default process.cwd()). */
  cwd?: string;
  /** Package names or directories; empty = what the cwd implies. */
  packages?: readonly string[];
  /** Also act on the workspace packages the selection depends on (default true; clean uses false). */
  withDependencies?: boolean;
  /**
   * turbo-style filters (see workspace/filter.ts), repeatable. They add to
   * positional names; `!` filters remove. Without positional names or a
   * positive filter, the cwd decides as usual and `!` filters trim that.
   */
  filter?: readonly string[];
  /** Packages without a build.config.* take part too, when package.json lets us infer an entry. */
  all?: boolean;
  /** Which packages take part without being named (default: a build.config.*, or with `all` an inferable entry); `init` takes every package. */
  participates?: (pkg: PackageInfo, reads: ReadLog) => boolean;
  /** The run's read log (util/read-log.ts); a new one when omitted. */
  reads?: ReadLog;
  /** Called with the selection once it is made (the no-op recording keeps its graph). */
  onSelected?: (selection: Selection) => void;
}

export interface Selection {
  workspace: Workspace;
  graph: PackageGraph;
  /** Packages to act on, dependencies first. */
  packages: PackageInfo[];
  /**
   * name → the selected packages it depends on (looking through packages that
   * are not selected): the build order. A run waits only for those whose
   * outputs the build reads (see `waitsFor`).
   */
  dependencies: Map<string, string[]>;
  /** package dir → whether it takes part, for every package that was asked. */
  participation: Map<string, boolean>;
}

/** A package takes part in a workspace run when it has a build.config.* file. */
export function hasBuildConfig(pkg: PackageInfo, reads: ReadLog): boolean {
  return findConfigFile(pkg.dir, reads) !== null;
}

/** `--all`: a package without a config takes part when the defaults find an entry (package.json exports/main/bin, src/index.ts). */
export function hasInferableEntry(pkg: PackageInfo): boolean {
  try {
    resolveConfig(pkg, buildConfigSchema.parse({}), null);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides which packages a command acts on, as turbo's `^build` would:
 * - named packages (by name or directory) plus their workspace dependencies that take part;
 * - no names, inside a package: that package plus its dependencies;
 * - no names, at the workspace root: every package that takes part;
 * - `--filter`: see workspace/filter.ts.
 * Throws USAGE / PACKAGE_NOT_FOUND / WORKSPACE_CYCLE (exit 2) before anything is built.
 */
export function selectPackages(options: SelectOptions = {}): Selection {
  const reads = options.reads ?? new ReadLog();
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (!existsSync(cwd)) throw new BuildSystemError('USAGE', `--cwd does not exist: ${cwd}`, { field: '--cwd' });
  // Filter syntax is checked first: a typo must not cost a workspace scan, and must never build anything.
  const filters = (options.filter ?? []).map(parseFilter);
  const root = findWorkspaceRoot(cwd, reads);
  const workspace: Workspace = existsSync(path.join(root, 'package.json')) || existsSync(path.join(root, 'pnpm-workspace.yaml'))
    ? loadWorkspace(cwd, reads)
    : { root, packages: [], byName: new Map() };
  const decide = options.participates
    ? (p: PackageInfo) => options.participates!(p, reads)
    : (p: PackageInfo) => hasBuildConfig(p, reads) || (options.all === true && hasInferableEntry(p));
  // Remembered: the no-op record keeps what was decided (cache/noop/selection.ts).
  const participation = new Map<string, boolean>();
  const participates = (p: PackageInfo) => {
    let yes = participation.get(p.dir);
    if (yes === undefined) participation.set(p.dir, (yes = decide(p)));
    return yes;
  };
  const withDependencies = options.withDependencies !== false;

  const names = options.packages ?? [];
  const positiveFilter = filters.some((f) => !f.exclude);
  let seeds: PackageInfo[] = [];
  /** Acted on even without a build config (named by the user, or the package the command runs in). */
  const explicit = new Set<string>();
  if (names.length > 0) {
    seeds = names.map((n) => findPackage(workspace, n, cwd, reads));
    for (const p of seeds) explicit.add(p.name);
  } else if (!positiveFilter) {
    const own = workspace.packages.find((p) => p.dir === cwd);
    if (own) {
      seeds = [own];
      explicit.add(own.name);
    } else if (cwd === workspace.root && workspace.packages.length > 0) {
      seeds = workspace.packages.filter(participates);
      if (seeds.length === 0) {
        const what = options.all ? 'has a build.config.* file or an entry to infer from package.json' : 'has a build.config.* file (pass --all to build every package with an inferable entry)';
        throw new BuildSystemError('USAGE', `no workspace package under ${cwd} ${what}`, { file: toPosix(path.relative(process.cwd(), cwd)) || '.' });
      }
    } else if (existsSync(path.join(cwd, 'package.json'))) {
      // A package outside any workspace, or one the workspace globs do not list.
      seeds = [loadPackageInfo(cwd, reads, workspace.root === cwd ? cwd : workspace.root)];
      explicit.add(seeds[0]!.name);
    } else {
      throw new BuildSystemError('PACKAGE_NOT_FOUND', `no package.json in ${cwd}; run in a package or workspace directory, or pass --cwd`, { file: cwd });
    }
  }
  const foreign = seeds.filter((p) => workspace.byName.get(p.name) !== p);
  for (const p of foreign) {
    if (workspace.byName.has(p.name)) {
      throw new BuildSystemError('USAGE', `${toPosix(path.relative(process.cwd(), p.dir))} is not listed by the workspace globs, and a workspace package is also named ${p.name}`, { package: p.name });
    }
  }
  const graph = createPackageGraph(workspace, foreign);

  const { chosen, final } = chooseInGraph(graph, seeds.map((p) => p.name), explicit, filters, cwd, withDependencies, (n) => participates(graph.nodes.get(n)!));
  if (final.size === 0) throw emptySelection(options, chosen);
  assertAcyclic(graph, final);
  const order = topologicalOrder(graph, final);
  const selection = { workspace, graph, packages: order.map((n) => graph.nodes.get(n)!), dependencies: subsetDependencies(graph, final), participation };
  options.onSelected?.(selection);
  return selection;
}

function emptySelection(options: SelectOptions, matched: ReadonlySet<string>): BuildSystemError {
  const filters = (options.filter ?? []).map((f) => `--filter ${f}`).join(' ');
  const what = [...(options.packages ?? []), filters].filter(Boolean).join(' ');
  const why = matched.size > 0
    ? `: ${[...matched].slice(0, 8).join(', ')}${matched.size > 8 ? ', …' : ''} matched, but none has a build.config.*${options.all ? ' or an entry to infer' : ' (pass --all to build packages without one)'}`
    : '';
  return new BuildSystemError('USAGE', `nothing to build: no package matches ${what || 'the selection'}${why}`, { field: options.filter?.length ? '--filter' : undefined });
}

function findPackage(ws: Workspace, nameOrDir: string, cwd: string, reads: ReadLog): PackageInfo {
  const byName = ws.byName.get(nameOrDir);
  if (byName) return byName;
  const dir = path.resolve(cwd, nameOrDir);
  const byDir = ws.packages.find((p) => p.dir === dir);
  if (byDir) return byDir;
  if (existsSync(path.join(dir, 'package.json')) && (ws.packages.length === 0 || isInside(ws.root, dir))) return loadPackageInfo(dir, reads, ws.root);
  const known = ws.packages.map((p) => p.name);
  const hint = known.length ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : '';
  throw new BuildSystemError('PACKAGE_NOT_FOUND', `unknown package ${JSON.stringify(nameOrDir)}${hint}`, { field: 'packages' });
}

export interface RunOptions extends SelectOptions, Omit<PackageBuildOptions, 'reads' | 'workspaceDependencies'> {
  /** Most packages building at once, spawned tools included (default: `defaultConcurrency()`, 10 or the number of cores if more). */
  concurrency?: number;
  /** After the first failure, start nothing new (running builds finish). */
  bail?: boolean;
  /** Called once the selection is known, before anything builds: progress views size themselves from it. */
  onPlan?: (plan: RunPlan) => void;
  /**
   * Remote cache (Turborepo v8 API). Unset: from env (BUILD_SYSTEM_REMOTE_CACHE_*, then TURBO_API /
   * TURBO_TOKEN / TURBO_TEAM); no URL anywhere = no remote. `false`: off, whatever the env says.
   */
  remoteCache?: RemoteCacheOptions | false;
}

export interface RunPlan {
  /** In build order. */
  packages: { name: string; dir: string; dependencies: string[] }[];
  concurrency: number;
}

/** Every workspace dependency of `name` in the graph (selected or not), with its directory. */
function workspaceDependencyRefs(graph: PackageGraph, name: string): { name: string; dir: string }[] {
  return (graph.dependencies.get(name) ?? []).map((d) => ({ name: d, dir: graph.nodes.get(d)!.dir }));
}

export { availableCores, defaultConcurrency } from '../util/concurrency.js';

function resolveConcurrency(n: number | undefined): number {
  if (n === undefined) return defaultConcurrency();
  if (!Number.isInteger(n) || n < 1) throw new BuildSystemError('USAGE', `--concurrency must be a whole number >= 1 (got ${n})`, { field: '--concurrency' });
  return n;
}

/**
 * The selected dependencies `pkg` waits for: those whose outputs its build
 * reads (services/dependency-needs.ts). A bundler keeping a workspace
 * dependency external never opens its files, so it need not wait for it. A
 * package that could not be prepared (config or adapter error) waits for all
 * of them, as before: its result stays what it was (skipped when a dependency
 * failed, else its own error).
 */
export function waitsFor(selection: Selection, pkg: PackageInfo, prepared: PreparedPackage | null): string[] {
  const deps = selection.dependencies.get(pkg.name) ?? [];
  if (!prepared) return deps;
  const refs = deps.map((name) => ({ name, dir: selection.graph.nodes.get(name)!.dir }));
  const reads = dependenciesRead({ pkg, config: prepared.config, adapter: prepared.choice.adapter.name }, refs);
  return deps.filter((d) => reads.has(d));
}

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
    const origin = performance.now();
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
    let remoteSession: RemoteCacheSession | undefined;
    if (remoteConfig) {
      // Loaded only when configured: node:http, zlib and the archive code stay out of runs without a remote.
      const { RemoteCacheSession } = await import('../cache/remote/session.js');
      remoteSession = new RemoteCacheSession(remoteConfig, (message) => options.onEvent?.({ type: 'warning', message }));
    }
    const byName = new Map(selection.packages.map((p) => [p.name, p]));
    const depsOf = (name: string) => selection.dependencies.get(name) ?? [];
    options.onPlan?.({ packages: selection.packages.map((p) => ({ name: p.name, dir: p.dir, dependencies: depsOf(p.name) })), concurrency });

    // Each package is prepared (config loaded, adapter chosen) once, and starts as soon as its own
    // preparation and the dependencies it waits for are done: what it waits for depends on its config,
    // and the scheduler learns that per package (waitsFor) while earlier packages already build.
    // Each build is handed its own preparation, a failed one included, so a config error ends that
    // build as it always did (and a package that could not be prepared waits for all its dependencies).
    const tasks = selection.packages.map((p) => ({ name: p.name, dependencies: depsOf(p.name) }));
    const inPriority = priorityOrder(tasks).map((name) => byName.get(name)!);
    const preparing = prepareInOrder(inPriority, PREPARE_CONCURRENCY, (p) => this.packageBuild.prepare(p, options));
    // What a key says about a dependency must not depend on the selection: every workspace dependency counts.
    const workspaceDeps = new Map(selection.packages.map((p) => [p.name, workspaceDependencyRefs(selection.graph, p.name)]));
    const waits = new Map<string, string[]>();
    const waiting = new Map(
      selection.packages.map((p) => [
        p.name,
        preparing.get(p.name)!.then(
          (prepared) => waitsFor(selection, p, prepared),
          () => waitsFor(selection, p, null),
        ).then((w) => {
          waits.set(p.name, w);
          return w;
        }),
      ]),
    );

    const emitDone = (result: BuildResult) => {
      options.onEvent?.({ type: 'package-done', result });
      return result;
    };
    const cancel = options.signal ? followSignal(options.signal, concurrency) : undefined;
    const outcome = await runSchedule<BuildResult>({
      tasks: tasks.map((t) => ({ ...t, waitsFor: waiting.get(t.name)! })),
      concurrency,
      bail: options.bail,
      signal: cancel?.signal,
      origin,
      run: async (name) => {
        // By the time it starts, every dependency it waited for has succeeded (the scheduler skips it
        // otherwise): what it reads of them is on disk, and its key records exactly that.
        const perPackage: PackageBuildOptions = { ...options, signal: cancel?.signal, remoteSession, workspaceDependencies: workspaceDeps.get(name)! };
        return this.packageBuild.build(byName.get(name)!, perPackage, preparing.get(name));
      },
      isFailure: (r) => r.status === 'failed',
      skip: (name, reason) => emitDone(skippedResult(byName.get(name)!, reason)),
      crash: (name, e) => emitDone(errorResult(byName.get(name)!, new Date().toISOString(), Date.now(), e)),
    });
    cancel?.dispose();
    // A run cut short (cancelled, --bail) may end before every config is loaded: none is left running.
    await Promise.all(waiting.values());
    await flushCacheUsage();

    // Uploads ran alongside the builds; the run ends once they are done (bounded: see RemoteCacheSession.finish).
    const remote = remoteSession ? await remoteSession.finish({ cancelled: options.signal?.aborted === true }) : undefined;
    const results = selection.packages.map((p) => outcome.results.get(p.name)!);
    const timeline = outcome.timeline.map((e) => ({ package: e.name, status: outcome.results.get(e.name)!.status, startMs: e.startMs, endMs: e.endMs }));
    const durations = new Map(outcome.timeline.map((e) => [e.name, e.endMs - e.startMs]));
    const exitCode = Math.max(0, ...results.map(resultExitCode));
    return {
      schemaVersion: RESULT_SCHEMA_VERSION,
      ok: exitCode === 0,
      exitCode,
      startedAt,
      endedAt: new Date().toISOString(),
      durationMs: Math.round((performance.now() - origin) * 10) / 10,
      concurrency,
      bail: options.bail === true,
      ...(options.signal?.aborted ? { cancelled: true } : {}),
      results,
      timeline,
      // Along the real waits: a chain through an external import is no chain at all.
      criticalPath: criticalPath(selection.packages.map((p) => p.name), waits, durations),
      cache: cacheSummary(results, remote),
    };
  }

  /**
   * The plan of a run without building (`--dry-run`, `build:list`): order,
   * dependencies, adapter, and what the cache would do. Loads and checks every
   * config exactly as a build would; writes nothing.
   */
  async plan(runOptions: RunOptions = {}): Promise<PlanResult> {
    const options = { ...runOptions, reads: runOptions.reads ?? new ReadLog() };
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let selection: Selection;
    let concurrency: number;
    try {
      concurrency = resolveConcurrency(options.concurrency);
      selection = selectPackages(options);
    } catch (e) {
      const { error, exitCode } = runError(startedAt, started, e);
      return { schemaVersion: RESULT_SCHEMA_VERSION, dryRun: true, ok: false, exitCode, startedAt, concurrency: options.concurrency ?? defaultConcurrency(), packages: [], error };
    }
    const packages: PlanEntry[] = [];
    // Packages that would be rebuilt: what their dependents would read from them is not known before.
    const rebuilt = new Set<string>();
    for (const pkg of selection.packages) {
      const base = { name: pkg.name, dir: pkg.dir, dependencies: selection.dependencies.get(pkg.name) ?? [], waitsFor: selection.dependencies.get(pkg.name) ?? [] };
      let cache: PlanEntry['cache'] = { status: 'disabled', key: null, wouldHit: null };
      rebuilt.add(pkg.name);
      try {
        const prepared = await this.packageBuild.prepare(pkg, options);
        const { config, choice } = prepared;
        base.waitsFor = waitsFor(selection, pkg, prepared);
        // A dependency it does not wait for is not read: whether it is rebuilt does not matter.
        const dependencyRebuilt = base.waitsFor.some((d) => rebuilt.has(d));
        const perPackage = { ...options, workspaceDependencies: workspaceDependencyRefs(selection.graph, pkg.name) };
        const prediction = await this.packageBuild.predictCache(prepared, perPackage, dependencyRebuilt).catch(() => null);
        if (prediction) {
          cache = prediction.cache;
          if (prediction.hit) rebuilt.delete(pkg.name);
        }
        packages.push({
          ...base,
          configFile: config.configFile ? toPosix(path.relative(pkg.dir, config.configFile)) : null,
          adapter: config.adapter,
          chosen: choice.adapter.name,
          version: choice.tool.version,
          available: true,
          reason: choice.reason,
          cache,
        });
      } catch (e) {
        const err = isBuildSystemError(e) ? e : new BuildSystemError('INTERNAL', (e as Error)?.message ?? String(e), { package: pkg.name });
        const file = findConfigFile(pkg.dir, options.reads);
        packages.push({
          ...base,
          configFile: file ? toPosix(path.relative(pkg.dir, file)) : null,
          adapter: null,
          chosen: null,
          version: null,
          available: false,
          reason: err.lines().join('; '),
          cache,
          error: { code: err.code, message: err.lines()[0] ?? err.message, file: err.file, field: err.field },
        });
      }
    }
    const exitCode = Math.max(0, ...packages.map((p) => (p.error ? exitCodeFor(p.error.code as ErrorCode) : 0)));
    return { schemaVersion: RESULT_SCHEMA_VERSION, dryRun: true, ok: exitCode === 0, exitCode, startedAt, concurrency, packages };
  }
}

/**
 * Configs evaluated at once. Not all of them: the esbuild service shares itself
 * among every request in flight, so 200 config bundles at once finish together
 * and hold every package build back behind the last config (measured at 200
 * packages: the first build started 2–3 s into a loaded run with all at once,
 * 0.5–0.9 s with 8–32 at once; research.md §8). In the scheduler's order
 * (priorityOrder), a few at a time, configs keep loading while the first
 * packages build.
 */
const PREPARE_CONCURRENCY = 16;

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
  return r.error ? exitCodeFor(r.error.code as ErrorCode) : 1;
}

function skippedResult(pkg: PackageInfo, reason: string): BuildResult {
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

export function runError(startedAt: string, started: number, e: unknown): RunResult {
  const err = isBuildSystemError(e) ? e : new BuildSystemError('INTERNAL', (e as Error)?.message ?? String(e));
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    ok: false,
    exitCode: err.exitCode,
    startedAt,
    durationMs: Date.now() - started,
    results: [],
    error: { code: err.code, message: err.lines()[0] ?? err.message, file: err.file, field: err.field, issues: err.issues },
  };
}
