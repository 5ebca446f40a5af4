import { readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { emitDeclarations } from '../src/adapters/dts.js';
import { esbuildAdapter } from '../src/adapters/esbuild.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { ISOLATED_EMITTER_MISSING } from '../src/result/run-hints.js';
import { linkTypeScript, listFiles, runAdapter, trackedFixtures, TYPESCRIPTS } from './helpers/adapter-ctx.js';
import { repoRoot, type FileTree } from './helpers/fixture.js';

/**
 * Declarations per file (src/adapters/isolated-dts.ts) when the tsconfig sets
 * isolatedDeclarations and the package has oxc-transform: the same declaration files as TypeScript's program
 * writes, with the same declarations (formatting aside: oxc indents with tabs
 * and writes double quotes, which also tells the two paths apart), named per
 * format by the same step; an export the file alone cannot type is an error
 * with its place; anything the per-file path cannot follow runs TypeScript.
 */

const newFixture = trackedFixtures();
const ts5 = TYPESCRIPTS[0]!;

const tsconfig = (isolated: boolean, extra: Record<string, unknown> = {}) => ({
  compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: true, declaration: true, outDir: 'dist', types: [], ...(isolated ? { isolatedDeclarations: true } : {}) },
  include: ['src'],
  ...extra,
});

