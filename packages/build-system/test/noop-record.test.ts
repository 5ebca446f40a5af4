import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDirFor } from '../src/lock.js';
import { cliPath, createFixture, repoRoot, type Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/**
 * The no-op record (src/cache/noop/record.ts, src/commands/build-replay.ts): a
 * CLI build that changed nothing is answered from what the previous identical
 * run read and produced. Each case changes one thing the result depends on and
 * checks the next run is a real one (not replayed) with the right result; a
 * replay must only ever happen when a real run would have been all cache hits.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  replayed: boolean;
  statuses: string[];
}

/** A CLI run, asynchronously: the cases run concurrently (each in its own workspace), waiting on their CLI processes. */
async function build(fx: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}, cwd = fx.root): Promise<Run> {
  const { code, stdout, stderr } = await cliRun(['build', '--json', ...args], {
    cwd,
    env: { BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1', ...env },
  });
  let statuses: string[] = [];
  try {
    statuses = (JSON.parse(stdout) as { results: { cache: { status: string } }[] }).results.map((x) => x.cache.status);
  } catch {
    // A failed run: the caller looks at code/stderr.
  }
  return { code, stdout, stderr, replayed: stderr.includes('no-op record: replayed'), statuses };
}

function workspace(extra: Record<string, string | object> = {}, config = `import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'esbuild', env: ['BS_TEST_FLAVOR'] });\n`): Fixture {
  const files: Record<string, string | object> = {
    'package.json': { name: 'noop-ws', private: true, workspaces: ['packages/*'] },
    'packages/a/package.json': { name: '@nr/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/a/build.config.ts': config,
    'packages/a/src/index.ts': `export const a: number = 1;\n`,
    'packages/a/src/util/deep.ts': `export const deep = 'x';\n`,
    'packages/b/package.json': { name: '@nr/b', version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: { '@nr/a': '1.0.0' } },
    'packages/b/build.config.ts': config,
    'packages/b/src/index.ts': `import { a } from '@nr/a';\nexport const b: number = a + 1;\n`,
    ...extra,
  };
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

/** Two runs: the first records (whatever it built), the second must be a replayed no-op. */
async function recorded(fx: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const first = await build(fx, args, env);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stderr).toContain('no-op record: written');
  const second = await build(fx, args, env);
  expect(second.code, second.stderr).toBe(0);
  expect(second.replayed, second.stderr).toBe(true);
  expect(second.statuses).toEqual(first.statuses.map(() => 'hit'));
}

/**
 * A preload (NODE_OPTIONS, the same in every run: it is part of the record's key) that writes at exit the
 * value of `expression` (JavaScript, evaluated then). Outside the workspace: a file written there would
 * change what the record watches.
 */
function exitProbe(expression: string): { out: string; env: Record<string, string> } {
  const probeDir = mkdtempSync(path.join(tmpdir(), 'bs-exit-probe-'));
  fixtures.push({ cleanup: () => rmSync(probeDir, { recursive: true, force: true }) } as Fixture);
  const probe = path.join(probeDir, 'probe.cjs');
  const out = path.join(probeDir, 'out.txt');
  writeFileSync(probe, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, String(${expression})));\n`);
  return { out, env: { NODE_OPTIONS: `--require ${JSON.stringify(probe)}` } };
}

/** Whether zod was evaluated: its bundled copy in the CLI chunks defines globalThis.__zod_globalRegistry when it is. */
const zodProbe = () => exitProbe('globalThis.__zod_globalRegistry !== undefined');

describe.concurrent('no-op record', () => {
  it('replays a no-op with the same document a real run prints', async () => {
    const fx = workspace();
    await recorded(fx);
    const replay = await build(fx);
    const real = await build(fx, [], { BUILD_SYSTEM_NO_FAST_PATH: '1' });
    expect(replay.replayed).toBe(true);
    expect(real.replayed).toBe(false);
    const stable = (s: string) => {
      const doc = JSON.parse(s, (k, v) => (['startedAt', 'endedAt', 'durationMs', 'startMs', 'endMs', 'criticalPath'].includes(k) ? 0 : v)) as { timeline: { package: string }[] };
      doc.timeline.sort((x, y) => x.package.localeCompare(y.package));
      return doc;
    };
    expect(stable(replay.stdout)).toEqual(stable(real.stdout));
    // Made by the same result maker (services/results.ts): the same fields in the same order, run and packages.
    expect(JSON.stringify(stable(replay.stdout))).toBe(JSON.stringify(stable(real.stdout)));
    // A replayed hit is a use of the entry, as for a real hit (LRU eviction).
    const entries = path.join(fx.root, 'node_modules/.cache/build-system/v1/entries');
    const manifest = path.join(entries, readdirSync(entries)[0]!);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(manifest, old, old);
    expect((await build(fx)).replayed).toBe(true);
    expect(statSync(manifest).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('replays without evaluating zod (the config schema and everything behind it)', async () => {
    const fx = workspace();
    const { out, env } = zodProbe();
    await recorded(fx, [], env);
    // What the probe sees in a real run that validates its configs (--force evaluates them again), then in a replay.
    expect((await build(fx, ['--force'], env)).replayed).toBe(false);
    expect(readFileSync(out, 'utf8')).toBe('true');
    const replay = await build(fx, [], env);
    expect(replay.replayed, replay.stderr).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('false');
  });

  it('replays without loading node:child_process (only a run that starts a TypeScript process needs it)', async () => {
    const fx = workspace();
    const { out, env } = exitProbe("process.moduleLoadList.includes('NativeModule child_process')");
    await recorded(fx, [], env);
    const replay = await build(fx, [], env);
    expect(replay.replayed, replay.stderr).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('false');
  });

  it("a settled replay into pipes loads neither node:crypto, Node's streams nor perf_hooks (~8 ms of its start)", async () => {
    const fx = workspace();
    const { out, env } = exitProbe("JSON.stringify(['child_process', 'crypto', 'stream', 'perf_hooks'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m)))");
    await recorded(fx, [], env);
    // Past the racy window, a replay proves the recent outputs by content (that one hashes) and settles the record.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await build(fx, [], env)).replayed).toBe(true);
    // Without BUILD_SYSTEM_DEBUG_NOOP, whose message goes through process.stderr. No child_process: a replay, not a run.
    const quiet = await cliRun(['build', '--json'], { cwd: fx.root, env: { BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: undefined, ...env } });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect((JSON.parse(quiet.stdout) as { results: { cache: { status: string } }[] }).results.map((r) => r.cache.status)).toEqual(['hit', 'hit']);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([]);
  });

  it('without a record, configs kept by an earlier process are not validated again: zod is not evaluated', async () => {
    // The probe of the case above. The first run evaluated and validated the configs and kept both
    // (config/evaluation-cache.ts); a run without the workspace record (after a clone, CI) takes them.
    const fx = workspace();
    const { out, env } = zodProbe();
    await recorded(fx, [], env);
    rmSync(path.join(fx.root, 'node_modules/.cache/build-system/v1/noop'), { recursive: true });
    const real = await build(fx, [], env);
    expect(real.code, real.stderr).toBe(0);
    expect(real.replayed).toBe(false);
    expect(real.statuses).toEqual(['hit', 'hit']);
    expect(readFileSync(out, 'utf8')).toBe('false');
  });

  const changes: [string, (fx: Fixture) => void, string[]][] = [
    ['a source edit', (fx) => fx.write({ 'packages/a/src/util/deep.ts': `export const deep = 'y';\n` }), ['miss', 'hit']],
    ['a new source file in a nested directory', (fx) => fx.write({ 'packages/b/src/util/new.ts': `export const n = 1;\n` }), ['hit', 'miss']],
    ['a config edit', (fx) => fx.write({ 'packages/b/build.config.ts': `import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'esbuild', minify: true, env: ['BS_TEST_FLAVOR'] });\n` }), ['hit', 'miss']],
    ['a package.json edit', (fx) => fx.write({ 'packages/a/package.json': { name: '@nr/a', version: '1.0.1', type: 'module', exports: './dist/index.js' } }), ['miss', 'hit']],
    ['a deleted output', (fx) => rmSync(path.join(fx.root, 'packages/b/dist/index.js')), ['hit', 'hit']],
    ['an output edited in place', (fx) => writeFileSync(path.join(fx.root, 'packages/a/dist/index.js'), '// tampered\n'), ['hit', 'hit']],
    ['a new package', (fx) => fx.write({ 'packages/c/package.json': { name: '@nr/c', version: '1.0.0', type: 'module', exports: './dist/index.js' }, 'packages/c/build.config.json': { adapter: 'esbuild' }, 'packages/c/src/index.ts': `export const c = 3;\n` }), ['hit', 'hit', 'miss']],
    ['the cache emptied', (fx) => rmSync(path.join(fx.root, 'node_modules/.cache/build-system/v1/entries'), { recursive: true }), ['miss', 'miss']],
  ];
  for (const [what, change, statuses] of changes) {
    it(`is not replayed after ${what}`, async () => {
      const fx = workspace();
      await recorded(fx);
      change(fx);
      const next = await build(fx);
      expect(next.code, next.stderr).toBe(0);
      expect(next.replayed).toBe(false);
      expect(next.statuses).toEqual(statuses);
      // Recorded again: the run after is a replay of the new state.
      const after = await build(fx);
      expect(after.replayed, after.stderr).toBe(true);
      expect(after.statuses).toEqual(statuses.map(() => 'hit'));
    });
  }

  it('is not replayed when the tool install a NODE_PATH link leads to is switched (a pnpm bin shim puts .pnpm/node_modules there)', async () => {
    const fx = workspace();
    // Two installs of esbuild (the second a copy beside its platform binary's link), one NODE_PATH entry linking to the first.
    const esbuildDir = path.join(repoRoot, 'node_modules', 'esbuild');
    cpSync(esbuildDir, fx.path('alt/node_modules/esbuild'), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', '@esbuild'), fx.path('alt/node_modules/@esbuild'), 'dir');
    mkdirSync(fx.path('np'));
    symlinkSync(esbuildDir, fx.path('np/esbuild'), 'dir');
    const env = { NODE_PATH: fx.path('np') };
    await recorded(fx, [], env);
    rmSync(fx.path('np/esbuild'));
    symlinkSync(fx.path('alt/node_modules/esbuild'), fx.path('np/esbuild'), 'dir');
    const switched = await build(fx, [], env);
    expect(switched.code, switched.stderr).toBe(0);
    // What the packages resolve esbuild to is another directory now: the record says so (a full run: it is outside them).
    expect(switched.replayed).toBe(false);
    expect(switched.stderr).toMatch(/no partial run: \S+\/np\/esbuild changed/);
  });

  it('is written right after an install: the directory a tool was found in, created moments ago, is no reason to refuse it', async () => {
    const fx = workspace();
    cpSync(path.join(repoRoot, 'node_modules', 'esbuild'), fx.path('node_modules/esbuild'), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', '@esbuild'), fx.path('node_modules/@esbuild'), 'dir');
    const first = await build(fx);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('no-op record: written');
    expect((await build(fx)).replayed).toBe(true);
  });

  it('is not replayed when a file changed but kept its size and mtime (ctime tells)', async () => {
    const fx = workspace();
    const file = path.join(fx.root, 'packages/a/src/index.ts');
    // A whole second, so setting it again restores it exactly (and old: the record trusts the stat).
    const when = 1_700_000_000;
    utimesSync(file, when, when);
    await recorded(fx);
    writeFileSync(file, readFileSync(file, 'utf8').replace('= 1', '= 2'));
    utimesSync(file, when, when);
    expect(statSync(file).mtimeMs).toBe(when * 1000);
    const next = await build(fx);
    expect(next.replayed).toBe(false);
    expect(next.statuses).toEqual(['miss', 'hit']);
  });

  it("is not replayed when an env var a config declares changes, and is keyed by flags", async () => {
    const fx = workspace();
    await recorded(fx, [], { BS_TEST_FLAVOR: 'one' });
    const other = await build(fx, [], { BS_TEST_FLAVOR: 'two' });
    expect(other.replayed).toBe(false);
    expect(other.statuses).toEqual(['miss', 'miss']);
    // A smaller selection asked another way is answered by the same record (the recorded run built it).
    const one = await build(fx, ['@nr/a'], { BS_TEST_FLAVOR: 'two' });
    expect(one.replayed, one.stderr).toBe(true);
    expect(one.statuses).toEqual(['hit']);
  });

  /** The --json document without what differs between any two runs (times). */
  const stable = (s: string) => {
    const doc = JSON.parse(s, (k, v) => (['startedAt', 'endedAt', 'durationMs', 'startMs', 'endMs', 'criticalPath'].includes(k) ? 0 : v)) as { timeline: { package: string }[] };
    doc.timeline.sort((x, y) => x.package.localeCompare(y.package));
    return doc;
  };

  interface Way {
    args: string[];
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    statuses: string[];
  }
  const ways = (fx: Fixture): Way[] => [
    { args: ['@nr/a'], statuses: ['hit'] },
    { args: ['packages/b'], statuses: ['hit', 'hit'] },
    { args: ['--filter', '@nr/b'], statuses: ['hit'] },
    { args: ['--filter', './packages/*', '--filter', '!@nr/a'], statuses: ['hit'] },
    { args: [], cwd: 'packages/b', statuses: ['hit', 'hit'] },
    { args: ['--cwd', 'packages/a'], statuses: ['hit'] },
    { args: ['--concurrency', '3', '--bail', '--output-logs', 'none', '--lock-timeout', '5', '--strict'], statuses: ['hit', 'hit'] },
    // Turbo's own variables and remote settings without a remote URL change nothing we build.
    { args: [], env: { TURBO_TOKEN: 'x', TURBO_TEAM: 'y', BUILD_SYSTEM_REMOTE_CACHE_TEAM: 'z', TURBO_LOG_ORDER: 'grouped' }, statuses: ['hit', 'hit'] },
    // The same cache directory named another way.
    { args: [], env: { BUILD_SYSTEM_CACHE_DIR: fx.path('node_modules/.cache/build-system') }, statuses: ['hit', 'hit'] },
  ];
  // Three workspaces, three ways each: side by side, no one case is the long pole of the file.
  for (const [from, to, what] of [
    [0, 3, 'names, a package directory, --filter'],
    [3, 6, '--filter with a negation, a package directory as cwd, --cwd'],
    [6, 9, 'print flags, unrelated env, the cache directory named another way'],
  ] as const) {
    it(`serves the same build asked another way (${what}) with what a real run prints`, async () => {
      const fx = workspace();
      await recorded(fx);
      // Every replay first, all from the one record of the whole workspace (a replay writes no record);
      // then the real runs to compare with (each real run records its own selection, so they come last).
      const replays: { way: Way; what: string; cwd: string; replay: Run }[] = [];
      for (const way of ways(fx).slice(from, to)) {
        const what = `${way.args.join(' ')} ${JSON.stringify(way.env ?? {})} in ${way.cwd ?? '.'}`;
        const cwd = way.cwd ? fx.path(way.cwd) : fx.root;
        const replay = await build(fx, way.args, way.env, cwd);
        expect(replay.replayed, `${what}: ${replay.stderr}`).toBe(true);
        expect(replay.statuses, what).toEqual(way.statuses);
        replays.push({ way, what, cwd, replay });
      }
      for (const { way, what, cwd, replay } of replays) {
        const real = await build(fx, way.args, { ...way.env, BUILD_SYSTEM_NO_FAST_PATH: '1' }, cwd);
        expect(real.replayed, what).toBe(false);
        expect(stable(replay.stdout), what).toEqual(stable(real.stdout));
      }
    });
  }

  it('does not replay what the record cannot prove: another adapter flag, a selection it did not build, a remote cache, Node options, a bad flag', async () => {
    const fx = workspace();
    await recorded(fx, ['@nr/a']);
    // b was never built by the recorded run: a real run, and b is a miss.
    const all = await build(fx);
    expect(all.replayed).toBe(false);
    expect(all.statuses).toEqual(['hit', 'miss']);
    expect((await build(fx)).replayed).toBe(true);
    // --adapter can change outputs: its own record.
    const adapter = await build(fx, ['--adapter', 'esbuild']);
    expect(adapter.replayed).toBe(false);
    expect(adapter.statuses).toEqual(['hit', 'hit']);
    expect((await build(fx, ['--adapter', 'esbuild'])).replayed).toBe(true);
    // A remote cache may need uploads and reports its own state: never replayed (unless turned off).
    const remote = await build(fx, [], { BUILD_SYSTEM_REMOTE_CACHE_URL: 'http://127.0.0.1:9' });
    expect(remote.replayed).toBe(false);
    expect(remote.stderr).toContain('a remote cache is configured');
    expect((await build(fx, ['--no-remote-cache'], { BUILD_SYSTEM_REMOTE_CACHE_URL: 'http://127.0.0.1:9' })).replayed).toBe(true);
    // NODE_OPTIONS can change how configs and tools resolve: keyed.
    expect((await build(fx, [], { NODE_OPTIONS: '--no-deprecation' })).replayed).toBe(false);
    // A flag value a real run rejects is reported by a real run.
    const bad = await build(fx, ['--concurrency', '0']);
    expect(bad.replayed).toBe(false);
    expect(bad.code).toBe(2);
    // Another cache directory has other entries.
    expect((await build(fx, ['--cache-dir', fx.path('other-cache')])).replayed).toBe(false);
  });

  it('keeps content hashes only for recent files and the results out of the file validation reads', async () => {
    const fx = workspace();
    await recorded(fx);
    const dir = fx.path('node_modules/.cache/build-system/v1/noop');
    const names = readdirSync(dir).sort();
    // The content of its paths (read when a stat changed), the record, what each package read outside its
    // directory (a partial run's input), the results.
    expect(names.map((n) => n.replace(/^[0-9a-f]+/, ''))).toEqual(['.content.json', '.json', '.reads.json', '.results.json']);
    const [content, hot, reads, cold] = names.map((n) => JSON.parse(readFileSync(path.join(dir, n), 'utf8')) as Record<string, unknown>);
    expect(Object.keys(hot!)).not.toContain('packages');
    expect(cold!.id).toBe(hot!.id);
    expect(reads!.id).toBe(hot!.id);
    expect(content!.id).toBe(hot!.id);
    // Every file's hash is in the content file, in the record's order; the record itself keeps only the recent ones'.
    const files = hot!.files as { sha256: (string | 0)[] };
    expect((content!.files as unknown[]).length).toBe(files.sha256.length);
    expect((content!.files as unknown[]).every((h) => typeof h === 'string')).toBe(true);
    expect(Object.keys(reads!.packages as object).sort()).toEqual(Object.keys(cold!.packages as object).sort());
    // A results file of another record is not used: the run builds (all hits) and records again.
    writeFileSync(path.join(dir, names[3]!), JSON.stringify({ ...cold, id: 'other' }));
    const next = await build(fx);
    expect(next.replayed).toBe(false);
    expect(next.statuses).toEqual(['hit', 'hit']);
    expect((await build(fx)).replayed).toBe(true);
  });

  it('is not replayed while a package lock exists (a build may be publishing): the run waits for the lock, then hits', async () => {
    const fx = workspace();
    await recorded(fx);
    const lock = lockDirFor(path.join(fx.root, 'packages/a'));
    mkdirSync(lock, { recursive: true });
    const child = spawn(process.execPath, [cliPath, 'build', '--json'], {
      cwd: fx.root,
      env: { ...process.env, BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1' },
    });
    let stdout = '';
    let stderr = '';
    // The holder "finishes publishing" once the run says it waits for it (not after a fixed time: a run
    // that starts late on a busy machine would find the lock already gone, and rightly replay).
    let exited = false;
    let removedWhileRunning: boolean | undefined;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const seen = stderr.includes('waiting for @nr/a: locked by');
      stderr += d.toString();
      if (!seen && stderr.includes('waiting for @nr/a: locked by')) {
        setTimeout(() => {
          removedWhileRunning = !exited;
          rmSync(lock, { recursive: true, force: true });
        }, 500);
      }
    });
    child.on('exit', () => (exited = true));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain('no-op record: replayed');
    // It waited for the holder (neither went ahead nor took the lock over): still running when the lock went.
    expect(removedWhileRunning, stderr).toBe(true);
    expect(stderr).not.toContain('took over');
    expect((JSON.parse(stdout) as { results: { cache: { status: string } }[] }).results.map((r) => r.cache.status)).toEqual(['hit', 'hit']);
  });

  it('records the env vars a config reads, in any form, and replays only while they keep their values', async () => {
    // Computed names and destructuring: what a text match cannot see, the tracked process.env does.
    const config = `import { defineConfig } from 'build-system';\nconst { BS_MINIFY } = process.env;\nconst flavor = process.env['BS_' + 'FLAVOR'] ?? 'plain';\nexport default defineConfig({ adapter: 'esbuild', minify: BS_MINIFY === '1', define: { FLAVOR: JSON.stringify(flavor) } });\n`;
    const fx = workspace({ 'packages/a/src/index.ts': `declare const FLAVOR: string;\nexport const a: string = FLAVOR;\n` }, config);
    await recorded(fx);
    // Each variable the config read is part of the record: a new value is a real run, and the output follows it.
    const flavored = await build(fx, [], { BS_FLAVOR: 'spicy' });
    expect(flavored.replayed).toBe(false);
    expect(flavored.statuses).toEqual(['miss', 'miss']);
    expect(readFileSync(fx.path('packages/a/dist/index.js'), 'utf8')).toContain('spicy');
    expect((await build(fx, [], { BS_FLAVOR: 'spicy' })).replayed).toBe(true);
    const minified = await build(fx, [], { BS_FLAVOR: 'spicy', BS_MINIFY: '1' });
    expect(minified.replayed).toBe(false);
    expect(minified.statuses).toEqual(['miss', 'miss']);
    // Back to the first values: a replay of a new record, or real hits — never the spicy output.
    const back = await build(fx);
    expect(back.statuses).toEqual(['hit', 'hit']);
    expect(readFileSync(fx.path('packages/a/dist/index.js'), 'utf8')).toContain('plain');
  });

  it('records the env vars a plugin reads while the build runs (not while the config evaluates), and replays only while they keep their values', async () => {
    const config = `export default { adapter: 'esbuild', adapterOptions: { esbuild: { plugins: [{ name: 'env', setup(build: any) {
  build.onResolve({ filter: /^virtual:env$/ }, (a: any) => ({ path: a.path, namespace: 'env' }));
  build.onLoad({ filter: /.*/, namespace: 'env' }, () => ({ contents: 'export const api = ' + JSON.stringify(process.env.BS_PLUGIN_API ?? 'none') + ';', loader: 'js' }));
} }] } } };\n`;
    const fx = workspace({ 'packages/a/src/index.ts': `export { api } from 'virtual:env';\n`, 'packages/b/src/index.ts': `export const b = 1;\n` }, config);
    await recorded(fx, [], { BS_PLUGIN_API: 'one' });
    const two = await build(fx, [], { BS_PLUGIN_API: 'two' });
    expect(two.replayed).toBe(false);
    expect(two.statuses).toEqual(['miss', 'hit']);
    expect(readFileSync(fx.path('packages/a/dist/index.js'), 'utf8')).toContain('"two"');
    expect((await build(fx, [], { BS_PLUGIN_API: 'two' })).replayed).toBe(true);
    // Unset is a value too; then back to the first: its entry is restored, never another value's output.
    expect((await build(fx)).statuses).toEqual(['miss', 'hit']);
    expect(readFileSync(fx.path('packages/a/dist/index.js'), 'utf8')).toContain('"none"');
    expect((await build(fx, [], { BS_PLUGIN_API: 'one' })).statuses).toEqual(['hit', 'hit']);
    expect(readFileSync(fx.path('packages/a/dist/index.js'), 'utf8')).toContain('"one"');
  });

  // Three cases side by side: a config listing the environment, one reading the clock, forced or uncached runs.
  for (const [config, why] of [
    [`const all = Object.keys(process.env).length;\nexport default { adapter: 'esbuild', define: { N: String(all) } };\n`, /lists every environment variable/],
    [`export default { adapter: 'esbuild', banner: '// ' + Date.now() };\n`, /uses Date/],
    // Named in full (the message once said "uses import.").
    [`export default { adapter: 'esbuild', banner: '// ' + import.meta.url.length };\n`, /uses import\.meta,/],
  ] as const) {
    it(`never records a config that ${why.source}`, async () => {
      const fx = workspace({}, config);
      const first = await build(fx);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(new RegExp(`no-op record: not written: .*${why.source}`));
      expect((await build(fx)).replayed).toBe(false);
    });
  }

  it('never records uncached or dry runs, never replays a forced one, and records a forced one for the next plain run', async () => {
    const plain = workspace();
    await recorded(plain);
    for (const args of [['--no-cache'], ['--dry-run']]) {
      const r = await build(plain, args);
      expect(r.replayed, args.join(' ')).toBe(false);
      expect(r.stderr, args.join(' ')).not.toContain('no-op record: written');
    }
    // --force rebuilds and stores every result (honojs: the first run after it cost 759 ms instead of a 17 ms replay).
    const forced = await build(plain, ['--force']);
    expect(forced.replayed).toBe(false);
    expect(forced.statuses).toEqual(['miss', 'miss']);
    expect(forced.stderr).toContain('no-op record: written');
    const after = await build(plain);
    expect(after.replayed, after.stderr).toBe(true);
    expect(after.statuses).toEqual(['hit', 'hit']);
  });
});
