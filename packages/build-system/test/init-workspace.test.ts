import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/index.js';
import { runInit } from '../src/init/init.service.js';
import type { InitPackageResult, InitResult } from '../src/init/result-schema.js';
import { createFixture, type FileTree, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * `init` on pnpm workspaces shaped like honojs/middleware (46 tsdown packages): the package's own
 * exports/main/types point at the sources, publishConfig names what is published, and one
 * tsdown.config.ts at the root (`workspace: true`) holds the options every package shares. Each
 * test runs the real init, then the real CLI build of the configs it wrote, and checks the build
 * wrote every file publishConfig/package.json names and that validation has nothing to say.
 */

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});

/** A pnpm workspace (pnpm-workspace.yaml and pnpm-lock.yaml: detectPackageManager's pnpm) with `packages/<dir>`. */
function pnpmWorkspace(root: FileTree, packages: Record<string, FileTree>): Fixture {
  const files: FileTree = {
    'package.json': { name: 'fx-root', private: true, type: 'module', scripts: { 'build:pkg': 'tsdown --workspace $INIT_CWD' } },
    'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n",
    'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
    ...root,
  };
  for (const [dir, tree] of Object.entries(packages)) for (const [rel, content] of Object.entries(tree)) files[`packages/${dir}/${rel}`] = content;
  const fx = createFixture(files, { linkNodeModules: true });
  fixtures.push(fx);
  return fx;
}

const byName = (result: InitResult, name: string): InitPackageResult => {
  const found = result.packages.find((p) => p.name === name);
  if (!found) throw new Error(`${name} not in the result: ${result.packages.map((p) => p.name).join(', ')}`);
  return found;
};

/** Every file a manifest object names (exports leaves, main, module, types, bin), package.json itself left out. */
function namedFiles(manifest: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.add(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  for (const field of ['exports', 'main', 'module', 'types', 'typings', 'bin']) walk(manifest[field]);
  return [...out].filter((f) => !f.endsWith('package.json')).map((f) => f.replace(/^\.\//, ''));
}

/** Writes the configs with the real init, builds them with the real CLI; returns init's result and the build's. */
async function initAndBuild(fx: Fixture): Promise<{ init: InitResult; run: RunResult }> {
  const init = await runInit({ cwd: fx.root });
  expect(init.exitCode, JSON.stringify(init.packages.filter((p) => p.error), null, 2)).toBe(0);
  const b = cli(['build', '--json', '--cwd', fx.root], { env: { BUILD_SYSTEM_CACHE_DIR: fx.path('.bs-cache') } });
  expect(b.code, b.stderr).toBe(0);
  return { init, run: JSON.parse(b.stdout) as RunResult };
}

/** Validation's findings about package.json, per package name. */
function packageJsonFindings(run: RunResult): Record<string, string[]> {
  return Object.fromEntries(run.results.map((r) => [r.package.name, r.diagnostics.filter((d) => d.code?.startsWith('PKG_')).map((d) => `${d.code} ${d.field}: ${d.message}`)]));
}

describe('init on a pnpm package whose own fields point at its sources and publishConfig at dist', () => {
  // honojs/middleware: `"exports": { ".": "./src/index.ts" }` for development, publishConfig.exports with
  // ./dist/index.mjs/.cjs and their .d.mts/.d.cts, which pnpm publishes instead. init read the package's
  // own fields, found no output in them and wrote a config building dist/index.js in one format: the build
  // then reported every file publishConfig names as missing.
  const published = {
    main: './dist/index.cjs',
    module: './dist/index.mjs',
    types: './dist/index.d.cts',
    exports: {
      '.': { import: { types: './dist/index.d.mts', default: './dist/index.mjs' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } },
      './rss': { import: { types: './dist/rss.d.mts', default: './dist/rss.mjs' }, require: { types: './dist/rss.d.cts', default: './dist/rss.cjs' } },
      './package.json': './package.json',
    },
  };
  const sources: FileTree = {
    'src/index.ts': `export const hello = (name: string): string => \`hello \${name}\`;\n`,
    // Not where resolve.ts's convention (src/<name>.ts) looks: the package's own exports["./rss"] names it.
    'src/plugins/rss.ts': `export const rss = (items: string[]): string => items.join('\\n');\n`,
  };
  const manifest = (name: string, scripts: Record<string, string>) => ({
    name,
    version: '1.0.0',
    type: 'module',
    main: './src/index.ts',
    types: './src/index.ts',
    exports: { '.': './src/index.ts', './rss': './src/plugins/rss.ts', './package.json': './package.json' },
    files: ['dist'],
    scripts,
    publishConfig: { access: 'public', ...published },
  });

  it('builds what publishConfig names, from the sources the package fields name', async () => {
    const fx = pnpmWorkspace({}, {
      // A build script running tsdown with no config of its own.
      script: { 'package.json': manifest('@fx/script', { build: 'tsdown' }), ...sources },
      // A tsdown config naming only entries, as most honojs packages do (ssg-plugins-essential's record).
      config: { 'package.json': manifest('@fx/config', { build: 'tsdown' }), 'tsdown.config.ts': `export default { entry: { index: 'src/index.ts', rss: 'src/plugins/rss.ts' } };\n`, ...sources },
    });
    const { init, run } = await initAndBuild(fx);
    const script = byName(init, '@fx/script');
    // Both formats are what publishConfig names, which resolve.ts derives itself: not written. The rss entry is
    // not where its convention looks (src/rss.ts), so the entries are.
    expect(script.config).toMatchObject({ entry: { index: 'src/index.ts', rss: 'src/plugins/rss.ts' } });
    expect(script.config).not.toHaveProperty('format');
    expect(script.comments.entry).toContain('publishConfig.exports');
    for (const dir of ['script', 'config']) {
      for (const rel of namedFiles(published)) expect(existsSync(fx.path('packages', dir, rel)), `${dir}: ${rel}`).toBe(true);
    }
    expect(packageJsonFindings(run)).toEqual({ '@fx/script': [], '@fx/config': [] });
    // The CommonJS file is CommonJS, the ESM one ESM.
    expect(readFileSync(fx.path('packages/script/dist/rss.cjs'), 'utf8')).toMatch(/module\.exports|exports\./);
    expect(readFileSync(fx.path('packages/script/dist/rss.mjs'), 'utf8')).toMatch(/^export /m);
  });

  it('with npm the same publishConfig is not what is published: init keeps to the package fields', async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'fx-root', private: true, workspaces: ['packages/*'] },
        'packages/plain/package.json': { ...manifest('@fx/plain', {}), main: './dist/index.js', types: './dist/index.d.ts', exports: { '.': './dist/index.js' } },
        'packages/plain/src/index.ts': 'export const x = 1;\n',
      },
      { linkNodeModules: true },
    );
    fixtures.push(fx);
    const init = await runInit({ cwd: fx.root, dryRun: true });
    const plain = byName(init, '@fx/plain');
    expect(plain.status).toBe('would-write');
    expect(plain.config).toEqual({});
    expect(plain.warnings).toEqual([]);
  });
});

