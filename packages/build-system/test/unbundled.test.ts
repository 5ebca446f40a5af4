import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesBelow, packagesWorkspace, repoRoot, type FileTree, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';
import type { BuildResult } from '../src/result/schema.js';

/**
 * `bundle: false`: one output per source module the entries reach, importing each other by the
 * output's name, in both formats — as tsup's bundle: false and tsdown's unbundle publish a
 * component library. Real CLI, real esbuild, real Node loading both formats, real TypeScript
 * checking a nodenext consumer.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, declaration: true, resolveJsonModule: true, rootDir: 'src', types: [] }, include: ['src'] };

const ui = (config: string, { json = true } = {}): FileTree => ({
  'package.json': {
    name: '@ub/ui',
    version: '1.0.0',
    type: 'module',
    exports: {
      '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } },
      './button': { import: { types: './dist/button.d.ts', default: './dist/button.js' }, require: { types: './dist/button.d.cts', default: './dist/button.cjs' } },
    },
  },
  'tsconfig.json': tsconfig,
  'build-system.config.ts': config,
  'src/index.ts': `export { button } from './button.js';\nexport { cx } from './utils/cx.js';\nexport const version: string = '1';\n`,
  // A client component's directive: it must stay the first statement of its own output.
  'src/button.ts': `'use client';\nimport { cx } from './utils/cx.js';\nexport function button(label: string): string {\n  return cx('btn', label);\n}\n`,
  // Reached only through imports (not an entry); its JSON is inlined, not a module of its own.
  // (rollup reads no JSON without @rollup/plugin-json: its variant leaves it out.)
  'src/utils/cx.ts': json
    ? `import meta from './meta.json' with { type: 'json' };\nexport function cx(...parts: string[]): string {\n  return parts.join(' ') + meta.suffix;\n}\n`
    : `export function cx(...parts: string[]): string {\n  return parts.join(' ') + '!';\n}\n`,
  'src/utils/meta.json': `{ "suffix": "!" }\n`,
  // Not imported by any entry: not built.
  'src/unused.ts': `export const unused = 1;\n`,
});

/** A nodenext consumer of @ub/ui: CommonJS (.cts) and ESM (.mts) files importing the package and its subpath. */
const consumer: FileTree = {
  'package.json': { name: '@ub/consumer', version: '1.0.0', private: true, dependencies: { '@ub/ui': '1.0.0' } },
  'tsconfig.json': { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] }, include: ['src'] },
  'src/a.cts': `import { button, cx } from '@ub/ui';\nimport { button as b2 } from '@ub/ui/button';\nexport const a: string = button('a') + cx('b') + b2('c');\n`,
  'src/b.mts': `import { button, cx } from '@ub/ui';\nimport { button as b2 } from '@ub/ui/button';\nexport const b: string = button('a') + cx('b') + b2('c');\n`,
};

/** @ub/ui from `tree` beside the consumer (linked as an install links it), built: the fixture and ui's result. */
function buildWithConsumer(tree: FileTree): { fx: Fixture; result: BuildResult } {
  const fx = packagesWorkspace({ ui: tree, consumer }, fixtures, 'ub-root');
  mkdirSync(fx.path('packages/consumer/node_modules/@ub'), { recursive: true });
  symlinkSync('../../../ui', fx.path('packages/consumer/node_modules/@ub/ui'), 'dir');
  const r = build(fx, '@ub/ui');
  expect(r.code, r.stderr).toBe(0);
  return { fx, result: JSON.parse(r.stdout).results[0] as BuildResult };
}

/** The built @ub/ui works: require() and import() of it and its subpath run, and the consumer type-checks with 0 errors. */
function expectUsable(fx: Fixture): void {
  const pkgDir = fx.path('packages/ui');
  const required = spawnSync(process.execPath, ['-e', `const u = require('@ub/ui'); console.log(u.button('x'), u.cx('y'), require('@ub/ui/button').button('z'))`], { cwd: pkgDir, encoding: 'utf8' });
  expect(`${required.stdout.trim()}${required.stderr}`).toBe('btn x! y! btn z!');
  const imported = spawnSync(process.execPath, ['--input-type=module', '-e', `const u = await import('@ub/ui'); console.log(u.button('x'), u.version)`], { cwd: pkgDir, encoding: 'utf8' });
  expect(`${imported.stdout.trim()}${imported.stderr}`).toBe('btn x! 1');
  const tsc = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: fx.path('packages/consumer'), encoding: 'utf8' });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}

