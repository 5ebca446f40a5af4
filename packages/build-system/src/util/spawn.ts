import { spawn } from 'node:child_process';

export interface SpawnLinesOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /**
   * What an abort sends first (default SIGTERM, then SIGKILL after 2 s). SIGKILL for a program that
   * ignores SIGTERM and has nothing to clean up (TypeScript 7's native tsc runs to its end on
   * SIGTERM and SIGINT).
   */
  abortWith?: 'SIGTERM' | 'SIGKILL';
  onLine?(stream: 'stdout' | 'stderr', line: string): void;
}

export interface SpawnLinesResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  aborted: boolean;
}

/**
 * Runs a command without a shell, streams its output line by line, and
 * collects it. Aborting the signal sends SIGTERM (then SIGKILL after 2 s), or
 * `abortWith`.
 * Never rejects for a non-zero exit: the caller reads `code`. Rejects only
 * when the program cannot be started (ENOENT, EACCES).
 */
export function spawnLines(command: string, args: readonly string[], options: SpawnLinesOptions): Promise<SpawnLinesResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ code: null, signal: 'SIGTERM', stdout: '', stderr: '', aborted: true });
      return;
    }
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const pending = { stdout: '', stderr: '' };
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      child.kill(options.abortWith ?? 'SIGTERM');
      if (options.abortWith === 'SIGKILL') return;
      killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
      killTimer.unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const feed = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (stream === 'stdout') stdout += text;
      else stderr += text;
      if (!options.onLine) return;
      const lines = (pending[stream] + text).split(/\r?\n/);
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) options.onLine(stream, line);
    };
    child.stdout.on('data', (c: Buffer) => feed('stdout', c));
    child.stderr.on('data', (c: Buffer) => feed('stderr', c));
    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      for (const stream of ['stdout', 'stderr'] as const) {
        if (pending[stream] && options.onLine) options.onLine(stream, pending[stream]);
      }
      resolve({ code, signal, stdout, stderr, aborted });
    });
  });
}
