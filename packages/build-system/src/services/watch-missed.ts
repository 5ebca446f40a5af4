import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ReadLog } from '../util/read-log.js';

/**
 * The paths that changed between a round's reads and the watches set up after it.
 *
 * A directory is watched only once a round has read it, so an edit made between the read and the
 * watch (during round 0, or in a directory a round read for the first time) raised no event. The
 * log holds the state each file had when it was read: whatever differs now is a change. A listed
 * directory whose entries came or went yields those entries (the watch drops its own: lock,
 * staging, outDir), and a path looked for and absent that exists now yields that path.
 */
export function missedChanges(seen: ReturnType<ReadLog['observations']>): string[] {
  const changed: string[] = [];
  for (const [file, was] of seen.files) {
    const now = statSync(file, { throwIfNoEntry: false });
    if (!now || now.size !== was.size || now.mtimeMs !== was.mtimeMs || now.ino !== was.ino) changed.push(file);
  }
  for (const [dir, was] of seen.dirs) {
    if (!was.names) continue;
    const now = statSync(dir, { throwIfNoEntry: false });
    if (!now || now.ino !== was.ino) changed.push(dir);
    else if (now.mtimeMs !== was.mtimeMs) {
      let names: Set<string>;
      try {
        names = new Set(readdirSync(dir));
      } catch {
        changed.push(dir);
        continue;
      }
      const before = new Set(was.names);
      for (const name of names) if (!before.has(name)) changed.push(path.join(dir, name));
      for (const name of before) if (!names.has(name)) changed.push(path.join(dir, name));
    }
  }
  // Looked for and absent (a new package's package.json, a config name not taken): there now, it appeared before its
  // directory was watched (a round started by the new directory itself, before its files were written).
  for (const file of seen.absent) if (statSync(file, { throwIfNoEntry: false })) changed.push(file);
  return changed;
}
