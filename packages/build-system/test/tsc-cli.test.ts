import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { createBuildSystem } from '../src/create.js';
import { linkTypeScript, TYPESCRIPTS } from './helpers/adapter-ctx.js';
import { cliPath, createFixture, snapshotTree, untilClockPasses, type FileTree, type Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/**
 * The tsc adapter through the real CLI: each diagnostic printed once (tsc and
 * esbuild), and the type-check-only target (emit: false) with the cache.
 * Where a case asks only what the cache did (hit, miss, key, reason, files),
 * its builds run in this process with the real TypeScript (`build` below);
 * what the CLI prints, and `clean`, stay with the real CLI.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function fixture(files: FileTree, opts: { linkNodeModules?: boolean } = {}): Fixture {
  const fx = createFixture(files, opts);
  fixtures.push(fx);
  return fx;
}

/** `build-system build` in a child process, awaited (not spawnSync) so that concurrent cases wait on their CLIs together. */
async function cli(fx: Fixture, args: string[], env: NodeJS.ProcessEnv = {}, cacheDir = fx.path('.cache-dir')) {
  const r = await cliRun(['build', '--cwd', fx.root, '--cache-dir', cacheDir, ...args], { cwd: fx.root, env: { NO_COLOR: '1', BUILD_SYSTEM_TSC_SPAWN: undefined, ...env } });
  return { ...r, all: `${r.stdout}\n${r.stderr}` };
}

const system = createBuildSystem();

/**
 * A build in this process with the real adapters, as `cli(fx, ['--json'], env, cacheDir)` runs it:
 * BUILD_SYSTEM_TSC_SPAWN (which the tsc adapter reads at build time) set from `env` for the build only.
 */
async function build(fx: Fixture, env: NodeJS.ProcessEnv = {}, cacheDir = fx.path('.cache-dir')) {
  const saved = process.env.BUILD_SYSTEM_TSC_SPAWN;
  if (env.BUILD_SYSTEM_TSC_SPAWN === undefined) delete process.env.BUILD_SYSTEM_TSC_SPAWN;
  else process.env.BUILD_SYSTEM_TSC_SPAWN = env.BUILD_SYSTEM_TSC_SPAWN;
  try {
    const run = await system.build({ cwd: fx.root, cacheDir });
    return { code: run.exitCode, results: run.results };
  } finally {
    if (saved === undefined) delete process.env.BUILD_SYSTEM_TSC_SPAWN;
    else process.env.BUILD_SYSTEM_TSC_SPAWN = saved;
  }
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

// lib without DOM: each CLI process and each spawned tsc parses TypeScript's lib files again (lib.dom is most of them).
const tscPackage = (source: string, config = `{ adapter: 'tsc' }`): FileTree => ({
  'package.json': { name: 'tsc-cli', version: '1.0.0', type: 'module', exports: './dist/index.js' },
  'tsconfig.json': { compilerOptions: { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: [] }, include: ['src'] },
  'build.config.ts': `export default ${config};\n`,
  'src/index.ts': source,
});

const WAYS = [
  { name: 'TypeScript 5.9 in-process', dir: TYPESCRIPTS[0]!.dir, env: {} },
  { name: 'TypeScript 5.9 spawned', dir: TYPESCRIPTS[0]!.dir, env: { BUILD_SYSTEM_TSC_SPAWN: '1' } },
  { name: 'TypeScript 7', dir: TYPESCRIPTS[1]!.dir, env: {} },
];

// Concurrent: each case waits on its own CLI processes (env passed to the child, not set here), on its own fixture.
describe.concurrent('each diagnostic is printed once', () => {
  const twoErrors = "export const x: number = 'a';\nexport const y: string = 1;\n";

  test.each(WAYS)('tsc type errors ($name): once each in the human output, all in --json', async ({ dir, env }) => {
    const fx = fixture(tscPackage(twoErrors));
    linkTypeScript(fx, dir);
    const human = await cli(fx, [], env);
    expect(human.code).toBe(1);
    expect(count(human.all, "Type 'string' is not assignable to type 'number'.")).toBe(1);
    expect(count(human.all, "Type 'number' is not assignable to type 'string'.")).toBe(1);
    // The second one with its code, where an editor links it.
    expect(human.stderr).toContain("src/index.ts:2:14: error TS2322: Type 'number' is not assignable to type 'string'.");

    const json = await cli(fx, ['--json'], env);
    const result = JSON.parse(json.stdout).results[0];
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ code: 'TS2322', line: 1, message: "Type 'string' is not assignable to type 'number'." }),
      expect.objectContaining({ code: 'TS2322', line: 2, message: "Type 'number' is not assignable to type 'string'." }),
    ]);
    expect(count(json.stderr, "Type 'string' is not assignable to type 'number'.")).toBe(1);
  });

  test('esbuild syntax error: once', async () => {
    const fx = fixture(
      {
        'package.json': { name: 'esbuild-cli', version: '1.0.0', type: 'module', exports: './dist/index.js' },
        'build.config.ts': `export default { adapter: 'esbuild' };\n`,
        'src/index.ts': 'export const x = (1 + ;\n',
      },
      { linkNodeModules: true },
    );
    const human = await cli(fx, []);
    expect(human.code).toBe(1);
    expect(count(human.all, 'Unexpected ";"')).toBe(1);
    expect(human.stderr).toContain('src/index.ts:1:23: Unexpected ";"');
    const json = JSON.parse((await cli(fx, ['--json'])).stdout).results[0];
    expect(json.diagnostics).toEqual([expect.objectContaining({ severity: 'error', message: 'Unexpected ";"', line: 1, column: 23 })]);
  });
});

