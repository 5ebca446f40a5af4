import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadLog } from '../src/util/read-log.js';
import { resolveModule } from '../src/util/resolve-module.js';
import { createFixture, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * resolveModule shares one Node lookup between the package directories of a run whose lookups
 * first meet the same node_modules/<name> (util/resolve-module.ts). Each case here resolves from
 * several directories in one run (one read log) and must give what Node gives from each.
 */

const fixtures: Fixture[] = [];
function fixture(files: FileTree): Fixture {
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});

const tool = (version: string) => ({ 'package.json': { name: 'tool-x', version, main: 'index.js' }, 'index.js': 'module.exports = 1;\n' });
function files(prefix: string, tree: Record<string, unknown>): FileTree {
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [`${prefix}/${k}`, v as string | object]));
}

describe('resolveModule within one run', () => {
  it('a package with its own copy gets it; its neighbours get the shared one, each from where Node finds it', () => {
    const fx = fixture({
      'package.json': { name: 'root', private: true },
      ...files('node_modules/tool-x', tool('1.0.0')),
      'packages/a/package.json': { name: 'a' },
      'packages/b/package.json': { name: 'b' },
      ...files('packages/b/node_modules/tool-x', tool('2.0.0')),
      'packages/c/package.json': { name: 'c' },
    });
    const reads = new ReadLog(true);
    const from = (p: string) => resolveModule('tool-x', [fx.path(p), fx.root], reads, { includeOwn: false });
    expect(from('packages/a')).toMatchObject({ version: '1.0.0', dir: fx.path('node_modules/tool-x') });
    expect(from('packages/b')).toMatchObject({ version: '2.0.0', dir: fx.path('packages/b/node_modules/tool-x'), main: fx.path('packages/b/node_modules/tool-x/index.js') });
    expect(from('packages/c')).toMatchObject({ version: '1.0.0', dir: fx.path('node_modules/tool-x'), main: fx.path('node_modules/tool-x/index.js') });
    // What the no-op record needs: where each package's lookup found nothing.
    const { absent } = reads.observations();
    expect(absent.has(fx.path('packages/a/node_modules/tool-x'))).toBe(true);
    expect(absent.has(fx.path('packages/c/node_modules/tool-x'))).toBe(true);
    expect(absent.has(fx.path('packages/node_modules/tool-x'))).toBe(true);
  });

  it('a symlinked install is resolved to its real directory, as Node does', () => {
    const fx = fixture({
      'package.json': { name: 'root', private: true },
      ...files('store/tool-x', tool('3.0.0')),
      'packages/a/package.json': { name: 'a' },
      'packages/b/package.json': { name: 'b' },
    });
    mkdirSync(fx.path('node_modules'));
    symlinkSync(fx.path('store/tool-x'), fx.path('node_modules/tool-x'), 'dir');
    const reads = new ReadLog();
    for (const p of ['packages/a', 'packages/b']) {
      expect(resolveModule('tool-x', [fx.path(p)], reads, { includeOwn: false })).toMatchObject({ version: '3.0.0', dir: fx.path('store/tool-x') });
    }
  });

  it('a <name>.js file in a nearer node_modules is what Node takes for the main entry', () => {
    const fx = fixture({
      'package.json': { name: 'root', private: true },
      ...files('node_modules/tool-x', tool('1.0.0')),
      'packages/a/package.json': { name: 'a' },
      'packages/b/package.json': { name: 'b' },
      'packages/b/node_modules/tool-x.js': 'module.exports = 2;\n',
    });
    const reads = new ReadLog();
    expect(resolveModule('tool-x', [fx.path('packages/a')], reads, { includeOwn: false })?.main).toBe(fx.path('node_modules/tool-x/index.js'));
    expect(resolveModule('tool-x', [fx.path('packages/b')], reads, { includeOwn: false })?.main).toBe(fx.path('packages/b/node_modules/tool-x.js'));
  });

  it('a package named like the tool, with exports, resolves itself from its own directory', () => {
    const fx = fixture({
      'package.json': { name: 'root', private: true },
      ...files('node_modules/tool-x', tool('1.0.0')),
      'packages/a/package.json': { name: 'a' },
      'packages/fork/package.json': { name: 'tool-x', version: '9.0.0', exports: { '.': './fork.js', './package.json': './package.json' } },
      'packages/fork/fork.js': 'module.exports = 9;\n',
    });
    const reads = new ReadLog();
    expect(resolveModule('tool-x', [fx.path('packages/a')], reads, { includeOwn: false })?.version).toBe('1.0.0');
    expect(resolveModule('tool-x', [fx.path('packages/fork')], reads, { includeOwn: false })).toMatchObject({ version: '9.0.0', dir: fx.path('packages/fork') });
    expect(resolveModule('tool-x', [fx.path('packages/a')], reads, { includeOwn: false })?.version).toBe('1.0.0');
  });
});
