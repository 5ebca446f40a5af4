import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { hasDefaultExport, placeDeclarations, rewriteSpecifiers } from '../src/adapters/declarations-naming.js';
import { resolveConfig, type ResolvedConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { createBuildSystem } from '../src/create.js';
import { BuildSystemError } from '../src/errors.js';
import type { RunResult } from '../src/result/schema.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { listFiles, trackedFixtures } from './helpers/adapter-ctx.js';
import { repoRoot, untilClockPasses, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * Outputs named as package.json says: JS extensions per format, declarations
 * per format (dual types) with their specifiers rewritten, an alias
 * declaration per entry, entries from every exports subpath and bin, and
 * entries whose source lives elsewhere in the workspace. Builds are real
 * (esbuild, bun, rollup and TypeScript from the repo, in this process through
 * createBuildSystem; see `build`), and the declarations are checked by
 * compiling a consumer with tsc.
 *
 * Long because: each naming rule is checked on real builds by up to three
 * tools and a consumer compile, all through the workspace and tsc helpers
 * above; split, those would be repeated.
 */

const newFixture = trackedFixtures();

const resolveIn = (dir: string, input: BuildConfigInput): ResolvedConfig => resolveConfig(loadPackageInfo(dir, new ReadLog()), buildConfigSchema.parse(input), null);

function configError(dir: string, input: BuildConfigInput): BuildSystemError {
  try {
    resolveIn(dir, input);
  } catch (e) {
    if (e instanceof BuildSystemError) return e;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

const TOOLS = ['esbuild', 'rollup', '@rollup/plugin-node-resolve', 'typescript', '@types/node'];

/** An npm workspace (packages/*) whose root node_modules holds the repo's tools and links to `linked` packages (name -> dir). */
function workspace(files: FileTree, linked: Record<string, string> = {}): Fixture {
  const fx = newFixture({ 'package.json': { name: 'ws-root', private: true, workspaces: ['packages/*'] }, ...files });
  for (const name of TOOLS) {
    mkdirSync(path.dirname(fx.path('node_modules', name)), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', name), fx.path('node_modules', name), 'dir');
  }
  mkdirSync(fx.path('node_modules/.bin'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/.bin/bun'), fx.path('node_modules/.bin/bun'));
  for (const [name, dir] of Object.entries(linked)) {
    mkdirSync(path.dirname(fx.path('node_modules', name)), { recursive: true });
    symlinkSync(fx.path(dir), fx.path('node_modules', name), 'dir');
  }
  return fx;
}

interface BuildRun {
  status: number | null;
  results: RunResult['results'];
  stderr: string;
}

const system = createBuildSystem();

/**
 * A whole-workspace build in this process with the real adapters (the CLI's
 * `build --json` minus the process: what is named and written is the
 * adapters' and the pipeline's, and a spawned CLI per build loaded every tool
 * again). `stderr` holds the run's error and each package's diagnostics, for
 * failure messages.
 */
async function build(cwd: string, options: { force?: boolean } = {}): Promise<BuildRun> {
  const run = await system.build({ cwd, ...options });
  return { status: run.exitCode, results: run.results, stderr: JSON.stringify({ error: run.error, results: run.results.map((r) => [r.package.name, r.error, r.diagnostics]) }) };
}

function artifactsOf(run: BuildRun, name: string): string[] {
  const result = run.results.find((r) => r.package.name === name);
  if (!result) throw new Error(`${name} was not built: ${run.stderr}`);
  expect(result.status, JSON.stringify(result.diagnostics)).toBe('success');
  return result.artifacts.map((a) => a.path).sort();
}

/** tsc --noEmit in `dir` (its tsconfig.json), with the TypeScript of the repo; returns the TS codes it reported. */
function typeCheck(dir: string): { codes: string[]; output: string } {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', dir, '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
  return { codes: [...r.stdout.matchAll(/error (TS\d+)/g)].map((m) => m[1]!), output: r.stdout };
}

const NODENEXT = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: true, types: [] } };

describe('outExtension: config, else package.json, else the package type', () => {
  test('a type: module package exporting .mjs/.d.mts builds .mjs with .d.mts; the type default and the config win where they should', () => {
    const fx = newFixture({
      'mjs/package.json': { name: 'mjs', type: 'module', exports: { '.': { import: { types: './dist/index.d.mts', default: './dist/index.mjs' } } } },
      'mjs/src/index.ts': 'export const a = 1;\n',
      'plain/package.json': { name: 'plain', type: 'module', exports: './dist/index.js' },
      'plain/src/index.ts': 'export const a = 1;\n',
      'cjs/package.json': { name: 'cjs', main: './dist/index.js', exports: { import: './dist/index.mjs', require: './dist/index.js' } },
      'cjs/src/index.ts': 'export const a = 1;\n',
    });
    const mjs = resolveIn(fx.path('mjs'), {});
    expect(mjs.formats).toEqual(['esm']);
    expect(mjs.outExtension.esm).toBe('.mjs');
    expect(mjs.dtsExtension.esm).toBe('.d.mts');
    expect(resolveIn(fx.path('plain'), {}).outExtension).toEqual({ esm: '.js', cjs: '.cjs' });
    expect(resolveIn(fx.path('cjs'), {}).outExtension).toEqual({ esm: '.mjs', cjs: '.js' });
    expect(resolveIn(fx.path('cjs'), {}).dtsExtension).toEqual({ esm: '.d.mts', cjs: '.d.ts' });
    // The config's extension wins over package.json's.
    expect(resolveIn(fx.path('mjs'), { outExtension: { esm: '.js' } }).outExtension.esm).toBe('.js');
  });

  test("a config '.js' contradicting the package type is CONFIG_INVALID on the field, with the fix", () => {
    const fx = newFixture({
      'cjs/package.json': { name: 'cjs' },
      'cjs/src/index.ts': 'export const a = 1;\n',
      'esm/package.json': { name: 'esm', type: 'module' },
      'esm/src/index.ts': 'export const a = 1;\n',
    });
    const esmInCjs = configError(fx.path('cjs'), { outExtension: { esm: '.js' } });
    expect(esmInCjs.code).toBe('CONFIG_INVALID');
    expect(esmInCjs.issues[0]).toMatchObject({ field: 'outExtension.esm', message: expect.stringContaining("set outExtension.esm to '.mjs'") });
    const cjsInEsm = configError(fx.path('esm'), { outExtension: { cjs: '.js' } });
    expect(cjsInEsm.issues[0]).toMatchObject({ field: 'outExtension.cjs', message: expect.stringContaining("set outExtension.cjs to '.cjs'") });
    expect(() => resolveIn(fx.path('esm'), { outExtension: { esm: '.mjs', cjs: '.cjs' } })).not.toThrow();
  });

  test("esbuild's own outExtension (which renamed the JS without its declarations) is CONFIG_INVALID pointing at outExtension", () => {
    const fx = newFixture({ 'esm/package.json': { name: 'esm', type: 'module' }, 'esm/src/index.ts': 'export const a = 1;\n' });
    const error = configError(fx.path('esm'), { adapter: 'esbuild', adapterOptions: { esbuild: { outExtension: { '.js': '.mjs' } } } });
    expect(error.issues[0]).toMatchObject({ field: 'adapterOptions.esbuild.outExtension', message: expect.stringContaining("outExtension: { esm: '.mjs' }") });
    expect(() => resolveIn(fx.path('esm'), { adapter: 'esbuild', adapterOptions: { esbuild: { minifyIdentifiers: true } } })).not.toThrow();
  });

  const RATES: FileTree = {
    'packages/rates/package.json': {
      name: 'rates',
      version: '1.0.0',
      type: 'module',
      exports: { '.': { import: { types: './dist/index.d.mts', default: './dist/index.mjs' } }, './table': { types: './dist/table.d.mts', default: './dist/table.mjs' } },
    },
    'packages/rates/tsconfig.json': { ...NODENEXT, include: ['src'] },
    'packages/rates/src/index.ts': "import { PER_EURO } from './table.js';\nexport const rate = (to: keyof typeof PER_EURO): number => PER_EURO[to];\n",
    'packages/rates/src/table.ts': 'export const PER_EURO = { EUR: 1, USD: 1.08 } as const;\n',
  };

  test.each(['esbuild', 'bun', 'rollup'])('%s builds exactly dist/index.mjs, dist/table.mjs and their .d.mts, importing .mjs siblings', async (adapter) => {
    const fx = workspace({ ...RATES, 'packages/rates/build.config.json': { adapter } });
    const run = await build(fx.root);
    expect(run.status).toBe(0);
    const built = artifactsOf(run, 'rates');
    expect(built.filter((f) => !f.startsWith('dist/chunk-'))).toEqual(['dist/index.d.mts', 'dist/index.mjs', 'dist/table.d.mts', 'dist/table.mjs']);
    // esbuild and bun put the module both entries use (table) in a shared chunk; rollup has index import the table entry.
    expect(built.filter((f) => f.startsWith('dist/chunk-'))).toEqual(adapter === 'rollup' ? [] : [expect.stringMatching(/^dist\/chunk-\w+\.mjs$/)]);
    expect(fx.read('packages/rates/dist/index.d.mts')).toContain("from './table.mjs'");
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', "import { rate } from 'rates'; import { PER_EURO } from 'rates/table'; console.log(rate('USD'), PER_EURO.EUR)"], {
      cwd: fx.path('packages/rates'),
      encoding: 'utf8',
    });
    // Self-reference through exports: the files package.json names are the ones built.
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('1.08 1');
  });
});

describe('declarations per format', () => {
  test('specifiers are rewritten against the emitted set: ./x.js, ./x, ./dir, import(), require(); others are left alone', () => {
    const bases = new Set(['index', 'money', 'dir/index', 'dir/deep']);
    const text = [
      "import { a } from './money.js';",
      "export * from './money';",
      "export { b } from './dir';",
      "export type C = import('./dir/deep.js').C;",
      "import d = require('../money');",
      "import './styles.css';",
      "export { e } from './missing.js';",
      "export { f } from 'money';",
    ].join('\n');
    expect(rewriteSpecifiers(text, 'index', '.cjs', bases).split('\n')).toEqual([
      "import { a } from './money.cjs';",
      "export * from './money.cjs';",
      "export { b } from './dir/index.cjs';",
      "export type C = import('./dir/deep.cjs').C;",
      "import d = require('../money');",
      "import './styles.css';",
      "export { e } from './missing.js';",
      "export { f } from 'money';",
    ]);
    expect(rewriteSpecifiers("import d = require('../money');\nexport * from '.';", 'dir/deep', '.mjs', bases)).toBe("import d = require('../money.mjs');\nexport * from './index.mjs';");
    // A directory with a trailing slash (vercel/ai's provider: `from '../../shared/v3/'`) is its index, which nodenext needs spelt out.
    expect(rewriteSpecifiers("import type { H } from './dir/';\nexport * from '../dir/';", 'other/x', '.js', new Set(['other/x', 'other/dir/index', 'dir/index']))).toBe(
      "import type { H } from './dir/index.js';\nexport * from '../dir/index.js';",
    );
    // A module beside a directory of its name (react-router's sessions.ts and sessions/cookie.ts): the file in the parent, not '.js'.
    expect(rewriteSpecifiers('import type { Session } from "../sessions";', 'sessions/cookie', '.js', new Set(['sessions', 'sessions/cookie', 'index']))).toBe(
      'import type { Session } from "../sessions.js";',
    );
    // TypeScript names the package's index as `..` / `../..` in types it infers: the index file, spelt out.
    expect(rewriteSpecifiers('export declare const v: import("..").Thing;\nexport declare const w: import("../..").Thing;', 'lib/ctx', '.mjs', new Set(['index', 'lib/ctx']))).toBe(
      'export declare const v: import("../index.mjs").Thing;\nexport declare const w: import("../..").Thing;',
    );
    expect(rewriteSpecifiers('export declare const w: import("../..").Thing;', 'lib/server/fetch', '.js', new Set(['index', 'lib/server/fetch']))).toBe('export declare const w: import("../../index.js").Thing;');
    expect(hasDefaultExport('declare const _default: number;\nexport default _default;\n')).toBe(true);
    expect(hasDefaultExport('declare function f(): void;\nexport { f as default, g };\n')).toBe(true);
    expect(hasDefaultExport('export declare const x: { default: number };\n')).toBe(false);
  });

  test('placeDeclarations: tsc names replaced, maps renamed; an alias over another declaration is an error, an entry without one a warning', () => {
    const fx = newFixture({
      'package.json': { name: 'p', type: 'module', exports: { '.': './dist/index.mjs' } },
      'src/index.ts': '',
      'src/main.ts': '',
      'src/extra.js': '',
      'out/index.d.ts': "export * from './main.js';\n//# sourceMappingURL=index.d.ts.map",
      'out/index.d.ts.map': JSON.stringify({ version: 3, file: 'index.d.ts', sources: ['../src/index.ts'], mappings: '' }),
      'out/main.d.ts': 'export default 1;\n',
    });
    const emitted = ['out/index.d.ts', 'out/index.d.ts.map', 'out/main.d.ts'].map((f) => fx.path(f));
    const config = resolveIn(fx.root, { entry: { index: 'src/index.ts', other: 'src/main.ts' } });
    const placed = placeDeclarations({ config, pkgDir: fx.root, outDir: fx.path('out'), rootDir: fx.path('src'), emitted });
    expect(placed.diagnostics).toEqual([]);
    expect(listFiles(fx.path('out'))).toEqual(['index.d.mts', 'index.d.mts.map', 'main.d.mts', 'other.d.mts']);
    expect(fx.read('out/index.d.mts')).toBe("export * from './main.mjs';\n//# sourceMappingURL=index.d.mts.map");
    expect(JSON.parse(fx.read('out/index.d.mts.map'))).toMatchObject({ file: 'index.d.mts', sources: ['../src/index.ts'] });
    expect(fx.read('out/other.d.mts')).toBe("export * from './main.mjs';\nexport { default } from './main.mjs';\n");

    fx.write({ 'out2/index.d.ts': 'export {};\n', 'out2/main.d.ts': 'export {};\n' });
    const clash = resolveIn(fx.root, { entry: { index: 'src/main.ts', extra: 'src/extra.js' } });
    const result = placeDeclarations({ config: clash, pkgDir: fx.root, outDir: fx.path('out2'), rootDir: fx.path('src'), emitted: [fx.path('out2/index.d.ts'), fx.path('out2/main.d.ts')] });
    expect(result.diagnostics).toEqual([
      expect.objectContaining({ severity: 'error', message: expect.stringContaining('"index" is built from src/main.ts, but index.d.mts is already the declaration of another source file') }),
      expect.objectContaining({ severity: 'warning', file: 'src/extra.js', message: expect.stringContaining('no declaration was emitted for entry "extra"') }),
    ]);
  });

  const DUAL: FileTree = {
    'packages/dual/package.json': {
      name: 'dual',
      version: '1.0.0',
      type: 'module',
      exports: { '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } } },
    },
    // bundler resolution: extensionless and directory specifiers, which the declarations must not keep.
    'packages/dual/tsconfig.json': { compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', target: 'ES2022', strict: true, skipLibCheck: true, declarationMap: true, types: [] }, include: ['src'] },
    'packages/dual/build.config.json': { adapter: 'esbuild', format: ['esm', 'cjs'], dts: true },
    'packages/dual/src/index.ts': "export { money, type Money } from './money';\nexport { fmt } from './fmt';\n",
    'packages/dual/src/money.ts': 'export interface Money { amount: number; currency: string }\nexport const money = (amount: number, currency: string): Money => ({ amount, currency });\n',
    'packages/dual/src/fmt/index.ts': "import type { Money } from '../money.js';\nexport const fmt = (m: Money): string => `${m.amount} ${m.currency}`;\n",
  };

  test('format esm + cjs in a type: module package: .d.ts and .d.cts, each pointing at its own siblings; maps follow', async () => {
    const fx = workspace(DUAL);
    const run = await build(fx.root);
    expect(run.status).toBe(0);
    expect(artifactsOf(run, 'dual')).toEqual([
      'dist/fmt/index.d.cts',
      'dist/fmt/index.d.cts.map',
      'dist/fmt/index.d.ts',
      'dist/fmt/index.d.ts.map',
      'dist/index.cjs',
      'dist/index.d.cts',
      'dist/index.d.cts.map',
      'dist/index.d.ts',
      'dist/index.d.ts.map',
      'dist/index.js',
      'dist/money.d.cts',
      'dist/money.d.cts.map',
      'dist/money.d.ts',
      'dist/money.d.ts.map',
    ]);
    expect(fx.read('packages/dual/dist/index.d.cts')).toContain("from './money.cjs'");
    expect(fx.read('packages/dual/dist/index.d.cts')).toContain("from './fmt/index.cjs'");
    expect(fx.read('packages/dual/dist/index.d.ts')).toContain("from './money.js'");
    expect(fx.read('packages/dual/dist/fmt/index.d.cts')).toContain("from '../money.cjs'");
    expect(fx.read('packages/dual/dist/index.d.cts')).toMatch(/\/\/# sourceMappingURL=index\.d\.cts\.map\s*$/);
    const map = JSON.parse(fx.read('packages/dual/dist/index.d.cts.map')) as { file: string; sources: string[] };
    expect(map.file).toBe('index.d.cts');
    expect(existsSync(path.resolve(fx.path('packages/dual/dist'), map.sources[0]!))).toBe(true);
  });

  test('a dependent compiled by tsc (nodenext) uses an .mjs/.d.mts package and a dual .cjs/.d.cts package from CommonJS code', async () => {
    const fx = workspace(
      {
        ...DUAL,
        'packages/rates/package.json': { name: 'rates', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.mts', default: './dist/index.mjs' } } },
        'packages/rates/tsconfig.json': { ...NODENEXT, include: ['src'] },
        'packages/rates/build.config.json': { adapter: 'esbuild' },
        'packages/rates/src/index.ts': "import { PER_EURO } from './table.js';\nexport const rate = (to: keyof typeof PER_EURO): number => PER_EURO[to];\n",
        'packages/rates/src/table.ts': 'export const PER_EURO = { EUR: 1, USD: 1.08 } as const;\n',
        // CommonJS (no type), checked with nodenext: `require` condition for dual, the .d.mts for rates (require of ESM).
        'app/package.json': { name: 'app', version: '1.0.0' },
        'app/tsconfig.json': { ...NODENEXT, include: ['*.ts'] },
        'app/ok.ts': "import { money, fmt } from 'dual';\nimport { rate } from 'rates';\nexport const text: string = fmt(money(rate('USD'), 'USD'));\n",
      },
      { dual: 'packages/dual', rates: 'packages/rates' },
    );
    const run = await build(fx.root);
    expect(run.status).toBe(0);
    const ok = typeCheck(fx.path('app'));
    expect(ok.output).toBe('');
    // The types are really read: misuse is an error of the types (not TS7016, "no declaration").
    writeFileSync(fx.path('app/bad.ts'), "import { money } from 'dual';\nimport { rate } from 'rates';\nmoney('1', 'EUR');\nrate('JPY');\n");
    expect(typeCheck(fx.path('app')).codes.sort()).toEqual(['TS2345', 'TS2345']);
  });
});

describe('entries and their declarations', () => {
  test('entries from every exports subpath, bin (string and record) and main/module, built in one build', async () => {
    const fx = workspace({
      'packages/multi/package.json': {
        name: 'multi',
        version: '1.0.0',
        type: 'module',
        main: './dist/index.js',
        module: './dist/index.js',
        exports: { '.': './dist/index.js', './utils': { import: './dist/utils.js' }, './io': './dist/io/read.js' },
        bin: { 'multi-a': './dist/bin/a.js', 'multi-b': './dist/b.js' },
      },
      'packages/multi/build.config.json': { adapter: 'esbuild' },
      'packages/multi/src/index.ts': "export const index = 'index';\n",
      'packages/multi/src/utils/index.ts': "export const utils = 'utils';\n",
      'packages/multi/src/io/read.ts': "export const read = 'read';\n",
      'packages/multi/src/bin/a.ts': "#!/usr/bin/env node\nconsole.log('a');\n",
      'packages/multi/src/b.ts': "#!/usr/bin/env node\nconsole.log('b');\n",
      'packages/single-bin/package.json': { name: 'single-bin', version: '1.0.0', bin: './dist/cli.js' },
      'packages/single-bin/build.config.json': { adapter: 'esbuild' },
      'packages/single-bin/src/cli.ts': "console.log('cli');\n",
    });
    expect(resolveIn(fx.path('packages/multi'), {}).entries).toEqual({
      index: 'src/index.ts',
      utils: 'src/utils/index.ts',
      'io/read': 'src/io/read.ts',
      'bin/a': 'src/bin/a.ts',
      b: 'src/b.ts',
    });
    const run = await build(fx.root);
    expect(run.status).toBe(0);
    expect(artifactsOf(run, 'multi')).toEqual(['dist/b.js', 'dist/bin/a.js', 'dist/index.js', 'dist/io/read.js', 'dist/utils.js']);
    expect(artifactsOf(run, 'single-bin')).toEqual(['dist/cli.js']);
    expect(spawnSync(fx.path('packages/multi/dist/bin/a.js'), { encoding: 'utf8' }).stdout).toBe('a\n');
  });

  test('a renamed entry gets an alias declaration beside its JS (with its default export); the others land in place', async () => {
    const fx = workspace({
      'packages/tool/package.json': { name: 'tool', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './cli': { types: './dist/cli.d.ts', default: './dist/cli.js' } } },
      'packages/tool/tsconfig.json': { ...NODENEXT, include: ['src'] },
      'packages/tool/build.config.json': { adapter: 'rollup', entry: { index: 'src/index.ts', cli: 'src/bin/cli.ts', plain: 'src/plain.ts' } },
      'packages/tool/src/index.ts': 'export const version: string = "1";\n',
      'packages/tool/src/bin/cli.ts': 'export interface Options { verbose: boolean }\nexport default function run(o: Options): number {\n  return o.verbose ? 1 : 0;\n}\n',
      'packages/tool/src/plain.ts': 'export const plain = 1;\n',
      'app/package.json': { name: 'app', version: '1.0.0', type: 'module' },
      'app/tsconfig.json': { ...NODENEXT, include: ['*.ts'] },
      'app/ok.ts': "import run, { type Options } from 'tool/cli';\nconst o: Options = { verbose: true };\nexport const n: number = run(o);\n",
    }, { tool: 'packages/tool' });
    const run = await build(fx.root);
    expect(run.status).toBe(0);
    expect(artifactsOf(run, 'tool')).toEqual(['dist/bin/cli.d.ts', 'dist/cli.d.ts', 'dist/cli.js', 'dist/index.d.ts', 'dist/index.js', 'dist/plain.d.ts', 'dist/plain.js']);
    expect(fx.read('packages/tool/dist/cli.d.ts')).toBe("export * from './bin/cli.js';\nexport { default } from './bin/cli.js';\n");
    expect(typeCheck(fx.path('app')).output).toBe('');
    writeFileSync(fx.path('app/bad.ts'), "import run from 'tool/cli';\nrun({ verbose: 'yes' });\n");
    expect(typeCheck(fx.path('app')).codes).toEqual(['TS2322']);
  });
});

describe('entries from elsewhere in the workspace', () => {
  const CORE: FileTree = {
    'packages/core/package.json': { name: 'core', version: '1.0.0', type: 'module' },
    'packages/core/src/index.ts': "export { add } from './add.js';\n",
    'packages/core/src/add.ts': 'export const add = (a: number, b: number): number => a + b;\n',
  };

  test('the rule: inside the workspace (symlinks followed), outside node_modules and outDir; explicit name or basename', () => {
    const fx = newFixture({
      'package.json': { name: 'ws-root', private: true, workspaces: ['packages/*'] },
      ...CORE,
      'packages/cli/package.json': { name: 'cli', version: '1.0.0', type: 'module' },
      'packages/cli/src/cli.ts': 'export {};\n',
      'packages/cli/dist/old.js': 'export {};\n',
      'packages/cli/node_modules/dep/index.ts': 'export {};\n',
      'node_modules/dep/index.ts': 'export {};\n',
    });
    const cli = fx.path('packages/cli');
    const record = resolveIn(cli, { entry: { cli: 'src/cli.ts', 'core/index': '../core/src/index.ts' } });
    expect(record.entries).toEqual({ cli: 'src/cli.ts', 'core/index': '../core/src/index.ts' });
    expect(record.outsideEntries).toEqual(['core/index']);
    expect(record.sourceRoot).toBe('src');
    expect(resolveIn(cli, { entry: ['src/cli.ts', '../core/src/add.ts'] }).entries).toEqual({ cli: 'src/cli.ts', add: '../core/src/add.ts' });
    // A symlink is judged by where it leads: into the workspace, the real path is the entry.
    symlinkSync(fx.path('packages/core/src'), fx.path('packages/cli/core-src'), 'dir');
    expect(resolveIn(cli, { entry: { core: 'core-src/index.ts' } }).entries).toEqual({ core: '../core/src/index.ts' });

    const outsideRoot = newFixture({ 'elsewhere.ts': 'export {};\n' });
    symlinkSync(outsideRoot.path('elsewhere.ts'), fx.path('packages/cli/src/linked.ts'));
    const cases: Array<[BuildConfigInput, string, RegExp]> = [
      [{ entry: { x: outsideRoot.path('elsewhere.ts') } }, 'entry.x', /^must stay inside the workspace /],
      [{ entry: { x: 'src/linked.ts' } }, 'entry.x', /^must stay inside the workspace .*which is .*elsewhere\.ts/],
      [{ entry: { x: '../../node_modules/dep/index.ts' } }, 'entry.x', /^must not be inside node_modules/],
      [{ entry: { x: 'node_modules/dep/index.ts', y: '../cli/../../node_modules/dep/index.ts' } }, 'entry.y', /^must not be inside node_modules/],
      [{ entry: { cli: 'src/cli.ts', core: '../core/src/index.ts' }, adapter: 'tsc' }, 'entry.core', /only a bundler can build it/],
    ];
    for (const [input, field, message] of cases) {
      const error = configError(cli, input);
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.issues.find((i) => i.field === field)?.message ?? JSON.stringify(error.issues)).toMatch(message);
    }
    // Inside the package's own outDir, reached from outside the package.
    symlinkSync(fx.path('packages/cli/dist'), fx.path('packages/core/cli-dist'), 'dir');
    expect(configError(cli, { entry: { x: '../core/cli-dist/old.js' } }).issues[0]).toMatchObject({ field: 'entry.x', message: expect.stringMatching(/^must not be inside outDir/) });
  });

  test.each(['esbuild', 'bun', 'rollup'])('%s: a bundle with another package’s entry, dual: built and declared per format (alias + wider rootDir); a changed outside file is a miss naming it', async (adapter) => {
    const fx = workspace(
      {
        ...CORE,
        'packages/cli/package.json': {
          name: 'cli',
          version: '1.0.0',
          type: 'module',
          exports: { '.': './dist/cli.js', './core': { import: { types: './dist/core.d.ts', default: './dist/core.js' }, require: { types: './dist/core.d.cts', default: './dist/core.cjs' } } },
        },
        'packages/cli/tsconfig.json': { ...NODENEXT, include: ['src'] },
        'packages/cli/build.config.json': { adapter, dts: true, format: ['esm', 'cjs'], entry: { cli: 'src/cli.ts', core: '../core/src/index.ts' } },
        'packages/cli/src/cli.ts': "export const name = 'cli';\n",
        'app/package.json': { name: 'app', version: '1.0.0', type: 'module' },
        'app/tsconfig.json': { ...NODENEXT, include: ['*.ts', '*.cts'] },
        'app/ok.ts': "import { add } from 'cli/core';\nexport const n: number = add(1, 2);\n",
        'app/ok.cts': "import { add } from 'cli/core';\nexport const m: number = add(1, 2);\n",
      },
      { cli: 'packages/cli' },
    );
    const first = await build(fx.root);
    expect(first.status).toBe(0);
    const declarations = ['cli/src/cli', 'core/src/add', 'core/src/index'].flatMap((d) => [`dist/${d}.d.cts`, `dist/${d}.d.ts`]);
    expect(artifactsOf(first, 'cli')).toEqual(['dist/cli.cjs', 'dist/cli.d.cts', 'dist/cli.d.ts', 'dist/cli.js', ...declarations.slice(0, 2), 'dist/core.cjs', 'dist/core.d.cts', 'dist/core.d.ts', 'dist/core.js', ...declarations.slice(2)]);
    expect(listFiles(fx.path('packages/cli/dist'))).toEqual(artifactsOf(first, 'cli').map((p) => p.slice('dist/'.length)));
    expect(fx.read('packages/cli/dist/core.d.ts')).toBe("export * from './core/src/index.js';\n");
    expect(fx.read('packages/cli/dist/core.d.cts')).toBe("export * from './core/src/index.cjs';\n");
    expect(fx.read('packages/cli/dist/core/src/index.d.cts')).toContain("from './add.cjs'");
    const imported = spawnSync(process.execPath, ['--input-type=module', '-e', "import { add } from 'cli/core'; import { createRequire } from 'node:module'; console.log(add(2, 3), createRequire(process.cwd() + '/')('cli/core').add(1, 1))"], {
      cwd: fx.path('app'),
      encoding: 'utf8',
    });
    expect(imported.stdout.trim()).toBe('5 2');
    expect(typeCheck(fx.path('app')).output).toBe('');

    const unchanged = await build(fx.root);
    expect(unchanged.results.find((r) => r.package.name === 'cli')?.cache.status).toBe('hit');
    writeFileSync(fx.path('packages/core/src/add.ts'), 'export const add = (a: number, b: number): number => a + b + 0;\n');
    // This build must be stored for the next one's reason to be about index.ts alone: one started in the tick
    // of the write counts add.ts as changed while it ran and stores nothing (seen as a flake under load).
    untilClockPasses(fx.path('packages/core/src/add.ts'), fx.root);
    const edited = (await build(fx.root)).results.find((r) => r.package.name === 'cli')!;
    expect(edited.cache).toMatchObject({ status: 'miss', reason: 'files changed: ../core/src/add.ts' });
    expect(edited.diagnostics.filter((d) => d.code === 'CACHE').map((d) => d.message)).toEqual([]);
    writeFileSync(fx.path('packages/core/src/index.ts'), "export { add } from './add.js';\nexport const zero = 0;\n");
    const entryEdited = (await build(fx.root)).results.find((r) => r.package.name === 'cli')!;
    expect(entryEdited.cache).toMatchObject({ status: 'miss', reason: 'files changed: ../core/src/index.ts' });
  });

  test('a package tsconfig without include: declarations for an outside entry never include the build config or old outputs', async () => {
    const fx = workspace(
      {
        ...CORE,
        'packages/cli/package.json': { name: 'cli', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/cli.d.ts', default: './dist/cli.js' } } },
        'packages/cli/tsconfig.json': { ...NODENEXT },
        'packages/cli/build.config.ts': "export default { adapter: 'esbuild', dts: true, entry: { cli: 'src/cli.ts', core: '../core/src/index.ts' } };\n",
        'packages/cli/src/cli.ts': "export const name = 'cli';\n",
      },
      { cli: 'packages/cli' },
    );
    expect((await build(fx.root)).status).toBe(0);
    const again = await build(fx.root, { force: true });
    expect(again.status).toBe(0);
    const paths = artifactsOf(again, 'cli');
    expect(paths).toEqual(expect.arrayContaining(['dist/cli.d.ts', 'dist/core.d.ts', 'dist/cli/src/cli.d.ts']));
    expect(paths.filter((p) => /build\.config|dist\/cli\/dist\//.test(p))).toEqual([]);
  });
});
