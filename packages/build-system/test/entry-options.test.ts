import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryGroups } from '../src/adapters/entry-groups.js';
import { esbuildAdapter } from '../src/adapters/esbuild.js';
import { normalizedConfig } from '../src/cache/fingerprint.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { createBuildSystem } from '../src/create.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { listFiles, runAdapter, runNode, trackedFixtures } from './helpers/adapter-ctx.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * Entries with their own options (config `entry: { name: { source, target,
 * platform, external, noExternal, define } }`): what the elements of a tsup
 * or tsdown config array that differ in those express (vercel/ai's
 * provider-utils builds its test helpers for es2020 with vitest external,
 * its library for es2018). Each option given replaces the package's for that
 * entry; the esbuild adapter builds each distinct set apart into the one
 * staging dir, and the rest of the pipeline (key, declarations, validation)
 * sees one package with its entries.
 */

const newFixture = trackedFixtures();
const workspaces: Fixture[] = [];
afterAll(() => workspaces.forEach((f) => f.cleanup()));

const PACKAGE = {
  'package.json': {
    name: 'fx-own',
    version: '1.0.0',
    type: 'module',
    exports: { '.': './dist/index.js', './test': './dist/test/index.js' },
    dependencies: { 'dep-lib': '1.0.0' },
  },
  // Not a dependency: bundled unless an external list names it.
  'node_modules/helper-lib/package.json': { name: 'helper-lib', version: '1.0.0', type: 'module', exports: './index.js' },
  'node_modules/helper-lib/index.js': 'export const helper = () => "helper";\n',
  'node_modules/dep-lib/package.json': { name: 'dep-lib', version: '1.0.0', type: 'module', exports: './index.js' },
  'node_modules/dep-lib/index.js': 'export const dep = () => "dep";\n',
  // `??` is lowered below es2020 and kept from es2020 on: the output tells which target an entry was built for.
  'src/index.ts': "import { helper } from 'helper-lib';\nimport { dep } from 'dep-lib';\ndeclare const FLAVOUR: string;\nexport const pick = (a?: string): string => a ?? helper() + dep() + FLAVOUR;\n",
  'src/test/index.ts': "import { helper } from 'helper-lib';\nimport { dep } from 'dep-lib';\ndeclare const FLAVOUR: string;\nexport const pickTest = (a?: string): string => a ?? helper() + dep() + FLAVOUR;\n",
};

const resolveFor = (dir: string, input: BuildConfigInput) => resolveConfig(loadPackageInfo(dir, new ReadLog()), buildConfigSchema.parse(input), null);

describe('entries with their own options', () => {
  it('resolve: each option given replaces the package-level one for that entry (dependencies stay external); the others are the package\'s', () => {
    const fx = newFixture(PACKAGE);
    const r = resolveFor(fx.root, {
      target: 'es2018',
      external: ['other-lib'],
      define: { FLAVOUR: '"lib"' },
      entry: {
        index: 'src/index.ts',
        'test/index': { source: 'src/test/index.ts', target: 'es2020', external: ['helper-lib'] },
        browser: { source: 'src/index.ts', platform: 'browser', noExternal: ['dep-lib'], define: {} },
      },
    });
    expect(r.entries).toEqual({ index: 'src/index.ts', 'test/index': 'src/test/index.ts', browser: 'src/index.ts' });
    // What the entries do not set of their own is the package's.
    const packageLevel = { formats: ['esm'], outExtension: { esm: '.js', cjs: '.cjs' }, splitting: true };
    expect(r.target).toBe('es2018');
    expect(r.external).toEqual(['dep-lib', 'dep-lib/*', 'other-lib']);
    expect(r.entryOptions).toEqual({
      'test/index': { target: 'es2020', platform: 'node', external: ['dep-lib', 'dep-lib/*', 'helper-lib'], define: { FLAVOUR: '"lib"' }, ...packageLevel },
      // The package's target stays (set for the package); noExternal bundles the dependency; define replaced by {}.
      browser: { target: 'es2018', platform: 'browser', external: ['other-lib'], define: {}, ...packageLevel },
    });
    // Without a package target, an entry's platform decides its default as the package's would (not node: es2022).
    expect(resolveFor(fx.root, { entry: { index: { source: 'src/index.ts', platform: 'browser' } } }).entryOptions.index!.target).toBe('es2022');
    // None given: no entryOptions in the cache key, so configs without them keep the keys they had.
    expect(resolveFor(fx.root, { entry: { index: 'src/index.ts' } }).entryOptions).toEqual({});
    expect(Object.keys(normalizedConfig(resolveFor(fx.root, { entry: { index: 'src/index.ts' } })))).not.toContain('entryOptions');
    expect(normalizedConfig(r).entryOptions).toEqual(r.entryOptions);
    // One esbuild build per distinct set: the two entries with options differ from the package and from each other.
    expect(entryGroups(r).map((g) => Object.keys(g.entries))).toEqual([['index'], ['test/index'], ['browser']]);
    // An entry whose own options come out as the package's builds with the rest.
    const same = resolveFor(fx.root, { target: 'es2018', entry: { index: 'src/index.ts', again: { source: 'src/test/index.ts', target: 'es2018' } } });
    expect(entryGroups(same).map((g) => Object.keys(g.entries))).toEqual([['index', 'again']]);
  });

  it('resolve: refused where they would be dropped or contradicted, naming the entry', () => {
    const fx = newFixture(PACKAGE);
    const own = { index: 'src/index.ts', 'test/index': { source: 'src/test/index.ts', target: 'es2020' } };
    expect(() => resolveFor(fx.root, { adapter: 'bun', entry: own })).toThrow(/an entry with its own options is built by the esbuild adapter; got adapter 'bun'/);
    expect(() => resolveFor(fx.root, { adapter: 'rollup', entry: own })).toThrow(/got adapter 'rollup'/);
    expect(() => resolveFor(fx.root, { adapter: 'esbuild', dts: { bundle: true }, entry: { index: 'src/index.ts', 'test/index': { source: 'src/test/index.ts', external: ['x'] } } })).toThrow(
      /bundled declarations \(dts\.bundle\) keep the package's external imports/,
    );
    // A bundled-declarations package may still give an entry its own target.
    expect(resolveFor(fx.root, { adapter: 'esbuild', dts: { bundle: true }, entry: own }).entryOptions['test/index']!.target).toBe('es2020');
    expect(() => buildConfigSchema.parse({ entry: { index: { source: 'src/index.ts', minify: true } } })).toThrow();
    // Declarations are named by the package's extensions: an entry of its own extension has none.
    const mjs = { index: 'src/index.ts', 'test/index': { source: 'src/test/index.ts', outExtension: { esm: '.mjs' as const } } };
    expect(() => resolveFor(fx.root, { dts: true, entry: mjs })).toThrow(/declarations follow the package's outExtension; give this entry dts: false too/);
    expect(resolveFor(fx.root, { dts: true, entry: { ...mjs, 'test/index': { ...mjs['test/index'], dts: false } } }).noDtsEntries).toEqual(['test/index']);
    expect(() => resolveFor(fx.root, { entry: { index: { source: 'src/missing.ts', target: 'es2020' } } })).toThrow(/file does not exist/);
  });

  it('esbuild: each entry built with its own target, externals and define, into one outDir, both formats', async () => {
    const fx = newFixture(PACKAGE);
    const { out, outDir } = await runAdapter(esbuildAdapter, fx.root, {
      format: ['esm', 'cjs'],
      target: 'es2018',
      define: { FLAVOUR: '"lib"' },
      entry: { index: 'src/index.ts', 'test/index': { source: 'src/test/index.ts', target: 'es2020', external: ['helper-lib'], define: { FLAVOUR: '"test"' } } },
    });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    expect(listFiles(outDir)).toEqual(['index.cjs', 'index.js', 'test/index.cjs', 'test/index.js']);
    const lib = readFileSync(path.join(outDir, 'index.js'), 'utf8');
    const test = readFileSync(path.join(outDir, 'test/index.js'), 'utf8');
    // Targets: lowered for es2018, kept for es2020.
    expect(lib).not.toContain('??');
    expect(test).toContain('??');
    // Externals: helper-lib bundled into the library, imported by the test entry; dep-lib (a dependency) imported by both.
    expect(lib).toContain('"helper"');
    expect(lib).not.toMatch(/from "helper-lib"/);
    expect(test).toMatch(/from "helper-lib"/);
    expect(lib).toMatch(/from "dep-lib"/);
    expect(test).toMatch(/from "dep-lib"/);
    // Define: each entry's own.
    expect(lib).toContain('"lib"');
    expect(test).toContain('"test"');
    expect(readFileSync(path.join(outDir, 'test/index.cjs'), 'utf8')).toContain('require("helper-lib")');
    // Both run under Node (helper-lib and dep-lib resolve from the fixture's node_modules).
    expect(runNode(path.join(outDir, 'test/index.js')).stderr).toBe('');
    // The reads of every build are reported (both sources keyed).
    expect(out.reads!.map((r) => path.relative(fx.root, r)).sort()).toEqual(expect.arrayContaining(['src/index.ts', 'src/test/index.ts']));
  });

  it('a workspace build: auto picks esbuild for them (bun is installed), and changing an entry\'s own option is a miss', async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'own-ws', private: true, workspaces: ['packages/*'] },
        ...Object.fromEntries(Object.entries(PACKAGE).map(([rel, v]) => [`packages/own/${rel}`, v])),
        'packages/own/build.config.ts': `export default { target: 'es2018', define: { FLAVOUR: '"lib"' }, entry: { index: 'src/index.ts', 'test/index': { source: 'src/test/index.ts', target: 'es2020' } } };\n`,
      },
      { linkNodeModules: true },
    );
    workspaces.push(fx);
    const system = createBuildSystem();
    const build = async () => {
      const run = await system.build({ cwd: fx.root, cacheDir: fx.path('.cache') });
      expect(run.exitCode, JSON.stringify(run.results.map((r) => [r.error, r.diagnostics]))).toBe(0);
      return run.results[0]!;
    };
    const first = await build();
    expect(first.adapter.name).toBe('esbuild');
    expect(first.adapter.reason).toBe('build.config.ts (entries with their own options) asks for esbuild');
    expect(first.artifacts.map((a) => a.path).sort()).toEqual(['dist/index.js', 'dist/test/index.js']);
    expect((await build()).cache.status).toBe('hit');
    fx.write({ 'packages/own/build.config.ts': fx.read('packages/own/build.config.ts').replace("target: 'es2020'", "target: 'es2021'") });
    const changed = await build();
    expect(changed.cache.status).toBe('miss');
    expect(readFileSync(fx.path('packages/own/dist/test/index.js'), 'utf8')).toContain('??');
  });

  it("an entry's own formats, extension, splitting and declarations (vercel/ai's amazon-bedrock and harness arrays), written by init from the tsup array and built", async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'own-ws', private: true, workspaces: ['packages/*'] },
        'packages/own/package.json': {
          name: 'fx-formats',
          version: '1.0.0',
          type: 'module',
          scripts: { build: 'tsup' },
          exports: {
            '.': { types: './dist/index.d.ts', default: './dist/index.js' },
            './mantle': { import: { types: './dist/mantle/index.d.ts', default: './dist/mantle/index.js' }, require: { types: './dist/mantle/index.d.cts', default: './dist/mantle/index.cjs' } },
          },
          // A script the package runs, not an import: no declarations.
          bin: { viewer: './dist/viewer/server.js' },
        },
        'packages/own/tsconfig.json': { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, declaration: true, types: [] }, include: ['src'] },
        'packages/own/src/index.ts': `export const main = (): string => 'main';\n`,
        'packages/own/src/mantle/index.ts': `export const mantle = (): string => 'mantle';\n`,
        'packages/own/src/viewer/server.ts': `export const viewer = (): string => 'viewer';\n`,
        'packages/own/src/bridge/index.ts': `import { main } from '../index.js';\nexport const bridge = (): string => 'bridge ' + main();\n`,
        // esm with declarations; mantle also CommonJS; the viewer without declarations (tsup's default);
        // the bridge as .mjs, no declarations, no chunks.
        'packages/own/tsup.config.ts': `import { defineConfig } from 'tsup';
