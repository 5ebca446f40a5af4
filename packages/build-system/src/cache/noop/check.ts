import { readdirSync, readFileSync, readlinkSync, utimesSync } from 'node:fs';
import { writeFileAtomicSync } from '../../util/atomic-file.js';
import { statFields, type StatFields } from '../../util/fast-stat.js';
import { envValueHash, expandDirs, fileSha256, joinPath, NEWEST_FIRST, NOOP_RECORD_VERSION, RACY_WINDOW_MS, sameNames, type NoopContent, type NoopReads, type NoopRecord, type NoopResults } from './record.js';
import { contentFallback, ownOnlyChanged, recordContent, type VerifiedPaths } from './content.js';

/**
 * Checking a no-op record and the bookkeeping of replaying it: the CLI's fast
 * path (commands/build-replay.ts), so node:fs only. The record's format and
 * trust rules are in record.ts.
 */

/**
 * The record under `key` when every path it observed is as recorded; null
 * otherwise. Never throws: a record that cannot be read or checked (a path
 * that became a file's child, a permission, a loop, a damaged record) only
 * means "build as usual".
 */
export function readValidRecord(file: string, key: string, env: NodeJS.ProcessEnv = process.env): NoopRecord | null {
  try {
    return checkRecord(file, key, env, null);
  } catch {
    return null;
  }
}

/** What changed since a record was written: the paths its check found different (absolute), and the packages whose cache entry manifest did. */
export interface RecordDelta {
  changed: string[];
  changedEntries: string[];
  /**
   * Paths whose stat changed but whose content (a file's bytes; a directory's real path and names) is as
   * recorded, with their stat now: written anew with the same bytes (a fresh checkout, `npm ci`, a
   * restored cache). Not changes; the record the run writes takes these stats, so the next check trusts
   * them by stat again. Filled by the check's content fallback (content.ts).
   */
  verified?: VerifiedPaths;
}

/**
 * More changed paths than this: a checkout, an install, a generator; the partial run would check most
 * packages anyway. Not lower: every outDir removed at 200 packages is 400 changed paths (outDir and
 * its file), which the partial run answers by restoring them from the recorded entries (services/partial-restore.ts).
 */
export const DELTA_LIMIT = 4096;

/**
 * The record under `key`, checked in full: `delta` receives every path that
 * differs (at most DELTA_LIMIT) instead of the check stopping at the first.
 * Null when the record cannot answer even that: missing, another key or
 * version, a declared env var or a symlink target that changed, too many
 * changes. An empty delta means the record is valid (replayable) as it is.
 * Never throws. What the CLI checks first: when something changed, the delta
 * is what a partial run starts from (services/partial-run.ts), and the walk
 * over every path costs no more than the check of a valid record.
 */
export function readRecordDelta(file: string, key: string, delta: RecordDelta, env: NodeJS.ProcessEnv = process.env): NoopRecord | null {
  try {
    return checkRecord(file, key, env, delta);
  } catch {
    return null;
  }
}

const sameLengths = (columns: unknown[][]): boolean => columns.every((c) => Array.isArray(c) && c.length === columns[0]!.length);

/** The absolute directories of a validated record, kept for touchManifests (1,600 paths at 200 packages, built once). */
const expandedDirs = new WeakMap<NoopRecord, string[]>();
/** The manifests' mtimes (last use) as the check saw them, in record order, for touchManifests. */
const manifestUses = new WeakMap<NoopRecord, number[]>();
/** When a validated record's racy entries were all proven by content and can be trusted by stat from then on (settleRecord). */
const settledAt = new WeakMap<NoopRecord, number>();

/**
 * `delta` null: the plain check, which stops at the first difference. Otherwise each difference is
 * noted there and the check goes on (differences the record cannot place still end it).
 */
