// Long because: one snapshot cache whose key, validation, build, prewarmed start and use share the same files and the same process bookkeeping (children, exit hook); the entry and its protocol are in tsc-snapshot-entry.ts and tsc-snapshot-protocol.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import path from 'node:path';
import { requireOwn } from '../util/resolve-module.js';
import { spawnLines } from '../util/spawn.js';
import { tscWorkerFile, type TscJob, type TscJobOutcome } from './tsc-pool.js';
import { snapshotDir, writeSnapshotHint, type SnapshotHint } from './tsc-snapshot-hint.js';
import { holdOpen, startPrewarmedProcess, takePrewarmedProcess, type PrewarmedProcess } from './tsc-snapshot-prewarm.js';
import { REPLY_PREFIX, type SnapshotWarmRequest } from './tsc-snapshot-protocol.js';

export { snapshotDir } from './tsc-snapshot-hint.js';
import type { TscWorkerReply, TscWorkerRequest } from './tsc-worker.js';

/**
 * TypeScript 5 jobs from a V8 startup snapshot (issue 14, research.md §13, §8.q):
 * declarations after a bundler, the tsc adapter's own emit, a type check. A
 * one-shot run's job in a fresh worker spends ~0.3 s
 * loading typescript.js and ~1.2 s parsing and binding the default libs before
 * it reaches the package's own files; a process started from a snapshot that
 * holds both (tsc-snapshot-entry.ts) starts in ~0.3 s with them done.
 *
 * The snapshot is a cache, never an input of a key: `<cache dir>/v1/tsc-snapshot/<key>.blob`
 * with `<key>.json` beside it, where the key hashes the exact node binary and
 * the TypeScript (dir, version, typescript.js stat); the json holds the blob's
 * size and each lib file's stamp. Anything missing, mismatched or failing means
 * the worker path (tsc-pool.ts), with a line under BUILD_SYSTEM_DEBUG. Even a
 * stale lib in it is never served: every cached file is stamp-checked on use,
 * as in the worker.
 *
 * Used for the first job of a TypeScript in a process only: after
 * it the pool's worker is warm for the rest, and a snapshot process per job
 * would pay its ~0.3 s start every time. So it pays only in a run with few
 * jobs: an edit, not a cold build (a cold build or a CI run
 * without a cache would pay ~3 s CPU to build a snapshot it never uses).
 * Hence the rule: a process that needed a snapshot and found none builds it
 * once its work is done (`beforeExit`, after the results are printed), in a
 * child at the lowest CPU priority (~3 s CPU, ~250 MB), and only when it ran
 * at most MAX_JOBS_TO_BUILD jobs of that TypeScript, and only the
 * second time such a run wanted it (the first leaves `<key>.wanted`): a CI job
 * with a fresh cache and a few packages is such a run every time, and waited
 * ~3 s (~14 s on a loaded machine) after its output for a snapshot nobody
 * would use. It waits for the child, once per node binary, TypeScript and
 * cache dir. Any other exit
 * (Ctrl-C's process.exit) kills the child and removes its temp files, so
 * nothing outlives the CLI. BUILD_SYSTEM_TSC_SNAPSHOT=0 turns it off.
 */

const FORMAT = 1;
const debug = (line: string) => {
  if (process.env.BUILD_SYSTEM_DEBUG) process.stderr.write(`build-system: tsc snapshot (${Math.round(performance.now())} ms): ${line}\n`);
};

// The stamp tsc-worker.ts's cache serves a file by (not imported: that module is a worker entry).
const stampOf = (s: Stats) => `${s.size}:${s.mtimeMs}:${s.ctimeMs}:${s.ino}`;

/** Everything that makes a blob valid for this process and this TypeScript; undefined when it cannot be known. */
export function snapshotKey(tsDir: string): string | undefined {
  try {
    const tsFile = path.join(tsDir, 'lib', 'typescript.js');
    const version = (JSON.parse(readFileSync(path.join(tsDir, 'package.json'), 'utf8')) as { version?: string }).version;
    const facts = [FORMAT, process.version, process.arch, process.execPath, stampOf(statSync(process.execPath)), tsDir, version, stampOf(statSync(tsFile))];
    return createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 32);
  } catch {
    return undefined;
  }
}

