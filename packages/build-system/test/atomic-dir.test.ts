/**
 * Atomic outputs: staging, per-file publishing with a journal, crash
 * leftovers, and readers that must never see a missing or partial file.
 * Crashes are real SIGKILLs of child processes paused at exact points
 * (BUILD_SYSTEM_TEST_PAUSE).
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createStagingDir, discardStaging, removeLeftovers, swapInStaging } from '../src/util/atomic-dir.js';
import { createFixture, snapshotTree, type Fixture } from './helpers/fixture.js';
import { killAndWait, startWorker, type Proc } from './helpers/procs.js';

const fixtures: Fixture[] = [];
const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) await killAndWait(p);
  for (const f of fixtures.splice(0)) f.cleanup();
});

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const hashes = (files: Record<string, string>) => Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha(v)]));

function pkg() {
  const fx = createFixture({ 'package.json': { name: '@demo/out', version: '1.0.0' }, 'src/index.ts': 'export {};\n' });
  fixtures.push(fx);
  return fx;
}

async function publish(fx: Fixture, files: Record<string, string>, keepStale = false) {
  const staging = await createStagingDir(fx.root, 'dist');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(staging, rel)), { recursive: true });
    writeFileSync(path.join(staging, rel), content);
  }
  return swapInStaging(fx.root, 'dist', staging, { keepStale });
}

/** Names beside outDir that build-system owns. */
const leftovers = (fx: Fixture) => readdirSync(fx.root).filter((n) => n.startsWith('.build-system-'));

const OLD = { 'index.js': 'old index', 'chunk-a.js': 'old chunk a', 'sub/deep.js': 'old deep', 'gone/only-old.js': 'only in old' };
const NEW = { 'index.js': 'new index', 'chunk-b.js': 'new chunk b', 'sub/deep.js': 'new deep', 'fresh/new-dir.js': 'new dir' };

/** A package whose dist holds OLD, and a worker process swapping NEW in, stopped at `pause` (BUILD_SYSTEM_TEST_PAUSE). */
async function pausedSwap(pause: 'before-adapter' | 'during-swap', extra: { keepStale?: boolean } = {}) {
  const fx = pkg();
  await publish(fx, OLD);
  const p = startWorker({ op: 'swap', pkgDir: fx.root, outDir: 'dist', sets: [NEW], ...extra }, { BUILD_SYSTEM_TEST_PAUSE: pause });
  procs.push(p);
  await p.stderrIncludes(`test pause at ${pause}`);
  return { fx, p };
}

describe('swapInStaging', () => {
  it('publishes the first build by renaming staging in, with normal directory permissions', async () => {
    const fx = pkg();
    const r = await publish(fx, OLD);
    expect(r).toEqual({ mode: 'rename', added: 4, replaced: 0, removed: 0 });
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(OLD));
    // mkdtemp would have made it 0700: unreadable to a web server or another user.
    expect(statSync(fx.path('dist')).mode & 0o777).toBe(0o777 & ~process.umask());
    expect(leftovers(fx)).toEqual([]);
  });

  it('replaces file by file inside the same outDir: exactly the new set, stale files and emptied directories removed', async () => {
    const fx = pkg();
    await publish(fx, OLD);
    const inode = statSync(fx.path('dist')).ino;
    const r = await publish(fx, NEW);
    expect(r).toEqual({ mode: 'files', added: 2, replaced: 2, removed: 2 });
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(NEW));
    expect(existsSync(fx.path('dist/gone'))).toBe(false);
    expect(statSync(fx.path('dist')).ino).toBe(inode); // outDir itself was never moved or recreated
    expect(leftovers(fx)).toEqual([]);
  });

  it('keepStale keeps files of the old outDir that the build did not produce', async () => {
    const fx = pkg();
    await publish(fx, OLD);
    await publish(fx, NEW, true);
    expect(snapshotTree(fx.path('dist'))).toEqual({ ...hashes(OLD), ...hashes(NEW) });
  });

  it('handles a file that became a directory, a directory that became a file, and never writes through a symlink', async () => {
    const fx = pkg();
    await publish(fx, { 'x.js': 'file x', 'y/inner.js': 'dir y' });
    const outside = fx.path('outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'keep.txt'), 'keep');
    symlinkSync(outside, fx.path('dist/link'));
    await publish(fx, { 'x.js/inner.js': 'now a dir', 'y': 'now a file', 'link/escape.js': 'must land inside dist' });
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes({ 'x.js/inner.js': 'now a dir', y: 'now a file', 'link/escape.js': 'must land inside dist' }));
    expect(lstatSync(fx.path('dist/link')).isDirectory()).toBe(true);
    expect(readdirSync(outside)).toEqual(['keep.txt']);
  });

  it('refuses an outDir outside the package and a staging directory it did not make', async () => {
    const fx = pkg();
    await expect(createStagingDir(fx.root, '../elsewhere')).rejects.toThrow(/not inside the package/);
    mkdirSync(fx.path('not-staging'));
    await expect(swapInStaging(fx.root, 'dist', fx.path('not-staging'))).rejects.toThrow(/not a staging directory/);
  });
});

