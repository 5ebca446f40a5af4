/**
 * Which packages a command acts on: the selection shared by build, plan/list,
 * clean, watch, graph and init (the graph half is workspace/select.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { findConfigFile } from '../config/load.js';
import { resolveConfig } from '../config/resolve.js';
import { defaultBuildConfig } from '../config/default-config.js';
import { BuildSystemError } from '../errors.js';
import { isInside, toPosix } from '../util/paths.js';
import { ReadLog } from '../util/read-log.js';
import { duplicateNameError, loadWorkspace, type Workspace } from '../workspace/discover.js';
import { parseFilter } from '../workspace/filter.js';
import { chooseInGraph } from '../workspace/select.js';
import { assertAcyclic, createPackageGraph, subsetDependencies, topologicalOrder, type PackageGraph } from '../workspace/graph.js';
import { findWorkspaceRoot, loadPackageInfo, type PackageInfo } from '../workspace/package-info.js';

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
  /**
   * Warnings about packages this selection would have taken and leaves out: packages that share a
   * name (workspace/discover.ts) and would take part. Empty for a selection by names or by the cwd's package.
   */
  leftOut: string[];
}

/** A package takes part in a workspace run when it has a build.config.* file. */
export function hasBuildConfig(pkg: PackageInfo, reads: ReadLog): boolean {
  return findConfigFile(pkg.dir, reads) !== null;
}

/** `--all`: a package without a config takes part when the defaults find an entry (package.json exports/main/bin, src/index.ts). */
export function hasInferableEntry(pkg: PackageInfo): boolean {
  try {
    resolveConfig(pkg, defaultBuildConfig(), null);
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
  let fromWorkspace = names.length === 0 && positiveFilter;
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
      fromWorkspace = true;
      if (seeds.length === 0) {
        const what = options.all ? 'has a build.config.* file or an entry to infer from package.json' : 'has a build.config.* file (pass --all to build every package with an inferable entry)';
        const left = duplicatesLeftOut(workspace, decide);
        throw new BuildSystemError('USAGE', `no workspace package under ${cwd} ${what}${left.length ? ` (left out: ${left.join('; ')})` : ''}`, { file: toPosix(path.relative(process.cwd(), cwd)) || '.' });
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
  // Taken from the workspace (every package at its root, or a filter): say which packages a shared name keeps out.
  const leftOut = fromWorkspace ? duplicatesLeftOut(workspace, decide) : [];
  const selection = { workspace, graph, packages: order.map((n) => graph.nodes.get(n)!), dependencies: subsetDependencies(graph, final), participation, leftOut };
  options.onSelected?.(selection);
  return selection;
}

/** One line per name that packages share, when any of them would take part: a run leaves them all out, and says so. */
function duplicatesLeftOut(ws: Workspace, takesPart: (p: PackageInfo) => boolean): string[] {
  const lines: string[] = [];
  for (const [name, list] of ws.duplicates ?? []) {
    if (!list.some(takesPart)) continue;
    const dirs = list.map((p) => toPosix(path.relative(ws.root, p.dir)));
    lines.push(`${dirs.join(' and ')} are ${dirs.length === 2 ? 'both' : 'all'} named ${name}: none of them is built by a workspace run; rename one, or build each by its directory`);
  }
  return lines;
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
  if (ws.duplicates?.has(nameOrDir)) throw duplicateNameError(ws, nameOrDir);
  const dir = path.resolve(cwd, nameOrDir);
  const byDir = ws.packages.find((p) => p.dir === dir);
  if (byDir) return byDir;
  if (existsSync(path.join(dir, 'package.json')) && (ws.packages.length === 0 || isInside(ws.root, dir))) return loadPackageInfo(dir, reads, ws.root);
  const known = ws.packages.map((p) => p.name);
  const hint = known.length ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : '';
  throw new BuildSystemError('PACKAGE_NOT_FOUND', `unknown package ${JSON.stringify(nameOrDir)}${hint}`, { field: 'packages' });
}
