import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { tscPoolStats } from '../src/adapters/tsc-pool.js';
import { tscAdapter } from '../src/adapters/tsc.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { BuildSystemError } from '../src/errors.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { COMPOSITE_TSCONFIG, leaveOwnTsBuildInfo, linkTypeScript, nodeStdout, relPaths, runAdapter, trackedFixtures, TYPESCRIPTS, type AdapterRun } from './helpers/adapter-ctx.js';
import type { FileTree, Fixture } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

const newFixture = trackedFixtures();

/**
 * A package whose node_modules holds only the given typescript (as `typescript`) and @types/node:
 * the repo's where a case says so, else SMALL_NODE_TYPES (each spawned tsc parses the real one again).
 */
function tsPackage(tsDir: string | undefined, files: FileTree, nodeTypes: 'repo' | 'small' = 'small'): Fixture {
  const fx = newFixture(files);
  if (tsDir) linkTypeScript(fx, tsDir, nodeTypes);
  return fx;
}

function build(fx: Fixture, config: BuildConfigInput, signal?: AbortSignal, pkgDir = fx.root): Promise<AdapterRun> {
  return runAdapter(tscAdapter, pkgDir, config, signal);
}

const esmSources: FileTree = {
  'package.json': { name: 'tsc-esm', version: '1.0.0', type: 'module' },
  'tsconfig.json': {
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: true, types: ['node'] },
    include: ['src'],
  },
  'src/index.ts': [
    "import { greet } from './greet.js';",
    "import { sum } from './math/sum.js';",
    "console.log(greet('tsc'), sum([1, 2, 3]), typeof process.versions.node);",
    'export { greet, sum };',
  ].join('\n'),
  'src/greet.ts': 'export function greet(name: string): string {\n  return `hello ${name}`;\n}\n',
  'src/math/sum.ts': 'export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);\n',
};

