import { realpathSync } from 'node:fs';
import path from 'node:path';

/** Forward-slash relative path, as used in results and manifests. */
export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** True when `child` is `parent` itself or below it (purely lexical). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!climbsOut(rel) && !path.isAbsolute(rel));
}

/** A relative path that leaves its base: `..` or `../…`, not a name that merely starts with two dots (`..cache`). */
const climbsOut = (rel: string) => rel === '..' || rel.startsWith(`..${path.sep}`);

/**
 * The value `lookup` gives for `p` or its nearest ancestor that has one (absolute paths), by walking up:
 * a path's depth in lookups, where a scan of every root would cost their number per path.
 */
export function nearestAncestor<V>(p: string, lookup: (dir: string) => V | undefined): V | undefined {
  for (let dir = p; ; ) {
    const found = lookup(dir);
    if (found !== undefined) return found;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** True when `child` is strictly below `parent` (never the directory itself). */
export function isStrictlyInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !climbsOut(rel) && !path.isAbsolute(rel);
}

/**
 * realpath(3) in one system call. Node's own realpathSync walks the path in JS,
 * one lstat per component; containment checks run for every package and
 * staging directory, so that walk was thousands of lstats per workspace build.
 * Same answer for every existing path; throws like realpathSync when one is missing.
 */
export const realpathFast: (p: string) => string = realpathSync.native;

/** realpath of the longest existing prefix of `p`, with the rest appended. Follows symlinks. */
export function realpathLoose(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(realpathFast(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/**
 * True when `target` stays inside `root` both lexically and after symlinks are
 * followed. Guards every write and delete against escaping the package.
 */
export function staysInside(root: string, target: string): boolean {
  const absRoot = path.resolve(root);
  const absTarget = path.resolve(absRoot, target);
  if (!isInside(absRoot, absTarget)) return false;
  return isInside(realpathLoose(absRoot), realpathLoose(absTarget));
}

/** A package.json path as written (`./dist/x.js`, `dist/`) in one form: posix, no leading `./`, no trailing `/`. */
export function stripDot(p: string): string {
  return toPosix(p).replace(/^\.\//, '').replace(/\/+$/, '');
}

/**
 * `p` with its longest existing ancestor resolved through realpath(3) and the rest appended: where
 * a path reached through a symlink (`node_modules/@scope/dep/dist/x.js`) really is, even while its
 * last parts are missing (an outDir being swapped). `p` itself when nothing above it resolves.
 */
export function resolvedPath(p: string): string {
  const rest: string[] = [];
  for (let dir = p; ; dir = path.dirname(dir)) {
    try {
      return path.join(realpathFast(dir), ...rest.reverse());
    } catch {
      if (path.dirname(dir) === dir) return p;
      rest.push(path.basename(dir));
    }
  }
}

/**
 * `(rel) => path.resolve(baseDir, rel)`, with each directory part resolved once: a package's recorded
 * reads are ~60 paths in a handful of directories (its dependencies' outDirs), and normalizing each
 * path was a measurable share of a lookup (research.md §8.w).
 */
export function resolverFrom(baseDir: string): (rel: string) => string {
  const dirs = new Map<string, string>();
  return (rel) => {
    const slash = rel.lastIndexOf('/');
    const base = rel.slice(slash + 1);
    if (base === '' || base === '.' || base === '..' || base.includes('\\')) return path.resolve(baseDir, rel);
    const dirRel = slash < 0 ? '' : slash === 0 ? '/' : rel.slice(0, slash);
    let dir = dirs.get(dirRel);
    if (dir === undefined) dirs.set(dirRel, (dir = path.resolve(baseDir, dirRel)));
    return dir === path.sep ? `${dir}${base}` : `${dir}${path.sep}${base}`;
  };
}

/** Non-empty path segments, none `.` or `..`, and no backslash (a separator on Windows: left to path.relative). */
const PLAIN_SEGMENTS = /^(?!\.\.?(?:\/|$))(?:[^/\\]+)(?:\/(?!\.\.?(?:\/|$))[^/\\]+)*$/;

/**
 * `toPosix(path.relative(from, path.resolve(dir, file)))`: how a file shows relative to the cwd. The
 * common case, a normalized directory below `from` and a plain relative file, is a slice: a replayed
 * no-op with a warning per package made 200 path.relative calls, ~4 ms of ~110 (research.md §8.q).
 */
export function relativeFile(from: string, dir: string, file: string): string {
  if (path.sep === '/' && from.length > 1 && !from.endsWith('/') && dir.startsWith(from) && PLAIN_SEGMENTS.test(file)) {
    if (dir.length === from.length) return file;
    const rest = dir.slice(from.length + 1);
    if (dir[from.length] === '/' && PLAIN_SEGMENTS.test(rest)) return `${rest}/${file}`;
  }
  return toPosix(path.relative(from, path.resolve(dir, file)));
}
