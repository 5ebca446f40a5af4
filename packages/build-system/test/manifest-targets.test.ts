import { describe, expect, it } from 'vitest';
import { manifestTargets, type TargetManifest } from '../src/util/manifest-targets.js';

/** The one package.json target walk, on manifests shaped like real published packages. */

function rows(manifest: TargetManifest) {
  return manifestTargets(manifest).targets.map((t) => [t.field, t.path, t.conditions.join(' '), t.valid]);
}

describe('manifestTargets', () => {
  it('tsup dual layout: .mjs/.d.mts for import, .cjs/.d.cts for require, plus main/module/types', () => {
    const manifest = {
      main: './dist/index.cjs',
      module: './dist/index.mjs',
      types: './dist/index.d.cts',
      exports: {
        '.': {
          import: { types: './dist/index.d.mts', default: './dist/index.mjs' },
          require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
        },
        './package.json': './package.json',
      },
    };
    expect(rows(manifest)).toEqual([
      ['exports["."].import.types', 'dist/index.d.mts', 'import types', true],
      ['exports["."].import.default', 'dist/index.mjs', 'import default', true],
      ['exports["."].require.types', 'dist/index.d.cts', 'require types', true],
      ['exports["."].require.default', 'dist/index.cjs', 'require default', true],
      ['exports["./package.json"]', 'package.json', '', true],
      ['main', 'dist/index.cjs', '', true],
      ['module', 'dist/index.mjs', '', true],
      ['types', 'dist/index.d.cts', '', true],
    ]);
    expect(manifestTargets(manifest).problems).toEqual([]);
  });

  it('subpath exports with patterns and nested conditions keep the subpath and mark patterns', () => {
    const { targets } = manifestTargets({
      exports: {
        './sub': { node: { import: './dist/sub.node.mjs' }, 'react-native': './dist/sub.rn.js', default: './dist/sub.js' },
        './features/*': './dist/features/*.js',
        './fixed/*': './dist/fixed.js',
      },
    });
    expect(targets.map((t) => [t.field, t.subpath, t.conditions.join(' '), t.pattern])).toEqual([
      ['exports["./sub"].node.import', './sub', 'node import', false],
      ['exports["./sub"]["react-native"]', './sub', 'react-native', false],
      ['exports["./sub"].default', './sub', 'default', false],
      ['exports["./features/*"]', './features/*', '', true],
      // Valid for Node, but every match maps to one file: nothing to expand.
      ['exports["./fixed/*"]', './fixed/*', '', false],
    ]);
  });

  it('sugar forms: a string, a conditions object and an array fallback are the root subpath', () => {
    expect(manifestTargets({ exports: './index.js' }).targets.map((t) => [t.field, t.subpath])).toEqual([['exports', '.']]);
    expect(rows({ exports: { import: './a.mjs', require: './a.cjs' } })).toEqual([
      ['exports.import', 'a.mjs', 'import', true],
      ['exports.require', 'a.cjs', 'require', true],
    ]);
    expect(rows({ exports: { '.': [{ import: './a.mjs' }, './a.cjs'] } })).toEqual([
      ['exports["."][0].import', 'a.mjs', 'import', true],
      ['exports["."][1]', 'a.cjs', '', true],
    ]);
  });

  it('null targets block a subpath and yield nothing', () => {
    const result = manifestTargets({ exports: { '.': './index.js', './internal/*': null, './x': { node: null, default: './x.js' } } });
    expect(result.targets.map((t) => t.field)).toEqual(['exports["."]', 'exports["./x"].default']);
    expect(result.problems).toEqual([]);
  });

  it('bin as a string and as an object of commands', () => {
    expect(rows({ bin: './cli.js' })).toEqual([['bin', 'cli.js', '', true]]);
    expect(rows({ bin: { demo: 'bin/demo.js', 'demo-admin': './bin/admin.js' } })).toEqual([
      ['bin.demo', 'bin/demo.js', '', true],
      ['bin["demo-admin"]', 'bin/admin.js', '', true],
    ]);
  });

  it('a types-only package (DefinitelyTyped shape)', () => {
    expect(rows({ types: 'index.d.ts', typings: './index.d.ts', main: '' })).toEqual([
      // An empty main is ignored by Node: yielded, but not valid.
      ['main', '', '', false],
      ['types', 'index.d.ts', '', true],
      ['typings', 'index.d.ts', '', true],
    ]);
  });

  it('marks what Node refuses, reports each fault once, and still yields the leaves for lenient readers', () => {
    const result = manifestTargets({
      exports: {
        '.': { import: 'dist/index.mjs', require: './dist/../../outside.cjs', deep: { './nested': './n.js' }, n: 3 },
        './folder/': './dist/folder/',
      },
    });
    expect(result.targets.map((t) => [t.field, t.valid])).toEqual([
      ['exports["."].import', false],
      ['exports["."].require', false],
      ['exports["."].deep["./nested"]', false],
      ['exports["./folder/"]', false],
    ]);
    expect(result.problems.map((p) => p.field)).toEqual([
      'exports["."].import',
      'exports["."].require',
      'exports["."].deep["./nested"]',
      'exports["."].n',
      'exports["./folder/"]',
    ]);
    expect(result.problems[0]!.message).toMatch(/must start with "\.\/"/);
    expect(result.problems[1]!.message).toMatch(/must not contain/);
    expect(result.problems[2]!.message).toMatch(/subpath inside conditions/);
    expect(result.problems[3]!.message).toMatch(/got number/);
    expect(result.problems[4]!.message).toMatch(/folder mapping/);
  });

  it('keys mixing subpaths and conditions: one problem for the field, every leaf invalid', () => {
    const result = manifestTargets({ exports: { '.': './index.js', import: './index.mjs', './a': 'a.js' } });
    expect(result.problems.map((p) => p.field)).toEqual(['exports']);
    expect(result.targets.map((t) => [t.field, t.conditions.join(' '), t.valid])).toEqual([
      ['exports["."]', '', false],
      ['exports.import', 'import', false],
      ['exports["./a"]', '', false],
    ]);
  });
});
