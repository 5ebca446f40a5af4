import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import { workspaceDependencies, type Workspace } from './discover.js';
import type { PackageInfo } from './package-info.js';
import type { GraphFormat } from './graph-formats.js';

/**
 * The workspace package graph. Nodes are every workspace package (taking part
 * in builds or not: a package without a build config still carries edges,
 * e.g. A → tooling → B means A waits for B). Edges come from the four
 * dependency fields (see `workspaceDependencies`).
 *
 * Direction: `dependencies` maps a package to what it needs; `dependents` is
 * the reverse, the direction work flows (a dependency → its dependents).
 */
export interface PackageGraph {
  root: string;
  /** Every workspace package by name, in discovery (directory) order. */
  nodes: Map<string, PackageInfo>;
  /** name → the workspace packages it depends on, sorted. */
  dependencies: Map<string, string[]>;
  /** name → the workspace packages that depend on it, sorted. */
  dependents: Map<string, string[]>;
}

export function createPackageGraph(ws: Workspace, extra: readonly PackageInfo[] = []): PackageGraph {
  const nodes = new Map<string, PackageInfo>();
  for (const p of ws.packages) nodes.set(p.name, p);
  // Packages outside the workspace globs (a standalone package, or one named by
  // directory) take part as isolated nodes: they have no workspace edges.
  for (const p of extra) if (!nodes.has(p.name)) nodes.set(p.name, p);
  const dependencies = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const name of nodes.keys()) dependents.set(name, []);
  for (const [name, pkg] of nodes) {
    const deps = ws.byName.get(name) === pkg ? workspaceDependencies(pkg, ws) : [];
    dependencies.set(name, deps);
    for (const d of deps) dependents.get(d)!.push(name);
  }
  for (const list of dependents.values()) list.sort();
  return { root: ws.root, nodes, dependencies, dependents };
}

function walk(adjacency: Map<string, string[]>, start: Iterable<string>, includeStart: boolean): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  const starts = new Set(stack);
  while (stack.length > 0) {
    const name = stack.pop()!;
    for (const next of adjacency.get(name) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(next);
    }
  }
  if (includeStart) for (const s of starts) seen.add(s);
  return seen;
}

/** Everything `names` depend on, transitively (with `names` themselves when includeSelf). */
export function dependencyClosure(graph: PackageGraph, names: Iterable<string>, includeSelf = true): Set<string> {
  return walk(graph.dependencies, names, includeSelf);
}

/** Everything that depends on `names`, transitively (with `names` themselves when includeSelf). */
export function dependentClosure(graph: PackageGraph, names: Iterable<string>, includeSelf = true): Set<string> {
  return walk(graph.dependents, names, includeSelf);
}

/**
 * The first dependency cycle reachable from `from` (default: every node), as
 * the path that closes it: [a, b, a]. Only the part of the graph a selection
 * actually reaches matters: a cycle between two unrelated tooling packages must
 * not stop a build that never touches them.
 */
export function findCycle(graph: PackageGraph, from: Iterable<string> = graph.nodes.keys()): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const trail: string[] = [];
  // Iterative DFS: a deep chain of packages must not overflow the stack.
  for (const start of from) {
    if (state.has(start)) continue;
    const frames: { name: string; next: number }[] = [{ name: start, next: 0 }];
    state.set(start, 'visiting');
    trail.push(start);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const deps = graph.dependencies.get(frame.name) ?? [];
      if (frame.next < deps.length) {
        const dep = deps[frame.next++]!;
        const s = state.get(dep);
        if (s === 'visiting') return [...trail.slice(trail.indexOf(dep)), dep];
        if (s === 'done') continue;
        state.set(dep, 'visiting');
        trail.push(dep);
        frames.push({ name: dep, next: 0 });
      } else {
        state.set(frame.name, 'done');
        trail.pop();
        frames.pop();
      }
    }
  }
  return null;
}

export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(' → ');
}

