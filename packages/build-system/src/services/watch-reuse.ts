import path from 'node:path';
import { hitForm } from '../cache/noop/write.js';
import type { BuildResult } from '../result/schema.js';
import { nearestAncestor, toPosix } from '../util/paths.js';
import type { ReuseHook } from './plan.js';
import type { CrossPackageReads } from './watch-readers.js';

/**
 * The packages a watch round keeps as they are, without checking them (RunHooks.reuse).
 *
 * A round takes the changed packages, their dependents and the readers of the
 * changed files (watch-readers.ts). A package among them whose own inputs did
 * not change (it is none of those) and whose last build read, of the round's
 * packages' outputs, only files that came out of this round byte for byte the
 * same, would only be found a hit: every input of its key is what it was at
 * its last result. It keeps that result. What it read is its cache entry's
 * recorded reads, so an output it bundles through another package (c bundles
 * b, whose import of a it inlines too) counts, whether or not it waits for
 * that package; an output of a package still building means: check it.
 *
 * After a body edit of a hub, its direct dependents are checked (the hub's JS
 * changed; declaration-keyed ones read only its unchanged .d.ts and are kept),
 * and so on down. Trusted like the rest of the watch: own inputs are known
 * unchanged from the file events. A package whose last result failed, or was
 * not cached (its reads are unknown), is always checked.
 */
export class RoundReuse implements ReuseHook {
  private readonly done = new Map<string, BuildResult>();
  private readonly inRound: ReadonlySet<string>;
  /** Names kept this round, in the order they were. */
  readonly kept: string[] = [];

  constructor(
    /** Each package's last successful result, before this round. */
    private readonly last: ReadonlyMap<string, BuildResult>,
    /** Packages whose own files (or files they read) changed: always checked. */
    private readonly dirty: ReadonlySet<string>,
    inRound: Iterable<string>,
    private readonly reads: CrossPackageReads,
    /** Absolute outDir → package, of every package the watch has had a result for (failed ones too). */
    private readonly outDirs: ReadonlyMap<string, string>,
  ) {
    this.inRound = new Set(inRound);
  }

  /** A result of this round as it comes in (package-done). */
  finished(result: BuildResult): void {
    this.done.set(result.package.name, result);
  }

  expected(name: string, waitsFor: readonly string[]): boolean {
    return this.keepable(name) && waitsFor.every((w) => !this.dirty.has(w));
  }

  take(name: string): BuildResult | undefined {
    if (!this.keepable(name)) return undefined;
    const read = this.reads.pathsOf(name);
    if (!read) return undefined;
    for (const p of read) {
      const owner = this.outputOwner(p);
      // Outside every outDir, or of a package not in this round: unchanged (the file events say so).
      if (owner === undefined || owner === name || !this.inRound.has(owner)) continue;
      const now = this.done.get(owner);
      const before = this.last.get(owner);
      if (now?.status !== 'success' || !before) return undefined;
      if (artifactsOf(now) === artifactsOf(before)) continue;
      // Its outputs changed: kept only if what it read is the same. A file: the same bytes. Anything else below the
      // outDir (a directory it listed, a name it looked for that was absent) is as it was when the same files exist.
      const rel = toPosix(path.relative(now.package.dir, p));
      const was = before.artifacts.find((a) => a.path === rel);
      const is = now.artifacts.find((a) => a.path === rel);
      if (is || was ? is?.sha256 !== was?.sha256 : pathsOf(now) !== pathsOf(before)) return undefined;
    }
    this.kept.push(name);
    return { ...hitForm(this.last.get(name)!), startedAt: new Date().toISOString(), durationMs: 0 };
  }

  private keepable(name: string): boolean {
    const last = this.last.get(name);
    return !this.dirty.has(name) && last?.status === 'success' && typeof last.cache.key === 'string';
  }

  /** The package whose outDir holds `p` (by its ancestors), if any. */
  private outputOwner(p: string): string | undefined {
    return nearestAncestor(p, (dir) => this.outDirs.get(dir));
  }
}

/** Each result's artifacts as one string, made once: take() compares them for every path a package read (~140 packages × their reads at 200). */
const artifactTexts = new WeakMap<BuildResult, string>();
function artifactsOf(r: BuildResult): string {
  let text = artifactTexts.get(r);
  if (text === undefined) artifactTexts.set(r, (text = r.artifacts.map((a) => `${a.path}\0${a.sha256}`).join('\n')));
  return text;
}
const pathsOf = (r: BuildResult): string => r.artifacts.map((a) => a.path).sort().join('\n');
