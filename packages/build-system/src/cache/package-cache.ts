import { readFile, stat } from 'node:fs/promises';
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-file.js';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Stats } from 'node:fs';
import type { Artifact, CacheChange } from '../result/schema.js';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { RecordedReads } from './build-reads.js';
import { changedReads } from './changed-reads.js';
import { explainMiss } from './explain.js';
import type { OutputLogsMode } from './output-logs.js';
import { FileHasher } from './file-hasher.js';
import { computeFingerprint, fingerprintKey, type Fingerprint, type FingerprintInput } from './fingerprint.js';
import { DEFAULT_MAX_AGE_MS, DEFAULT_MAX_SIZE_BYTES, LocalCacheStore, type CacheHit, type CacheLookup, type CacheManifest, type LastBuild, type ManifestDraft, type PruneOptions } from './store.js';

/**
 * What the build service needs from the cache for one package build, in
 * the order it needs it: a fingerprint, a lookup (the entries built from it
 * whose recorded reads still hold), "does outDir already hold this entry?",
 * an explanation for a miss, storing a new entry, and recording the build as
 * the package's last one. Keeps the service free of cache details.
 */

/** A package's fingerprint before its build: the first half of its cache key (see build-reads.ts). */
export interface KeyState {
  /** fingerprintKey(fingerprint): the index an entry is looked up in. */
  primaryKey: string;
  fingerprint: Fingerprint;
  /** The fingerprint's input files and the stat each was hashed at (checked again after the build). */
  inputFiles: Map<string, Stats>;
  /** The package's directories the fingerprint's walk listed. */
  inputDirs: readonly string[];
}

/** The outcome of a lookup: a usable entry, a damaged one, or nothing usable. */
export type CacheFind = { status: 'hit'; hit: CacheHit } | { status: 'corrupt'; key: string; problem: string } | { status: 'absent' };

