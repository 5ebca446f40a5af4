import path from 'node:path';
import { isInside, realpathFast, realpathLoose, staysInside, toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { isFile } from './package-defaults.js';

/**
 * Where an entry may be, and the paths that takes: the package and outDir with
 * symlinks followed, the rule for sources outside the package, the common
 * directory of a list. resolve.ts applies them to the config's entries.
 */

export function realpathOrSelf(p: string): string {
  try {
    return realpathFast(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * The package directory and its outDir with symlinks followed, each taken once per resolution: the
 * outDir check and the entry placer both need them (each realpath is a readlink per path component;
 * four calls per package were half of resolveConfig's system time at 200 packages).
 */
export interface PackageRealpaths {
  /** The package directory's real path, or the path itself when it cannot be resolved (realpathOrSelf). */
  pkgReal: string;
  /** The package directory as staysInside resolves it (realpathLoose). */
  pkgLoose: string;
  /** The outDir as realpathLoose resolves it (it need not exist yet). */
  outDirReal: string;
}

export function packageRealpaths(pkgDir: string, outDirAbs: string): PackageRealpaths {
  const pkgAbs = path.resolve(pkgDir);
  let pkgFast: string | null;
  try {
    pkgFast = realpathFast(pkgAbs);
  } catch {
    pkgFast = null;
  }
  // When the directory resolves, realpathOrSelf and realpathLoose both give exactly that.
  return { pkgReal: pkgFast ?? pkgAbs, pkgLoose: pkgFast ?? realpathLoose(pkgAbs), outDirReal: realpathLoose(outDirAbs) };
}

/**
 * Where an entry source may be. Inside the package (lexically and after
 * symlinks): as always. Elsewhere: only a file that, symlinks followed, is
 * inside the workspace root, in no node_modules and not in the package's own
 * outDir; such a source is kept as its real path relative to the package
 * (`../core/src/index.ts`). The bundlers report it as read like any other
 * source, so it keys the cache (cache/build-reads.ts).
 */
export function entryPlacer(pkg: PackageInfo, reals: PackageRealpaths) {
  const { pkgReal, outDirReal } = reals;
  const rootReal = realpathOrSelf(pkg.workspaceRoot);
  const inWorkspace = isInside(rootReal, pkgReal) && rootReal !== pkgReal;
  return (source: string): { rel: string; outside: boolean } | { problem: string } => {
    const abs = path.resolve(pkg.dir, source);
    const lexicallyInside = isInside(pkg.dir, abs);
    if (!inWorkspace && !staysInside(pkg.dir, abs)) return { problem: `must stay inside the package (got ${JSON.stringify(source)})` };
    if (!isFile(abs)) return { problem: `file does not exist (got ${JSON.stringify(source)})` };
    const real = realpathOrSelf(abs);
    if (lexicallyInside && isInside(pkgReal, real)) return { rel: toPosix(path.relative(pkg.dir, abs)), outside: false };
    const shown = real === abs ? JSON.stringify(source) : `${JSON.stringify(source)}, which is ${toPosix(real)}`;
    if (!isInside(rootReal, real)) return { problem: `must stay inside the workspace ${toPosix(pkg.workspaceRoot)} (got ${shown})` };
    if (toPosix(path.relative(rootReal, real)).split('/').includes('node_modules')) {
      return { problem: `must not be inside node_modules (got ${shown}); point at the source in the workspace, or import the package from an entry of this one` };
    }
    if (isInside(outDirReal, real)) return { problem: `must not be inside outDir, which the build replaces (got ${shown})` };
    return { rel: toPosix(path.relative(pkgReal, real)), outside: !isInside(pkgReal, real) };
  };
}

export function commonDir(paths: string[]): string {
  if (paths.length === 0) return '';
  const split = paths.map((p) => path.posix.dirname(p).split('/').filter((s) => s && s !== '.'));
  const first = split[0] ?? [];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join('/');
}