describe.each(TYPESCRIPTS)('tsc adapter with TypeScript $version', ({ version, dir }) => {
  test('check() finds the package’s own typescript and reports its version', async () => {
    const fx = tsPackage(dir, esmSources);
    const tool = await tscAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool).toEqual({ available: true, version, location: realpathSync(dir) });
  });

  test('ESM package with tsconfig: outputs from TSFILE lines, node runs them, .d.ts when dts', async () => {
    // The repo's @types/node: one build of a package as it usually is.
    const fx = tsPackage(dir, esmSources, 'repo');
    const { out, outDir, lines } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm', dts: true });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    expect(relPaths(outDir, out.files)).toEqual(['greet.d.ts', 'greet.js', 'index.d.ts', 'index.js', 'math/sum.d.ts', 'math/sum.js']);
    // Exactly what is on disk: nothing unreported, no tsbuildinfo among the artifacts.
    expect(readdirSync(outDir, { recursive: true }).filter((f) => !statSync(path.join(outDir, String(f))).isDirectory()).length).toBe(6);
    // TSFILE lines are read for the outputs above, not logged ("quieter tsc logs", 6539132).
    expect(lines.filter((l) => l.includes('TSFILE: '))).toEqual([]);
    expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('hello tsc 6 string');
    expect(readFileSync(path.join(outDir, 'greet.d.ts'), 'utf8')).toContain('export declare function greet(name: string): string;');
    expect(existsSync(fx.path('tsconfig.tsbuildinfo'))).toBe(false);
  });

  test('CJS package without tsconfig (below a dir with one): entry on the command line, sourcemaps, no .d.ts without dts', async () => {
    const fx = tsPackage(dir, {
      // A workspace-root tsconfig that must not be used (TS 7 would refuse the command line because of it).
      'tsconfig.json': { compilerOptions: { module: 'bogus' } },
      'pkg/package.json': { name: 'tsc-cjs', version: '1.0.0' },
      'pkg/src/index.ts': "import { twice } from './twice';\nconsole.log(twice(21), typeof require, process.platform.length > 0);\n",
      'pkg/src/twice.ts': 'export function twice(n: number): number {\n  return n * 2;\n}\n',
    });
    const { out, outDir } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', sourcemap: true, dts: false }, undefined, fx.path('pkg'));
    expect(out.diagnostics).toEqual([]);
    expect(relPaths(outDir, out.files)).toEqual(['index.js', 'index.js.map', 'twice.js', 'twice.js.map']);
    expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('42 function true');
    expect(JSON.parse(readFileSync(path.join(outDir, 'twice.js.map'), 'utf8')).sources).toEqual(['../src/twice.ts']);
  });

  test('a type error fails with a diagnostic naming file, line, column and code', async () => {
    const fx = tsPackage(dir, {
      ...esmSources,
      'src/greet.ts': "export function greet(name: string): string {\n  const n: number = name;\n  return `hello ${n}`;\n}\n",
      'src/math/sum.ts': "export const sum = (xs: readonly number[]): number => xs.length;\nexport const pairs: Array<{ x: number }> = [{ x: 'no' }] as Array<{ x: string }>;\n",
    });
    const { out } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm' });
    expect(out.ok).toBe(false);
    expect(out.diagnostics).toContainEqual({
      severity: 'error',
      file: 'src/greet.ts',
      line: 2,
      column: 9,
      code: 'TS2322',
      message: "Type 'string' is not assignable to type 'number'.",
    });
    // Elaboration lines stay with their diagnostic.
    const chained = out.diagnostics.find((d) => d.file === 'src/math/sum.ts');
    expect(chained).toMatchObject({ line: 2, code: 'TS2322' });
    expect(chained!.message.split('\n').length).toBeGreaterThan(1);
    expect(chained!.message).toContain("Types of property 'x' are incompatible.");
  });

  test('a syntax error fails with a diagnostic naming file and line', async () => {
    const fx = tsPackage(dir, { ...esmSources, 'src/greet.ts': 'export function greet(name: string): string {\n  return (name;\n}\n' });
    const { out } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm' });
    expect(out.ok).toBe(false);
    const d = out.diagnostics.find((x) => x.severity === 'error');
    expect(d).toMatchObject({ file: 'src/greet.ts', line: 2, code: expect.stringMatching(/^TS1\d{3}$/) });
  });

  test('composite project with an up-to-date tsbuildinfo still emits into a fresh outDir, twice', async () => {
    const fx = tsPackage(dir, {
      ...esmSources,
      'tsconfig.json': COMPOSITE_TSCONFIG,
    });
    leaveOwnTsBuildInfo(fx, dir);
    const infoBefore = readFileSync(fx.path('tsconfig.tsbuildinfo'), 'utf8');

    for (let i = 0; i < 2; i++) {
      const { out, outDir } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm', dts: false });
      expect(out.diagnostics).toEqual([]);
      // composite implies declarations: they come along even with dts: false.
      expect(relPaths(outDir, out.files)).toEqual(['greet.d.ts', 'greet.js', 'index.d.ts', 'index.js', 'math/sum.d.ts', 'math/sum.js']);
      expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('hello tsc 6 string');
    }
    // The package's own incremental state is neither used nor touched.
    expect(readFileSync(fx.path('tsconfig.tsbuildinfo'), 'utf8')).toBe(infoBefore);
    expect(existsSync(fx.path('dist'))).toBe(false);
  });

  test('an already aborted signal runs nothing', async () => {
    const fx = tsPackage(dir, esmSources);
    const ac = new AbortController();
    ac.abort();
    const { out, outDir } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm' }, ac.signal);
    expect(out).toEqual({ ok: false, files: [], diagnostics: [], reads: null });
    expect(readdirSync(outDir)).toEqual([]);
  });

  test('aborting a running tsc returns promptly without outputs', async () => {
    // Enough code that neither compiler finishes within the abort delay.
    const many: FileTree = {};
    for (let i = 0; i < 400; i++) many[`src/gen/m${i}.ts`] = `export type T${i}<X> = { [K in keyof X]: X[K] extends string ? T${i}<X[K]> : number };\nexport const v${i}: T${i}<{ a: string; b: number }> = { a: 1 as never, b: 2 };\n`;
    many['src/index.ts'] = Array.from({ length: 400 }, (_, i) => `export * from './gen/m${i}.js';`).join('\n');
    // The repo's @types/node, as before: the program must stay big enough not to finish within the abort delay.
    const fx = tsPackage(dir, { ...esmSources, ...many }, 'repo');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 60);
    const before = tscPoolStats();
    const { out, outDir } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm' }, ac.signal);
    expect(out).toEqual({ ok: false, files: [], diagnostics: [], reads: null });
    // Not a timed assertion (they fail on a loaded machine): the compiler was stopped, not waited for.
    // Run to its end it writes ~400 files into outDir; nothing is there when the build returns, and
    // nothing comes later (the worker or child is gone). The in-process path compiled nothing.
    expect(readdirSync(outDir, { recursive: true })).toEqual([]);
    expect(tscPoolStats().compiled).toBe(before.compiled);
    await new Promise((r) => setTimeout(r, 500));
    expect(readdirSync(outDir, { recursive: true })).toEqual([]);
  });
});

