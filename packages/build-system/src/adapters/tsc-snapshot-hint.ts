import { readFileSync } from 'node:fs';
import { rename, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a cache dir's TypeScript snapshots live, and the hint naming the one
 * its last run used. Its own small module: every run reads the hint before it
 * knows whether it will build declarations, and a run without one must not
 * load tsc-snapshot.ts (~15 ms) to find out.
 */

/** Where the snapshots of a cache dir (cache/cache-dir.ts) live: under the store's layout dir, so `cache clear` removes them. */
export function snapshotDir(cacheDir: string): string {
  return path.join(cacheDir, 'v1', 'tsc-snapshot');
}

/** The snapshot a workspace's last TypeScript 5 job ran from (or was built for): its key and the TypeScript it holds. */
export interface SnapshotHint {
  key: string;
  tsDir: string;
}

const HINT_FILE = 'last.json';

/** The cache dir's hint, if there is a well-formed one (it is checked against the blob before use). */
export function readSnapshotHint(cacheDir: string): SnapshotHint | undefined {
  try {
    const hint = JSON.parse(readFileSync(path.join(snapshotDir(cacheDir), HINT_FILE), 'utf8')) as Partial<SnapshotHint>;
    return typeof hint.key === 'string' && typeof hint.tsDir === 'string' ? { key: hint.key, tsDir: hint.tsDir } : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the hint in `dir` (a snapshot dir) atomically and marks the snapshot used; a hint that cannot be written only costs the next run its prewarm. */
export async function writeSnapshotHint(dir: string, hint: SnapshotHint): Promise<string | undefined> {
  const file = path.join(dir, HINT_FILE);
  const temp = `${file}.${process.pid}-${Date.now()}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(hint));
    await rename(temp, file);
    // The snapshot's last use, which `cache prune` goes by (cache/side-files.ts); gone already is fine.
    const now = new Date();
    await utimes(path.join(dir, `${hint.key}.json`), now, now).catch(() => {});
    return undefined;
  } catch (e) {
    await rm(temp, { force: true });
    return (e as Error).message;
  }
}
