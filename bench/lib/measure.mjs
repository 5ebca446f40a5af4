/**
 * Runs one command and measures it: wall time from spawn to exit (hrtime), and
 * from GNU time the peak RSS of the largest process of its tree (%M, which is
 * getrusage(RUSAGE_CHILDREN).ru_maxrss: the biggest single descendant, not a
 * sum) and the CPU time of the whole tree (%U + %S: every descendant that was
 * waited for). Output is captured (the harness parses cache hit counts from it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';

/**
 * Busy CPU time of the whole machine so far (ms), from the first line of
 * /proc/stat (user nice system idle iowait irq softirq steal …, in USER_HZ =
 * 100 ticks per second on Linux); null where there is no /proc/stat.
 */
function machineBusyMs() {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) * 10;
  } catch {
    return null;
  }
}
export const hasGnuTime = existsSync(GNU_TIME);

/**
 * @param {{ cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv }} command
 * @param {{ timeoutMs?: number, rss?: boolean }} [opts]
 * othersCores: how many cores other processes kept busy, on average, while the
 * command ran (the machine's busy time over the interval minus the command
 * tree's own CPU time, ÷ wall time); null without /proc/stat or GNU time.
 * @returns {Promise<{ ms: number, code: number | null, signal: string | null, stdout: string, stderr: string, rssKb: number | null, cpuMs: number | null, othersCores: number | null, timedOut: boolean }>}
 */
export function measure(command, opts = {}) {
  const { timeoutMs = 30 * 60_000, rss = true } = opts;
  const useTime = rss && hasGnuTime;
  const tmp = useTime ? mkdtempSync(path.join(tmpdir(), 'bs-bench-time-')) : null;
  const timeFile = tmp ? path.join(tmp, 'rss') : null;
  const [cmd, args] = useTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command.cmd, ...command.args]] : [command.cmd, command.args];
  return new Promise((resolve, reject) => {
    const busyBefore = machineBusyMs();
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: command.cwd, env: command.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole group: turbo and nx leave grandchildren otherwise.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const busyAfter = machineBusyMs();
      clearTimeout(timer);
      let rssKb = null;
      let cpuMs = null;
      if (timeFile) {
        try {
          // GNU time prints "Command exited with non-zero status N" before the values on failure.
          const [m, u, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
          rssKb = Number.isFinite(m) ? m : null;
          cpuMs = Number.isFinite(u) && Number.isFinite(sys) ? Math.round((u + sys) * 1000) : null;
        } catch {
          rssKb = null;
        }
        rmSync(tmp, { recursive: true, force: true });
      }
      const othersCores = busyBefore !== null && busyAfter !== null && cpuMs !== null && ms > 0 ? Math.max(0, busyAfter - busyBefore - cpuMs) / ms : null;
      resolve({ ms, code, signal, stdout, stderr, rssKb, cpuMs, othersCores, timedOut });
    });
  });
}

/** Median of numbers (mean of the middle two for an even count); null for none. */
export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return null;
  return { n: v.length, median: median(v), min: Math.min(...v), max: Math.max(...v) };
}
