/**
 * The per-package lock with real child processes and real timers: contention,
 * dead-pid and stale-heartbeat takeover (also with several waiters racing for
 * the same stale lock), foreign hosts, timeouts, and release on signals.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBuildSystemError } from '../src/errors.js';
import { acquirePackageLock, lockDirFor, type LockOwner } from '../src/lock.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { contendTogether, deadPid, killAndWait, startProcess, startWorker, type Proc } from './helpers/procs.js';
import { ReadLog } from '../src/util/read-log.js';

const fixtures: Fixture[] = [];
const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) await killAndWait(p);
  for (const f of fixtures.splice(0)) f.cleanup();
});

function pkgFixture(name = '@demo/core') {
  const fx = createFixture({ 'package.json': { name, version: '1.0.0', type: 'module' } });
  fixtures.push(fx);
  return { fx, pkg: loadPackageInfo(fx.root, new ReadLog()), lockDir: lockDirFor(fx.root) };
}

function worker(args: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  const p = startWorker(args, env);
  procs.push(p);
  return p;
}

/** HH:MM:SS of an ISO time in local time, computed independently of the code under test. */
function hms(iso: string) {
  return new Date(iso).toTimeString().slice(0, 8);
}

/** Writes a lock as another process would have left it. */
function fakeLock(lockDir: string, owner: Partial<LockOwner>, heartbeatAgoMs = 0): LockOwner {
  const full: LockOwner = {
    token: 'f'.repeat(16),
    pid: 4211,
    hostname: 'ci-7',
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    command: 'build:package',
    commandLine: 'build-system build',
    version: '0.1.0',
    package: '@demo/core',
    heartbeatMs: 200,
    ...owner,
  };
  mkdirSync(lockDir, { recursive: true });
  writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(full));
  const t = new Date(Date.now() - heartbeatAgoMs);
  utimesSync(path.join(lockDir, 'owner.json'), t, t);
  return full;
}

async function lockError(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the lock to be refused');
}

