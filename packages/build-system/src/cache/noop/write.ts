import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { BuildResult, RunResult } from '../../result/schema.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { realpathFast } from '../../util/paths.js';
import { statFields, type StatFields } from '../../util/fast-stat.js';
import type { ObservedDir, ObservedFile } from '../../util/read-log.js';
import {
  emptyDirs,
  emptyFiles,
  envValueHash,
  contentFile,
  fileSha256,
  NOOP_RECORD_VERSION,
  packageOwnNames,
  RACY_WINDOW_MS,
  readsFile,
  recordFile,
  resultsFile,
  sameNames,
  type NoopContent,
  type NoopReads,
  type NoopRecord,
  type NoopResults,
  type RecordedGraphEntry,
  type RecordedPackage,
  type RecordedSelection,
  type SelectionInput,
} from './record.js';
import { resolveReplaySelection } from './selection.js';
import { absentColumns, newestFirst, PathTable } from './tables.js';
import { blobIdsFromGit } from './content.js';

/**
 * Writing a no-op record after a successful run, from the run's read log and
 * what it produced. The record's format and trust rules are in record.ts;
 * check.ts reads it back.
 */

export interface RecordInput {
  cacheDir: string;
  key: string;
  root: string;
  graph: RecordedGraphEntry[];
  run: RunResult;
  logs: ReadonlyMap<string, { stream: 'stdout' | 'stderr'; line: string }[]>;
  observed: { files: Map<string, ObservedFile>; dirs: Map<string, ObservedDir>; absent: Set<string>; links: Map<string, string>; env: Set<string> };
  /**
   * Per package: its outDir (absolute), the cache entry's manifest, its lock directory. Not the entry's
   * blobs: a lookup whose outDir holds the entry's files looks at none either (cache/store.ts).
   */
  outputs: { pkgDir: string; outDir: string; manifest: string; lockDir: string }[];
  /** Per package, what it read outside its directory (NoopReads), or null when a package's is unknown (no reads file then). */
  reads?: Record<string, readonly string[]> | null;
  /** The recording invocation's selection input: its resolution is stored for replays of the same invocation. */
  selection?: SelectionInput;
  env?: NodeJS.ProcessEnv;
}

