import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { STDIN_ARG } from './tsc-snapshot-protocol.js';

/**
 * A process started from a TypeScript 5 snapshot before its job is known
 * (research.md §13, "Prewarmed snapshot process"): it waits for one request
 * on stdin. Its own module because two bundles start one: the CLI's CommonJS
 * start file (cli-start.ts), as soon as the no-op replay has said no, and
 * tsc-snapshot.ts for a run that did not come through it (the API, watch).
 * The first leaves it in a global slot that the second takes it from; the two
 * have separate copies of this module, so the slot is keyed by a registered
 * symbol. A process is only ever used for a job whose snapshot key and libs
 * tsc-snapshot.ts has checked at that moment; starting one checks nothing.
 */
export interface PrewarmedProcess {
  key: string;
  cacheDir: string;
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** performance.now() of the process that started it. */
  startedAt: number;
}

const SLOT = Symbol.for('build-system.tsc-snapshot-prewarmed');
type Slot = { [SLOT]?: PrewarmedProcess };

/** Starts `node --snapshot-blob <blob>` waiting for its job on stdin, at nice 10, not holding this process open. */
export function startPrewarmedProcess(blob: string, key: string, cacheDir: string): PrewarmedProcess {
  // Its cwd is the job's, set when the job arrives (tsc-snapshot-entry.ts).
  const child = spawn(process.execPath, ['--snapshot-blob', blob, STDIN_ARG], { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output.stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output.stderr += c));
  child.stdin!.on('error', () => {}); // it died before its job: closed says so
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', () => resolve({ code: null, signal: null }));
    child.on('close', (code, sig) => resolve({ code, signal: sig }));
  });
  try {
    // The run that started it comes first: it only has to be ready by the first TypeScript 5 job.
    if (child.pid) setPriority(child.pid, 10);
  } catch {
    // not allowed here
  }
  holdOpen(child, false);
  return { key, cacheDir, child, output, closed, startedAt: performance.now() };
}

/** While unused it must not keep this process alive (an unused one dies on its stdin's EOF when this process exits). */
export function holdOpen(child: ChildProcess, hold: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as ({ ref(): void; unref(): void } | null)[]) {
    if (hold) handle?.ref();
    else handle?.unref();
  }
}

/** Leaves a started process for the run this process is about to make. */
export function leavePrewarmedProcess(started: PrewarmedProcess): void {
  (globalThis as Slot)[SLOT] = started;
}

/** The process left by the CLI's start file for this cache dir, if any (taken: at most one taker). */
export function takePrewarmedProcess(cacheDir: string): PrewarmedProcess | undefined {
  const slot = globalThis as Slot;
  const started = slot[SLOT];
  slot[SLOT] = undefined;
  if (started && started.cacheDir !== cacheDir) {
    started.child.kill('SIGKILL');
    return undefined;
  }
  return started;
}
