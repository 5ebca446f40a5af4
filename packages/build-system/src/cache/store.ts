// Long because: one class, LocalCacheStore, whose write, read and prune paths share the crash-safe entry protocol (write in tmp, publish by one rename, verify on read) and the store-directory bookkeeping (knownDirs, inStoreDirs); the on-disk format and its types are in store-format.ts.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic-file.js';
import { closeSync, constants as fsConstants, copyFileSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../result/schema.js';
import { pruneSideFiles, sideFilesInfo } from './side-files.js';
import { forgetStatCache } from './file-hasher.js';
import { NOFOLLOW, CacheCorruptError, type CacheLookup, type CacheManifest, type CacheStore, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SIZE_BYTES, type EntrySummary, INDEX_LIMIT, isErrno, MANIFEST_VERSION, type ManifestDraft, manifestIntegrity, manifestText, manifestTextIntact, packageId, type PruneOptions, type PruneReport, readBlobFile, restoredFileMode, STORE_LAYOUT, type StoreInfo, TMP_LEFTOVER_AGE_MS } from './store-format.js';
export { CacheCorruptError, type CacheHit, type CacheLookup, type CacheManifest, type CacheStore, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SIZE_BYTES, type EntrySummary, type LastBuild, type LogLine, MANIFEST_VERSION, type ManifestDraft, packageId, type PruneOptions, type PruneReport, restoredFileMode, STORE_LAYOUT, type StoredArtifact, type StoreInfo } from './store-format.js';

/**
 * The local cache store.
 *
 * Layout under the cache directory (default
 * `<workspace root>/node_modules/.cache/build-system`):
 *
 *   v1/entries/<key>/manifest.json     what the build was and produced
 *   v1/entries/<key>/blobs/<sha256>    artifact bytes, named by their content
 *   v1/index/<fingerprint key>.json    entry keys built from that fingerprint, newest first
 *   v1/stats/<package id>.json         stat cache of each package, with its last build (fingerprint and
 *                                      reads, what a miss is explained against): file-hasher.ts
 *   v1/tmp/                            entries being written; crash leftovers
 *
 * An entry is written completely into v1/tmp and published with one rename
 * of its directory, so a reader sees a whole entry or none, and a crash leaves
 * only a tmp directory that the next prune removes. A directory in
 * entries/ without a valid manifest is corrupt (it cannot come from a crash),
 * found on lookup; so is a blob missing, of the wrong size or whose bytes do
 * not match its sha256, found when it is needed: every restore (and upload)
 * reads and checks each one. A lookup whose outDir already holds the entry's
 * files needs none, so it stats none (4,200 stats at 200 packages with
 * declarations, research.md §8.w). Corrupt entries are reported to the
 * caller, which rebuilds and overwrites them.
 *
 * Last use (for LRU eviction) is the manifest's mtime, touched on every hit.
 *
 * An entry's key is the fingerprint's key together with what the build read
 * outside the package's own files (build-reads.ts), which is only known once
 * it has run. So a lookup starts from the fingerprint key: its index lists
 * the entries built from it (one per distinct state of those other files,
 * e.g. two branches' root tsconfig), and the first whose recorded reads still
 * hold is the hit. An index is a hint: a lost update or an evicted entry only
 * costs a rebuild.
 */

/**
 * Store directories this process has made or checked: a run writes hundreds of
 * entries and checks each directory once, not once per entry. Should one
 * vanish meanwhile (`cache clean` from another shell, damage), the write that
 * trips over it checks it again and retries once (see `inStoreDirs`).
 */
const knownDirs = new Set<string>();

/** Blobs up to this size are copied synchronously into a new entry (see put). */
const SYNC_COPY_MAX_BYTES = 1024 * 1024;

export class LocalCacheStore implements CacheStore {
  readonly root: string;

  constructor(readonly dir: string) {
    this.root = path.join(dir, STORE_LAYOUT);
  }

  private entryDir(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.root, 'entries', key);
  }

  /** An entry's manifest file (the no-op record watches it; see cache/noop/record.ts). */
  manifestFile(key: string): string {
    return path.join(this.entryDir(key), 'manifest.json');
  }

  statCacheFile(pkgDir: string): string {
    return path.join(this.root, 'stats', `${packageId(pkgDir)}.json`);
  }

  /** Where an entry keeps one artifact's bytes (the remote cache packs uploads from here; the caller verifies the sha256). */
  blobFile(key: string, sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.entryDir(key), 'blobs', sha256);
  }

  async get(key: string, options: { touch?: boolean } = {}): Promise<CacheLookup> {
    let lookup: CacheLookup = { status: 'absent' };
    // An entry another process is replacing or evicting can look damaged for a moment: look again, real damage stays.
    for (let attempt = 0; attempt < 5; attempt++) {
      const look = this.lookOnce(key, options);
      lookup = look.lookup;
      if (lookup.status !== 'corrupt' || look.stable) break;
    }
    return lookup;
  }

  /**
   * One look at an entry; `stable` is false when the entry changed while we looked (so a problem may be a race).
   * Synchronous, like the other small reads on a run's hot paths: a manifest of a few KB and a stat per blob
   * cost ~3× the CPU through fs/promises here (research.md §5, "No record at all"), and a no-op run without
   * a record looks up every package.
   */
  private lookOnce(key: string, options: { touch?: boolean }): { lookup: CacheLookup; stable: boolean } {
    const dir = this.entryDir(key);
    const manifestFile = path.join(dir, 'manifest.json');
    const identity = () => {
      const st = statSync(manifestFile, { throwIfNoEntry: false });
      return st ? `${st.ino}:${st.ctimeMs}:${st.size}` : null;
    };
    let text: string;
    let seen: string | null;
    try {
      const fd = openSync(manifestFile, 'r');
      try {
        const st = fstatSync(fd);
        seen = `${st.ino}:${st.ctimeMs}:${st.size}`;
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if (!isErrno(e, 'ENOENT', 'ENOTDIR')) return { lookup: { status: 'corrupt', problem: `manifest unreadable (${(e as Error).message})` }, stable: true };
      const dirIdentity = () => {
        let st;
        try {
          st = statSync(dir, { throwIfNoEntry: false });
        } catch {
          return null; // ENOTDIR
        }
        return st ? `${st.ino}:${st.ctimeMs}` : null;
      };
      const before = dirIdentity();
      if (before === null) return { lookup: { status: 'absent' }, stable: true };
      // Published entries always hold a manifest. Missing while the same directory stays in place is damage;
      // anything else is another process replacing the entry as we looked.
      const stable = identity() === null && dirIdentity() === before;
      return { lookup: { status: 'corrupt', problem: 'manifest missing' }, stable };
    }
    const corrupt = (problem: string) => ({ lookup: { status: 'corrupt' as const, problem }, stable: identity() === seen });
    let manifest: CacheManifest;
    try {
      manifest = JSON.parse(text) as CacheManifest;
    } catch {
      return corrupt('manifest is not valid JSON');
    }
    const problem = this.checkEntry(key, manifest, manifestTextIntact(text));
    if (problem) return corrupt(problem);
    // Last use for LRU eviction; failing to touch it only makes eviction less fair.
    if (options.touch !== false) this.touchSync(key);
    return { lookup: { status: 'hit', hit: { manifest, restore: (target) => this.restore(key, dir, manifest, target) } }, stable: true };
  }

  /**
   * Cheap checks (no blob is looked at: see the module comment): manifest integrity, key and artifact list.
   * `textIntact`: the file's text was checked against its integrity already (manifestTextIntact).
   */
  private checkEntry(key: string, manifest: CacheManifest, textIntact: boolean): string | null {
    if (typeof manifest !== 'object' || manifest === null || manifest.manifestVersion !== MANIFEST_VERSION) return 'manifest version unknown';
    if (!textIntact) {
      // Not as manifestText writes it: damaged, or an entry from before, whose integrity is over the
      // canonical JSON (a damaged new one cannot pass this: its text is not the canonical JSON it hashed).
      const { integrity, ...rest } = manifest;
      if (integrity !== manifestIntegrity(rest)) return 'manifest checksum mismatch';
    }
    if (manifest.key !== key) return 'manifest belongs to another key';
    if (!Array.isArray(manifest.artifacts)) return 'manifest has no artifact list';
    return null;
  }

  /** One artifact's bytes from an entry, never through a link (the remote cache packs uploads from here; the caller verifies the sha256). */
  async readBlob(key: string, sha256: string): Promise<Buffer> {
    return readBlobFile(this.blobFile(key, sha256));
  }

  private async restore(key: string, dir: string, manifest: CacheManifest, target: string): Promise<void> {
    const prefix = `${manifest.outDir}/`;
    for (const a of manifest.artifacts) {
      if (!a.path.startsWith(prefix) || a.path.split('/').includes('..')) throw new CacheCorruptError(key, `artifact path ${a.path} is outside outDir`);
      let data: Buffer;
      try {
        data = await readBlobFile(path.join(dir, 'blobs', a.sha256));
      } catch (e) {
        throw new CacheCorruptError(key, `blob of ${a.path} unreadable (${(e as Error).message})`);
      }
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== a.sha256) throw new CacheCorruptError(key, `blob of ${a.path} does not match its sha256`);
      const dest = path.join(target, ...a.path.slice(prefix.length).split('/'));
      await mkdir(path.dirname(dest), { recursive: true });
      // The staging dir is fresh and ours: O_EXCL makes every file a new one (so the umask applies to its mode),
      // and O_NOFOLLOW refuses to write through anything planted in it all the same.
      const handle = await open(dest, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | NOFOLLOW, restoredFileMode(a.mode));
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    }
  }

  /** Returns the entry's size on disk (blobs + manifest). */
  async put(draft: ManifestDraft, sourceOf: (artifact: Artifact) => string, options: { replace?: boolean } = {}): Promise<{ bytes: number }> {
    const finalDir = this.entryDir(draft.key);
    const tmpRoot = path.join(this.root, 'tmp');
    // The entry's directories, small blobs and manifest are written with synchronous calls: per package on a
    // miss they were a dozen promise-API calls, each a thread-pool round trip costing more main-thread time
    // than the write itself (research.md §8, session 10). Large blobs still copy through the thread pool.
    const tmp = await this.inStoreDirs([tmpRoot, path.join(this.root, 'entries')], async () => mkdtempSync(path.join(tmpRoot, `entry-${draft.key.slice(0, 12)}-`)));
    let published = false;
    try {
      mkdirSync(path.join(tmp, 'blobs'));
      const written = new Set<string>();
      let bytes = 0;
      for (const a of draft.artifacts) {
        if (written.has(a.sha256)) continue;
        written.add(a.sha256);
        bytes += a.bytes;
        // COPYFILE_FICLONE: a reflink where the filesystem can, a plain copy elsewhere.
        const blob = path.join(tmp, 'blobs', a.sha256);
        if (a.bytes <= SYNC_COPY_MAX_BYTES) copyFileSync(sourceOf(a), blob, fsConstants.COPYFILE_FICLONE);
        else await copyFile(sourceOf(a), blob, fsConstants.COPYFILE_FICLONE);
      }
      const body: Omit<CacheManifest, 'integrity'> = { manifestVersion: MANIFEST_VERSION, createdAt: new Date().toISOString(), ...draft };
      const text = manifestText(body);
      writeFileSync(path.join(tmp, 'manifest.json'), text);
      published = await this.inStoreDirs([path.join(this.root, 'entries')], () => this.publish(tmp, finalDir, options.replace === true, draft.key));
      await this.addToIndex(draft.primaryKey, draft.key);
      return { bytes: bytes + Buffer.byteLength(text) };
    } finally {
      // Renamed into place, tmp is gone; otherwise (a failure, or another process's valid entry kept) it is removed.
      if (!published) await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Makes sure `dirs` (the store's own) exist, once per process, then runs
   * `fn`, which writes below them. When `fn` finds one missing or not a
   * directory (removed since this process checked it), every one is checked
   * again and `fn` runs once more.
   */
  private async inStoreDirs<T>(dirs: readonly string[], fn: () => Promise<T>): Promise<T> {
    for (const d of dirs) await this.ensureDir(d);
    try {
      return await fn();
    } catch (e) {
      if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
      knownDirs.clear();
      for (const d of dirs) await this.ensureDir(d);
      return fn();
    }
  }

  /**
   * Moves a finished entry into place. When another process published the
   * same key first, its entry is kept if valid (same key, same inputs: either
   * is right) and replaced if not; `replace` forces replacing. True when
   * `tmp` was moved into place (false: the other entry was kept, tmp is left).
   */
  private async publish(tmp: string, finalDir: string, replace: boolean, key: string): Promise<boolean> {
    // Each round either publishes, finds a valid entry by someone else, or removes a damaged one; only
    // processes replacing the same key over and over could keep this going, so the bound is generous.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        renameSync(tmp, finalDir);
        return true;
      } catch (e) {
        if (!isErrno(e, 'ENOTEMPTY', 'EEXIST', 'EPERM')) throw e;
      }
      if (!replace) {
        const existing = await this.get(key);
        // Kept only whole: a lookup does not look at blobs, a writer choosing between two entries does.
        if (existing.status === 'hit' && blobsPresent(finalDir, existing.hit.manifest)) return false;
        if (existing.status === 'absent') continue;
      }
      await this.removeDir(finalDir);
      replace = false;
    }
    throw new Error(`could not publish cache entry ${key}: another process keeps replacing it`);
  }

  /** Removes a directory by renaming it into tmp first, so nobody sees it half deleted. */
  private async removeDir(dir: string): Promise<void> {
    const trash = path.join(this.root, 'tmp', `trash-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(path.dirname(trash), { recursive: true });
      await rename(dir, trash);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    await rm(trash, { recursive: true, force: true });
  }

  /**
   * mkdir -p of one of the store's own directories. Anything else standing
   * where the store keeps a directory (a file named `entries`, left by damage
   * or by hand) is removed first: it is the store's own, and leaving it would
   * turn every later write into an error.
   */
  private async ensureDir(dir: string): Promise<void> {
    if (knownDirs.has(dir)) return;
    for (const p of [this.root, dir]) {
      const st = await lstat(p).catch(() => null);
      if (st && !st.isDirectory()) await rm(p, { force: true, recursive: true });
    }
    await mkdir(dir, { recursive: true });
    knownDirs.add(dir);
  }

  /** Marks an entry as used now (LRU eviction reads the manifest's mtime); failing only makes eviction less fair. */
  async touch(key: string): Promise<void> {
    this.touchSync(key);
  }

  private touchSync(key: string): void {
    const now = new Date();
    try {
      utimesSync(this.manifestFile(key), now, now);
    } catch {
      // only makes eviction less fair
    }
  }

  private indexFile(primaryKey: string): string {
    if (!/^[0-9a-f]{64}$/.test(primaryKey)) throw new Error(`not a fingerprint key: ${primaryKey}`);
    return path.join(this.root, 'index', `${primaryKey}.json`);
  }

  /** The entry keys built from one fingerprint, newest first (empty when none, or the index is unreadable). */
  async candidates(primaryKey: string): Promise<string[]> {
    try {
      const data = JSON.parse(readFileSync(this.indexFile(primaryKey), 'utf8')) as { keys?: unknown };
      return Array.isArray(data.keys) ? data.keys.filter((k): k is string => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)) : [];
    } catch {
      return [];
    }
  }

  /** Puts `key` first in its fingerprint's index (read, change, atomic write: a concurrent update may be lost, costing a rebuild). */
  async addToIndex(primaryKey: string, key: string): Promise<void> {
    const known = await this.candidates(primaryKey);
    if (known[0] === key) return;
    const keys = [key, ...known.filter((k) => k !== key)].slice(0, INDEX_LIMIT);
    await this.inStoreDirs([path.join(this.root, 'index')], () => writeFileAtomic(this.indexFile(primaryKey), JSON.stringify({ keys })));
  }

  /** Every entry with its size and last use; reads manifests only when `withPackages`. */
  async list(options: { withPackages?: boolean } = {}): Promise<(EntrySummary & { corrupt: boolean })[]> {
    let keys: string[];
    try {
      keys = await readdir(path.join(this.root, 'entries'));
    } catch {
      return [];
    }
    const out: (EntrySummary & { corrupt: boolean })[] = [];
    for (const key of keys) {
      if (!/^[0-9a-f]{64}$/.test(key)) continue;
      const dir = path.join(this.root, 'entries', key);
      let bytes = 0;
      let lastUsed: number;
      let corrupt = false;
      try {
        const st = await stat(path.join(dir, 'manifest.json'));
        bytes += st.size;
        lastUsed = st.mtimeMs;
      } catch {
        corrupt = true;
        lastUsed = (await stat(dir).catch(() => null))?.mtimeMs ?? 0;
      }
      for (const blob of await readdir(path.join(dir, 'blobs')).catch(() => [] as string[])) {
        bytes += (await stat(path.join(dir, 'blobs', blob)).catch(() => null))?.size ?? 0;
      }
      let pkg: string | null = null;
      let pkgDir: string | null = null;
      if (options.withPackages && !corrupt) {
        try {
          const m = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as CacheManifest;
          pkg = m.package?.name ?? null;
          pkgDir = m.package?.dir ?? null;
        } catch {
          corrupt = true;
        }
      }
      out.push({ key, bytes, lastUsed, package: pkg, packageDir: pkgDir, corrupt });
    }
    return out;
  }

  /**
   * Evicts: crash leftovers in tmp, corrupt entries, entries unused for
   * maxAge, then least recently used entries until the rest fits maxSize.
   */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    const now = options.now ?? Date.now();
    const maxSize = options.maxSizeBytes ?? DEFAULT_MAX_SIZE_BYTES;
    const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    await this.removeTmpLeftovers(now);
    const entries = (await this.list()).sort((a, b) => a.lastUsed - b.lastUsed);
    const removed: PruneReport['removed'] = [];
    const kept: typeof entries = [];
    const evict = ({ corrupt: _corrupt, ...e }: (typeof entries)[number], reason: 'age' | 'size' | 'corrupt') => removed.push({ ...e, reason });
    for (const e of entries) {
      if (e.corrupt) evict(e, 'corrupt');
      else if (now - e.lastUsed > maxAge) evict(e, 'age');
      else kept.push(e);
    }
    let total = kept.reduce((n, e) => n + e.bytes, 0);
    while (total > maxSize && kept.length > 0) {
      const oldest = kept.shift()!;
      total -= oldest.bytes;
      evict(oldest, 'size');
    }
    for (const e of removed) await this.removeDir(path.join(this.root, 'entries', e.key));
    await this.removeStaleIndexes(now, maxAge);
    // Before stat cache version 2 each package's last build had a file here; nothing reads them now.
    await rm(path.join(this.root, 'last'), { recursive: true, force: true });
    const removedOther = pruneSideFiles(this.dir, { now, maxAgeMs: maxAge, leftoverAgeMs: TMP_LEFTOVER_AGE_MS });
    return { removed, kept: kept.length, bytes: total, removedOther };
  }

  /** Index files not rewritten for maxAge list only entries that age eviction has removed by now. */
  private async removeStaleIndexes(now: number, maxAge: number): Promise<void> {
    const dir = path.join(this.root, 'index');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const p = path.join(dir, name);
      const st = await stat(p).catch(() => null);
      if (st && now - st.mtimeMs > maxAge) await rm(p, { force: true });
    }
  }

  private async removeTmpLeftovers(now: number): Promise<void> {
    const tmpRoot = path.join(this.root, 'tmp');
    for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
      const p = path.join(tmpRoot, name);
      const st = await stat(p).catch(() => null);
      if (st && now - st.mtimeMs > TMP_LEFTOVER_AGE_MS) await rm(p, { recursive: true, force: true });
    }
  }

  async info(): Promise<StoreInfo> {
    const entries = await this.list({ withPackages: true });
    const byPackage = new Map<string, { name: string; entries: number; bytes: number }>();
    for (const e of entries) {
      const name = e.package ?? '(unreadable)';
      const p = byPackage.get(name) ?? { name, entries: 0, bytes: 0 };
      p.entries++;
      p.bytes += e.bytes;
      byPackage.set(name, p);
    }
    const uses = entries.map((e) => e.lastUsed).sort((a, b) => a - b);
    return {
      dir: this.dir,
      entries: entries.length,
      bytes: entries.reduce((n, e) => n + e.bytes, 0),
      oldestUse: uses.length ? new Date(uses[0]!).toISOString() : null,
      newestUse: uses.length ? new Date(uses[uses.length - 1]!).toISOString() : null,
      packages: [...byPackage.values()].sort((a, b) => a.name.localeCompare(b.name)),
      other: sideFilesInfo(this.dir),
    };
  }

  /** Removes the entries a package wrote (and its stat cache); keeps its last-build record (in the same file) so a later miss can still be explained. */
  async removePackage(pkgDir: string): Promise<{ entries: number; bytes: number }> {
    const abs = path.resolve(pkgDir);
    let count = 0;
    let bytes = 0;
    for (const e of await this.list({ withPackages: true })) {
      if (e.packageDir !== abs) continue;
      await this.removeDir(path.join(this.root, 'entries', e.key));
      count++;
      bytes += e.bytes;
    }
    forgetStatCache(this.statCacheFile(abs));
    return { entries: count, bytes };
  }

  /** Removes everything build-system keeps in this cache directory. */
  async clear(): Promise<{ entries: number; bytes: number }> {
    const entries = await this.list();
    const bytes = entries.reduce((n, e) => n + e.bytes, 0);
    const trash = path.join(this.dir, `.trash-${randomBytes(6).toString('hex')}`);
    knownDirs.clear();
    try {
      await rename(this.root, trash);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return { entries: 0, bytes: 0 };
      throw e;
    }
    await rm(trash, { recursive: true, force: true });
    return { entries: entries.length, bytes };
  }
}

/** Every blob of the entry in `dir` is there with its size (the bytes are checked when it is restored). */
function blobsPresent(dir: string, manifest: CacheManifest): boolean {
  return manifest.artifacts.every((a) => {
    try {
      return statSync(path.join(dir, 'blobs', a.sha256), { throwIfNoEntry: false })?.size === a.bytes;
    } catch {
      return false;
    }
  });
}
