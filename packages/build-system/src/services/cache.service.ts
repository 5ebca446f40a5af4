import { existsSync } from 'node:fs';
import path from 'node:path';
import { ReadLog } from '../util/read-log.js';
import { resolveCacheDir } from '../cache/package-cache.js';
import { LocalCacheStore, type PruneOptions, type PruneReport, type StoreInfo } from '../cache/store.js';
import { BuildSystemError } from '../errors.js';
import { findWorkspaceRoot } from '../workspace/package-info.js';

export interface CacheScopeOptions {
  /** Directory whose workspace's cache is meant (default process.cwd()). */
  cwd?: string;
  /** Explicit cache directory (CLI --cache-dir); default $BUILD_SYSTEM_CACHE_DIR, else the workspace's. */
  cacheDir?: string;
}

/** `cache prune` / `cache info` / `build:clean --cache`: the store of one workspace, for commands and the API. */
export class CacheService {
  store(options: CacheScopeOptions = {}): LocalCacheStore {
    const cwd = path.resolve(options.cwd ?? process.cwd());
    if (!existsSync(cwd)) throw new BuildSystemError('USAGE', `--cwd does not exist: ${cwd}`, { field: '--cwd' });
    return new LocalCacheStore(resolveCacheDir(findWorkspaceRoot(cwd, new ReadLog()), options.cacheDir));
  }

  /** Evicts by age, then least recently used down to the size cap (defaults: 30 days, 5 GiB). */
  async prune(options: CacheScopeOptions & Pick<PruneOptions, 'maxSizeBytes' | 'maxAgeMs'> = {}): Promise<PruneReport & { dir: string }> {
    const store = this.store(options);
    const report = await store.prune({ maxSizeBytes: options.maxSizeBytes, maxAgeMs: options.maxAgeMs });
    return { dir: store.dir, ...report };
  }

  info(options: CacheScopeOptions = {}): Promise<StoreInfo> {
    return this.store(options).info();
  }

  /** The entries one package wrote. */
  removePackage(pkgDir: string, options: CacheScopeOptions = {}): Promise<{ entries: number; bytes: number }> {
    return this.store({ ...options, cwd: options.cwd ?? pkgDir }).removePackage(pkgDir);
  }

  /** Everything in the cache directory. */
  clear(options: CacheScopeOptions = {}): Promise<{ entries: number; bytes: number }> {
    return this.store(options).clear();
  }
}