interface SnapshotMeta {
  format: number;
  blobSize: number;
  /** TypeScript's own declaration files in the snapshot, with their stamps when it was built. */
  libs: [string, string][];
}

/**
 * The blob when it is there and its libs are the ones on disk. Synchronous: ~100 stats (~1 ms), and a
 * prewarm must not queue behind the run's own file work in the thread pool.
 */
function validBlob(dir: string, key: string, tsDir: string): string | undefined {
  const blob = path.join(dir, `${key}.blob`);
  try {
    const meta = JSON.parse(readFileSync(path.join(dir, `${key}.json`), 'utf8')) as SnapshotMeta;
    if (meta.format !== FORMAT || !Array.isArray(meta.libs) || meta.libs.length === 0) return undefined;
    if (statSync(blob).size !== meta.blobSize) return undefined;
    for (const [file, stamp] of meta.libs) {
      if (!file.startsWith(tsDir + path.sep) || stampOf(statSync(file)) !== stamp) {
        debug(`${file} changed since the snapshot was built`);
        return undefined;
      }
    }
    return blob;
  } catch {
    return undefined;
  }
}

const usedFor = new Set<string>();
/** Declaration jobs per TypeScript in this process: what decides whether a snapshot pays (see above). */
const jobsFor = new Map<string, number>();
/** Snapshots this process needed and found missing, built (or not) when its work is done. */
const pending = new Map<string, { dir: string; job: TscJob; project: ProjectText | undefined }>();

/**
 * The job's tsconfig (`-p`) as it was when the job ran. A generated one
 * (tsc-project.ts) is removed when its run ends, before the snapshot is built
 * at exit from the same command line; its content names everything by
 * absolute path, so a copy anywhere means the same.
 */
interface ProjectText {
  file: string;
  text: string;
}

function projectText(job: TscJob): ProjectText | undefined {
  const i = job.args.indexOf('-p');
  const file = i >= 0 ? job.args[i + 1] : undefined;
  if (!file) return undefined;
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch {
    return undefined;
  }
}
const building = new Map<string, Promise<void>>();

/** A process with more TypeScript 5 jobs than this is a cold build: it builds no snapshot. */
export const MAX_JOBS_TO_BUILD = 3;
const counts = { compiled: 0, fellBack: 0, built: 0, prewarmed: 0 };

/**
 * Runs the job from the TypeScript's snapshot when this is the process's first
 * job for it and a valid snapshot exists; undefined means "use the worker"
 * (and, without a snapshot, one is being built for the next run).
 */
