// fs.promises through the default import, read when a large file is hashed: importing node:fs/promises
// by name loads it (and readline with it) at start, ~1.4 ms of every replayed no-op that never uses it.
import fs, { readdirSync, readFileSync, readlinkSync, statSync, type Dirent, type Stats } from 'node:fs';
import { statFields, type StatFields } from './fast-stat.js';
import { sha256 } from './hash.js';

/**
 * The read log of one run: the tracked file system every input of a build is
 * read through. Whatever decides a run's outcome — workspace discovery,
 * package.json files, configs and what they import, input files, the files a
 * tool reported reading, tool installs and where Node looked without finding
 * one, the lockfile, env vars a config read — is read with these methods, and
 * each read is logged as it happens: a path and the state it had (size,
 * mtime, ctime, inode, and the content hash when the content was read).
 *
 * Two things are derived from the one log, so they cannot disagree:
 * - the cache key: file hashes come from `hash`, memoized for the run, so a file is read and hashed
 *   at most once per run whoever asks (the fingerprint, an entry's recorded reads, the outDir check);
 * - the CLI's no-op record (cache/noop/record.ts): a later run whose every logged path is unchanged
 *   would compute the same result.
 *
 * A run creates one log and passes it down (the functions that read inputs take it as a required
 * argument, so a read that is not logged does not compile). Nothing here is process-wide: two runs in
 * one process have two logs.
 */

export interface ObservedFile {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Content hash when the content was read: lets a recent ("racy") file be checked by content. */
  sha256?: string;
  /** Git blob id of this version's content, when the no-op record proved it (cache/noop/content.ts; not set here). */
  oid?: string;
}

export interface ObservedDir {
  mtimeMs: number;
  ino: number;
  /** Entry names as listed, when the directory was listed. */
  names?: string[];
}

export interface ReadObservations {
  files: Map<string, ObservedFile>;
  dirs: Map<string, ObservedDir>;
  absent: Set<string>;
  /** Symlinks whose target was used (not followed): path → target. */
  links: Map<string, string>;
  /** Env vars whose value was used. */
  env: Set<string>;
  /** Why this run's outcome depends on something that is not a path (no no-op record then), or null. */
  refused: string | null;
}

export interface FileDigest {
  sha256: string;
  bytes: number;
}

/** Most file reads in flight at once, so thousands of inputs do not exhaust file descriptors. */
const READ_CONCURRENCY = 32;
/** Files up to this size are read synchronously when hashed (see hash()); larger ones through the thread pool, READ_CONCURRENCY at a time. */
const SYNC_READ_MAX_BYTES = 256 * 1024;

/** What identifies a version of a file: an fs.Stats, or util/fast-stat.ts's fields without one. */
export type FileVersion = Pick<Stats, 'size' | 'mtimeMs' | 'ctimeMs' | 'ino'>;

/** A file version's identity for memos: size, mtime, ctime (which nobody can set back) and inode. */
export function statSignature(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
}

export class ReadLog {
  private readonly files = new Map<string, ObservedFile>();
  private readonly dirs = new Map<string, ObservedDir>();
  private readonly absentPaths = new Set<string>();
  private readonly linkTargets = new Map<string, string>();
  private readonly envNames = new Set<string>();
  private refusedReason: string | null = null;
  /** readTextOnce: path → the text the run read (undefined: absent). */
  private readonly texts = new Map<string, string | undefined>();
  /**
   * path → the hash of its content at one file version (a file changed mid-run is hashed again). The
   * version is kept as numbers, not as a statSignature string: this is looked up once per input file
   * per run, and four number-to-string conversions per file were measurable (research.md §8, "8.u").
   * `value` is set when the digest was known synchronously (vouched for); `digest` is made on demand.
   */
  private readonly hashes = new Map<string, HashMemo>();
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  /**
   * @param recording whether the run may be recorded for no-op replay. Reads
   * are logged either way; only probes that cost extra syscalls just to know
   * what a record would need (where a tool is *not* installed) are skipped
   * when no record will be written.
   */
  constructor(readonly recording = false) {}

  // -------------------------------------------------------------------------
  // Reading

