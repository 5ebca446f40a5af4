/**
 * Issue 3's "Done when", end to end through the built CLI
 * (`node packages/build-system/bin/build-system.cjs build --json --cwd <pkg>`):
 * concurrent CLI processes, SIGKILL at several points, a reader polling
 * outDir during rebuilds, and lock timeouts. Real processes, real timers.
 * Builds that only set the scene (the first output before a crash) and the
 * reader's rebuilds run in this process through createBuildSystem: the swap
 * they exercise is the pipeline's, not the CLI's, and a CLI process per
 * build would only load Node and Nest again each time.
 *
 * The fixture's build.config.ts carries a probe esbuild plugin (the esbuild
 * adapter passes adapterOptions.esbuild through): it appends its pid to
 * PROBE_MARKER when the adapter starts (counting adapter runs), sleeps
 * PROBE_SLOW_MS (so concurrent processes really meet at the lock), and with
 * PROBE_PAUSE=during-write writes half a file into the staging dir and hangs.
 */
import { existsSync, readFileSync, readdirSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBuildSystem } from '../src/create.js';
import { lockDirFor, type LockOwner } from '../src/lock.js';
import { cliPath, createFixture, snapshotTree, type Fixture } from './helpers/fixture.js';
import { killAndWait, startProcess, startWorker, type Proc } from './helpers/procs.js';

const fixtures: Fixture[] = [];
const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) await killAndWait(p);
  for (const f of fixtures.splice(0)) f.cleanup();
});

beforeAll(() => {
  if (!existsSync(path.join(path.dirname(cliPath), '../dist/main.js'))) throw new Error('build the CLI first: npm run build -w packages/build-system');
});

const PKG = '@demo/lockfx';

const CONFIG = `import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export default {
  adapter: 'esbuild',
  format: ['esm', 'cjs'],
  sourcemap: true,
  adapterOptions: {
    esbuild: {
      plugins: [
        {
          name: 'probe',
          setup(build: any) {
            build.onStart(async () => {
              if (process.env.PROBE_MARKER) appendFileSync(process.env.PROBE_MARKER, process.pid + '\\n');
              if (process.env.PROBE_SLOW_MS) await new Promise((r) => setTimeout(r, Number(process.env.PROBE_SLOW_MS)));
            });
            build.onEnd(async () => {
              if (process.env.PROBE_PAUSE !== 'during-write') return;
              writeFileSync(path.join(build.initialOptions.outdir, 'index.js'), '// half of a fi');
              process.stderr.write('probe: paused during-write\\n');
              await new Promise(() => setInterval(() => {}, 1 << 30));
            });
          },
        },
      ],
    },
  },
};
`;

const source = (v: number) => `export const version = ${v};\nexport function greet(name: string): string {\n  return 'hello ' + name + ' from v${v}';\n}\n`;

function lockFixture() {
  const fx = createFixture({
    'package.json': { name: PKG, version: '1.0.0', type: 'module', exports: { '.': { import: './dist/index.js', require: './dist/index.cjs' } } },
    'build.config.ts': CONFIG,
    'src/index.ts': source(1),
  });
  fixtures.push(fx);
  return fx;
}

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  json: { results: { status: string; artifacts: { path: string; sha256: string }[]; error?: { code: string; message: string }; cache: { status: string } }[] } | null;
  stderr: string;
  ms: number;
}

function startCli(fx: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  const p = startProcess(process.execPath, [cliPath, 'build', '--json', '--cwd', fx.root, ...args], { env });
  procs.push(p);
  return p;
}

async function finish(p: Proc, started = Date.now()): Promise<CliRun> {
  const { code, signal } = await p.exited;
  let json: CliRun['json'] = null;
  try {
    json = JSON.parse(p.stdout()) as CliRun['json'];
  } catch {
    // killed or crashed: no document
  }
  return { code, signal, json, stderr: p.stderr(), ms: Date.now() - started };
}

const runCli = (fx: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}) => {
  const started = Date.now();
  return finish(startCli(fx, args, env), started);
};

