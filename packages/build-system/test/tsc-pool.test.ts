import { existsSync, readFileSync, realpathSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { emitDeclarations } from '../src/adapters/dts.js';
import { tscAdapter } from '../src/adapters/tsc.js';
import { tscPoolStats, tscWorkerFile } from '../src/adapters/tsc-pool.js';
import type { AdapterOutput, BuilderAdapter } from '../src/adapters/types.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { linkTypeScript, listFiles, relPaths, SMALL_NODE_TYPES, stagingContext, trackedFixtures, TYPESCRIPTS, type LogLine } from './helpers/adapter-ctx.js';
import { packageRoot, repoRoot, type FileTree, type Fixture } from './helpers/fixture.js';
import { startProcess } from './helpers/procs.js';
import { ReadLog } from '../src/util/read-log.js';

const newFixture = trackedFixtures();
const ts5 = TYPESCRIPTS[0]!.dir;

afterEach(() => {
  delete process.env.BUILD_SYSTEM_TSC_SPAWN;
});

/**
 * A package with the 5.9 typescript. Node's types: the repo's @types/node (a symlinked package of
 * ~150 files) where what the compiler read is the point; SMALL_NODE_TYPES elsewhere, since each
 * spawned tsc and each new worker parses them again.
 */
function tsPackage(files: FileTree, nodeTypes: 'repo' | 'small' = 'small'): Fixture {
  const fx = newFixture(files);
  linkTypeScript(fx, ts5, nodeTypes);
  return fx;
}

interface Emit {
  out: AdapterOutput;
  outDir: string;
  logs: LogLine[];
  /** Every file in the staging dir: relative path -> content. */
  written: Record<string, string>;
}

/** Declarations (mode 'declarations'), or a tsc adapter build when `adapter` is tscAdapter, into a fresh staging dir. */
async function emit(fx: Fixture, config: BuildConfigInput, adapter?: BuilderAdapter, signal?: AbortSignal): Promise<Emit> {
  const pkg = loadPackageInfo(fx.root, new ReadLog());
  const { ctx, logs } = stagingContext(pkg, config, { available: true, version: '5.9.3', location: ts5 }, signal);
  const out = adapter ? await adapter.build(ctx) : await emitDeclarations(ctx);
  const written = Object.fromEntries(listFiles(ctx.outDir).map((f) => [f, readFileSync(path.join(ctx.outDir, f), 'utf8')]));
  return { out, outDir: ctx.outDir, logs, written };
}

/** The same build in a pool worker and with the spawned tsc; checks which path each took. */
async function bothWays(fx: Fixture, config: BuildConfigInput, adapter?: BuilderAdapter) {
  const before = tscPoolStats();
  const inProcess = await emit(fx, config, adapter);
  const between = tscPoolStats();
  expect(between.compiled).toBe(before.compiled + 1);
  expect(between.handedBack).toBe(before.handedBack);
  process.env.BUILD_SYSTEM_TSC_SPAWN = '1';
  const spawned = await emit(fx, config, adapter);
  delete process.env.BUILD_SYSTEM_TSC_SPAWN;
  expect(tscPoolStats().compiled).toBe(between.compiled);
  return { inProcess, spawned };
}

/** An AdapterOutput with its files relative to its staging dir, so two runs compare. */
const comparable = (e: Emit) => ({ ...e.out, files: relPaths(e.outDir, e.out.files) });

const sources: FileTree = {
  'package.json': { name: 'pool-lib', version: '1.0.0', type: 'module', exports: './dist/index.js' },
  'tsconfig.json': { compilerOptions: { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: ['node'] }, include: ['src'] },
  'src/index.ts': "import { area, type Shape } from './shapes/area.js';\nexport type { Shape };\n/** Sum of the areas. */\nexport const total = (shapes: Shape[]): number => shapes.reduce((n, s) => n + area(s), 0);\nexport class Box<T> {\n  constructor(readonly value: T) {}\n}\n",
  'src/shapes/area.ts': "export type Shape = { kind: 'square'; side: number } | { kind: 'circle'; r: number };\nexport function area(s: Shape): number {\n  return s.kind === 'square' ? s.side ** 2 : Math.PI * s.r ** 2;\n}\n",
};

describe('in-process tsc and spawned tsc agree', () => {
  test('declarations: byte-identical files, same output and log', async () => {
    const fx = tsPackage(sources, 'repo');
    const { inProcess, spawned } = await bothWays(fx, { adapter: 'esbuild', dts: true });
    expect(inProcess.out.diagnostics).toEqual([]);
    expect(Object.keys(inProcess.written)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    expect(inProcess.written['index.d.ts']).toContain('/** Sum of the areas. */\nexport declare const total');
    expect(inProcess.written).toEqual(spawned.written);
    expect(comparable(inProcess)).toEqual(comparable(spawned));
    expect(inProcess.logs).toEqual(spawned.logs);
    // What the compiler read (the cache keys the entry on it): the same program both ways, TypeScript's own libs left out.
    expect([...inProcess.out.reads!].sort()).toEqual([...spawned.out.reads!].sort());
    expect(inProcess.out.reads).toEqual(expect.arrayContaining([fx.path('src/index.ts'), fx.path('src/shapes/area.ts'), fx.path('tsconfig.json')]));
    expect(inProcess.out.reads!.some((f) => f.includes(`${path.sep}typescript${path.sep}lib${path.sep}`))).toBe(false);
  });

  test('tsc adapter build (JS, source maps, declarations): byte-identical files', async () => {
    const fx = tsPackage(sources, 'repo');
    const { inProcess, spawned } = await bothWays(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm', dts: true, sourcemap: true }, tscAdapter);
    expect(Object.keys(inProcess.written)).toEqual(['index.d.ts', 'index.js', 'index.js.map', 'shapes/area.d.ts', 'shapes/area.js', 'shapes/area.js.map']);
    expect(inProcess.written).toEqual(spawned.written);
    expect(comparable(inProcess)).toEqual(comparable(spawned));
  });

  test('type errors, a chained one and a tsconfig error: the same diagnostics with file, line, column and code', async () => {
    const fx = tsPackage({
      ...sources,
      'tsconfig.json': { compilerOptions: { module: 'NodeNext', lib: ['ES2022'], strict: true, skipLibCheck: true, types: ['node'], notAnOption: true }, include: ['src'] },
      'src/greet.ts': "export function greet(name: string): string {\n  const n: number = name;\n  return `hello ${n}`;\n}\nexport const pairs: Array<{ x: number }> = [{ x: 'no' }] as Array<{ x: string }>;\n",
      // Declarations follow the entry: the file with the errors is one it reaches.
      'src/index.ts': `${sources['src/index.ts']}export { greet, pairs } from './greet.js';\n`,
    });
    const { inProcess, spawned } = await bothWays(fx, { adapter: 'esbuild', dts: true });
    expect(inProcess.out.ok).toBe(false);
    // The first type error of a declaration step carries the --noCheck hint (tsc-hints.ts), both ways.
    expect(inProcess.out.diagnostics).toContainEqual({ severity: 'error', file: 'src/greet.ts', line: 2, column: 9, code: 'TS2322', message: expect.stringMatching(/^Type 'string' is not assignable to type 'number'\.\nhint: declarations are written by TypeScript, which stops on a type error/) });
    expect(inProcess.out.diagnostics).toContainEqual(expect.objectContaining({ file: 'tsconfig.json', code: 'TS5023', message: "Unknown compiler option 'notAnOption'." }));
    const chained = inProcess.out.diagnostics.find((d) => d.file === 'src/greet.ts' && d.line === 5);
    expect(chained?.message).toMatch(/\n {4}Types of property 'x' are incompatible\.\n/);
    expect(comparable(inProcess)).toEqual(comparable(spawned));
    expect(inProcess.written).toEqual(spawned.written);
    expect(inProcess.logs).toEqual(spawned.logs);
    // Diagnostics are the result's, printed once from there: not log lines too, either way.
    expect(inProcess.logs.filter((l) => / error TS\d+: /.test(l.line))).toEqual([]);
  });

  test('a syntax error and a bad command-line option: the same diagnostics', async () => {
    const fx = tsPackage({ ...sources, 'src/shapes/area.ts': 'export function area(s: number): number {\n  return s **;\n}\n' });
    const syntax = await bothWays(fx, { adapter: 'esbuild', dts: true });
    // With --noEmitOnError tsc reports the semantic errors a syntax error causes too (both ways), sorted by file.
    expect(syntax.inProcess.out.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', file: 'src/shapes/area.ts', line: 2, code: 'TS1109' }));
    expect(comparable(syntax.inProcess)).toEqual(comparable(syntax.spawned));

    const badOption = await bothWays(tsPackage(sources), { adapter: 'esbuild', dts: true, adapterOptions: { tsc: { args: ['--target', 'es1999'] } } });
    expect(badOption.inProcess.out.ok).toBe(false);
    expect(badOption.inProcess.out.diagnostics[0]).toMatchObject({ severity: 'error', code: 'TS6046' });
    expect(badOption.inProcess.out.diagnostics[0]!.file).toBeUndefined();
    expect(comparable(badOption.inProcess)).toEqual(comparable(badOption.spawned));
  });

  test('an error only declaration emit finds (TS4094): the same diagnostics', async () => {
    const fx = tsPackage({ ...sources, 'src/mixin.ts': 'export const mixin = () =>\n  class {\n    private secret = 1;\n  };\n', 'src/index.ts': `${sources['src/index.ts']}export { mixin } from './mixin.js';\n` });
    const { inProcess, spawned } = await bothWays(fx, { adapter: 'esbuild', dts: true });
    expect(inProcess.out.diagnostics).toEqual([expect.objectContaining({ severity: 'error', file: 'src/mixin.ts', line: 1, code: 'TS4094' })]);
    expect(comparable(inProcess)).toEqual(comparable(spawned));
    expect(inProcess.written).toEqual(spawned.written);
  });

  test('a tsconfig outFile: the same error both ways, with a hint, and nothing is written outside the staging dir', async () => {
    const fx = tsPackage({
      ...sources,
      'tsconfig.json': { compilerOptions: { module: 'amd', outFile: 'bundle/out.js', lib: ['ES2022'], strict: true, skipLibCheck: true, types: ['node'] }, include: ['src'] },
    });
    const inProcess = await emit(fx, { adapter: 'esbuild', dts: true });
    expect(existsSync(fx.path('bundle'))).toBe(false);
    process.env.BUILD_SYSTEM_TSC_SPAWN = '1';
    const spawned = await emit(fx, { adapter: 'esbuild', dts: true });
    // --noEmitOnError: the spawned tsc, whose writes build-system cannot intercept, writes nothing either.
    expect(existsSync(fx.path('bundle'))).toBe(false);
    expect(inProcess.out.ok).toBe(false);
    expect(inProcess.out.diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', file: 'tsconfig.json', code: 'TS5053', message: expect.stringMatching(/'outFile'\.\nhint: .*remove outFile/) }),
    ]);
    expect(comparable(inProcess)).toEqual(comparable(spawned));
  });

  test('a command line only tsc itself runs (--listFiles) is handed to the spawned tsc', async () => {
    const fx = tsPackage(sources);
    const before = tscPoolStats();
    const { out, logs } = await emit(fx, { adapter: 'esbuild', dts: true, adapterOptions: { tsc: { args: ['--listFiles'] } } });
    expect(out.ok).toBe(true);
    expect(tscPoolStats().handedBack).toBe(before.handedBack + 1);
    // What only the real tsc prints: the list of files, here in the log.
    expect(logs.some((l) => l.line.endsWith('/src/shapes/area.ts'))).toBe(true);
  });
});

describe('the worker’s parsed-file cache', () => {
  test('a dependency’s .d.ts rewritten between builds (same size, mtime put back) is read fresh', async () => {
    const declaration = (type: string) => `export declare const v: ${type};\n`;
    const fx = tsPackage({
      ...sources,
      'src/index.ts': "import { v } from 'dep';\nexport const n: number = v;\n",
      'node_modules/dep/package.json': { name: 'dep', version: '1.0.0', type: 'module', exports: { '.': { types: './index.d.ts', default: './index.js' } } },
      'node_modules/dep/index.d.ts': declaration('number'),
      'node_modules/dep/index.js': 'export const v = 1;\n',
    });
    const dts = fx.path('node_modules/dep/index.d.ts');
    const rewrite = (type: string) => {
      const { atime, mtime, size } = statSync(dts);
      writeFileSync(dts, declaration(type));
      expect(statSync(dts).size).toBe(size);
      utimesSync(dts, atime, mtime);
    };
    const before = tscPoolStats();
    // Twice each: the second build of a version is served from the cache of a worker that has seen it.
    for (const [i, type] of ['number', 'string', 'number', 'string'].entries()) {
      if (i > 0) rewrite(type);
      for (let j = 0; j < 2; j++) {
        const { out } = await emit(fx, { adapter: 'esbuild', dts: true });
        if (type === 'number') expect(out.diagnostics).toEqual([]);
        else expect(out.diagnostics).toEqual([expect.objectContaining({ file: 'src/index.ts', line: 2, code: 'TS2322' })]);
      }
    }
    expect(tscPoolStats().compiled).toBe(before.compiled + 8);
  });
});

describe('abort and failures', () => {
  const slowSources: FileTree = {
    ...sources,
    // ~2 s of type checking: long enough to abort it mid-run.
    'src/index.ts': Array.from({ length: 3000 }, (_, i) => `export function f${i}<T extends { a: number }>(x: T & { k${i}: string }): Array<Map<string, T[]>> { return [new Map([[x.k${i}, [x]]])]; }`).join('\n'),
  };

  test('abort terminates the busy worker, returns promptly with nothing; the next build works', async () => {
    // The repo's @types/node, as before: this case is about timing (the abort lands mid-check), so its program stays the same.
    const fx = tsPackage(slowSources, 'repo');
    const ac = new AbortController();
    const before = tscPoolStats();
    const running = emit(fx, { adapter: 'esbuild', dts: true }, undefined, ac.signal);
    while (tscPoolStats().busy === 0) await new Promise((r) => setTimeout(r, 5));
    const { alive } = tscPoolStats();
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    const { out, outDir, written } = await running;
    // Not a timed assertion (they fail on a loaded machine): the worker is gone and nothing was compiled, so
    // the answer came from the abort, not from the ~2 s check finishing.
    expect(out).toEqual({ ok: false, files: [], diagnostics: [], reads: null });
    expect(tscPoolStats()).toMatchObject({ busy: 0, alive: alive - 1, compiled: before.compiled });
    // Aborted while checking, before emit; and the worker is gone, so nothing appears later either.
    expect(written).toEqual({});
    await new Promise((r) => setTimeout(r, 300));
    expect(listFiles(outDir)).toEqual([]);

    const next = await emit(tsPackage(sources), { adapter: 'esbuild', dts: true });
    expect(next.out.diagnostics).toEqual([]);
    expect(Object.keys(next.written)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    expect(tscPoolStats().compiled).toBe(before.compiled + 1);
  });

  /**
   * A TypeScript dir whose lib/typescript.js is `typescriptJs` and whose bin/tsc
   * is the real 5.9.3 tsc, so the spawned fallback works and says who ran.
   */
  function fakeTypeScript(fx: Fixture, typescriptJs: string): void {
    const real = realpathSync(ts5);
    fx.write({
      'node_modules/typescript/package.json': { name: 'typescript', version: '5.9.3', main: './lib/typescript.js' },
      'node_modules/typescript/bin/tsc': `#!/usr/bin/env node\nrequire(${JSON.stringify(path.join(real, 'lib/tsc.js'))});\n`,
      'node_modules/typescript/lib/typescript.js': typescriptJs,
    });
    fx.write(SMALL_NODE_TYPES);
  }

  test('an unloadable TypeScript falls back to the spawned tsc (said once in the log), and is not tried again', async () => {
    const fx = newFixture(sources);
    fakeTypeScript(fx, "throw new Error('not this one');\n");
    const first = await emit(fx, { adapter: 'esbuild', dts: true });
    expect(first.out.diagnostics).toEqual([]);
    expect(Object.keys(first.written)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    expect(first.logs.filter((l) => l.line.includes('running tsc as a child process instead'))).toEqual([
      { stream: 'stderr', line: expect.stringContaining('not this one') },
    ]);
    const second = await emit(fx, { adapter: 'esbuild', dts: true });
    expect(second.out.diagnostics).toEqual([]);
    expect(second.logs).toEqual([]);
  });

  test('a worker that dies mid-compile, or a compiler that throws, falls back to the spawned tsc', async () => {
    for (const createProgram of ['() => process.exit(7)', "() => { throw new Error('compiler bug'); }"]) {
      const fx = newFixture(sources);
      fakeTypeScript(fx, `module.exports = { ...require(${JSON.stringify(path.join(realpathSync(ts5), 'lib/typescript.js'))}), createProgram: ${createProgram} };\n`);
      const before = tscPoolStats();
      const { out, written, logs } = await emit(fx, { adapter: 'esbuild', dts: true });
      expect(out.diagnostics).toEqual([]);
      expect(Object.keys(written)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
      expect(logs).toEqual([{ stream: 'stderr', line: expect.stringMatching(/^build-system: (the tsc worker crashed: the worker exited with code 7|TypeScript failed in a worker: Error: compiler bug); running tsc as a child process instead$/) }]);
      expect(tscPoolStats()).toMatchObject({ handedBack: before.handedBack + 1, compiled: before.compiled });
    }
  });
});

describe('from the built package', () => {
  const distIndex = path.join(packageRoot, 'dist/index.js');
  const distCjs = path.join(packageRoot, 'dist/index.cjs');

  function apiPackage(): Fixture {
    return tsPackage({
      ...sources,
      'build.config.ts': `export default { adapter: 'esbuild', dts: true };\n`,
    });
  }

  test('tscWorkerFile finds the worker beside the sources, and dist/adapters/tsc-worker.js from the dist', async () => {
    expect(tscWorkerFile()).toBe(path.join(packageRoot, 'src/adapters/tsc-worker.ts'));
    const fromDist = (await import(path.join(packageRoot, 'dist/adapters/tsc-pool.js'))) as typeof import('../src/adapters/tsc-pool.js');
    expect(fromDist.tscWorkerFile()).toBe(path.join(packageRoot, 'dist/adapters/tsc-worker.js'));
  });

  test('ESM API: declarations built in a worker; the process exits promptly with the worker idle', async () => {
    const fx = apiPackage();
    const code = [
      `const api = await import(${JSON.stringify(distIndex)});`,
      `const run = await api.build({ cwd: ${JSON.stringify(fx.root)} });`,
      `const { tscPoolStats } = await import(${JSON.stringify(path.join(packageRoot, 'dist/adapters/tsc-pool.js'))});`,
      `console.log(JSON.stringify({ type: 'built', status: run.results[0].status, stats: tscPoolStats() }));`,
    ].join('\n');
    const p = startProcess(process.execPath, ['--input-type=module', '-e', code], { cwd: repoRoot });
    const built = await p.event('built', 60_000);
    const exit = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    if (exit === 'hung') p.child.kill('SIGKILL');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(built).toMatchObject({ status: 'success', stats: { compiled: 1, handedBack: 0, alive: 1, busy: 0 } });
    expect(listFiles(fx.path('dist'))).toEqual(['index.d.ts', 'index.js', 'shapes/area.d.ts']);
  });

  test('CJS API (dist/index.cjs): the worker is dist/adapters/tsc-worker.js and no tsc is spawned; BUILD_SYSTEM_TSC_SPAWN=1 spawns it', async () => {
    const code = [
      `const cp = require('node:child_process');`,
      `const wt = require('node:worker_threads');`,
      `const seen = { tsc: 0, workers: [] };`,
      `const spawn = cp.spawn;`,
      `cp.spawn = function (cmd, args, ...rest) { if (Array.isArray(args) && args.some((a) => /[\\\\/]bin[\\\\/]tsc$/.test(a))) seen.tsc++; return spawn.call(this, cmd, args, ...rest); };`,
      `const Worker = wt.Worker;`,
      `wt.Worker = class extends Worker { constructor(file, options) { seen.workers.push(String(file)); super(file, options); } };`,
      `const api = require(${JSON.stringify(distCjs)});`,
      `api.build({ cwd: process.argv[1] }).then((run) => console.log(JSON.stringify({ type: 'built', status: run.results[0].status, ...seen })));`,
    ].join('\n');
    // Both at once: two processes, each with its own fixture and env, each waited on.
    const runs = [false, true].map(async (spawnTsc) => {
      const fx = apiPackage();
      const p = startProcess(process.execPath, ['-e', code, fx.root], { cwd: repoRoot, env: spawnTsc ? { BUILD_SYSTEM_TSC_SPAWN: '1' } : {} });
      const built = await p.event('built', 60_000);
      const exit = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
      if (exit === 'hung') p.child.kill('SIGKILL');
      return { spawnTsc, fx, built, exit };
    });
    for (const { spawnTsc, fx, built, exit } of await Promise.all(runs)) {
      expect(exit).toEqual({ code: 0, signal: null });
      expect(built).toEqual(
        spawnTsc
          ? { type: 'built', status: 'success', tsc: 1, workers: [] }
          : { type: 'built', status: 'success', tsc: 0, workers: [path.join(packageRoot, 'dist/adapters/tsc-worker.js')] },
      );
      expect(listFiles(fx.path('dist'))).toEqual(['index.d.ts', 'index.js', 'shapes/area.d.ts']);
    }
  });
});
