import { afterAll, describe, expect, it } from 'vitest';
import { runInit } from '../src/init/init.service.js';
import type { InitPackageResult, InitResult } from '../src/init/result-schema.js';
import { packagesWorkspace, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * init on tsup/tsdown configs whose `dts.resolve` inlines packages' types (kubb's tsdown split array: the esm
 * element carries dts). Such declarations can only be reproduced bundled, so init writes
 * `dts: { bundle: true, resolve }`; RegExp patterns have no equivalent and are reported; a plain `dts: true`
 * stays per-source declarations (nothing beyond TypeScript to install).
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: [] }, include: ['src'] };
const dual = (name: string) => ({
  name,
  version: '1.0.0',
  type: 'module',
  exports: { '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } } },
  scripts: { build: name.includes('tsup') ? 'tsup' : 'tsdown' },
  devDependencies: { '@internals/utils': '*' },
});

const workspace = (packages: Record<string, FileTree>): Fixture => packagesWorkspace(packages, fixtures, 'fx-root');

const byName = (result: InitResult, name: string): InitPackageResult => result.packages.find((p) => p.name === name)!;

describe('build-system init: dts.resolve of tsup and tsdown', () => {
  it('maps names onto bundled declarations, reports patterns, keeps plain dts per source', async () => {
    const fx = workspace({
      split: {
        'package.json': dual('@fx/split'),
        'tsdown.config.ts': `export default [\n  { entry: ['src/index.ts'], format: 'esm', dts: { resolve: ['@internals/utils', /^@kubb\\//] } },\n  { entry: ['src/index.ts'], format: 'cjs' },\n];\n`,
        'src/index.ts': 'export const split = 1;\n',
        'tsconfig.json': tsconfig,
      },
      all: {
        'package.json': dual('@fx/tsup-all'),
        'tsup.config.ts': `export default { entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: { resolve: true } };\n`,
        'src/index.ts': 'export const all = 1;\n',
        'tsconfig.json': tsconfig,
      },
      plain: {
        'package.json': dual('@fx/tsup-plain'),
        'tsup.config.ts': `export default { entry: ['src/index.ts'], format: ['esm', 'cjs'], dts: true };\n`,
        'src/index.ts': 'export const plain = 1;\n',
        'tsconfig.json': tsconfig,
      },
    });
    const result = await runInit({ cwd: fx.root, dryRun: true });

    const split = byName(result, '@fx/split');
    expect(split.error ?? null).toBeNull();
    expect(split.config?.dts).toEqual({ bundle: true, resolve: ['@internals/utils'] });
    // One build of both formats (the array merged; format is what package.json gives anyway).
    expect(split.notReproduced.map((n) => n.option)).not.toContain('tsdown.config.ts[1]');
    expect(split.content).toContain("dts: { bundle: true, resolve: ['@internals/utils'] },");
    expect(split.content).toMatch(/needs rollup and rollup-plugin-dts installed/);
    expect(split.notReproduced).toContainEqual(expect.objectContaining({ option: 'dts.resolve', value: '/^@kubb\\//' }));

    expect(byName(result, '@fx/tsup-all').config?.dts).toEqual({ bundle: true, resolve: true });
    const plain = byName(result, '@fx/tsup-plain');
    // true is what package.json's types give anyway, so it may be left out; never an object.
    expect(typeof (plain.config?.dts ?? true)).toBe('boolean');
    expect(plain.notReproduced.filter((n) => n.option.startsWith('dts'))).toEqual([]);
  }, 60_000);
});
