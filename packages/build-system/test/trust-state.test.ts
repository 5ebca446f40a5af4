import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../src/index.js';
import { lockDirFor } from '../src/lock.js';
import type { RunResult } from '../src/result/schema.js';
import { cliPath, createFixture, type Fixture } from './helpers/fixture.js';
import { killAndWait, startWorker } from './helpers/procs.js';

/**
 * Issue 11 §3: build-system never crashes or ends silently on state it left
 * behind or on what a config does. Real CLI processes throughout.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  replayed: boolean;
  json: RunResult | null;
}

function cli(fx: Fixture, args: string[] = [], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [cliPath, 'build', '--json', ...args], {
    cwd: fx.root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1', ...env },
  });
  let json: RunResult | null = null;
  try {
    json = JSON.parse(r.stdout) as RunResult;
  } catch {
    json = null;
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, replayed: r.stderr.includes('no-op record: replayed'), json };
}

function workspace(config = `export default { adapter: 'esbuild' };\n`, extra: Record<string, string | object> = {}): Fixture {
  const fx = createFixture({
    'package.json': { name: 'trust-ws', private: true, workspaces: ['packages/*'] },
    'packages/a/package.json': { name: '@t/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/a/build.config.ts': config,
    'packages/a/src/index.ts': 'export const a: number = 1;\n',
    'packages/a/src/lib/extra.ts': 'export const extra = 1;\n',
    ...extra,
  });
  fixtures.push(fx);
  // Old enough that the first run can be recorded at once (files written moments ago are not trusted by stat).
  const old = new Date(Date.now() - 60_000);
  for (const rel of ['package.json', 'packages/a/package.json', 'packages/a/build.config.ts']) utimesSync(fx.path(rel), old, old);
  return fx;
}

/** A run that records, then one that replays. */
function recordedNoop(fx: Fixture): void {
  const first = cli(fx);
  expect(first.code, first.stderr).toBe(0);
  expect(first.stderr).toContain('no-op record: written');
  const second = cli(fx);
  expect(second.replayed, second.stderr).toBe(true);
}

describe('state left behind', () => {
  it('a recorded directory that became a file, a symlink loop, or a damaged record: a normal build, exit 0, then replays again', () => {
    const fx = workspace();
    recordedNoop(fx);

    // rm -rf src/lib && echo x > src/lib: checking the record meets ENOTDIR.
    rmSync(fx.path('packages/a/src/lib'), { recursive: true });
    writeFileSync(fx.path('packages/a/src/lib'), 'x\n');
    const notDir = cli(fx);
    expect(notDir.code, notDir.stderr).toBe(0);
    expect(notDir.replayed).toBe(false);
    expect(notDir.stderr).not.toMatch(/internal error/);
    expect(notDir.json!.results[0]!.status).toBe('success');
    // The run recorded what it saw; the next no-op is replayed again (no hand deletion needed).
    expect(cli(fx).replayed).toBe(true);

    // A directory replaced by a symlink to itself: ELOOP.
    rmSync(fx.path('packages/a/src/lib'));
    symlinkSync('lib', fx.path('packages/a/src/lib'));
    const loop = cli(fx);
    expect(loop.code, loop.stderr).toBe(0);
    expect(loop.replayed).toBe(false);
    expect(loop.json!.results[0]!.status).toBe('success');

    // The record itself damaged.
    const noopDir = fx.path('node_modules/.cache/build-system/v1/noop');
    for (const name of readdirSync(noopDir)) writeFileSync(path.join(noopDir, name), '{"version": 1, "key": ');
    const damaged = cli(fx);
    expect(damaged.code, damaged.stderr).toBe(0);
    expect(damaged.replayed).toBe(false);
    expect(cli(fx).replayed).toBe(true);
  });

  it("the cache's entries directory replaced by a file: the store heals it; no error, no warning, then hits", () => {
    const fx = workspace();
    expect(cli(fx).code).toBe(0);
    const entries = fx.path('node_modules/.cache/build-system/v1/entries');
    rmSync(entries, { recursive: true });
    writeFileSync(entries, 'not a directory\n');
    fx.write({ 'packages/a/src/index.ts': 'export const a: number = 2;\n' });
    const healed = cli(fx);
    expect(healed.code, healed.stderr).toBe(0);
    expect(healed.json!.results[0]!.diagnostics).toEqual([]);
    expect(healed.json!.results[0]!.cache.status).toBe('miss');
    const again = cli(fx, [], { BUILD_SYSTEM_NO_FAST_PATH: '1' });
    expect(again.json!.results[0]!.cache.status).toBe('hit');
  });

  it('a lock left by a SIGKILLed build does not disable the no-op fast path: the next run takes it over and records again', async () => {
    const fx = workspace();
    recordedNoop(fx);
    const pkgDir = fx.path('packages/a');
    const holder = startWorker({ op: 'hold', pkgDir });
    await holder.event('acquired');
    await killAndWait(holder, 'SIGKILL');
    expect(existsSync(lockDirFor(pkgDir))).toBe(true);

    // The record sees the lock and is not used; the run takes the dead holder's lock over and removes it.
    const afterCrash = cli(fx);
    expect(afterCrash.code, afterCrash.stderr).toBe(0);
    expect(afterCrash.replayed).toBe(false);
    expect(afterCrash.json!.results[0]!.cache.status).toBe('hit');
    expect(existsSync(lockDirFor(pkgDir))).toBe(false);
    expect(afterCrash.stderr).toContain('no-op record: written');
    expect(cli(fx).replayed).toBe(true);
  });

  it('"name": 5 in package.json, or dependencies that are not an object: an error naming the file and the field, exit 2', () => {
    for (const [manifest, field] of [
      [{ name: 5, version: '1.0.0' }, 'name'],
      [{ name: '@t/a', version: '1.0.0', dependencies: ['x'] }, 'dependencies'],
      [{ name: '@t/a', version: '1.0.0', type: 'esm' }, 'type'],
    ] as const) {
      const fx = workspace();
      fx.write({ 'packages/a/package.json': manifest });
      const r = cli(fx);
      expect(r.code, r.stderr).toBe(2);
      expect(r.json!.error).toMatchObject({ code: 'PACKAGE_JSON_INVALID', field, file: fx.path('packages/a/package.json') });
      expect(r.json!.error!.message).toContain(`"${field}" must be`);
      expect(r.stderr).toContain('packages/a/package.json');
    }
  });
});

