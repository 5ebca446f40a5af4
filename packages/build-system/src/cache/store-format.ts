/**
 * What the local cache store keeps on disk, apart from how it moves it: the
 * layout version and limits, the manifest and its integrity hash, the last
 * build record, the lookup and prune report shapes, and the two safety rules
 * every read obeys (a restored file's mode, a blob only if it is a regular
 * file). The store that writes, reads and prunes entries is `store.ts`.
 */
import type { RemovedSideFile, SideFilesInfo } from './side-files.js';
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import type { BuilderName } from '../config/schema.js';
import type { Artifact, Diagnostic } from '../result/schema.js';
import { sha256 } from '../util/hash.js';
import type { RecordedReads } from './build-reads.js';
import { canonicalJson, type Fingerprint } from './fingerprint.js';

export const STORE_LAYOUT = 'v1';
export const MANIFEST_VERSION = 2;
/** Entries kept per fingerprint key in its index (distinct states of the files read outside the package). */
export const INDEX_LIMIT = 8;
export const DEFAULT_MAX_SIZE_BYTES = 5 * 1024 ** 3;
export const DEFAULT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/** Unfinished writes older than this are crash leftovers (a live write takes seconds). */
export const TMP_LEFTOVER_AGE_MS = 3600 * 1000;

export interface StoredArtifact extends Artifact {
  /** File mode bits (bins are executable). */
  mode: number;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface CacheManifest {
  manifestVersion: typeof MANIFEST_VERSION;
  /** entryKey(primaryKey, reads). */
  key: string;
  /** The fingerprint's key (fingerprintKey(fingerprint)): the index this entry is listed in. */
  primaryKey: string;
  createdAt: string;
  /** The package that wrote the entry (information only: the key holds no path). */
  package: { name: string; dir: string };
  /** outDir relative to the package; artifact paths start with it. */
  outDir: string;
  fingerprint: Fingerprint;
  /** What the build read outside the package's own files; a hit needs every one unchanged. */
  reads: RecordedReads;
  adapter: { name: BuilderName; version: string; reason: string };
  /** How long the original build took. */
  durationMs: number;
  artifacts: StoredArtifact[];
  /** Diagnostics of the original build (warnings), reported again on a hit. */
  diagnostics: Diagnostic[];
  /** Tool output of the original build, replayed on a hit. */
  logs: LogLine[];
  /**
   * sha256 of the JSON text of every other field as the file holds it (manifestText), or, in entries
   * written before, of their canonical JSON: a damaged manifest never reads as valid.
   */
  integrity: string;
}

export type ManifestDraft = Omit<CacheManifest, 'manifestVersion' | 'createdAt' | 'integrity'>;

/** A package's last build, as a miss is explained against it. */
export interface LastBuild {
  /** The entry key. */
  key: string;
  fingerprint: Fingerprint;
  reads: RecordedReads;
}

export class CacheCorruptError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`cache entry ${key.slice(0, 12)} is corrupt: ${problem}`);
    this.name = 'CacheCorruptError';
  }
}

/** A found entry. Nothing is written until `restore` is called. */
export interface CacheHit {
  manifest: CacheManifest;
  /** Writes every artifact below `outDirTarget` (a staging dir standing for outDir), verifying each sha256. Throws CacheCorruptError. */
  restore(outDirTarget: string): Promise<void>;
}

export type CacheLookup = { status: 'hit'; hit: CacheHit } | { status: 'absent' } | { status: 'corrupt'; problem: string };

/** The two operations a build needs from any store (local today; a remote one would implement the same). */
export interface CacheStore {
  get(key: string, options?: { touch?: boolean }): Promise<CacheLookup>;
  /** Stores an entry; `sourceOf` gives the file holding each artifact's bytes. `replace` overwrites an existing (corrupt) entry. */
  put(draft: ManifestDraft, sourceOf: (artifact: Artifact) => string, options?: { replace?: boolean }): Promise<{ bytes: number }>;
}

export interface PruneOptions {
  /** Keep at most this many bytes (default 5 GiB). */
  maxSizeBytes?: number;
  /** Remove entries not used for this long (default 30 days). */
  maxAgeMs?: number;
  now?: number;
}

export interface EntrySummary {
  key: string;
  bytes: number;
  lastUsed: number;
  /** Package name from the manifest (info only; null when not read or unreadable). */
  package: string | null;
  packageDir: string | null;
}