/** The fixture with a bin in package.json (./dist/cli.js): what makes its output executable. */
const withBin = (tree: FileTree): FileTree => ({ ...tree, 'package.json': { ...(tree['package.json'] as Record<string, unknown>), bin: { ui: './dist/cli.js' } } });

/** The CLI's build with a cache of the fixture's own: the repo's node_modules (and its cache) is shared by every test. */
const build = (fx: Fixture, ...args: string[]) => cli(['build', '--json', '--cache-dir', fx.path('.bs-cache'), ...args], { cwd: fx.root });

const files = filesBelow;

describe('bundle: false', () => {
  it("esbuild writes one file per module the entries reach, in both formats, importing each other; 'use client' stays first; Node and a nodenext consumer use both", () => {
    // No adapter: 'auto' would take bun (installed here); bundle: false makes it esbuild.
    const { fx, result } = buildWithConsumer(ui(`export default { entry: ['src/index.ts', 'src/button.ts'], format: ['esm', 'cjs'], bundle: false };\n`));
    expect(result.adapter.name).toBe('esbuild');
    expect(result.adapter.reason).toContain('bundle: false');
    const dist = fx.path('packages/ui/dist');
    expect(files(dist)).toEqual([
      'button.cjs',
      'button.d.cts',
      'button.d.ts',
      'button.js',
      'index.cjs',
      'index.d.cts',
      'index.d.ts',
      'index.js',
      'utils/cx.cjs',
      'utils/cx.d.cts',
      'utils/cx.d.ts',
      'utils/cx.js',
    ]);
    expect(result.artifacts.map((a: { path: string }) => a.path).sort()).toEqual(files(dist).map((f) => `dist/${f}`));
    const read = (f: string) => readFileSync(path.join(dist, f), 'utf8');
    // Each module imports the others' outputs, named for its format; nothing of them is inlined.
    expect(read('index.js')).toMatch(/from "\.\/button\.js"/);
    expect(read('index.js')).toMatch(/from "\.\/utils\/cx\.js"/);
    expect(read('index.js')).not.toContain('function cx');
    expect(read('index.cjs')).toContain('require("./button.cjs")');
    expect(read('index.cjs')).toContain('require("./utils/cx.cjs")');
    expect(read('button.js')).toMatch(/from "\.\/utils\/cx\.js"/);
    expect(read('utils/cx.js')).toContain('suffix: "!"');
    expect(read('button.js').startsWith('"use client";')).toBe(true);
    expect(read('button.cjs').split('\n').slice(0, 2)).toContain('"use client";');
    expect(read('index.d.cts')).toContain(`from './button.cjs'`);

    expectUsable(fx);

    // A module reached only through imports is an input: editing it rebuilds the package, with its new output.
    fx.write({ 'packages/ui/src/utils/cx.ts': `export function cx(...parts: string[]): string {\n  return parts.join('+');\n}\n` });
    const again = build(fx, '@ub/ui');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).results[0].cache.status).toBe('miss');
    expect(read('utils/cx.js')).toContain(`parts.join("+")`);
    expect(read('utils/cx.js')).not.toContain('suffix');
  });

  it("rollup writes the same files (preserveModules), each module's 'use client' back at its top, a bin's shebang and mode kept; Node and a nodenext consumer use both formats", () => {
    const { fx, result } = buildWithConsumer({
      ...withBin(ui(`export default { adapter: 'rollup', entry: { index: 'src/index.ts', button: 'src/button.ts', cli: 'src/bin/cli.ts' }, format: ['esm', 'cjs'], bundle: false };\n`, { json: false })),
      'src/bin/cli.ts': `#!/usr/bin/env node\nimport { cx } from '../utils/cx.js';\nconsole.log(cx('a', 'b'));\n`,
    });
    expect(result.adapter.name).toBe('rollup');
    // No "directive ignored" warning: the directive is not lost.
    expect(result.diagnostics).toEqual([]);
    const dist = fx.path('packages/ui/dist');
    expect(files(dist).filter((f) => !f.includes('.d.'))).toEqual(['button.cjs', 'button.js', 'cli.cjs', 'cli.js', 'index.cjs', 'index.js', 'utils/cx.cjs', 'utils/cx.js']);
    const read = (f: string) => readFileSync(path.join(dist, f), 'utf8');
    expect(read('index.js')).toMatch(/from '\.\/button\.js'/);
    expect(read('index.js')).not.toContain('function cx');
    expect(read('index.cjs')).toContain(`require('./utils/cx.cjs')`);
    expect(read('button.js').startsWith('"use client";')).toBe(true);
    expect(read('button.cjs').startsWith('"use client";')).toBe(true);
    expect(read('utils/cx.js')).not.toContain('use client');
    expect(read('cli.js').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(path.join(dist, 'cli.js')).mode & 0o111).not.toBe(0);
    expectUsable(fx);
  });

  it('is a setting of the key: the same sources bundled and unbundled are two entries', () => {
    const fx = packagesWorkspace({ ui: ui(`export default { entry: ['src/index.ts'], format: 'esm', dts: false };\n`) }, fixtures, 'ub-root');
    const bundled = build(fx);
    expect(bundled.code, bundled.stderr).toBe(0);
    expect(files(fx.path('packages/ui/dist'))).toEqual(['index.js']);
    fx.write({ 'packages/ui/build-system.config.ts': `export default { entry: ['src/index.ts'], format: 'esm', dts: false, bundle: false };\n` });
    const unbundled = build(fx);
    expect(unbundled.code, unbundled.stderr).toBe(0);
    expect(JSON.parse(unbundled.stdout).results[0].cache.status).toBe('miss');
    expect(files(fx.path('packages/ui/dist'))).toEqual(['button.js', 'index.js', 'utils/cx.js']);
  });

  it('is refused where it cannot be written: bun, entries with options of their own, a module named as an entry', () => {
    const fx = packagesWorkspace({ ui: ui(`export default {};\n`) }, fixtures, 'ub-root');
    const outcome = (config: string) => {
      fx.write({ 'packages/ui/build-system.config.ts': config });
      const r = build(fx);
      const result = JSON.parse(r.stdout).results[0];
      return { code: r.code, error: result.error ? `${result.error.code} ${result.error.field}: ${result.error.message}` : '', diagnostics: result.diagnostics.map((d: { message: string; file?: string }) => `${d.file}: ${d.message}`) };
    };
    const bun = outcome(`export default { adapter: 'bun', bundle: false };\n`);
    expect(bun.code).toBe(2);
    expect(bun.error).toMatch(/^CONFIG_INVALID bundle: .*build-system\.config\.ts: bundle: one file per source module \(bundle: false\) is written by the esbuild and rollup adapters, or by tsc; got adapter 'bun'/);
    expect(outcome(`export default { bundle: false, entry: { index: { source: 'src/index.ts', target: 'node18' } } };\n`).error).toMatch(/^CONFIG_INVALID bundle: .*every module is an output of its own \(bundle: false\), so an entry cannot be built with options of its own/);
    // An entry named like a module the others reach: two files would be written to one name.
    const clash = outcome(`export default { adapter: 'esbuild', dts: false, bundle: false, entry: { index: 'src/index.ts', 'utils/cx': 'src/unused.ts' } };\n`);
    expect(clash.code).toBe(1);
    expect(clash.diagnostics.join('\n')).toContain('build-system.config.ts: bundle: false writes src/utils/cx.ts as utils/cx, a name the entry src/unused.ts already has');
  });
});
