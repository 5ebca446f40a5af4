import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nodeCrypto } from './lazy-crypto.js';

/** Directories writeFileAtomic has made (or found) in this process. */
const madeDirs = new Set<string>();

/**
 * Writes a file so readers see the old content or the new, never a torn one:
 * write to a uniquely named temp file beside it, then rename over. The name is
 * unique per call (not just per process) because one process builds several
 * packages at once and may write the same file concurrently.
 *
 * The calls are synchronous: every caller writes a small record (an index, a
 * stat cache, a last build, a lock owner), and for those the promise API's
 * cost per call (a FileHandle, a thread-pool round trip for each of open,
 * write, close and rename) was most of the main thread's time on a cold
 * 200-package build (research.md §8, session 10). The async signature stays,
 * so a caller's failure handling (a rejected promise) is unchanged.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: { mkdir?: boolean } = {}): Promise<void> {
  writeFileAtomicSync(file, data, opts);
}

/** writeFileAtomic for callers that want the write done before they go on; throws instead of rejecting. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, opts: { mkdir?: boolean } = {}): void {
  const dir = path.dirname(file);
  // mkdir -p once per directory and process (a run writes one record per package into the same few);
  // a directory removed since is made again when the write finds it missing.
  if (opts.mkdir && !madeDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const tmp = `${file}.${process.pid}.${nodeCrypto().randomBytes(6).toString('hex')}.tmp`;
  try {
    try {
      writeFileSync(tmp, data);
    } catch (e) {
      if (!opts.mkdir || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dir, { recursive: true });
      writeFileSync(tmp, data);
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
