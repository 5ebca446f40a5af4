import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBuildSystem } from '../src/create.js';
import type { BuildResult } from '../src/result/schema.js';
import { tscAdapter } from '../src/adapters/tsc.js';
import { listFiles, runAdapter, TYPESCRIPTS } from './helpers/adapter-ctx.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * Project references to a sibling that build-system built with its own
 * layout (found on honojs/middleware: zod-openapi's tsconfig references
 * zod-validator's). tsc -p replaces an import that reaches the sibling's
 * sources by the output declaration the sibling's tsconfig names
 * (dist/index.d.ts), which a dual build (index.d.mts, index.d.cts) never
 * writes: TS6305 failed the dependent's declarations. The referenced
 * declarations are now emitted into a temp dir first (tsc-references.ts).
 *
 * One workspace, shaped like the real one: a root base tsconfig using
 * ${configDir} (composite, outDir/rootDir per package), a sibling whose
 * package.json points at its sources (publishConfig at dist), built with
 * esbuild + dts in ESM and CJS; a dependent importing it by name (esbuild,
 * dts) and one importing it by relative path (the tsc adapter). The sibling
 * is compiled with options of its own (noImplicitAny: false) that the
 * dependents do not share: its code must be checked as its own project.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const dualManifest = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  version: '1.0.0',
  type: 'module',
  main: './dist/index.cjs',
  module: './dist/index.mjs',
  types: './dist/index.d.cts',
  // As in the tsdown workspace: sources in development, the build when published (pnpm's publishConfig).
  exports: { '.': './src/index.ts', './package.json': './package.json' },
  publishConfig: { exports: { '.': { import: './dist/index.mjs', require: './dist/index.cjs' }, './package.json': './package.json' } },
  ...extra,
});

const DUAL_DTS = `export default { adapter: 'esbuild', format: ['esm', 'cjs'], dts: true };\n`;

function referencesWorkspace(tsDir: string): Fixture {
  const fx = createFixture({
    'package.json': { name: 'refs-root', private: true, workspaces: ['packages/*'] },
    'tsconfig.base.json': {
      compilerOptions: {
        target: 'ES2022',
        module: 'esnext',
        moduleResolution: 'bundler',
        strict: true,
        skipLibCheck: true,
        composite: true,
        declaration: true,
        declarationMap: true,
        types: [],
        outDir: '${configDir}/dist',
        rootDir: '${configDir}/src',
        tsBuildInfoFile: '${configDir}/dist/tsconfig.tsbuildinfo',
      },
      include: ['${configDir}/src'],
    },
    'packages/shapes/package.json': dualManifest('@r/shapes'),
    'packages/shapes/build.config.ts': DUAL_DTS,
    'packages/shapes/tsconfig.json': { extends: '../../tsconfig.base.json', compilerOptions: { noImplicitAny: false }, references: [] },
    'packages/shapes/src/index.ts': [
      "export interface Square {\n  kind: 'square';\n  side: number;\n}",
      'export const area = (s: Square): number => s.side ** 2;',
      // Fine with this package's noImplicitAny: false, TS7006 under the dependents' options.
      'export function same(x) {\n  return x;\n}',
      '',
    ].join('\n'),
    // By package name, bundled: its declarations name the sibling by package name.
    'packages/named/package.json': dualManifest('@r/named', { dependencies: { '@r/shapes': '1.0.0' } }),
    'packages/named/build.config.ts': DUAL_DTS,
    // The two forms of a reference: a tsconfig file here, a directory (its tsconfig.json) below.
    'packages/named/tsconfig.json': { extends: '../../tsconfig.base.json', references: [{ path: '../shapes/tsconfig.json' }] },
    'packages/named/src/index.ts': "import { area, type Square } from '@r/shapes';\nexport const total = (all: Square[]): number => all.reduce((n, s) => n + area(s), 0);\nexport { measure } from './measure.js';\n",
    // A type this file never imports: the declaration has to name it itself.
    'packages/named/src/measure.ts': "import { area } from '@r/shapes';\nexport const measure = area;\n",
    // By relative path (what tsc -b projects do), with the tsc adapter.
    'packages/relative/package.json': { name: '@r/relative', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } }, dependencies: { '@r/shapes': '1.0.0' } },
    'packages/relative/build.config.ts': `export default { adapter: 'tsc', dts: true };\n`,
    'packages/relative/tsconfig.json': { extends: '../../tsconfig.base.json', references: [{ path: '../shapes' }] },
    'packages/relative/src/index.ts': "import { area } from '../../shapes/src/index.js';\nexport const unit: number = area({ kind: 'square', side: 1 });\n",
  });
  fixtures.push(fx);
  mkdirSync(fx.path('node_modules/@r'), { recursive: true });
  symlinkSync(tsDir, fx.path('node_modules/typescript'), 'dir');
  for (const key of ['shapes', 'named', 'relative']) symlinkSync(`../../packages/${key}`, fx.path(`node_modules/@r/${key}`), 'dir');
  return fx;
}

