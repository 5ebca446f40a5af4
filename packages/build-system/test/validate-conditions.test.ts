import { afterEach, describe, expect, it } from 'vitest';
import { validatePackage } from '../src/validate/index.js';
import { ReadLog } from '../src/util/read-log.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/** Condition order and module kinds per condition, as Node and TypeScript resolve them. */
const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

function problems(manifest: Record<string, unknown>, artifacts: string[]) {
  const fx = createFixture({ 'package.json': manifest });
  fixtures.push(fx);
  const { diagnostics } = validatePackage({ dir: fx.root, manifest, outDir: 'dist', artifacts: artifacts.map((path) => ({ path })), reads: new ReadLog() });
  return diagnostics;
}
const codes = (manifest: Record<string, unknown>, artifacts: string[]) => problems(manifest, artifacts).map((d) => `${d.code} ${d.field}`);

const ESM = ['dist/index.mjs', 'dist/index.d.mts'];
const DUAL = ['dist/index.js', 'dist/index.d.ts', 'dist/index.cjs', 'dist/index.d.cts'];

describe('condition order', () => {
  it('types first, default last, module before require', () => {
    expect(codes({ name: 'p', type: 'module', exports: { '.': { import: './dist/index.js', types: './dist/index.d.ts', default: './dist/index.js' } } }, DUAL)).toEqual([
      'PKG_TYPES_FIRST exports["."].types',
    ]);
    expect(codes({ name: 'p', type: 'module', exports: { '.': { default: './dist/index.js', import: './dist/index.js' } } }, DUAL)).toEqual(['PKG_DEFAULT_LAST exports["."].default']);
    expect(codes({ name: 'p', type: 'module', exports: { '.': { require: './dist/index.cjs', module: './dist/index.js', default: './dist/index.js' } } }, DUAL)).toEqual([
      'PKG_MODULE_BEFORE_REQUIRE exports["."].module',
    ]);
  });

  it('a nested types before a fallback types and versioned types@ keys are fine', () => {
    const manifest = {
      name: 'p',
      type: 'module',
      exports: { '.': { 'types@<5.0': './dist/index.d.ts', import: { types: './dist/index.d.ts', default: './dist/index.js' }, types: './dist/index.d.cts', default: './dist/index.cjs' } },
    };
    expect(codes(manifest, DUAL)).toEqual([]);
  });

  it('the message names what shadows the types condition', () => {
    const [d] = problems({ name: 'p', exports: { node: './dist/index.js', types: './dist/index.d.ts' } }, ['dist/index.js', 'dist/index.d.ts']);
    expect(d).toMatchObject({ code: 'PKG_TYPES_FIRST', field: 'exports.types', file: 'package.json' });
    expect(d!.message).toContain('"node"');
  });
});

