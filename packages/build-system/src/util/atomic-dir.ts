/**
 * Atomic outputs. Adapters write into a staging directory beside outDir (same
 * filesystem, so `rename` is atomic); only a successful build is published.
 *
 * Publishing (swapInStaging):
 * - outDir missing: one `rename(staging, outDir)`.
 * - outDir present: per-file replacement inside the existing outDir. A
 *   journal listing the new file set is written beside outDir first (temp +
 *   rename: that rename is the commit point); then each new file is renamed
 *   over its old version — additions first, replacements next, files the
 *   build did not produce last (unless keepStale). A reader sees every file
 *   either whole-old or whole-new, never missing; outDir itself never
 *   disappears. If the process dies after the commit point, the next lock
 *   holder finds the journal and rolls the swap forward (removeLeftovers), so
 *   outDir ends as the complete new set; before the commit point outDir was
 *   never touched, so it is the complete old set.
 *
 * Why not `rename(outDir, old); rename(staging, outDir)`: between the two
 * calls outDir does not exist, and a reader polling it sees ENOENT. Why not a
 * symlinked outDir: `npm pack` drops symlinked directories (measured: npm 11
 * packs nothing of a symlinked dist), and Node resolves modules through their
 * real path. Linux renameat2(RENAME_EXCHANGE) would swap two directories
 * atomically but is not reachable from Node without a native addon. Details and
 * numbers: specs/002-build-package-handler/research.md (question 3).
 *
 * Everything here assumes the caller holds the package lock.
 *
 * Long because: staging, the journaled swap and the recovery of an interrupted
 * swap are one protocol; outDir is never left half swapped only if they are read
 * together.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { onInterrupt, uninterruptible } from './signals.js';
import { isStrictlyInside, staysInside } from './paths.js';

/** Names beside outDir, all matching `.build-system-*` (one ignore pattern covers them). */
export const STAGING_PREFIX = '.build-system-staging-';
export const JOURNAL_PREFIX = '.build-system-journal-';
/** Moved-aside outDirs of the first (two-rename) version; removed when found. */
export const OLD_PREFIX = '.build-system-old-';

const SUFFIX = '[0-9a-f]{12}';
const STAGING_RE = new RegExp(`^${escapeRe(STAGING_PREFIX)}(.+)-(${SUFFIX})$`);
const JOURNAL_RE = new RegExp(`^${escapeRe(JOURNAL_PREFIX)}(.+)-(${SUFFIX})\\.json$`);
const JOURNAL_TMP_RE = new RegExp(`^${escapeRe(JOURNAL_PREFIX)}(.+)-(${SUFFIX})\\.json\\.tmp$`);
const OLD_RE = new RegExp(`^${escapeRe(OLD_PREFIX)}.+$`);

/**
 * Test hook (tests only; documented in research.md): with
 * BUILD_SYSTEM_TEST_PAUSE=before-adapter|during-swap the process writes
 * `build-system: test pause at <point> (pid <n>)` to stderr and waits forever,
 * so a test can SIGKILL it at exactly that point. `before-adapter`: the
 * staging directory exists, nothing is written. `during-swap`: the journal is
 * committed and the first file has been moved into outDir.
 */
const PAUSE_ENV = 'BUILD_SYSTEM_TEST_PAUSE';
async function testPause(point: 'before-adapter' | 'during-swap'): Promise<void> {
  if (process.env[PAUSE_ENV] !== point) return;
  process.stderr.write(`build-system: test pause at ${point} (pid ${process.pid})\n`);
  await new Promise<never>(() => {
    // A ref'd timer keeps the event loop (and the lock heartbeat) alive until the test kills us.
    setInterval(() => {}, 1 << 30);
  });
}

export interface Journal {
  version: 1;
  /** outDir's base name (the journal sits beside it). */
  outDir: string;
  /** Staging directory's base name (beside outDir). */
  staging: string;
  keepStale: boolean;
  /** Every file (or symlink) of the new set, relative posix paths. */
  files: string[];
  /** Every directory of the new set (so empty ones survive and are never removed as stale). */
  dirs: string[];
}

export interface SwapResult {
  /** `rename`: outDir did not exist and staging was renamed in; `files`: per-file replacement. */
  mode: 'rename' | 'files';
  added: number;
  replaced: number;
  removed: number;
}