const system = createBuildSystem();

async function build(fx: Fixture): Promise<Record<string, BuildResult>> {
  const run = await system.build({ cwd: fx.root, cacheDir: fx.path('node_modules/.cache/build-system') });
  const failures = run.results.filter((x) => x.status !== 'success').map((x) => [x.package.name, x.error, x.diagnostics.map((d) => `${d.file ?? ''} ${d.code ?? ''} ${d.message}`)]);
  expect(failures).toEqual([]);
  return Object.fromEntries(run.results.map((x) => [x.package.name.slice('@r/'.length), x]));
}

const status = (results: Record<string, BuildResult>) => Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.cache.status]));

describe.each(TYPESCRIPTS)('project references to a sibling built by build-system, TypeScript $version', ({ dir }) => {
  it('builds the dependents’ declarations against the sibling’s types; keys them on its sources; writes nothing into it', { timeout: 120_000 }, async () => {
    const fx = referencesWorkspace(dir);
    expect(status(await build(fx))).toEqual({ shapes: 'miss', named: 'miss', relative: 'miss' });

    // The sibling's dist is its own build's: no index.d.ts, no tsbuildinfo from the dependents' runs.
    expect(readFileSync(fx.path('packages/shapes/dist/index.d.mts'), 'utf8')).toContain('export declare const area');
    expect(existsSync(fx.path('packages/shapes/dist/index.d.ts'))).toBe(false);
    expect(existsSync(fx.path('packages/shapes/dist/tsconfig.tsbuildinfo'))).toBe(false);

    // Per format, naming the sibling by package name, also where the type was never imported.
    for (const ext of ['mts', 'cts']) {
      expect(readFileSync(fx.path(`packages/named/dist/index.d.${ext}`), 'utf8')).toContain("import { type Square } from '@r/shapes';\nexport declare const total: (all: Square[]) => number;");
      expect(readFileSync(fx.path(`packages/named/dist/measure.d.${ext}`), 'utf8')).toContain('export declare const measure: (s: import("@r/shapes").Square) => number;');
    }
    expect(readFileSync(fx.path('packages/relative/dist/index.d.ts'), 'utf8')).toContain('export declare const unit: number;');
    expect(readFileSync(fx.path('packages/relative/dist/index.js'), 'utf8')).toContain("from '../../shapes/src/index.js'");

    // The declarations are usable: a consumer type-checks against them, and fails on misuse. (In this
    // workspace @r/shapes resolves to its sources, which the consumer checks too: hence noImplicitAny false.)
    const consumer = fx.path('consumer');
    mkdirSync(consumer);
    const entry = fx.path('packages/named/dist/index.mjs');
    writeFileSync(path.join(consumer, 'ok.ts'), `import { measure, total } from '${entry}';\nexport const n: number = total([{ kind: 'square', side: 2 }]) + measure({ kind: 'square', side: 3 });\n`);
    writeFileSync(path.join(consumer, 'bad.ts'), `import { total } from '${entry}';\ntotal([{ kind: 'circle' }]);\n`);
    // Checked with TypeScript 7 whichever TypeScript emitted them: it starts in a fraction of TypeScript 5's time.
    const tsc = spawnSync(
      process.execPath,
      [path.join(TYPESCRIPTS[1]!.dir, 'bin/tsc'), '--ignoreConfig', '--noEmit', '--strict', '--module', 'esnext', '--moduleResolution', 'bundler', '--skipLibCheck', '--noImplicitAny', 'false', '--pretty', 'false', 'ok.ts', 'bad.ts'],
      { cwd: consumer, encoding: 'utf8' },
    );
    const lines = tsc.stdout.split('\n').filter((line) => line !== '' && !line.startsWith(' '));
    expect(lines).toEqual([expect.stringMatching(/^bad\.ts\(2,\d+\): error TS2322: Type '"circle"' is not assignable to type '"square"'/)]);

    // Keys: a rebuild is a hit (no temp path was recorded); a change to the sibling's types rebuilds both.
    expect(status(await build(fx))).toEqual({ shapes: 'hit', named: 'hit', relative: 'hit' });
    fx.write({ 'packages/shapes/src/index.ts': readFileSync(fx.path('packages/shapes/src/index.ts'), 'utf8').replace('side: number;', 'side: number;\n  label?: string;') });
    expect(status(await build(fx))).toEqual({ shapes: 'miss', named: 'miss', relative: 'miss' });
  });
});

