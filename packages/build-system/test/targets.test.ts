import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { esbuildAdapter } from '../src/adapters/esbuild.js';
import { rollupAdapter } from '../src/adapters/rollup.js';
import { tscTarget } from '../src/adapters/tsc-runner.js';
import { normalizedConfig } from '../src/cache/fingerprint.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { linkRollup, runAdapter, trackedFixtures } from './helpers/adapter-ctx.js';

/**
 * `target` as one target or a list that must all hold at once (esbuild's
 * reading; tsdown's and tsup's `target: ['node18', 'es2017']`, as trpc
 * writes it): the bundlers take the list, tsc its lowest language level.
 */
const newFixture = trackedFixtures();
const PACKAGE = {
  'package.json': { name: 'fx-targets', version: '1.0.0', type: 'module', exports: './dist/index.js' },
  // `??` is lowered below es2020, kept from node14/es2020 on.
  'src/index.ts': 'export const pick = (a?: string): string => a ?? "fallback";\n',
};
const resolveFor = (dir: string, input: BuildConfigInput) => resolveConfig(loadPackageInfo(dir, new ReadLog()), buildConfigSchema.parse(input), null);

describe('target lists', () => {
  it('resolve: a list is kept (lower case, no repeats); a list of one is that one, keyed as it was', () => {
    const fx = newFixture(PACKAGE);
    expect(resolveFor(fx.root, { target: ['node18', 'ES2017', 'es2017'] }).target).toEqual(['node18', 'es2017']);
    expect(resolveFor(fx.root, { target: ['node18'] }).target).toBe('node18');
    expect(normalizedConfig(resolveFor(fx.root, { target: ['node18'] })).target).toBe(normalizedConfig(resolveFor(fx.root, { target: 'node18' })).target);
    expect(resolveFor(fx.root, { entry: { index: { source: 'src/index.ts', target: ['chrome100', 'es2019'] } } }).entryOptions.index!.target).toEqual(['chrome100', 'es2019']);
    expect(() => buildConfigSchema.parse({ target: [] })).toThrow(/at least one target/);
    expect(() => buildConfigSchema.parse({ target: ['node18', 'netscape4'] })).toThrow(/must look like node20/);
    // Every engine esbuild knows, with a version (TanStack's browser list).
    expect(buildConfigSchema.parse({ target: ['chrome91', 'firefox90', 'edge91', 'safari15.6', 'ios15', 'opera77', 'deno1', 'hermes0.12'] }).target).toHaveLength(8);
  });

  it('esbuild builds for every target of the list at once', async () => {
    const both = await runAdapter(esbuildAdapter, newFixture(PACKAGE).root, { format: 'esm', target: ['node18', 'es2017'] });
    expect(both.out.diagnostics).toEqual([]);
    expect(readFileSync(path.join(both.outDir, 'index.js'), 'utf8')).not.toContain('??');
    const node = await runAdapter(esbuildAdapter, newFixture(PACKAGE).root, { format: 'esm', target: 'node18' });
    expect(readFileSync(path.join(node.outDir, 'index.js'), 'utf8')).toContain('??');
  });

  it('rollup (its esbuild transform) builds for every target of the list too', async () => {
    const fx = newFixture(PACKAGE);
    linkRollup(fx);
    const both = await runAdapter(rollupAdapter, fx.root, { format: 'esm', target: ['node18', 'es2017'] });
    expect(both.out.diagnostics).toEqual([]);
    expect(readFileSync(path.join(both.outDir, 'index.js'), 'utf8')).not.toContain('??');
  });

  it('tsc gets the lowest language level of the list', () => {
    expect(tscTarget(['node18', 'es2017'])).toBe('es2017');
    expect(tscTarget(['node14', 'es2022'])).toBe('es2020');
    expect(tscTarget(['esnext', 'node18'])).toBe('es2022');
    expect(tscTarget('node20')).toBe('es2022');
  });
});
