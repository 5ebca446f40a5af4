import { writeFileAtomic, writeFileAtomicSync } from '../util/atomic-file.js';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { FileDigest, FileVersion, ReadLog } from '../util/read-log.js';

/**
 * sha256 of files, read as rarely as possible.
 *
 * A stat cache maps a file's (size, mtime, ctime, inode) to its sha256. It is
 * persisted per package in the cache directory, so a file unchanged since the
 * last run is not read at all: a no-op key computation costs one stat per
 * file. Within a run, reading and hashing go through the run's read log
 * (util/read-log.ts), which reads each file at most once whichever package
 * asks (a shared root tsconfig, @types files) and logs every file it vouches for.
 *
 * ctime is part of the signature because a program can set mtime back but not
 * ctime. "Racy" entries are not persisted: a file whose mtime was within
 * RACY_WINDOW_MS of the moment it was hashed could be rewritten in the same
 * timestamp tick (coarse-grained filesystems tick in seconds) without its stat
 * changing, so such a file is hashed again by the next run — the trick git
 * uses for its index.
 */

export type { FileDigest };

/** 2: the file also carries the package's last build (`attached`), which had a file of its own. */
export const STAT_CACHE_VERSION = 2;
const RACY_WINDOW_MS = 2000;

interface Entry {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  sha256: string;
  /** Hashed (or vouched for) during this run. */
  fresh: boolean;
  /** May be persisted: the file was old enough when hashed. */
  trusted: boolean;
}

type PersistedEntry = [size: number, mtimeMs: number, ctimeMs: number, ino: number, sha256: string];

interface PersistedStatCache {
  version: number;
  /**
   * The record kept with the stat cache (the package's last build, see package-cache.ts): its key, and
   * its JSON as a string, parsed only when asked for (a miss's explanation), so a no-op run reading
   * every package's file does not parse every last build's fingerprint and reads.
   */
  attachedKey?: string;
  attached?: string;
  entries: Record<string, PersistedEntry>;
}

/** A record persisted with the stat cache, in the same file (one file written per package build, not two). */
export interface AttachedRecord {
  key: string;
  json: string;
}

export interface HasherStats {
  /** Files whose hash came from the stat cache without reading them. */
  statHits: number;
  /** Files read and hashed. */
  reads: number;
  bytesRead: number;
}

function sameStat(e: Entry, st: FileVersion): boolean {
  return e.size === st.size && e.mtimeMs === st.mtimeMs && e.ctimeMs === st.ctimeMs && e.ino === st.ino;
}

export class FileHasher {
  private readonly entries = new Map<string, Entry>();
  /** Whether this run learned a trusted entry (or dropped some): a stat cache with nothing new is not rewritten. */
  private learned = false;
  private attachedRecord: AttachedRecord | null = null;
  private attachedChanged = false;
  readonly stats: HasherStats = { statHits: 0, reads: 0, bytesRead: 0 };

  /**
   * @param reads the run's read log: it reads, hashes and logs.
   * @param stateFile where the stat cache persists; undefined keeps it in memory only.
   */
  constructor(
    readonly reads: ReadLog,
    private readonly stateFile?: string,
  ) {}

  /** A hasher primed with the stat cache persisted at `stateFile` (a missing or unreadable file is an empty cache). */
  static async open(reads: ReadLog, stateFile?: string): Promise<FileHasher> {
    const hasher = new FileHasher(reads, stateFile);
    if (!stateFile) return hasher;
    try {
      // Synchronous: a small file read once per package, where the promise API's per-call cost is most of the work.
      const data = JSON.parse(readFileSync(stateFile, 'utf8')) as PersistedStatCache;
      if (data.version === STAT_CACHE_VERSION && data.entries && typeof data.entries === 'object') {
        for (const [file, e] of Object.entries(data.entries)) {
          if (!Array.isArray(e) || e.length !== 5) continue;
          const [size, mtimeMs, ctimeMs, ino, sha256] = e;
          hasher.entries.set(file, { size, mtimeMs, ctimeMs, ino, sha256, fresh: false, trusted: true });
        }
        if (typeof data.attachedKey === 'string' && typeof data.attached === 'string') hasher.attachedRecord = { key: data.attachedKey, json: data.attached };
      }
    } catch {
      // No stat cache yet, or a damaged one: every file is simply hashed.
    }
    return hasher;
  }

  /**
   * The sha256 and size of `abs`. Pass the stat the caller already has to
   * save a syscall. Read (once per run, by the read log) only when the stat
   * cache cannot vouch for it.
   */
  async hash(abs: string, st: FileVersion = statSync(abs)): Promise<FileDigest> {
    const known = this.entries.get(abs);
    if (known && sameStat(known, st) && (known.fresh || known.trusted)) {
      if (!known.fresh) {
        known.fresh = true;
        this.stats.statHits++;
      }
      return this.reads.hash(abs, st, known.sha256);
    }
    return this.read(abs, st);
  }