describe('types resolve to the module kind of the JS Node loads', () => {
  it('clean: ESM .mjs + .d.mts, dual with .d.cts, CommonJS', () => {
    expect(codes({ name: 'p', exports: { '.': { types: './dist/index.d.mts', default: './dist/index.mjs' } } }, ESM)).toEqual([]);
    expect(
      codes(
        {
          name: 'p',
          type: 'module',
          exports: { '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } } },
        },
        DUAL,
      ),
    ).toEqual([]);
    expect(codes({ name: 'p', main: './dist/index.js', types: './dist/index.d.ts' }, ['dist/index.js', 'dist/index.d.ts'])).toEqual([]);
  });

  it('one .d.ts for both conditions of a dual type:module package masquerades as ESM under require', () => {
    const [d] = problems({ name: 'p', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js', require: './dist/index.cjs' } } }, DUAL);
    expect(d).toMatchObject({ code: 'PKG_TYPES_MASQUERADE', field: 'exports["."].types' });
    expect(d!.message).toContain('masquerading as ESM');
    expect(d!.message).toContain('for require');
    expect(d!.message).toContain('.d.cts');
  });

  it('CJS-typed declarations under import of an ESM file masquerade as CJS (the field is the nested types)', () => {
    const manifest = { name: 'p', exports: { './utils': { import: { types: './dist/utils.d.ts', default: './dist/utils.mjs' }, require: { types: './dist/utils.d.ts', default: './dist/utils.js' } } } };
    const ds = problems(manifest, ['dist/utils.mjs', 'dist/utils.js', 'dist/utils.d.ts']);
    expect(ds.map((d) => `${d.code} ${d.field}`)).toEqual(['PKG_TYPES_MASQUERADE exports["./utils"].import.types']);
    expect(ds[0]!.message).toContain('masquerading as CJS');
  });

  it('a types-only package: the mode decides (a .d.mts under require masquerades)', () => {
    expect(codes({ name: 'p', exports: { '.': { require: { types: './dist/index.d.mts' } } } }, ['dist/index.d.mts'])).toEqual(['PKG_TYPES_MASQUERADE exports["."].require.types']);
  });

  it('an ESM-only package (no require, no default): its ESM types under require are right, not masquerading', () => {
    expect(codes({ name: 'p', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } }, DUAL)).toEqual([]);
  });

  it('without a types condition TypeScript looks beside the JS: x.mjs needs x.d.mts', () => {
    const manifest = { name: 'p', types: './dist/index.d.ts', exports: { '.': { import: './dist/index.mjs', require: './dist/index.js' } } };
    expect(codes(manifest, ['dist/index.mjs', 'dist/index.js', 'dist/index.d.ts'])).toEqual(['PKG_TYPES_MISSING exports["."].import']);
    expect(codes(manifest, ['dist/index.mjs', 'dist/index.js', 'dist/index.d.ts', 'dist/index.d.mts'])).toEqual([]);
  });

  it('a package that ships no types is not asked for any', () => {
    expect(codes({ name: 'p', exports: { '.': { import: './dist/index.mjs', require: './dist/index.js' } } }, ['dist/index.mjs', 'dist/index.js'])).toEqual([]);
  });

  it('without exports: types against main, or the declaration beside main', () => {
    expect(codes({ name: 'p', type: 'module', main: './dist/index.cjs', types: './dist/index.d.ts' }, DUAL)).toEqual(['PKG_TYPES_MASQUERADE types']);
    expect(codes({ name: 'p', main: './dist/index.js' }, ['dist/index.js', 'dist/other.d.ts'])).toEqual(['PKG_TYPES_MISSING main']);
  });

  it('a nested package.json the build wrote decides the kind of .js/.d.ts below it', () => {
    const fx = createFixture({});
    fixtures.push(fx);
    const manifest = { name: 'p', type: 'module', exports: { '.': { import: { types: './dist/esm/index.d.ts', default: './dist/esm/index.js' }, require: { types: './dist/cjs/index.d.ts', default: './dist/cjs/index.js' } } } };
    const artifacts = ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json'].map((path) => ({ path }));
    const run = (nested: string) =>
      validatePackage({ dir: fx.root, manifest, outDir: 'dist', artifacts, reads: new ReadLog(), readArtifact: (rel) => (rel === 'dist/cjs/package.json' ? nested : undefined) }).diagnostics.map((d) => `${d.code} ${d.field}`);
    expect(run('{"type":"commonjs"}')).toEqual([]);
    // Without the nested type the .js under require is ESM.
    expect(run('{"type":"module"}')).toEqual(['PKG_MODULE_KIND exports["."].require.default']);
  });
});

describe('JS module kind fits its condition', () => {
  it('require needs CommonJS, module and the module field need ESM; import may load CommonJS', () => {
    expect(codes({ name: 'p', type: 'module', exports: { '.': { require: './dist/index.js' } } }, ['dist/index.js'])).toEqual(['PKG_MODULE_KIND exports["."].require']);
    expect(codes({ name: 'p', exports: { '.': { module: './dist/index.js', default: './dist/index.js' } } }, ['dist/index.js'])).toEqual(['PKG_MODULE_KIND exports["."].module']);
    expect(codes({ name: 'p', module: './dist/index.cjs' }, ['dist/index.cjs'])).toEqual(['PKG_MODULE_KIND module']);
    expect(codes({ name: 'p', exports: { '.': { import: './dist/index.cjs' } } }, ['dist/index.cjs'])).toEqual([]);
  });
});
