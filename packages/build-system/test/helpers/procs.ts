import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    // Complete lines only; the tail waits for its newline.
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not an event line
      }
    }
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
  let arg = JSON.stringify(args);
  let argsDir: string | undefined;
  // One argv string may not exceed 128 KiB on Linux: big arguments go through a file, removed once the worker exits.
  if (arg.length > 64_000) {
    argsDir = mkdtempSync(path.join(tmpdir(), 'bs-worker-'));
    const file = path.join(argsDir, 'args.json');
    writeFileSync(file, arg);
    arg = `@${file}`;
  }
  const proc = startProcess(process.execPath, ['--import', 'tsx', workerPath, arg], { cwd: repoRoot, env });
  if (argsDir) void proc.exited.then(() => rmSync(argsDir, { recursive: true, force: true }));
  return proc;
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

/**
 * Lock workers started with `op: 'contend'` and the same `go` file, started together once every one is
 * ready: their exit codes and every round they reported, after all have exited.
 */
export async function contendTogether(ps: Proc[], go: string): Promise<{ codes: (number | null)[]; rounds: Record<string, unknown>[] }> {
  await Promise.all(ps.map((p) => p.event('ready')));
  writeFileSync(go, '');
  const exits = await Promise.all(ps.map((p) => p.exited));
  return { codes: exits.map((x) => x.code), rounds: ps.flatMap((p) => p.events.filter((e) => e.type === 'round')) };
}