/** Why a record cannot be written, or null when it was written. Never throws: a path that cannot be checked is a reason. */
export async function writeNoopRecord(input: RecordInput): Promise<string | null> {
  try {
    return await buildAndWriteRecord(input);
  } catch (e) {
    return `a path cannot be checked (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

/** ctime as stored: 0 when it equals mtime (most files), so the common case costs one character. */
const sameOr0 = (ctimeMs: number, mtimeMs: number): number => (ctimeMs === mtimeMs ? 0 : ctimeMs);

async function buildAndWriteRecord(input: RecordInput): Promise<string | null> {
  const env = input.env ?? process.env;
  const now = Date.now();
  const racySince = now - RACY_WINDOW_MS;
  const outDirs = input.outputs.map((o) => o.outDir);
  // By ancestors, not by scanning every outDir per path: a 200-package run observes thousands of paths.
  const outDirSet = new Set(outDirs);
  const cachePrefix = `${input.cacheDir}${path.sep}`;
  // Memoized per directory: thousands of paths share a few hundred directories (this walk was ~130 ms at 200 packages).
  const dirUnderOutput = new Map<string, boolean>();
  const inOutput = (d: string): boolean => {
    let yes = dirUnderOutput.get(d);
    if (yes === undefined) {
      const parent = path.dirname(d);
      yes = outDirSet.has(d) || (parent !== d && inOutput(parent));
      dirUnderOutput.set(d, yes);
    }
    return yes;
  };
  const underOutput = (p: string) => p.startsWith(cachePrefix) || outDirSet.has(p) || inOutput(path.dirname(p));
  const ownNames = new Set(['node_modules', ...input.outputs.map((o) => path.relative(o.pkgDir, o.outDir).split(path.sep)[0]!).filter((n) => n && n !== '..')]);
  const table = new PathTable();
  // Only a file the replay may meet within the racy window is checked by content: other hashes are dead weight.
  const racyHash = (mtimeMs: number, sha: string | null | undefined): string | 0 => (mtimeMs > racySince && sha ? sha : 0);

  const files = emptyFiles();
  const dirs = emptyDirs();
  // Beside the stats, what each path held (record.ts NoopContent): a check meeting a changed stat compares that instead.
  const content: Omit<NoopContent, 'id'> = { files: [], dirs: [], realDirs: [], manifests: [], oids: [] };
  const gitBlobId = blobIdsFromGit(input.root);
  // oid: the blob id the content carries, or 0 for a file git does not track (an output).
  const addFile = (p: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, sha: string | null | undefined, oid?: string | 0) => {
    content.files.push(sha ?? 0);
    content.oids!.push(sha && oid !== 0 ? gitBlobId(p, { size, mtimeMs, ctimeMs, ino }, oid) : 0);
    const [d, base] = table.split(p);
    files.dir.push(d);
    files.base.push(base);
    files.size.push(size);
    files.mtimeMs.push(mtimeMs);
    files.ctimeMs.push(sameOr0(ctimeMs, mtimeMs));
    files.ino.push(ino);
    files.sha256.push(racyHash(mtimeMs, sha));
  };
  // A package directory keeps its listing and own names whatever its age (record.ts RecordedDirs.own).
  const packageOwn = packageOwnNames(input.outputs);
  const addDir = (p: string, mtimeMs: number, ino: number, names: string[] | null, recent: boolean) => {
    const own = names ? packageOwn.get(p) : undefined;
    dirs.dir.push(table.dir(p));
    dirs.mtimeMs.push(mtimeMs);
    dirs.ino.push(ino);
    dirs.names.push(names && (recent || own) ? names : 0);
    dirs.own.push(own ?? 0);
    content.dirs.push(names ?? 0);
    const real = realpathFast(p);
    content.realDirs.push(real === p ? 0 : real);
  };
  const absent = new Set<string>();
  // Directories listed during the run and unchanged since (same mtime and inode, older than the racy window), with
  // their names: a name missing from such a listing is still missing, so the absent paths below need no stat of their
  // own (config names not taken, ~1,000 at 200 packages). One that changed, or too recently to tell, leaves them to a stat.
  const unchangedListings = new Map<string, readonly string[]>();
  const manifests: NoopRecord['manifests'] = [];

  // What the run read, as it read it. Not stat'ed again here (that was ~200 ms at 200 packages): a file
  // changed since cannot match these numbers at replay (ctime never goes back), so a record of a state
  // already gone is never replayed — the next run is a real one and records again. Recent files are
  // checked by content, which covers changes within one timestamp tick.
  const read: [string, ObservedFile][] = [];
  // Outputs a build read (another package's dist by a relative path): recorded below from the results, as they are
  // now; each must still be the file that build read (checked once the artifacts are stat'ed).
  const outputsRead: [string, ObservedFile][] = [];
  for (const entry of input.observed.files) {
    if (!underOutput(entry[0])) read.push(entry);
    else if (!entry[0].startsWith(cachePrefix)) outputsRead.push(entry);
  }
  for (const [p, seen] of newestFirst(read)) {
    if (seen.mtimeMs > racySince && !seen.sha256) return `${p} was modified moments ago`;
    addFile(p, seen.size, seen.mtimeMs, seen.ctimeMs, seen.ino, seen.sha256, seen.oid);
  }
  for (const [p, seen] of input.observed.dirs) {
    if (underOutput(p)) continue;
    const st = statFields(p);
    if (!st) return `${p} was removed during the run`;
    let names: string[] | null = seen.names ?? null;
    if (st.mtimeMs !== seen.mtimeMs || st.ino !== seen.ino) {
      // Changed since it was listed: fine only if the change is build-system's own (staging, outDir, lock).
      if (!seen.names || st.ino !== seen.ino) return `${p} changed during the run`;
      let now: string[];
      try {
        now = readdirSync(p);
      } catch {
        return `${p} cannot be listed`;
      }
      if (!sameNames(now, seen.names, ownNames)) return `${p} changed during the run`;
      names = now;
    }
    if (st.mtimeMs > racySince && names === null) return `${p} was modified moments ago`;
    if (seen.names && st.mtimeMs === seen.mtimeMs && st.ino === seen.ino && st.mtimeMs <= racySince) unchangedListings.set(p, seen.names);
    // Names are only compared for a recent directory (an old one's mtime vouches for its listing) and a package's.
    addDir(p, st.mtimeMs, st.ino, names, st.mtimeMs > racySince);
  }
  // Likewise: a path that appeared since fails the replay's check.
  for (const p of input.observed.absent) if (!underOutput(p)) absent.add(p);
  const links: NoopRecord['links'] = [];
  for (const [p, target] of input.observed.links) {
    if (readlinkSync(p) !== target) return `${p} was pointed elsewhere during the run`;
    links.push([...table.split(p), target]);
  }

  // What the run produced, as it is now (written by this run or already in place).
  const byPackage = new Map(input.run.results.map((r) => [r.package.dir, r]));
  const artifactStats = new Map<string, StatFields>();
  for (const o of input.outputs) {
    const result = byPackage.get(o.pkgDir);
    if (!result) return `no result for ${o.pkgDir}`;
    const seenDirs = new Set<string>();
    for (const a of result.artifacts) {
      const abs = path.join(o.pkgDir, ...a.path.split('/'));
      const st = statFields(abs);
      if (!st || st.size !== a.bytes) return `${abs} is not the artifact the run reported`;
      artifactStats.set(abs, st);
      addFile(abs, st.size, st.mtimeMs, st.ctimeMs, st.ino, a.sha256, 0);
      for (let d = path.dirname(abs); d.startsWith(o.outDir) && !seenDirs.has(d); d = path.dirname(d)) seenDirs.add(d);
    }
    seenDirs.add(o.outDir);
    for (const d of seenDirs) {
      const st = statFields(d);
      if (!st) return `${d} is missing`;
      // Listed only when recent: an older directory's mtime vouches for its names (200 listings saved on a no-op).
      // Listed whatever its age: the content file needs its names (what a hit finds there is part of the result).
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        return `${d} cannot be listed`;
      }
      addDir(d, st.mtimeMs, st.ino, names, st.mtimeMs > racySince);
    }
    const mst = statFields(o.manifest);
    if (!mst) return `cache entry ${o.manifest} is missing`;
    manifests.push([...table.split(o.manifest), mst.size, mst.ino]);
    content.manifests.push(fileSha256(o.manifest) ?? 0);
    absent.add(o.lockDir);
  }
  // A build that read another package's output before that package rewrote it (it did not wait: an undeclared
  // dependency) made its result from the old file; recorded as now, a replay would serve that result as current.
  for (const [p, seen] of outputsRead) {
    const now = artifactStats.get(p);
    if (now && (now.size !== seen.size || now.mtimeMs !== seen.mtimeMs || now.ino !== seen.ino)) return `${p} was rewritten after a build read it`;
  }
  for (const p of absent) {
    const i = p.lastIndexOf(path.sep);
    const listed = i > 0 ? unchangedListings.get(p.slice(0, i)) : undefined;
    if (listed && !listed.includes(p.slice(i + 1))) continue;
    if (statFields(p)) return `${p} exists`;
  }
  // A path cannot appear in a directory whose mtime and inode are unchanged: when the parent is
  // recorded, its check covers the child, and the replay saves a stat (8 config names per package).
  const recordedDirs = new Set(dirs.dir.map((d) => table.dirs[d]));
  for (const p of [...absent]) if (recordedDirs.has(path.dirname(p))) absent.delete(p);

  const envHashes: Record<string, string | null> = {};
  for (const name of [...input.observed.env].sort()) envHashes[name] = envValueHash(name, env[name]);

  const id = `${now.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const record: NoopRecord = {
    version: NOOP_RECORD_VERSION,
    key: input.key,
    id,
    writtenAt: now,
    root: input.root,
    graph: input.graph,
    built: input.run.results.map((r) => r.package.name),
    dirTable: table.tree,
    files,
    dirs,
    absent: absentColumns([...absent], table),
    links,
    manifests,
    env: envHashes,
    ownNames: [...ownNames],
  };
  const results: NoopResults = {
    id,
    schemaVersion: input.run.schemaVersion,
    packages: Object.fromEntries(input.run.results.map((r) => [r.package.name, { result: hitForm(r), logs: input.logs.get(r.package.name) ?? [] }])),
    ...(input.selection ? { selection: selectionFor(record, input.selection) } : {}),
  };
  const file = recordFile(input.cacheDir, input.key);
  try {
    // Results (and reads) first: a record is only ever next to results with its id (a concurrent writer makes them differ: no replay).
    if (input.reads) await writeFileAtomic(readsFile(input.cacheDir, input.key), JSON.stringify({ id, packages: input.reads } satisfies NoopReads), { mkdir: true });
    await writeFileAtomic(contentFile(file), JSON.stringify({ id, ...content } satisfies NoopContent), { mkdir: true });
    await writeFileAtomic(resultsFile(input.cacheDir, input.key), JSON.stringify(results), { mkdir: true });
    await writeFileAtomic(file, JSON.stringify(record), { mkdir: true });
  } catch (e) {
    return `cannot write ${file}: ${(e as Error).message}`;
  }
  return null;
}

/** What a replay of `input` resolves against the record (the very function it calls), to store; undefined when it has no answer. */
function selectionFor(record: NoopRecord, input: SelectionInput): RecordedSelection | undefined {
  const resolved = resolveReplaySelection(record, input.cwd, input.names, input.filters);
  if (!resolved) return undefined;
  return {
    cwd: input.cwd,
    names: [...input.names],
    filters: [...input.filters],
    order: resolved.order,
    dependencies: [...resolved.dependencies],
    dirs: [...resolved.dirs],
  };
}

/** A successful result as the next run reports it: a local hit, nothing restored, the entry's diagnostics. */
export function hitForm(r: BuildResult): RecordedPackage['result'] {
  // startedAt and durationMs stay where they are: the replay overwrites their values.
  return {
    ...r,
    cache: { status: 'hit', key: r.cache.key, ...(r.cache.fingerprintKey ? { fingerprintKey: r.cache.fingerprintKey } : {}), source: 'local', restored: false },
    // What the entry stored: the run's own cache notes (code CACHE) are not part of it.
    diagnostics: r.diagnostics.filter((d) => d.code !== 'CACHE'),
  };
}
