import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../result/schema.js';
import { isStrictlyInside, nearestAncestor } from '../util/paths.js';

type Result = RunResult['results'][number];

/** An output file as the watch saw it right after its round; 'wrong' when it was already gone or not the size its result says. */
interface Seen {
  ino: number;
  size: number;
  mtimeMs: number;
}

interface Guarded {
  name: string;
  outDir: string;
  files: Map<string, Seen | 'wrong'>;
  /** outDir and every directory of an output below it: what is watched. */
  dirs: Set<string>;
  /** The result's artifacts (path and sha256): a later hit that wrote nothing and names the same ones keeps this state. */
  signature: string;
  /** Some output was already not as the result says when stat'ed. */
  wrong: boolean;
}

/**
 * The watch's guard over the outputs it published. A consumer (a dev server, a
 * test runner) reads a package's outDir while the watch runs; when something
 * else deletes or rewrites a file there (`rm -rf dist`, `git clean`, another
 * tool writing into it), the package takes part in the next round, whose cache
 * hit puts its outputs back (every sha256 checked), and its dependents see the
 * same files again (kept, watch-reuse.ts).
 *
 * The watch's own rounds write there too, and their events arrive during or
 * after the round: a file is judged by its state, not by the event. After each
 * round every output of every successful result is stat'ed (inode, size,
 * mtime); an event below an outDir asks whether any output of that package
 * differs from that. The outputs' size is also checked against the result at
 * that moment: a file replaced between the round's swap and the stat by one of
 * the same size is the one change this cannot see (hashing every output after
 * every round would).
 */
export class OutputGuard {
  private readonly byPackage = new Map<string, Guarded>();
  private readonly byOutDir = new Map<string, Guarded>();

  /**
   * Takes the state of the outputs of a round's results. A failed or skipped
   * package is no longer guarded (its outDir is what it was; the package is in
   * every round until it builds). Returns the packages whose outputs were
   * already not as their result says. `restat`: packages whose state is taken
   * anew even after a hit that wrote nothing (those this round checked because
   * of their outputs: a file rewritten with the same bytes is a hit in place).
   */
  record(results: readonly Result[], restat: ReadonlySet<string> = new Set()): string[] {
    const wrong: string[] = [];
    for (const r of results) {
      const signature = r.artifacts.map((a) => `${a.path}\0${a.sha256}`).join('\n');
      const before = this.byPackage.get(r.package.name);
      // A hit that found its files in place (a kept package too) wrote nothing: the state taken when they were written holds.
      // Not stat'ing them again keeps a hub round's ~140 packages off the round's time.
      if (r.status === 'success' && r.cache.status === 'hit' && !r.cache.restored && before?.signature === signature && !before.wrong && !restat.has(r.package.name)) continue;
      this.forget(r.package.name);
      if (r.status !== 'success' || !r.outDir) continue;
      const outDir = path.resolve(r.package.dir, r.outDir);
      const g: Guarded = { name: r.package.name, outDir, files: new Map(), dirs: new Set([outDir]), signature, wrong: false };
      let ok = true;
      for (const a of r.artifacts) {
        const file = path.resolve(r.package.dir, a.path);
        // Outputs beside outDir (a bin written elsewhere) are not watched: only what lies below it.
        if (!isStrictlyInside(outDir, file)) continue;
        const st = lstatSync(file, { throwIfNoEntry: false });
        const seen: Seen | 'wrong' = st?.isFile() && st.size === a.bytes ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } : 'wrong';
        if (seen === 'wrong') ok = false;
        g.files.set(file, seen);
        for (let d = path.dirname(file); d.length > outDir.length; d = path.dirname(d)) g.dirs.add(d);
      }
      g.wrong = !ok;
      this.byPackage.set(g.name, g);
      this.byOutDir.set(outDir, g);
      if (!ok) wrong.push(g.name);
    }
    return wrong;
  }

  /** The guarded package whose outDir is `file` or holds it, if any. */
  owner(file: string): string | undefined {
    return nearestAncestor(file, (dir) => this.byOutDir.get(dir))?.name;
  }

  /** True when any output of the package is gone or is not the file the watch left there. */
  changed(name: string): boolean {
    const g = this.byPackage.get(name);
    if (!g) return false;
    for (const [file, seen] of g.files) {
      if (seen === 'wrong') return true;
      const st = lstatSync(file, { throwIfNoEntry: false });
      if (!st?.isFile() || st.ino !== seen.ino || st.size !== seen.size || st.mtimeMs !== seen.mtimeMs) return true;
    }
    return false;
  }

  /** Every directory holding a guarded output: watched, as the watch's own reads never list them. */
  dirs(): Set<string> {
    const all = new Set<string>();
    for (const g of this.byPackage.values()) for (const d of g.dirs) all.add(d);
    return all;
  }

  private forget(name: string): void {
    const g = this.byPackage.get(name);
    if (!g) return;
    this.byPackage.delete(name);
    if (this.byOutDir.get(g.outDir) === g) this.byOutDir.delete(g.outDir);
  }
}