describe('tsc adapter: which tsconfig', () => {
  // tsconfig.json type-checks tests too; with --rootDir src that would be TS6059 (file not under rootDir).
  const withTests: FileTree = {
    ...esmSources,
    'tsconfig.json': { compilerOptions: { module: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'] }, include: ['src', 'test'] },
    'test/greet.test.ts': "import { greet } from '../src/greet.js';\nconsole.log(greet('test'));\n",
  };
  const ts7 = TYPESCRIPTS[1]!.dir;

  test('a tsconfig.json that includes files outside the sources fails with TS6059 naming the file', async () => {
    const fx = tsPackage(ts7, withTests);
    const { out } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm' });
    expect(out.ok).toBe(false);
    expect(out.diagnostics.map((d) => d.code)).toContain('TS6059');
  });

  test('tsconfig.build.json is preferred over tsconfig.json', async () => {
    const fx = tsPackage(ts7, {
      ...withTests,
      'tsconfig.build.json': { extends: './tsconfig.json', include: ['src'] },
    });
    const { out, outDir } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm' });
    expect(out.diagnostics).toEqual([]);
    expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('hello tsc 6 string');
  });

  test('adapterOptions.tsc.project picks another tsconfig; a missing one is a config error on that field', async () => {
    const fx = tsPackage(ts7, { ...withTests, 'config/tsconfig.emit.json': { extends: '../tsconfig.json', include: ['../src'] } });
    const { out } = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm', adapterOptions: { tsc: { project: 'config/tsconfig.emit.json' } } });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    const err = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: 'esm', adapterOptions: { tsc: { project: 'nope.json' } } }).catch((e: unknown) => e);
    expect((err as BuildSystemError).field).toBe('adapterOptions.tsc.project');
  });
});

describe('tsc adapter: what it refuses', () => {
  test('without typescript: unavailable with the install command', async () => {
    const fx = tsPackage(undefined, esmSources);
    const tool = await tscAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool.available).toBe(false);
    if (tool.available) return;
    expect(tool.reason).toContain('typescript is not installed');
    expect(tool.installHint).toBe('npm install -D typescript');
  });

  test('a format other than the package’s own is a config error on `format`', async () => {
    const fx = tsPackage(TYPESCRIPTS[0]!.dir, esmSources);
    const err = await build(fx, { adapter: 'tsc', entry: 'src/index.ts', format: ['esm', 'cjs'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildSystemError);
    expect((err as BuildSystemError).code).toBe('CONFIG_INVALID');
    expect((err as BuildSystemError).field).toBe('format');
    expect((err as BuildSystemError).message).toContain("Set format: 'esm'");
  });

  test('an entry renamed away from its source name is a config error on that entry', async () => {
    const fx = tsPackage(TYPESCRIPTS[0]!.dir, esmSources);
    const err = await build(fx, { adapter: 'tsc', entry: { main: 'src/index.ts' }, format: 'esm' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildSystemError);
    expect((err as BuildSystemError).field).toBe('entry.main');
  });
});
