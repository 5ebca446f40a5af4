import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesBelow, packagesWorkspace, repoRoot, type FileTree, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * A directory per format (config formatDir, or derived from package.json): `dist/esm/*.js` and
 * `dist/cjs/*.js`, each directory with a package.json giving its `.js` files their module kind and
 * with its own declarations — how apollo-server, tshy and tsup's legacyOutput publish. Real CLI,
 * real esbuild/rollup/bun, real Node loading the outputs and real TypeScript checking a consumer.
 */

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

const workspace = (packages: Record<string, FileTree>): Fixture => packagesWorkspace(packages, fixtures, 'fd-root');

const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, declaration: true, declarationMap: true, rootDir: 'src', types: [] }, include: ['src'] };

/** apollo-server's layout: no "type" (CommonJS), import → dist/esm, require → dist/cjs, a subpath too. */
const dual = (config?: string): FileTree => ({
  'package.json': {
    name: '@fd/dual',
    version: '1.0.0',
    exports: {
      '.': { import: { types: './dist/esm/index.d.ts', default: './dist/esm/index.js' }, require: { types: './dist/cjs/index.d.ts', default: './dist/cjs/index.js' } },
      './plugin': { import: { types: './dist/esm/plugin/index.d.ts', default: './dist/esm/plugin/index.js' }, require: { types: './dist/cjs/plugin/index.d.ts', default: './dist/cjs/plugin/index.js' } },
    },
  },
  'tsconfig.json': tsconfig,
  'src/index.ts': `import { helper } from './util.js';\nexport function serve(port: number): string {\n  return helper(port);\n}\n`,
  'src/util.ts': `export const helper = (n: number): string => 'port ' + n;\n`,
  'src/plugin/index.ts': `export const plugin = (): string => 'plugin';\n`,
  ...(config !== undefined ? { 'build.config.ts': config } : {}),
});

const files = filesBelow;

