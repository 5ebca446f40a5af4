import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildResult } from '../../result/schema.js';
import { sha256 } from '../../util/hash.js';
import { selfIdentity } from '../../util/self-identity.js';
import { VERSION } from '../../version.js';

/**
 * The no-op record: what a successful CLI run read (its read log,
 * util/read-log.ts) and what it
 * produced, so that the next identical invocation can check with one stat per
 * path that nothing it depends on changed and print the same result (every
 * package a cache hit) without discovering the workspace, evaluating configs,
 * loading tools or computing keys. That is what a no-op costs turbo: it is a
 * Go binary that answers from its own daemon and file watching; we answer from
 * a record kept per invocation in the cache directory (v1/noop/<key>.json).
 *
 * Trust rules (the same as the stat cache's, file-hasher.ts):
 * - a file is unchanged when size, mtime, ctime and inode are; one modified
 *   within RACY_WINDOW_MS of the record is checked by content (sha256), and
 *   one whose content was never hashed makes the run unrecordable;
 * - a directory is unchanged when mtime and inode are; a recent one is listed
 *   and compared by names, and so is a package directory whose mtime moved
 *   (its outDir was removed or put back: its names besides its own are what
 *   the run listed);
 * - names build-system itself creates in a package directory (its outDir,
 *   node_modules for the lock, .build-system-* staging/journal entries) are
 *   not part of a directory's identity: they are checked through their own
 *   records (every artifact, the lock's absence).
 *
 * Anything unexpected in validation — a missing record, a version mismatch,
 * one stat that differs — means "no replay": the run happens as usual.
 *
 * This file is the record's format and key (what both sides agree on);
 * write.ts writes a record after a run, check.ts validates one and replays
 * its bookkeeping on the CLI's fast path (node:fs only).
 */

export const NOOP_RECORD_VERSION = 6;
/** How many of the files changed last a record lists first, and a replay checks before the directories (write.ts newestFirst). */
export const NEWEST_FIRST = 32;
/** A path modified this close to the record's writing is checked by content (see the trust rules above). */
export const RACY_WINDOW_MS = 2000;

/** One package as a no-op replays it. */
export interface RecordedPackage {
  /**
   * The result of a hit, keys in the order the build service writes them; the replay sets its own
   * startedAt and durationMs in place (no copy of each result).
   */
  result: BuildResult;
  /** Tool output a hit replays (the cache entry's logs). */
  logs: { stream: 'stdout' | 'stderr'; line: string }[];
}

/**
 * The workspace as the recorded run discovered it (one entry per package, in
 * discovery order): [name, dir relative to the root, indexes of its workspace
 * dependencies, takes part (1 / 0, -1 when the run never asked), 1 when it is
 * outside the workspace globs (named by directory)]. The record's stat checks
 * prove discovery would find the same today, so a replay resolves any other
 * selection against it (cache/noop/selection.ts).
 */
export type RecordedGraphEntry = [name: string, dir: string, dependencies: number[], participates: 1 | 0 | -1, foreign: 0 | 1];

/**
 * The hot file: what validation reads. Paths are a directory table plus
 * basenames; content hashes only for files modified within the racy window
 * (the only ones checked by content). Results live in a second file
 * (`<key>.results.json`) read only once validation succeeded.
 */
export interface NoopRecord {
  version: typeof NOOP_RECORD_VERSION;
  key: string;
  /** Ties this file to its results file (written first): a mismatch is "no replay". */
  id: string;
  writtenAt: number;
  root: string;
  graph: RecordedGraphEntry[];
  /** Names of the packages whose results were recorded. */
  built: string[];
  /**
   * Directories as a tree: [index of the parent (an earlier entry), name], -1 and an absolute
   * path for a top entry. Every path below is [index in this table, basename].
   */
  dirTable: [number, string][];
  /**
   * The paths below as columns, one array per field (entry i is the i-th path of each): parsed, an
   * array of numbers is one block, where a row per path made an array (and boxed timestamps) per
   * path, ~4,000 objects at 200 packages that cost a replay two young-generation collections.
   */
  files: RecordedFiles;
  dirs: RecordedDirs;
  absent: { dir: number[]; base: string[] };
  /** Symlinks whose target was used: [dir, base, target]. */
  links: [number, string, string][];
  /** Cache entry manifests of `built`, in its order: [dir, base, size, ino]; their mtime is the entry's last use, which hits move. */
  manifests: [number, string, number, number][];
  /** Env vars configs declared (`env`) → sha256 of the value, null when unset. */
  env: Record<string, string | null>;
  /** Entry names of package directories that are build-system's own (outDir roots, node_modules). */
  ownNames: string[];
}