export interface PruneReport {
  removed: (EntrySummary & { reason: 'age' | 'size' | 'corrupt' })[];
  kept: number;
  bytes: number;
  /** What went of the cache dir's other files: no-op records, kept config evaluations, TypeScript snapshots (cache/side-files.ts). */
  removedOther: RemovedSideFile[];
}

export interface StoreInfo {
  dir: string;
  entries: number;
  bytes: number;
  oldestUse: string | null;
  newestUse: string | null;
  packages: { name: string; entries: number; bytes: number }[];
  /** The cache dir's other files (cache/side-files.ts); not counted in `bytes`, which is the entries' size the cap applies to. */
  other: SideFilesInfo;
}

export const NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

/**
 * Permission bits a restored file is created with: the recorded ones within
 * 0o777, never setuid/setgid/sticky, never world-writable. A cache entry
 * (local, or from a remote) decides whether a file is executable, and no
 * more. The umask applies on top as the file is created (restore always
 * creates, and never chmods, which would bypass the umask).
 */
export function restoredFileMode(recorded: number): number {
  return recorded & 0o777 & ~0o002;
}

/**
 * A blob's bytes, only if it is a regular file: a blob replaced by a symbolic
 * link (to /etc/passwd, say) or a fifo is refused, not followed or waited on
 * (O_NOFOLLOW where the platform has it, an lstat everywhere).
 */
export async function readBlobFile(file: string): Promise<Buffer> {
  const before = await lstat(file);
  blobCheck(before);
  const handle = await open(file, BLOB_OPEN_FLAGS);
  try {
    blobCheck(await handle.stat(), before);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * readBlobFile with synchronous calls, for a small blob: the promise API's lstat, open, fstat, read and close
 * are each a thread-pool round trip costing more main-thread time than the read (research.md §8, session 10).
 */
export function readBlobFileSync(file: string): Buffer {
  const before = lstatSync(file);
  blobCheck(before);
  const fd = openSync(file, BLOB_OPEN_FLAGS);
  try {
    blobCheck(fstatSync(fd), before);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

// O_NONBLOCK: should a fifo be swapped in after the lstat, open returns instead of waiting for a writer.
const BLOB_OPEN_FLAGS = fsConstants.O_RDONLY | NOFOLLOW | (fsConstants.O_NONBLOCK ?? 0);

/** A blob is a regular file, never a link; opened, it is the file the lstat saw. */
function blobCheck(st: Stats, before?: Stats): void {
  if (!before) {
    if (st.isSymbolicLink()) throw new Error('it is a symbolic link');
    if (!st.isFile()) throw new Error('it is not a regular file');
  } else if (!st.isFile() || st.ino !== before.ino || st.dev !== before.dev) throw new Error('it changed while it was opened');
}

export function isErrno(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

export function manifestIntegrity(m: Omit<CacheManifest, 'integrity'>): string {
  return sha256(canonicalJson(m));
}

const INTEGRITY_SUFFIX = /,"integrity":"([0-9a-f]{64})"\}$/;

/**
 * A manifest file's text: the JSON of everything but `integrity`, as JSON.stringify lays it out,
 * then `integrity`, the sha256 of exactly that JSON text, as the last key. A lookup checks the text
 * itself (manifestTextIntact) instead of making the parsed manifest canonical again, which was most
 * of its CPU (research.md §8, "8.u"). Not canonical JSON on purpose: a hit reports the stored
 * diagnostics, and their fields must come out in the order a fresh build printed them.
 */
export function manifestText(body: Omit<CacheManifest, 'integrity'>): string {
  const json = JSON.stringify(body);
  return `${json.slice(0, -1)},"integrity":"${sha256(json)}"}`;
}

/**
 * Whether `text` is a manifest as manifestText writes it, unchanged: the bytes before the
 * integrity key (closed) hash to it. False says nothing by itself: a manifest written before
 * (integrity over the canonical JSON, manifestIntegrity) is checked that way.
 */
export function manifestTextIntact(text: string): boolean {
  const m = INTEGRITY_SUFFIX.exec(text);
  return m !== null && sha256(`${text.slice(0, m.index)}}`) === m[1];
}

/** Id of a package in per-package files (last build, stat cache): its absolute directory, hashed. */
export function packageId(pkgDir: string): string {
  return sha256(path.resolve(pkgDir)).slice(0, 32);
}

