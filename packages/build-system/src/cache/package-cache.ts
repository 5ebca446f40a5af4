import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic-file.js';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Artifact, CacheChange } from '../result/schema.js';
import { toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { explainMiss } from './explain.js';
import { FileHasher } from './file-hasher.js';
import { computeFingerprint, type Fingerprint, type FingerprintInput } from './fingerprint.js';
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SIZE_BYTES, LocalCacheStore, type CacheLookup, type CacheManifest, type ManifestDraft, type PruneOptions } from './store.js';

/**
 * What the build service needs from the cache for one package build, in
 * the order it needs it: a key, a lookup, "does outDir already hold this
 * entry?", an explanation for a miss, storing a new entry, and recording the
 * build as the package's last one. Keeps the service free of cache details.
 */

export const OUTPUT_LOGS_MODES = ['full', 'errors-only', 'none'] as const;
export type OutputLogsMode = (typeof OUTPUT_LOGS_MODES)[number];


export interface CacheOptions {
  /** Do not read the cache (always build), but still write the result. CLI `--force`. */
  force?: boolean;
  /** Neither read nor write the cache. CLI `--no-cache`. */
  noCache?: boolean;
  /** Cache directory. Default: $BUILD_SYSTEM_CACHE_DIR, else <workspace root>/node_modules/.cache/build-system. */
  cacheDir?: string;
  /** Tool output: all of it (default), only for failed builds, or none; applies to live and replayed logs. */
  outputLogs?: OutputLogsMode;
  /** Eviction after each cache write (default 5 GiB, 30 days). */
  cacheLimits?: Pick<PruneOptions, 'maxSizeBytes' | 'maxAgeMs'>;
}

// In its own module so the CLI's no-op replay finds the cache without loading the cache code.
export { CACHE_DIR_ENV, resolveCacheDir } from './cache-dir.js';
import { resolveCacheDir } from './cache-dir.js';

/** Age eviction needs a full scan; after a write one runs at least this often. */
const FULL_PRUNE_INTERVAL_MS = 3600 * 1000;

export class PackageCache {
  private constructor(
    readonly pkg: PackageInfo,
    readonly store: LocalCacheStore,
    readonly hasher: FileHasher,
    readonly read: boolean,
    private readonly limits: CacheOptions['cacheLimits'],
  ) {}

  static async open(pkg: PackageInfo, options: CacheOptions): Promise<PackageCache> {
    const store = new LocalCacheStore(resolveCacheDir(pkg.workspaceRoot, options.cacheDir));
    const hasher = await FileHasher.open(store.statCacheFile(pkg.dir));
    return new PackageCache(pkg, store, hasher, !options.force, options.cacheLimits);
  }

  fingerprint(input: Omit<FingerprintInput, 'pkg' | 'hasher' | 'excludeDirs'>): Promise<{ fingerprint: Fingerprint; key: string }> {
    return computeFingerprint({ ...input, pkg: this.pkg, hasher: this.hasher, excludeDirs: [this.store.dir] });
  }

  /** `touch: false` leaves the entry's last-use time alone (a dry run must not change eviction order). */
  lookup(key: string, options: { touch?: boolean } = {}): Promise<CacheLookup> {
    return this.store.get(key, options);
  }

  /**
   * Does outDir already hold exactly the entry's files? Sizes first, then the
   * stat cache; a file is read only when its stat is unknown ("in doubt").
   * With `clean: false` a build keeps older files, so extra files are allowed.
   */
  async outDirHolds(manifest: CacheManifest, config: ResolvedConfig): Promise<boolean> {
    const outDirAbs = path.resolve(this.pkg.dir, config.outDir);
    const present = await listFiles(outDirAbs);
    if (present === null) return false;
    const expected = new Map(manifest.artifacts.map((a) => [a.path, a]));
    if (config.clean && present.length !== expected.size) return false;
    const found = new Set(present.map((rel) => `${config.outDir}/${rel}`));
    for (const p of expected.keys()) if (!found.has(p)) return false;
    for (const a of expected.values()) {
      const abs = path.join(this.pkg.dir, ...a.path.split('/'));
      const st = await stat(abs).catch(() => null);
      if (!st || !st.isFile() || st.size !== a.bytes) return false;
      const { sha256 } = await this.hasher.hash(abs, st);
      if (sha256 !== a.sha256) return false;
    }
    return true;
  }