  /**
   * hash() without a promise when the stat cache vouches for `abs` at `st` (or this run already has
   * its digest): a no-op key computation asks this for every input file. Undefined: call hash().
   */
  vouched(abs: string, st: FileVersion): FileDigest | undefined {
    const known = this.entries.get(abs);
    if (!known || !sameStat(known, st) || !(known.fresh || known.trusted)) return undefined;
    const digest = this.reads.vouch(abs, st, known.sha256);
    if (digest !== undefined && !known.fresh) {
      known.fresh = true;
      this.stats.statHits++;
    }
    return digest;
  }

  private async read(abs: string, st: FileVersion): Promise<FileDigest> {
    const digest = await this.reads.hash(abs, st);
    this.stats.reads++;
    this.stats.bytesRead += digest.bytes;
    // The stat we were given may predate the read: only record it when the size agrees.
    if (digest.bytes === st.size) this.record(abs, st, digest.sha256);
    return digest;
  }

  /** Records a hash computed elsewhere (e.g. artifacts hashed in the staging dir, now at `abs`). */
  remember(abs: string, st: FileVersion, sha256: string): void {
    this.record(abs, st, sha256);
  }

  /** The record persisted with the stat cache as it was loaded (or last attached in this run); null when none. */
  get attached(): AttachedRecord | null {
    return this.attachedRecord;
  }

  /** Replaces the attached record; the next save writes it (with the stat cache, in one file). */
  attach(record: AttachedRecord): void {
    if (this.attachedRecord?.key === record.key && this.attachedRecord.json === record.json) return;
    this.attachedRecord = record;
    this.attachedChanged = true;
  }

  /** Forgets everything known about files below `dir` (e.g. an outDir about to be replaced). */
  forgetBelow(dir: string): void {
    const prefix = dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`;
    for (const key of this.entries.keys()) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      this.learned = true;
    }
  }

  private record(abs: string, st: FileVersion, sha256: string): void {
    const now = Date.now();
    const trusted = now - st.mtimeMs > RACY_WINDOW_MS;
    // Only a trusted entry is ever written (save): one modified within the racy window is no reason to rewrite
    // the file. A hub edit made each of 139 dependents rewrite its stat cache for the hub's fresh declarations alone.
    if (trusted) this.learned = true;
    this.entries.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, sha256, fresh: true, trusted });
  }

  /**
   * Persists the entries used in this run that are trusted (so the file sheds
   * deleted files whenever it is written), with the attached record, when the
   * run learned something to keep. Atomic (temp +
   * rename): concurrent runs each write a whole file and the last one wins,
   * which is fine for a cache and for the last build, which only explains
   * misses (a run that loaded an older one can put it back; the next build
   * of the package writes its own).
   */
  async save(): Promise<void> {
    if (!this.stateFile) return;
    // Nothing new to keep: the file on disk stays as it is. It may still list files this run did not use (deleted,
    // or replaced by a version too recent to trust): an entry vouches only for the exact stat it names, so a stale
    // one is never wrong, and it goes with the next write.
    if (!this.learned && !this.attachedChanged) return;
    const entries: Record<string, PersistedEntry> = {};
    for (const [file, e] of this.entries) {
      if (!(e.fresh && e.trusted)) continue;
      entries[file] = [e.size, e.mtimeMs, e.ctimeMs, e.ino, e.sha256];
    }
    const attached = this.attachedRecord ? { attachedKey: this.attachedRecord.key, attached: this.attachedRecord.json } : {};
    const data: PersistedStatCache = { version: STAT_CACHE_VERSION, ...attached, entries };
    await writeFileAtomic(this.stateFile, JSON.stringify(data), { mkdir: true });
    this.attachedChanged = false;
  }
}

/**
 * Empties a persisted stat cache but keeps its attached record (`cache clean` of a package keeps
 * its last build, so a later miss can still be explained); removes the file when it has none.
 */
export function forgetStatCache(stateFile: string): void {
  let data: PersistedStatCache | null = null;
  try {
    data = JSON.parse(readFileSync(stateFile, 'utf8')) as PersistedStatCache;
  } catch {
    // none, or unreadable: removed below
  }
  if (data?.version === STAT_CACHE_VERSION && typeof data.attachedKey === 'string' && typeof data.attached === 'string') {
    writeFileAtomicSync(stateFile, JSON.stringify({ version: STAT_CACHE_VERSION, attachedKey: data.attachedKey, attached: data.attached, entries: {} } satisfies PersistedStatCache));
  } else {
    rmSync(stateFile, { force: true });
  }
}
