/**
 * The plan of a run without building (`build --dry-run`, `list`, API `plan()`
 * and `list()`): order, what each package waits for, adapter, cache state.
 */
import path from 'node:path';
import { findConfigFile } from '../config/load.js';
import { BuildSystemError } from '../errors.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import type { BuildResult, PlanEntry, PlanResult } from '../result/schema.js';
import { defaultConcurrency } from '../util/concurrency.js';
import { toPosix } from '../util/paths.js';
import { ReadLog } from '../util/read-log.js';
import type { PackageGraph } from '../workspace/graph.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { BuildRequest } from '../request.js';
import type { PackageBuildOptions, PackageBuildService, PreparedPackage } from './build.service.js';
import type { PreviousRun } from '../cache/noop/check.js';
import { dependenciesRead } from './dependency-needs.js';
import { errorInfo, exitCodeOf, runError, toBuildSystemError } from './results.js';
import { selectPackages, type Selection, type SelectOptions } from './selection.js';

/**
 * What a run is given beside its request: callbacks, the abort signal, the read
 * log and the like, which cannot be parsed, compared or logged. create.ts lets
 * these keys through unchecked and checks the rest as a BuildRequest.
 */
export interface RunHooks extends Pick<SelectOptions, 'reads' | 'onSelected' | 'withDependencies'>, Pick<PackageBuildOptions, 'signal' | 'onEvent' | 'onReads' | 'command' | 'remoteSession'> {
  /** Called once the selection is known, before anything builds: progress views size themselves from it. */
  onPlan?: (plan: RunPlan) => void;
  /** A watch round's shortcut for packages it knows unchanged (services/watch-reuse.ts). */
  reuse?: ReuseHook;
  /** The CLI's no-op record that could not be replayed, with what changed since: build only what that reaches (services/partial-run.ts). */
  previous?: PreviousRun;
  /** Called when the run starts from `previous`, with the packages it keeps as recorded. */
  onPartial?: (plan: { kept: ReadonlySet<string>; affected: ReadonlySet<string> }) => void;
}

/**
 * Packages whose last result stands: their own inputs are known unchanged (a watch's file events), and
 * what they read of this run's outputs came out the same (services/watch-reuse.ts). `expected` is
 * asked once a package's waits are known (one expected to be kept gets no key computed ahead); `take`
 * at its turn, its waits done, returns the result to keep, or undefined to build it as usual.
 */
export interface ReuseHook {
  expected(name: string, waitsFor: readonly string[]): boolean;
  take(name: string, waitsFor: readonly string[]): BuildResult | undefined;
}

/** A run (or plan): the request (request.ts, the fields the services read) and its hooks beside it. */
export type RunOptions = BuildRequest & RunHooks;

export interface RunPlan {
  /** In build order. */
  packages: { name: string; dir: string; dependencies: string[] }[];
  concurrency: number;
}

/** Every workspace dependency of `name` in the graph (selected or not), with its directory. */
export function workspaceDependencyRefs(graph: PackageGraph, name: string): { name: string; dir: string }[] {
  return (graph.dependencies.get(name) ?? []).map((d) => ({ name: d, dir: graph.nodes.get(d)!.dir }));
}



export function resolveConcurrency(n: number | undefined): number {
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
  const input = { pkg, config: prepared.config, adapter: prepared.choice.adapter.name };
  const refs = (names: readonly string[]) => names.map((name) => ({ name, dir: selection.graph.nodes.get(name)!.dir }));
  const reads = dependenciesRead(input, refs(deps));
  const waits = deps.filter((d) => reads.has(d));
  // A dependency it reads the output of brings along what that output imports and this build does not keep
  // external: c bundling b, whose output imports a (b's dependency, which b keeps external and so need not wait
  // for), reads a's output too. Without waiting for a, c's check could run while a rebuilds, find a's old output
  // and call it a hit (seen under watch: c kept a's old code until c itself changed).
  const selected = new Set(selection.packages.map((p) => p.name));
  const seen = new Set([pkg.name, ...waits]);
  const queue = [...waits];
  while (queue.length > 0) {
    const next = (selection.graph.dependencies.get(queue.pop()!) ?? []).filter((e) => !seen.has(e));
    if (next.length === 0) continue;
    const read = dependenciesRead(input, refs(next));
    for (const e of next) {
      if (!read.has(e)) continue;
      seen.add(e);
      queue.push(e);
      // Only a package of this run can be waited for; one outside it does not change while the run goes on.
      if (selected.has(e)) waits.push(e);
    }
  }
  return waits;
}