describe('acquirePackageLock', () => {
  it('creates the lock directory with an owner record and removes it on release', async () => {
    const { pkg, lockDir } = pkgFixture();
    expect(lockDir).toBe(path.join(pkg.dir, 'node_modules/.cache/build-system/lock'));
    const messages: string[] = [];
    const before = Date.now();
    const lock = await acquirePackageLock(pkg, { command: 'build:package', commandLine: 'build-system build --json', onWait: (m) => messages.push(m) });
    const after = Date.now();
    const owner = JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
    expect(owner).toMatchObject({ pid: process.pid, hostname: os.hostname(), command: 'build:package', commandLine: 'build-system build --json', package: '@demo/core' });
    expect(owner.version).toMatch(/^\d+\.\d+\.\d+/);
    // Started during this acquire (the record's clock is the wall clock, to the millisecond) ...
    expect(Date.parse(owner.startedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(owner.startedAt)).toBeLessThanOrEqual(after);
    // ... and a free lock is not waited for.
    expect(messages).toEqual([]);
    expect(lock.tookOver).toBeUndefined();
    await lock.release();
    expect(existsSync(lockDir)).toBe(false);
    expect(readdirSync(path.dirname(lockDir))).toEqual([]);
    await lock.release(); // idempotent
  });

  it('refreshes the heartbeat (owner.json mtime) while held', async () => {
    const { pkg, lockDir } = pkgFixture();
    const lock = await acquirePackageLock(pkg, { staleMs: 600 }); // heartbeat every 200 ms
    const file = path.join(lockDir, 'owner.json');
    const past = new Date(Date.now() - 30_000);
    utimesSync(file, past, past);
    const setBack = Date.now();
    // The heartbeat puts the mtime back to the present (the test's timeout is the bound).
    while (statSync(file).mtimeMs < setBack - 1_000) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(file).mtimeMs).toBeGreaterThan(past.getTime() + 20_000);
    await lock.release();
  });

  it('timeout 0 against a live holder fails at once with LOCK_TIMEOUT naming pid, host, start time and command', async () => {
    const { pkg } = pkgFixture();
    const holder = worker({ op: 'hold', pkgDir: pkg.dir, command: 'build:package' });
    const acquired = await holder.event('acquired');
    const owner = acquired.owner as LockOwner;
    // The holder never lets go: only giving up at once can end this acquire.
    const err = await lockError(acquirePackageLock(pkg, { timeoutMs: 0 }));
    expect(holder.events.some((e) => e.type === 'released')).toBe(false);
    expect(isBuildSystemError(err)).toBe(true);
    const e = err as import('../src/errors.js').BuildSystemError;
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.exitCode).toBe(3);
    expect(e.message).toContain(`waiting for @demo/core: locked by pid ${holder.pid} on host ${os.hostname()} since ${hms(owner.startedAt)} (build:package)`);
    expect(e.lines()).toEqual([e.message]);
  });

  it('a waiter says so once, then gets the lock when the holder releases', async () => {
    const { pkg } = pkgFixture();
    const holder = worker({ op: 'hold', pkgDir: pkg.dir, holdMs: 1_200, command: 'build:package' });
    const owner = (await holder.event('acquired')).owner as LockOwner;
    const messages: string[] = [];
    const lock = await acquirePackageLock(pkg, { timeoutMs: 20_000, onWait: (m) => messages.push(m) });
    expect(messages).toEqual([`waiting for @demo/core: locked by pid ${holder.pid} on host ${os.hostname()} since ${hms(owner.startedAt)} (build:package)`]);
    expect(lock.waitedMs).toBeGreaterThan(0);
    expect(lock.tookOver).toBeUndefined();
    await lock.release();
    expect((await holder.exited).code).toBe(0);
  });

  it('six processes contending repeatedly never hold the lock at the same time', async () => {
    const { fx, pkg } = pkgFixture();
    const go = fx.path('go');
    const marker = fx.path('inside');
    const ps = Array.from({ length: 6 }, () => worker({ op: 'contend', pkgDir: pkg.dir, go, marker, rounds: 4, holdMs: 15, timeoutMs: 60_000 }));
    // Every child loaded before the start signal, so they really start together.
    const { codes, rounds } = await contendTogether(ps, go);
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(rounds).toHaveLength(24);
    expect(rounds.filter((r) => r.violation)).toEqual([]);
    expect(rounds.some((r) => (r.waitedMs as number) > 0)).toBe(true);
  });

  it("a lock whose pid is dead on this host is taken over at once (the holder was SIGKILLed)", async () => {
    const { pkg, lockDir } = pkgFixture();
    const holder = worker({ op: 'hold', pkgDir: pkg.dir });
    await holder.event('acquired');
    await killAndWait(holder, 'SIGKILL');
    expect(existsSync(path.join(lockDir, 'owner.json'))).toBe(true); // left behind, heartbeat still fresh
    // Timeout 0: only a takeover without waiting can succeed.
    const lock = await acquirePackageLock(pkg, { timeoutMs: 0 });
    expect(lock.tookOver?.owner?.pid).toBe(holder.pid);
    expect(lock.tookOver?.reason).toBe(`pid ${holder.pid} is not running on this host`);
    expect((JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8')) as LockOwner).token).toBe(lock.owner.token);
    await lock.release();
    expect(existsSync(lockDir)).toBe(false);
  });

  it('several waiters that see the same stale lock: exactly one takes it over, none overlap', async () => {
    for (let round = 0; round < 3; round++) {
      const { fx, pkg } = pkgFixture();
      const holder = worker({ op: 'hold', pkgDir: pkg.dir });
      await holder.event('acquired');
      const go = fx.path('go');
      const marker = fx.path('inside');
      const ps = Array.from({ length: 6 }, () => worker({ op: 'contend', pkgDir: pkg.dir, go, marker, rounds: 1, holdMs: 100, timeoutMs: 60_000 }));
      await killAndWait(holder, 'SIGKILL');
      await Promise.all(ps.map((p) => p.event('ready')));
      writeFileSync(go, '');
      const exits = await Promise.all(ps.map((p) => p.exited));
      expect(exits.map((x) => x.code)).toEqual([0, 0, 0, 0, 0, 0]);
      const rounds = ps.flatMap((p) => p.events.filter((e) => e.type === 'round'));
      expect(rounds).toHaveLength(6);
      expect(rounds.filter((r) => r.violation)).toEqual([]);
      expect(rounds.filter((r) => r.tookOver !== null)).toHaveLength(1);
    }
  });

  it('a foreign host with a fresh heartbeat is waited for (its pid is not checked here); once the heartbeat stops, the lock is taken over', async () => {
    const { pkg, lockDir } = pkgFixture();
    // A pid that is dead on this machine: it must not matter, the host differs.
    const pid = await deadPid();
    const owner = fakeLock(lockDir, { hostname: 'ci-7', pid });
    const file = path.join(lockDir, 'owner.json');
    const beat = setInterval(() => {
      const now = new Date();
      utimesSync(file, now, now);
    }, 150);
    try {
      const messages: string[] = [];
      // The heartbeat stays fresh throughout: only the 1.5 s timeout can end this wait.
      const err = await lockError(acquirePackageLock(pkg, { timeoutMs: 1_500, staleMs: 800, onWait: (m) => messages.push(m) }));
      expect((err as { code?: string }).code).toBe('LOCK_TIMEOUT');
      expect(messages).toEqual([`waiting for @demo/core: locked by pid ${pid} on host ci-7 since ${hms(owner.startedAt)} (build:package)`]);
      expect((err as Error).message).toContain(messages[0]);
    } finally {
      clearInterval(beat);
    }
    const lock = await acquirePackageLock(pkg, { timeoutMs: 10_000, staleMs: 800 });
    const age = /^its heartbeat is ([\d.]+) s old \(stale after 0\.8 s\)$/.exec(lock.tookOver?.reason ?? '');
    expect(age, lock.tookOver?.reason).not.toBeNull();
    // Taken over only once the heartbeat had stopped for the stale time.
    expect(Number(age![1])).toBeGreaterThanOrEqual(0.8);
    await lock.release();
  });

  it('a foreign lock with an old heartbeat is taken over at once', async () => {
    const { pkg, lockDir } = pkgFixture();
    fakeLock(lockDir, { hostname: 'ci-7' }, 60_000);
    const lock = await acquirePackageLock(pkg, { timeoutMs: 0 });
    expect(lock.tookOver?.owner?.hostname).toBe('ci-7');
    expect(lock.tookOver?.reason).toBe('its heartbeat is 60 s old (stale after 10 s)');
    await lock.release();
  });

  it("the holder's own heartbeat cadence stretches the stale limit (three missed beats)", async () => {
    const { pkg, lockDir } = pkgFixture();
    fakeLock(lockDir, { hostname: 'ci-7', heartbeatMs: 5_000 }, 12_000); // 12 s > 10 s, but < 3 × 5 s
    const err = await lockError(acquirePackageLock(pkg, { timeoutMs: 0 }));
    expect((err as Error).message).toContain('stale after 15 s');
  });

  it('same host, other pid namespace (a container sharing the hostname): a dead-looking pid is not trusted', async () => {
    const { pkg, lockDir } = pkgFixture();
    fakeLock(lockDir, { hostname: os.hostname(), pid: await deadPid(), pidNamespace: 'pid:[1]' });
    const err = await lockError(acquirePackageLock(pkg, { timeoutMs: 300 }));
    expect((err as { code?: string }).code).toBe('LOCK_TIMEOUT');
  });

  it.runIf(process.platform === 'linux')('a pid reused by a process started after the lock was taken counts as dead', async () => {
    const { pkg, lockDir } = pkgFixture();
    const sleeper = startProcess(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    procs.push(sleeper);
    await new Promise((r) => setTimeout(r, 200));
    fakeLock(lockDir, { hostname: os.hostname(), pid: sleeper.pid, startedAt: new Date(Date.now() - 3_600_000).toISOString() });
    const lock = await acquirePackageLock(pkg, { timeoutMs: 0 });
    expect(lock.tookOver?.reason).toBe(`pid ${sleeper.pid} now belongs to a process started after the lock was taken`);
    await lock.release();
  });

  it('a live pid on this host with a fresh heartbeat is respected', async () => {
    const { pkg, lockDir } = pkgFixture();
    const sleeper = startProcess(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    procs.push(sleeper);
    await new Promise((r) => setTimeout(r, 200));
    fakeLock(lockDir, { hostname: os.hostname(), pid: sleeper.pid, startedAt: new Date().toISOString() });
    const err = await lockError(acquirePackageLock(pkg, { timeoutMs: 0 }));
    expect((err as { code?: string }).code).toBe('LOCK_TIMEOUT');
  });

  it('a takeover claim by a live waiter excludes others; a claim left by a dead waiter does not block forever', async () => {
    const { pkg, lockDir } = pkgFixture();
    const owner = fakeLock(lockDir, { hostname: 'ci-7' }, 60_000);
    const claim = path.join(lockDir, `takeover-${owner.token}-0`);
    mkdirSync(claim);
    const err = await lockError(acquirePackageLock(pkg, { timeoutMs: 300 }));
    expect((err as { code?: string }).code).toBe('LOCK_TIMEOUT');
    const old = new Date(Date.now() - 60_000);
    utimesSync(claim, old, old);
    const lock = await acquirePackageLock(pkg, { timeoutMs: 0 });
    expect(lock.tookOver?.owner?.token).toBe(owner.token);
    await lock.release();
  });

  it('never releases a lock another process has taken over; assertHeld reports the loss', async () => {
    const { pkg, lockDir } = pkgFixture();
    const lock = await acquirePackageLock(pkg);
    await lock.assertHeld();
    const thief = fakeLock(lockDir, { hostname: 'ci-7', token: 'a'.repeat(16) });
    await expect(lock.assertHeld()).rejects.toThrow(/lost the lock on @demo\/core/);
    expect(lock.lost).toBe(true);
    await lock.release();
    expect((JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8')) as LockOwner).token).toBe(thief.token);
  });

  it('an abort signal ends the wait', async () => {
    const { pkg, lockDir } = pkgFixture();
    fakeLock(lockDir, { hostname: 'ci-7' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop waiting')), 200);
    await expect(acquirePackageLock(pkg, { signal: ac.signal })).rejects.toThrow('stop waiting');
  });

  it('packages sharing a symlinked node_modules get separate locks inside each package', async () => {
    const { fx: a, pkg: pa } = pkgFixture('@demo/a');
    const { pkg: pb } = pkgFixture('@demo/b');
    const shared = path.join(a.root, 'shared-node-modules');
    mkdirSync(shared);
    symlinkSync(shared, path.join(pa.dir, 'node_modules'));
    symlinkSync(shared, path.join(pb.dir, 'node_modules'));
    expect(lockDirFor(pa.dir)).toBe(path.join(pa.dir, '.build-system-lock'));
    const la = await acquirePackageLock(pa, { timeoutMs: 0 });
    const lb = await acquirePackageLock(pb, { timeoutMs: 0 });
    expect(readdirSync(shared)).toEqual([]);
    await la.release();
    await lb.release();
  });

  it("with the app's own SIGINT handler, the lock stays held until the app exits, and is released then", async () => {
    const { pkg, lockDir } = pkgFixture();
    const holder = worker({ op: 'hold', pkgDir: pkg.dir, appSigint: true });
    await holder.event('acquired');
    holder.child.kill('SIGINT');
    await holder.event('app-sigint');
    expect(existsSync(path.join(lockDir, 'owner.json'))).toBe(true); // the app is still shutting down: still ours
    expect(await holder.exited).toEqual({ code: 7, signal: null });
    expect(existsSync(lockDir)).toBe(false);
  });

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} releases a held lock and exits ${code}`, async () => {
      const { pkg, lockDir } = pkgFixture();
      const holder = worker({ op: 'hold', pkgDir: pkg.dir });
      await holder.event('acquired');
      expect(existsSync(lockDir)).toBe(true);
      holder.child.kill(signal);
      expect(await holder.exited).toEqual({ code, signal: null });
      expect(existsSync(lockDir)).toBe(false);
      expect(readdirSync(path.dirname(lockDir))).toEqual([]);
    });
  }
});