/** Throws WORKSPACE_CYCLE (exit 2) naming the cycle when one is reachable from `from`. */
export function assertAcyclic(graph: PackageGraph, from?: Iterable<string>): void {
  const cycle = findCycle(graph, from);
  if (cycle) {
    const pkg = graph.nodes.get(cycle[0]!);
    throw new BuildSystemError('WORKSPACE_CYCLE', `dependency cycle: ${formatCycle(cycle)} (nothing was built)`, {
      package: cycle[0],
      file: pkg ? toPosix(path.relative(process.cwd(), path.join(pkg.dir, 'package.json'))) : undefined,
    });
  }
}

/**
 * For each package of `subset`, the packages of `subset` it must wait for:
 * its dependencies, looking through packages that are not in the subset
 * (A → tooling → B, with tooling not built, still orders B before A).
 */
export function subsetDependencies(graph: PackageGraph, subset: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const name of subset) {
    const found = new Set<string>();
    const seen = new Set<string>();
    const stack = [...(graph.dependencies.get(name) ?? [])];
    while (stack.length > 0) {
      const dep = stack.pop()!;
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (subset.has(dep)) found.add(dep);
      else stack.push(...(graph.dependencies.get(dep) ?? []));
    }
    out.set(name, [...found].sort());
  }
  return out;
}

/**
 * Dependencies-first order of `subset` (which must be acyclic). Deterministic:
 * a depth-first post-order over the subset in discovery order, dependencies by
 * name, so the same workspace always lists (and reports) in the same order.
 */
export function topologicalOrder(graph: PackageGraph, subset: ReadonlySet<string>): string[] {
  const deps = subsetDependencies(graph, subset);
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (name: string, depth: number) => {
    if (done.has(name)) return;
    if (depth > graph.nodes.size) throw new BuildSystemError('WORKSPACE_CYCLE', `dependency cycle through ${name}`, { package: name });
    for (const d of deps.get(name) ?? []) visit(d, depth + 1);
    done.add(name);
    order.push(name);
  };
  for (const name of graph.nodes.keys()) if (subset.has(name)) visit(name, 0);
  return order;
}

/** Edges inside `subset`, from a dependency to its dependent (the direction builds flow). */
export function subsetEdges(graph: PackageGraph, subset: ReadonlySet<string>): { from: string; to: string }[] {
  const deps = subsetDependencies(graph, subset);
  const edges: { from: string; to: string }[] = [];
  for (const name of topologicalOrder(graph, subset)) for (const d of deps.get(name) ?? []) edges.push({ from: d, to: name });
  return edges;
}

// Lives apart so the CLI's no-op replay can compute it without the graph code (and picomatch).
export { criticalPath, type CriticalPath } from './critical-path.js';

export { GRAPH_FORMATS, type GraphFormat } from './graph-formats.js';

/** The graph of `order` (a topologically ordered subset) as text. */
export function renderGraph(graph: PackageGraph, order: readonly string[], format: GraphFormat): string {
  const subset = new Set(order);
  const edges = subsetEdges(graph, subset);
  const deps = subsetDependencies(graph, subset);
  if (format === 'json') {
    const nodes = order.map((name) => ({
      name,
      dir: toPosix(path.relative(graph.root, graph.nodes.get(name)!.dir)) || '.',
      dependencies: deps.get(name) ?? [],
      dependents: edges.filter((e) => e.from === name).map((e) => e.to),
    }));
    return `${JSON.stringify({ root: graph.root, direction: 'dependency -> dependent', nodes, edges }, null, 2)}\n`;
  }
  if (format === 'dot') {
    const q = (s: string) => JSON.stringify(s);
    const lines = ['digraph workspace {', '  // edges point from a dependency to the package that depends on it (build order)', '  rankdir=LR;'];
    for (const name of order) lines.push(`  ${q(name)};`);
    for (const e of edges) lines.push(`  ${q(e.from)} -> ${q(e.to)};`);
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }
  // Mermaid node ids must be plain identifiers; the label carries the real name.
  const ids = new Map(order.map((name, i) => [name, `n${i}`]));
  const label = (name: string) => `${ids.get(name)}["${name.replace(/"/g, '#quot;')}"]`;
  const lines = ['graph LR', '  %% edges point from a dependency to the package that depends on it (build order)'];
  for (const name of order) lines.push(`  ${label(name)}`);
  for (const e of edges) lines.push(`  ${ids.get(e.from)} --> ${ids.get(e.to)}`);
  return `${lines.join('\n')}\n`;
}