const sources: FileTree = {
  'package.json': { name: 'iso-lib', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js', require: './dist/index.cjs' } } },
  'src/index.ts': "import { area, type Shape } from './shapes/area.js';\nexport type { Shape };\nexport * from './shapes/area.js';\nexport { extra } from './extra.mjs';\n/** The sum of the areas. */\nexport const total = (shapes: Shape[]): number => shapes.reduce((n, s) => n + area(s), 0);\nexport class Bag<T> {\n  private items: T[] = [];\n  add(item: T): this {\n    this.items.push(item);\n    return this;\n  }\n}\n",
  'src/shapes/area.ts': "export type Shape = { kind: 'square'; side: number } | { kind: 'circle'; r: number };\nexport function area(s: Shape): number {\n  return s.kind === 'square' ? s.side ** 2 : Math.PI * s.r ** 2;\n}\n",
  'src/extra.mts': "export const extra: string = 'x';\n",
  // Included by the tsconfig, imported by no entry (and with a type error): neither path compiles or writes it.
  'src/index.test.ts': "import { total } from './index.js';\nexport const wrong: string = total([]);\n",
};

async function declarations(files: FileTree, config: BuildConfigInput = {}, emitter = true) {
  const fx = newFixture(files);
  linkTypeScript(fx, ts5.dir);
  // The package's own oxc-transform, as a workspace installs it (build-system has none of its own).
  if (emitter) symlinkSync(path.join(repoRoot, 'node_modules/oxc-transform'), fx.path('node_modules/oxc-transform'), 'dir');
  const { ctx, outDir } = await runAdapter(esbuildAdapter, fx.root, { adapter: 'esbuild', dts: true, entry: ['src/index.ts'], ...config });
  const dts = await emitDeclarations(ctx);
  const texts = Object.fromEntries(listFiles(outDir).filter((f) => /\.d\.[cm]?ts$/.test(f)).map((f) => [f, readFileSync(path.join(outDir, f), 'utf8')]));
  return { dts, texts, outDir };
}

/** Declarations compared for what they declare: indentation, quotes and blank lines aside. */
const normalized = (text: string) =>
  text
    .replace(/^(\t| {4})+/gm, (m) => '  '.repeat(m.replace(/ {4}/g, '\t').length))
    .replace(/"/g, "'")
    .replace(/\n{2,}/g, '\n');

describe('declarations per file under isolatedDeclarations', () => {
  test('the same files and declarations as TypeScript, per format', { timeout: 120_000 }, async () => {
    const config: BuildConfigInput = { format: ['esm', 'cjs'] };
    const viaTs = await declarations({ ...sources, 'tsconfig.json': tsconfig(false) }, config);
    const isolated = await declarations({ ...sources, 'tsconfig.json': tsconfig(true) }, config);
    expect(viaTs.dts.diagnostics).toEqual([]);
    expect(isolated.dts.diagnostics).toEqual([]);
    expect(isolated.dts.ok).toBe(true);
    expect(Object.keys(isolated.texts).sort()).toEqual(Object.keys(viaTs.texts).sort());
    expect(Object.keys(isolated.texts)).toEqual(expect.arrayContaining(['index.d.ts', 'index.d.cts', 'shapes/area.d.ts', 'shapes/area.d.cts', 'extra.d.ts']));
    expect(Object.keys(isolated.texts).filter((f) => f.includes('test'))).toEqual([]);
    // Really the per-file emitter (tabs), really TypeScript on the other side (spaces).
    expect(isolated.texts['index.d.ts']).toContain('\t');
    expect(viaTs.texts['index.d.ts']).not.toContain('\t');
    for (const file of Object.keys(viaTs.texts)) expect(normalized(isolated.texts[file]!), file).toBe(normalized(viaTs.texts[file]!));
    // The reads name the tsconfig and every source the entry reaches, so the cache keys the entry on them.
    expect(isolated.dts.reads!.map((r) => path.basename(r)).sort()).toEqual(['area.ts', 'extra.mts', 'index.ts', 'tsconfig.json']);
  });

  test('entries importing a file of the package outside their directory: still per file, with a wider rootDir and an alias per entry', { timeout: 60_000 }, async () => {
    const { dts, texts } = await declarations(
      {
        'package.json': { name: 'iso-plugins', version: '1.0.0', type: 'module', exports: { './rss': './dist/rss.js' } },
        'tsconfig.json': tsconfig(true),
        'src/plugins/rss.ts': "import { canonical } from '../utils/canonical.js';\nexport interface Feed {\n  url: string;\n}\nexport const rss = (feed: Feed): string => canonical(feed.url) + '/rss';\n",
        'src/utils/canonical.ts': "export const canonical = (url: string): string => url.replace(/\\/$/, '');\n",
      },
      { entry: { rss: 'src/plugins/rss.ts' }, format: 'esm' },
    );
    expect(dts.diagnostics).toEqual([]);
    expect(Object.keys(texts).sort()).toEqual(['plugins/rss.d.ts', 'rss.d.ts', 'utils/canonical.d.ts']);
    // The per-file emitter wrote them (tabs), TypeScript did not run.
    expect(texts['utils/canonical.d.ts']).toContain('export declare const canonical');
    expect(texts['plugins/rss.d.ts']).toMatch(/^export declare const rss/m);
    expect(texts['plugins/rss.d.ts']).toContain('\turl: string;');
    expect(texts['rss.d.ts']).toContain("export * from './plugins/rss.js';");
    expect(dts.reads!.map((r) => path.basename(r)).sort()).toEqual(['canonical.ts', 'rss.ts', 'tsconfig.json']);
  });

  test('an export whose type the file alone cannot give is an error at its place', { timeout: 60_000 }, async () => {
    const { dts } = await declarations({ ...sources, 'tsconfig.json': tsconfig(true), 'src/extra.mts': "// a type only a checker can tell\nexport const extra = Math.random();\n" });
    expect(dts.ok).toBe(false);
    const error = dts.diagnostics.find((d) => d.severity === 'error');
    expect(error).toMatchObject({ file: 'src/extra.mts', line: 2, column: 14 });
    expect(error!.message).toMatch(/TS9010.*explicit type annotation/);
  });

  test('what the per-file path cannot follow runs TypeScript: no oxc-transform installed, a declaration naming a file the tsconfig does not include', { timeout: 180_000 }, async () => {
    const noEmitter = await declarations({ ...sources, 'tsconfig.json': tsconfig(true) }, {}, false);
    expect(noEmitter.dts.ok).toBe(true);
    expect(noEmitter.texts['index.d.ts']).not.toContain('\t');
    // It says so: the package qualifies in every way but the emitter, so installing it would change the build.
    expect(noEmitter.dts.diagnostics).toEqual([
      { severity: 'info', code: ISOLATED_EMITTER_MISSING, file: 'tsconfig.json', message: expect.stringContaining('install it at the workspace root (npm install -D oxc-transform)') },
    ]);
    // Not said of a package the per-file path would not take anyway (removeComments is TypeScript's to follow).
    const unsupported = await declarations({ ...sources, 'tsconfig.json': tsconfig(true, { compilerOptions: { ...tsconfig(true).compilerOptions, removeComments: true } }) }, {}, false);
    expect(unsupported.dts.ok).toBe(true);
    expect(unsupported.dts.diagnostics).toEqual([]);

    // `files` lists the entry only: its declaration re-exports shapes/area.js, which only TypeScript's program finds.
    const onlyEntry = await declarations({ ...sources, 'tsconfig.json': { ...tsconfig(true), include: undefined, files: ['src/index.ts'] } });
    expect(onlyEntry.dts.ok).toBe(true);
    expect(Object.keys(onlyEntry.texts).sort()).toEqual(['extra.d.cts', 'extra.d.ts', 'index.d.cts', 'index.d.ts', 'shapes/area.d.cts', 'shapes/area.d.ts']);
    expect(onlyEntry.texts['index.d.ts']).not.toContain('\t');
    expect(onlyEntry.dts.diagnostics).toEqual([]);
  });

  test('`${configDir}` in an extended tsconfig\'s include is the package tsconfig\'s directory, as for tsc (honojs\'s layout): still per file', { timeout: 60_000 }, async () => {
    const base = tsconfig(true, { include: ['${configDir}/src'], exclude: ['${configDir}/src/**/*.test.ts'] });
    const run = await declarations({ ...sources, 'config/tsconfig.base.json': base, 'tsconfig.json': { extends: './config/tsconfig.base.json' } });
    expect(run.dts.ok, JSON.stringify(run.dts.diagnostics)).toBe(true);
    expect(Object.keys(run.texts).sort()).toEqual(['extra.d.cts', 'extra.d.ts', 'index.d.cts', 'index.d.ts', 'shapes/area.d.cts', 'shapes/area.d.ts']);
    // oxc's tabs: the per-file path ran.
    expect(run.texts['index.d.ts']).toContain('\t');
  });

  test('declarationMap (the tsconfig\'s, or --declarationMap as init writes for tsdown\'s dts.sourcemap): per file, a map beside each declaration, renamed per format', { timeout: 120_000 }, async () => {
    const maps = (texts: Record<string, string>, outDir: string) =>
      Object.fromEntries(listFiles(outDir).filter((f) => f.endsWith('.map')).map((f) => [f, JSON.parse(readFileSync(path.join(outDir, f), 'utf8')) as { file: string; sources: string[]; mappings: string }]));
    const viaTsconfig = await declarations({ ...sources, 'tsconfig.json': tsconfig(true, { compilerOptions: { ...tsconfig(true).compilerOptions, declarationMap: true } }) }, { format: ['esm', 'cjs'] });
    const viaFlag = await declarations({ ...sources, 'tsconfig.json': tsconfig(true) }, { format: ['esm', 'cjs'], adapterOptions: { tsc: { args: ['--declarationMap'] } } });
    for (const run of [viaTsconfig, viaFlag]) {
      expect(run.dts.ok, JSON.stringify(run.dts.diagnostics)).toBe(true);
      // oxc's tabs: the per-file path ran, not TypeScript.
      expect(run.texts['index.d.ts']).toContain('\t');
      expect(run.texts['index.d.ts']!.trimEnd().split('\n').at(-1)).toBe('//# sourceMappingURL=index.d.ts.map');
      expect(run.texts['index.d.cts']!.trimEnd().split('\n').at(-1)).toBe('//# sourceMappingURL=index.d.cts.map');
      const byFile = maps(run.texts, run.outDir);
      expect(Object.keys(byFile).sort()).toEqual(['extra.d.cts.map', 'extra.d.ts.map', 'index.d.cts.map', 'index.d.ts.map', 'shapes/area.d.cts.map', 'shapes/area.d.ts.map']);
      expect(byFile['index.d.cts.map']).toMatchObject({ file: 'index.d.cts', sources: ['../src/index.ts'] });
      expect(byFile['shapes/area.d.ts.map']).toMatchObject({ file: 'area.d.ts', sources: ['../../src/shapes/area.ts'] });
      expect(byFile['index.d.ts.map']!.mappings.length).toBeGreaterThan(0);
    }
  });
});
