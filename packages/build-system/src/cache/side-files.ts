import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { readSnapshotHint, snapshotDir } from '../adapters/tsc-snapshot-hint.js';

/**
 * What a cache dir holds besides its entries, and how each is bounded. None
 * of it is an input of a key or an output anyone restores: removing any of it
 * costs at most one slower run, which writes it again.
 *
 * - `noop`: the no-op records (cache/noop), about 1 MB per record at 200
 *   packages, one per set of output-affecting options (and per build of
 *   build-system: an upgrade leaves the old one dead). Removed when not
 *   rewritten for the age limit, and beyond the newest NOOP_RECORDS_KEPT.
 * - `configs`: kept config evaluations (config/evaluation-cache.ts), a few
 *   hundred bytes each, one per config text ever evaluated. Removed when
 *   older than the age limit (then evaluated once again).
 * - `tsc-snapshot`: TypeScript 5 snapshots (adapters/tsc-snapshot.ts), ~40 MB
 *   each, one per TypeScript install and lib set; `last.json` names the one
 *   last used and each use touches its `<key>.json`. The last used one is
 *   kept within the age limit; any other goes after a day unused (with its
 *   `<key>.wanted`, the mark of a run that wanted it before it was built).
 * - In all three, temp files older than an hour (a writer that died) go.
 */

export type SideFileKind = 'noop-record' | 'config-evaluation' | 'tsc-snapshot';

export interface SideFilesInfo {
  noopRecords: { files: number; bytes: number };
  configEvaluations: { files: number; bytes: number };
  tscSnapshots: { files: number; bytes: number };
}

export interface RemovedSideFile {
  kind: SideFileKind;
  file: string;
  bytes: number;
  reason: 'age' | 'count' | 'unused' | 'leftover';
}

/** Records beyond this many (newest first) are removed whatever their age. */
export const NOOP_RECORDS_KEPT = 16;
/** A snapshot other than the last used one goes after this long unused. */
export const OTHER_SNAPSHOT_UNUSED_MS = 24 * 3600 * 1000;

interface Listed {
  name: string;
  file: string;
  bytes: number;
  mtimeMs: number;
}

function list(dir: string): Listed[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Listed[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const st = statSync(file, { throwIfNoEntry: false });
    if (st?.isFile()) out.push({ name, file, bytes: st.size, mtimeMs: st.mtimeMs });
  }
  return out;
}

const noopDir = (cacheDir: string) => path.join(cacheDir, 'v1', 'noop');
const configsDir = (cacheDir: string) => path.join(cacheDir, 'v1', 'configs');
const RECORD = /^([0-9a-f]+)\.json$/;
/** A record's companions: its results, the reads a partial run uses, its paths' content (cache/noop/record.ts). */
const RECORD_RESULTS = /^([0-9a-f]+)\.(?:results|reads|content)\.json$/;
const SNAPSHOT = /^([0-9a-f]+)\.(blob|json|wanted)$/;

const sum = (files: Listed[]) => ({ files: files.length, bytes: files.reduce((n, f) => n + f.bytes, 0) });

export function sideFilesInfo(cacheDir: string): SideFilesInfo {
  return { noopRecords: sum(list(noopDir(cacheDir))), configEvaluations: sum(list(configsDir(cacheDir))), tscSnapshots: sum(list(snapshotDir(cacheDir))) };
}

/** Removes what the rules above say is dead. Best effort: a file that cannot be removed stays and is not reported. */
/** `leftoverAgeMs`: how old a temp file must be to count as a dead writer's (the store's own rule for its tmp dir). */
export function pruneSideFiles(cacheDir: string, options: { now: number; maxAgeMs: number; leftoverAgeMs: number }): RemovedSideFile[] {
  const { now, maxAgeMs, leftoverAgeMs } = options;
  const removed: RemovedSideFile[] = [];
  const remove = (kind: SideFileKind, f: Listed, reason: RemovedSideFile['reason']) => {
    try {
      rmSync(f.file, { force: true });
      removed.push({ kind, file: f.file, bytes: f.bytes, reason });
    } catch {
      // still there: the next prune tries again
    }
  };
  const leftover = (f: Listed) => now - f.mtimeMs > leftoverAgeMs;

  // No-op records: a record, its results and its reads go together; the record's mtime is when it was last written.
  const noop = list(noopDir(cacheDir));
  const records = noop.filter((f) => RECORD.test(f.name)).sort((a, b) => b.mtimeMs - a.mtimeMs);
  const companions = new Map<string, Listed[]>();
  for (const f of noop) {
    const key = RECORD_RESULTS.exec(f.name)?.[1];
    if (key !== undefined) companions.set(key, [...(companions.get(key) ?? []), f]);
  }
  const liveKeys = new Set<string>();
  records.forEach((r, i) => {
    const key = RECORD.exec(r.name)![1]!;
    const reason = now - r.mtimeMs > maxAgeMs ? 'age' : i >= NOOP_RECORDS_KEPT ? 'count' : null;
    if (reason === null) {
      liveKeys.add(key);
      return;
    }
    // The record first: a replay that finds no record never reads the results.
    remove('noop-record', r, reason);
    for (const f of companions.get(key) ?? []) remove('noop-record', f, reason);
  });
  const recordKeys = new Set(records.map((r) => RECORD.exec(r.name)![1]!));
  for (const f of noop) {
    if (RECORD.test(f.name)) continue;
    const key = RECORD_RESULTS.exec(f.name)?.[1];
    // Results go with their record (above); without one, and temp files, once old enough not to be mid-write.
    if ((key === undefined || !recordKeys.has(key)) && leftover(f)) remove('noop-record', f, 'leftover');
  }

  for (const f of list(configsDir(cacheDir))) {
    if (!f.name.endsWith('.json')) {
      if (leftover(f)) remove('config-evaluation', f, 'leftover');
    } else if (now - f.mtimeMs > maxAgeMs) remove('config-evaluation', f, 'age');
  }

  const snapshots = list(snapshotDir(cacheDir));
  const lastKey = readSnapshotHint(cacheDir)?.key;
  const lastUse = new Map<string, number>();
  for (const f of snapshots) {
    const m = SNAPSHOT.exec(f.name);
    if (m?.[2] === 'json') lastUse.set(m[1]!, f.mtimeMs);
  }
  for (const f of snapshots) {
    if (f.name === 'last.json') continue;
    const m = SNAPSHOT.exec(f.name);
    if (!m) {
      if (leftover(f)) remove('tsc-snapshot', f, 'leftover');
      continue;
    }
    const key = m[1]!;
    // A blob without its .json is unusable (tsc-snapshot.ts checks the blob's size against it).
    const used = lastUse.get(key) ?? f.mtimeMs;
    const limit = key === lastKey ? maxAgeMs : Math.min(maxAgeMs, OTHER_SNAPSHOT_UNUSED_MS);
    if (now - used > limit) remove('tsc-snapshot', f, key === lastKey ? 'age' : 'unused');
  }
  return removed;
}
