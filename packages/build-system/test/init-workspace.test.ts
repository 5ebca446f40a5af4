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
    expect(script.config).toMatchObject({ entry: { index: 'src/index.ts', rss: 'src/plugins/rss.ts' }, format: ['esm', 'cjs'] });
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
