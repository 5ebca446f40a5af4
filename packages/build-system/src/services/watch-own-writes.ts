import path from 'node:path';
import { nearestAncestor, resolvedPath } from '../util/paths.js';

/**
 * The directories a watch's rounds write into themselves (every selected
 * package's outDir, the cache directory): a change below one is never a reason
 * for a round, and a directory below one is never watched.
 *
 * A path is looked up by its ancestors in a set, so one check costs the path's
 * depth. It was a scan of every outDir per path: a round after a hub edit at 200
 * packages checks ~10,000 read paths, and that scan took 1.3 s of a 1.7 s round
 * (research.md §12, "Rounds at 200 packages").
 */
export class OwnWrites {
  private readonly roots = new Set<string>();
  private cacheDir: string | null = null;

  /** Adds outDirs (absolute); they stay for the watch's life, as outDirs of earlier rounds are still written by their packages. */
  addOutDirs(dirs: Iterable<string>): void {
    for (const d of dirs) this.roots.add(path.resolve(d));
  }

  /** The cache directory, once the workspace root (and with it the default place) is known. */
  setCacheDir(dir: string | null): void {
    if (dir !== null) dir = path.resolve(dir);
    if (this.cacheDir !== null) this.roots.delete(this.cacheDir);
    this.cacheDir = dir;
    if (dir !== null) this.roots.add(dir);
  }

  /**
   * True when `p` (absolute) is one of the directories or below one, by its own path or, for a path
   * through node_modules, by its real path (outputs are read through `node_modules/<name>`,
   * cache/link-aliases.ts). `realpaths` memoizes those lookups for a caller checking many paths at once.
   */
  holds(p: string, realpaths?: Map<string, string>): boolean {
    if (this.below(p)) return true;
    if (!p.includes(`${path.sep}node_modules${path.sep}`)) return false;
    let real = realpaths?.get(p);
    if (real === undefined) {
      real = resolvedPath(p);
      realpaths?.set(p, real);
    }
    return real !== p && this.below(real);
  }

  private below(p: string): boolean {
    return nearestAncestor(p, (dir) => (this.roots.has(dir) ? true : undefined)) === true;
  }
}