/** outDir-relative path → sha256, from a result's artifacts. */
function manifest(run: CliRun): Record<string, string> {
  expect(run.code, run.stderr).toBe(0);
  const r = run.json!.results[0]!;
  return Object.fromEntries(r.artifacts.map((a) => [a.path.replace(/^dist\//, ''), a.sha256]));
}

const system = createBuildSystem();

/** A build in this process (the CLI's `build --json --cwd <pkg>` minus the process); its manifest, as for a CLI run. */
async function apiBuild(fx: Fixture, options: { noCache?: boolean } = {}): Promise<Record<string, string>> {
  const run = await system.build({ cwd: fx.root, ...options });
  expect(run.exitCode, JSON.stringify({ error: run.error, results: run.results.map((r) => [r.error, r.diagnostics]) })).toBe(0);
  const r = run.results[0]!;
  return Object.fromEntries(r.artifacts.map((a) => [a.path.replace(/^dist\//, ''), a.sha256]));
}

const leftovers = (fx: Fixture) => readdirSync(fx.root).filter((n) => n.startsWith('.build-system-'));
const hms = (iso: string) => new Date(iso).toTimeString().slice(0, 8);

describe('build-system CLI under concurrency and crashes', () => {
  it('8 CLI processes at once: the adapter runs exactly once, all exit 0 with the same artifact sha256s', async () => {
    const fx = lockFixture();
    // Outside the package: a file inside it would be a cache input that every build changes.
    const side = createFixture({});
    fixtures.push(side);
    const marker = side.path('adapter-runs.txt');
    const ps = Array.from({ length: 8 }, () => startCli(fx, [], { PROBE_MARKER: marker, PROBE_SLOW_MS: '1500' }));
    const runs = await Promise.all(ps.map((p) => finish(p)));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const manifests = runs.map(manifest);
    for (const m of manifests) expect(m).toEqual(manifests[0]);
    expect(snapshotTree(fx.path('dist'))).toEqual(manifests[0]);

    const builders = [...new Set(readFileSync(marker, 'utf8').trim().split('\n'))];
    // The lock was really contended: someone waited for the one that built.
    expect(runs.some((r) => r.stderr.includes(`waiting for ${PKG}: locked by pid ${builders[0]} on host ${os.hostname()}`))).toBe(true);
    // Exactly once needs the waiters to re-check the cache after they get the lock (issue 4).
    const caches = runs.map((r) => r.json!.results[0]!.cache);
    expect(builders, `adapter ran in ${builders.length} processes; cache results: ${JSON.stringify(caches)}`).toHaveLength(1);
    expect(runs.filter((r) => r.json!.results[0]!.cache.status === 'miss')).toHaveLength(1);
    expect(leftovers(fx)).toEqual([]);
  });

  for (const point of ['before-adapter', 'during-write', 'during-swap'] as const) {
    it(`SIGKILL ${point}: outDir stays whole, and the next run succeeds without manual cleanup`, async () => {
      const fx = lockFixture();
      const m1 = await apiBuild(fx);
      writeFileSync(fx.path('src/index.ts'), source(2));

      const env = point === 'during-write' ? { PROBE_PAUSE: 'during-write' } : { BUILD_SYSTEM_TEST_PAUSE: point };
      const p = startCli(fx, [], env);
      await p.stderrIncludes(point === 'during-write' ? 'probe: paused during-write' : `test pause at ${point}`);
      await killAndWait(p, 'SIGKILL');
      const mid = snapshotTree(fx.path('dist'));
      expect(leftovers(fx).length).toBeGreaterThan(0); // the crash did leave something to recover from

      const next = await runCli(fx);
      expect(next.code, next.stderr).toBe(0);
      // The dead holder's lock is taken over at once: nobody waits for it.
      expect(next.stderr).not.toContain('waiting for');
      const m2 = manifest(next);
      expect(m2).not.toEqual(m1);
      expect(snapshotTree(fx.path('dist'))).toEqual(m2);
      expect(leftovers(fx)).toEqual([]);
      expect(existsSync(lockDirFor(fx.root))).toBe(false);

      if (point === 'during-swap') {
        // Killed halfway through publishing: each file whole, old or new; the next lock holder rolled it forward.
        for (const [f, h] of Object.entries(mid)) expect([m1[f], m2[f]]).toContain(h);
        expect(Object.entries(mid).some(([f, h]) => h === m2[f] && h !== m1[f])).toBe(true);
      } else {
        expect(mid).toEqual(m1); // the complete old set, byte for byte
      }
    });
  }

  it('a reader polling outDir during 20 rebuilds never sees a missing or partial file', async () => {
    const fx = lockFixture();
    const m1 = await apiBuild(fx, { noCache: true });
    writeFileSync(fx.path('src/index.ts'), source(2));
    const m2 = await apiBuild(fx, { noCache: true });
    expect(Object.keys(m2).sort()).toEqual(Object.keys(m1).sort());
    const valid = Object.fromEntries(Object.keys(m1).map((f) => [f, [m1[f], m2[f]]]));
    const side = createFixture({});
    fixtures.push(side);
    const stop = side.path('stop-reader');
    const readerSrc = `
      const { readFileSync, existsSync } = require('node:fs');
      const { createHash } = require('node:crypto');
      const [dir, validJson, stop] = process.argv.slice(1);
      const valid = JSON.parse(validJson);
      const stats = { reads: 0, missing: [], partial: [], seen: {} };
      let first = true;
      while (!existsSync(stop)) {
        for (const [rel, ok] of Object.entries(valid)) {
          let data;
          try { data = readFileSync(dir + '/' + rel); } catch (e) { stats.missing.push(rel + ': ' + e.code); continue; }
          stats.reads++;
          const h = createHash('sha256').update(data).digest('hex');
          if (!ok.includes(h)) stats.partial.push(rel + ': ' + data.length + ' bytes');
          stats.seen[h] = true;
        }
        if (first) process.stderr.write('reader: reading\\n');
        first = false;
      }
      process.stdout.write(JSON.stringify(stats));
    `;
    const reader = startProcess(process.execPath, ['-e', readerSrc, fx.path('dist'), JSON.stringify(valid), stop]);
    procs.push(reader);
    // The rebuilds start once the reader reads (in-process builds are quick: they could all be over before it started).
    await reader.stderrIncludes('reader: reading');
    for (let i = 0; i < 20; i++) {
      writeFileSync(fx.path('src/index.ts'), source(i % 2 === 0 ? 1 : 2));
      await apiBuild(fx, { noCache: true });
    }
    writeFileSync(stop, '');
    await reader.exited;
    const stats = JSON.parse(reader.stdout()) as { reads: number; missing: string[]; partial: string[]; seen: Record<string, boolean> };
    expect(stats.missing).toEqual([]);
    expect(stats.partial).toEqual([]);
    expect(stats.reads).toBeGreaterThan(1_000);
    // It read both versions of every file: the reads really overlapped the swaps.
    for (const f of Object.keys(m1)) if (m1[f] !== m2[f]) expect(stats.seen[m1[f]!] && stats.seen[m2[f]!]).toBe(true);
  });

  it('--lock-timeout 0 against a held lock exits 3 with the holder named', async () => {
    const fx = lockFixture();
    const holder = startWorker({ op: 'hold', pkgDir: fx.root, command: 'build:package' });
    procs.push(holder);
    const owner = (await holder.event('acquired')).owner as LockOwner;
    const run = await runCli(fx, ['--lock-timeout', '0']);
    expect(run.code).toBe(3);
    const expected = `waiting for ${PKG}: locked by pid ${holder.pid} on host ${os.hostname()} since ${hms(owner.startedAt)} (build:package)`;
    const r = run.json!.results[0]!;
    expect(r.status).toBe('failed');
    expect(r.error!.code).toBe('LOCK_TIMEOUT');
    expect(r.error!.message).toContain(expected);
    expect(run.stderr).toContain(expected);
    // It gave up rather than waited: the holder never lets go, and still holds the lock now.
    expect(holder.events.some((e) => e.type === 'released')).toBe(false);
    expect((JSON.parse(readFileSync(path.join(lockDirFor(fx.root), 'owner.json'), 'utf8')) as LockOwner).token).toBe(owner.token);
    expect(existsSync(fx.path('dist'))).toBe(false);
  });

  it('a lock whose holder was SIGKILLed on this host is taken over at once', async () => {
    const fx = lockFixture();
    const holder = startWorker({ op: 'hold', pkgDir: fx.root });
    procs.push(holder);
    await holder.event('acquired');
    await killAndWait(holder, 'SIGKILL');
    expect(existsSync(lockDirFor(fx.root))).toBe(true);
    const run = await runCli(fx, ['--lock-timeout', '0']);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(lockDirFor(fx.root))).toBe(false);
  });

  it('a lock from another host with a fresh heartbeat is waited for, saying so once', async () => {
    const fx = lockFixture();
    const dir = lockDirFor(fx.root);
    mkdirSync(dir, { recursive: true });
    const startedAt = new Date(Date.now() - 5_000).toISOString();
    const owner = { token: 'c'.repeat(16), pid: 4211, hostname: 'ci-7', startedAt, command: 'build:package', commandLine: 'build-system build', version: '0.1.0', package: PKG, heartbeatMs: 2000 };
    const file = path.join(dir, 'owner.json');
    writeFileSync(file, JSON.stringify(owner));
    const beat = setInterval(() => {
      const now = new Date();
      utimesSync(file, now, now);
    }, 500);
    try {
      const run = await runCli(fx, ['--lock-timeout', '2']);
      // The heartbeat stays fresh: only the 2 s lock timeout can end this run.
      expect(run.code).toBe(3);
      expect(run.json!.results[0]!.error!.code).toBe('LOCK_TIMEOUT');
      const message = `waiting for ${PKG}: locked by pid 4211 on host ci-7 since ${hms(startedAt)} (build:package)`;
      expect(run.stderr.split('\n').filter((l) => l === message)).toHaveLength(1);
      expect(run.json!.results[0]!.error!.message).toContain(message);
    } finally {
      clearInterval(beat);
    }
  });

  it('--stale-timeout sets how long a silent holder is waited for before it is taken over', async () => {
    const fx = lockFixture();
    const dir = lockDirFor(fx.root);
    mkdirSync(dir, { recursive: true });
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    // Another host, beating every second, silent for a while: fresh under the default 10 s, stale under 3 s.
    // Silent 2 s for the first run (8 s of margin for a CLI slow to start on a loaded machine), 5 s for the second.
    const owner = { token: 'd'.repeat(16), pid: 4212, hostname: 'ci-8', startedAt, command: 'build:package', commandLine: 'build-system build', version: '0.1.0', package: PKG, heartbeatMs: 1000 };
    const file = path.join(dir, 'owner.json');
    writeFileSync(file, JSON.stringify(owner));
    const silentFor = (ms: number) => {
      const at = new Date(Date.now() - ms);
      utimesSync(file, at, at);
    };
    silentFor(2_000);
    const waited = await runCli(fx, ['--lock-timeout', '0']);
    expect(waited.code, waited.stderr).toBe(3);
    expect(waited.json!.results[0]!.error!.message).toContain('stale after 10 s');
    silentFor(5_000);
    const run = await runCli(fx, ['--lock-timeout', '0', '--stale-timeout', '3']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/warning: took over the lock of @demo\/lockfx \(locked by pid 4212 on host ci-8 since [\d:]+ \(build:package\)\): its heartbeat is [\d.]+ s old \(stale after 3 s\)/);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(fx.path('dist'))).toBe(true);
    const bad = await runCli(fx, ['--stale-timeout', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--stale-timeout');
  });

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal} during a build releases the lock, removes the staging dir and exits ${code}`, async () => {
      const fx = lockFixture();
      const m1 = await apiBuild(fx);
      writeFileSync(fx.path('src/index.ts'), source(2));
      const p = startCli(fx, [], { PROBE_PAUSE: 'during-write' });
      await p.stderrIncludes('probe: paused during-write');
      expect(existsSync(lockDirFor(fx.root))).toBe(true);
      p.child.kill(signal);
      expect(await p.exited).toEqual({ code, signal: null });
      expect(existsSync(lockDirFor(fx.root))).toBe(false);
      expect(leftovers(fx)).toEqual([]);
      expect(snapshotTree(fx.path('dist'))).toEqual(m1);
    });
  }
});
