import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bunAdapter } from '../src/adapters/bun.js';
import { esbuildAdapter } from '../src/adapters/esbuild.js';
import { rollupAdapter } from '../src/adapters/rollup.js';
import type { BuilderAdapter } from '../src/adapters/types.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { linkRollup, listFiles, nodeStdout, runAdapter, trackedFixtures } from './helpers/adapter-ctx.js';

/**
 * `splitting` (default true): a module two entries import exists once in an
 * ESM build, as a shared chunk, so its state is the package's, not each
 * subpath's: the registry both entries use sees both registrations. With
 * tsup (ESM) and tsdown this is what users have; a copy per entry breaks
 * singletons, caches and instanceof across subpaths. Real esbuild, bun (its
 * npm package, spawned) and rollup, each run under Node.
 */

const newFixture = trackedFixtures();

const files = {
  'package.json': { name: 'fx-split', version: '1.0.0', type: 'module', exports: { './a': './dist/a.js', './b': './dist/b.js' } },
  'src/registry.ts': 'export const seen: string[] = [];\nexport function register(name: string): number {\n  return seen.push(name);\n}\n',
  'src/a.ts': "import { register } from './registry.js';\nexport const a = register('a');\n",
  'src/b.ts': "import { register, seen } from './registry.js';\nexport const b = register('b');\nexport { seen };\n",
};

const CONFIG: BuildConfigInput = { entry: { a: 'src/a.ts', b: 'src/b.ts' }, format: 'esm' };

/** Imports both entries of the built package in one Node process and prints what the registry saw. */
function seenByBoth(outDir: string, ext = '.js'): string {
  const probe = path.join(outDir, `probe${ext === '.js' ? '.mjs' : ext}`);
  writeFileSync(probe, `await import('./a${ext}');\nconst { seen } = await import('./b${ext}');\nconsole.log(seen.join(','));\n`);
  return nodeStdout(probe);
}

/** The JS files that are no entry's: every adapter names them chunk-<hash><ext>. */
const chunks = (outDir: string) => listFiles(outDir).filter((f) => /\.[cm]?js$/.test(f) && !/^(a|b|probe)\.[cm]?js$/.test(f));

describe.each([
  { adapter: esbuildAdapter as BuilderAdapter, name: 'esbuild' },
  { adapter: bunAdapter as BuilderAdapter, name: 'bun' },
  { adapter: rollupAdapter as BuilderAdapter, name: 'rollup' },
])('splitting with $name', ({ adapter, name }) => {
  it('ESM by default: what both entries import is one shared chunk, and its state is shared', async () => {
    const fx = newFixture(files);
    // rollup is the package's own, as users install it (esbuild and bun are found from build-system's).
    if (name === 'rollup') linkRollup(fx);
    const { out, outDir } = await runAdapter(adapter, fx.root, { ...CONFIG, adapter: name as 'esbuild' });
    expect(out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(out.ok).toBe(true);
    expect(chunks(outDir)).toEqual([expect.stringMatching(/^chunk-[\w-]+\.js$/)]);
    // The chunk is an output like any other: reported, so the cache stores and restores it.
    expect(out.files.map((f) => path.relative(outDir, f))).toEqual(expect.arrayContaining(chunks(outDir)));
    expect(seenByBoth(outDir)).toBe('a,b');
  });

});

// rollup always shares chunks: a copy per entry would take a build per entry.
describe.each([
  { adapter: esbuildAdapter as BuilderAdapter, name: 'esbuild' },
  { adapter: bunAdapter as BuilderAdapter, name: 'bun' },
])('splitting: false with $name', ({ adapter, name }) => {
  it('gives every entry its own copy (and no chunk)', async () => {
    const fx = newFixture(files);
    const { out, outDir } = await runAdapter(adapter, fx.root, { ...CONFIG, adapter: name as 'esbuild', splitting: false });
    expect(out.ok).toBe(true);
    expect(chunks(outDir)).toEqual([]);
    expect(listFiles(outDir)).toEqual(['a.js', 'b.js']);
    expect(seenByBoth(outDir)).toBe('b');
  });
});

it('esbuild names chunks with the format’s extension (.mjs beside .mjs entries)', async () => {
  const fx = newFixture({ ...files, 'package.json': { ...files['package.json'], type: 'commonjs', exports: { './a': { import: './dist/a.mjs', require: './dist/a.js' }, './b': { import: './dist/b.mjs', require: './dist/b.js' } } } });
  const { out, outDir } = await runAdapter(esbuildAdapter, fx.root, { ...CONFIG, format: ['esm', 'cjs'] });
  expect(out.ok).toBe(true);
  expect(chunks(outDir)).toEqual([expect.stringMatching(/\.mjs$/)]);
  expect(seenByBoth(outDir, '.mjs')).toBe('a,b');
});
