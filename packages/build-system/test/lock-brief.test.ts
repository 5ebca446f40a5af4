/**
 * A brief hold (`acquirePackageLock(pkg, { brief: true })`, what a restore from the cache takes): the lock
 * directory without its owner record unless the hold lasts, the same exclusion against real processes
 * holding it either way, loss detection without a record, and the record-less lock a killed holder leaves.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquirePackageLock, lockDirFor, type LockOwner } from '../src/lock.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { ReadLog } from '../src/util/read-log.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { contendTogether, killAndWait, startWorker, type Proc } from './helpers/procs.js';

const fixtures: Fixture[] = [];
const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) await killAndWait(p);
  for (const f of fixtures.splice(0)) f.cleanup();
});

function pkgFixture() {
  const fx = createFixture({ 'package.json': { name: '@demo/core', version: '1.0.0', type: 'module' } });
  fixtures.push(fx);
  return { fx, pkg: loadPackageInfo(fx.root, new ReadLog()), lockDir: lockDirFor(fx.root) };
}

function worker(args: Record<string, unknown>) {
  const p = startWorker(args);
  procs.push(p);
  return p;
}

const ownerOf = (lockDir: string) => JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8')) as LockOwner;

describe('a brief hold', () => {
  it('takes the lock directory alone and removes it on release', async () => {
    const { pkg, lockDir } = pkgFixture();
    const lock = await acquirePackageLock(pkg, { brief: true });
    expect(readdirSync(lockDir)).toEqual([]);
    await lock.assertHeld();
    await lock.release();
    expect(existsSync(lockDir)).toBe(false);
    expect(readdirSync(path.dirname(lockDir))).toEqual([]);
  });

  it('writes its owner record once it lasts, and keeps it fresh', async () => {
    const { pkg, lockDir } = pkgFixture();
    const lock = await acquirePackageLock(pkg, { brief: true, staleMs: 600, command: 'build:package' }); // heartbeat 200 ms
    const file = path.join(lockDir, 'owner.json');
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
    expect(ownerOf(lockDir)).toMatchObject({ token: lock.owner.token, pid: process.pid, command: 'build:package' });
    const past = new Date(Date.now() - 30_000);
    utimesSync(file, past, past);
    while (Date.now() - statSync(file).mtimeMs > 10_000) await new Promise((r) => setTimeout(r, 20));
    await lock.assertHeld();
    await lock.release();
    expect(existsSync(lockDir)).toBe(false);
  });

  it('excludes other processes, brief or not, as the full lock does', async () => {
    const { fx, pkg } = pkgFixture();
    const go = fx.path('go');
    const marker = fx.path('inside');
    const ps = Array.from({ length: 6 }, (_, i) => worker({ op: 'contend', pkgDir: pkg.dir, go, marker, rounds: 4, holdMs: 5, timeoutMs: 60_000, brief: i % 2 === 0 }));
    const { codes, rounds } = await contendTogether(ps, go);
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(rounds).toHaveLength(24);
    expect(rounds.filter((r) => r.violation)).toEqual([]);
    expect(rounds.some((r) => (r.waitedMs as number) > 0)).toBe(true);
  });

  it('is waited for by another process, which names the holder once its record is written', async () => {
    const { pkg } = pkgFixture();
    const lock = await acquirePackageLock(pkg, { brief: true });
    const other = worker({ op: 'hold', pkgDir: pkg.dir, timeoutMs: 60_000, holdMs: 0 });
    const wait = await other.event('wait');
    expect(wait.message).toMatch(new RegExp(`^waiting for @demo/core: locked by pid ${process.pid} `));
    expect(other.events.some((e) => e.type === 'acquired')).toBe(false);
    await lock.release();
    const acquired = await other.event('acquired');
    expect(acquired.tookOver).toBeNull();
    await other.exited;
  });

  it('knows it lost a lock that was removed, whether a record was written into it or a lock was made anew', async () => {
    const { pkg, lockDir } = pkgFixture();
    const taken = await acquirePackageLock(pkg, { brief: true });
    rmdirSync(lockDir);
    mkdirSync(lockDir); // someone else's record-less lock now, at the same path
    await expect(taken.assertHeld()).rejects.toThrow(/lost the lock on @demo\/core/);
    await taken.release();
    expect(existsSync(lockDir)).toBe(true); // not ours: left alone

    rmdirSync(lockDir);
    const second = await acquirePackageLock(pkg, { brief: true });
    writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify({ ...second.owner, token: 'a'.repeat(16) }));
    await expect(second.assertHeld()).rejects.toThrow(/lost the lock/);
    await second.release();
    expect(ownerOf(lockDir).token).toBe('a'.repeat(16));
  });

  it('a lock left without its record (a holder killed before writing it) is waited for while fresh, taken over once stale', async () => {
    const { pkg, lockDir } = pkgFixture();
    mkdirSync(lockDir, { recursive: true });
    const refused = await acquirePackageLock(pkg, { timeoutMs: 0 }).then(
      () => null,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(refused?.code).toBe('LOCK_TIMEOUT');
    expect(refused?.message).toMatch(/has not written its owner record yet/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockDir, old, old);
    const lock = await acquirePackageLock(pkg, { timeoutMs: 0, brief: true });
    expect(lock.tookOver).toEqual({ owner: null, reason: expect.stringMatching(/heartbeat is \d+ s old/) as unknown });
    // A takeover always writes its record.
    expect(ownerOf(lockDir).token).toBe(lock.owner.token);
    await lock.release();
    expect(existsSync(lockDir)).toBe(false);
  });
});