export { OUTPUT_LOGS_MODES, type OutputLogsMode } from './output-logs.js';

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

  private readonly prefetched = new Map<string, CacheLookup>();

  static async open(pkg: PackageInfo, options: CacheOptions, reads: ReadLog): Promise<PackageCache> {
    const store = new LocalCacheStore(resolveCacheDir(pkg.workspaceRoot, options.cacheDir));
    const hasher = await FileHasher.open(reads, store.statCacheFile(pkg.dir));
    return new PackageCache(pkg, store, hasher, !options.force, options.cacheLimits);
  }

  async fingerprint(input: Omit<FingerprintInput, 'pkg' | 'hasher' | 'excludeDirs'>): Promise<KeyState> {
    const { fingerprint, key, inputFiles, inputDirs } = await computeFingerprint({ ...input, pkg: this.pkg, hasher: this.hasher, excludeDirs: [this.store.dir] });
    return { primaryKey: key, fingerprint, inputFiles, inputDirs };
  }

  /** `touch: false` leaves the entry's last-use time alone (a dry run must not change eviction order). */
  lookup(key: string, options: { touch?: boolean } = {}): Promise<CacheLookup> {
    return this.store.get(key, options);
  }

  /**
   * The entry for this fingerprint whose recorded reads all still hold (the
   * newest first), or a damaged one found on the way (to be rebuilt and
   * replaced), or nothing. Reads are checked through the run's read log, so
   * a shared file is hashed once for every package that read it.
   */
  async find(primaryKey: string, options: { touch?: boolean } = {}): Promise<CacheFind> {
    let corrupt: CacheFind | null = null;
    for (const key of await this.store.candidates(primaryKey)) {
      const lookup = this.prefetched.get(key) ?? (await this.store.get(key, { touch: false }));
      this.prefetched.delete(key);
      if (lookup.status === 'absent') continue;
      if (lookup.status === 'corrupt') {
        corrupt ??= { status: 'corrupt', key, problem: lookup.problem };
        continue;
      }
      const { manifest } = lookup.hit;
      if (manifest.primaryKey !== primaryKey) continue;
      if ((await changedReads(manifest.reads, this.pkg, this.hasher, true)).length > 0) continue;
      if (options.touch !== false) await this.store.touch(key);
      return { status: 'hit', hit: lookup.hit };
    }
    return corrupt ?? { status: 'absent' };
  }

  /**
   * Reads a fingerprint's entries ahead of find() (services/keys-ahead.ts), which takes the intact ones
   * from here: a manifest describes the same build whenever it is read; find() checks its reads.
   */
  async prefetch(primaryKey: string): Promise<void> {
    for (const key of await this.store.candidates(primaryKey)) {
      const lookup = await this.store.get(key, { touch: false });
      if (lookup.status === 'hit') this.prefetched.set(key, lookup);
    }
  }

  /**
   * Does outDir already hold exactly the entry's files? Sizes first, then the
   * stat cache; a file is read only when its stat is unknown ("in doubt").
   * With `clean: false` a build keeps older files, so extra files are allowed.
   */
  async outDirHolds(manifest: CacheManifest, config: ResolvedConfig): Promise<boolean> {
    if (!config.emit) return true; // type-check only (emit: false): no files, outDir untouched
    const outDirAbs = path.resolve(this.pkg.dir, config.outDir);
    const present = listFiles(outDirAbs);
    if (present === null) return false;
    const expected = new Map(manifest.artifacts.map((a) => [a.path, a]));
    if (config.clean && present.length !== expected.size) return false;
    const found = new Set(present.map((rel) => `${config.outDir}/${rel}`));
    for (const p of expected.keys()) if (!found.has(p)) return false;
    for (const a of expected.values()) {
      const abs = path.join(this.pkg.dir, ...a.path.split('/'));
      const st = statSync(abs, { throwIfNoEntry: false }) ?? null;
      if (!st || !st.isFile() || st.size !== a.bytes) return false;
      const { sha256 } = await this.hasher.hash(abs, st);
      if (sha256 !== a.sha256) return false;
    }
    return true;
  }

  /**
   * Why `current` missed: compared with the package's last build — its
   * fingerprint, or when that is unchanged, which of the files it read
   * outside the package changed since. `workspacePackages` (name → dir) name
   * the packages those files belong to.
   */
  async explain(current: KeyState, workspacePackages: ReadonlyMap<string, string> = new Map()): Promise<CacheChange[]> {
    const last = parseLastBuild(this.hasher.attached?.json);
    const lastPrimary = last ? fingerprintKey(last.fingerprint) : null;
    const changed = last && lastPrimary === current.primaryKey ? await changedReads(last.reads, this.pkg, this.hasher) : [];
    return explainMiss(last, { primaryKey: current.primaryKey, fingerprint: current.fingerprint }, changed, { pkgDir: this.pkg.dir, workspacePackages });
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
    const state = usageState(file);
    // One change at a time per file in this process: a prune and the estimate it resets stay together.
    const turn = state.queue.then(async () => {
      const now = Date.now();
      const usage = state.usage === undefined ? await readUsage(file) : state.usage;
      if (!usage || usage.bytes + addedBytes > maxSizeBytes || now - usage.prunedAt > Math.min(FULL_PRUNE_INTERVAL_MS, maxAgeMs)) {
        const report = await this.store.prune({ maxSizeBytes, maxAgeMs, now });
        state.usage = { bytes: report.bytes, prunedAt: now };
      } else {
        state.usage = { bytes: usage.bytes + addedBytes, prunedAt: usage.prunedAt };
      }
      scheduleUsageWrite(file, state);
    });
    state.queue = turn.catch(() => {});
    await turn;
  }

  /** After a swap: the new outDir files' hashes are known, so the next run's outDir check needs no reads. */
  async rememberOutputs(outDir: string, artifacts: readonly Artifact[]): Promise<void> {
    this.hasher.forgetBelow(path.resolve(this.pkg.dir, outDir));
    for (const a of artifacts) {
      const abs = path.join(this.pkg.dir, ...a.path.split('/'));
      // statSync: one tiny call per artifact after every miss, where the promise API's per-call cost is most of the work.
      const st = statSync(abs, { throwIfNoEntry: false });
      if (st && st.size === a.bytes) this.hasher.remember(abs, st, a.sha256);
    }
  }

  /**
   * Ends a build that left outDir matching `current` (null: outDir unchanged): it becomes the
   * package's last build, and the stat cache is saved. Returns a problem as text instead of
   * throwing: the outputs are published by now, and bookkeeping must not turn that into a failure.
   */
  async finish(current: LastBuild | null): Promise<string | null> {
    try {
      // The last build travels in the stat cache's file: one file written per package build instead of two
      // (each file created costs more than its bytes on a cold build; research.md §8, session 15).
      if (current && this.hasher.attached?.key !== current.key) {
        this.hasher.attach({ key: current.key, json: JSON.stringify({ key: current.key, fingerprint: current.fingerprint, reads: current.reads, at: new Date().toISOString() }) });
      }
      await this.hasher.save();
      return null;
    } catch (e) {
      return `could not record the build in the cache: ${(e as Error).message}`;
    }
  }
}

