import path from 'node:path';
import type { PreviousRun } from '../cache/noop/check.js';
import type { RecordedPackage } from '../cache/noop/record.js';
import { CONFIG_FILE_NAME } from '../config/find.js';
import type { BuildResult } from '../result/schema.js';
import { nearestAncestor, resolvedPath, toPosix } from '../util/paths.js';
import type { Selection } from './selection.js';
import { CrossPackageReads } from './watch-readers.js';
import { isValidationDiagnostic } from '../validate/diagnostics.js';
import { RoundReuse } from './watch-reuse.js';

/**
 * A CLI run after an edit, answered in part from the no-op record of the run
 * before (cache/noop/record.ts). The record's full check (check.ts
 * readRecordDelta) names every path that changed; this module decides which
 * packages those changes can reach, and the run builds only them. Every other
 * selected package keeps its recorded result: nothing it read changed, which
 * is exactly what the whole record's check would have proven for it.
 *
 * Who a change reaches, as a watch round decides it (watch-classify.ts):
 * - the package whose directory holds the path (dirty: built as usual, its
 *   key computed, a hit when the change was undone);
 * - the packages whose last build read the path, or listed its directory, or
 *   (for a changed directory) read a name in it, from their recorded reads
 *   outside their own directory (dirty too);
 * - a package whose cache entry manifest changed (dirty);
 * - then, transitively, the packages that depend on or read from a package
 *   taking part: they take part, and are kept without a check when what they
 *   read of this run's outputs came out the same (watch-reuse.ts).
 * The run selects as every run does (discovery is not skipped), so the graph
 * and who takes part are today's; a selected package the record has no
 * result for (another selection, a new package) is built, as is one whose
 * reads the record does not know. No partial run, and a full one, when a
 * change can reach more than some packages' inputs: a path outside every
 * package (the root tsconfig, the lockfile, a new package directory),
 * anything under node_modules that is not a workspace package's file (an
 * install), a package.json or a build config.
 */

export type { PreviousRun };

export interface PartialPlan {
  /** Selected packages that go through the run (built, checked, or kept by `reuse` once their dependencies are done). */
  affected: Set<string>;
  /** Among them, those whose own inputs changed: always checked. */
  dirty: Set<string>;
  /** Selected packages outside `affected`, with their recorded result and logs. */
  kept: Map<string, RecordedPackage>;
  /**
   * Among `affected`, packages whose only changes are their own recorded outputs (removed, or edited by
   * hand): nothing they read changed, so their recorded cache entry is still theirs, and the run puts it
   * back without loading their config (services/partial-restore.ts). One that cannot be restored joins
   * `dirty`. Not dirty themselves, and the packages that read their outputs are not made dirty by them:
   * those take part as readers, kept when the outputs came back the same.
   */
  restorable: Map<string, RecordedPackage>;
  /** The selected packages that depend on or read from any of `names`, transitively (not `names` themselves unless so). */
  reachedFrom(names: Iterable<string>): Set<string>;
  reuse: RoundReuse;
  /** What every recorded package read outside its directory, as the record had it. */
  crossReads: CrossPackageReads;
  /**
   * Packages of the run whose outputs a package read without depending on them (another package's dist by a
   * relative path): it waits for them too, so it reads what this run wrote (never a cycle: an edge that would
   * close one is left out).
   */
  readsOutputsOf: Map<string, string[]>;
}