/** Both formats loaded by Node from the package's own directory (self-reference through exports). */
function loadBoth(pkgDir: string): { required: string; imported: string } {
  const required = spawnSync(process.execPath, ['-e', `const m = require('@fd/dual'); const p = require('@fd/dual/plugin'); console.log(m.serve(1), p.plugin())`], { cwd: pkgDir, encoding: 'utf8' });
  const imported = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import('@fd/dual'); const p = await import('@fd/dual/plugin'); console.log(m.serve(2), p.plugin())`], { cwd: pkgDir, encoding: 'utf8' });
  return { required: `${required.stdout.trim()}${required.stderr}`, imported: `${imported.stdout.trim()}${imported.stderr}` };
}

describe('a directory per format', () => {
  it('esbuild: derived from package.json, each directory with its package.json and declarations; Node and a nodenext consumer use both', () => {
    const fx = workspace({
      dual: dual(`export default { adapter: 'esbuild' };\n`),
      consumer: {
        'package.json': { name: '@fd/consumer', version: '1.0.0', private: true, dependencies: { '@fd/dual': '1.0.0' } },
        'tsconfig.json': { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] }, include: ['src'] },
        // One file of each module kind: the .cts resolves the require condition, the .mts the import one.
        'src/a.cts': `import { serve } from '@fd/dual';\nimport { plugin } from '@fd/dual/plugin';\nexport const a: string = serve(1) + plugin();\n`,
        'src/b.mts': `import { serve } from '@fd/dual';\nimport { plugin } from '@fd/dual/plugin';\nexport const b: string = serve(1) + plugin();\n`,
      },
    });
    // The consumer's dependency, installed as a workspace manager links it.
    mkdirSync(fx.path('packages/consumer/node_modules/@fd'), { recursive: true });
    symlinkSync('../../../dual', fx.path('packages/consumer/node_modules/@fd/dual'), 'dir');
    const r = cli(['build', '--json', '@fd/dual'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    const dist = fx.path('packages/dual/dist');
    expect(files(dist).filter((f) => !f.startsWith('esm/chunk-'))).toEqual([
      'cjs/index.d.ts',
      'cjs/index.d.ts.map',
      'cjs/index.js',
      'cjs/package.json',
      'cjs/plugin/index.d.ts',
      'cjs/plugin/index.d.ts.map',
      'cjs/plugin/index.js',
      'cjs/util.d.ts',
      'cjs/util.d.ts.map',
      'esm/index.d.ts',
      'esm/index.d.ts.map',
      'esm/index.js',
      'esm/package.json',
      'esm/plugin/index.d.ts',
      'esm/plugin/index.d.ts.map',
      'esm/plugin/index.js',
      'esm/util.d.ts',
      'esm/util.d.ts.map',
    ]);
    // tsc's own layout (dist/plugin/…) is gone, directories too.
    expect(readdirSync(dist).sort()).toEqual(['cjs', 'esm']);
    expect(JSON.parse(readFileSync(path.join(dist, 'esm/package.json'), 'utf8'))).toEqual({ type: 'module' });
    expect(JSON.parse(readFileSync(path.join(dist, 'cjs/package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
    expect(readFileSync(path.join(dist, 'esm/index.js'), 'utf8')).toMatch(/^export \{/m);
    expect(readFileSync(path.join(dist, 'cjs/index.js'), 'utf8')).toContain('module.exports');
    // A declaration map one level deeper than tsc wrote it still points at the source.
    const map = JSON.parse(readFileSync(path.join(dist, 'esm/index.d.ts.map'), 'utf8'));
    expect(map.sources).toEqual(['../../src/index.ts']);
    expect(existsSync(path.resolve(dist, 'esm', map.sources[0]))).toBe(true);
    // Every target package.json names exists: no validation warning.
    const result = JSON.parse(r.stdout).results[0];
    expect(result.diagnostics.filter((d: { severity: string }) => d.severity !== 'info')).toEqual([]);
    expect(result.artifacts.map((a: { path: string }) => a.path)).toContain('dist/esm/package.json');

    const loaded = loadBoth(fx.path('packages/dual'));
    expect(loaded.required).toBe('port 1 plugin');
    expect(loaded.imported).toBe('port 2 plugin');

    const tsc = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: fx.path('packages/consumer'), encoding: 'utf8' });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);

    // A hit restores the markers with the rest.
    rmSync(dist, { recursive: true });
    const again = cli(['build', '--json', '@fd/dual'], { cwd: fx.root });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).results[0].cache.status).toBe('hit');
    expect(readFileSync(path.join(dist, 'cjs/package.json'), 'utf8')).toContain('"commonjs"');
  });

  for (const adapter of ['rollup', 'bun'] as const) {
    it(`${adapter}: writes each format into its directory`, () => {
      const fx = workspace({ dual: dual(`export default { adapter: '${adapter}', dts: false };\n`) });
      const r = cli(['build', '--json'], { cwd: fx.root });
      expect(r.code, r.stderr).toBe(0);
      const dist = fx.path('packages/dual/dist');
      expect(files(dist).filter((f) => !/chunk-/.test(f))).toEqual(['cjs/index.js', 'cjs/package.json', 'cjs/plugin/index.js', 'esm/index.js', 'esm/package.json', 'esm/plugin/index.js']);
      const loaded = loadBoth(fx.path('packages/dual'));
      expect(loaded.required).toBe('port 1 plugin');
      expect(loaded.imported).toBe('port 2 plugin');
    });
  }

  it('@apollo/server\'s package.json: "type": "module" with `main` naming the CommonJS directory; exports decide which is which', () => {
    const fx = workspace({
      apollo: {
        'package.json': {
          name: '@fd/apollo',
          version: '1.0.0',
          type: 'module',
          main: 'dist/cjs/index.js',
          module: 'dist/esm/index.js',
          types: 'dist/esm/index.d.ts',
          exports: { '.': { types: { require: './dist/cjs/index.d.ts', default: './dist/esm/index.d.ts' }, import: './dist/esm/index.js', require: './dist/cjs/index.js' } },
        },
        'tsconfig.json': tsconfig,
        'src/index.ts': `export const apollo = (): string => 'apollo';\n`,
      },
    });
    const r = cli(['build', '--json', '--all'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(files(fx.path('packages/apollo/dist')).filter((f) => !f.endsWith('.map'))).toEqual(['cjs/index.d.ts', 'cjs/index.js', 'cjs/package.json', 'esm/index.d.ts', 'esm/index.js', 'esm/package.json']);
    const required = spawnSync(process.execPath, ['-e', `console.log(require('@fd/apollo').apollo())`], { cwd: fx.path('packages/apollo'), encoding: 'utf8' });
    expect(`${required.stdout}${required.stderr}`.trim()).toBe('apollo');
  });

  it("tsup's legacyOutput: esm in dist/esm, CommonJS in dist itself (the package's own type); bundled declarations in each", () => {
    const fx = workspace({
      legacy: {
        'package.json': { name: '@fd/legacy', version: '1.0.0', main: './dist/index.js', module: './dist/esm/index.js', types: './dist/index.d.ts' },
        'tsconfig.json': tsconfig,
        'src/index.ts': `export const legacy = (): string => 'legacy';\n`,
        'build.config.ts': `export default { adapter: 'esbuild', format: ['esm', 'cjs'], dts: { bundle: true } };\n`,
      },
    });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    const dist = fx.path('packages/legacy/dist');
    expect(files(dist)).toEqual(['esm/index.d.ts', 'esm/index.js', 'esm/package.json', 'index.d.ts', 'index.js']);
    expect(readFileSync(path.join(dist, 'index.js'), 'utf8')).toContain('module.exports');
    expect(readFileSync(path.join(dist, 'esm/index.js'), 'utf8')).toMatch(/^export \{/m);
  });

  it('formatDir in the config: directories of its own choosing; the same one for both, one outside outDir, or tsc are refused', () => {
    const fx = workspace({
      named: {
        'package.json': { name: '@fd/named', version: '1.0.0', type: 'module' },
        'src/index.ts': `export const named = 1;\n`,
        'build.config.ts': `export default { adapter: 'esbuild', format: ['esm', 'cjs'], formatDir: { esm: 'mjs', cjs: './commonjs/' } };\n`,
      },
    });
    const ok = cli(['build', '--json'], { cwd: fx.root });
    expect(ok.code, ok.stderr).toBe(0);
    // In a directory of its own, CommonJS is .js even in a "type": "module" package.
    expect(files(fx.path('packages/named/dist'))).toEqual(['commonjs/index.js', 'commonjs/package.json', 'mjs/index.js', 'mjs/package.json']);

    const refused = (config: string) => {
      fx.write({ 'packages/named/build.config.ts': config });
      const r = cli(['build', '--json'], { cwd: fx.root });
      expect(r.code).toBe(2);
      const error = JSON.parse(r.stdout).results[0].error;
      return `${error.field}: ${error.message}`;
    };
    expect(refused(`export default { format: ['esm', 'cjs'], formatDir: { esm: 'x', cjs: 'x' } };\n`)).toContain('formatDir: esm and cjs need directories of their own');
    expect(refused(`export default { format: ['esm', 'cjs'], formatDir: { esm: '../up' } };\n`)).toContain('formatDir.esm: must be a directory inside outDir');
    expect(refused(`export default { adapter: 'tsc', format: 'esm', formatDir: { esm: 'esm' } };\n`)).toContain('formatDir.esm: the tsc adapter writes');
  });

  it('init: a tsc build publishing esm and cjs in directories of their own gets esbuild, and the build matches package.json', () => {
    // As apollo-server's: the tsconfig writes ESM into dist/esm (a second one, CommonJS into dist/cjs).
    const esmTsconfig = { ...tsconfig, compilerOptions: { ...tsconfig.compilerOptions, outDir: 'dist/esm' } };
    const fx = workspace({ dual: { ...dual(), 'tsconfig.json': esmTsconfig, 'package.json': { ...(dual()['package.json'] as object), scripts: { build: 'tsc -b tsconfig.json' } } } });
    const init = cli(['init', '--json'], { cwd: fx.root });
    expect(init.code, init.stderr).toBe(0);
    const written = JSON.parse(init.stdout).packages[0];
    expect(written.adapter.name).toBe('esbuild');
    expect(written.notReproduced.map((n: { option: string }) => n.option)).toEqual(['tsc']);
    // tsc's outDir is gone with tsc: no warning about files outside it.
    expect(written.warnings.join('\n')).not.toContain("outside tsc's outDir");
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].diagnostics.filter((d: { severity: string }) => d.severity !== 'info')).toEqual([]);
    expect(loadBoth(fx.path('packages/dual')).imported).toBe('port 2 plugin');
  });

  it('init from tsup: an array of one build per format, each in an outDir of its own, and legacyOutput', () => {
    const fx = workspace({
      // clerk's shape: the same options twice, esm into dist/esm and cjs into dist/cjs; package.json lists no files.
      split: {
        'package.json': { name: '@fd/split', version: '1.0.0', scripts: { build: 'tsup' } },
        'tsup.config.ts': `import { defineConfig } from 'tsup';\nconst common = { entry: ['src/index.ts'], dts: false, sourcemap: false };\nexport default defineConfig([{ ...common, format: 'esm', outDir: './dist/esm' }, { ...common, format: 'cjs', outDir: './dist/cjs' }]);\n`,
        'src/index.ts': `export const split = (): string => 'split';\n`,
      },
      legacy: {
        'package.json': { name: '@fd/legacy-tsup', version: '1.0.0', scripts: { build: 'tsup' } },
        'tsup.config.ts': `import { defineConfig } from 'tsup';\nexport default defineConfig({ entry: ['src/index.ts'], format: ['esm', 'cjs'], legacyOutput: true });\n`,
        'src/index.ts': `export const legacy = (): string => 'legacy';\n`,
      },
    });
    const init = cli(['init', '--json'], { cwd: fx.root });
    expect(init.code, init.stderr).toBe(0);
    const byName = (name: string) => JSON.parse(init.stdout).packages.find((p: { name: string }) => p.name === name);
    expect(byName('@fd/split').config).toMatchObject({ format: ['esm', 'cjs'], formatDir: { esm: 'esm', cjs: 'cjs' } });
    expect(byName('@fd/split').notReproduced).toEqual([]);
    expect(byName('@fd/legacy-tsup').config).toMatchObject({ formatDir: { esm: 'esm', cjs: '' } });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(files(fx.path('packages/split/dist'))).toEqual(['cjs/index.js', 'cjs/package.json', 'esm/index.js', 'esm/package.json']);
    expect(files(fx.path('packages/legacy/dist'))).toEqual(['esm/index.js', 'esm/package.json', 'index.js']);
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import('./packages/split/dist/esm/index.js'); const { createRequire } = await import('node:module'); const c = createRequire(import.meta.url)('./packages/split/dist/cjs/index.js'); console.log(m.split(), c.split())`], { cwd: fx.root, encoding: 'utf8' });
    expect(`${loaded.stdout}${loaded.stderr}`.trim()).toBe('split split');
  });
});
