import { lstatSync, statSync, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { isInside, toPosix } from '../util/paths.js';
import { GitignoreMatcher } from './gitignore.js';
import type { ReadLog } from '../util/read-log.js';

/**
 * Which files of a package are inputs of its build.
 *
 * Default: every file below the package directory except
 * - node_modules and .git directories (at any depth);
 * - outDir (the build's product, not its input);
 * - build-system's own working files: names starting with `.build-system`
 *   (staging and old outDirs beside outDir, the lock directory);
 * - tool caches: `.cache`, `.turbo`, `.nx` directories, `*.tsbuildinfo`,
 *   `.eslintcache`; and the cache directory when it is configured inside the package;
 * - package.json and lockfiles at the package root (fingerprinted separately:
 *   the fields that affect a build, the lockfile entries of its dependencies);
 * - whatever the .gitignore files ignore (the workspace root's, those between
 *   it and the package, and every one inside the package).
 *
 * Config `inputs` globs (relative to the package): a plain glob adds the files
 * it matches even when the default excludes them (a gitignored generated
 * file, a shared tsconfig in `../../`); a glob with a leading `!` removes
 * files. Removals are applied last, so `!` always wins over an addition.
 */

const ALWAYS_SKIPPED_DIRS = new Set(['node_modules', '.git', '.cache', '.turbo', '.nx']);
const SKIPPED_FILE = /(^\.build-system)|(\.tsbuildinfo$)|(^\.eslintcache$)/;
const ROOT_SEPARATELY_FINGERPRINTED = new Set(['package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb']);

export interface InputFile {
  /** Absolute path. */
  abs: string;
  /** Posix path relative to the package; starts with `../` for files added from outside it. */
  rel: string;
  /** stat() of the file (symlinks followed); lstat() for a `link`. */
  stat: Stats;
  /**
   * Set for a symlink that is not a regular file (to a directory, dangling, a
   * loop): its target. Such a link is an input by its target, not by content:
   * the walk does not enter it, and what a build reads through it is recorded
   * with the build (cache/build-reads.ts); pointing it elsewhere changes the key.
   */
  link?: string;
}

export interface InputListOptions {
  /** Workspace root: .gitignore files from here down apply. */
  workspaceRoot: string;
  /** outDir relative to the package (posix). */
  outDir: string;
  /** Config `inputs`. */
  inputs: readonly string[];
  /** Absolute directories never to list (e.g. the cache directory). */
  excludeDirs?: readonly string[];
  /** The run's read log: every directory listed is logged with its names. */
  reads: ReadLog;
  /** When given, every directory the walk lists (absolute) is pushed here. */
  listedDirs?: string[];
}

function statOrNull(abs: string): Stats | null {
  // throwIfNoEntry: a vanished file is common enough (editors' temp files) that exceptions would cost.
  try {
    return statSync(abs, { throwIfNoEntry: false }) ?? null;
  } catch {
    // ELOOP, ENOTDIR, EACCES: not a file we can read.
    return null;
  }
}

/**
 * Walks `dir` (synchronously: a no-op build is mostly stat calls, and one
 * thread doing them back to back beats scheduling thousands of promises).
 * `visitDir` returning false prunes a directory. Symlinked directories are not
 * entered (they may loop or leave the package) but visited as `link` entries;
 * symlinked files are followed.
 */
function walk(
  reads: ReadLog,
  dir: string,
  rel: string,
  visitDir: (rel: string, name: string) => boolean,
  visitFile: (file: InputFile, name: string) => void,
  onListed?: (rel: string, names: readonly Dirent[]) => void,
): void {
  const entries = reads.list(dir);
  onListed?.(rel, entries);
  // An entry name has no separator and is never . or ..: below a normalized absolute directory,
  // concatenation is what path.join gives, without normalizing every path again (thousands per run).
  const prefix = path.isAbsolute(dir) && path.normalize(dir) === dir ? (dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`) : null;
  for (const entry of entries) {
    const name = entry.name;
    const childRel = rel ? `${rel}/${name}` : name;
    const abs = prefix !== null ? `${prefix}${name}` : path.join(dir, name);
    if (entry.isDirectory()) {
      if (visitDir(childRel, name)) walk(reads, abs, childRel, visitDir, visitFile, onListed);
      continue;
    }
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const st = statOrNull(abs);
    if (st?.isFile()) {
      visitFile({ abs, rel: childRel, stat: st }, name);
      continue;
    }
    if (!entry.isSymbolicLink()) continue;
    const target = reads.readLink(abs);
    const lst = lstatSync(abs, { throwIfNoEntry: false });
    if (target !== undefined && lst) visitFile({ abs, rel: childRel, stat: lst, link: target }, name);
  }
}

/** The leading directory part of a glob that contains no glob syntax (`../../config/*.json` → `../../config`). */
export function globBase(glob: string): string {
  const parts = glob.split('/');
  const fixed: string[] = [];
  for (const part of parts.slice(0, -1)) {
    if (/[*?[\]{}()!]/.test(part)) break;
    fixed.push(part);
  }
  return fixed.join('/');
}

/** Lists the input files of the package at `pkgDir`, sorted by `rel`. */
export function listInputFiles(pkgDir: string, options: InputListOptions): InputFile[] {
  const outDir = options.outDir.replace(/\/+$/, '');
  const excluded = (options.excludeDirs ?? []).map((d) => path.resolve(d));
  const ignore = new GitignoreMatcher(pkgDir, options.reads, options.workspaceRoot);
  const files = new Map<string, InputFile>();

  walk(
    options.reads,
    pkgDir,
    '',
    (rel, name) => {
      if (ALWAYS_SKIPPED_DIRS.has(name) || name.startsWith('.build-system')) return false;
      if (rel === outDir) return false;
      if (excluded.some((d) => isInside(d, path.join(pkgDir, rel)))) return false;
      return !ignore.ignores(rel, true);
    },
    (file, name) => {
      if (SKIPPED_FILE.test(name)) return;
      if (file.rel === name && ROOT_SEPARATELY_FINGERPRINTED.has(name)) return;
      if (ignore.ignores(file.rel, false)) return;
      files.set(file.rel, file);
    },
    // A directory's .gitignore is read only when its listing shows one (most directories have none).
    (rel, entries) => {
      options.listedDirs?.push(rel === '' ? pkgDir : path.join(pkgDir, rel));
      if (rel !== '' && entries.some((e) => e.name === '.gitignore')) ignore.enter(rel);
    },
  );

  const positive = options.inputs.filter((g) => !g.startsWith('!')).map(normalizeGlob);
  const negative = options.inputs.filter((g) => g.startsWith('!')).map((g) => normalizeGlob(g.slice(1)));
  for (const glob of positive) addGlobMatches(options.reads, pkgDir, options.workspaceRoot, glob, files);
  if (negative.length > 0) {
    const drop = picomatch(negative, { dot: true });
    for (const rel of [...files.keys()]) if (drop(rel)) files.delete(rel);
  }
  return [...files.values()].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function normalizeGlob(glob: string): string {
  return path.posix.normalize(toPosix(glob).replace(/^\.\//, ''));
}

/**
 * Adds the files one `inputs` glob matches. The walk starts at the glob's
 * fixed base, which may be above the package but never above the workspace
 * root; node_modules and .git are entered only when the glob names them.
 */
function addGlobMatches(reads: ReadLog, pkgDir: string, workspaceRoot: string, glob: string, files: Map<string, InputFile>): void {
  const base = globBase(glob);
  const baseAbs = path.resolve(pkgDir, base);
  if (!isInside(workspaceRoot, baseAbs) && !isInside(pkgDir, baseAbs)) return;
  const match = picomatch(glob, { dot: true });
  const namesSpecialDir = /(^|\/)(node_modules|\.git)(\/|$)/.test(glob);
  const single = reads.stat(path.resolve(pkgDir, glob)) ?? null;
  if (single?.isFile()) {
    const rel = toPosix(path.relative(pkgDir, path.resolve(pkgDir, glob)));
    files.set(rel, { abs: path.resolve(pkgDir, glob), rel, stat: single });
    return;
  }
  const toPkgRel = (relToBase: string) => (base ? path.posix.normalize(`${base}/${relToBase}`) : relToBase);
  walk(
    reads,
    baseAbs,
    '',
    (rel, name) => namesSpecialDir || (name !== 'node_modules' && name !== '.git'),
    (file) => {
      const rel = toPkgRel(file.rel);
      if (match(rel)) files.set(rel, { ...file, rel });
    },
  );
}