export async function runFromSnapshot(job: TscJob, cacheDir: string, signal: AbortSignal, onLine: (stream: 'stdout' | 'stderr', line: string) => void): Promise<TscJobOutcome | undefined> {
  if (process.env.BUILD_SYSTEM_TSC_SNAPSHOT === '0') return undefined;
  jobsFor.set(job.tsDir, (jobsFor.get(job.tsDir) ?? 0) + 1);
  if (usedFor.has(job.tsDir)) return undefined;
  usedFor.add(job.tsDir);
  const key = snapshotKey(job.tsDir);
  if (!key) return undefined;
  const dir = snapshotDir(cacheDir);
  const blob = validBlob(dir, key, job.tsDir);
  if (!blob) {
    if (!building.has(key)) pending.set(key, { dir, job, project: projectText(job) });
    installExitHook();
    return undefined;
  }
  const request: TscWorkerRequest = { id: 1, ...job };
  let reply: TscWorkerReply | undefined;
  // Held until the reply: a process that cannot start prints V8's fatal trace, which is not the build's to show (the worker compiles instead).
  const printed: [stream: 'stdout' | 'stderr', line: string][] = [];
  const take = (stream: 'stdout' | 'stderr', line: string) => {
    if (stream === 'stdout' && line.startsWith(REPLY_PREFIX)) reply = JSON.parse(line.slice(REPLY_PREFIX.length)) as TscWorkerReply;
    else printed.push([stream, line]);
  };
  // Another TypeScript's prewarmed process stays for that TypeScript's job (or is killed when the run ends).
  const warm = prewarmed?.key === key ? prewarmed : undefined;
  if (warm) prewarmed = undefined;
  const result = warm
    ? await finishPrewarmed(warm, request, signal, take)
    : await spawnLines(process.execPath, ['--snapshot-blob', blob, JSON.stringify(request)], {
        cwd: job.cwd,
        signal,
        // It writes only into the staging dir, like TypeScript 7's tsc (tsc-runner.ts): nothing to clean up.
        abortWith: 'SIGKILL',
        onLine: take,
      });
  if (result.aborted) return { kind: 'aborted' };
  if (reply?.kind === 'done' && result.code === 0) {
    for (const [stream, line] of printed) onLine(stream, line);
    counts.compiled++;
    if (warm) {
      counts.prewarmed++;
      debug('compiled in the process started when the run began');
    }
    await writeHint(dir, key, job.tsDir);
    return { kind: 'done', lines: reply.lines, exitCode: reply.exitCode, reads: reply.reads };
  }
  counts.fellBack++;
  const why = reply ? `${reply.kind}${'reason' in reply ? `: ${reply.reason.split('\n')[0]}` : ''}` : `exit ${result.code ?? result.signal}: ${result.stderr.trim().split('\n').slice(-1)[0] ?? ''}`;
  debug(`not used (${why}); the worker compiles`);
  // A blob that cannot start (damaged, or refused by this node) is rebuilt by the next run that needs it.
  if (!reply) await rm(path.join(dir, `${key}.json`), { force: true });
  return undefined;
}

/**
 * Prewarming. The snapshot process needs ~0.3 s to start (it maps a ~40 MB
 * heap), and a run needs ~0.3 s (50 packages) to ~0.8 s (200) of discovery,
 * configs and keys before it knows which package's declarations to build.
 * So when a run starts and the workspace's last used snapshot (tsc-snapshot-hint.ts) is still
 * valid, a process is started from it at once, waiting for its job on stdin;
 * the run's first job of that TypeScript is handed to it. Not
 * needed (every package hit, or another TypeScript): it is killed when the run
 * ends (dropTscSnapshotPrewarm), and by the exit hook in any case. It never
 * holds the process open until it is handed a job.
 */
type Prewarmed = PrewarmedProcess;

let prewarmed: Prewarmed | undefined;
let prewarmTried = false;

async function writeHint(dir: string, key: string, tsDir: string): Promise<void> {
  const failed = await writeSnapshotHint(dir, { key, tsDir });
  if (failed) debug(`hint not written: ${failed}`);
}

/** Starts a process from the workspace's last used snapshot, if it is still valid (see above). Once per process. */
export function prewarmTscSnapshot(cacheDir: string, hint: SnapshotHint): void {
  if (prewarmTried || process.env.BUILD_SYSTEM_TSC_SNAPSHOT === '0') return;
  prewarmTried = true;
  // Started by the CLI's start file as soon as the no-op replay said no (cli-start.ts): adopted as is.
  const early = takePrewarmedProcess(cacheDir);
  if (early) {
    adopt(early);
    debug(`adopted the process the CLI started at ${Math.round(early.startedAt)} ms from ${early.key}`);
    return;
  }
  if (snapshotKey(hint.tsDir) !== hint.key) return;
  const blob = validBlob(snapshotDir(cacheDir), hint.key, hint.tsDir);
  if (!blob) return;
  if (prewarmed || usedFor.has(hint.tsDir)) {
    debug('not started: the run asked for its declarations first');
    return;
  }
  adopt(startPrewarmedProcess(blob, hint.key, cacheDir));
  debug(`started a process from ${hint.key} while the run loads`);
}

function adopt(started: Prewarmed): void {
  installExitHook();
  children.add(started.child);
  void started.closed.then(() => children.delete(started.child));
  prewarmed = started;
}