  /** The file's text, or undefined when it does not exist (logged as absent). Other errors throw. */
  readText(abs: string): string | undefined {
    // Stat before the read: a change in between leaves the noted stat older than the file, so a later check
    // hashes it again (and finds the text this run read). Stat after, the newer stat would vouch for the older text.
    const before = statSync(abs, { throwIfNoEntry: false });
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      if (isMissing(e)) {
        this.noteAbsent(abs);
        return undefined;
      }
      throw e;
    }
    // Only the no-op record's racy check uses the hash (noop/write.ts): a replay's log need not load node:crypto.
    if (before?.isFile()) this.noteFile(abs, before, this.recording ? sha256(text) : undefined);
    else this.refuse(`${abs} appeared while it was read`);
    return text;
  }

  /**
   * readText once per run per path: package.json files, which discovery, the workspace root
   * check and module resolution (a package's own name) each read. The first read is what the
   * run saw and logged, so later callers get that text.
   */
  readTextOnce(abs: string): string | undefined {
    if (this.texts.has(abs)) return this.texts.get(abs);
    const text = this.readText(abs);
    this.texts.set(abs, text);
    return text;
  }

  /** stat (symlinks followed), or undefined when nothing is there; logged as a file, a directory or an absence. */
  stat(abs: string): Stats | undefined {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) this.noteAbsent(abs);
    else if (st.isDirectory()) this.noteDir(abs, st);
    else this.noteFile(abs, st);
    return st;
  }

  /** stat() without building an fs.Stats (util/fast-stat.ts), for lookups checking thousands of reads; logged alike. */
  statQuick(abs: string): StatFields | undefined {
    const st = statFields(abs);
    if (!st) this.noteAbsent(abs);
    else if (st.isDirectory) this.noteDir(abs, st);
    else this.noteVersion(abs, st);
    return st;
  }

  /** A directory's entries (empty when it cannot be listed); logged with their names. */
  list(abs: string): Dirent[] {
    // Stat before listing: a name added in between then leaves the recorded mtime older than the directory's,
    // so a later check lists it again. Stat after, it would pair the newer mtime with the older names.
    const before = this.dirs.has(abs) ? undefined : statSync(abs, { throwIfNoEntry: false });
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) this.noteAbsent(abs);
      else this.refuse(`${abs} cannot be listed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      return [];
    }
    this.noteDir(abs, before?.isDirectory() ? before : undefined, entries.map((e) => e.name));
    return entries;
  }

  /** The version (mtime, inode) at which the run first saw a directory, if it did. */
  dirVersion(abs: string): { mtimeMs: number; ino: number } | undefined {
    const d = this.dirs.get(abs);
    return d && { mtimeMs: d.mtimeMs, ino: d.ino };
  }

  /** A symlink's target (not followed), or undefined when `abs` is not a symlink; logged. */
  readLink(abs: string): string | undefined {
    let target: string;
    try {
      target = readlinkSync(abs);
    } catch {
      this.noteFile(abs);
      return undefined;
    }
    if (!this.linkTargets.has(abs)) this.linkTargets.set(abs, target);
    return target;
  }

  /**
   * sha256 of the file's content, read at most once per run per file version.
   * Pass the stat the caller has (saves a syscall). `known` is a hash a stat
   * cache vouches for at exactly this stat: then nothing is read.
   */
  hash(abs: string, st: FileVersion = statSync(abs), known?: string): Promise<FileDigest> {
    const memo = this.hashes.get(abs);
    if (memo && sameVersion(memo, st)) return (memo.digest ??= Promise.resolve(memo.value!));
    if (known !== undefined) return Promise.resolve(this.vouch(abs, st, known)!);
    // A small file is read synchronously: the promise API's open, fstat, read and close are four thread-pool
    // round trips, which cost more main-thread time than the read itself (research.md §8, session 10).
    const digest = st.size <= SYNC_READ_MAX_BYTES ? this.digestNow(abs, st) : this.limited(async () => this.digestOf(abs, st, await fs.promises.readFile(abs)));
    this.hashes.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, digest });
    // A failed read is not remembered: the caller decides what a missing file means.
    digest.catch(() => {
      if (this.hashes.get(abs)?.digest === digest) this.hashes.delete(abs);
    });
    return digest;
  }

  /**
   * hash(abs, st, known) without a promise, for a caller that hashes thousands of files whose hashes its
   * stat cache vouches for: the same log entry and memo. Undefined when this run is reading that very
   * version itself and has no digest yet (then call hash()).
   */
  vouch(abs: string, st: FileVersion, known: string): FileDigest | undefined {
    const memo = this.hashes.get(abs);
    if (memo && sameVersion(memo, st)) return memo.value;
    this.noteVersion(abs, st, known);
    const value = { sha256: known, bytes: st.size };
    this.hashes.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, value });
    return value;
  }

  private digestNow(abs: string, st: FileVersion): Promise<FileDigest> {
    let data: Buffer;
    try {
      data = readFileSync(abs);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(this.digestOf(abs, st, data));
  }

  private digestOf(abs: string, st: FileVersion, data: Buffer): FileDigest {
    const hex = sha256(data);
    // The stat we were given may predate the read: only vouch for it when the size agrees.
    if (data.byteLength === st.size) this.noteVersion(abs, st, hex);
    else this.refuse(`${abs} changed while it was read`);
    return { sha256: hex, bytes: data.byteLength };
  }

  /** The value of an env var, logged as used. */
  env(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    this.envNames.add(name);
    return env[name];
  }

  // -------------------------------------------------------------------------
  // Logging reads done elsewhere (a tool's own module resolution, a probe)

  /** A file whose existence or content was used. The first observation of a path wins: it is what the run saw. */
  noteFile(abs: string, st?: Stats | null, contentSha256?: string): void {
    if (this.files.has(abs)) {
      if (st) this.noteVersion(abs, st, contentSha256);
      return;
    }
    // Already seen as a directory (a tool's install, noted from every package that resolves it): the
    // first observation wins, so a stat would change nothing (one per package and tool).
    if (st === undefined && this.dirs.has(abs)) return;
    // null: the caller already knows it is absent; undefined: not looked at yet.
    const s = st === undefined ? statSync(abs, { throwIfNoEntry: false }) : st;
    if (!s) {
      this.noteAbsent(abs);
      return;
    }
    if (s.isDirectory()) {
      this.noteDir(abs, s);
      return;
    }
    this.noteVersion(abs, s, contentSha256);
  }

  /** A regular file at version `v` (the caller knows it is one); its content's hash when read. */
  private noteVersion(abs: string, v: FileVersion, contentSha256?: string): void {
    const known = this.files.get(abs);
    if (!known) this.files.set(abs, { size: v.size, mtimeMs: v.mtimeMs, ctimeMs: v.ctimeMs, ino: v.ino, ...(contentSha256 ? { sha256: contentSha256 } : {}) });
    else if (contentSha256 && !known.sha256 && v.size === known.size && v.mtimeMs === known.mtimeMs && v.ino === known.ino) known.sha256 = contentSha256;
  }

  /** A directory whose listing (pass the names) or existence was used. */
  noteDir(abs: string, st?: Pick<Stats, 'mtimeMs' | 'ino'>, names?: readonly string[]): void {
    const known = this.dirs.get(abs);
    if (known) {
      if (names && !known.names) known.names = [...names].sort();
      return;
    }
    const s = st ?? statSync(abs, { throwIfNoEntry: false });
    if (!s) {
      this.noteAbsent(abs);
      return;
    }
    this.dirs.set(abs, { mtimeMs: s.mtimeMs, ino: s.ino, ...(names ? { names: [...names].sort() } : {}) });
  }

  /** A path whose absence was used (a tool that is not installed, a config name not taken). */
  noteAbsent(abs: string): void {
    this.absentPaths.add(abs);
  }

  /** An env var whose value was used (read by someone else, e.g. a config through the tracked env). */
  noteEnv(name: string): void {
    this.envNames.add(name);
  }

  /** The run depends on something that is not a path: no no-op record for it. The first reason wins. */
  refuse(reason: string): void {
    if (this.refusedReason === null) this.refusedReason = reason;
  }

  get refused(): string | null {
    return this.refusedReason;
  }

  /** Everything logged so far (live maps: read them once the run is over). */
  observations(): ReadObservations {
    return { files: this.files, dirs: this.dirs, absent: this.absentPaths, links: this.linkTargets, env: this.envNames, refused: this.refusedReason };
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= READ_CONCURRENCY) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface HashMemo {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  digest?: Promise<FileDigest>;
  value?: FileDigest;
}

/** The same file version as statSignature tells them apart: size, mtime, ctime, inode. */
function sameVersion(memo: HashMemo, st: FileVersion): boolean {
  return memo.size === st.size && memo.mtimeMs === st.mtimeMs && memo.ctimeMs === st.ctimeMs && memo.ino === st.ino;
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
