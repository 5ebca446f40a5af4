import type { Dirent } from 'node:fs';
import path from 'node:path';
import { withConfigDir, type ChainLayer } from '../adapters/tsconfig-layers.js';
import { isInside } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';

/**
 * Directories that a package's tsconfig makes part of its build without
 * anything in them being read: what `include` matches, the `typeRoots`, and
 * the earlier targets of `paths` fallbacks. Each is recorded by its listing
 * (or, not there yet, as absent), so a file appearing there is a change.
 *
 * Why: a file TypeScript compiled is reported by the tool and hashed, and the
 * directory it sits in is listed; but a file that an include pattern would
 * match and that did not exist at build time was read by nobody. The
 * fingerprint's walk of the package sees a new file appear, unless it is
 * gitignored (a generated `env.d.ts`); outside the package nothing did. A
 * global `.d.ts` added to an empty (or not yet created) shared types
 * directory, or generated into `src/`, changed the declarations a `--force`
 * build makes, and the cache kept serving the old ones.
 *
 * Over-approximation on purpose: every directory below a pattern's literal
 * base is listed, whatever the pattern's wildcards and extensions, so a file
 * added there that the pattern does not match may cost a rebuild, never a
 * stale output. Only the names that can join a program count
 * (compilableNames): a gitignored coverage report or log churning below an
 * included directory costs nothing. The package's own directory is listed
 * without its outDir (the lock, staging and tool caches live under
 * node_modules or dot names). Left out: the outDir (the build's product must
 * not key it), and what tsc never matches through a
 * wildcard: node_modules, bower_components, jspm_packages and names starting
 * with a dot. Symlinked directories are not entered: they appear in their
 * parent's listing as names.
 */
export interface IncludeDirs {
  dirs: string[];
  absent: string[];
  /** The tsconfig sets allowJs: JavaScript files count among the compilable names (includeDirs only). */
  allowJs?: boolean;
  /**
   * The package's own directory was reached (includeDirs only). Not in `dirs`: its listing is recorded
   * without the outDir, which comes and goes with every build (build-reads.ts).
   */
  root?: boolean;
}

/** tsc's wildcard matching never enters these (its default exclude, and hidden names). */
const NEVER_MATCHED = new Set(['node_modules', 'bower_components', 'jspm_packages']);

/** A file TypeScript compiles (declarations included); with allowJs, JavaScript too. */
const COMPILABLE_TS = /\.[cm]?tsx?$/;
const COMPILABLE_JS = /\.[cm]?[jt]sx?$/;

/**
 * The names of a directory an include reaches that count (see IncludeDirs):
 * the files TypeScript could compile and the directories a wildcard enters
 * (written `name/`). A coverage report, a log or an editor's swap file coming
 * and going in such a directory is no change, nor is built JavaScript unless
 * the tsconfig sets allowJs.
 */
export function compilableNames(entries: readonly Dirent[], allowJs: boolean): string[] {
  const compilable = allowJs ? COMPILABLE_JS : COMPILABLE_TS;
  return entries
    .filter((e) => (e.isDirectory() ? !NEVER_MATCHED.has(e.name) && !e.name.startsWith('.') : compilable.test(e.name)))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
}

/**
 * What the include patterns reach (see IncludeDirs): `configInclude` (the
 * config's `include`, relative to the package, which replaces the tsconfig's
 * for the tsc adapter) when given, else the effective include of `tsconfig`'s
 * chain (`chain`: extendsChain of the package's tsconfig, highest priority
 * first; empty without one). `outDir` is absolute.
 */
export function includeDirs(chain: readonly ChainLayer[], pkgDir: string, outDir: string, reads: ReadLog, configInclude?: readonly string[]): IncludeDirs {
  const out: IncludeDirs = { dirs: [], absent: [], allowJs: chain.find((l) => l.compilerOptions.allowJs !== undefined)?.compilerOptions.allowJs === true };
  let patterns: string[];
  if (configInclude && configInclude.length > 0) patterns = configInclude.map((p) => path.resolve(pkgDir, p));
  else {
    const own = chain[0];
    const layer = chain.find((l) => l.top.include !== undefined);
    if (!own) return out;
    if (layer && Array.isArray(layer.top.include)) {
      patterns = layer.top.include.filter((p): p is string => typeof p === 'string').map((p) => path.resolve(layer.dir, withConfigDir(p, own.dir) as string));
    } else if (!layer && !chain.some((l) => l.top.files !== undefined)) {
      // Neither include nor files: tsc's default, everything below the tsconfig.
      patterns = [path.join(own.dir, '**', '*')];
    } else return out;
  }
  const seen = new Set<string>();
  for (const abs of patterns) {
    const base = literalBase(abs);
    const st = reads.stat(base);
    if (!st) out.absent.push(base);
    else if (st.isDirectory()) walk(base, pkgDir, outDir, reads, seen, out);
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
export function typeRootsOutside(chain: readonly ChainLayer[], pkgDir: string, reads: ReadLog): IncludeDirs {
  const own = chain[0];
  const layer = chain.find((l) => l.compilerOptions.typeRoots !== undefined);
  const out: IncludeDirs = { dirs: [], absent: [] };
  if (!own || !layer || !Array.isArray(layer.compilerOptions.typeRoots)) return out;
  for (const root of layer.compilerOptions.typeRoots) {
    if (typeof root !== 'string') continue;
    const abs = path.resolve(layer.dir, withConfigDir(root, own.dir) as string);
    if (!isInside(pkgDir, abs)) listedOrAbsent(abs, reads, out);
  }
  return out;
}

/** A directory to list, or a path that must stay absent; a file there is no directory to list. */
function listedOrAbsent(dir: string, reads: ReadLog, out: IncludeDirs): void {
  const st = reads.stat(dir);
  if (!st) out.absent.push(dir);
  else if (st.isDirectory()) out.dirs.push(dir);
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
export function pathFallbacksOutside(chain: readonly ChainLayer[], pkgDir: string, reads: ReadLog): IncludeDirs {
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
      if (!isInside(pkgDir, dir) && !dir.split(path.sep).includes('node_modules')) listedOrAbsent(dir, reads, out);
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

function walk(dir: string, pkgDir: string, outDir: string, reads: ReadLog, seen: Set<string>, out: IncludeDirs): void {
  // No cap: a pattern based high up (the workspace root) is walked whole, as tsc walks it on every compile;
  // a directory left out would be one where a new declaration goes unnoticed.
  if (seen.has(dir) || isInside(outDir, dir)) return;
  seen.add(dir);
  if (dir !== pkgDir) out.dirs.push(dir);
  else out.root = true;
  for (const entry of reads.list(dir)) {
    if (!entry.isDirectory() || NEVER_MATCHED.has(entry.name) || entry.name.startsWith('.')) continue;
    walk(path.join(dir, entry.name), pkgDir, outDir, reads, seen, out);
  }
}