// ---------------------------------------------------------------------------
// The usage estimate: read once per run and written once per run (plus at most
// every USAGE_WRITE_DELAY_MS while it runs), not read and rewritten after every
// entry. It is an estimate by design (see evictIfNeeded): a write lost to a
// crash, or to another process writing at the same time, only shifts when the
// next full prune runs, and the hourly full prune resets it.

interface Usage {
  bytes: number;
  prunedAt: number;
}

interface UsageState {
  /** undefined: not read yet in this process; null: none on disk (a full prune comes first). */
  usage: Usage | null | undefined;
  /** Changes to the estimate, one after the other. */
  queue: Promise<void>;
  timer: NodeJS.Timeout | null;
  writing: Promise<void> | null;
}

const USAGE_WRITE_DELAY_MS = 250;
const usageStates = new Map<string, UsageState>();

function usageState(file: string): UsageState {
  let state = usageStates.get(file);
  if (!state) {
    state = { usage: undefined, queue: Promise.resolve(), timer: null, writing: null };
    usageStates.set(file, state);
  }
  return state;
}

async function readUsage(file: string): Promise<Usage | null> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as { bytes?: unknown; prunedAt?: unknown };
    if (typeof data.bytes === 'number' && typeof data.prunedAt === 'number') return { bytes: data.bytes, prunedAt: data.prunedAt };
  } catch {
    // none yet, or unreadable: a full prune sets it
  }
  return null;
}

function scheduleUsageWrite(file: string, state: UsageState): void {
  if (state.timer) return;
  state.timer = setTimeout(() => void writeUsage(file, state), USAGE_WRITE_DELAY_MS);
  // Never what keeps a process alive: flushCacheUsage() writes it at the end of a run.
  state.timer.unref();
}

async function writeUsage(file: string, state: UsageState): Promise<void> {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
  await state.writing;
  const usage = state.usage;
  if (!usage) return;
  // A failed write costs only an earlier full prune next time.
  const writing = writeFileAtomic(file, JSON.stringify(usage), { mkdir: true }).catch(() => {});
  state.writing = writing;
  await writing;
  if (state.writing === writing) state.writing = null;
}

/**
 * Writes every pending usage estimate now; the workspace run calls this before it returns. The next
 * run reads the file again (another process, `cache clean` say, may have changed it meanwhile).
 */
export async function flushCacheUsage(): Promise<void> {
  await Promise.all(
    [...usageStates].map(async ([file, state]) => {
      await state.queue;
      if (state.timer) await writeUsage(file, state);
      else await state.writing;
      usageStates.delete(file);
    }),
  );
}

/** A last-build record as finish() writes it; null when missing or not one. */
function parseLastBuild(json: string | undefined): LastBuild | null {
  if (json === undefined) return null;
  try {
    const data = JSON.parse(json) as { key?: unknown; fingerprint?: unknown; reads?: unknown };
    if (typeof data.key !== 'string' || typeof data.fingerprint !== 'object' || data.fingerprint === null) return null;
    const reads = typeof data.reads === 'object' && data.reads !== null ? (data.reads as RecordedReads) : { files: {}, dirs: {}, manifests: {} };
    return { key: data.key, fingerprint: data.fingerprint as Fingerprint, reads };
  } catch {
    return null;
  }
}

/**
 * Every regular file below `dir` (posix, relative); null when `dir` is missing or not a directory. Symlinks
 * count as foreign files. Sync: a third of the CPU of fs/promises' (research.md §5, "No record at all").
 */
export function listFiles(dir: string): string[] | null {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st || !st.isDirectory()) return null;
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(abs, e.name), childRel);
      else out.push(e.isFile() ? childRel : `${childRel}\0not-a-file`);
    }
  };
  walk(dir, '');
  return out.map(toPosix);
}
