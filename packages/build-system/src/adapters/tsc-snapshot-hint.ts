import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Where a workspace's TypeScript snapshots live, and the hint naming the one
 * its last run used. Its own small module: every run reads the hint before it
 * knows whether it will build declarations, and a run without one must not
 * load tsc-snapshot.ts (~15 ms) to find out.
 */

/** Where a workspace's snapshots live: its cache dir (cache/cache-dir.ts's rule without --cache-dir, which adapters do not see), under the store's layout dir so `cache clear` removes them. */
export function snapshotDir(workspaceRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.BUILD_SYSTEM_CACHE_DIR || undefined;
  const cacheDir = chosen ? path.resolve(chosen) : path.join(workspaceRoot, 'node_modules', '.cache', 'build-system');
  return path.join(cacheDir, 'v1', 'tsc-snapshot');
}

/** The snapshot a workspace's last declarations job ran from (or was built for): its key and the TypeScript it holds. */
export interface SnapshotHint {
  key: string;
  tsDir: string;
}

const HINT_FILE = 'last.json';

/** The workspace's hint, if there is a well-formed one (it is checked against the blob before use). */
export function readSnapshotHint(workspaceRoot: string): SnapshotHint | undefined {
  try {
    const hint = JSON.parse(readFileSync(path.join(snapshotDir(workspaceRoot), HINT_FILE), 'utf8')) as Partial<SnapshotHint>;
    return typeof hint.key === 'string' && typeof hint.tsDir === 'string' ? { key: hint.key, tsDir: hint.tsDir } : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the hint in `dir` (a snapshot dir) atomically; a hint that cannot be written only costs the next run its prewarm. */
export async function writeSnapshotHint(dir: string, hint: SnapshotHint): Promise<string | undefined> {
  const file = path.join(dir, HINT_FILE);
  const temp = `${file}.${process.pid}-${Date.now()}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(hint));
    await rename(temp, file);
    return undefined;
  } catch (e) {
    await rm(temp, { force: true });
    return (e as Error).message;
  }
}