export interface LeftoverReport {
  /** Interrupted swaps completed from their journal (outDir names). */
  rolledForward: string[];
  /** Leftover staging/journal/old entries deleted (names beside outDir). */
  removed: string[];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/** Absolute outDir, refusing anything that is not strictly inside the package (symlinks followed). */
function resolveOutDir(pkgDir: string, outDir: string): string {
  const target = path.resolve(pkgDir, outDir);
  if (!isStrictlyInside(path.resolve(pkgDir), target) || !staysInside(pkgDir, target)) {
    throw new Error(`outDir ${JSON.stringify(outDir)} is not inside the package ${pkgDir}`);
  }
  return target;
}

/** Cleanups for staging dirs that are not committed yet: an interrupted build deletes its own. */
const pendingStaging = new Map<string, () => void>();

function forgetStaging(staging: string): void {
  pendingStaging.get(staging)?.();
  pendingStaging.delete(staging);
}

export async function createStagingDir(pkgDir: string, outDir: string): Promise<string> {
  const target = resolveOutDir(pkgDir, outDir);
  const parent = path.dirname(target);
  // Synchronous calls on this path (mkdir, lstat, readdir, the rename of a first swap): they run once or twice
  // per package build on tiny directories, where the promise API's per-call cost (a thread-pool round trip)
  // was most of the work (research.md §8, session 10).
  mkdirSync(parent, { recursive: true });
  // Not mkdtemp: its 0700 mode would become outDir's mode on the rename path
  // (a web server or another user could no longer read dist). mkdir uses the umask.
  for (;;) {
    const staging = path.join(parent, `${STAGING_PREFIX}${path.basename(target)}-${randomBytes(6).toString('hex')}`);
    try {
      mkdirSync(staging);
    } catch (e) {
      if (code(e) === 'EEXIST') continue;
      throw e;
    }
    pendingStaging.set(
      staging,
      // Retried: a writer stopped just before (signals.ts `first`) may have finished one last file during the delete.
      onInterrupt(() => rmSync(staging, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 })),
    );
    await testPause('before-adapter');
    return staging;
  }
}

/**
 * Deletes a staging directory that will not be published. One whose swap was
 * already committed (its journal exists) is left alone: its remaining files
 * are the only copy of the new set, and the next lock holder rolls it forward.
 */
export async function discardStaging(staging: string): Promise<void> {
  forgetStaging(staging);
  const name = path.basename(staging);
  if (STAGING_RE.test(name) && (await lstatOrNull(journalPath(path.dirname(staging), name)))) return;
  await rm(staging, { recursive: true, force: true });
}

interface Tree {
  /** rel path → kind; 'file' covers symlinks too (renamed as entries, never followed). */
  entries: Map<string, 'file' | 'dir'>;
}

/** Lists a tree without following symlinks (a link to outside the package is an entry, not a place to walk). */
async function listTree(root: string): Promise<Tree> {
  const entries = new Map<string, 'file' | 'dir'>();
  const walk = async (rel: string) => {
    let dirents;
    try {
      dirents = readdirSync(rel ? path.join(root, rel) : root, { withFileTypes: true });
    } catch (e) {
      if (code(e) === 'ENOENT' || code(e) === 'ENOTDIR') return;
      throw e;
    }
    for (const d of dirents) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        entries.set(r, 'dir');
        await walk(r);
      } else {
        entries.set(r, 'file');
      }
    }
  };
  await walk('');
  return { entries };
}