/**
 * The plan, or the selection's error thrown (USAGE, PACKAGE_NOT_FOUND,
 * WORKSPACE_CYCLE): `plan()` turns that into a result, `list()` throws it.
 * Loads and checks every config exactly as a build would; writes nothing.
 */
export async function planSelection(packageBuild: PackageBuildService, runOptions: RunOptions = {}): Promise<PlanResult> {
  const options = { ...runOptions, reads: runOptions.reads ?? new ReadLog() };
  const startedAt = new Date().toISOString();
  const concurrency = resolveConcurrency(options.concurrency);
  const selection = selectPackages(options);
  for (const message of selection.leftOut) options.onEvent?.({ type: 'warning', message });
  const packages: PlanEntry[] = [];
  // Packages that would be rebuilt: what their dependents would read from them is not known before.
  const rebuilt = new Set<string>();
  for (const pkg of selection.packages) {
    const base = { name: pkg.name, dir: pkg.dir, dependencies: selection.dependencies.get(pkg.name) ?? [], waitsFor: selection.dependencies.get(pkg.name) ?? [] };
    let cache: PlanEntry['cache'] = { status: 'disabled', key: null, wouldHit: null };
    rebuilt.add(pkg.name);
    try {
      // A plan writes nothing, not even an evaluated config (config/evaluation-cache.ts): configs are evaluated as without a cache.
      const prepared = await packageBuild.prepare(pkg, { ...options, noCache: true });
      const { config, choice } = prepared;
      base.waitsFor = waitsFor(selection, pkg, prepared);
      // A dependency it does not wait for is not read: whether it is rebuilt does not matter.
      const dependencyRebuilt = base.waitsFor.some((d) => rebuilt.has(d));
      const perPackage = { ...options, workspaceDependencies: workspaceDependencyRefs(selection.graph, pkg.name) };
      const prediction = await packageBuild.predictCache(prepared, perPackage, dependencyRebuilt).catch(() => null);
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
      const err = toBuildSystemError(e, pkg.name);
      const file = findConfigFile(pkg.dir, options.reads);
      const { code, message, file: errFile, field } = errorInfo(err);
      packages.push({
        ...base,
        configFile: file ? toPosix(path.relative(pkg.dir, file)) : null,
        adapter: null,
        chosen: null,
        version: null,
        available: false,
        reason: err.lines().join('; '),
        cache,
        error: { code, message, file: errFile, field },
      });
    }
  }
  const exitCode = Math.max(0, ...packages.map((p) => (p.error ? exitCodeOf(p.error.code) : 0)));
  return { schemaVersion: RESULT_SCHEMA_VERSION, dryRun: true, ok: exitCode === 0, exitCode, startedAt, concurrency, packages };
}

/** `planSelection` with a selection error as the plan's error (exit 2), as `build --dry-run` and `list` print it. */
export async function plan(packageBuild: PackageBuildService, options: RunOptions = {}): Promise<PlanResult> {
  const started = Date.now();
  try {
    return await planSelection(packageBuild, options);
  } catch (e) {
    return planError(started, e, options.concurrency);
  }
}

/** A plan that could not be made (a bad option or selection): its error and exit code, no packages. */
export function planError(started: number, e: unknown, concurrency = defaultConcurrency()): PlanResult {
  const { error, exitCode } = runError(new Date(started).toISOString(), started, e);
  return { schemaVersion: RESULT_SCHEMA_VERSION, dryRun: true, ok: false, exitCode, startedAt: new Date(started).toISOString(), concurrency, packages: [], error };
}
