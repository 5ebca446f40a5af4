import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { externalTest } from '../src/adapters/rollup.js';
import { loadPackageConfig } from '../src/config/load.js';
import { resolveConfig } from '../src/config/resolve.js';
import { PackageBuildService } from '../src/services/build.service.js';
import { dependenciesRead, dependencyNeeds, isExternalFor, type WorkspaceDependencyRef } from '../src/services/dependency-needs.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

/**
 * Which workspace dependencies' outputs a build reads, decided from real
 * configs: each case writes a workspace with package.json files and a
 * build.config.ts to a temp dir, loads and resolves the config the way a
 * build does, and asks dependencyNeeds about @fx/* dependency packages.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const DEPS = ['@fx/runtime', '@fx/peer', '@fx/optional', '@fx/dev'] as const;

interface Case {
  /** Fields of the app's package.json (merged over name/type/main). */
  manifest?: Record<string, unknown>;
  /** The body of the app's build.config.ts default export. */
  config?: string;
  /** More files (relative to the workspace root). */
  files?: Record<string, string | object>;
}

/** A workspace with @fx/app and the four dependency packages; returns the app's resolved config and its dependency refs. */
async function prepare(c: Case = {}) {
  const files: Record<string, string | object> = {
    'package.json': { name: 'fx-root', private: true, workspaces: ['packages/*'] },
    'packages/app/package.json': {
      name: '@fx/app',
      version: '1.0.0',
      type: 'module',
      main: 'dist/index.js',
      dependencies: { '@fx/runtime': '*' },
      peerDependencies: { '@fx/peer': '*' },
      optionalDependencies: { '@fx/optional': '*' },
      devDependencies: { '@fx/dev': '*' },
      ...c.manifest,
    },
    'packages/app/src/index.ts': 'export const app = 1;\n',
    'packages/app/build.config.ts': `export default { ${c.config ?? "adapter: 'esbuild'"} };\n`,
    ...c.files,
  };
  for (const d of DEPS) {
    const key = d.slice('@fx/'.length);
    files[`packages/${key}/package.json`] = { name: d, version: '1.0.0', type: 'module', main: 'dist/index.js' };
    files[`packages/${key}/src/index.ts`] = `export const ${key} = 1;\n`;
  }
  const fx = createFixture(files);
  fixtures.push(fx);
  const pkg = loadPackageInfo(fx.path('packages/app'), new ReadLog(), fx.root);
  const { config, file } = await loadPackageConfig(pkg, new ReadLog());
  const resolved = resolveConfig(pkg, config, file);
  const deps: WorkspaceDependencyRef[] = DEPS.map((name) => ({ name, dir: fx.path('packages', name.slice('@fx/'.length)) }));
  return { fx, pkg, config: resolved, deps };
}

/** name → reads its outputs, for the app built by `adapter`. */
async function reads(c: Case, adapter: string): Promise<Record<string, boolean>> {
  const { pkg, config, deps } = await prepare(c);
  return Object.fromEntries(dependencyNeeds({ pkg, config, adapter }, deps).map((n) => [n.name, n.readsOutputs]));
}

const ALL_READ = { '@fx/runtime': true, '@fx/peer': true, '@fx/optional': true, '@fx/dev': true };