/**
 * Kills a prewarmed process the run did not use (the run is over), and waits until it is gone: a
 * signal is delivered when the kernel gets to it, so without the wait the CLI could exit while the
 * process still runs (seen under load in CI), and whoever ran it would see a process outlive it.
 */
export async function dropTscSnapshotPrewarm(): Promise<void> {
  const warm = prewarmed;
  prewarmed = undefined;
  if (!warm) return;
  holdOpen(warm.child, true); // an unref'd child would let the loop end before its close event
  warm.child.kill('SIGKILL');
  await warm.closed;
}

/** Hands a prewarmed process its job and collects what it says, as spawnLines would. */
async function finishPrewarmed(warm: Prewarmed, request: TscWorkerRequest, signal: AbortSignal, onLine: (stream: 'stdout' | 'stderr', line: string) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; aborted: boolean; stderr: string }> {
  if (signal.aborted) {
    warm.child.kill('SIGKILL');
    return { code: null, signal: 'SIGKILL', aborted: true, stderr: '' };
  }
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    warm.child.kill('SIGKILL');
  };
  signal.addEventListener('abort', onAbort, { once: true });
  holdOpen(warm.child, true);
  debug(`job handed to the prewarmed process (${warm.child.exitCode === null ? 'running' : 'exited'})`);
  warm.child.stdin!.end(JSON.stringify(request));
  const { code, signal: exitSignal } = await warm.closed;
  signal.removeEventListener('abort', onAbort);
  for (const stream of ['stdout', 'stderr'] as const) {
    const lines = warm.output[stream].split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    for (const line of lines) onLine(stream, line);
  }
  return { code, signal: exitSignal, aborted, stderr: warm.output.stderr };
}

/** The entry bundled to one CommonJS file: a snapshot builder may require node: builtins only. */
async function bundledEntry(): Promise<string> {
  const workerFile = tscWorkerFile();
  const entry = path.join(path.dirname(workerFile), `tsc-snapshot-entry${path.extname(workerFile)}`);
  const { build } = requireOwn('esbuild') as typeof import('esbuild');
  const out = await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' });
  return out.outputFiles[0]!.text;
}


const children = new Set<ChildProcess>();
const leftovers = new Set<string>();
let exitHookInstalled = false;