async function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch (e) {
    if (code(e) === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Windows refuses to replace a file another process has open; such opens are
 * short (a reader), so retry briefly instead of failing the build.
 */
async function renameRetrying(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (e) {
      const c = code(e);
      if (process.platform !== 'win32' || attempt >= 20 || (c !== 'EPERM' && c !== 'EACCES' && c !== 'EBUSY')) throw e;
      await new Promise((r) => setTimeout(r, 25 * (attempt + 1)));
    }
  }
}

/** Runs `fn` over `items` with at most `limit` at once (renames are independent; libuv runs them on its pool). */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
const PARALLEL_RENAMES = 16;

const depth = (rel: string) => rel.split('/').length;

function checkRel(rel: unknown): rel is string {
  return typeof rel === 'string' && rel !== '' && !rel.startsWith('/') && !rel.split('/').some((p) => p === '..' || p === '.' || p === '');
}

/**
 * Applies a committed journal: moves every file still in staging into outDir,
 * then removes what the new set does not contain (unless keepStale), then the
 * staging directory. Idempotent: a second run after a crash in the middle
 * finds the moved files gone from staging and continues.
 */
async function rollForward(target: string, staging: string, journal: Journal, pauseAfterFirst: boolean): Promise<Omit<SwapResult, 'mode'>> {
  await mkdir(target, { recursive: true });
  const before = (await listTree(target)).entries;
  const stats = { added: 0, replaced: 0, removed: 0 };

  // Directories first, shallow to deep: the new set's own and every parent of
  // its files. A file or symlink of the old outDir where a directory belongs is
  // replaced (writing through a symlink could leave the package).
  const dirs = new Set(journal.dirs);
  for (const f of journal.files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const rel of [...dirs].sort((a, b) => depth(a) - depth(b))) {
    const kind = before.get(rel);
    if (kind === 'dir') continue;
    const abs = path.join(target, rel);
    if (kind === 'file') await rm(abs, { force: true });
    await mkdir(abs).catch((e) => {
      if (code(e) !== 'EEXIST') throw e;
    });
  }

  const move = async (rel: string) => {
    const dst = path.join(target, rel);
    if (before.get(rel) === 'dir') await rm(dst, { recursive: true, force: true }); // a directory became a file
    try {
      await renameRetrying(path.join(staging, rel), dst);
    } catch (e) {
      if (code(e) === 'ENOENT' && !(await lstatOrNull(path.join(staging, rel)))) return; // moved before a crash
      throw e;
    }
    if (before.has(rel)) stats.replaced++;
    else stats.added++;
  };
  // Additions first: a new entry file usually imports new chunks, which must already be there.
  const adds = journal.files.filter((f) => !before.has(f));
  const replaces = journal.files.filter((f) => before.has(f));
  let groups = [adds, replaces];
  if (pauseAfterFirst && process.env[PAUSE_ENV]) {
    // The test hook needs one file moved and the rest not: move the first alone.
    const first = adds[0] ?? replaces[0];
    if (first !== undefined) {
      await move(first);
      await testPause('during-swap');
      groups = groups.map((g) => g.filter((f) => f !== first));
    }
  }
  for (const group of groups) await eachLimited(group, PARALLEL_RENAMES, move);

  if (!journal.keepStale) {
    const keep = new Set(journal.files);
    const now = (await listTree(target)).entries;
    const stale = [...now].filter(([rel, kind]) => kind === 'file' && !keep.has(rel)).map(([rel]) => rel);
    await eachLimited(stale, PARALLEL_RENAMES, async (rel) => {
      await unlink(path.join(target, rel)).catch((e) => {
        if (code(e) !== 'ENOENT') throw e;
      });
      stats.removed++;
    });
    // Directories the new set does not have, deepest first so each is empty when its turn comes.
    const emptied = [...now].filter(([rel, kind]) => kind === 'dir' && !dirs.has(rel)).map(([rel]) => rel);
    for (const rel of emptied.sort((a, b) => depth(b) - depth(a))) {
      await rmdir(path.join(target, rel)).catch((e) => {
        if (code(e) !== 'ENOENT' && code(e) !== 'ENOTEMPTY' && code(e) !== 'EEXIST') throw e;
      });
    }
  }
  await rm(staging, { recursive: true, force: true });
  return stats;
}

function journalPath(parent: string, stagingName: string): string {
  const m = STAGING_RE.exec(stagingName);
  if (!m) throw new Error(`not a staging directory: ${stagingName}`);
  return path.join(parent, `${JOURNAL_PREFIX}${m[1]}-${m[2]}.json`);
}

/** Publishes a finished staging directory as outDir (see the header comment). */
export async function swapInStaging(pkgDir: string, outDir: string, staging: string, opts: { keepStale?: boolean } = {}): Promise<SwapResult> {
  const target = resolveOutDir(pkgDir, outDir);
  const parent = path.dirname(target);
  const stagingName = path.basename(staging);
  if (path.dirname(path.resolve(staging)) !== parent || !STAGING_RE.test(stagingName)) {
    throw new Error(`${staging} is not a staging directory of ${outDir} (made by createStagingDir)`);
  }
  const keepStale = opts.keepStale ?? false;
  // Signals wait until the swap is done (milliseconds): a Ctrl-C must not leave it half done.
  return uninterruptible(async () => {
    const st = await lstatOrNull(target);
    const isDir = st?.isDirectory() || (st?.isSymbolicLink() && (await stat(target).catch(() => null))?.isDirectory());
    // A file (or dangling link) where outDir belongs is not an outDir anyone can be reading from.
    if (st && !isDir) await rm(target, { force: true });
    if (!isDir) {
      const files = [...(await listTree(staging)).entries.values()].filter((k) => k === 'file').length;
      try {
        renameSync(staging, target); // nothing to replace: one atomic step
        forgetStaging(staging);
        return { mode: 'rename' as const, added: files, replaced: 0, removed: 0 };
      } catch (e) {
        // Something created outDir meanwhile (a watcher of the user's): replace file by file instead.
        if (code(e) !== 'ENOTEMPTY' && code(e) !== 'EEXIST' && code(e) !== 'EPERM') throw e;
      }
    }

    const tree = (await listTree(staging)).entries;
    const journal: Journal = {
      version: 1,
      outDir: path.basename(target),
      staging: stagingName,
      keepStale,
      files: [...tree].filter(([, k]) => k === 'file').map(([r]) => r).sort(),
      dirs: [...tree].filter(([, k]) => k === 'dir').map(([r]) => r).sort(),
    };
    const file = journalPath(parent, stagingName);
    await writeFile(`${file}.tmp`, JSON.stringify(journal));
    await rename(`${file}.tmp`, file); // commit point: from here on the swap is rolled forward, never back
    forgetStaging(staging);
    const stats = await rollForward(target, staging, journal, true);
    await unlink(file);
    return { mode: 'files' as const, ...stats };
  });
}

async function readJournal(file: string): Promise<Journal | null> {
  try {
    const j = JSON.parse(await readFile(file, 'utf8')) as Journal;
    const ok =
      j &&
      j.version === 1 &&
      typeof j.outDir === 'string' &&
      !j.outDir.includes('/') &&
      !j.outDir.includes(path.sep) &&
      j.outDir !== '..' &&
      typeof j.staging === 'string' &&
      STAGING_RE.test(j.staging) &&
      typeof j.keepStale === 'boolean' &&
      Array.isArray(j.files) &&
      j.files.every(checkRel) &&
      Array.isArray(j.dirs) &&
      j.dirs.every(checkRel);
    return ok ? j : null;
  } catch {
    return null;
  }
}

/**
 * Cleans up after crashed builds; call under the package lock before anything
 * reads or writes outDir. Interrupted swaps (a committed journal) are rolled
 * forward; uncommitted staging directories, journal temp files and old-style
 * moved-aside directories are deleted. Looks only at `.build-system-*` names
 * beside outDir, so nothing else is ever touched.
 *
 * LOCK-INTEGRATION: `build:clean` (clean.service.ts) calls this without the
 * lock; run concurrently with a build it would delete that build's staging
 * directory. It should hold `acquirePackageLock(pkg, { command: 'build:clean' })`
 * around removeLeftovers + removing outDir.
 */
export async function removeLeftovers(pkgDir: string, outDir: string): Promise<LeftoverReport> {
  const target = resolveOutDir(pkgDir, outDir);
  const parent = path.dirname(target);
  const report: LeftoverReport = { rolledForward: [], removed: [] };
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch (e) {
    if (code(e) === 'ENOENT') return report;
    throw e;
  }
  const ours = (name: string) => pendingStaging.has(path.join(parent, name));

  for (const name of names.filter((n) => JOURNAL_RE.test(n))) {
    const file = path.join(parent, name);
    const journal = await readJournal(file);
    if (journal) {
      const journalTarget = path.join(parent, journal.outDir);
      if (isStrictlyInside(path.resolve(pkgDir), journalTarget) && staysInside(pkgDir, journalTarget)) {
        await rollForward(journalTarget, path.join(parent, journal.staging), journal, false);
        report.rolledForward.push(journal.outDir);
      }
    }
    // An unreadable journal cannot be acted on; it is never produced half-written (temp + rename).
    await rm(file, { force: true });
    report.removed.push(name);
  }
  for (const name of names) {
    if (!(STAGING_RE.test(name) || JOURNAL_TMP_RE.test(name) || OLD_RE.test(name)) || ours(name)) continue;
    const abs = path.join(parent, name);
    if (!(await lstatOrNull(abs))) continue; // consumed by a roll-forward above
    await rm(abs, { recursive: true, force: true });
    report.removed.push(name);
  }
  return report;
}