describe.each(WAYS)('emit: false ($name)', ({ dir, env }) => {
  test('checks, writes nothing, leaves outDir alone; cached, and keyed like a tsc build', async () => {
    const fx = fixture({
      ...tscPackage('export const n: number = 1;\n', `{ adapter: 'tsc', emit: false }`),
      // What an earlier build left: emit: false neither cleans nor replaces it.
      'dist/index.js': 'export const old = true;\n',
      'dist/keep.txt': 'mine\n',
    });
    linkTypeScript(fx, dir);
    const before = snapshotTree(fx.path('dist'));
    const listing = () => readdirSync(fx.root).filter((n) => n !== '.cache-dir').sort();
    const names = listing();

    const first = await build(fx, env);
    expect(first.code).toBe(0);
    const miss = first.results[0]!;
    expect(miss).toMatchObject({ status: 'success', artifacts: [], diagnostics: [], cache: { status: 'miss' } });
    expect(snapshotTree(fx.path('dist'))).toEqual(before);
    // No staging dir or generated tsconfig left in the package.
    expect(listing()).toEqual(names);

    const hit = (await build(fx, env)).results[0];
    expect(hit).toMatchObject({ status: 'success', artifacts: [], diagnostics: [], cache: { status: 'hit', key: miss.cache.key } });
    expect(snapshotTree(fx.path('dist'))).toEqual(before);

    // Keyed like any tsc build: a source change is a miss, and a type error fails it (outDir still untouched).
    fx.write({ 'src/index.ts': "export const n: number = 'one';\n" });
    const failed = await build(fx, env);
    expect(failed.code).toBe(1);
    const bad = failed.results[0]!;
    expect(bad).toMatchObject({ status: 'failed', cache: { status: 'miss' } });
    expect(bad.diagnostics).toEqual([expect.objectContaining({ code: 'TS2322', file: 'src/index.ts' })]);
    expect(snapshotTree(fx.path('dist'))).toEqual(before);

    // emit is in the key: the emitting build of the same sources is not the check's entry.
    fx.write({ 'src/index.ts': 'export const n: number = 1;\n', 'build.config.ts': `export default { adapter: 'tsc' };\n` });
    const emitting = (await build(fx, env)).results[0]!;
    expect(emitting).toMatchObject({ status: 'success', cache: { status: 'miss', reason: expect.stringContaining('emit') } });
    expect(emitting.artifacts.map((a) => a.path)).toEqual(['dist/index.js']);
    const built = snapshotTree(fx.path('dist'));
    expect(Object.keys(built)).toEqual(['index.js']);

    // Back to emit: false: its entry is a hit, and the emitted outDir is left as it is (no restore of "nothing").
    fx.write({ 'build.config.ts': `export default { adapter: 'tsc', emit: false };\n` });
    const again = (await build(fx, env)).results[0];
    expect(again).toMatchObject({ status: 'success', cache: { status: 'hit', key: miss.cache.key } });
    expect(snapshotTree(fx.path('dist'))).toEqual(built);

    // People are told it was a check, and `clean` leaves an outDir this target never writes.
    const human = await cli(fx, ['--force'], env);
    expect(human.code).toBe(0);
    expect(human.all).toMatch(/✔ checked with tsc [\d.]+ in \d+ ms \(type-check only, nothing written\)/);
    const clean = spawnSync(process.execPath, [cliPath, 'clean', '--cwd', fx.root], { cwd: fx.root, encoding: 'utf8' });
    expect(clean.status).toBe(0);
    expect(snapshotTree(fx.path('dist'))).toEqual(built);
  });
});

