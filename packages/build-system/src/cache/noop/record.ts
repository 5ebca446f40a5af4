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

export const NOOP_RECORD_VERSION = 2;
const RACY_WINDOW_MS = 2000;

/** One package as a no-op replays it. */
export interface RecordedPackage {
  /** The result of a hit, minus the times the replay fills in. */
  result: Omit<BuildResult, 'startedAt' | 'durationMs'>;
  /** Tool output a hit replays (the cache entry's logs). */
  logs: { stream: 'stdout' | 'stderr'; line: string }[];
}

export interface NoopRecord {
  version: typeof NOOP_RECORD_VERSION;
  key: string;
  writtenAt: number;
  /** RunResult.schemaVersion of the recorded run (the replay does not load the schema module). */
  schemaVersion: number;
  /** What onPlan was given. */
  plan: { packages: { name: string; dir: string; dependencies: string[] }[]; concurrency: number };
  concurrency: number;
  bail: boolean;
  packages: RecordedPackage[];
  /** [path, size, mtimeMs, ctimeMs, ino, sha256 | null] */
  files: [string, number, number, number, number, string | null][];
  /** [path, mtimeMs, ino, names | null] */
  dirs: [string, number, number, string[] | null][];
  absent: string[];
  /** Symlinks whose target was used: [path, target]. */
  links: [string, string][];
  /** Cache entry manifests: [path, size, ino]; their mtime is the entry's last use, which hits move. */
  manifests: [string, number, number][];
  /** Env vars configs declared (`env`) → sha256 of the value, null when unset. */
  env: Record<string, string | null>;
  /** Entry names of package directories that are build-system's own (outDir roots, node_modules). */
  ownNames: string[];
}

/** What makes two invocations the same one: everything but the observed paths. */
export interface RecordKeyInput {
  cwd: string;
  /** Flags that change what is built or how results are computed (not how they are printed). */
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

/** Env that steers build-system itself (cache dir, remote cache, fast paths) or Node's module resolution. */
function steeringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith('BUILD_SYSTEM_') || name.startsWith('TURBO_') || name === 'NODE_OPTIONS' || name === 'NODE_PATH') out[name] = sha256(env[name] ?? '');
  }
  return out;
}

export function recordKey(input: RecordKeyInput): string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  return sha256(
    JSON.stringify([
      NOOP_RECORD_VERSION,
      VERSION,
      selfIdentity(),
      bun ? `bun ${bun.version}` : `node ${process.version}`,
      process.platform,
      process.arch,
      path.resolve(input.cwd),
      input.options,
      steeringEnv(input.env ?? process.env),
    ]),
  );
}

export function recordFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'noop', `${key}.json`);
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
 * The record for this invocation when every path it observed is as recorded;
 * null otherwise. Never throws: a record that cannot be read or checked (a
 * path that became a file's child, a permission, a loop, a damaged record)
 * only means "build as usual".
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
  for (const [p, size, mtimeMs, ctimeMs, ino, sha] of record.files) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs || st.ctimeMs !== ctimeMs || st.ino !== ino) return null;
    if (mtimeMs > racySince && (sha === null || fileSha256(p) !== sha)) return null;
  }
  for (const [p, mtimeMs, ino, names] of record.dirs) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || !st.isDirectory() || st.mtimeMs !== mtimeMs || st.ino !== ino) return null;
    if (mtimeMs > racySince) {
      if (names === null) return null;
      let now: string[];
      try {
        now = readdirSync(p);
      } catch {
        return null;
      }
      if (!sameNames(now, names, ownNames)) return null;
    }
  }
  for (const p of record.absent) if (statSync(p, { throwIfNoEntry: false })) return null;
  for (const [p, target] of record.links ?? []) if (readlinkSync(p) !== target) return null;
  for (const [p, size, ino] of record.manifests) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || st.size !== size || st.ino !== ino) return null;
  }
  return record;
}

/** A replayed hit is a use of the entry, as a real hit's lookup records it (LRU eviction reads manifest mtimes). */
export function touchManifests(record: NoopRecord): void {
  const now = new Date();
  for (const [p] of record.manifests) {
    try {
      utimesSync(p, now, now);
    } catch {
      // Only eviction order suffers.
    }
  }
}

// ---------------------------------------------------------------------------
// Writing (after a run; the observations come from the run's read log).

