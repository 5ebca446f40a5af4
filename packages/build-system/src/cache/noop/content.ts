import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { statFields, type StatFields } from '../../util/fast-stat.js';
import { blobIdAt, findGitIndex, readGitIndex, type GitIndex, type GitIndexFile, type GitStat } from '../../util/git-index.js';
import type { ObservedDir, ObservedFile } from '../../util/read-log.js';
import { contentFile, fileSha256, joinPath, sameNames, type NoopContent, type NoopRecord } from './record.js';

/**
 * What a record's paths held besides their stats (record.ts NoopContent), as the check (check.ts) uses it:
 * a path whose stat changed still holds when its content is the recorded one. Also the one rule for what a
 * package directory's listing may gain or lose without being a change (its outDir, a lock's home).
 */

/** Paths whose stat changed and whose content is the recorded one, with their stat now (check.ts RecordDelta.verified). */
export interface VerifiedPaths {
  files: Map<string, ObservedFile>;
  dirs: Map<string, ObservedDir>;
}

/**
 * The check's content fallback (record.ts NoopContent), its file read on first use. A file holds when its
 * bytes hash to the recorded sha256 (stat taken before the read: a write in between leaves a stat the next
 * check finds changed); a directory when it leads to the recorded real path and its names are the recorded
 * ones (its own names aside; never listed: its real path alone); a manifest when its bytes are the recorded
 * ones. What holds is noted in `verified` with its stat now.
 */
export function contentFallback(file: string, record: NoopRecord, verified: VerifiedPaths) {
  const load = () => recordContent(file, record);
  let git: GitIndex | null | undefined;
  // The recorded blob id, when git's index has the file at its stat now: the same bytes, none of them read.
  const sameBlob = (i: number, p: string, st: StatFields): string | null => {
    const oid = load()?.oids?.[i];
    if (!oid) return null;
    git ??= readGitIndex(record.root);
    return git !== null && blobIdAt(git, p, st) === oid ? oid : null;
  };
  return {
    file(i: number, p: string, st: StatFields): boolean {
      const sha = load()?.files[i];
      if (!sha) return false;
      const oid = sameBlob(i, p, st);
      if (!oid && fileSha256(p) !== sha) return false;
      verified.files.set(p, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, sha256: sha, ...(oid ? { oid } : {}) });
      return true;
    },
    dir(i: number, p: string, st: StatFields): boolean {
      const c = load();
      if (!c) return false;
      // The same directory first: a path through a link switched to another install is another directory.
      try {
        if (realpathSync.native(p) !== (c.realDirs[i] || p)) return false;
      } catch {
        return false;
      }
      const names = c.dirs[i];
      if (names) {
        const own = record.dirs.own[i];
        let now: string[];
        try {
          now = readdirSync(p);
        } catch {
          return false;
        }
        // A package directory as above; any other by every name but `.build-system*` (none of its names is ours).
        if (!(own ? packageNamesHold(p, now, names, own) : sameNames(now, names, NO_NAMES))) return false;
      }
      verified.dirs.set(p, { mtimeMs: st.mtimeMs, ino: st.ino, ...(names ? { names } : {}) });
      return true;
    },
    manifest(i: number, p: string): boolean {
      const sha = load()?.manifests[i];
      return !!sha && fileSha256(p) === sha;
    },
  };
}

const contents = new WeakMap<NoopRecord, NoopContent | null>();
const NO_NAMES: ReadonlySet<string> = new Set();

/** The content file of the record at `file` (read once per record), null when missing, another record's or not as long as its tables. */
export function recordContent(file: string, record: NoopRecord): NoopContent | null {
  let content = contents.get(record);
  if (content !== undefined) return content;
  try {
    const c = JSON.parse(readFileSync(contentFile(file), 'utf8')) as NoopContent;
    const fits =
      c.id === record.id &&
      c.files?.length === record.files.dir.length &&
      (c.oids === undefined || c.oids.length === record.files.dir.length) &&
      c.dirs?.length === record.dirs.dir.length &&
      c.realDirs?.length === record.dirs.dir.length &&
      c.manifests?.length === record.manifests.length;
    content = fits ? c : null;
  } catch {
    content = null;
  }
  contents.set(record, content);
  return content;
}

/** Whether package directory `p`, listed now, has the recorded names but for the package's own (record.ts RecordedDirs.own). */
export function ownOnlyChanged(p: string, names: string[] | 0 | undefined, own: string[] | 0 | undefined): boolean {
  if (!names || !own) return false;
  try {
    return packageNamesHold(p, readdirSync(p), names, own);
  } catch {
    return false;
  }
}

/**
 * A package directory's listing against its recorded one, leaving out what build-system makes there: its
 * outDir, `.build-system*` entries, and a node_modules that holds nothing but `.cache` (where the package
 * lock lives; no module resolves from it). A node_modules with anything else in it counts like any name
 * (what resolution found in it is recorded through its own paths).
 */
function packageNamesHold(p: string, now: readonly string[], names: readonly string[], own: readonly string[]): boolean {
  const outRoots = new Set(own.filter((n) => n !== 'node_modules'));
  let cacheOnly: boolean | undefined;
  const lockHome = () => {
    if (cacheOnly === undefined) {
      try {
        cacheOnly = readdirSync(joinPath(p, 'node_modules')).every((n) => n === '.cache');
      } catch {
        cacheOnly = true;
      }
    }
    return cacheOnly;
  };
  return sameNames(now, names, outRoots) || (sameNames(now, names, new Set([...outRoots, 'node_modules'])) && lockHome());
}

/**
 * The writer's side of the blob ids (record.ts NoopContent.oids), for a file the record keeps at `st` with
 * the sha256 of what the run read. An id carried with it (the previous record's at the same version, or the
 * check's) is that content's. Otherwise git's index is asked for the id at `st`, and it is taken only while
 * the file is still at `st`: a write after the stat was taken (before the read, say) would have moved its
 * change time, so a file still at `st` was read as it was at `st`, and the id names the bytes that were
 * hashed. A file changed after the index was written cannot be in it as trusted, and a file below
 * node_modules is an install's: no index is read for either.
 */
export function blobIdsFromGit(root: string): (file: string, st: GitStat, carried?: string) => string | 0 {
  let found: GitIndexFile | null | undefined;
  let git: GitIndex | null | undefined;
  const installed = `${path.sep}node_modules${path.sep}`;
  return (file, st, carried) => {
    if (carried) return carried;
    // An install's files: git does not track them, and asking would read the index on every partial run.
    if (file.includes(installed)) return 0;
    found ??= findGitIndex(root);
    if (!found || st.mtimeMs >= found.writtenMs) return 0;
    git ??= readGitIndex(found);
    if (!git || st.mtimeMs >= git.writtenMs) return 0;
    const oid = blobIdAt(git, file, st);
    if (!oid) return 0;
    const now = statFields(file);
    return now && now.isFile && now.size === st.size && now.mtimeMs === st.mtimeMs && now.ctimeMs === st.ctimeMs && now.ino === st.ino ? oid : 0;
  };
}