describe('a referenced project that cannot be emitted', () => {
  it('fails the package with that project’s errors and a hint, not TS6305', async () => {
    const fx = createFixture({
      'package.json': { name: 'refs-root', private: true, workspaces: ['packages/*'] },
      // A tsconfig-only project (no package): nothing builds it to its outDir.
      'shared/tsconfig.json': { compilerOptions: { composite: true, strict: true, types: [], rootDir: 'src', outDir: 'dist', module: 'esnext', moduleResolution: 'bundler', target: 'es2022' }, include: ['src'] },
      'shared/src/index.ts': "export const n: number = 'one';\n",
      'packages/app/package.json': { name: '@r/app', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/app/tsconfig.json': { compilerOptions: { strict: true, types: [], module: 'esnext', moduleResolution: 'bundler', target: 'es2022' }, include: ['src'], references: [{ path: '../../shared' }] },
      'packages/app/src/index.ts': "import { n } from '../../../shared/src/index.js';\nexport const m: number = n + 1;\n",
    });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules'));
    symlinkSync(TYPESCRIPTS[1]!.dir, fx.path('node_modules/typescript'), 'dir');
    const { out, outDir } = await runAdapter(tscAdapter, fx.path('packages/app'), { adapter: 'tsc', dts: true });
    expect(out.ok).toBe(false);
    expect(out.diagnostics.map((d) => [d.code, d.file])).toEqual([
      ['TS2322', fx.path('shared/src/index.ts')],
      ['TSC_REFERENCE_NOT_EMITTED', undefined],
    ]);
    expect(out.diagnostics[1]!.message.split('\n')).toEqual([
      "project reference ../../shared/tsconfig.json: its declarations could not be emitted, and this package's imports of it are read from them",
      "hint: fix the errors reported above for ../../shared/tsconfig.json (build-system emits its declarations itself, into a temp dir, because none are where its tsconfig's outDir says)",
    ]);
    expect(listFiles(outDir)).toEqual([]);
    expect(existsSync(fx.path('shared/dist'))).toBe(false);
  });

  it('a reference to a project that is not composite (a solution-style tsconfig): TypeScript’s TS6306 about the real tsconfig, no retry', async () => {
    const fx = createFixture({
      'package.json': { name: 'refs-root', private: true, workspaces: ['packages/*'] },
      'shared/tsconfig.json': { files: [], references: [{ path: './tsconfig.build.json' }] },
      'shared/tsconfig.build.json': { compilerOptions: { composite: true, strict: true, types: [], rootDir: 'src', outDir: 'dist', module: 'esnext', moduleResolution: 'bundler', target: 'es2022' }, include: ['src'] },
      'shared/src/index.ts': 'export const n: number = 1;\n',
      'packages/app/package.json': { name: '@r/app', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/app/tsconfig.json': { compilerOptions: { strict: true, types: [], module: 'esnext', moduleResolution: 'bundler', target: 'es2022' }, include: ['src'], references: [{ path: '../../shared' }] },
      'packages/app/src/index.ts': "import { n } from '../../../shared/src/index.js';\nexport const m: number = n + 1;\n",
    });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules'));
    // TypeScript 5 reports TS6305 beside TS6306 here; 7 only TS6306.
    symlinkSync(TYPESCRIPTS[0]!.dir, fx.path('node_modules/typescript'), 'dir');
    const { out } = await runAdapter(tscAdapter, fx.path('packages/app'), { adapter: 'tsc', dts: true });
    expect(out.ok).toBe(false);
    const notComposite = out.diagnostics.find((d) => d.code === 'TS6306');
    expect(notComposite).toMatchObject({ file: 'tsconfig.json', message: `Referenced project '${fx.path('shared')}' must have setting "composite": true.` });
    expect(out.diagnostics.some((d) => d.code === 'TSC_REFERENCE_NOT_EMITTED' || d.message.includes('build-system-references-'))).toBe(false);
  });
});