/** Nothing the builder started may outlive the process (the CLI's Ctrl-C path calls process.exit). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Runs when the event loop is empty, i.e. the run's work (and its output) is done; the build it may start keeps the process alive until it ends.
  process.once('beforeExit', () => void buildPendingSnapshots());
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const file of leftovers) rmSync(file, { force: true });
  });
}

function startBuild(dir: string, key: string, job: TscJob, project?: ProjectText): void {
  if (building.has(key)) return;
  const done = buildSnapshot(dir, key, job, project)
    .catch((e: Error) => debug(`not built: ${e.message}`))
    .finally(() => building.delete(key));
  building.set(key, done);
}

/** Builds `<key>.blob` and `<key>.json` (temp files, then renamed: a reader sees a whole snapshot or none). */
export async function buildSnapshot(dir: string, key: string, ranJob: TscJob, project?: ProjectText): Promise<void> {
  installExitHook();
  await mkdir(dir, { recursive: true });
  const tag = `${process.pid}-${Date.now()}`;
  const entryFile = path.join(dir, `${key}.entry-${tag}.cjs`);
  const blobTemp = path.join(dir, `${key}.blob-${tag}.tmp`);
  const filesOut = path.join(dir, `${key}.files-${tag}.json`);
  const metaTemp = path.join(dir, `${key}.json-${tag}.tmp`);
  const projectCopy = path.join(dir, `${key}.tsconfig-${tag}.json`);
  for (const f of [entryFile, blobTemp, filesOut, metaTemp, projectCopy]) leftovers.add(f);
  try {
    let job = ranJob;
    if (project && !existsSync(project.file)) {
      await writeFile(projectCopy, project.text);
      job = { ...ranJob, args: ranJob.args.map((a) => (a === project.file ? projectCopy : a)) };
    }
    await writeFile(entryFile, await bundledEntry());
    // The first job's command line, compiled without emit: outDir points nowhere it could write.
    const warm: SnapshotWarmRequest = { tsFile: path.join(job.tsDir, 'lib', 'typescript.js'), request: { id: 0, ...job, outDir: path.join(dir, `${key}.none-${tag}`) }, filesOut };
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--snapshot-blob', blobTemp, '--build-snapshot', entryFile], {
        cwd: job.cwd,
        env: { ...process.env, BUILD_SYSTEM_TSC_SNAPSHOT_WARM: JSON.stringify(warm) },
        stdio: 'ignore',
      });
      children.add(child);
      try {
        // Anything else on the machine goes first.
        if (child.pid) setPriority(child.pid, 19);
      } catch {
        // Not allowed here: it runs at normal priority.
      }
      child.on('error', reject);
      child.on('close', (c) => {
        children.delete(child);
        if (c !== 0) debug(`the builder exited with ${c}`);
        resolve(c);
      });
    });
    if (code !== 0 || !existsSync(blobTemp)) return;
    const files = JSON.parse(await readFile(filesOut, 'utf8')) as [string, string][];
    const meta: SnapshotMeta = { format: FORMAT, blobSize: (await stat(blobTemp)).size, libs: files.filter(([f]) => f.startsWith(job.tsDir + path.sep)) };
    await writeFile(metaTemp, JSON.stringify(meta));
    await rename(blobTemp, path.join(dir, `${key}.blob`));
    await rename(metaTemp, path.join(dir, `${key}.json`));
    await writeHint(dir, key, job.tsDir);
    counts.built++;
    debug(`built ${key} (${meta.libs.length} lib files, ${meta.blobSize} bytes)`);
  } finally {
    for (const f of [entryFile, blobTemp, filesOut, metaTemp, projectCopy]) {
      leftovers.delete(f);
      await rm(f, { force: true });
    }
  }
}

/**
 * Builds the snapshots this process needed and did not find, if it ran few
 * enough jobs for one to pay (MAX_JOBS_TO_BUILD); resolves when
 * they are written. Called at `beforeExit`; tests call it directly.
 */
export function buildPendingSnapshots(): Promise<void> {
  for (const [key, { dir, job, project }] of pending) {
    if ((jobsFor.get(job.tsDir) ?? 0) > MAX_JOBS_TO_BUILD) debug(`not built: ${jobsFor.get(job.tsDir)} jobs ran (a cold build; at most ${MAX_JOBS_TO_BUILD} make one pay)`);
    else if (wantedBefore(dir, key)) startBuild(dir, key, job, project);
    else debug(`not built yet: the first run to want ${key} (the next one builds it)`);
  }
  pending.clear();
  return snapshotBuilds();
}

/**
 * Whether an earlier run already wanted this snapshot; if not, this run's want is left
 * (`<key>.wanted`, an empty file; cache prune treats it like the snapshot's own files).
 */
function wantedBefore(dir: string, key: string): boolean {
  const marker = path.join(dir, `${key}.wanted`);
  if (existsSync(marker)) return true;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(marker, '');
  } catch {
    // unwritable: no snapshot, as with any other cache write that fails
  }
  return false;
}

/** Snapshot builds this process started and has not finished (tests await them). */
export function snapshotBuilds(): Promise<void> {
  return Promise.all(building.values()).then(() => undefined);
}

/** Jobs compiled from a snapshot, jobs a snapshot could not compile (the worker did), snapshots built: tests check which path ran. */
export function tscSnapshotStats(): { compiled: number; fellBack: number; built: number; prewarmed: number } {
  return { ...counts };
}

/** Lets the next job of every TypeScript try its snapshot again, as in a new process (tests). */
export function forgetSnapshotUses(): void {
  void dropTscSnapshotPrewarm();
  prewarmTried = false;
  usedFor.clear();
  jobsFor.clear();
  pending.clear();
}
