import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { declarationExternal } from '../src/adapters/declarations-bundle.js';
import type { ResolvedConfig } from '../src/config/resolve.js';
import { createBuildSystem } from '../src/create.js';
import { createFixture, repoRoot, untilClockPasses, type Fixture } from './helpers/fixture.js';

/**
 * `dts: { bundle: true, resolve }` (adapters/declarations-bundle.ts) with the real tools: esbuild
 * for the JS, TypeScript for the per-source declarations, the workspace's rollup and
 * rollup-plugin-dts for the bundle. The fixture is shaped like kubb's @kubb/core: ESM + CJS with
 * exports conditions per format, two entries sharing a relative module, a private workspace package
 * (@internals/utils, a devDependency its users never install) whose types are inlined, and a
 * dependency (dep-lib) that stays an import. A consumer outside the workspace gets the package as
 * npm would install it (copied, with dep-lib beside it and no @internals/utils) and is compiled
 * with TypeScript under nodenext, through `import` and `require`.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));
const system = createBuildSystem();
const tscBin = path.join(repoRoot, 'node_modules/typescript/bin/tsc');

const conditions = (name: string) => ({
  import: { types: `./dist/${name}.d.mts`, default: `./dist/${name}.mjs` },
  require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
});

const UTILS_DTS = 'export interface Url {\n  href: string;\n  port: number;\n}\nexport declare function parseUrl(text: string): Url;\n';

function workspace(dts: unknown, opts: { isolated?: boolean; adapter?: string } = {}): Fixture {
  const config = `export default { adapter: '${opts.adapter ?? 'esbuild'}', format: ['esm', 'cjs'], entry: ['src/index.ts', 'src/url.ts'], dts: ${JSON.stringify(dts)} };\n`;
  const fx = createFixture({
    'package.json': { name: 'ws', private: true, workspaces: ['packages/*'] },
    'packages/utils/package.json': { name: '@internals/utils', private: true, type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
    // As a build of it publishes them: an index re-exporting a module, so the inlined types come from a file two imports away.
    'packages/utils/dist/index.d.ts': "export { parseUrl, type Url } from './url.js';\n",
    'packages/utils/dist/url.d.ts': UTILS_DTS,
    'packages/utils/dist/index.js': "export function parseUrl(text) {\n  return { href: text, port: 80 };\n}\n",
    'node_modules/dep-lib/package.json': { name: 'dep-lib', version: '1.0.0', types: './index.d.ts', main: './index.js' },
    'node_modules/dep-lib/index.d.ts': 'export interface Logger {\n  log(line: string): void;\n}\n',
    'node_modules/dep-lib/index.js': '',
    'packages/core/package.json': {
      name: '@fx/core',
      version: '1.0.0',
      type: 'module',
      exports: { '.': conditions('index'), './url': conditions('url') },
      files: ['dist'],
      dependencies: { 'dep-lib': '1.0.0' },
      devDependencies: { '@internals/utils': '*' },
    },
    'packages/core/tsconfig.json': {
      // declarationMap: the per-source maps point into files the bundle replaces; the bundle publishes none.
      compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: true, types: [], declarationMap: true, ...(opts.isolated ? { isolatedDeclarations: true } : {}) },
      include: ['src'],
    },
    'packages/core/build.config.ts': config,
    'packages/core/src/shared.ts': "import type { Url } from '@internals/utils';\nexport interface Located {\n  url: Url;\n}\n",
    'packages/core/src/index.ts': [
      "import { parseUrl } from '@internals/utils';",
      "import type { Logger } from 'dep-lib';",
      "import type { Located } from './shared.js';",
      "export type { Located } from './shared.js';",
      'export function locate(text: string, logger?: Logger): Located {',
      '  logger?.log(text);',
      '  return { url: parseUrl(text) };',
      '}',
      '',
    ].join('\n'),
    // A source in a subdirectory: its per-source declaration's directory must not be left behind empty.
    'packages/core/src/internal/port.ts': "import type { Located } from '../shared.js';\nexport const portOf = (l: Located): number => l.url.port;\n",
    'packages/core/src/url.ts': "export { portOf } from './internal/port.js';\n",
  });
  fixtures.push(fx);
  const tools = ['typescript', 'rollup', 'rollup-plugin-dts', ...(opts.isolated ? ['oxc-transform'] : []), ...(opts.adapter === 'rollup' ? ['@rollup/plugin-node-resolve'] : [])];
  mkdirSync(fx.path('node_modules/@internals'));
  mkdirSync(fx.path('node_modules/@rollup'));
  for (const tool of tools) symlinkSync(path.join(repoRoot, 'node_modules', tool), fx.path('node_modules', tool), 'dir');
  symlinkSync(fx.path('packages/utils'), fx.path('node_modules/@internals/utils'), 'dir');
  return fx;
}

async function build(fx: Fixture, cacheDir: string) {
  const r = await system.build({ cwd: fx.path('packages/core'), cacheDir });
  const result = r.results.find((x) => x.package.name === '@fx/core')!;
  expect(result.status, JSON.stringify(result.diagnostics)).toBe('success');
  return result;
}

/** The built package installed the way npm would for a user: copied, dep-lib beside it, @internals/utils nowhere. */
function consumer(fx: Fixture): { dir: string; tsc(): { status: number | null; out: string } } {
  const c = createFixture({
    'package.json': { name: 'consumer', private: true, type: 'module' },
    'tsconfig.json': { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['*.mts', '*.cts'] },
    // A declaration whose import does not resolve types it as any under skipLibCheck (as most users compile):
    // then the wrong assignment below is no error, and the @ts-expect-error above it is (TS2578).
    'esm.mts': [
      "import { locate, type Located } from '@fx/core';",
      "import { portOf } from '@fx/core/url';",
      "const found: Located = locate('http://x');",
      '// @ts-expect-error port is a number',
      'export const wrong: string = found.url.port;',
      'export const port: number = portOf(found);',
      "export const href: string = found.url.href;",
      '',
    ].join('\n'),
    'cjs.cts': [
      "import core = require('@fx/core');",
      "import url = require('@fx/core/url');",
      "const found = core.locate('http://x');",
      '// @ts-expect-error port is a number',
      'export const wrong: string = found.url.port;',
      'export const port: number = url.portOf(found);',
      '',
    ].join('\n'),
  });
  fixtures.push(c);
  cpSync(fx.path('packages/core/package.json'), c.path('node_modules/@fx/core/package.json'), { recursive: true });
  cpSync(fx.path('packages/core/dist'), c.path('node_modules/@fx/core/dist'), { recursive: true });
  cpSync(fx.path('node_modules/dep-lib'), c.path('node_modules/dep-lib'), { recursive: true });
  return {
    dir: c.root,
    tsc() {
      const r = spawnSync(process.execPath, [tscBin, '-p', c.root, '--listFiles'], { encoding: 'utf8' });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    },
  };
}