export default defineConfig([
  { entry: ['src/index.ts'], format: ['esm'], dts: true },
  { entry: ['src/mantle/index.ts'], outDir: 'dist/mantle', format: ['cjs', 'esm'], dts: true },
  { entry: ['src/viewer/server.ts'], outDir: 'dist/viewer', format: ['esm'] },
  { entry: { 'bridge/index': 'src/bridge/index.ts' }, format: ['esm'], dts: false, splitting: false, outExtension: () => ({ js: '.mjs' }) },
]);
`,
      },
      { linkNodeModules: true },
    );
    workspaces.push(fx);
    const init = JSON.parse(cli(['init', '--json'], { cwd: fx.root }).stdout);
    const written = init.packages[0];
    expect(written.status, JSON.stringify(written)).toBe('written');
    expect(written.notReproduced.filter((n: { option: string }) => /\[\d\]/.test(n.option))).toEqual([]);
    expect(written.config.entry).toEqual({
      index: 'src/index.ts',
      'mantle/index': { source: 'src/mantle/index.ts', format: ['cjs', 'esm'] },
      'viewer/server': { source: 'src/viewer/server.ts', dts: false },
      'bridge/index': { source: 'src/bridge/index.ts', outExtension: { esm: '.mjs' }, splitting: false, dts: false },
    });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout).results[0];
    const artifacts = result.artifacts.map((a: { path: string }) => a.path).filter((p: string) => !/chunk-/.test(p)).sort();
    // Declarations where an entry asks for them (per source, in every format one of those entries has: .d.cts beside the CommonJS build).
    expect(artifacts.filter((p: string) => !p.endsWith('.d.cts'))).toEqual([
      'dist/bridge/index.mjs',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/mantle/index.cjs',
      'dist/mantle/index.d.ts',
      'dist/mantle/index.js',
      'dist/viewer/server.js',
    ]);
    expect(artifacts).toContain('dist/mantle/index.d.cts');
    expect(artifacts).not.toContain('dist/bridge/index.d.ts');
    expect(artifacts).not.toContain('dist/viewer/server.d.ts');
    // No chunk for the bridge: it carries its own copy of what it imports.
    expect(readFileSync(fx.path('packages/own/dist/bridge/index.mjs'), 'utf8')).toContain('var main = () => "main"');
    expect(result.diagnostics.filter((d: { severity: string }) => d.severity === 'warning')).toEqual([]);
    const loaded = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import('fx-formats/mantle'); const { createRequire } = await import('node:module'); const c = createRequire(import.meta.url)('fx-formats/mantle'); const b = await import('./dist/bridge/index.mjs'); console.log(m.mantle(), c.mantle(), b.bridge());`],
      { cwd: fx.path('packages/own'), encoding: 'utf8' },
    );
    expect(`${loaded.stdout}${loaded.stderr}`.trim()).toBe('mantle mantle bridge main');
  });
});