export interface RecordedFiles {
  dir: number[];
  base: string[];
  size: number[];
  mtimeMs: number[];
  /** 0: the same as mtimeMs (most files). */
  ctimeMs: number[];
  ino: number[];
  /** The content hash of a file modified within RACY_WINDOW_MS of the record; 0 otherwise (or never hashed). */
  sha256: (string | 0)[];
}

export interface RecordedDirs {
  dir: number[];
  mtimeMs: number[];
  ino: number[];
  /** The listing of a recent directory or a package directory (compared by names); 0 otherwise. */
  names: (string[] | 0)[];
  /**
   * A package directory's own names (its outDir's first segment, node_modules): with `names`, a change
   * of its mtime is no change when its listing differs only in these (check.ts). 0 for other directories.
   * Per package, not the record's `ownNames`: another package's outDir name can be a source folder here.
   */
  own: (string[] | 0)[];
}

export const emptyFiles = (): RecordedFiles => ({ dir: [], base: [], size: [], mtimeMs: [], ctimeMs: [], ino: [], sha256: [] });
export const emptyDirs = (): RecordedDirs => ({ dir: [], mtimeMs: [], ino: [], names: [], own: [] });

/** The cold file: read after validation. */
export interface NoopResults {
  id: string;
  /** RunResult.schemaVersion of the recorded run (the replay does not load the schema module). */
  schemaVersion: number;
  packages: Record<string, RecordedPackage>;
  /**
   * The selection of the invocation that wrote the record, resolved against the recorded graph as a
   * replay resolves it (cache/noop/selection.ts) and stored with what it was resolved from: a replay
   * of that same invocation (the common no-op) takes it as it is, without loading the graph and filter
   * code. Absent when that resolution has no answer.
   */
  selection?: RecordedSelection;
}

/**
 * The third file (`<key>.reads.json`), read only by a partial run (services/partial-run.ts) after an
 * edit: per recorded package, the paths outside its own directory its last build read (its cache
 * entry's recorded reads, key inputs and config imports; absolute, real paths), as the watch's
 * CrossPackageReads holds them. Who else must be checked when a file changed comes from here.
 */
export interface NoopReads {
  id: string;
  packages: Record<string, readonly string[]>;
}

/** A resolved selection and its inputs (the replay's cwd, package names and filter texts). */
export interface RecordedSelection {
  cwd: string;
  names: string[];
  filters: string[];
  order: string[];
  /** The resolved plan dependencies, as [name, dependencies] entries in the resolution's order. */
  dependencies: [string, string[]][];
  /** [name, absolute dir] for every package of the resolved graph. */
  dirs: [string, string][];
}

/** The invocation a replay answers: what its selection is resolved from. */
export interface SelectionInput {
  cwd: string;
  names: readonly string[];
  filters: readonly string[];
}

/**
 * What makes a record usable for a run: everything that can change outputs and
 * that the record's own checks (paths, declared env vars) do not cover. Not the
 * cwd, the selection or print-only flags: a replay resolves the selection
 * against the recorded graph and prints with the current flags.
 */
export interface RecordKeyInput {
  /** The workspace root (from findWorkspaceRoot, computed anew by every run). */
  root: string;
  /** The resolved cache directory (flag, BUILD_SYSTEM_CACHE_DIR or the default): entries live there. */
  cacheDir: string;
  /** Flags that change outputs (commands/run-output.ts noopRecordOptions). */
  options: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}


/**
 * Env vars that can change what a build produces and that no record check sees, decided one by one:
 * - NODE_OPTIONS (--conditions, --require, loaders) and NODE_PATH change how configs and tools resolve modules;
 * - BUILD_SYSTEM_CONFIG_TIMEOUT_MS can make a config evaluation that succeeded fail now;
 * - BUILD_SYSTEM_TSC_SPAWN runs TypeScript another way (same output, but a different program: keyed to be safe).
 * Not keyed: BUILD_SYSTEM_CACHE_DIR (the resolved cache dir is), the remote cache variables (a replay
 * never happens while a remote URL is configured: commands/build-replay.ts), other TURBO_* (turbo's own),
 * BUILD_SYSTEM_DEBUG_NOOP / BUILD_SYSTEM_NO_FAST_PATH (messages; no fast path at all), and env vars
 * configs read (the record checks each one's value: `env`).
 */
const KEYED_ENV = ['NODE_OPTIONS', 'NODE_PATH', 'BUILD_SYSTEM_CONFIG_TIMEOUT_MS', 'BUILD_SYSTEM_TSC_SPAWN'] as const;

/**
 * The record's key: the text of everything in RecordKeyInput (and what runs), compared whole by a
 * replay. Kept as text rather than hashed with sha256 so that the replay need not load node:crypto
 * (~3 ms of its start); the file name is a short hash of it (recordName).
 */
