/**
 * The lock's owner record and the judgement of a lock someone else holds: who
 * holds it, is that process still alive on this host, is its heartbeat fresh,
 * and the words a waiting user is shown. Pure reading: nothing here takes,
 * refreshes or releases a lock (that is `../lock.ts` and `./hold.ts`).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const OWNER_FILE = 'owner.json';

export interface LockOwner {
  /** Random id of this acquisition: tells lock generations apart when pids repeat. */
  token: string;
  pid: number;
  hostname: string;
  /**
   * Linux pid namespace of the holder (`/proc/self/ns/pid`). Containers that
   * share a hostname (host networking) have separate pid spaces: a pid is only
   * checked when hostname and namespace both match.
   */
  pidNamespace?: string;
  /** When the lock was taken (ISO time). */
  startedAt: string;
  /** What holds it, for people: e.g. `build:package`. */
  command: string;
  /** The holder's full command line, for diagnosis. */
  commandLine: string;
  /** build-system version of the holder. */
  version: string;
  package: string;
  /** The holder's heartbeat cadence: waiters never call a lock stale before three beats were missed. */
  heartbeatMs: number;
}

// ---------------------------------------------------------------------------
// Host identity and liveness

let pidNamespaceCache: string | null | undefined;
export function myPidNamespace(): string | undefined {
  if (pidNamespaceCache === undefined) {
    try {
      pidNamespaceCache = readlinkSync('/proc/self/ns/pid');
    } catch {
      pidNamespaceCache = null;
    }
  }
  return pidNamespaceCache ?? undefined;
}

/** Can we judge this owner's pid? Only on the same host and, on Linux, in the same pid namespace. */
function pidIsComparable(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return false;
  const mine = myPidNamespace();
  return owner.pidNamespace === undefined || mine === undefined || owner.pidNamespace === mine;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

let bootTimeMs: number | null | undefined;
/**
 * Start time of a process (Linux only, from /proc), or undefined. A pid whose
 * process started after the lock was taken cannot be the holder: the pid was
 * reused (common in containers, where pids are small and restart from 1).
 */
function processStartMs(pid: number): number | undefined {
  try {
    if (bootTimeMs === undefined) {
      const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      bootTimeMs = m ? Number(m[1]) * 1000 : null;
    }
    if (bootTimeMs === null) return undefined;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]); // field 22 overall: starttime in clock ticks since boot
    // USER_HZ is 100 on every Linux architecture Node supports.
    return Number.isFinite(ticks) ? bootTimeMs + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}
/** Slack for the /proc start-time comparison: btime has 1 s resolution and follows wall-clock steps. */
const PID_REUSE_SLACK_MS = 2_000;

/** Tokens of the locks this process holds right now (a record with our pid but another token is a dead predecessor's). */
export const heldTokens = new Set<string>();

export interface Observation {
  owner: LockOwner | null;
  /** Heartbeat time: owner.json's mtime, or the directory's while no record is written yet. */
  heartbeatAt: number;
}

export type Verdict = { stale: false } | { stale: true; reason: string };

export function isOwner(x: unknown): x is LockOwner {
  const o = x as LockOwner;
  return (
    typeof o === 'object' &&
    o !== null &&
    // The token names claim directories: a path-safe word only.
    typeof o.token === 'string' &&
    /^[0-9A-Za-z_]{1,64}$/.test(o.token) &&
    Number.isInteger(o.pid) &&
    o.pid > 0 &&
    typeof o.hostname === 'string' &&
    typeof o.startedAt === 'string'
  );
}

/** Reads the lock as it is now; null when there is none. */
export async function observe(dir: string): Promise<Observation | null> {
  const file = path.join(dir, OWNER_FILE);
  try {
    const text = await readFile(file, 'utf8');
    const st = await stat(file);
    const parsed: unknown = JSON.parse(text);
    if (isOwner(parsed)) return { owner: parsed, heartbeatAt: st.mtimeMs };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  // No (valid) record: the holder is between mkdir and writing it, or died there.
  try {
    return { owner: null, heartbeatAt: (await stat(dir)).mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The holder's own cadence stretches the limit (three missed beats), capped so a bogus record cannot pin a lock forever. */
export function staleLimit(owner: LockOwner | null, staleMs: number): number {
  const beat = typeof owner?.heartbeatMs === 'number' && owner.heartbeatMs > 0 ? Math.min(owner.heartbeatMs, 60_000) : 0;
  return Math.max(staleMs, 3 * beat);
}

export function judge(seen: Observation, staleMs: number, now = Date.now()): Verdict {
  const o = seen.owner;
  if (o && pidIsComparable(o)) {
    if (o.pid === process.pid && !heldTokens.has(o.token)) return { stale: true, reason: `it was taken by an earlier process with this pid (${o.pid})` };
    if (!pidAlive(o.pid)) return { stale: true, reason: `pid ${o.pid} is not running on this host` };
    const started = processStartMs(o.pid);
    if (started !== undefined && started > Date.parse(o.startedAt) + PID_REUSE_SLACK_MS) {
      return { stale: true, reason: `pid ${o.pid} now belongs to a process started after the lock was taken` };
    }
  }
  const limit = staleLimit(seen.owner, staleMs);
  const age = now - seen.heartbeatAt;
  if (age > limit) return { stale: true, reason: `its heartbeat is ${seconds(age)} s old (stale after ${seconds(limit)} s)` };
  return { stale: false };
}

// ---------------------------------------------------------------------------
// Messages

export function seconds(ms: number): string {
  const s = ms / 1000;
  return s >= 10 || Number.isInteger(s) ? String(Math.round(s)) : s.toFixed(1);
}

function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  // A lock from another day says so; today's shows the time only.
  return d.toDateString() === new Date().toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

function holderText(owner: LockOwner | null): string {
  if (!owner) return 'locked by a process that has not written its owner record yet';
  return `locked by pid ${owner.pid} on host ${owner.hostname} since ${clock(owner.startedAt)} (${owner.command})`;
}

/** `took over the lock of @demo/core (locked by pid 4211 on host ci-7 since 12:03:11 (build:package)): its heartbeat is 5.0 s old (stale after 3 s)` */
export function takeoverMessage(pkgName: string, tookOver: { owner: LockOwner | null; reason: string }): string {
  return `took over the lock of ${pkgName} (${holderText(tookOver.owner)}): ${tookOver.reason}`;
}

/** `waiting for @demo/core: locked by pid 4211 on host ci-7 since 12:03:11 (build:package)` */
export function waitingMessage(pkgName: string, owner: LockOwner | null): string {
  return `waiting for ${pkgName}: ${holderText(owner)}`;
}

