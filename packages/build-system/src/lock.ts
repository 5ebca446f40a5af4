/**
 * Per-package build lock: one directory per package, created with an atomic
 * `mkdir`, holding an owner record and refreshed by a heartbeat.
 *
 * Why a directory and not flock/proper-lockfile: see
 * specs/002-build-package-handler/research.md (question 3). In short: `mkdir`
 * is atomic on every local and network filesystem Node runs on, needs no
 * native addon (Bun included), and lets us keep an owner record next to the
 * lock so a waiting user is told who holds it. proper-lockfile implements the
 * same idea but its stale-lock takeover is `rm` + `mkdir`, which lets two
 * waiters that saw the same stale lock both "win"; ours cannot (see takeOver).
 *
 * Layout (the lock directory `L`):
 *   L/owner.json                 who holds it; its mtime is the heartbeat
 *   L/takeover-<token>-<n>/      transient: a waiter claiming a stale lock
 * The directory's existence is the lock. Release renames L away (so it
 * vanishes in one step) and deletes the renamed copy.
 */
import { lstatSync, readFileSync, readlinkSync, renameSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BuildSystemError } from './errors.js';
import { VERSION } from './version.js';
import type { PackageInfo } from './workspace/package-info.js';
import { onInterrupt } from './util/signals.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;
export const DEFAULT_STALE_MS = 10_000;
/** Heartbeat cadence; never more than a third of the stale timeout, so two missed beats are not yet "stale". */
const HEARTBEAT_MS = 2_000;
const OWNER_FILE = 'owner.json';
/** Poll back-off while waiting: fast at first (a cache hit holds the lock for milliseconds), then gentle. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;

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

export interface PackageLockOptions {
  /** How long to wait for another holder; 0 = fail at once. Default 5 minutes. */
  timeoutMs?: number;
  /** A lock whose heartbeat is older than this is stale (any host). Default 10 s. */
  staleMs?: number;
  /** Short name of what takes the lock, shown to waiters: `build:package`. */
  command?: string;
  /** Full command line recorded in the owner record (default: this process's argv). */
  commandLine?: string;
  /** Aborting stops the wait (rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called once when the lock is busy and we start to wait, with the line to show. */
  onWait?(message: string): void;
}

export interface PackageLock {
  /** The lock directory. */
  readonly dir: string;
  readonly owner: LockOwner;
  /** How long acquiring took (0 when the lock was free). */
  readonly waitedMs: number;
  /** Set when a stale lock was taken over: whose and why. */
  readonly tookOver?: { owner: LockOwner | null; reason: string };
  /**
   * True once the lock is no longer ours: released, or taken over by another
   * process because our heartbeat stalled past its stale timeout.
   */
  readonly lost: boolean;
  /** Re-reads the owner record now; throws unless this lock still holds it. Call right before publishing outputs. */
  assertHeld(): Promise<void>;
  /** Releases the lock (idempotent). Never removes a lock that another process has taken over. */
  release(): Promise<void>;
}

/**
 * Where a package's lock lives: `<pkg>/node_modules/.cache/build-system/lock`.
 * node_modules/.cache is ignored by git, npm pack and every file watcher, so
 * the 2-second heartbeat wakes nothing up. When `<pkg>/node_modules` is a
 * symlink (shared with other packages, as test fixtures and some container
 * setups do) a lock there would be shared by every package linking it, so the
 * lock stays in the package itself: `<pkg>/.build-system-lock`.
 */
export function lockDirFor(pkgDir: string): string {
  const nodeModules = path.join(pkgDir, 'node_modules');
  let linked = false;
  try {
    linked = lstatSync(nodeModules).isSymbolicLink();
  } catch {
    // absent: created as a real directory below
  }
  return linked ? path.join(pkgDir, '.build-system-lock') : path.join(nodeModules, '.cache', 'build-system', 'lock');
}

// ---------------------------------------------------------------------------
// Host identity and liveness

