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
import { lstatSync, mkdirSync, readdirSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BuildSystemError } from './errors.js';
import { VERSION } from './version.js';
import type { PackageInfo } from './workspace/package-info.js';
import { hold, type PackageLock, type RecordlessLock } from './lock/hold.js';
import { heldTokens, judge, myPidNamespace, observe, OWNER_FILE, seconds, staleLimit, waitingMessage, type LockOwner, type Observation } from './lock/owner.js';

export type { LockOwner } from './lock/owner.js';
export type { PackageLock } from './lock/hold.js';
export { waitingMessage } from './lock/owner.js';

export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;
export const DEFAULT_STALE_MS = 10_000;
/** Heartbeat cadence; never more than a third of the stale timeout, so two missed beats are not yet "stale". */
const HEARTBEAT_MS = 2_000;
/** Poll back-off while waiting: fast at first (a cache hit holds the lock for milliseconds), then gentle. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;
/** When a brief hold writes its owner record after all (see `brief`). */
const BRIEF_RECORD_MS = 200;


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
  /**
   * The holder expects to be done in milliseconds (a restore from the cache): the lock directory is
   * taken without its owner record, which is written only if the hold lasts past `BRIEF_RECORD_MS` (or a
   * heartbeat, if sooner). That saves creating and deleting a file per package where file creation is most
   * of the work (research.md §25, §3 "Brief hold"). What it costs: a holder killed before its record is
   * written leaves a lock that waiters judge by the directory's time alone (stale after `staleMs`), not by
   * its dead pid.
   */
  brief?: boolean;
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
// Acquire

function newToken(): string {
  return randomBytes(8).toString('hex');
}

async function writeOwner(dir: string, owner: LockOwner): Promise<void> {
  // Written aside and renamed in, so a reader never sees half a record.
  const tmp = path.join(dir, `${OWNER_FILE}.${owner.token}.tmp`);
  // Synchronous, like the mkdir before it: a lock is taken per package build, and the promise API's per-call
  // cost was most of the work for these small files (research.md §8, session 10).
  writeFileSync(tmp, `${JSON.stringify(owner, null, 2)}\n`);
  renameSync(tmp, path.join(dir, OWNER_FILE));
}

/**
 * mkdir is the atomic step: exactly one process creates the directory. Then the owner record, unless
 * `withRecord` is false (a brief hold): true when the lock is ours.
 */
async function tryCreate(dir: string, owner: LockOwner, withRecord = true): Promise<boolean> {
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw e;
    // Parent missing (first build, or node_modules was just removed): create it and try again.
    await mkdir(path.dirname(dir), { recursive: true });
    return tryCreate(dir, owner, withRecord);
  }
  if (!withRecord) return true;
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
      let recordless: RecordlessLock | undefined;
      try {
        if (await tryCreate(dir, me, !opts.brief)) {
          if (opts.brief) {
            const st = lstatSync(dir, { throwIfNoEntry: false });
            // Removed by hand the moment after our mkdir: nothing is held, take it again.
            if (!st) continue;
            recordless = { ino: st.ino, birthtimeMs: st.birthtimeMs, recordAfterMs: Math.min(BRIEF_RECORD_MS, heartbeatMs) };
          }
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
        return hold(dir, me, Date.now() - started, tookOver, recordless);
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
    // readdirSync: one small directory per lock taken, where the promise API's per-call cost is most of the work.
    for (const name of readdirSync(parent)) {
      if (name.startsWith(prefix)) await rm(path.join(parent, name), { recursive: true, force: true });
    }
  } catch {
    // best effort: a leftover copy is no lock and harms nothing
  }
}