describe('init with a tsdown config at the workspace root (workspace mode)', () => {
  // honojs/middleware: the root tsdown.config.ts sets `workspace: true`, `format: ['cjs', 'esm']`, `dts`
  // and more; each package's own tsdown.config.ts sets only `entry`, and tsdown merges the package's
  // config over the root's. init read the package's config alone.
  const rootConfig = `import { defineConfig } from 'tsdown';
export default defineConfig({
  workspace: { include: ['packages/*'], exclude: ['**/legacy/**'] },
  entry: ['src/index.ts'],
  format: ['cjs', 'esm'],
  dts: true,
  define: { __WORKSPACE__: '"from-the-root"' },
  tsconfig: 'tsconfig.build.json',
  publint: true,
});
`;
  const pkg = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    version: '1.0.0',
    type: 'module',
    exports: { '.': './src/index.ts' },
    scripts: { build: 'pnpm -w run build:pkg' },
    publishConfig: { exports: { '.': { import: './dist/index.mjs', require: './dist/index.cjs' } } },
    ...extra,
  });
  const index = `declare const __WORKSPACE__: string;\nexport const where: string = __WORKSPACE__;\n`;

  it("applies the root config to packages without one, merges it under a package's own, and says what it left out", async () => {
    const fx = pnpmWorkspace({ 'tsdown.config.ts': rootConfig }, {
      // No config of its own: the root's entry, formats, declarations and define.
      bare: { 'package.json': pkg('@fx/bare'), 'src/index.ts': index },
      // Its own entry list is concatenated with the root's (tsdown merges arrays), so both are built.
      own: {
        'package.json': pkg('@fx/own', {
          exports: { '.': './src/index.ts', './cli': './src/cli.ts' },
          publishConfig: { exports: { '.': { import: './dist/index.mjs', require: './dist/index.cjs' }, './cli': { import: './dist/cli.mjs', require: './dist/cli.cjs' } } },
        }),
        'tsdown.config.ts': `export default { entry: ['src/cli.ts'], define: { __WORKSPACE__: '"from-the-package"' } };\n`,
        'src/index.ts': index,
        'src/cli.ts': `export const cli = true;\n`,
      },
      // Left out by the root's workspace.exclude: tsdown does not build it with the root config.
      legacy: { 'package.json': pkg('@fx/legacy', { scripts: {} }), 'src/index.ts': `export const legacy = 1;\n` },
    });
    const { init, run } = await initAndBuild(fx);

    const bare = byName(init, '@fx/bare');
    expect(bare.sources).toEqual(['../../tsdown.config.ts']);
    expect(bare.config).toMatchObject({ define: { __WORKSPACE__: '"from-the-root"' } });
    expect(bare.comments.define).toBe('../../tsdown.config.ts define');
    // What has no equivalent is said, in the result and in the file.
    expect(bare.notReproduced).toContainEqual({ option: 'tsconfig', value: '"tsconfig.build.json"', why: expect.stringMatching(/^no such file in the package; build-system uses /) });
    expect(bare.content).toContain('// not reproduced: tsconfig "tsconfig.build.json"');
    expect(bare.ignored).toContain('publint');

    const own = byName(init, '@fx/own');
    expect(own.sources).toEqual(['tsdown.config.ts', '../../tsdown.config.ts']);
    // The merged entries (cli from the package, index from the root) are the ones publishConfig names, which
    // resolve.ts derives itself: not written (the files checked below are both built).
    expect(own.config).toMatchObject({ define: { __WORKSPACE__: '"from-the-package"' } });
    expect(own.config).not.toHaveProperty('entry');
    expect(own.comments.define).toContain("merged over ../../tsdown.config.ts's");

    const legacy = byName(init, '@fx/legacy');
    expect(legacy.sources).toEqual([]);
    expect(legacy.config).not.toHaveProperty('define');

    for (const dir of ['bare', 'own']) {
      const manifest = JSON.parse(fx.read(`packages/${dir}/package.json`)) as { publishConfig: Record<string, unknown> };
      for (const rel of namedFiles(manifest.publishConfig)) expect(existsSync(fx.path('packages', dir, rel)), `${dir}: ${rel}`).toBe(true);
      // dts: true from the root config.
      expect(existsSync(fx.path('packages', dir, 'dist/index.d.mts')), `${dir}: dist/index.d.mts`).toBe(true);
    }
    expect(readFileSync(fx.path('packages/bare/dist/index.mjs'), 'utf8')).toContain('from-the-root');
    expect(readFileSync(fx.path('packages/own/dist/index.cjs'), 'utf8')).toContain('from-the-package');
    expect(packageJsonFindings(run)).toEqual({ '@fx/bare': [], '@fx/own': [], '@fx/legacy': [] });
  });

  it('follows tsdown where it skips a package (no entry anywhere), reads package.json `tsdown`, and reports the root configs it does not use', async () => {
    const root = `export default [
  { workspace: true, format: ['esm'] },
  { workspace: true, format: ['cjs'], outDir: 'cjs' },
];
`;
    const fx = pnpmWorkspace({ 'tsdown.config.ts': root }, {
      // No entry in either config: tsdown's workspace build leaves it out.
      skipped: { 'package.json': pkg('@fx/skipped'), 'src/index.ts': `export const a = 1;\n` },
      built: { 'package.json': pkg('@fx/built'), 'tsdown.config.ts': `export default { entry: 'src/index.ts' };\n`, 'src/index.ts': `export const b = 1;\n` },
      // Its build script runs tsdown in the package, where tsdown loads the root config as its own: in workspace
      // mode that one looks for packages below this one and finds none.
      inside: { 'package.json': pkg('@fx/inside', { scripts: { build: 'tsdown' } }), 'src/index.ts': `export const d = 1;\n` },
      // package.json `tsdown` is the package's own config too, when there is no tsdown.config.* (tsdown's lookup order).
      keyed: { 'package.json': pkg('@fx/keyed', { tsdown: { entry: 'src/index.ts', sourcemap: true } }), 'src/index.ts': `export const c = 1;\n` },
    });
    const init = await runInit({ cwd: fx.root, dryRun: true });
    const skipped = byName(init, '@fx/skipped');
    expect(skipped.warnings).toContain("tsdown's workspace build (../../tsdown.config.ts) skips this package: neither it nor the package's own config sets entry");
    expect(skipped.sources).toEqual([]);
    const built = byName(init, '@fx/built');
    expect(built.notReproduced).toContainEqual({
      option: '../../tsdown.config.ts[1]',
      value: '{"workspace":true,"format":["cjs"],"outDir":"cjs"}',
      why: 'tsdown builds each package once per root config; only the first is used',
    });
    const inside = byName(init, '@fx/inside');
    expect(inside.sources).toEqual([]);
    expect(inside.warnings).toContain(
      'build script `tsdown` runs tsdown in the package, where it loads ../../tsdown.config.ts: in workspace mode it looks for packages below this one and finds none; init did not use it',
    );
    const keyed = byName(init, '@fx/keyed');
    expect(keyed.config).toMatchObject({ sourcemap: true });
    expect(keyed.comments.sourcemap).toBe('package.json#tsdown sourcemap');
    expect(keyed.sources).toEqual(['../../tsdown.config.ts']);
    // The first root config's format (esm), over what publishConfig names (both, which resolve.ts would derive).
    expect(built.config).toMatchObject({ format: ['esm'] });
    expect(built.warnings).toContain('package.json names ./dist/index.cjs, which this config does not produce');
  });

  it('decides by where tsdown runs: in the package it takes the root config as its own; `pnpm -w run` + `tsdown --workspace` merges it', async () => {
    // No `workspace` in the config: tsdown run in a package without a config of its own finds this one above
    // it and uses it as it is; `tsdown --workspace $INIT_CWD` at the root turns workspace mode on for the package.
    const root = `export default { entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: true, define: { __WORKSPACE__: '"from-the-root"' } };\n`;
    const fx = pnpmWorkspace({ 'tsdown.config.ts': root }, {
      inpkg: { 'package.json': pkg('@fx/inpkg', { scripts: { build: 'tsdown' } }), 'src/index.ts': index },
      viaroot: {
        'package.json': pkg('@fx/viaroot', {
          publishConfig: { exports: { '.': { import: './dist/index.mjs', require: './dist/index.cjs' }, './cli': { import: './dist/cli.mjs', require: './dist/cli.cjs' } } },
        }),
        'tsdown.config.ts': `export default { entry: ['src/cli.ts'], define: { __WORKSPACE__: '"from-the-package"' } };\n`,
        'src/index.ts': index,
        'src/cli.ts': `export const cli = true;\n`,
      },
    });
    const { init, run } = await initAndBuild(fx);
    const inpkg = byName(init, '@fx/inpkg');
    expect(inpkg.sources).toEqual(['../../tsdown.config.ts']);
    expect(inpkg.comments.define).toBe('../../tsdown.config.ts define');
    const viaroot = byName(init, '@fx/viaroot');
    expect(viaroot.sources).toEqual(['tsdown.config.ts', '../../tsdown.config.ts']);
    // Merged entries equal to what publishConfig names (resolve.ts derives those): not written; both are built (below).
    expect(viaroot.config).not.toHaveProperty('entry');
    // `pnpm -w run build:pkg` is followed into the root's script: a tsdown run, not a command left out. What is
    // listed is only that esbuild bundles its two CommonJS entries whole, where tsdown shares chunks.
    expect(viaroot.notReproduced.map((n) => `${n.option}: ${n.value}`)).toEqual(['format cjs: shared chunks']);

    for (const dir of ['inpkg', 'viaroot']) {
      const manifest = JSON.parse(fx.read(`packages/${dir}/package.json`)) as { publishConfig: Record<string, unknown> };
      for (const rel of namedFiles(manifest.publishConfig)) expect(existsSync(fx.path('packages', dir, rel)), `${dir}: ${rel}`).toBe(true);
      expect(existsSync(fx.path('packages', dir, 'dist/index.d.cts')), `${dir}: dist/index.d.cts`).toBe(true);
    }
    expect(readFileSync(fx.path('packages/inpkg/dist/index.mjs'), 'utf8')).toContain('from-the-root');
    expect(readFileSync(fx.path('packages/viaroot/dist/index.mjs'), 'utf8')).toContain('from-the-package');
    expect(packageJsonFindings(run)).toEqual({ '@fx/inpkg': [], '@fx/viaroot': [] });
  });
});