/** The plan, or why there is none (the run then builds everything as usual). */
export function planPartialRun(selection: Selection, previous: PreviousRun, options: { strict?: boolean; force?: boolean } = {}): PartialPlan | string {
  const { graph } = selection;
  const recorded = previous.results.packages;
  const byDir = new Map([...graph.nodes.values()].map((p) => [p.dir, p.name]));
  const ownerOf = (p: string) => nearestAncestor(p, (dir) => byDir.get(dir));
  const selected = new Set(selection.packages.map((p) => p.name));

  const crossReads = new CrossPackageReads();
  // Readers by the directory of what they read: who a changed directory (a name added or removed in it) reaches.
  const byParent = new Map<string, Set<string>>();
  for (const [name, paths] of Object.entries(previous.reads.packages)) {
    crossReads.restore(name, paths);
    for (const p of paths) {
      const parent = path.dirname(p);
      let readers = byParent.get(parent);
      if (!readers) byParent.set(parent, (readers = new Set()));
      readers.add(name);
    }
  }

  const dirty = new Set<string>(previous.delta.changedEntries);
  const outDirs = new Map<string, string>();
  for (const r of Object.values(recorded)) if (r.result.outDir) outDirs.set(path.resolve(r.result.package.dir, r.result.outDir), r.result.package.name);
  // Changed paths that are a package's own recorded outputs, by package: restored, unless it is dirty anyway.
  const outputChanges = new Map<string, string[]>();
  const changedInput = (p: string, owner: string) => {
    dirty.add(owner);
    for (const reader of crossReads.readersOf(p)) dirty.add(reader);
    for (const reader of byParent.get(p) ?? []) dirty.add(reader);
  };
  const nodeModules = `${path.sep}node_modules${path.sep}`;
  for (const changed of previous.delta.changed) {
    let p = changed;
    // A workspace package's file as a dependent read it, through its node_modules link: that file (readers hold real paths).
    if (p.includes(nodeModules)) {
      p = resolvedPath(p);
      if (p.includes(nodeModules) || p === changed) return `${changed} changed (under node_modules)`;
    }
    const owner = ownerOf(p);
    if (owner === undefined) return `${p} changed, outside every package`;
    const rel = path.relative(graph.nodes.get(owner)!.dir, p);
    if (rel === 'package.json' || CONFIG_FILE_NAME.test(rel)) return `${p} changed (a package.json or build config)`;
    if (isRecordedOutput(p, owner, recorded[owner]?.result, outDirs)) outputChanges.set(owner, [...(outputChanges.get(owner) ?? []), p]);
    else changedInput(p, owner);
  }

  const last = new Map<string, BuildResult>();
  for (const pkg of selection.packages) {
    const before = recorded[pkg.name]?.result;
    // Not built by the recorded run (another selection), or not from this directory: it is built now.
    if (!before || before.package.dir !== pkg.dir) dirty.add(pkg.name);
    else last.set(pkg.name, before);
    // What it read is unknown: any change may reach it.
    if (crossReads.pathsOf(pkg.name) === undefined) dirty.add(pkg.name);
    // --strict is no part of the record's key: a result with package.json warnings goes through the run, which fails it.
    if (options.strict && before?.diagnostics.some(isValidationDiagnostic)) dirty.add(pkg.name);
  }

  // Who reads from whom: graph dependents, and readers of any file inside another package (an output, a source).
  const readersOfPackage = new Map<string, Set<string>>();
  const addEdge = (from: string, to: string) => {
    let readers = readersOfPackage.get(from);
    if (!readers) readersOfPackage.set(from, (readers = new Set()));
    readers.add(to);
  };
  for (const [name, dependents] of graph.dependents) for (const d of dependents) addEdge(name, d);
  for (const name of selected) {
    for (const p of crossReads.pathsOf(name) ?? []) {
      const owner = ownerOf(p);
      if (owner !== undefined && owner !== name) addEdge(owner, name);
    }
  }
  const reach = (from: Iterable<string>): Set<string> => {
    const out = new Set<string>();
    const queue = [...from].filter((n) => selected.has(n));
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (out.has(name)) continue;
      out.add(name);
      for (const reader of readersOfPackage.get(name) ?? []) if (selected.has(reader) && !out.has(reader)) queue.push(reader);
    }
    return out;
  };
  // A package whose outputs alone changed is restored, unless a changed package reaches it (what it read of that one
  // may come out otherwise: it is checked, or built, in order). Refusing one makes it a changed package in turn.
  const refused = new Set<string>();
  for (let more = true; more; ) {
    more = false;
    const reached = reach(dirty);
    for (const [owner, paths] of outputChanges) {
      if (refused.has(owner)) continue;
      const before = recorded[owner];
      if (!options.force && selected.has(owner) && !reached.has(owner) && before?.result.status === 'success' && typeof before.result.cache.key === 'string') continue;
      // Built (or not selected): its outputs may come out otherwise, so whoever read them is checked as before.
      refused.add(owner);
      for (const p of paths) changedInput(p, owner);
      more = true;
    }
  }
  // At the fixed point no changed package reaches one left (and a changed one reaches itself): never both.
  const restorable = new Map<string, RecordedPackage>();
  for (const owner of outputChanges.keys()) if (!refused.has(owner)) restorable.set(owner, recorded[owner]!);
  const affected = reach([...dirty, ...restorable.keys()]);

  const kept = new Map<string, RecordedPackage>();
  for (const name of selected) if (!affected.has(name)) kept.set(name, recorded[name]!);
  const reuse = new RoundReuse(last, dirty, affected, crossReads, outDirs);
  const reachedFrom = (names: Iterable<string>) => reach([...names].flatMap((n) => [...(readersOfPackage.get(n) ?? [])]));
  return { affected, dirty, kept, restorable, reachedFrom, reuse, crossReads, readsOutputsOf: outputOrder(affected, graph.dependencies, crossReads, outDirs) };
}

/**
 * Whether changed path `p` is one of `owner`'s recorded outputs: its outDir, a directory on the way to an
 * artifact, or an artifact. Anything else below the outDir (a file the build never wrote) is a change like
 * any other: what the package's outDir holds is not what its recorded entry would put back.
 */
function isRecordedOutput(p: string, owner: string, result: BuildResult | undefined, outDirs: ReadonlyMap<string, string>): boolean {
  if (!result?.outDir) return false;
  const outDir = path.resolve(result.package.dir, result.outDir);
  if (outDirs.get(outDir) !== owner || !(p === outDir || p.startsWith(outDir + path.sep))) return false;
  const rel = toPosix(path.relative(result.package.dir, p));
  return result.artifacts.some((a) => a.path === rel || a.path.startsWith(`${rel}/`));
}

/** PartialPlan.readsOutputsOf: for each package of the run, the other packages of the run whose outDir holds a path it read. */
function outputOrder(affected: ReadonlySet<string>, dependencies: ReadonlyMap<string, readonly string[]>, crossReads: CrossPackageReads, outDirs: ReadonlyMap<string, string>): Map<string, string[]> {
  const added = new Map<string, string[]>();
  const edges = (name: string) => [...(dependencies.get(name) ?? []), ...(added.get(name) ?? [])];
  const reaches = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n === to) return true;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...edges(n));
    }
    return false;
  };
  for (const name of affected) {
    const owners = new Set<string>();
    for (const p of crossReads.pathsOf(name) ?? []) {
      const owner = nearestAncestor(p, (dir) => outDirs.get(dir));
      if (owner !== undefined && owner !== name && affected.has(owner)) owners.add(owner);
    }
    for (const owner of owners) {
      if (edges(name).includes(owner) || reaches(owner, name)) continue;
      added.set(name, [...(added.get(name) ?? []), owner]);
    }
  }
  return added;
}