const cacheDirs: string[] = [];
afterAll(() => cacheDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const cacheDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'bs-dts-bundle-cache-'));
  cacheDirs.push(d);
  return d;
};

describe('dts: { bundle: true }', () => {
  it('publishes one declaration per entry and format, inlines the private package, keeps the dependency an import; a nodenext consumer gets real types through import and require, where per-source declarations gave it any', async () => {
    // First as today (dts: true): the per-source declarations import @internals/utils, which the consumer does not have.
    const fx = workspace(true);
    const perSource = await build(fx, cacheDir());
    expect(existsSync(fx.path('packages/core/dist/shared.d.mts'))).toBe(true);
    expect(existsSync(fx.path('packages/core/dist/shared.d.mts.map'))).toBe(true);
    expect(perSource.diagnostics.map((d) => d.code)).toContain('PKG_TYPES_IMPORT_UNDECLARED');
    const before = consumer(fx).tsc();
    // Both files: the inlined type was any, so the wrong assignment went through and its @ts-expect-error is unused.
    expect(before.out).toMatch(/esm\.mts\(\d+,\d+\): error TS2578/);
    expect(before.out).toMatch(/cjs\.cts\(\d+,\d+\): error TS2578/);

    fx.write({ 'packages/core/build.config.ts': fx.read('packages/core/build.config.ts').replace('dts: true', `dts: ${JSON.stringify({ bundle: true, resolve: ['@internals/utils'] })}`) });
    const result = await build(fx, cacheDir());
    const dist = readdirSync(fx.path('packages/core/dist')).sort();
    // No per-source declaration (shared.d.ts, internal/), no maps: one file per entry and format.
    expect(dist).toEqual(['index.cjs', 'index.d.cts', 'index.d.mts', 'index.mjs', 'url.cjs', 'url.d.cts', 'url.d.mts', 'url.mjs']);
    const mts = fx.read('packages/core/dist/index.d.mts');
    expect(mts).toBe(fx.read('packages/core/dist/index.d.cts'));
    expect(mts).not.toMatch(/@internals\/utils|\.\/shared|sourceMappingURL/);
    expect(mts).toMatch(/interface Url \{/);
    expect(mts).toMatch(/from ['"]dep-lib['"]/);
    expect(fx.read('packages/core/dist/url.d.mts')).toMatch(/interface Url \{/);
    // The package.json validation passes for the bundled names, and has nothing to say about @internals/utils.
    expect(result.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);

    const compiled = consumer(fx).tsc();
    expect(compiled.status, compiled.out).toBe(0);
    // Both conditions were followed: the ESM file got the .d.mts, the CommonJS one the .d.cts.
    expect(compiled.out).toMatch(/node_modules\/@fx\/core\/dist\/index\.d\.mts/);
    expect(compiled.out).toMatch(/node_modules\/@fx\/core\/dist\/index\.d\.cts/);
  }, 120_000);

  // The JS adapter runs beside the declarations job (build-step.ts); rollup writes chunks into staging meanwhile.
  it.each(['esbuild', 'rollup'])('%s: an edit to the inlined package’s declarations is a cache miss that rebuilds with them; otherwise a hit', async (adapter) => {
    const fx = workspace({ bundle: true, resolve: ['@internals/utils'] }, { adapter });
    const dir = cacheDir();
    expect((await build(fx, dir)).cache.status).toBe('miss');
    expect((await build(fx, dir)).cache.status).toBe('hit');
    fx.write({ 'packages/utils/dist/url.d.ts': UTILS_DTS.replace('port: number;', 'port: number;\n  secure: boolean;') });
    untilClockPasses(fx.path('packages/utils/dist/url.d.ts'), fx.path('packages/utils'));
    const edited = await build(fx, dir);
    expect(edited.cache.status).toBe('miss');
    expect(fx.read('packages/core/dist/index.d.cts')).toMatch(/secure: boolean;/);
    expect((await build(fx, dir)).cache.status).toBe('hit');
  }, 120_000);

  it('isolatedDeclarations: the emitter reads only the sources, so the inlined package is keyed by what the bundler read', async () => {
    const fx = workspace({ bundle: true, resolve: ['@internals/utils'] }, { isolated: true });
    const dir = cacheDir();
    expect((await build(fx, dir)).cache.status).toBe('miss');
    expect(fx.read('packages/core/dist/index.d.mts')).toMatch(/interface Url \{/);
    expect((await build(fx, dir)).cache.status).toBe('hit');
    fx.write({ 'packages/utils/dist/url.d.ts': UTILS_DTS.replace('href: string;', 'href: URL;') });
    untilClockPasses(fx.path('packages/utils/dist/url.d.ts'), fx.path('packages/utils'));
    expect((await build(fx, dir)).cache.status).toBe('miss');
    expect(fx.read('packages/core/dist/index.d.mts')).toMatch(/href: URL;/);
  }, 120_000);

  it('resolve names what is inlined: without it the private package stays an import (and validation says so); resolve: true inlines every non-dependency; a change of it is a miss', async () => {
    const fx = workspace({ bundle: true });
    const dir = cacheDir();
    const kept = await build(fx, dir);
    expect(fx.read('packages/core/dist/index.d.mts')).toMatch(/from ['"]@internals\/utils['"]/);
    expect(kept.diagnostics.filter((d) => d.code === 'PKG_TYPES_IMPORT_UNDECLARED')).toEqual([
      expect.objectContaining({ severity: 'warning', file: 'dist/index.d.cts', field: 'dependencies' }),
    ]);
    fx.write({ 'packages/core/build.config.ts': fx.read('packages/core/build.config.ts').replace('{"bundle":true}', '{"bundle":true,"resolve":true}') });
    const all = await build(fx, dir);
    expect(all.cache.status).toBe('miss');
    // Keyed as a config field (fingerprint.ts normalizedConfig), not only as an edited file.
    expect(all.cache.changes).toContainEqual({ kind: 'config-changed', fields: ['dts.resolve'] });
    const text = fx.read('packages/core/dist/index.d.mts');
    expect(text).toMatch(/interface Url \{/);
    expect(text).toMatch(/from ['"]dep-lib['"]/);
    expect(all.diagnostics.filter((d) => d.code === 'PKG_TYPES_IMPORT_UNDECLARED')).toEqual([]);
  }, 120_000);

  it('what stays an import: dependencies and their subpaths, external, built-ins; a listed name is inlined even when it is a dependency', () => {
    const config = (resolve: true | string[]) => ({ external: ['dep-lib', 'dep-lib/*', 'kept-too', '@types/estree', '@types/estree/*'], dtsBundle: { resolve } }) as unknown as ResolvedConfig;
    const listed = declarationExternal(config(['@internals/utils', 'dep-lib']), '@fx/core');
    const external = (test: typeof listed, id: string) => test(id, '/pkg/x.d.ts', false);
    expect(['node:fs', 'fs', 'kept-too', 'other', '@scope/other/sub'].filter((id) => external(listed, id))).toEqual(['node:fs', 'fs', 'kept-too', 'other', '@scope/other/sub']);
    expect(['@internals/utils', '@internals/utils/sub', 'dep-lib', './shared.js', '/abs/x.d.ts', '#internal'].filter((id) => external(listed, id))).toEqual([]);
    const every = declarationExternal(config(true), '@fx/core');
    // estree's types come from the @types/estree dependency; the package's own name is never inlined (it would come from its last outDir).
    expect(['dep-lib', 'dep-lib/sub', 'node:path', 'kept-too', 'estree', '@fx/core/url'].every((id) => external(every, id))).toBe(true);
    expect(['@internals/utils', 'other'].some((id) => external(every, id))).toBe(false);
    // A resolved id is a file rollup found: never external.
    expect(listed('other', undefined, true)).toBe(false);
  });
});
