import path from 'node:path';
import { extendsChain, withConfigDir } from '../adapters/tsconfig-layers.js';
import { isInside } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';

/**
 * Directories outside a package that its tsconfig makes part of the build
 * without anything in them being read: what `include` matches, the `typeRoots`,
 * and the earlier targets of `paths` fallbacks. Each is recorded by its
 * listing, so a file appearing there is a change.
 *
 * The directories outside a package that its tsconfig's `include` patterns
 * reach (`"include": ["src", "../../types"]`), to be recorded by their
 * listings, and the pattern bases that do not exist yet, to be recorded as
 * absent.
 *
 * Why: a file TypeScript compiled is reported by the tool and hashed, and the
 * directory it sits in is listed; but a file that an include pattern would
 * match and that did not exist at build time was read by nobody. Inside the
 * package the fingerprint's walk sees it appear. Outside, nothing did: a
 * global `.d.ts` added to an empty (or not yet created) shared types
 * directory changed the declarations a `--force` build makes, and the cache
 * kept serving the old ones.
 *
 * Over-approximation on purpose: every directory below a pattern's literal
 * base is listed, whatever the pattern's wildcards and extensions, so a file
 * added there that TypeScript would not compile may cost a rebuild, never a
 * stale output. The package's own directory is left out (its inputs are the
 * fingerprint's, and its outputs must not key its own build), and so are
 * what tsc never matches through a wildcard: node_modules, bower_components,
 * jspm_packages and names starting with a dot. Symlinked directories are not
 * entered: they appear in their parent's listing as names.
 */
export interface IncludeDirs {
  dirs: string[];
  absent: string[];
}

/** tsc's wildcard matching never enters these (its default exclude, and hidden names). */
const NEVER_MATCHED = new Set(['node_modules', 'bower_components', 'jspm_packages']);
/** A walk this wide means a pattern based at a very high directory: listed up to here, the rest walked by nobody (each run pays the walk). */
const MAX_DIRS = 5000;

/** What `tsconfig`'s effective include reaches outside `pkgDir` (see IncludeDirs). */
export function includeDirsOutside(tsconfig: string, pkgDir: string, reads: ReadLog): IncludeDirs {
  const chain = extendsChain(tsconfig, reads);
  const own = chain[0];
  const layer = chain.find((l) => l.top.include !== undefined);
  const out: IncludeDirs = { dirs: [], absent: [] };
  if (!own || !layer || !Array.isArray(layer.top.include)) return out;
  const seen = new Set<string>();
  for (const pattern of layer.top.include) {
    if (typeof pattern !== 'string') continue;
    const abs = path.resolve(layer.dir, withConfigDir(pattern, own.dir) as string);
    const base = literalBase(abs);
    if (isInside(pkgDir, base)) continue;
    const st = reads.stat(base);
    if (!st) out.absent.push(base);
    else if (st.isDirectory()) walk(base, pkgDir, reads, seen, out);
    // A file named outright: TypeScript reads it (reported, hashed) or fails on its absence.
  }
  return out;
}

/**
 * The `typeRoots` directories a tsconfig's chain sets outside `pkgDir`: TypeScript loads every
 * package in them (without `types`), so a package added there, which nobody read this time, joins
 * the program. Each is listed (its packages' files, once read, are hashed where they are read), or
 * recorded as absent. The default roots (`node_modules/@types` upward) are build-reads.ts's own rule.
 */
export function typeRootsOutside(tsconfig: string, pkgDir: string, reads: ReadLog): IncludeDirs {
  const chain = extendsChain(tsconfig, reads);
  const own = chain[0];
  const layer = chain.find((l) => l.compilerOptions.typeRoots !== undefined);
  const out: IncludeDirs = { dirs: [], absent: [] };
  if (!own || !layer || !Array.isArray(layer.compilerOptions.typeRoots)) return out;
  for (const root of layer.compilerOptions.typeRoots) {
    if (typeof root !== 'string') continue;
    const abs = path.resolve(layer.dir, withConfigDir(root, own.dir) as string);
    if (isInside(pkgDir, abs)) continue;
    const st = reads.stat(abs);
    if (!st) out.absent.push(abs);
    else if (st.isDirectory()) out.dirs.push(abs);
  }
  return out;
}

/**
 * For each `paths` key with fallbacks (`"@x/*": ["../../a/*", "../../b/*"]`),
 * the directories its targets before the last one start in, outside
 * `pkgDir`: an import resolved through a later target now goes to an earlier
 * one as soon as a matching file appears there, in a directory nothing was
 * read from. Listed (or absent). A target's literal base is listed, not what
 * its wildcard stands for in every import: `a/*` is exact, `a/*\/src` notices
 * a new directory under `a` and not a new file under an existing `a/x/src`
 * (see research §16). The last target needs nothing: nothing falls back past
 * it. esbuild, bun and TypeScript all honour `paths`.
 */
export function pathFallbacksOutside(tsconfig: string, pkgDir: string, reads: ReadLog): IncludeDirs {
  const chain = extendsChain(tsconfig, reads);
  const own = chain[0];
  const pathsLayer = chain.find((l) => l.compilerOptions.paths !== undefined);
  const out: IncludeDirs = { dirs: [], absent: [] };
  const paths = pathsLayer?.compilerOptions.paths;
  if (!own || !pathsLayer || !paths || typeof paths !== 'object' || Array.isArray(paths)) return out;
  const baseLayer = chain.find((l) => typeof l.compilerOptions.baseUrl === 'string');
  const base = baseLayer ? path.resolve(baseLayer.dir, withConfigDir(baseLayer.compilerOptions.baseUrl, own.dir) as string) : pathsLayer.dir;
  for (const targets of Object.values(paths as Record<string, unknown>)) {
    if (!Array.isArray(targets)) continue;
    for (const target of targets.slice(0, -1)) {
      if (typeof target !== 'string') continue;
      const abs = path.resolve(base, withConfigDir(target, own.dir) as string);
      // The directory the target's first wildcard is in (a target without one names a file or directory: its parent).
      const star = abs.indexOf('*');
      const dir = star === -1 ? path.dirname(abs) : path.dirname(`${abs.slice(0, star)}x`);
      if (isInside(pkgDir, dir) || dir.split(path.sep).includes('node_modules')) continue;
      const st = reads.stat(dir);
      if (!st) out.absent.push(dir);
      else if (st.isDirectory()) out.dirs.push(dir);
    }
  }
  return out;
}

/** The part of an absolute pattern before its first segment with a wildcard. */
function literalBase(abs: string): string {
  const segments = abs.split(path.sep);
  const wild = segments.findIndex((s) => /[*?]/.test(s));
  return wild === -1 ? abs : segments.slice(0, wild).join(path.sep) || path.sep;
}

function walk(dir: string, pkgDir: string, reads: ReadLog, seen: Set<string>, out: IncludeDirs): void {
  if (seen.has(dir) || seen.size >= MAX_DIRS) return;
  seen.add(dir);
  out.dirs.push(dir);
  for (const entry of reads.list(dir)) {
    if (!entry.isDirectory() || NEVER_MATCHED.has(entry.name) || entry.name.startsWith('.')) continue;
    const child = path.join(dir, entry.name);
    if (!isInside(pkgDir, child)) walk(child, pkgDir, reads, seen, out);
  }
}