describe('dependencyNeeds: bundlers without declarations', () => {
  it.each(['esbuild', 'bun', 'rollup'])('%s: runtime, peer and optional dependencies are external (not read); a devDependency is bundled (read)', async (adapter) => {
    expect(await reads({ config: `adapter: '${adapter}', dts: false` }, adapter)).toEqual({ '@fx/runtime': false, '@fx/peer': false, '@fx/optional': false, '@fx/dev': true });
  });

  it('a devDependency named in config external is not read; a bare name covers subpaths for esbuild and bun, not for rollup', async () => {
    const c: Case = { config: "adapter: 'esbuild', external: ['@fx/dev']" };
    expect((await reads(c, 'esbuild'))['@fx/dev']).toBe(false);
    expect((await reads(c, 'bun'))['@fx/dev']).toBe(false);
    // rollup's external test matches `@fx/dev` exactly: `@fx/dev/x` would still be bundled.
    expect((await reads(c, 'rollup'))['@fx/dev']).toBe(true);
    expect((await reads({ config: "adapter: 'rollup', external: ['@fx/dev', '@fx/dev/*']" }, 'rollup'))['@fx/dev']).toBe(false);
  });

  it('wildcards: `@fx/*` keeps every @fx package external; a pattern for some subpaths only does not', async () => {
    for (const adapter of ['esbuild', 'bun', 'rollup']) {
      expect((await reads({ config: "external: ['@fx/*']" }, adapter))['@fx/dev'], adapter).toBe(false);
    }
    expect((await reads({ config: "external: ['@fx/dev/*']" }, 'esbuild'))['@fx/dev']).toBe(true);
    expect((await reads({ config: "external: ['*.css', '@fx/de']" }, 'esbuild'))['@fx/dev']).toBe(true);
  });

  it('noExternal: a dependency it names is bundled (read) with every bundler; a @scope/* pattern takes the scope; external does not win', async () => {
    for (const adapter of ['esbuild', 'bun', 'rollup']) {
      // `name/*` is the whole package too: esbuild and bun keep a bare name's subpaths external with it.
      expect(await reads({ config: `adapter: '${adapter}', dts: false, noExternal: ['@fx/runtime', '@fx/peer/*']` }, adapter), adapter).toEqual({ '@fx/runtime': true, '@fx/peer': true, '@fx/optional': false, '@fx/dev': true });
      expect(await reads({ config: `adapter: '${adapter}', dts: false, noExternal: ['@fx/*']` }, adapter), adapter).toEqual(ALL_READ);
    }
    const { config } = await prepare({ config: "adapter: 'esbuild', external: ['@fx/runtime', 'other'], noExternal: ['@fx/runtime', '@fx/peer/*']" });
    expect(config.external).toEqual(['@fx/optional', '@fx/optional/*', 'other']);
  });

  it('an entry with its own noExternal or external: a dependency is external only when every entry keeps it so', async () => {
    const entries = (own: string) => `adapter: 'esbuild', dts: false, entry: { index: 'src/index.ts', extra: { source: 'src/index.ts', ${own} } }`;
    // The extra entry bundles @fx/runtime, which the package keeps external: the build reads it.
    expect(await reads({ config: entries("noExternal: ['@fx/runtime']") }, 'esbuild')).toEqual({ '@fx/runtime': true, '@fx/peer': false, '@fx/optional': false, '@fx/dev': true });
    // The package keeps @fx/dev external but the extra entry's own external replaces that list: bundled there, so read.
    expect((await reads({ config: `external: ['@fx/dev'], ${entries("external: []")}` }, 'esbuild'))['@fx/dev']).toBe(true);
    // Both keep it external: not read.
    expect((await reads({ config: `external: ['@fx/dev'], ${entries("external: ['@fx/dev'], target: 'es2020'")}` }, 'esbuild'))['@fx/dev']).toBe(false);
  });

  it('a dependency mapped by package.json imports is read even when external: bundlers resolve #specifiers past external', async () => {
    const r = await reads({ manifest: { imports: { '#runtime': '@fx/runtime', '#own': './src/own.js' } }, config: "adapter: 'esbuild'" }, 'esbuild');
    expect(r).toEqual({ '@fx/runtime': true, '@fx/peer': false, '@fx/optional': false, '@fx/dev': true });
    const browser = await reads({ manifest: { browser: { './src/node.js': '../peer/dist/browser.js' } } }, 'esbuild');
    expect(browser['@fx/peer']).toBe(true);
    expect(browser['@fx/runtime']).toBe(false);
  });

  it('config inputs reaching into a dependency make it read; a shared file at the root does not', async () => {
    const r = await reads({ config: "adapter: 'esbuild', inputs: ['../runtime/dist/**', '../../tsconfig.base.json']", files: { 'tsconfig.base.json': '{}' } }, 'esbuild');
    expect(r).toEqual({ '@fx/runtime': true, '@fx/peer': false, '@fx/optional': false, '@fx/dev': true });
  });

  it('a dependency inside the package directory is read (its files are inputs)', async () => {
    const { pkg, config } = await prepare();
    const nested = { name: '@fx/nested', dir: path.join(pkg.dir, 'tools/nested') };
    const runtime = { name: '@fx/runtime', dir: path.join(pkg.workspaceRoot, 'packages/runtime') };
    expect(dependenciesRead({ pkg, config, adapter: 'esbuild' }, [nested, runtime])).toEqual(new Set(['@fx/nested']));
  });
});

