// Long because: one class, LocalCacheStore, whose write, read and prune paths share the crash-safe entry protocol (write in tmp, publish by one rename, verify on read), the shared blobs' sweep and the store-directory bookkeeping (knownDirs, inStoreDirs); the on-disk format and its types are in store-format.ts.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic-file.js';
import { closeSync, constants as fsConstants, copyFileSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../result/schema.js';
import { pruneSideFiles, sideFilesInfo } from './side-files.js';
import { forgetStatCache } from './file-hasher.js';
import { NOFOLLOW, CacheCorruptError, type CacheLookup, type CacheManifest, type CacheStore, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SIZE_BYTES, type EntrySummary, INDEX_LIMIT, isErrno, MANIFEST_VERSION, type ManifestDraft, manifestIntegrity, manifestText, manifestTextIntact, packageId, type PruneOptions, type PruneReport, readBlobFile, readBlobFileSync, restoredFileMode, STORE_LAYOUT, type StoreInfo, TMP_LEFTOVER_AGE_MS } from './store-format.js';
export { CacheCorruptError, type CacheHit, type CacheLookup, type CacheManifest, type CacheStore, DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SIZE_BYTES, type EntrySummary, type LastBuild, type LogLine, MANIFEST_VERSION, type ManifestDraft, packageId, type PruneOptions, type PruneReport, restoredFileMode, STORE_LAYOUT, type StoredArtifact, type StoreInfo } from './store-format.js';

/**
 * The local cache store.
 *
 * Layout under the cache directory (default
 * `<workspace root>/node_modules/.cache/build-system`):
 *
 *   v1/entries/<key>.json              an entry: what the build was and produced (its manifest)
 *   v1/blobs/<sha256>                  artifact bytes, named by their content, shared by every entry
 *                                      that produced the same bytes
 *   v1/index/<fingerprint key>.json    entry keys built from that fingerprint, newest first
 *   v1/stats/<package id>.json         stat cache of each package, with its last build (fingerprint and
 *                                      reads, what a miss is explained against): file-hasher.ts
 *   v1/tmp/                            files being written; crash leftovers
 *
 * Two files per entry and no directory: each file created costs far more than
 * its bytes where a miss writes hundreds of them (research.md §8.r: on this
 * machine's ext4 each new inode is a scan past the recently deleted ones).
 * Blobs are written first, each into v1/tmp and renamed into blobs/; the
 * manifest last, the same way. So a reader sees a whole entry or none, and a
 * crash leaves tmp files or unreferenced blobs, which prune removes. A
 * manifest that does not parse or check is corrupt, found on lookup; a blob
 * missing, of the wrong size or whose bytes do not match its sha256 is found
 * when it is needed: every restore (and upload) reads and checks each one. A
 * lookup whose outDir already holds the entry's files needs none, so it stats
 * none (4,200 stats at 200 packages with declarations, research.md §8.w).
 * Corrupt entries are reported to the caller, which rebuilds and overwrites
 * them, blobs included.
 *
 * A blob is shared: a writer that finds the bytes it needs already there
 * (same name, same size) touches the blob instead of writing it, and prune
 * removes a blob only when no manifest names it and it has not been touched
 * for TMP_LEFTOVER_AGE_MS (a writer between its blobs and its manifest is
 * seconds old). A directory in entries/ is an entry of the layout before
 * (manifest and blobs in one directory per entry): never read, pruned as
 * corrupt.
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

/** A blob's name. */
const SHA256 = /^[0-9a-f]{64}$/;

/** What makes this process's tmp names unique: its own random id and a counter (tmpFile). */
const tmpNames = { id: randomBytes(4).toString('hex'), seq: 0 };

/** Blobs up to this size are copied synchronously into a new entry (see put). */
const SYNC_COPY_MAX_BYTES = 1024 * 1024;

export class LocalCacheStore implements CacheStore {
  readonly root: string;

  constructor(readonly dir: string) {
    this.root = path.join(dir, STORE_LAYOUT);
  }

  /** An entry's manifest file: the entry itself (the no-op record watches it; see cache/noop/record.ts). */
  manifestFile(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`not a cache key: ${key}`);
    return path.join(this.root, 'entries', `${key}.json`);
  }

  statCacheFile(pkgDir: string): string {
    return path.join(this.root, 'stats', `${packageId(pkgDir)}.json`);
  }

  /** Where the store keeps the bytes whose sha256 this is, for every entry that produced them. */
  blobFile(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, 'blobs', sha256);
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
    const manifestFile = this.manifestFile(key);
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
      // No manifest, no entry: it is published last, in one rename.
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return { lookup: { status: 'absent' }, stable: true };
      return { lookup: { status: 'corrupt', problem: `manifest unreadable (${(e as Error).message})` }, stable: true };
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
    return { lookup: { status: 'hit', hit: { manifest, restore: (target) => this.restore(key, manifest, target) } }, stable: true };
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

  /** One artifact's bytes, never through a link (the remote cache packs uploads from here; the caller, holding `key`'s manifest, verifies the sha256). */
  async readBlob(_key: string, sha256: string): Promise<Buffer> {
    return readBlobFile(this.blobFile(sha256));
  }

  private async restore(key: string, manifest: CacheManifest, target: string): Promise<void> {
    const prefix = `${manifest.outDir}/`;
    const made = new Set<string>();
    for (const a of manifest.artifacts) {
      if (!a.path.startsWith(prefix) || a.path.split('/').includes('..')) throw new CacheCorruptError(key, `artifact path ${a.path} is outside outDir`);
      // Small blobs through synchronous calls, as put() writes them; large ones through the thread pool.
      const small = a.bytes <= SYNC_COPY_MAX_BYTES;
      let data: Buffer;
      try {
        data = small ? readBlobFileSync(this.blobFile(a.sha256)) : await readBlobFile(this.blobFile(a.sha256));
      } catch (e) {
        throw new CacheCorruptError(key, `blob of ${a.path} unreadable (${(e as Error).message})`);
      }
      const actual = createHash('sha256').update(data).digest('hex');
      if (actual !== a.sha256) throw new CacheCorruptError(key, `blob of ${a.path} does not match its sha256`);
      const dest = path.join(target, ...a.path.slice(prefix.length).split('/'));
      const dir = path.dirname(dest);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      // The staging dir is fresh and ours: O_EXCL makes every file a new one (so the umask applies to its mode),
      // and O_NOFOLLOW refuses to write through anything planted in it all the same.
      const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | NOFOLLOW;
      if (small) {
        const fd = openSync(dest, flags, restoredFileMode(a.mode));
        try {
          writeFileSync(fd, data);
        } finally {
          closeSync(fd);
        }
        continue;
      }
      const handle = await open(dest, flags, restoredFileMode(a.mode));
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    }
  }

  /** Returns the entry's size on disk (its blobs + manifest; a blob shared with other entries counts in each). */
  async put(draft: ManifestDraft, sourceOf: (artifact: Artifact) => string, options: { replace?: boolean } = {}): Promise<{ bytes: number }> {
    const replace = options.replace === true;
    const blobsDir = path.join(this.root, 'blobs');
    // Small blobs and the manifest are written with synchronous calls: per package on a miss they were a
    // dozen promise-API calls, each a thread-pool round trip costing more main-thread time than the write
    // itself (research.md §8, session 10). Large blobs still copy through the thread pool.
    const written = new Set<string>();
    let bytes = 0;
    for (const a of draft.artifacts) {
      if (written.has(a.sha256)) continue;
      written.add(a.sha256);
      bytes += a.bytes;
      await this.inStoreDirs([this.tmpRoot, blobsDir], () => this.putBlob(a, sourceOf(a), replace));
    }
    const body: Omit<CacheManifest, 'integrity'> = { manifestVersion: MANIFEST_VERSION, createdAt: new Date().toISOString(), ...draft };
    const text = manifestText(body);
    await this.inStoreDirs([this.tmpRoot, path.join(this.root, 'entries')], async () => {
      const tmp = this.tmpFile(`entry-${draft.key.slice(0, 12)}`);
      let published = false;
      try {
        writeFileSync(tmp, text, { flag: 'wx' });
        if (!replace && (await this.keepsPublished(draft.key))) return;
        // A rename over a file replaces it in one step: a reader holds the old manifest or the new.
        renameSync(tmp, this.manifestFile(draft.key));
        published = true;
      } finally {
        // Renamed into place, tmp is gone; otherwise (a failure, or another process's valid entry kept) it is removed.
        if (!published) rmSync(tmp, { force: true });
      }
    });
    await this.addToIndex(draft.primaryKey, draft.key);
    return { bytes: bytes + Buffer.byteLength(text) };
  }

  private get tmpRoot(): string {
    return path.join(this.root, 'tmp');
  }

  /** A new name in tmp, unique to this call (one process writes several entries at once). */
  private tmpFile(prefix: string): string {
    tmpNames.seq++;
    return path.join(this.tmpRoot, `${prefix}-${process.pid}-${tmpNames.id}-${tmpNames.seq}`);
  }

  /**
   * Makes blobs/<sha256> hold the artifact's bytes. Bytes already there under their name and size (another
   * entry produced them) are kept and touched, which tells prune they are in use; `replace` (a corrupt entry
   * being rewritten, possibly because of this very blob) writes them anew.
   */
  private async putBlob(a: Artifact, source: string, replace: boolean): Promise<void> {
    const file = this.blobFile(a.sha256);
    if (!replace) {
      const st = lstatSync(file, { throwIfNoEntry: false });
      if (st?.isFile() && st.size === a.bytes) {
        const now = new Date();
        try {
          utimesSync(file, now, now);
          return;
        } catch {
          // removed meanwhile: written below
        }
      }
    }
    const tmp = this.tmpFile('blob');
    try {
      // COPYFILE_FICLONE: a reflink where the filesystem can, a plain copy elsewhere.
      const flags = fsConstants.COPYFILE_FICLONE | fsConstants.COPYFILE_EXCL;
      if (a.bytes <= SYNC_COPY_MAX_BYTES) copyFileSync(source, tmp, flags);
      else await copyFile(source, tmp, flags);
      // Over a damaged blob of the same name too (replace): in one step, as for a manifest.
      renameSync(tmp, file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Whether another process published `key` first and its entry is whole, so it is kept (same key, same
   * inputs: either is right). A damaged one is replaced.
   */
  private async keepsPublished(key: string): Promise<boolean> {
    const existing = await this.get(key);
    // Kept only whole: a lookup does not look at blobs, a writer choosing between two entries does.
    return existing.status === 'hit' && this.blobsPresent(existing.hit.manifest);
  }

  /** Every blob of `manifest` is there with its size (the bytes are checked when it is restored). */
  private blobsPresent(manifest: CacheManifest): boolean {
    return manifest.artifacts.every((a) => {
      try {
        return statSync(this.blobFile(a.sha256), { throwIfNoEntry: false })?.size === a.bytes;
      } catch {
        return false;
      }
    });
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

  /** Every entry with its size and last use (`withPackages`: with the package that wrote it). */
  async list(options: { withPackages?: boolean } = {}): Promise<(EntrySummary & { corrupt: boolean })[]> {
    return (await this.scan()).map(({ blobs: _blobs, name: _name, ...e }) => (options.withPackages ? e : { ...e, package: null, packageDir: null }));
  }

  /**
   * Reads every manifest: an entry's size is its manifest's and its blobs' (named in it), and prune
   * needs every blob a kept entry names. A manifest that does not parse, and a directory (an entry of
   * the layout before), are corrupt.
   */
  private async scan(): Promise<(EntrySummary & { corrupt: boolean; blobs: string[]; name: string })[]> {
    const entriesDir = path.join(this.root, 'entries');
    let names: string[];
    try {
      names = await readdir(entriesDir);
    } catch {
      return [];
    }
    const out: (EntrySummary & { corrupt: boolean; blobs: string[]; name: string })[] = [];
    for (const name of names) {
      const key = /^([0-9a-f]{64})(?:\.json)?$/.exec(name)?.[1];
      if (!key) continue;
      const file = path.join(entriesDir, name);
      const st = await lstat(file).catch(() => null);
      if (!st) continue;
      const entry = { key, name, bytes: 0, lastUsed: st.mtimeMs, package: null as string | null, packageDir: null as string | null, corrupt: true, blobs: [] as string[] };
      if (st.isFile() && name.endsWith('.json')) {
        entry.bytes = st.size;
        try {
          const text = await readFile(file, 'utf8');
          const m = JSON.parse(text) as CacheManifest;
          // Checked as a lookup checks it, and every blob it names a sha256: what prune keeps and what
          // clean removes by name come from here.
          if (this.checkEntry(key, m, manifestTextIntact(text)) === null && m.artifacts.every((a) => SHA256.test(a?.sha256) && Number.isSafeInteger(a.bytes))) {
            const blobs = new Map(m.artifacts.map((a) => [a.sha256, a.bytes]));
            for (const bytes of blobs.values()) entry.bytes += bytes;
            Object.assign(entry, { package: m.package?.name ?? null, packageDir: m.package?.dir ?? null, corrupt: false, blobs: [...blobs.keys()] });
          }
        } catch {
          // corrupt
        }
      } else if (st.isDirectory()) {
        entry.bytes = await layoutBeforeBytes(file);
      }
      out.push(entry);
    }
    return out;
  }

  /** Removes an entry: its manifest (blobs no entry names are prune's), or whatever else stands there (a directory of the layout before). */
  private async removeEntry(name: string): Promise<void> {
    const file = path.join(this.root, 'entries', name);
    if (lstatSync(file, { throwIfNoEntry: false })?.isDirectory()) await this.removeDir(file);
    else rmSync(file, { force: true });
  }

  /**
   * Evicts: crash leftovers in tmp, corrupt entries, entries unused for
   * maxAge, then least recently used entries until the rest fits maxSize;
   * then the blobs no remaining entry names.
   */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    const now = options.now ?? Date.now();
    const maxSize = options.maxSizeBytes ?? DEFAULT_MAX_SIZE_BYTES;
    const maxAge = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    await this.removeTmpLeftovers(now);
    const entries = (await this.scan()).sort((a, b) => a.lastUsed - b.lastUsed);
    const removed: PruneReport['removed'] = [];
    const kept: typeof entries = [];
    const evict = ({ corrupt: _corrupt, blobs: _blobs, name, ...e }: (typeof entries)[number], reason: 'age' | 'size' | 'corrupt') => {
      removed.push({ ...e, package: null, packageDir: null, reason });
      return name;
    };
    const removedNames: string[] = [];
    for (const e of entries) {
      if (e.corrupt) removedNames.push(evict(e, 'corrupt'));
      else if (now - e.lastUsed > maxAge) removedNames.push(evict(e, 'age'));
      else kept.push(e);
    }
    let total = kept.reduce((n, e) => n + e.bytes, 0);
    while (total > maxSize && kept.length > 0) {
      const oldest = kept.shift()!;
      total -= oldest.bytes;
      removedNames.push(evict(oldest, 'size'));
    }
    for (const name of removedNames) await this.removeEntry(name);
    await this.removeUnnamedBlobs(new Set(kept.flatMap((e) => e.blobs)), now);
    await this.removeStaleIndexes(now, maxAge);
    // Before stat cache version 2 each package's last build had a file here; nothing reads them now.
    await rm(path.join(this.root, 'last'), { recursive: true, force: true });
    const removedOther = pruneSideFiles(this.dir, { now, maxAgeMs: maxAge, leftoverAgeMs: TMP_LEFTOVER_AGE_MS });
    return { removed, kept: kept.length, bytes: total, removedOther };
  }

  /**
   * Blobs no kept entry names, once untouched for TMP_LEFTOVER_AGE_MS: a writer touches or writes its
   * blobs before it publishes the manifest naming them, seconds before, so a blob this scan did not see
   * named may be one an entry being written needs.
   */
  private async removeUnnamedBlobs(named: ReadonlySet<string>, now: number): Promise<void> {
    const dir = path.join(this.root, 'blobs');
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (named.has(name)) continue;
      const p = path.join(dir, name);
      const st = await lstat(p).catch(() => null);
      if (st && now - st.mtimeMs > TMP_LEFTOVER_AGE_MS) await rm(p, { recursive: true, force: true });
    }
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

  /**
   * Removes the entries a package wrote, their blobs no other entry names, and its stat cache; keeps its
   * last-build record (in the same file) so a later miss can still be explained. A writer that has just
   * found one of those blobs for an entry it has not published yet loses it: that entry reads as corrupt
   * when restored, and is rebuilt.
   */
  async removePackage(pkgDir: string): Promise<{ entries: number; bytes: number }> {
    const abs = path.resolve(pkgDir);
    let count = 0;
    let bytes = 0;
    const theirs = new Set<string>();
    const others = new Set<string>();
    for (const e of await this.scan()) {
      if (e.packageDir !== abs) {
        for (const b of e.blobs) others.add(b);
        continue;
      }
      await this.removeEntry(e.name);
      for (const b of e.blobs) theirs.add(b);
      count++;
      bytes += e.bytes;
    }
    for (const b of theirs) if (!others.has(b)) rmSync(this.blobFile(b), { force: true });
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

/** The size of an entry directory of the layout before (manifest.json and blobs/<sha256>), which prune removes. */
async function layoutBeforeBytes(dir: string): Promise<number> {
  let bytes = (await lstat(path.join(dir, 'manifest.json')).catch(() => null))?.size ?? 0;
  for (const blob of await readdir(path.join(dir, 'blobs')).catch(() => [] as string[])) {
    bytes += (await lstat(path.join(dir, 'blobs', blob)).catch(() => null))?.size ?? 0;
  }
  return bytes;
}
