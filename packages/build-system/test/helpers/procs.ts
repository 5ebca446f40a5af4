import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './fixture.js';

const workerPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lock-worker.ts');

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Parsed stdout JSON lines so far. */
  events: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout event of this type (rejects if the process exits first). */
  event(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when stderr contains `text`. */
  stderrIncludes(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns any command, collecting output; stdout lines that parse as JSON become events. */
export function startProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? repoRoot, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const poke = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const before = out;
    out += d;
    // Complete lines only.
    const lines = out.slice(before.lastIndexOf('\n') + 1).split('\n');
    if (before.length && !before.endsWith('\n')) void 0;
    events.length = 0;
    for (const line of out.split('\n')) {
      if (!line.trim().startsWith('{')) continue;
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a partial line; parsed on the next chunk
      }
    }
    void lines;
    poke();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    poke();
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      poke();
      resolve({ code, signal });
    });
  });
  const until = <T>(check: () => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout: ${out}\nstderr: ${err}`));
      }, timeoutMs);
      const w = () => {
        const v = check();
        if (v !== undefined) {
          clearTimeout(t);
          waiters.delete(w);
          resolve(v);
        } else if (done) {
          clearTimeout(t);
          waiters.delete(w);
          reject(new Error(`process exited before ${what}\nstdout: ${out}\nstderr: ${err}`));
        }
      };
      waiters.add(w);
      w();
    });
  return {
    child,
    pid: child.pid!,
    events,
    stdout: () => out,
    stderr: () => err,
    event: (type, timeoutMs = 30_000) => until(() => events.find((e) => e.type === type), `event ${type}`, timeoutMs),
    stderrIncludes: (text, timeoutMs = 30_000) => until(() => (err.includes(text) ? true : undefined), JSON.stringify(text), timeoutMs).then(() => {}),
    exited,
  };
}

/** Starts test/helpers/lock-worker.ts in a child Node process (TypeScript through tsx). */
export function startWorker(args: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Proc {
  return startProcess(process.execPath, ['--import', 'tsx', workerPath, JSON.stringify(args)], { cwd: repoRoot, env });
}

/** A pid that is certainly not running now: a child that has exited. */
export async function deadPid(): Promise<number> {
  const p = startProcess(process.execPath, ['-e', '0']);
  await p.exited;
  return p.pid;
}

export function killAndWait(p: Proc, signal: NodeJS.Signals = 'SIGKILL') {
  p.child.kill(signal);
  return p.exited;
}
