import { readdirSync, readFileSync, readlinkSync, statSync, utimesSync } from 'node:fs';
import { sha256 } from '../../util/hash.js';
import { envValueHash, expandDirs, joinPath, NOOP_RECORD_VERSION, RACY_WINDOW_MS, sameNames, type NoopRecord, type NoopResults } from './record.js';

/**
 * Checking a no-op record and the bookkeeping of replaying it: the CLI's fast
 * path (commands/build-replay.ts), so node:fs only. The record's format and
 * trust rules are in record.ts.
 */

function fileSha256(abs: string): string | null {
  try {
    return sha256(readFileSync(abs));
  } catch {
    return null;
  }
}

/**
 * The record under `key` when every path it observed is as recorded; null
 * otherwise. Never throws: a record that cannot be read or checked (a path
 * that became a file's child, a permission, a loop, a damaged record) only
 * means "build as usual".
 */
export function readValidRecord(file: string, key: string, env: NodeJS.ProcessEnv = process.env): NoopRecord | null {
  try {
    return checkRecord(file, key, env);
  } catch {
    return null;
  }
}

/** The absolute directories of a validated record, kept for touchManifests (1,600 paths at 200 packages, built once). */
const expandedDirs = new WeakMap<NoopRecord, string[]>();

function checkRecord(file: string, key: string, env: NodeJS.ProcessEnv): NoopRecord | null {
  let record: NoopRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as NoopRecord;
  } catch {
    return null;
  }
  if (typeof record !== 'object' || record === null || record.version !== NOOP_RECORD_VERSION || record.key !== key) return null;
  for (const [name, expected] of Object.entries(record.env)) if (envValueHash(name, env[name]) !== expected) return null;
  const racySince = record.writtenAt - RACY_WINDOW_MS;
  const ownNames = new Set(record.ownNames);
  const dirTable = expandDirs(record.dirTable);
  expandedDirs.set(record, dirTable);
  for (const [d, base, size, mtimeMs, ctimeMs, ino, sha] of record.files) {
    const p = joinPath(dirTable[d]!, base);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs || st.ctimeMs !== (ctimeMs === 0 ? mtimeMs : ctimeMs) || st.ino !== ino) return null;
    if (mtimeMs > racySince && (sha === 0 || fileSha256(p) !== sha)) return null;
  }
  for (const [d, mtimeMs, ino, names] of record.dirs) {
    const p = dirTable[d]!;
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || !st.isDirectory() || st.mtimeMs !== mtimeMs || st.ino !== ino) return null;
    if (mtimeMs > racySince) {
      if (names === 0) return null;
      let now: string[];
      try {
        now = readdirSync(p);
      } catch {
        return null;
      }
      if (!sameNames(now, names, ownNames)) return null;
    }
  }
  for (const [d, base] of record.absent) if (statSync(joinPath(dirTable[d]!, base), { throwIfNoEntry: false })) return null;
  for (const [d, base, target] of record.links) if (readlinkSync(joinPath(dirTable[d]!, base)) !== target) return null;
  for (const [d, base, size, ino] of record.manifests) {
    const st = statSync(joinPath(dirTable[d]!, base), { throwIfNoEntry: false });
    if (!st || st.size !== size || st.ino !== ino) return null;
  }
  return record;
}

/** The results that belong to `record` (same id), or null. Never throws. */
export function readRecordResults(file: string, record: NoopRecord): NoopResults | null {
  try {
    const results = JSON.parse(readFileSync(file, 'utf8')) as NoopResults;
    return typeof results === 'object' && results !== null && results.id === record.id ? results : null;
  } catch {
    return null;
  }
}

/** A replayed hit is a use of the entry, as a real hit's lookup records it (LRU eviction reads manifest mtimes). */
export function touchManifests(record: NoopRecord, replayed: ReadonlySet<string>): void {
  const now = new Date();
  // manifests[i] is the entry of built[i] (both in the recorded run's result order).
  const dirs = expandedDirs.get(record) ?? expandDirs(record.dirTable);
  record.manifests.forEach(([d, base], i) => {
    if (!replayed.has(record.built[i]!)) return;
    try {
      utimesSync(joinPath(dirs[d]!, base), now, now);
    } catch {
      // Only eviction order suffers.
    }
  });
}