describe('failure and crash leftovers', () => {
  it('a failed build (discardStaging) leaves outDir byte-for-byte intact', async () => {
    const fx = pkg();
    await publish(fx, OLD);
    const before = snapshotTree(fx.path('dist'));
    const mtimes = readdirSync(fx.path('dist')).map((n) => statSync(fx.path('dist', n)).mtimeMs);
    const staging = await createStagingDir(fx.root, 'dist');
    writeFileSync(path.join(staging, 'index.js'), 'half writ');
    await discardStaging(staging);
    expect(snapshotTree(fx.path('dist'))).toEqual(before);
    expect(readdirSync(fx.path('dist')).map((n) => statSync(fx.path('dist', n)).mtimeMs)).toEqual(mtimes);
    expect(leftovers(fx)).toEqual([]);
  });

  it('removeLeftovers deletes uncommitted staging, journal temp files and old-style moved-aside dirs, and nothing else', async () => {
    const fx = pkg();
    await publish(fx, OLD);
    mkdirSync(fx.path('.build-system-staging-dist-0123456789ab/sub'), { recursive: true });
    writeFileSync(fx.path('.build-system-staging-dist-0123456789ab/sub/x.js'), 'partial');
    writeFileSync(fx.path('.build-system-journal-dist-0123456789ab.json.tmp'), '{"ver');
    mkdirSync(fx.path('.build-system-old-dist-4242-1700000000000'));
    // Not ours by name: must survive.
    mkdirSync(fx.path('.build-system-lock'));
    mkdirSync(fx.path('.build-system-staging-handmade'));
    writeFileSync(fx.path('dist-notes.txt'), 'user file');
    const report = await removeLeftovers(fx.root, 'dist');
    expect(report.rolledForward).toEqual([]);
    expect(report.removed.sort()).toEqual(['.build-system-journal-dist-0123456789ab.json.tmp', '.build-system-old-dist-4242-1700000000000', '.build-system-staging-dist-0123456789ab']);
    expect(leftovers(fx).sort()).toEqual(['.build-system-lock', '.build-system-staging-handmade']);
    expect(existsSync(fx.path('dist-notes.txt'))).toBe(true);
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(OLD));
  });

  it('SIGKILL before the adapter writes: outDir is the complete old set; the leftover staging dir is removed next time', async () => {
    const { fx, p } = await pausedSwap('before-adapter');
    await killAndWait(p);
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(OLD));
    expect(leftovers(fx)).toHaveLength(1);
    await removeLeftovers(fx.root, 'dist');
    expect(leftovers(fx)).toEqual([]);
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(OLD));
  });

  for (const keepStale of [false, true]) {
    it(`SIGKILL in the middle of the swap (keepStale ${keepStale}): every file stays whole, and the next lock holder rolls forward to the complete new set`, async () => {
      const { fx, p } = await pausedSwap('during-swap', { keepStale });
      await killAndWait(p);
      const mid = snapshotTree(fx.path('dist'));
      // Half swapped: at least one new file is in, some old file is still there.
      expect(Object.entries(mid).some(([f, h]) => hashes(NEW)[f] === h)).toBe(true);
      expect(Object.entries(mid).some(([f, h]) => hashes(OLD)[f] === h)).toBe(true);
      for (const [f, h] of Object.entries(mid)) expect([hashes(OLD)[f], hashes(NEW)[f]]).toContain(h);
      expect(leftovers(fx).some((n) => n.startsWith('.build-system-journal-'))).toBe(true);

      const report = await removeLeftovers(fx.root, 'dist');
      expect(report.rolledForward).toEqual(['dist']);
      expect(snapshotTree(fx.path('dist'))).toEqual(keepStale ? { ...hashes(OLD), ...hashes(NEW) } : hashes(NEW));
      expect(leftovers(fx)).toEqual([]);
    });
  }

  it('discardStaging leaves a committed staging dir alone (a swap that failed after its commit point is rolled forward, not lost)', async () => {
    const { fx, p } = await pausedSwap('during-swap');
    await killAndWait(p);
    const staging = leftovers(fx).find((n) => n.startsWith('.build-system-staging-'))!;
    await discardStaging(fx.path(staging)); // what a caller's catch-all does after a failed swap
    expect(existsSync(fx.path(staging))).toBe(true);
    await removeLeftovers(fx.root, 'dist');
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(NEW));
  });

  it('a roll-forward interrupted itself is finished by the next one (idempotent)', async () => {
    const { fx, p } = await pausedSwap('during-swap');
    await killAndWait(p);
    // Simulate a second crash halfway through recovery: the staging dir is already gone.
    const staging = leftovers(fx).find((n) => n.startsWith('.build-system-staging-'))!;
    for (const rel of Object.keys(NEW)) {
      const src = fx.path(staging, rel);
      if (!existsSync(src)) continue;
      mkdirSync(path.dirname(fx.path('dist', rel)), { recursive: true });
      writeFileSync(fx.path('dist', rel), readFileSync(src));
    }
    (await import('node:fs')).rmSync(fx.path(staging), { recursive: true });
    await removeLeftovers(fx.root, 'dist');
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(NEW));
    expect(leftovers(fx)).toEqual([]);
  });

  it('SIGINT before the adapter: the process removes its own staging dir and exits 130', async () => {
    const { fx, p } = await pausedSwap('before-adapter');
    expect(leftovers(fx)).toHaveLength(1);
    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 130, signal: null });
    expect(leftovers(fx)).toEqual([]);
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(OLD));
  });

  it('SIGINT during the swap waits for the swap; a second SIGINT does not', async () => {
    const { fx, p } = await pausedSwap('during-swap');
    p.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    expect(p.child.exitCode).toBe(null); // deferred: the swap (paused here forever) is not done
    p.child.kill('SIGINT');
    expect(await p.exited).toEqual({ code: 130, signal: null });
    // The committed journal was left for the next lock holder, not deleted by the cleanup.
    await removeLeftovers(fx.root, 'dist');
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(NEW));
  });
});

