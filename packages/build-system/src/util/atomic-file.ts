import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Directories writeFileAtomic has made (or found) in this process. */
const madeDirs = new Set<string>();

/**
 * Writes a file so readers see the old content or the new, never a torn one:
 * write to a uniquely named temp file beside it, then rename over. The name is
 * unique per call (not just per process) because one process builds several
 * packages at once and may write the same file concurrently.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: { mkdir?: boolean } = {}): Promise<void> {
  const dir = path.dirname(file);
  // mkdir -p once per directory and process (a run writes one record per package into the same few);
  // a directory removed since is made again when the write finds it missing.
  if (opts.mkdir && !madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    try {
      await writeFile(tmp, data);
    } catch (e) {
      if (!opts.mkdir || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(dir, { recursive: true });
      await writeFile(tmp, data);
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
