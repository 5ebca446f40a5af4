import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseFilter } from '../../workspace/filter.js';
import { assertAcyclic, subsetDependencies, topologicalOrder, type PackageGraph } from '../../workspace/graph.js';
import type { PackageInfo } from '../../workspace/package-info.js';
import { chooseInGraph } from '../../workspace/select.js';
import type { NoopRecord } from './record.js';

/** What a selection resolved against a record's graph gives the replay: build order and plan dependencies. */
export interface ReplaySelection {
  order: string[];
  dependencies: Map<string, string[]>;
  dirs: Map<string, string>;
}

/** Thrown inside the resolution when the record does not know something a real run would decide. */
class Unknown extends Error {}

/**
 * The selection a real run would make for `cwd` + names + filters, resolved
 * against the workspace graph the record holds (valid because the record's
 * stat checks passed: discovery would read exactly what it read then). The
 * graph half is the real one (workspace/select.ts); the seeds mirror
 * selectPackages (services/workspace.service.ts). Null — build as usual —
 * whenever the record cannot prove the answer: a package whose participation
 * the recorded run never decided, a name or directory it does not know, any
 * error a real run would report, or a package it has no result for.
 */
export function resolveReplaySelection(record: NoopRecord, cwdIn: string, names: readonly string[], filterTexts: readonly string[]): ReplaySelection | null {
  try {
    return resolve(record, path.resolve(cwdIn), names, filterTexts);
  } catch {
    return null;
  }
}

function resolve(record: NoopRecord, cwd: string, names: readonly string[], filterTexts: readonly string[]): ReplaySelection | null {
  if (!existsSync(cwd)) return null;
  const filters = filterTexts.map(parseFilter);
  if (filters.some((f) => f.gitRef !== undefined)) return null;
  const entries = record.graph.map(([name, rel, deps, participates, foreign]) => ({ name, dir: path.resolve(record.root, rel), deps, participates, foreign }));
  const workspace = entries.filter((e) => e.foreign === 0);
  const byName = new Map(workspace.map((e) => [e.name, e]));
  const byDir = (dir: string) => workspace.find((e) => e.dir === dir) ?? entries.find((e) => e.foreign === 1 && e.dir === dir);

  let seeds: typeof entries = [];
  const explicit = new Set<string>();
  if (names.length > 0) {
    seeds = names.map((n) => byName.get(n) ?? byDir(path.resolve(cwd, n)) ?? fail());
    for (const s of seeds) explicit.add(s.name);
  } else if (!filters.some((f) => !f.exclude)) {
    const own = workspace.find((e) => e.dir === cwd);
    if (own) seeds = [own];
    else if (cwd === record.root && workspace.length > 0) seeds = workspace.filter((e) => takesPart(e.participates));
    else seeds = [entries.find((e) => e.foreign === 1 && e.dir === cwd) ?? fail()];
    if (seeds.length === 0) return null;
    if (own || seeds[0]!.foreign === 1) explicit.add(seeds[0]!.name);
  }
  // The graph a real run builds: the workspace, plus the packages outside its globs this selection names.
  const foreign = seeds.filter((s) => s.foreign === 1);
  if (foreign.some((s) => byName.has(s.name))) return null;
  const nodes = new Map<string, PackageInfo>();
  const dependencies = new Map<string, string[]>();
  const dependents = new Map<string, string[]>();
  for (const e of [...workspace, ...foreign]) {
    if (nodes.has(e.name)) continue;
    nodes.set(e.name, { name: e.name, dir: e.dir } as PackageInfo);
    dependencies.set(e.name, e.foreign === 1 ? [] : e.deps.map((i) => record.graph[i]![0]));
    dependents.set(e.name, []);
  }
  for (const [name, deps] of dependencies) for (const d of deps) dependents.get(d)!.push(name);
  for (const list of dependents.values()) list.sort();
  const graph: PackageGraph = { root: record.root, nodes, dependencies, dependents };
  const entryOf = new Map(entries.map((e) => [e.name, e]));
  const { final } = chooseInGraph(graph, seeds.map((s) => s.name), explicit, filters, cwd, true, (n) => takesPart(entryOf.get(n)!.participates));
  if (final.size === 0) return null;
  assertAcyclic(graph, final);
  const built = new Set(record.built);
  if ([...final].some((n) => !built.has(n))) return null;
  return { order: topologicalOrder(graph, final), dependencies: subsetDependencies(graph, final), dirs: new Map([...nodes].map(([n, p]) => [n, p.dir])) };
}

function takesPart(recorded: 1 | 0 | -1): boolean {
  if (recorded === -1) throw new Unknown('the recorded run did not decide whether this package takes part');
  return recorded === 1;
}

function fail(): never {
  throw new Unknown('not in the recorded graph');
}
