import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ReadLog } from '../util/read-log.js';
import { loadPackageConfig } from '../config/load.js';
import { resolveConfig } from '../config/resolve.js';
import { isBuildSystemError } from '../errors.js';
import type { BuildEventListener } from '../events.js';
import { acquirePackageLock } from '../lock.js';
import { removeLeftovers } from '../util/atomic-dir.js';
import { staysInside, toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { CacheService } from './cache.service.js';
import { selectPackages, type SelectOptions } from './workspace.service.js';

export interface CleanResult {
  name: string;
  dir: string;
  /** Paths removed, relative to the package. */
  removed: string[];
  /** With `cache: true`: the cache entries of this package that were removed. */
  cache?: { entries: number; bytes: number };
  error?: { code: string; message: string };
}

export interface CleanOptions extends SelectOptions {
  /** Also remove the package's cache entries (CLI `--cache`). */
  cache?: boolean;
  /** Cache directory (CLI `--cache-dir`); default $BUILD_SYSTEM_CACHE_DIR, else the workspace's. */
  cacheDir?: string;
  /** Receives `lock-wait` when a build holds a package's lock. */
  onEvent?: BuildEventListener;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** tsconfig's tsBuildInfoFile, read leniently (tsconfig allows comments and trailing commas). */
async function tsBuildInfoFromTsconfig(pkgDir: string): Promise<string | undefined> {
  try {
    const text = await readFile(path.join(pkgDir, 'tsconfig.json'), 'utf8');
    const m = /"tsBuildInfoFile"\s*:\s*"([^"]+)"/.exec(text);
    return m?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Removes what a build produced: outDir, tsbuildinfo files (without them tsc
 * would emit nothing into a fresh outDir) and crash leftovers. Every target is
 * checked to stay inside the package after symlinks are followed; `rm` does
 * not follow links inside the tree.
 */
export class CleanService {
  async cleanPackage(pkg: PackageInfo, onEvent?: BuildEventListener, reads: ReadLog = new ReadLog()): Promise<CleanResult> {
    const { config, file } = await loadPackageConfig(pkg, reads);
    const resolved = resolveConfig(pkg, config, file);
    // A type-check-only target (emit: false) never writes outDir: what is there is not ours to remove.
    const targets = resolved.emit ? [resolved.outDir] : [];
    for (const name of await readdir(pkg.dir)) if (name.endsWith('.tsbuildinfo')) targets.push(name);
    const fromTsconfig = await tsBuildInfoFromTsconfig(pkg.dir);
    if (fromTsconfig) targets.push(fromTsconfig);
    const removed: string[] = [];
    // Under the package lock: a build running now owns its staging dir and outDir;
    // cleaning beside it would delete the files it is about to publish.
    const lock = await acquirePackageLock(pkg, { command: 'build:clean', onWait: (message) => onEvent?.({ type: 'lock-wait', package: pkg.name, message }) });
    try {
      await removeLeftovers(pkg.dir, resolved.outDir);
      for (const rel of [...new Set(targets)]) {
        const abs = path.resolve(pkg.dir, rel);
        if (abs === pkg.dir || !staysInside(pkg.dir, abs)) continue;
        if (!(await exists(abs))) continue;
        await rm(abs, { recursive: true, force: true });
        removed.push(toPosix(path.relative(pkg.dir, abs)));
      }
    } finally {
      await lock.release();
    }
    return { name: pkg.name, dir: pkg.dir, removed };
  }

  async clean(options: CleanOptions = {}): Promise<CleanResult[]> {
    const { packages } = selectPackages({ ...options, withDependencies: false });
    const results: CleanResult[] = [];
    for (const pkg of packages) {
      try {
        const result = await this.cleanPackage(pkg, options.onEvent);
        if (options.cache) result.cache = await new CacheService().removePackage(pkg.dir, { cacheDir: options.cacheDir });
        results.push(result);
      } catch (e) {
        if (!isBuildSystemError(e)) throw e;
        results.push({ name: pkg.name, dir: pkg.dir, removed: [], error: { code: e.code, message: e.lines().join('; ') } });
      }
    }
    return results;
  }
}
