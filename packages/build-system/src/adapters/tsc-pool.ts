import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { moduleFile as moduleFileOf } from '../util/module-file.js';
import { requireOwn } from '../util/resolve-module.js';
import type { TscWorkerOutput, TscWorkerReply, TscWorkerRequest } from './tsc-worker.js';

/**
 * In-process tsc for TypeScript < 7: a few worker threads that keep the
 * package's `typescript` module loaded and its parsed lib/*.d.ts (and other
 * unchanged declaration files) between packages. A spawned `node bin/tsc`
 * pays ~0.5-0.7 s per package to load typescript.js and parse the libs; a
 * warm worker pays neither. tsc-runner.ts decides when to use it and reads
 * its output exactly as it reads a spawned tsc's.
 *
 * The workers are started lazily, at most min(cores, 4) (each holds its own
 * compiler and caches: ~100 MB and more), kept for the life of the process,
 * and unref()ed whenever idle so that they never keep the process alive. A
 * busy worker is ref()ed: an API caller awaiting a build with nothing else
 * pending must not see the process exit under it.
 */

export interface TscJob {
  tsDir: string;
  args: string[];
  cwd: string;
  outDir: string;
}

export type TscJobOutcome =
  /** What tsc would have printed on stdout (line by line) and its exit code. */
  | { kind: 'done'; lines: string[]; exitCode: number; reads: string[] }
  | { kind: 'aborted' }
  /** Run the spawned tsc instead. `unexpected` when something broke (worth a log line), not for a command line only tsc runs. */
  | { kind: 'spawn'; reason: string; unexpected: boolean };

export interface TscPoolStats {
  /** Workers started so far (a terminated one is replaced by a new start). */
  started: number;
  /** Workers alive now, and how many of them are compiling. */
  alive: number;
  busy: number;
  /** Jobs the workers compiled, and jobs handed back to the spawned tsc. */
  compiled: number;
  handedBack: number;
}

const moduleFile = moduleFileOf(import.meta.url);

/**
 * Where the worker entry is. The one place that knows the dist layout:
 * - per-file ESM dist: this module is dist/adapters/tsc-pool.js, the worker
 *   dist/adapters/tsc-worker.js beside it;
 * - a bundle living in dist/: dist/index.cjs (through __filename) and the
 *   bundled CLI dist/cli.js (through import.meta.url) find
 *   dist/adapters/tsc-worker.js, which scripts/build.mjs builds from every
 *   source file; a code-split chunk of a bundle one level down (dist/cli-chunks/)
 *   finds it from its parent dir;
 * - the sources (this repo's tests run src/ directly): src/adapters/tsc-worker.ts.
 */
export function tscWorkerFile(): string {
  const dir = path.dirname(moduleFile);
  const candidates = [path.join(dir, 'tsc-worker.js'), path.join(dir, 'adapters', 'tsc-worker.js'), path.join(dir, '..', 'adapters', 'tsc-worker.js')];
  if (/\.[cm]?ts$/.test(moduleFile)) candidates.unshift(path.join(dir, 'tsc-worker.ts'));
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new Error(`the tsc worker is missing (looked for ${candidates.join(', ')})`);
  return path.resolve(found);
}

let workerEntry: Promise<string | URL> | undefined;

/**
 * The worker file, or for the sources a data: URL of it with the types
 * stripped: Node 20 cannot start a .ts worker, and esbuild is a dependency
 * already. The worker imports only node: builtins, so it runs from anywhere.
 */
