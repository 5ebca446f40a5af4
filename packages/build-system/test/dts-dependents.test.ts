import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBuildSystem } from '../src/create.js';
import type { BuildResult } from '../src/result/schema.js';
import { createFixture, repoRoot, snapshotTree, type Fixture } from './helpers/fixture.js';

/**
 * Issue 14, "Declarations: key dependents on what they read". A dependent
 * whose build reads only a workspace dependency's declarations (the tsc
 * adapter; a bundler with `dts: true` that keeps the dependency external)
 * is keyed on those declarations and the dependency's package.json, never on
 * its JS: a function-body edit in the hub that leaves its declarations
 * byte-identical rebuilds the hub alone. A bundler that inlines the hub is
 * keyed on the JS it bundled and rebuilds. Every change that can alter what
 * TypeScript sees of the hub (a declaration, the package.json `types` it
 * resolves through, a declaration file added or removed) is a miss.
 *
 * Real esbuild and TypeScript, in this process through the composition
 * root with the real adapters: the keys are the pipeline's, which the CLI
 * only wraps (its own paths, replay included, are tested in stale-matrix and
 * noop-record), and a spawned CLI per build loaded TypeScript again each time.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const tsconfig = {
  compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [], rootDir: 'src', outDir: 'dist' },
  include: ['src'],
};

const HUB_BODY = (factor: string) => `export function twice(n: number): number {\n  return n * ${factor};\n}\n`;

/** `isolated`: the hub's tsconfig sets isolatedDeclarations, so its declarations come per file from oxc-transform (adapters/isolated-dts.ts). */
function hubWorkspace(isolated: boolean): Fixture {
  const fx = createFixture(
    {
      'package.json': { name: 'dts-root', private: true, workspaces: ['packages/*'] },
      // The hub: esbuild + dts, two entries, so its package.json can point `types` at either.
      'packages/hub/package.json': {
        name: '@d/hub',
        version: '1.0.0',
        type: 'module',
        exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' }, './alt': { types: './dist/alt.d.ts', import: './dist/alt.js' } },
      },
      'packages/hub/build.config.ts': `export default { adapter: 'esbuild', entry: ['src/index.ts', 'src/alt.ts'], format: 'esm', dts: true };\n`,
      'packages/hub/tsconfig.json': isolated ? { ...tsconfig, compilerOptions: { ...tsconfig.compilerOptions, isolatedDeclarations: true } } : tsconfig,
      'packages/hub/src/index.ts': HUB_BODY('2'),
      'packages/hub/src/alt.ts': `export { twice } from './index.js';\nexport const alt: string = 'alt';\n`,
      // Dependents that read the hub's declarations only.
      'packages/via-tsc/package.json': { name: '@d/via-tsc', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } }, dependencies: { '@d/hub': '1.0.0' } },
      'packages/via-tsc/build.config.ts': `export default { adapter: 'tsc' };\n`,
      'packages/via-tsc/tsconfig.json': tsconfig,
      'packages/via-tsc/src/index.ts': `import { twice } from '@d/hub';\nexport const four = twice(2);\n`,
      'packages/via-dts/package.json': { name: '@d/via-dts', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } }, dependencies: { '@d/hub': '1.0.0' } },
      'packages/via-dts/build.config.ts': `export default { adapter: 'esbuild', format: 'esm', dts: true };\n`,
      'packages/via-dts/tsconfig.json': tsconfig,
      'packages/via-dts/src/index.ts': `import { twice } from '@d/hub';\nexport function eight() {\n  return twice(4);\n}\n`,
      // A dependent that bundles the hub (a devDependency: not external), so its output holds the hub's JS.
      'packages/bundles/package.json': { name: '@d/bundles', version: '1.0.0', type: 'module', exports: './dist/index.js', devDependencies: { '@d/hub': '1.0.0' } },
      'packages/bundles/build.config.ts': `export default { adapter: 'esbuild', format: 'esm' };\n`,
      'packages/bundles/src/index.ts': `import { twice } from '@d/hub';\nexport const six = twice(3);\n`,
  });
  fixtures.push(fx);
  // TypeScript, oxc-transform, and the workspace packages linked by name, as an installed workspace has them.
  mkdirSync(fx.path('node_modules/@d'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/typescript'), fx.path('node_modules/typescript'), 'dir');
  symlinkSync(path.join(repoRoot, 'node_modules/oxc-transform'), fx.path('node_modules/oxc-transform'), 'dir');
  for (const key of ['hub', 'via-tsc', 'via-dts', 'bundles']) symlinkSync(`../../packages/${key}`, fx.path(`node_modules/@d/${key}`), 'dir');
  return fx;
}

const system = createBuildSystem();

/** A whole-workspace build, with the cache where the CLI puts it by default (the workspace's node_modules/.cache). */
async function build(fx: Fixture, options: { force?: boolean } = {}): Promise<Record<string, BuildResult>> {
  const run = await system.build({ cwd: fx.root, cacheDir: fx.path('node_modules/.cache/build-system'), ...options });
  if (run.exitCode !== 0) throw new Error(`build exited ${run.exitCode}: ${JSON.stringify(run.results.map((x) => [x.package.name, x.error, x.diagnostics])).slice(-3000)}`);
  return Object.fromEntries(run.results.map((x) => [x.package.name.slice('@d/'.length), x]));
}

const status = (results: Record<string, BuildResult>) => Object.fromEntries(Object.entries(results).map(([k, r]) => [k, r.cache.status]));
/** The inode and mtime of every file in a package's dist: a hit whose outDir already holds it writes nothing. */
const untouched = (fx: Fixture, key: string) =>
  Object.keys(snapshotTree(fx.path(`packages/${key}/dist`)))
    .sort()
    .map((rel) => {
      const st = statSync(fx.path(`packages/${key}/dist`, rel));
      return `${rel}:${st.ino}:${st.mtimeMs}`;
    });

describe.each([
  { hub: 'TypeScript', isolated: false },
  { hub: 'isolatedDeclarations (per file)', isolated: true },
])('dependents keyed on the declarations they read (hub declarations by $hub)', ({ isolated }) => {
  it('a body edit rebuilds the hub and its bundler, not its tsc/dts dependents; a declaration change rebuilds them all', { timeout: 300_000 }, async () => {
    const fx = hubWorkspace(isolated);
    expect(status(await build(fx))).toEqual({ hub: 'miss', 'via-tsc': 'miss', 'via-dts': 'miss', bundles: 'miss' });
    const hubDts = snapshotTree(fx.path('packages/hub/dist'));
    const before = { 'via-tsc': untouched(fx, 'via-tsc'), 'via-dts': untouched(fx, 'via-dts') };

    // 1. Body edit: the hub's JS changes, its declarations come out byte-identical.
    fx.write({ 'packages/hub/src/index.ts': HUB_BODY('(1 + 1)') });
    let r = await build(fx);
    expect(status(r)).toEqual({ hub: 'miss', 'via-tsc': 'hit', 'via-dts': 'hit', bundles: 'miss' });
    const after = snapshotTree(fx.path('packages/hub/dist'));
    expect(after['index.js']).not.toBe(hubDts['index.js']);
    // The hub's two entries share index.ts as a chunk (splitting), renamed by the edit: a listing the readers' keys ignore.
    const chunkNames = (tree: Record<string, string>) => Object.keys(tree).filter((f) => f.startsWith('chunk-'));
    expect(chunkNames(after)).toHaveLength(1);
    expect(chunkNames(after)).not.toEqual(chunkNames(hubDts));
    expect(after['index.d.ts']).toBe(hubDts['index.d.ts']);
    // Which emitter wrote them (oxc quotes specifiers with ", TypeScript with ').
    expect(readFileSync(fx.path('packages/hub/dist/alt.d.ts'), 'utf8').includes('"./index.js"')).toBe(isolated);
    // Hits in place: neither tsc nor the bundler ran for them, and nothing in their dist was written.
    expect(r['via-tsc']!.cache).toMatchObject({ status: 'hit', restored: false });
    expect(r['via-dts']!.cache).toMatchObject({ status: 'hit', restored: false });
    expect(untouched(fx, 'via-tsc')).toEqual(before['via-tsc']);
    expect(untouched(fx, 'via-dts')).toEqual(before['via-dts']);
    // The bundler inlined the hub's JS: it is keyed on what it bundled.
    expect(r.bundles!.cache.reason).toMatch(/@d\/hub/);
    expect(readFileSync(fx.path('packages/bundles/dist/index.js'), 'utf8')).toContain('1 + 1');

    // 2. An exported signature changes: every dependent misses, and the declaration readers emit new types.
    fx.write({ 'packages/hub/src/index.ts': `export function twice(n: number): string {\n  return String(n * 2);\n}\n` });
    r = await build(fx);
    expect(status(r)).toEqual({ hub: 'miss', 'via-tsc': 'miss', 'via-dts': 'miss', bundles: 'miss' });
    expect(r['via-tsc']!.cache.reason).toMatch(/@d\/hub/);
    expect(readFileSync(fx.path('packages/via-tsc/dist/index.d.ts'), 'utf8')).toContain('string');
    expect(readFileSync(fx.path('packages/via-dts/dist/index.d.ts'), 'utf8')).toContain('string');

    // 3. The hub's package.json points `types` elsewhere (same JS, other declarations): the readers miss.
    const manifest = JSON.parse(fx.read('packages/hub/package.json')) as { exports: Record<string, { types: string }> };
    manifest.exports['.']!.types = './dist/alt.d.ts';
    fx.write({ 'packages/hub/package.json': manifest });
    r = await build(fx);
    expect(r['via-tsc']!.cache.status).toBe('miss');
    expect(r['via-dts']!.cache.status).toBe('miss');

    // 4. Declaration files appear in the hub's output (new sources, used in a body only: index.d.ts stays as it
    // was), then one disappears: misses both times. (Removing both would bring back step 3's files exactly,
    // whose entries are rightly hits.)
    const indexDeclaration = fx.read('packages/hub/dist/index.d.ts');
    const usingBoth = `import { added } from './added.js';\nimport { more } from './more.js';\nexport function twice(n: number): string {\n  return String(n * 2 + added - added + more - more);\n}\n`;
    fx.write({ 'packages/hub/src/added.ts': `export const added = 1;\n`, 'packages/hub/src/more.ts': `export const more = 2;\n`, 'packages/hub/src/index.ts': usingBoth });
    r = await build(fx);
    expect(Object.keys(snapshotTree(fx.path('packages/hub/dist')))).toContain('added.d.ts');
    expect(fx.read('packages/hub/dist/index.d.ts')).toBe(indexDeclaration);
    expect(r['via-tsc']!.cache.status).toBe('miss');
    expect(r['via-dts']!.cache.status).toBe('miss');
    rmSync(fx.path('packages/hub/src/added.ts'));
    fx.write({ 'packages/hub/src/index.ts': `import { more } from './more.js';\nexport function twice(n: number): string {\n  return String(n * 2 + more - more);\n}\n` });
    r = await build(fx);
    expect(Object.keys(snapshotTree(fx.path('packages/hub/dist')))).not.toContain('added.d.ts');
    expect(r['via-tsc']!.cache.status).toBe('miss');
    expect(r['via-dts']!.cache.status).toBe('miss');

    // After all of it, every output equals what a --force build makes of the same files.
    const outputs = () => Object.fromEntries(['hub', 'via-tsc', 'via-dts', 'bundles'].map((k) => [k, snapshotTree(fx.path(`packages/${k}/dist`))]));
    const cached = outputs();
    await build(fx, { force: true });
    expect(cached).toEqual(outputs());
  });
});