export interface RecordInput {
  cacheDir: string;
  key: string;
  plan: NoopRecord['plan'];
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

async function buildAndWriteRecord(input: RecordInput): Promise<string | null> {
  const env = input.env ?? process.env;
  const now = Date.now();
  const racySince = now - RACY_WINDOW_MS;
  const outDirs = input.outputs.map((o) => o.outDir);
  // By ancestors, not by scanning every outDir per path: a 200-package run observes thousands of paths.
  const outDirSet = new Set(outDirs);
  const cachePrefix = `${input.cacheDir}${path.sep}`;
  const underOutput = (p: string) => {
    if (p.startsWith(cachePrefix)) return true;
    for (let d = p; ; d = path.dirname(d)) {
      if (outDirSet.has(d)) return true;
      if (path.dirname(d) === d) return false;
    }
  };
  const ownNames = new Set(['node_modules', ...input.outputs.map((o) => path.relative(o.pkgDir, o.outDir).split(path.sep)[0]!).filter((n) => n && n !== '..')]);

  const files: NoopRecord['files'] = [];
  const dirs: NoopRecord['dirs'] = [];
  const absent = new Set<string>();
  const manifests: NoopRecord['manifests'] = [];

  // What the run read: still exactly as it was read, or the run may have built from a state that is already gone.
  for (const [p, seen] of input.observed.files) {
    if (underOutput(p)) continue;
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st || st.size !== seen.size || st.mtimeMs !== seen.mtimeMs || st.ctimeMs !== seen.ctimeMs || st.ino !== seen.ino) return `${p} changed during the run`;
    if (seen.mtimeMs > racySince && !seen.sha256) return `${p} was modified moments ago`;
    files.push([p, seen.size, seen.mtimeMs, seen.ctimeMs, seen.ino, seen.sha256 ?? null]);
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
    dirs.push([p, st.mtimeMs, st.ino, names]);
  }
  for (const p of input.observed.absent) {
    if (underOutput(p)) continue;
    if (statSync(p, { throwIfNoEntry: false })) return `${p} appeared during the run`;
    absent.add(p);
  }
  const links: NoopRecord['links'] = [];
  for (const [p, target] of input.observed.links) {
    if (readlinkSync(p) !== target) return `${p} was pointed elsewhere during the run`;
    links.push([p, target]);
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
      files.push([abs, st.size, st.mtimeMs, st.ctimeMs, st.ino, a.sha256]);
      for (let d = path.dirname(abs); d.startsWith(o.outDir) && !seenDirs.has(d); d = path.dirname(d)) seenDirs.add(d);
    }
    seenDirs.add(o.outDir);
    for (const d of seenDirs) {
      const st = statSync(d, { throwIfNoEntry: false });
      if (!st) return `${d} is missing`;
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        return `${d} cannot be listed`;
      }
      dirs.push([d, st.mtimeMs, st.ino, names]);
    }
    const mst = statSync(o.manifest, { throwIfNoEntry: false });
    if (!mst) return `cache entry ${o.manifest} is missing`;
    manifests.push([o.manifest, mst.size, mst.ino]);
    for (const blob of o.blobs) {
      const st = statSync(blob, { throwIfNoEntry: false });
      if (!st) return `cache blob ${blob} is missing`;
      files.push([blob, st.size, st.mtimeMs, st.ctimeMs, st.ino, path.basename(blob)]);
    }
    absent.add(o.lockDir);
  }
  for (const p of absent) if (statSync(p, { throwIfNoEntry: false })) return `${p} exists`;
  // A path cannot appear in a directory whose mtime and inode are unchanged: when the parent is
  // recorded, its check covers the child, and the replay saves a stat (8 config names per package).
  const recordedDirs = new Set(dirs.map(([d]) => d));
  for (const p of [...absent]) if (recordedDirs.has(path.dirname(p))) absent.delete(p);

  const envHashes: Record<string, string | null> = {};
  for (const name of [...input.observed.env].sort()) envHashes[name] = envValueHash(name, env[name]);

  const record: NoopRecord = {
    version: NOOP_RECORD_VERSION,
    key: input.key,
    writtenAt: now,
    schemaVersion: input.run.schemaVersion,
    plan: input.plan,
    concurrency: input.run.concurrency ?? input.plan.concurrency,
    bail: input.run.bail ?? false,
    packages: input.run.results.map((r) => ({ result: hitForm(r), logs: input.logs.get(r.package.name) ?? [] })),
    files,
    dirs,
    absent: [...absent],
    links,
    manifests,
    env: envHashes,
    ownNames: [...ownNames],
  };
  const file = recordFile(input.cacheDir, input.key);
  try {
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