describe('configs that end the process, never settle or throw later', () => {
  const run = (config: string, env: NodeJS.ProcessEnv = {}) => cli(workspace(config), [], env);

  it('process.exit(0) while the config evaluates: CONFIG_LOAD at its line, exit 2, a full --json document', () => {
    const r = run(`process.exit(0);\nexport default {};\n`);
    expect(r.code, r.stderr).toBe(2);
    const result = r.json!.results[0]!;
    expect(result.error).toMatchObject({ code: 'CONFIG_LOAD' });
    expect(result.error!.message).toMatch(/^packages\/a\/build\.config\.ts:1:\d+: the config called process\.exit\(0\); a config must only compute and export its settings$/);
  });

  it('process.exit(0) from a timer, during or after evaluation: exit 2, never 0 with nothing built', () => {
    const during = run(`setTimeout(() => process.exit(0), 20);\nawait new Promise((r) => setTimeout(r, 300));\nexport default { adapter: 'esbuild' };\n`);
    expect(during.code).toBe(2);
    expect(during.stderr).toContain('build-system: error CONFIG_LOAD: packages/a/build.config.ts: the config called process.exit(0) from a timer or a promise');
    const after = run(`setTimeout(() => process.exit(0), 0);\nexport default { adapter: 'esbuild' };\n`);
    expect(after.code).toBe(2);
    expect(after.stderr).toContain('the process was ended (process.exit(0)) before the build finished');
  });

  it('a top-level await that never settles: CONFIG_LOAD after the timeout, exit 2', () => {
    const r = run(`await new Promise(() => {});\nexport default {};\n`, { BUILD_SYSTEM_CONFIG_TIMEOUT_MS: '1000' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.json!.results[0]!.error!.message).toBe('packages/a/build.config.ts: the config did not finish evaluating within 1 s (a top-level await that never settles? a slow one may raise BUILD_SYSTEM_CONFIG_TIMEOUT_MS); a config must only compute and export its settings');
  });

  it('a throw from a timer and a rejected promise name the config, exit 2', () => {
    const thrown = run(`setTimeout(() => { throw new Error('late boom'); }, 10);\nawait new Promise((r) => setTimeout(r, 300));\nexport default { adapter: 'esbuild' };\n`);
    expect(thrown.code).toBe(2);
    expect(thrown.stderr).toContain('build-system: error CONFIG_LOAD: packages/a/build.config.ts: the config threw Error: late boom from a timer or a promise');
    const rejected = run(`Promise.reject(new Error('rejected later'));\nexport default { adapter: 'esbuild' };\n`);
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toContain('packages/a/build.config.ts: the config threw Error: rejected later');
  });

  it('through the API, process.exit in a config is a CONFIG_LOAD result and the host process goes on', async () => {
    const fx = workspace(`process.exit(3);\nexport default {};\n`);
    const run = (await build({ cwd: fx.root })) as RunResult;
    expect(run.exitCode).toBe(2);
    expect(run.results[0]!.error!.message).toContain('the config called process.exit(3)');
    expect(typeof process.exit).toBe('function');
    mkdirSync(fx.path('probe'));
    expect(existsSync(fx.path('probe'))).toBe(true);
  });
});
