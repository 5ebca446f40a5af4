import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { rollupAdapter } from '../src/adapters/rollup.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { BuildSystemError } from '../src/errors.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { linkRollup, nodeStdout, relPaths, repoVersion, runAdapter, trackedFixtures, type AdapterRun } from './helpers/adapter-ctx.js';
import type { FileTree, Fixture } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

const newFixture = trackedFixtures();

/**
 * A package with rollup + node-resolve linked from the repo (unless `noRollup`),
 * a runtime dependency `dep-a` (must stay external) and a devDependency
 * `dev-b` (must be bundled), both real ESM packages in its node_modules.
 */
function rollupPackage(files: FileTree, opts: { noRollup?: boolean } = {}): Fixture {
  const fx = newFixture({
    'node_modules/dep-a/package.json': { name: 'dep-a', version: '1.0.0', type: 'module', exports: { '.': './index.js', './sub': './sub.js' } },
    'node_modules/dep-a/index.js': "export const fromDep = 'dep-a';\n",
    'node_modules/dep-a/sub.js': "export const fromSub = 'dep-a/sub';\n",
    'node_modules/dev-b/package.json': { name: 'dev-b', version: '1.0.0', type: 'module', exports: './index.js' },
    'node_modules/dev-b/index.js': "export const fromDev = 'DEV_B_INLINED';\n",
    ...files,
  });
  if (!opts.noRollup) linkRollup(fx);
  return fx;
}

function build(fx: Fixture, config: BuildConfigInput, signal?: AbortSignal): Promise<AdapterRun> {
  return runAdapter(rollupAdapter, fx.root, config, signal);
}

const libSources: FileTree = {
  'package.json': {
    name: 'rollup-lib',
    version: '1.0.0',
    type: 'module',
    dependencies: { 'dep-a': '1.0.0' },
    devDependencies: { 'dev-b': '1.0.0' },
  },
  'src/index.ts': [
    "import { basename } from 'node:path';",
    "import { fromDep } from 'dep-a';",
    "import { fromSub } from 'dep-a/sub';",
    "import { fromDev } from 'dev-b';",
    "import { shout } from './util/shout.js';",
    "import type { Options } from './types.js';",
    "import { version } from './version';",
    'const opts: Options = { loud: true };',
    "export const message: string = [shout('rollup', opts), fromDep, fromSub, fromDev, basename('/a/b.txt'), version].join(' ');",
    'console.log(message);',
  ].join('\n'),
  'src/util/shout.ts': "import type { Options } from '../types.js';\nexport function shout(s: string, o: Options): string {\n  return o.loud ? s.toUpperCase() : s;\n}\n",
  'src/types.ts': 'export interface Options {\n  loud: boolean;\n}\n',
  'src/version.mts': 'export const version: string = "v1";\n',
};

const EXPECTED = 'ROLLUP dep-a dep-a/sub DEV_B_INLINED b.txt v1';