describe('readers during rebuilds', () => {
  it('a reader polling outDir during 60 swaps never sees a missing or partial file', async () => {
    const fx = pkg();
    // Sizeable files, so a non-atomic write would be caught half done.
    const variant = (tag: string) => ({
      'index.js': `// ${tag}\n${'x'.repeat(200_000)}\n`,
      'index.js.map': `{"v":"${tag}","pad":"${'m'.repeat(300_000)}"}`,
      'chunks/shared.js': `// shared ${tag}\n${'y'.repeat(50_000)}\n`,
      'types/index.d.ts': `export declare const v: "${tag}";\n`,
    });
    const a = variant('a');
    const b = variant('b');
    await publish(fx, a);
    const valid = new Map<string, Set<string>>(Object.keys(a).map((f) => [f, new Set([sha(a[f as keyof typeof a]), sha(b[f as keyof typeof b])])]));

    const p = startWorker({ op: 'swap', pkgDir: fx.root, outDir: 'dist', sets: [b, a], count: 60 });
    procs.push(p);
    let reads = 0;
    let sawB = 0;
    const problems: string[] = [];
    let finished = false;
    void p.exited.then(() => {
      finished = true;
    });
    for (let loop = 1; !finished; loop++) {
      for (const [rel, ok] of valid) {
        let data: Buffer;
        try {
          data = readFileSync(fx.path('dist', rel));
        } catch (e) {
          problems.push(`${rel}: ${(e as NodeJS.ErrnoException).code}`);
          continue;
        }
        reads++;
        const h = sha(data);
        if (!ok.has(h)) problems.push(`${rel}: partial or unknown content (${data.length} bytes)`);
        if (h === sha(b['index.js']) && rel === 'index.js') sawB++;
      }
      if (loop % 10 === 0) await tick(); // let the exit event through
    }
    expect((await p.exited).code).toBe(0);
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(500);
    expect(sawB).toBeGreaterThan(0); // the reader really overlapped the swaps
    expect(snapshotTree(fx.path('dist'))).toEqual(hashes(a));
  });
});