let pidNamespaceCache: string | null | undefined;
function myPidNamespace(): string | undefined {
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
const heldTokens = new Set<string>();

interface Observation {
  owner: LockOwner | null;
  /** Heartbeat time: owner.json's mtime, or the directory's while no record is written yet. */
  heartbeatAt: number;
}

type Verdict = { stale: false } | { stale: true; reason: string };

function isOwner(x: unknown): x is LockOwner {
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
async function observe(dir: string): Promise<Observation | null> {
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
function staleLimit(owner: LockOwner | null, staleMs: number): number {
  const beat = typeof owner?.heartbeatMs === 'number' && owner.heartbeatMs > 0 ? Math.min(owner.heartbeatMs, 60_000) : 0;
  return Math.max(staleMs, 3 * beat);
}

function judge(seen: Observation, staleMs: number, now = Date.now()): Verdict {
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

function seconds(ms: number): string {
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

/** `waiting for @demo/core: locked by pid 4211 on host ci-7 since 12:03:11 (build:package)` */
export function waitingMessage(pkgName: string, owner: LockOwner | null): string {
  return `waiting for ${pkgName}: ${holderText(owner)}`;
}

// ---------------------------------------------------------------------------
// Acquire

function newToken(): string {
  return randomBytes(8).toString('hex');
}

async function writeOwner(dir: string, owner: LockOwner): Promise<void> {
  // Written aside and renamed in, so a reader never sees half a record.
  const tmp = path.join(dir, `${OWNER_FILE}.${owner.token}.tmp`);
  await writeFile(tmp, `${JSON.stringify(owner, null, 2)}\n`);
  await rename(tmp, path.join(dir, OWNER_FILE));
}

/** mkdir is the atomic step: exactly one process creates the directory. */
async function tryCreate(dir: string, owner: LockOwner): Promise<boolean> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw e;
    // Parent missing (first build, or node_modules was just removed): create it and try again.
    await mkdir(path.dirname(dir), { recursive: true });
    return tryCreate(dir, owner);
  }
  try {
    await writeOwner(dir, owner);
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
  return true;
}

const CLAIM_RE = /^takeover-([0-9A-Za-z_]+)-(\d+)$/;

/**
 * Takes over a lock judged stale, race-free among several waiters that saw
 * the same stale lock.
 *
 * The naive way (rm the stale directory, then mkdir) is not safe: waiter A
 * removes it and creates its own lock, then waiter B, acting on what it saw
 * before, removes A's fresh lock. Here nobody removes anybody's directory.
 * A waiter first claims the stale lock by `mkdir L/takeover-<token>-<n>`
 * (atomic: one claimant per stale owner token and generation), then — holding
 * the claim — reads the record again and only if it is still the same stale
 * owner replaces owner.json (atomic rename) with its own. A claimant whose
 * view is outdated finds another token in owner.json and backs off. A claim
 * left by a claimant that died is itself stale after `staleMs`; the next
 * waiter then claims generation n+1.
 */
async function takeOver(dir: string, seen: Observation, me: LockOwner, staleMs: number): Promise<'acquired' | 'busy' | 'gone'> {
  const id = seen.owner?.token ?? 'none';
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 'gone';
  }
  let next = 0;
  for (const name of names) {
    const m = CLAIM_RE.exec(name);
    if (!m || m[1] !== id) continue;
    let age: number;
    try {
      age = Date.now() - (await stat(path.join(dir, name))).mtimeMs;
    } catch {
      continue;
    }
    if (age <= staleMs) return 'busy'; // someone is taking it over right now
    next = Math.max(next, Number(m[2]) + 1);
  }
  const claim = path.join(dir, `takeover-${id}-${next}`);
  try {
    await mkdir(claim);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return 'busy';
    if (code === 'ENOENT') return 'gone';
    throw e;
  }
  try {
    const again = await observe(dir);
    if (!again) return 'gone';
    if ((again.owner?.token ?? 'none') !== id) return 'busy';
    if (again.owner) {
      // owner.json's mtime is the heartbeat; our claim did not touch it, so this is a fresh judgement.
      if (!judge(again, staleMs).stale) return 'busy';
    }
    // Without a record the only clock is the directory's mtime, which our claim
    // just bumped: the verdict from before the claim stands (the record is still missing).
    await writeOwner(dir, me);
    return 'acquired';
  } finally {
    await rmdir(claim).catch(() => {});
  }
}

/**
 * Sleeps between polls, but wakes as soon as the lock's parent directory
 * changes (a release renames the lock away), so a handoff takes milliseconds
 * instead of up to one poll interval. The watcher only speeds things up:
 * polling stays, because inotify does not see other hosts' changes on a
 * network filesystem and watching can fail (watch limits, unsupported fs).
 */
class Waiter {
  private watcher: FSWatcher | undefined;
  private poke: (() => void) | undefined;

  constructor(dir: string) {
    try {
      this.watcher = watch(dir, { persistent: false }, () => this.poke?.());
      this.watcher.on('error', () => this.close());
    } catch {
      // polling only
    }
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const started = Date.now();
      let timer = setTimeout(() => finish(), ms);
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        this.poke = undefined;
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = () => finish(signal!.reason);
      // A burst of events must not become a busy loop: at most one look per 5 ms.
      this.poke = () => {
        this.poke = undefined;
        clearTimeout(timer);
        timer = setTimeout(() => finish(), Math.max(0, 5 - (Date.now() - started)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}

export async function acquirePackageLock(pkg: PackageInfo, opts: PackageLockOptions = {}): Promise<PackageLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const heartbeatMs = Math.max(50, Math.min(HEARTBEAT_MS, Math.floor(staleMs / 3)));
  const dir = lockDirFor(pkg.dir);
  const started = Date.now();
  const owner = (): LockOwner => ({
    token: newToken(),
    pid: process.pid,
    hostname: os.hostname(),
    pidNamespace: myPidNamespace(),
    startedAt: new Date().toISOString(),
    command: opts.command ?? 'build:package',
    commandLine: opts.commandLine ?? process.argv.join(' '),
    version: VERSION,
    package: pkg.name,
    heartbeatMs,
  });

  let announced = false;
  let delay = POLL_FIRST_MS;
  let waiter: Waiter | undefined;
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const me = owner();
      // Registered before the lock exists, so our own judge() never calls our fresh record stale.
      heldTokens.add(me.token);
      let tookOver: PackageLock['tookOver'];
      let acquired = false;
      try {
        if (await tryCreate(dir, me)) {
          acquired = true;
        } else {
          const seen = await observe(dir);
          if (!seen) continue; // released between our mkdir and our look: try again at once
          const verdict = judge(seen, staleMs);
          if (verdict.stale) {
            const r = await takeOver(dir, seen, me, staleMs);
            if (r === 'acquired') {
              acquired = true;
              tookOver = { owner: seen.owner, reason: verdict.reason };
            } else if (r === 'gone') continue;
          }
          if (!acquired) {
            const waited = Date.now() - started;
            if (waited >= timeoutMs) throw timeoutError(pkg, dir, seen, staleMs, timeoutMs);
            // A record-less lock is usually a holder between mkdir and its write: give it a moment before naming nobody.
            if (!announced && (seen.owner || waited > 1000)) {
              announced = true;
              opts.onWait?.(waitingMessage(pkg.name, seen.owner));
            }
            const jitter = 0.8 + Math.random() * 0.4; // de-synchronise waiters started together
            waiter ??= new Waiter(path.dirname(dir));
            await waiter.sleep(Math.min(delay * jitter, Math.max(1, timeoutMs - waited)), opts.signal);
            delay = Math.min(delay * 1.5, POLL_MAX_MS);
          }
        }
      } finally {
        if (!acquired) heldTokens.delete(me.token);
      }
      if (acquired) {
        void sweepReleased(dir);
        return hold(dir, me, Date.now() - started, tookOver);
      }
    }
  } finally {
    waiter?.close();
  }
}

function timeoutError(pkg: PackageInfo, dir: string, seen: Observation, staleMs: number, timeoutMs: number): BuildSystemError {
  const limit = staleLimit(seen.owner, staleMs);
  const message =
    `timed out after ${seconds(timeoutMs)} s (--lock-timeout ${seconds(timeoutMs)}) ${waitingMessage(pkg.name, seen.owner)}; ` +
    `its heartbeat is ${seconds(Math.max(0, Date.now() - seen.heartbeatAt))} s old (stale after ${seconds(limit)} s); lock: ${path.relative(process.cwd(), dir) || dir}`;
  return new BuildSystemError('LOCK_TIMEOUT', message, { package: pkg.name, issues: [{ message }] });
}

/** Removes `lock.released-*` copies left by a holder killed between its release rename and rm. */
async function sweepReleased(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.released-`;
  try {
    for (const name of await readdir(parent)) {
      if (name.startsWith(prefix)) await rm(path.join(parent, name), { recursive: true, force: true });
    }
  } catch {
    // best effort: a leftover copy is no lock and harms nothing
  }
}

// ---------------------------------------------------------------------------
// Holding and releasing

function hold(dir: string, me: LockOwner, waitedMs: number, tookOver: PackageLock['tookOver']): PackageLock {
  const ownerFile = path.join(dir, OWNER_FILE);
  let lost = false;
  let released = false;
  let beating = false;

  const stillOurs = async (): Promise<boolean> => {
    try {
      const o: unknown = JSON.parse(await readFile(ownerFile, 'utf8'));
      return isOwner(o) && o.token === me.token;
    } catch {
      return false;
    }
  };

  const beat = async () => {
    if (beating || released) return;
    beating = true;
    try {
      if (!(await stillOurs())) {
        // Taken over (we stalled past the stale timeout) or removed by hand: stop pretending.
        lost = true;
        stop();
        return;
      }
      const now = new Date();
      await utimes(ownerFile, now, now);
    } catch {
      // A missed beat is tolerated (three are needed before anyone calls the lock stale).
    } finally {
      beating = false;
    }
  };
  // unref: a heartbeat must never keep a finished process alive.
  const timer = setInterval(() => void beat(), me.heartbeatMs);
  timer.unref();

  const stop = () => {
    clearInterval(timer);
    heldTokens.delete(me.token);
    unregister();
  };

  const releaseSync = () => {
    if (released) return;
    released = true;
    stop();
    if (lost) return;
    lost = true;
    try {
      const o: unknown = JSON.parse(readFileSync(ownerFile, 'utf8'));
      if (!isOwner(o) || o.token !== me.token) return;
      const grave = `${dir}.released-${me.token}`;
      renameSync(dir, grave);
      rmSync(grave, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours: nothing to release.
    }
  };

  const unregister = onInterrupt(releaseSync);

  return {
    dir,
    owner: me,
    waitedMs,
    tookOver,
    get lost() {
      return lost;
    },
    async assertHeld() {
      if (!lost && (await stillOurs())) return;
      lost = true;
      throw new BuildSystemError(
        'LOCK_LOST',
        `lost the lock on ${me.package}: another process took it over (this one stalled for more than the stale timeout) or it was removed; outputs were not published`,
        { package: me.package, issues: [{ message: `lost the lock on ${me.package} before publishing outputs` }] },
      );
    },
    async release() {
      if (released) return;
      released = true;
      stop();
      if (lost) return;
      lost = true;
      if (!(await stillOurs())) return;
      // Renamed away first so the lock disappears in one step; rm -rf of the
      // directory itself would leave a record-less lock for a moment.
      const grave = `${dir}.released-${me.token}`;
      try {
        await rename(dir, grave);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      // Usually just the owner record: two calls instead of rm -rf's walk. Anything else in it
      // (a takeover claim left behind) takes the full removal.
      await unlink(path.join(grave, OWNER_FILE)).catch(() => {});
      await rmdir(grave).catch(() => rm(grave, { recursive: true, force: true }));
    },
  };
}