describe('rollup adapter', () => {
  test('check() reports rollup’s version', async () => {
    const fx = rollupPackage(libSources);
    const tool = await rollupAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool).toMatchObject({ available: true, version: repoVersion('rollup') });
  });

  test('ESM + CJS: one bundle per format, TS imports resolved, externals kept, devDependencies bundled, node runs both', async () => {
    const fx = rollupPackage(libSources);
    const { out, outDir, lines } = await build(fx, { adapter: 'rollup', entry: 'src/index.ts', format: ['esm', 'cjs'], sourcemap: true });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    expect(relPaths(outDir, out.files)).toEqual(['index.cjs', 'index.cjs.map', 'index.js', 'index.js.map']);
    expect(readdirSync(outDir).sort()).toEqual(['index.cjs', 'index.cjs.map', 'index.js', 'index.js.map']);
    expect(lines).toContain('stdout: esm: index.js');

    expect(nodeStdout(path.join(outDir, 'index.js'))).toBe(EXPECTED);
    expect(nodeStdout(path.join(outDir, 'index.cjs'))).toBe(EXPECTED);

    const esm = readFileSync(path.join(outDir, 'index.js'), 'utf8');
    expect(esm).toMatch(/from 'dep-a'/);
    expect(esm).toMatch(/from 'dep-a\/sub'/);
    expect(esm).toMatch(/from 'node:path'/);
    expect(esm).not.toMatch(/dev-b/);
    expect(esm).toContain('DEV_B_INLINED');
    const cjs = readFileSync(path.join(outDir, 'index.cjs'), 'utf8');
    expect(cjs).toMatch(/require\('dep-a'\)/);
    expect(cjs).toContain('exports.message');
    const map = JSON.parse(readFileSync(path.join(outDir, 'index.js.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.map((s) => path.basename(s))).toEqual(expect.arrayContaining(['index.ts', 'shout.ts']));
  });

  test('a bin entry keeps its shebang as the first line, banner after it; other entries get the banner only', async () => {
    const fx = rollupPackage({
      ...libSources,
      'package.json': { name: 'rollup-bin', version: '1.0.0', type: 'module', bin: { rb: './dist/cli.js' }, devDependencies: { 'dev-b': '1' } },
      'src/cli.ts': "#!/usr/bin/env node\nimport { fromDev } from 'dev-b';\nimport { shout } from './util/shout.js';\nconsole.log(shout(fromDev, { loud: false }));\n",
      'src/lib.ts': "export { shout } from './util/shout.js';\n",
    });
    const { out, outDir } = await build(fx, { adapter: 'rollup', entry: ['src/cli.ts', 'src/lib.ts'], banner: '/* (c) test */', format: 'esm' });
    expect(out.diagnostics).toEqual([]);
    const cli = readFileSync(path.join(outDir, 'cli.js'), 'utf8').split('\n');
    expect(cli[0]).toBe('#!/usr/bin/env node');
    expect(cli[1]).toBe('/* (c) test */');
    expect(cli.filter((l) => l.startsWith('#!')).length).toBe(1);
    expect(readFileSync(path.join(outDir, 'lib.js'), 'utf8').split('\n')[0]).toBe('/* (c) test */');
    expect(nodeStdout(path.join(outDir, 'cli.js'))).toBe('DEV_B_INLINED');
  });

  test('minify keeps the shebang and banner first and the output runs', async () => {
    const fx = rollupPackage({
      ...libSources,
      'src/index.ts': `#!/usr/bin/env node\n${libSources['src/index.ts'] as string}\n`,
    });
    const plain = await build(fx, { adapter: 'rollup', entry: 'src/index.ts', format: 'esm', banner: '// keep me' });
    const min = await build(fx, { adapter: 'rollup', entry: 'src/index.ts', format: 'esm', banner: '// keep me', minify: true, sourcemap: true });
    expect(min.out.diagnostics).toEqual([]);
    const code = readFileSync(path.join(min.outDir, 'index.js'), 'utf8');
    expect(code.split('\n').slice(0, 2)).toEqual(['#!/usr/bin/env node', '// keep me']);
    expect(code.length).toBeLessThan(readFileSync(path.join(plain.outDir, 'index.js'), 'utf8').length);
    expect(nodeStdout(path.join(min.outDir, 'index.js'))).toBe(EXPECTED);
    // The two head lines are in the map as unmapped lines, so line 3 maps to the sources.
    const map = JSON.parse(readFileSync(path.join(min.outDir, 'index.js.map'), 'utf8')) as { mappings: string };
    expect(map.mappings.startsWith(';;')).toBe(true);
  });

  test('a syntax error in a TS source fails with a diagnostic naming file, line and column', async () => {
    const fx = rollupPackage({ ...libSources, 'src/util/shout.ts': 'export function shout(s: string): string {\n  return s.toUpperCase(;\n}\n' });
    const { out, outDir } = await build(fx, { adapter: 'rollup', entry: 'src/index.ts', format: 'esm' });
    expect(out.ok).toBe(false);
    expect(out.diagnostics[0]).toMatchObject({ severity: 'error', file: 'src/util/shout.ts', line: 2, column: 24 });
    expect(readdirSync(outDir)).toEqual([]);
  });

  test('an import that does not resolve fails with the importing file named', async () => {
    const fx = rollupPackage({ ...libSources, 'src/util/shout.ts': "export { nothing as shout } from './missing.js';\n" });
    const { out } = await build(fx, { adapter: 'rollup', entry: 'src/index.ts', format: 'esm' });
    expect(out.ok).toBe(false);
    expect(out.diagnostics[0]).toMatchObject({ severity: 'error', code: 'UNRESOLVED_IMPORT', file: 'src/util/shout.ts' });
    expect(out.diagnostics[0]!.message).toContain('./missing.js');
  });

  test('abort during the build stops at the next module; no outputs', async () => {
    const fx = rollupPackage(libSources);
    const ac = new AbortController();
    const abortOnStart = { name: 'abort-on-start', buildStart: () => ac.abort() };
    const { out, outDir } = await build(
      fx,
      { adapter: 'rollup', entry: 'src/index.ts', format: ['esm', 'cjs'], adapterOptions: { rollup: { plugins: [abortOnStart] } } },
      ac.signal,
    );
    expect(out).toEqual({ ok: false, files: [], diagnostics: [], reads: null });
    expect(readdirSync(outDir)).toEqual([]);
  });

  test('adapterOptions.rollup: output merged into every format; fields the config owns are refused', async () => {
    const fx = rollupPackage(libSources);
    const { out, outDir } = await build(fx, {
      adapter: 'rollup',
      entry: 'src/index.ts',
      format: ['esm', 'cjs'],
      adapterOptions: { rollup: { output: { footer: '// footer-from-options' } } },
    });
    expect(out.ok).toBe(true);
    for (const f of ['index.js', 'index.cjs']) expect(readFileSync(path.join(outDir, f), 'utf8').trimEnd().endsWith('// footer-from-options')).toBe(true);

    const err = await build(fx, { adapter: 'rollup', entry: 'src/index.ts', adapterOptions: { rollup: { output: { format: 'iife' } } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildSystemError);
    expect((err as BuildSystemError).field).toBe('adapterOptions.rollup.output.format');
  });

  test('without rollup installed: unavailable with the install command', async () => {
    const fx = rollupPackage(libSources, { noRollup: true });
    const tool = await rollupAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool.available).toBe(false);
    if (tool.available) return;
    expect(tool.reason).toBe('rollup and @rollup/plugin-node-resolve are not installed for rollup-lib');
    expect(tool.installHint).toBe('npm install -D rollup @rollup/plugin-node-resolve');
  });
});