function checkRecord(file: string, key: string, env: NodeJS.ProcessEnv, delta: RecordDelta | null): NoopRecord | null {
  let record: NoopRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as NoopRecord;
  } catch {
    return null;
  }
  if (typeof record !== 'object' || record === null || record.version !== NOOP_RECORD_VERSION || record.key !== key) return null;
  // Columns of one table are as long as each other: a record that says otherwise was not written by us.
  if (![record.files, record.dirs, record.absent].every((table) => sameLengths(Object.values(table) as unknown[][]))) return null;
  for (const [name, expected] of Object.entries(record.env)) if (envValueHash(name, env[name]) !== expected) return null;
  // Taken before the first stat: what settleRecord may call the time of this check.
  const checkedAt = Date.now();
  let racyEntries = 0;
  let newestMtime = 0;
  const racySince = record.writtenAt - RACY_WINDOW_MS;
  const ownNames = new Set(record.ownNames);
  const dirTable = expandDirs(record.dirTable);
  // One object for every stat of the check (~4,600 at 200 packages): none of them outlives its comparison.
  const scratch: StatFields = { size: 0, mtimeMs: 0, ctimeMs: 0, ino: 0, isDirectory: false, isFile: false };
  expandedDirs.set(record, dirTable);
  const { files, dirs, absent } = record;
  // A difference at `p`: the plain check ends (false); a delta notes it and goes on while it may.
  const differs = (p: string): boolean => {
    if (!delta) return false;
    delta.changed.push(p);
    return delta.changed.length <= DELTA_LIMIT;
  };
  // A changed stat with the recorded content: not a difference (a delta only: the plain check has nowhere to note it).
  const byContent = delta ? contentFallback(file, record, (delta.verified ??= { files: new Map(), dirs: new Map() })) : null;
  // Whether files [from, to) are as recorded (racy ones by content).
  const filesHold = (from: number, to: number): boolean => {
    for (let i = from; i < to; i++) {
      const p = joinPath(dirTable[files.dir[i]!]!, files.base[i]!);
      const st = statFields(p, scratch);
      const mtimeMs = files.mtimeMs[i]!;
      const ctimeMs = files.ctimeMs[i]!;
      if (!st || st.size !== files.size[i] || st.mtimeMs !== mtimeMs || st.ctimeMs !== (ctimeMs === 0 ? mtimeMs : ctimeMs) || st.ino !== files.ino[i]) {
        if (st && st.size === files.size[i] && byContent?.file(i, p, st)) continue;
        if (differs(p)) continue;
        return false;
      }
      newestMtime = Math.max(newestMtime, mtimeMs, ctimeMs);
      if (mtimeMs > racySince) {
        const sha = files.sha256[i];
        if (!sha || fileSha256(p) !== sha) {
          if (differs(p)) continue;
          return false;
        }
        racyEntries++;
      }
    }
    return true;
  };
  // The files changed last come first (write.ts), then the directories (a file added or removed), then
  // the rest: a replay after an edit, or after a new file, gives up within its first few hundred stats.
  const head = Math.min(files.dir.length, NEWEST_FIRST);
  if (!filesHold(0, head)) return null;
  for (let i = 0; i < dirs.dir.length; i++) {
    const p = dirTable[dirs.dir[i]!]!;
    const st = statFields(p, scratch);
    const mtimeMs = dirs.mtimeMs[i]!;
    if (!st || !st.isDirectory || st.mtimeMs !== mtimeMs || st.ino !== dirs.ino[i]) {
      // A package directory whose outDir was removed or put back: the names it had besides its own still hold.
      if (st?.isDirectory && st.ino === dirs.ino[i] && ownOnlyChanged(p, dirs.names[i], dirs.own[i])) continue;
      if (st?.isDirectory && byContent?.dir(i, p, st)) continue;
      if (differs(p)) continue;
      return null;
    }
    newestMtime = Math.max(newestMtime, mtimeMs);
    if (mtimeMs > racySince) {
      racyEntries++;
      const names = dirs.names[i];
      if (!names) {
        // Too recent to trust by its mtime, and never listed: a delta counts it as changed.
        if (differs(p)) continue;
        return null;
      }
      let now: string[];
      try {
        now = readdirSync(p);
      } catch {
        return null;
      }
      if (!sameNames(now, names, ownNames) && !differs(p)) return null;
    }
  }
  if (!filesHold(head, files.dir.length)) return null;
  for (let i = 0; i < absent.dir.length; i++) {
    const p = joinPath(dirTable[absent.dir[i]!]!, absent.base[i]!);
    if (statFields(p, scratch) && !differs(p)) return null;
  }
  for (const [d, base, target] of record.links) {
    const p = joinPath(dirTable[d]!, base);
    let now: string | null;
    try {
      now = readlinkSync(p);
    } catch {
      now = null;
    }
    if (now !== target && !differs(p)) return null;
  }
  const uses: number[] = [];
  for (let i = 0; i < record.manifests.length; i++) {
    const [d, base, size, ino] = record.manifests[i]!;
    const st = statFields(joinPath(dirTable[d]!, base), scratch);
    if (!st || st.size !== size || st.ino !== ino) {
      if (st && st.size === size && byContent?.manifest(i, joinPath(dirTable[d]!, base))) continue;
      if (!delta) return null;
      delta.changedEntries.push(record.built[i]!);
      continue;
    }
    uses.push(st.mtimeMs);
  }
  // A record something changed under is not replayed: nothing to keep for touchManifests or settleRecord.
  if (delta && (delta.changed.length > 0 || delta.changedEntries.length > 0 || (delta.verified?.files.size ?? 0) + (delta.verified?.dirs.size ?? 0) > 0)) return record;
  manifestUses.set(record, uses);
  if (racyEntries > 0 && newestMtime <= checkedAt - RACY_WINDOW_MS) settledAt.set(record, checkedAt);
  return record;
}