function resolveWorkerEntry(): Promise<string | URL> {
  workerEntry ??= (async () => {
    const file = tscWorkerFile();
    if (!file.endsWith('.ts')) return file;
    const { transform } = requireOwn('esbuild') as typeof import('esbuild');
    const { code } = await transform(readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm', platform: 'node', target: 'node20' });
    return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
  })();
  // A failure is remembered too: the worker file does not appear during a run.
  return workerEntry;
}

interface RunningJob {
  id: number;
  onReply(reply: TscWorkerReply): void;
  onExit(reason: string): void;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

class PooledWorker {
  /** TypeScript dirs this worker has loaded: a job prefers a worker that has its compiler warm. */
  readonly loaded = new Set<string>();
  job: RunningJob | undefined;
  private readonly partial = { stdout: '', stderr: '' };

  constructor(
    readonly worker: Worker,
    onGone: (w: PooledWorker) => void,
  ) {
    worker.on('message', (message: TscWorkerReply | TscWorkerOutput) => {
      if (message.kind === 'output') this.output(message);
      else if (this.job?.id === message.id) this.job.onReply(message);
    });
    // 'error' (an uncaught exception, an out-of-memory) is followed by 'exit'.
    worker.on('error', (e: Error) => this.job?.onExit(e.stack ?? e.message));
    worker.on('exit', (code) => {
      this.job?.onExit(`the worker exited with code ${code}`);
      onGone(this);
    });
  }

  /** Whatever the compiler prints goes where a spawned tsc's output goes: the running job's log. */
  private output({ stream, text }: TscWorkerOutput): void {
    const lines = (this.partial[stream] + text).split(/\r?\n/);
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) this.job?.onLine(stream, line);
  }
}

type Waiter = (w: PooledWorker | Error) => void;

class TscPool {
  private readonly workers = new Set<PooledWorker>();
  private readonly idle: PooledWorker[] = [];
  private readonly waiting: Waiter[] = [];
  private starting = 0;
  private nextId = 0;
  /** TypeScript dirs whose compiler cannot run in a worker, with why: spawned from then on. */
  private readonly unloadable = new Map<string, string>();
  private readonly counts = { started: 0, compiled: 0, handedBack: 0 };

  constructor(private readonly size: number) {}

  stats(): TscPoolStats {
    return { ...this.counts, alive: this.workers.size, busy: this.workers.size - this.idle.length };
  }

  async run(job: TscJob, signal: AbortSignal, onLine: RunningJob['onLine']): Promise<TscJobOutcome> {
    const outcome = await this.runInWorker(job, signal, onLine);
    if (outcome.kind === 'spawn') this.counts.handedBack++;
    return outcome;
  }

  private async runInWorker(job: TscJob, signal: AbortSignal, onLine: RunningJob['onLine']): Promise<TscJobOutcome> {
    if (signal.aborted) return { kind: 'aborted' };
    const refused = this.unloadable.get(job.tsDir);
    if (refused) return { kind: 'spawn', reason: refused, unexpected: false };
    const acquired = await this.acquire(job.tsDir, signal);
    if (acquired === 'aborted') return { kind: 'aborted' };
    if (acquired instanceof Error) return { kind: 'spawn', reason: `the tsc worker could not start: ${acquired.message}`, unexpected: true };
    if (signal.aborted) {
      this.release(acquired);
      return { kind: 'aborted' };
    }
    return this.execute(acquired, job, signal, onLine);
  }

  private acquire(tsDir: string, signal: AbortSignal): Promise<PooledWorker | Error | 'aborted'> {
    // The most recently used worker that has this compiler loaded: its caches and JIT are the warmest.
    const warm = this.idle.findLastIndex((w) => w.loaded.has(tsDir));
    const at = warm >= 0 ? warm : this.idle.length - 1;
    if (at >= 0) return Promise.resolve(this.idle.splice(at, 1)[0]!);
    if (this.workers.size + this.starting < this.size) return this.start();
    return new Promise((resolve) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve('aborted');
      };
      const waiter: Waiter = (w) => {
        signal.removeEventListener('abort', onAbort);
        resolve(w);
      };
      this.waiting.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async start(): Promise<PooledWorker | Error> {
    this.starting++;
    try {
      const entry = await resolveWorkerEntry();
      // Not the process's own flags: they may be ones a worker refuses (--input-type of `node -e`)
      // or preloads and loaders meant for the user's code, not for the compiler.
      const worker = new Worker(entry, { execArgv: [] });
      const pooled = new PooledWorker(worker, (w) => this.remove(w));
      this.workers.add(pooled);
      this.counts.started++;
      return pooled;
    } catch (e) {
      return e as Error;
    } finally {
      this.starting--;
    }
  }

  private execute(w: PooledWorker, job: TscJob, signal: AbortSignal, onLine: RunningJob['onLine']): Promise<TscJobOutcome> {
    return new Promise((resolve) => {
      const id = ++this.nextId;
      const settle = (outcome: TscJobOutcome, keep: boolean) => {
        signal.removeEventListener('abort', onAbort);
        w.job = undefined;
        if (keep) this.release(w);
        else this.discard(w);
        resolve(outcome);
      };
      // Resolved once the thread has stopped: nothing is written into the staging dir after the caller hears "aborted".
      const onAbort = () => {
        w.job = undefined;
        this.remove(w);
        w.worker.terminate().then(
          () => resolve({ kind: 'aborted' }),
          () => resolve({ kind: 'aborted' }),
        );
      };
      w.job = {
        id,
        onLine,
        onReply: (reply) => {
          if (reply.kind === 'done') {
            w.loaded.add(job.tsDir);
            this.counts.compiled++;
            settle({ kind: 'done', lines: reply.lines, exitCode: reply.exitCode, reads: reply.reads }, true);
          } else if (reply.kind === 'unsupported') {
            w.loaded.add(job.tsDir);
            settle({ kind: 'spawn', reason: reply.reason, unexpected: false }, true);
          } else if (reply.kind === 'unloadable') {
            const reason = `TypeScript in ${job.tsDir} cannot run in a worker: ${reply.reason}`;
            this.unloadable.set(job.tsDir, reason);
            settle({ kind: 'spawn', reason, unexpected: true }, true);
          } else {
            // The compiler threw: its caches may hold a half-built file, so the worker goes.
            settle({ kind: 'spawn', reason: `TypeScript failed in a worker: ${reply.reason}`, unexpected: true }, false);
          }
        },
        onExit: (reason) => settle({ kind: 'spawn', reason: `the tsc worker crashed: ${reason}`, unexpected: true }, false),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      w.worker.ref();
      w.worker.postMessage({ id, ...job } satisfies TscWorkerRequest);
    });
  }

  /** Back to the pool: straight to the next waiting job, else idle (and unref()ed). */
  private release(w: PooledWorker): void {
    if (!this.workers.has(w)) return;
    const next = this.waiting.shift();
    if (next) {
      next(w);
      return;
    }
    w.worker.unref();
    this.idle.push(w);
  }

  private discard(w: PooledWorker): void {
    this.remove(w);
    void w.worker.terminate();
  }

  /** Forgets a worker that is gone or going; a job waiting for a worker gets a new one in its place. */
  private remove(w: PooledWorker): void {
    if (!this.workers.delete(w)) return;
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.waiting.shift();
    if (next) void this.start().then(next);
  }
}

let pool: TscPool | undefined;

/** Runs one tsc command line in a pooled worker; `onLine` gets anything the compiler prints while it runs. */
export function runInTscWorker(job: TscJob, signal: AbortSignal, onLine: RunningJob['onLine']): Promise<TscJobOutcome> {
  pool ??= new TscPool(Math.min(availableParallelism(), 4));
  return pool.run(job, signal, onLine);
}

/** How the pool has been used in this process (tests check which path ran). */
export function tscPoolStats(): TscPoolStats {
  return pool?.stats() ?? { started: 0, alive: 0, busy: 0, compiled: 0, handedBack: 0 };
}