  /** Why `current` missed: compared with the package's last build. */
  async explain(current: { key: string; fingerprint: Fingerprint }): Promise<CacheChange[]> {
    return explainMiss(await this.store.readLast(this.pkg.dir), current);
  }

  /**
   * Stores a successful build. Artifact bytes are copied from the staging
   * directory (before the swap: nobody else writes there). Returns problems
   * as text: a cache that cannot be written must not fail the build.
   */
  async save(draft: ManifestDraft, stagingDir: string, options: { replace?: boolean } = {}): Promise<string | null> {
    const prefix = `${draft.outDir}/`;
    let bytes: number;
    try {
      ({ bytes } = await this.store.put(draft, (a: Artifact) => path.join(stagingDir, ...a.path.slice(prefix.length).split('/')), options));
    } catch (e) {
      return `could not write the cache entry: ${(e as Error).message}`;
    }
    try {
      await this.evictIfNeeded(bytes);
    } catch (e) {
      return `cache eviction failed: ${(e as Error).message}`;
    }
    return null;
  }

  /**
   * Bounds the cache without listing it after every write: a small usage
   * file keeps an estimate of its size (updated without a lock, so it can
   * drift; every full prune resets it). A full prune runs when the estimate
   * passes the size cap or the last one is older than an hour.
   */
  private async evictIfNeeded(addedBytes: number): Promise<void> {
    const maxSizeBytes = this.limits?.maxSizeBytes ?? DEFAULT_MAX_SIZE_BYTES;
    const maxAgeMs = this.limits?.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    const file = path.join(this.store.root, 'usage.json');
    const now = Date.now();
    let usage: { bytes: number; prunedAt: number } | null = null;
    try {
      const data = JSON.parse(await readFile(file, 'utf8')) as { bytes?: unknown; prunedAt?: unknown };
      if (typeof data.bytes === 'number' && typeof data.prunedAt === 'number') usage = { bytes: data.bytes, prunedAt: data.prunedAt };
    } catch {
      usage = null;
    }
    let next: { bytes: number; prunedAt: number };
    if (!usage || usage.bytes + addedBytes > maxSizeBytes || now - usage.prunedAt > Math.min(FULL_PRUNE_INTERVAL_MS, maxAgeMs)) {
      const report = await this.store.prune({ maxSizeBytes, maxAgeMs, now });
      next = { bytes: report.bytes, prunedAt: now };
    } else {
      next = { bytes: usage.bytes + addedBytes, prunedAt: usage.prunedAt };
    }
    await writeFileAtomic(file, JSON.stringify(next), { mkdir: true });
  }

  /** After a swap: the new outDir files' hashes are known, so the next run's outDir check needs no reads. */
  async rememberOutputs(outDir: string, artifacts: readonly Artifact[]): Promise<void> {
    this.hasher.forgetBelow(path.resolve(this.pkg.dir, outDir));
    for (const a of artifacts) {
      const abs = path.join(this.pkg.dir, ...a.path.split('/'));
      const st = await stat(abs).catch(() => null);
      if (st && st.size === a.bytes) this.hasher.remember(abs, st, a.sha256);
    }
  }

  /**
   * Ends a build that left outDir matching `current` (null: outDir unchanged): it becomes the
   * package's last build, and the stat cache is saved. Returns a problem as text instead of
   * throwing: the outputs are published by now, and bookkeeping must not turn that into a failure.
   */
  async finish(current: { key: string; fingerprint: Fingerprint } | null): Promise<string | null> {
    try {
      if (current && (await this.store.readLastKey(this.pkg.dir)) !== current.key) await this.store.writeLast(this.pkg.dir, current);
      await this.hasher.save();
      return null;
    } catch (e) {
      return `could not record the build in the cache: ${(e as Error).message}`;
    }
  }
}

/** Every regular file below `dir` (posix, relative); null when `dir` is missing or not a directory. Symlinks count as foreign files. */
async function listFiles(dir: string): Promise<string[] | null> {
  const st = await lstat(dir).catch(() => null);
  if (!st || !st.isDirectory()) return null;
  const out: string[] = [];
  const walk = async (abs: string, rel: string) => {
    for (const e of await readdir(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(path.join(abs, e.name), childRel);
      else out.push(e.isFile() ? childRel : `${childRel}\0not-a-file`);
    }
  };
  await walk(dir, '');
  return out.map(toPosix);
}
