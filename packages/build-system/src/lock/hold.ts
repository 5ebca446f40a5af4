/**
 * A held lock: the heartbeat that keeps it fresh, the check that it is still
 * ours right before publishing, and release (async, or synchronous from the
 * interrupt hook). Taking a lock is `../lock.ts`.
 */
import { lstatSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import { onInterrupt } from '../util/signals.js';
import { heldTokens, isOwner, OWNER_FILE, type LockOwner } from './owner.js';

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
 * A brief hold's lock directory, taken without its owner record (`acquirePackageLock`'s `brief`): the
 * directory's identity (inode number, birth time) tells it apart from a lock created after ours was removed, and
 * the record is written only if the hold lasts `recordAfterMs`.
 */
export interface RecordlessLock {
  ino: number;
  /** Inode numbers are reused at once after a removal; with the birth time, a lock made anew is another lock. */
  birthtimeMs: number;
  recordAfterMs: number;
}

// ---------------------------------------------------------------------------
// Holding and releasing

export function hold(dir: string, me: LockOwner, waitedMs: number, tookOver: PackageLock['tookOver'], recordless?: RecordlessLock): PackageLock {
  const ownerFile = path.join(dir, OWNER_FILE);
  let lost = false;
  let released = false;
  let beating = false;
  let recorded = recordless === undefined;

  const stillOursNow = (): boolean => {
    try {
      // Synchronous: a small record read twice per build (before publishing, at release), where the promise
      // API's per-call cost is most of the work (research.md §8, session 10).
      const o: unknown = JSON.parse(readFileSync(ownerFile, 'utf8'));
      return isOwner(o) && o.token === me.token;
    } catch (e) {
      // No record in a lock we took without one: ours while it is the very directory we created. A takeover
      // always writes its record (and a waiter judges a record-less lock by the directory's time), so a
      // record we did not write means the lock is someone else's.
      if (recorded || (e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      try {
        const st = lstatSync(dir);
        return st.ino === recordless!.ino && st.birthtimeMs === recordless!.birthtimeMs;
      } catch {
        return false;
      }
    }
  };
  const stillOurs = async (): Promise<boolean> => stillOursNow();

  // A brief hold that turned out long: the record is written now, well inside the stale limit (at most a
  // heartbeat in), so waiters name the holder and a crash from here on is judged by its pid. Created
  // exclusively: never over a record someone else wrote.
  const writeRecord = () => {
    if (recorded || released) return;
    if (!stillOursNow()) {
      lost = true;
      stop();
      return;
    }
    try {
      writeFileSync(ownerFile, `${JSON.stringify(me, null, 2)}\n`, { flag: 'wx' });
      recorded = true;
    } catch {
      // EEXIST: someone else's record now; the next beat or assertHeld sees the loss. Others: the next beat retries.
    }
  };
  const recordTimer = recordless ? setTimeout(writeRecord, recordless.recordAfterMs) : undefined;
  recordTimer?.unref();

  const beat = async () => {
    if (beating || released) return;
    beating = true;
    try {
      if (!recorded) return writeRecord();
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
    clearTimeout(recordTimer);
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
      if (!stillOursNow() || removedRecordless()) return;
      const grave = `${dir}.released-${me.token}`;
      renameSync(dir, grave);
      rmSync(grave, { recursive: true, force: true });
    } catch {
      // Gone already, or not ours: nothing to release.
    }
  };

  // A record-less lock holds nothing but what takeover claims may have added: an empty one is removed in
  // one step by rmdir itself (a claim inside makes it fail, and the full release below runs).
  const removedRecordless = (): boolean => {
    if (recorded) return false;
    try {
      rmdirSync(dir);
      return true;
    } catch {
      return false;
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
      if (!stillOursNow() || removedRecordless()) return;
      // Renamed away first so the lock disappears in one step; rm -rf of the
      // directory itself would leave a record-less lock for a moment.
      const grave = `${dir}.released-${me.token}`;
      try {
        renameSync(dir, grave);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      // Usually just the owner record: two calls instead of rm -rf's walk. Anything else in it
      // (a takeover claim left behind) takes the full removal.
      try {
        unlinkSync(path.join(grave, OWNER_FILE));
      } catch {
        // not there: the rmdir below tells
      }
      try {
        rmdirSync(grave);
      } catch {
        await rm(grave, { recursive: true, force: true });
      }
    },
  };
}
