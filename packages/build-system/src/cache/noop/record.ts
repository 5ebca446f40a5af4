import { readdirSync, readFileSync, readlinkSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import type { BuildResult, RunResult } from '../../result/schema.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { sha256 } from '../../util/hash.js';
import { moduleFile } from '../../util/module-file.js';
import { VERSION } from '../../version.js';
import type { ObservedDir, ObservedFile } from '../../util/read-log.js';

/**
 * The no-op record: what a successful CLI run read (its read log,
 * util/read-log.ts) and what it
 * produced, so that the next identical invocation can check with one stat per
 * path that nothing it depends on changed and print the same result (every
 * package a cache hit) without discovering the workspace, evaluating configs,
 * loading tools or computing keys. That is what a no-op costs turbo: it is a
 * Go binary that answers from its own daemon and file watching; we answer from
 * a record kept per invocation in the cache directory (v1/noop/<key>.json).
 *
 * Trust rules (the same as the stat cache's, file-hasher.ts):
 * - a file is unchanged when size, mtime, ctime and inode are; one modified
 *   within RACY_WINDOW_MS of the record is checked by content (sha256), and
 *   one whose content was never hashed makes the run unrecordable;
 * - a directory is unchanged when mtime and inode are; a recent one is listed
 *   and compared by names;
 * - names build-system itself creates in a package directory (its outDir,
 *   node_modules for the lock, .build-system-* staging/journal entries) are
 *   not part of a directory's identity: they are checked through their own
 *   records (every artifact, the lock's absence).
 *
 * Anything unexpected in validation — a missing record, a version mismatch,
 * one stat that differs — means "no replay": the run happens as usual.
 */

export const NOOP_RECORD_VERSION = 3;
const RACY_WINDOW_MS = 2000;

/** One package as a no-op replays it. */
export interface RecordedPackage {
  /** The result of a hit, minus the times the replay fills in. */
  result: Omit<BuildResult, 'startedAt' | 'durationMs'>;
  /** Tool output a hit replays (the cache entry's logs). */
  logs: { stream: 'stdout' | 'stderr'; line: string }[];
}

/**
 * The workspace as the recorded run discovered it (one entry per package, in
 * discovery order): [name, dir relative to the root, indexes of its workspace
 * dependencies, takes part (1 / 0, -1 when the run never asked), 1 when it is
 * outside the workspace globs (named by directory)]. The record's stat checks
 * prove discovery would find the same today, so a replay resolves any other
 * selection against it (cache/noop/selection.ts).
 */
export type RecordedGraphEntry = [name: string, dir: string, dependencies: number[], participates: 1 | 0 | -1, foreign: 0 | 1];

/**
 * The hot file: what validation reads. Paths are a directory table plus
 * basenames; content hashes only for files modified within the racy window
 * (the only ones checked by content). Results live in a second file
 * (`<key>.results.json`) read only once validation succeeded.
 */
export interface NoopRecord {
  version: typeof NOOP_RECORD_VERSION;
  key: string;
  /** Ties this file to its results file (written first): a mismatch is "no replay". */
  id: string;
  writtenAt: number;
  root: string;
  graph: RecordedGraphEntry[];
  /** Names of the packages whose results were recorded. */
  built: string[];
  /**
   * Directories as a tree: [index of the parent (an earlier entry), name], -1 and an absolute
   * path for a top entry. Every path below is [index in this table, basename].
   */
  dirTable: [number, string][];
  /** [dir, base, size, mtimeMs, ctimeMs (0: same as mtimeMs), ino, sha256 | 0 (not racy, or never hashed)] */
  files: [number, string, number, number, number, number, string | 0][];
  /** [directory index, mtimeMs, ino, names | 0] */
  dirs: [number, number, number, string[] | 0][];
  absent: [number, string][];
  /** Symlinks whose target was used: [dir, base, target]. */
  links: [number, string, string][];
  /** Cache entry manifests of `built`, in its order: [dir, base, size, ino]; their mtime is the entry's last use, which hits move. */
  manifests: [number, string, number, number][];
  /** Env vars configs declared (`env`) → sha256 of the value, null when unset. */
  env: Record<string, string | null>;
  /** Entry names of package directories that are build-system's own (outDir roots, node_modules). */
  ownNames: string[];
}

/** The cold file: read after validation. */
export interface NoopResults {
  id: string;
  /** RunResult.schemaVersion of the recorded run (the replay does not load the schema module). */
  schemaVersion: number;
  packages: Record<string, RecordedPackage>;
}

/**
 * What makes a record usable for a run: everything that can change outputs and
 * that the record's own checks (paths, declared env vars) do not cover. Not the
 * cwd, the selection or print-only flags: a replay resolves the selection
 * against the recorded graph and prints with the current flags.
 */
export interface RecordKeyInput {
  /** The workspace root (from findWorkspaceRoot, computed anew by every run). */
  root: string;
  /** The resolved cache directory (flag, BUILD_SYSTEM_CACHE_DIR or the default): entries live there. */
  cacheDir: string;
  /** Flags that change outputs (commands/run-output.ts noopRecordOptions). */
  options: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** This module's own file: a rebuilt build-system is a different program even at the same version. */
function selfIdentity(): string {
  try {
    const self = moduleFile(import.meta.url);
    const st = statSync(self);
    return `${self}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'unknown';
  }
}

/**
 * Env vars that can change what a build produces and that no record check sees, decided one by one:
 * - NODE_OPTIONS (--conditions, --require, loaders) and NODE_PATH change how configs and tools resolve modules;
 * - BUILD_SYSTEM_CONFIG_TIMEOUT_MS can make a config evaluation that succeeded fail now;
 * - BUILD_SYSTEM_TSC_SPAWN runs TypeScript another way (same output, but a different program: keyed to be safe).
 * Not keyed: BUILD_SYSTEM_CACHE_DIR (the resolved cache dir is), the remote cache variables (a replay
 * never happens while a remote URL is configured: commands/build-replay.ts), other TURBO_* (turbo's own),
 * BUILD_SYSTEM_DEBUG_NOOP / BUILD_SYSTEM_NO_FAST_PATH (messages; no fast path at all), and env vars
 * configs read (the record checks each one's value: `env`).
 */
const KEYED_ENV = ['NODE_OPTIONS', 'NODE_PATH', 'BUILD_SYSTEM_CONFIG_TIMEOUT_MS', 'BUILD_SYSTEM_TSC_SPAWN'] as const;

export function recordKey(input: RecordKeyInput): string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const env = input.env ?? process.env;
  return sha256(
    JSON.stringify([
      NOOP_RECORD_VERSION,
      VERSION,
      selfIdentity(),
      bun ? `bun ${bun.version}` : `node ${process.version}`,
      process.platform,
      process.arch,
      input.root,
      input.cacheDir,
      input.options,
      KEYED_ENV.map((name) => env[name] ?? null),
    ]),
  ).slice(0, 32);
}

export function recordFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'noop', `${key}.json`);
}

export function resultsFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'noop', `${key}.results.json`);
}

export const envValueHash = (name: string, value: string | undefined): string | null => (value === undefined ? null : sha256(`${name}=${value}`));

/** Names build-system creates in a directory it publishes into; see the trust rules above. */
export function ownEntry(name: string, ownNames: ReadonlySet<string>): boolean {
  return name.startsWith('.build-system') || ownNames.has(name);
}

function sameNames(a: readonly string[], b: readonly string[], ownNames: ReadonlySet<string>): boolean {
  const x = a.filter((n) => !ownEntry(n, ownNames)).sort();
  const y = b.filter((n) => !ownEntry(n, ownNames)).sort();
  return x.length === y.length && x.every((n, i) => n === y[i]);
}

function fileSha256(abs: string): string | null {
  try {
    return sha256(readFileSync(abs));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------
// Validation and replay bookkeeping (the CLI's fast path: node:fs only).

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

/** The absolute directories of a record's tree table (parents come first). */
export function expandDirs(table: NoopRecord['dirTable']): string[] {
  const out: string[] = [];
  for (const [parent, name] of table) out.push(parent === -1 ? name : joinPath(out[parent]!, name));
  return out;
}

/** dir + name without path.join's normalizing (a third of the replay's time at 200 packages): both come from the table. */
function joinPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
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
  const dirs = expandDirs(record.dirTable);
  record.manifests.forEach(([d, base], i) => {
    if (!replayed.has(record.built[i]!)) return;
    try {
      utimesSync(joinPath(dirs[d]!, base), now, now);
    } catch {
      // Only eviction order suffers.
    }
  });
}

// ---------------------------------------------------------------------------
// Writing (after a run; the observations come from the run's read log).

export interface RecordInput {
  cacheDir: string;
  key: string;
  root: string;
  graph: RecordedGraphEntry[];
  run: RunResult;
  logs: ReadonlyMap<string, { stream: 'stdout' | 'stderr'; line: string }[]>;
  observed: { files: Map<string, ObservedFile>; dirs: Map<string, ObservedDir>; absent: Set<string>; links: Map<string, string>; env: Set<string> };
  /** Per package: its outDir (absolute), the cache entry manifest and blob files, its lock directory. */
  outputs: { pkgDir: string; outDir: string; manifest: string; blobs: string[]; lockDir: string }[];
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

/** Paths as [directory index, basename] over one shared table of directories, stored as a tree. */
class PathTable {
  readonly dirs: string[] = [];
  readonly tree: NoopRecord['dirTable'] = [];
  private readonly index = new Map<string, number>();
  dir(d: string): number {
    let i = this.index.get(d);
    if (i === undefined) {
      const parent = path.dirname(d);
      const p = parent === d ? -1 : this.dir(parent);
      i = this.dirs.push(d) - 1;
      this.tree.push(p === -1 ? [-1, d] : [p, path.basename(d)]);
      this.index.set(d, i);
    }
    return i;
  }
  /** An absolute, normalized path split at its last separator (path.dirname + basename cost ~0.1 s over 5,000 paths). */
  split(p: string): [number, string] {
    const i = p.lastIndexOf(path.sep);
    // A file in a root directory ("/x", "C:\\x") keeps the separator in its directory, as path.dirname does.
    const dir = i === 0 || p.lastIndexOf(path.sep, i - 1) === -1 ? p.slice(0, i + 1) : p.slice(0, i);
    return [this.dir(dir), p.slice(i + 1)];
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

  const files: NoopRecord['files'] = [];
  const dirs: NoopRecord['dirs'] = [];
  const absent = new Set<string>();
  const manifests: NoopRecord['manifests'] = [];

  // What the run read, as it read it. Not stat'ed again here (that was ~200 ms at 200 packages): a file
  // changed since cannot match these numbers at replay (ctime never goes back), so a record of a state
  // already gone is never replayed — the next run is a real one and records again. Recent files are
  // checked by content, which covers changes within one timestamp tick.
  for (const [p, seen] of input.observed.files) {
    if (underOutput(p)) continue;
    if (seen.mtimeMs > racySince && !seen.sha256) return `${p} was modified moments ago`;
    files.push([...table.split(p), seen.size, seen.mtimeMs, sameOr0(seen.ctimeMs, seen.mtimeMs), seen.ino, racyHash(seen.mtimeMs, seen.sha256)]);
  }
  for (const [p, seen] of input.observed.dirs) {
    if (underOutput(p)) continue;
    const st = statSync(p, { throwIfNoEntry: false });
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
    // Names are only compared for a recent directory: an old one's mtime vouches for its listing.
    dirs.push([table.dir(p), st.mtimeMs, st.ino, st.mtimeMs > racySince && names ? names : 0]);
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
  for (const o of input.outputs) {
    const result = byPackage.get(o.pkgDir);
    if (!result) return `no result for ${o.pkgDir}`;
    const seenDirs = new Set<string>();
    for (const a of result.artifacts) {
      const abs = path.join(o.pkgDir, ...a.path.split('/'));
      const st = statSync(abs, { throwIfNoEntry: false });
      if (!st || st.size !== a.bytes) return `${abs} is not the artifact the run reported`;
      files.push([...table.split(abs), st.size, st.mtimeMs, sameOr0(st.ctimeMs, st.mtimeMs), st.ino, racyHash(st.mtimeMs, a.sha256)]);
      for (let d = path.dirname(abs); d.startsWith(o.outDir) && !seenDirs.has(d); d = path.dirname(d)) seenDirs.add(d);
    }
    seenDirs.add(o.outDir);
    for (const d of seenDirs) {
      const st = statSync(d, { throwIfNoEntry: false });
      if (!st) return `${d} is missing`;
      // Listed only when recent: an older directory's mtime vouches for its names (200 listings saved on a no-op).
      let names: string[] | 0 = 0;
      if (st.mtimeMs > racySince) {
        try {
          names = readdirSync(d);
        } catch {
          return `${d} cannot be listed`;
        }
      }
      dirs.push([table.dir(d), st.mtimeMs, st.ino, names]);
    }
    const mst = statSync(o.manifest, { throwIfNoEntry: false });
    if (!mst) return `cache entry ${o.manifest} is missing`;
    manifests.push([...table.split(o.manifest), mst.size, mst.ino]);
    for (const blob of o.blobs) {
      const st = statSync(blob, { throwIfNoEntry: false });
      if (!st) return `cache blob ${blob} is missing`;
      files.push([...table.split(blob), st.size, st.mtimeMs, sameOr0(st.ctimeMs, st.mtimeMs), st.ino, racyHash(st.mtimeMs, path.basename(blob))]);
    }
    absent.add(o.lockDir);
  }
  for (const p of absent) if (statSync(p, { throwIfNoEntry: false })) return `${p} exists`;
  // A path cannot appear in a directory whose mtime and inode are unchanged: when the parent is
  // recorded, its check covers the child, and the replay saves a stat (8 config names per package).
  const recordedDirs = new Set(dirs.map(([d]) => table.dirs[d]));
  for (const p of [...absent]) if (recordedDirs.has(path.dirname(p))) absent.delete(p);

  const envHashes: Record<string, string | null> = {};
  for (const name of [...input.observed.env].sort()) envHashes[name] = envValueHash(name, env[name]);

  const id = `${now.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const results: NoopResults = {
    id,
    schemaVersion: input.run.schemaVersion,
    packages: Object.fromEntries(input.run.results.map((r) => [r.package.name, { result: hitForm(r), logs: input.logs.get(r.package.name) ?? [] }])),
  };
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
    absent: [...absent].map((p) => table.split(p)),
    links,
    manifests,
    env: envHashes,
    ownNames: [...ownNames],
  };
  const file = recordFile(input.cacheDir, input.key);
  try {
    // Results first: a record is only ever next to results with its id (a concurrent writer makes them differ: no replay).
    await writeFileAtomic(resultsFile(input.cacheDir, input.key), JSON.stringify(results), { mkdir: true });
    await writeFileAtomic(file, JSON.stringify(record), { mkdir: true });
  } catch (e) {
    return `cannot write ${file}: ${(e as Error).message}`;
  }
  return null;
}

/** A successful result as the next run reports it: a local hit, nothing restored, the entry's diagnostics. */
function hitForm(r: BuildResult): RecordedPackage['result'] {
  const { startedAt: _s, durationMs: _d, ...rest } = r;
  return {
    ...rest,
    cache: { status: 'hit', key: r.cache.key, ...(r.cache.fingerprintKey ? { fingerprintKey: r.cache.fingerprintKey } : {}), source: 'local', restored: false },
    // What the entry stored: the run's own cache notes (code CACHE) are not part of it.
    diagnostics: r.diagnostics.filter((d) => d.code !== 'CACHE'),
  };
}