export function recordKey(input: RecordKeyInput): string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const env = input.env ?? process.env;
  return JSON.stringify([
    NOOP_RECORD_VERSION,
    VERSION,
    selfIdentity(import.meta.url),
    bun ? `bun ${bun.version}` : `node ${process.version}`,
    process.platform,
    process.arch,
    input.root,
    input.cacheDir,
    input.options,
    KEYED_ENV.map((name) => env[name] ?? null),
  ]);
}

/**
 * A key's file name: 32 hex digits of FNV-1a over four 32-bit lanes. Not a cryptographic hash, and
 * it need not be one: the record holds its whole key and a replay compares it (check.ts), so two keys
 * that shared a name would only take turns in one file (a lost replay, never a wrong one).
 */
export function recordName(key: string): string {
  const lanes = [0x811c9dc5, 0x050c5d1f, 0x2ea1b4a3, 0x6b8b4567];
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    for (let l = 0; l < 4; l++) lanes[l] = Math.imul(lanes[l]! ^ (c + l * 0x9e37), 0x01000193);
  }
  return lanes.map((h) => (h >>> 0).toString(16).padStart(8, '0')).join('');
}

export function recordFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'noop', `${recordName(key)}.json`);
}

export function resultsFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'noop', `${recordName(key)}.results.json`);
}

export function readsFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'noop', `${recordName(key)}.reads.json`);
}

/** The content file of the record at `recordPath` (`<name>.json` → `<name>.content.json`). */
export function contentFile(recordPath: string): string {
  return recordPath.replace(/\.json$/, '.content.json');
}

/**
 * The fourth file (`<name>.content.json`, same `id`): what a record's paths held besides their stats, read
 * only when a check meets a path whose stat changed (check.ts). A fresh checkout, `npm ci`, a cache
 * directory restored by CI, `touch`: every file written anew with the same bytes. By stat all of them
 * changed; by content none did, and the record still answers (a replay, or a partial run that restores
 * outputs), where a stat-only record would send the run through every config and key.
 */
export interface NoopContent {
  id: string;
  /** The sha256 of each entry of `files`, in its order; 0 when the run did not read its content. */
  files: (string | 0)[];
  /** The names of each entry of `dirs` that was listed, in its order; 0 when only its existence was used. */
  dirs: (string[] | 0)[];
  /**
   * Each entry of `dirs` by its real path when that is another (reached through a symlink: a linked
   * workspace package, a tool install), 0 otherwise. Which directory a path leads to is part of what was
   * read: a link switched to another install of the same names (typescript → typescript7) is a change.
   */
  realDirs: (string | 0)[];
  /** The sha256 of each cache entry manifest of `manifests`, in its order. */
  manifests: (string | 0)[];
  /**
   * The git blob id of each entry of `files`, in its order, where git's index had the file at its recorded
   * stat (util/git-index.ts); 0 otherwise. A fresh checkout's index has every tracked file at its new stat:
   * the check then compares blob ids and reads none of them. Absent in content files written before it.
   */
  oids?: (string | 0)[];
}

/** A file's sha256, or null when it cannot be read. */
export function fileSha256(abs: string): string | null {
  try {
    return sha256(readFileSync(abs));
  } catch {
    return null;
  }
}

export const envValueHash = (name: string, value: string | undefined): string | null => (value === undefined ? null : sha256(`${name}=${value}`));

/** Names build-system creates in a directory it publishes into; see the trust rules above. */
export function ownEntry(name: string, ownNames: ReadonlySet<string>): boolean {
  return name.startsWith('.build-system') || ownNames.has(name);
}

/**
 * Each package directory's own names (RecordedDirs.own): its outDir's first segment and node_modules.
 * Removing or restoring its outDir moves its mtime; the check then compares its names instead.
 */
export function packageOwnNames(outputs: readonly { pkgDir: string; outDir: string }[]): Map<string, string[]> {
  const own = new Map<string, string[]>();
  for (const o of outputs) {
    const first = path.relative(o.pkgDir, o.outDir).split(path.sep)[0]!;
    own.set(o.pkgDir, first && first !== '..' ? [first, 'node_modules'] : ['node_modules']);
  }
  return own;
}

/** Same directory listing, leaving out build-system's own names. */
export function sameNames(a: readonly string[], b: readonly string[], ownNames: ReadonlySet<string>): boolean {
  const x = a.filter((n) => !ownEntry(n, ownNames)).sort();
  const y = b.filter((n) => !ownEntry(n, ownNames)).sort();
  return x.length === y.length && x.every((n, i) => n === y[i]);
}

/** The absolute directories of a record's tree table (parents come first). */
export function expandDirs(table: NoopRecord['dirTable']): string[] {
  const out: string[] = [];
  for (const [parent, name] of table) out.push(parent === -1 ? name : joinPath(out[parent]!, name));
  return out;
}

/** dir + name without path.join's normalizing (a third of the replay's time at 200 packages): both come from the table. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}