describe('the cache with a tsconfig above the package and a generated one', () => {
  test('a hit despite the generated tsconfig’s random path; a miss when the root tsconfig changes or one appears closer', async () => {
    const fx = fixture({
      'package.json': { name: 'root', private: true, workspaces: ['packages/*'] },
      'tsconfig.json': { compilerOptions: { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: [] }, include: ['packages/*/src'] },
      'packages/a/package.json': { name: '@ws/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/a/build.config.ts': `export default { adapter: 'tsc', exclude: ['src/**/*.test.ts'] };\n`,
      'packages/a/src/index.ts': '// kept unless removeComments\nexport const a = 1;\n',
      'packages/a/src/index.test.ts': 'export const t = 1;\n',
    });
    linkTypeScript(fx, TYPESCRIPTS[0]!.dir);
    // Outside the workspace, as a user's cache dir may be.
    const cacheDir = fixture({}).root;
    const run = async () => {
      const r = await build(fx, {}, cacheDir);
      expect(r.code).toBe(0);
      return r.results[0]!;
    };
    const index = () => fx.read('packages/a/dist/index.js');

    const first = await run();
    expect(first).toMatchObject({ status: 'success', cache: { status: 'miss' } });
    expect(first.artifacts.map((a) => a.path)).toEqual(['dist/index.js']);
    expect(index()).toContain('// kept');
    expect(await run()).toMatchObject({ cache: { status: 'hit', key: first.cache.key } });
    // A file beside the root tsconfig is nothing this build read: still a hit.
    fx.write({ 'NOTES.md': 'unrelated\n', 'tools/script.ts': 'export {};\n' });
    expect(await run()).toMatchObject({ cache: { status: 'hit', key: first.cache.key } });

    fx.write({ 'tsconfig.json': { compilerOptions: { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: [], removeComments: true }, include: ['packages/*/src'] } });
    // Stored only when it starts after the write's clock tick (else the file may have changed while it ran).
    untilClockPasses(fx.path('tsconfig.json'), fx.root);
    const rootChanged = await run();
    expect(rootChanged).toMatchObject({ cache: { status: 'miss', reason: expect.stringContaining('../../tsconfig.json') } });
    expect(index()).not.toContain('// kept');
    expect(await run()).toMatchObject({ cache: { status: 'hit', key: rootChanged.cache.key } });

    // A tsconfig.json appearing between the package and the root is the nearest one from now on.
    fx.write({ 'packages/tsconfig.json': { extends: '../tsconfig.json', compilerOptions: { removeComments: false } } });
    const closer = await run();
    expect(closer.cache.status).toBe('miss');
    expect(index()).toContain('// kept');
  });
});