/**
 * Rewrites a replayed record whose racy entries (modified within RACY_WINDOW_MS of its writing) this
 * check proved by content, so that later replays trust them by stat: a build that changed outputs
 * leaves hundreds of them (every output and blob of its last two seconds), and each replay re-hashed
 * and re-listed them all (~17 ms at 200 packages, research.md §8.v). Sound because every recorded
 * mtime is more than the window older than the check: any change from now on gives a newer mtime, the
 * same argument the writer makes. The record keeps its id (its results still go with it); a concurrent
 * writer's newer record may be replaced by this one, whose checks then fail: a lost replay, never a
 * stale one. A failure to write only costs the next replay the same work again.
 */
export function settleRecord(file: string, record: NoopRecord): void {
  const at = settledAt.get(record);
  if (at === undefined) return;
  const settled: NoopRecord = {
    ...record,
    writtenAt: at,
    files: { ...record.files, sha256: record.files.sha256.map(() => 0) },
    // A package directory's names stay: they are what a change of its mtime is compared with, not a racy check.
    dirs: { ...record.dirs, names: record.dirs.names.map((names, i) => (record.dirs.own[i] ? names : 0)) },
  };
  try {
    writeFileAtomicSync(file, JSON.stringify(settled));
  } catch {
    // Only speed is lost.
  }
}

/** What a run is handed from a record it could not replay: the partial run's input (services/partial-run.ts). */
export interface PreviousRun {
  record: NoopRecord;
  results: NoopResults;
  reads: NoopReads;
  delta: RecordDelta;
  /** What the record's paths held (its content file), null when there is none: the record the run writes carries it on. */
  content: NoopContent | null;
}

/** The record's results and reads (same id) with what changed, or null when either is missing or another run's. Never throws. */
export function readPreviousRun(recordPath: string, results: string, reads: string, record: NoopRecord, delta: RecordDelta): PreviousRun | null {
  const stored = readRecordResults(results, record);
  if (!stored) return null;
  try {
    const read = JSON.parse(readFileSync(reads, 'utf8')) as NoopReads;
    if (typeof read !== 'object' || read === null || read.id !== record.id || typeof read.packages !== 'object') return null;
    return { record, results: stored, reads: read, delta, content: recordContent(recordPath, record) };
  } catch {
    return null;
  }
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

/** An entry used this recently is not touched again: eviction goes by days, and 200 utimes were ~2 ms of a replay. */
const TOUCH_AGAIN_AFTER_MS = 10 * 60_000;

/** A replayed hit is a use of the entry, as a real hit's lookup records it (LRU eviction reads manifest mtimes). */
export function touchManifests(record: NoopRecord, replayed: ReadonlySet<string>): void {
  const now = new Date();
  const uses = manifestUses.get(record);
  // manifests[i] is the entry of built[i] (both in the recorded run's result order).
  const dirs = expandedDirs.get(record) ?? expandDirs(record.dirTable);
  record.manifests.forEach(([d, base], i) => {
    if (!replayed.has(record.built[i]!) || (uses && now.getTime() - uses[i]! < TOUCH_AGAIN_AFTER_MS)) return;
    try {
      utimesSync(joinPath(dirs[d]!, base), now, now);
    } catch {
      // Only eviction order suffers.
    }
  });
}