describe('dependencyNeeds: every dependency is read when in doubt', () => {
  it('dts: true (explicit, or derived from package.json types): TypeScript reads their declarations', async () => {
    expect(await reads({ config: "adapter: 'esbuild', dts: true" }, 'esbuild')).toEqual(ALL_READ);
    expect(await reads({ manifest: { types: 'dist/index.d.ts' }, config: "adapter: 'esbuild'" }, 'esbuild')).toEqual(ALL_READ);
    const { pkg, config, deps } = await prepare({ config: "adapter: 'rollup', dts: true" });
    expect(dependencyNeeds({ pkg, config, adapter: 'rollup' }, deps)[0]!.why).toMatch(/dts: true/);
  });

  it('the tsc adapter, and an adapter it does not know', async () => {
    expect(await reads({ config: "adapter: 'tsc', dts: false" }, 'tsc')).toEqual(ALL_READ);
    expect(await reads({ config: "adapter: 'esbuild'" }, 'swc')).toEqual(ALL_READ);
  });

  it('adapterOptions of the building adapter that can bring a dependency in past external', async () => {
    const plugin = "adapterOptions: { esbuild: { plugins: [{ name: 'p', setup() {} }] } }";
    expect(await reads({ config: `adapter: 'esbuild', ${plugin}` }, 'esbuild')).toEqual(ALL_READ);
    expect(await reads({ config: "adapter: 'esbuild', adapterOptions: { esbuild: { external: [] } }" }, 'esbuild')).toEqual(ALL_READ);
    expect(await reads({ config: "adapter: 'esbuild', adapterOptions: { esbuild: { alias: { x: '@fx/runtime' } } }" }, 'esbuild')).toEqual(ALL_READ);
    expect(await reads({ config: "adapter: 'rollup', adapterOptions: { rollup: { plugins: [{ name: 'p' }] } }" }, 'rollup')).toEqual(ALL_READ);
    expect(await reads({ config: "adapter: 'bun', adapterOptions: { bun: { external: ['x'] } }" }, 'bun')).toEqual(ALL_READ);
    // An empty plugin list changes nothing; another adapter's options are not used by this build.
    expect((await reads({ config: "adapterOptions: { esbuild: { plugins: [], minify: true } }" }, 'esbuild'))['@fx/runtime']).toBe(false);
    expect((await reads({ config: `adapter: 'bun', ${plugin}` }, 'bun'))['@fx/runtime']).toBe(false);
  });
});

describe('dependencyNeeds: from a prepared package', () => {
  it('PackageBuildService.prepare decides the adapter; the answer follows it', async () => {
    const { pkg, deps } = await prepare({ config: "adapter: 'esbuild', format: 'esm'" });
    const prepared = await new PackageBuildService().prepare(pkg, { reads: new ReadLog() });
    expect(prepared.choice.adapter.name).toBe('esbuild');
    const needs = dependencyNeeds({ pkg, config: prepared.config, adapter: prepared.choice.adapter.name }, deps);
    expect(needs.filter((n) => n.readsOutputs).map((n) => n.name)).toEqual(['@fx/dev']);
    expect(needs.find((n) => n.name === '@fx/runtime')!.why).toMatch(/external for esbuild/);
    expect(needs.find((n) => n.name === '@fx/dev')!.why).toMatch(/bundled by esbuild/);
  });
});

describe('isExternalFor', () => {
  it("agrees with the rollup adapter's own external test", () => {
    // Exact names and `name/*` prefixes: a bare name does not keep its subpaths external.
    const cases: [string[], boolean][] = [[['@fx/dev'], false], [['@fx/dev', '@fx/dev/*'], true], [['@fx/*'], true], [['*'], false], [['@fx/dev/sub'], false], [['@other/*', 'x'], false]];
    for (const [list, expected] of cases) {
      const test = externalTest(list);
      expect(test('@fx/dev') && test('@fx/dev/any/subpath') && test('@fx/dev/x'), JSON.stringify(list)).toBe(expected);
      expect(isExternalFor('rollup', list, '@fx/dev'), JSON.stringify(list)).toBe(expected);
    }
  });

  it('esbuild: exact, package prefix, one wildcard; more than one wildcard never matches', () => {
    expect(isExternalFor('esbuild', ['lib'], 'lib')).toBe(true);
    expect(isExternalFor('esbuild', ['li*'], 'lib')).toBe(true);
    expect(isExternalFor('esbuild', ['*'], 'lib')).toBe(true);
    expect(isExternalFor('esbuild', ['lib/*'], 'lib')).toBe(false);
    expect(isExternalFor('esbuild', ['*.js'], 'lib')).toBe(false);
    expect(isExternalFor('esbuild', ['l*b*'], 'lib')).toBe(false);
    expect(isExternalFor('esbuild', ['./lib'], 'lib')).toBe(false);
  });
});
