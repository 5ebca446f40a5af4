import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build, type BuildResult, type RunResult } from '../src/index.js';
import { WorkspaceBuildService } from '../src/services/workspace.service.js';
import { ReadLog } from '../src/util/read-log.js';
import { cliPath, createFixture, snapshotTree, untilClockPasses, type Fixture } from './helpers/fixture.js';

/**
 * The validation step of a build, end to end with the real esbuild: its
 * diagnostics in the result, stored with the cache entry and replayed by a
 * hit without validating again, and --strict / strict: true failing the
 * build (on a miss and on a hit) without swapping anything in.
 */
const fixtures: Fixture[] = [];
const temp: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temp.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
/** A temp dir removed after the file's tests. */
function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temp.push(d);
  return d;
}

/** An esbuild package whose package.json exports one subpath the build never produces and one file that is not there. */
function brokenPackage() {
  const fx = createFixture(
    {
      'package.json': {
        name: 'broken-exports',
        version: '1.0.0',
        type: 'module',
        exports: { '.': './dist/index.js', './extra': './dist/extra.js', './data.json': './data.json' },
        files: ['dist'],
      },
      'build.config.ts': "export default { adapter: 'esbuild', entry: 'src/index.ts' };\n",
      'src/index.ts': 'export const answer = 42;\n',
    },
    { linkNodeModules: true },
  );
  fixtures.push(fx);
  const cacheDir = tempDir('bs-validate-cache-');
  temp.push(cacheDir);
  return { fx, cacheDir };
}

const validation = (r: BuildResult) => r.diagnostics.filter((d) => d.code?.startsWith('PKG_')).map((d) => `${d.severity} ${d.code} ${d.field}`);

function cli(cwd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cliPath, 'build', '--json', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, ...env },
  });
  return { status: r.status, run: JSON.parse(r.stdout) as RunResult, stderr: r.stderr };
}

describe('validation after a build', () => {
  it('reports each problem with code, file and field; a hit replays the stored diagnostics without validating again', async () => {
    const { fx, cacheDir } = brokenPackage();
    const missReads = new ReadLog();
    const miss = (await new WorkspaceBuildService().run({ cwd: fx.root, cacheDir, reads: missReads })).results[0]!;
    expect(miss.status).toBe('success');
    expect(miss.cache.status).toBe('miss');
    expect(validation(miss)).toEqual(['warning PKG_EXPORT_MISSING exports["./extra"]', 'warning PKG_EXPORT_MISSING exports["./data.json"]']);
    const extra = miss.diagnostics.find((d) => d.field === 'exports["./extra"]')!;
    expect(extra).toMatchObject({ file: 'package.json', severity: 'warning' });
    expect(extra.message).toContain('./dist/extra.js is not produced by this build');
    // The target outside outDir was looked up through the run's read log.
    expect(missReads.observations().absent.has(fx.path('data.json'))).toBe(true);

    const hitReads = new ReadLog();
    const hit = (await new WorkspaceBuildService().run({ cwd: fx.root, cacheDir, reads: hitReads })).results[0]!;
    expect(hit.cache.status).toBe('hit');
    expect(validation(hit)).toEqual(validation(miss));
    // No validation on a hit: nothing looked for the missing target.
    expect(hitReads.observations().absent.has(fx.path('data.json'))).toBe(false);
  });

  it('a target outside outDir that appears, and a changed `files`, make the stored diagnostics stale: rebuilt', async () => {
    const { fx, cacheDir } = brokenPackage();
    const first = (await build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(validation(first)).toContain('warning PKG_EXPORT_MISSING exports["./data.json"]');
    fx.write({ 'data.json': '{}' });
    const second = (await build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(second.cache.status).toBe('miss');
    expect(validation(second)).toEqual(['warning PKG_EXPORT_MISSING exports["./extra"]', 'warning PKG_FILES_UNCOVERED exports["./data.json"]']);
    const manifest = JSON.parse(fx.read('package.json'));
    fx.write({ 'package.json': { ...manifest, files: ['dist', 'data.json'] } });
    const third = (await build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(third.cache.status).toBe('miss');
    expect(validation(third)).toEqual(['warning PKG_EXPORT_MISSING exports["./extra"]']);
  });

  it('an ignore file outside the package decided a stored diagnostic: changing it makes the entry stale', async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'ws', private: true, workspaces: ['packages/*'] },
        '.gitignore': 'node_modules/\ndist/\n',
        'packages/p/package.json': { name: 'p', version: '1.0.0', type: 'module', exports: './dist/index.js' },
        'packages/p/build.config.ts': "export default { adapter: 'esbuild' };\n",
        'packages/p/src/index.ts': 'export const answer = 42;\n',
      },
      { linkNodeModules: true },
    );
    fixtures.push(fx);
    const cacheDir = tempDir('bs-validate-cache-');
    temp.push(cacheDir);
    const first = (await build({ cwd: fx.path('packages/p'), cacheDir })).results[0]!;
    expect(first.diagnostics.find((d) => d.code === 'PKG_FILES_UNCOVERED')?.message).toContain('left out by ../../.gitignore');
    // The root .gitignore is no input of the package (dist is its outDir either way): only the validation read it.
    writeFileSync(fx.path('.gitignore'), 'node_modules/\n');
    // A build starting in the file clock's tick of that write counts the file as changed while it ran and stores
    // nothing (cache/build-reads.ts), which made the third build a miss now and then: wait out the tick.
    untilClockPasses(fx.path('.gitignore'), cacheDir);
    const second = (await build({ cwd: fx.path('packages/p'), cacheDir })).results[0]!;
    expect(second.cache.status).toBe('miss');
    expect(validation(second)).toEqual([]);
    const third = (await build({ cwd: fx.path('packages/p'), cacheDir })).results[0]!;
    expect(third.cache.status).toBe('hit');
  });

  it('--strict fails the build naming the first problem and swaps nothing in; on a hit it fails the same way and restores nothing', () => {
    const { fx, cacheDir } = brokenPackage();
    const plain = cli(fx.root, ['--cache-dir', cacheDir]);
    expect(plain.status).toBe(0);
    const before = snapshotTree(fx.path('dist'));

    // A miss under --strict: built, validated, stored, not published.
    fx.write({ 'src/index.ts': 'export const answer = 43;\n' });
    const strictMiss = cli(fx.root, ['--cache-dir', cacheDir, '--strict']);
    expect(strictMiss.status).toBe(1);
    const r = strictMiss.run.results[0]!;
    expect(r.status).toBe('failed');
    expect(r.cache.status).toBe('miss');
    expect(r.error).toMatchObject({ code: 'BUILD_FAILED', file: 'package.json', field: 'exports["./extra"]' });
    expect(r.error!.message).toContain('./dist/extra.js is not produced by this build');
    expect(r.error!.message).toContain('(--strict)');
    expect(validation(r)).toEqual(['error PKG_EXPORT_MISSING exports["./extra"]', 'error PKG_EXPORT_MISSING exports["./data.json"]']);
    expect(snapshotTree(fx.path('dist'))).toEqual(before);

    // Without --strict the stored entry is used: a hit, published, warnings.
    const relaxed = cli(fx.root, ['--cache-dir', cacheDir]);
    expect(relaxed.status).toBe(0);
    expect(relaxed.run.results[0]!.cache.status).toBe('hit');
    expect(readFileSync(fx.path('dist/index.js'), 'utf8')).toContain('43');

    // A hit under --strict whose outputs are not in outDir: fails, and nothing is restored.
    rmSync(fx.path('dist'), { recursive: true });
    const strictHit = cli(fx.root, ['--cache-dir', cacheDir, '--strict']);
    expect(strictHit.status).toBe(1);
    expect(strictHit.run.results[0]!.cache.status).toBe('hit');
    expect(strictHit.run.results[0]!.error).toMatchObject({ code: 'BUILD_FAILED', field: 'exports["./extra"]' });
    expect(existsSync(fx.path('dist'))).toBe(false);
  });

  it('the no-op replay: a recorded run with warnings is not replayed under --strict; a clean one is, with or without it', () => {
    const { fx, cacheDir } = brokenPackage();
    // Every run with the same env: BUILD_SYSTEM_* variables are part of the record's key.
    const debug = { BUILD_SYSTEM_DEBUG_NOOP: '1' };
    const first = cli(fx.root, ['--cache-dir', cacheDir], debug);
    expect(first.status).toBe(0);
    expect(first.stderr).toContain('no-op record: written');
    const replayed = cli(fx.root, ['--cache-dir', cacheDir], debug);
    expect(replayed.stderr, 'replayed').toContain('replayed');
    expect(validation(replayed.run.results[0]!)).toHaveLength(2);
    const strict = cli(fx.root, ['--cache-dir', cacheDir, '--strict'], debug);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toContain('--strict and the recorded run has package.json warnings');

    // Fixed: clean under --strict, and that record serves runs with and without it.
    const manifest = JSON.parse(fx.read('package.json'));
    writeFileSync(fx.path('package.json'), JSON.stringify({ ...manifest, exports: { '.': './dist/index.js' } }));
    const fixed = cli(fx.root, ['--cache-dir', cacheDir, '--strict'], debug);
    expect(fixed.status).toBe(0);
    expect(fixed.stderr).toContain('no-op record: written');
    const again = cli(fx.root, ['--cache-dir', cacheDir, '--strict'], debug);
    expect(again.status).toBe(0);
    expect(again.stderr, 'again').toContain('replayed');
    const without = cli(fx.root, ['--cache-dir', cacheDir], debug);
    expect(without.status).toBe(0);
    expect(without.stderr, 'without').toContain('replayed');
  });

  it('the API: strict: true fails the run; a package without problems is unaffected', async () => {
    const { fx, cacheDir } = brokenPackage();
    const run = await build({ cwd: fx.root, cacheDir, strict: true });
    expect(run.ok).toBe(false);
    expect(run.results[0]!.error).toMatchObject({ code: 'BUILD_FAILED', field: 'exports["./extra"]' });
    expect(existsSync(fx.path('dist'))).toBe(false);
    const manifest = JSON.parse(fx.read('package.json'));
    fx.write({ 'package.json': { ...manifest, exports: { '.': './dist/index.js' } } });
    const clean = await build({ cwd: fx.root, cacheDir, strict: true });
    expect(clean.ok).toBe(true);
    expect(validation(clean.results[0]!)).toEqual([]);
    expect(existsSync(fx.path('dist/index.js'))).toBe(true);
  });
});

describe('validation of a pnpm package whose built files are in publishConfig', () => {
  // honojs/middleware: `exports` names the sources for the workspace, `publishConfig.exports` the built
  // files, which pnpm publishes instead. Validating the development `exports` warned PKG_FILES_UNCOVERED
  // for every package (src is not in `files`), failed every --strict build, and never noticed a
  // publishConfig target the build does not produce.
  const pkg = (name: string, publishExports: Record<string, unknown>) => ({
    [`packages/${name}/package.json`]: {
      name,
      version: '1.0.0',
      type: 'module',
      main: './dist/index.cjs',
      module: './dist/index.mjs',
      exports: { '.': './src/index.ts', './package.json': './package.json' },
      files: ['dist'],
      publishConfig: { access: 'public', exports: { ...publishExports, './package.json': './package.json' } },
    },
    [`packages/${name}/build.config.ts`]: "export default { adapter: 'esbuild' };\n",
    [`packages/${name}/src/index.ts`]: 'export const answer = 42;\n',
  });
  const files = {
    ...pkg('ok', { '.': { import: './dist/index.mjs', require: './dist/index.cjs' } }),
    ...pkg('extra', { '.': { import: './dist/index.mjs', require: './dist/index.cjs' }, './extra': { import: './dist/extra.mjs', require: './dist/extra.cjs' } }),
  };

  it('with pnpm, checks publishConfig.exports (named so) instead of the development exports', async () => {
    const fx = createFixture({ 'package.json': { name: 'ws', private: true }, 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n", ...files }, { linkNodeModules: true });
    fixtures.push(fx);
    const run = await build({ cwd: fx.root, cacheDir: tempDir('bs-validate-cache-') });
    const byName = (n: string) => run.results.find((r) => r.package.name === n)!;
    expect(byName('ok').status).toBe('success');
    expect(validation(byName('ok'))).toEqual([]);
    expect(validation(byName('extra'))).toEqual(['warning PKG_EXPORT_MISSING publishConfig.exports["./extra"].import', 'warning PKG_EXPORT_MISSING publishConfig.exports["./extra"].require']);
  });

  it('a cache hit is not taken across a publishConfig edit or a change of package manager: the warnings it would replay are another manifest\'s', async () => {
    const fx = createFixture({ 'package.json': { name: 'ws', private: true, workspaces: ['packages/*'] }, 'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n", ...pkg('ok', { '.': { import: './dist/index.mjs', require: './dist/index.cjs' } }) }, { linkNodeModules: true });
    fixtures.push(fx);
    const cacheDir = tempDir('bs-validate-cache-');
    const first = (await build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(validation(first)).toEqual([]);
    expect((await build({ cwd: fx.root, cacheDir })).results[0]!.cache.status).toBe('hit');
    // publishConfig.exports now names a file the build does not produce.
    const manifestFile = fx.path('packages/ok/package.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { publishConfig: { exports: Record<string, unknown> } };
    manifest.publishConfig.exports['./extra'] = './dist/extra.mjs';
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    const edited = (await build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(edited.cache.status).toBe('miss');
    expect(validation(edited)).toEqual(['warning PKG_EXPORT_MISSING publishConfig.exports["./extra"]']);
    // Not pnpm any more (npm publishes `exports` as written): the development exports are checked again.
    rmSync(fx.path('pnpm-workspace.yaml'));
    const npm = (await build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(npm.cache.status).toBe('miss');
    expect(validation(npm)).toEqual(['warning PKG_FILES_UNCOVERED exports["."]']);
  });

  it('with pnpm and no build config, the entries, formats and extensions come from publishConfig, not from the development exports', async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'ws', private: true },
        'pnpm-workspace.yaml': "packages:\n  - 'packages/*'\n",
        'packages/bare/package.json': {
          name: 'bare',
          version: '1.0.0',
          type: 'module',
          exports: { '.': './src/index.ts', './utils': './src/utils.ts' },
          files: ['dist'],
          publishConfig: {
            exports: {
              '.': { import: './dist/index.mjs', require: './dist/index.cjs' },
              './utils': { import: './dist/utils.mjs', require: './dist/utils.cjs' },
            },
          },
        },
        'packages/bare/src/index.ts': "export { twice } from './utils';\n",
        'packages/bare/src/utils.ts': 'export const twice = (n: number): number => n * 2;\n',
      },
      { linkNodeModules: true },
    );
    fixtures.push(fx);
    // --all: a package without a config takes part when its package.json names what to build.
    const run = await build({ cwd: fx.root, all: true, cacheDir: tempDir('bs-validate-cache-') });
    const r = run.results[0]!;
    expect(r.status).toBe('success');
    expect(validation(r)).toEqual([]);
    // (and the chunk both ESM entries share)
    expect(r.artifacts.map((a) => a.path).filter((p) => !p.endsWith('.map') && !p.startsWith('dist/chunk-')).sort()).toEqual(['dist/index.cjs', 'dist/index.mjs', 'dist/utils.cjs', 'dist/utils.mjs']);
    // What pnpm publishes works under Node, both ways.
    const dir = fx.path('packages/bare');
    const evalIn = (code: string) => spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8' }).stdout.trim();
    expect(evalIn("import('./dist/utils.mjs').then((m) => console.log(m.twice(2)))")).toBe('4');
    expect(evalIn("console.log(require('./dist/index.cjs').twice(3))")).toBe('6');
  });

  it('with npm, which publishes `exports` as written, the development exports are still what is checked', async () => {
    const fx = createFixture({ 'package.json': { name: 'ws', private: true, workspaces: ['packages/*'] }, ...pkg('ok', { '.': { import: './dist/index.mjs', require: './dist/index.cjs' } }) }, { linkNodeModules: true });
    fixtures.push(fx);
    const run = await build({ cwd: fx.root, cacheDir: tempDir('bs-validate-cache-') });
    expect(validation(run.results[0]!)).toEqual(['warning PKG_FILES_UNCOVERED exports["."]']);
  });
});

describe('declarations that import a package the users do not install', () => {
  // kubb: @kubb/core's declarations import @internals/utils, a private package bundled into the JS as a
  // devDependency; the published types then resolve it to nothing (any, or TS2307 without skipLibCheck).
  it('warns once per such package, at its first import, and not for a peer, a built-in, a comment or a string', async () => {
    const fx = createFixture(
      {
        'package.json': {
          name: 'fx-types',
          version: '1.0.0',
          type: 'module',
          exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
          files: ['dist'],
          peerDependencies: { typescript: '*' },
          devDependencies: { esbuild: '*', typescript: '*' },
        },
        'build.config.ts': "export default { adapter: 'esbuild', dts: true, external: ['esbuild', 'typescript'] };\n",
        'tsconfig.json': { compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, skipLibCheck: true, types: ['node'] } },
        'src/index.ts': [
          "import type { BuildOptions } from 'esbuild';",
          "import type { CompilerOptions } from 'typescript';",
          "import type { Stats } from 'node:fs';",
          "export { helper } from './helper.js';",
          '/**',
          ' * Example:',
          " *   import { options } from 'not-a-dependency';",
          ' */',
          'export function options(): BuildOptions {',
          '  return {};',
          '}',
          'export const compiler = (): CompilerOptions => ({});',
          'export const size = (s: Stats): number => s.size;',
          "export type Kind = 'composes-from' | 'url-token';",
          '',
        ].join('\n'),
        'src/helper.ts': "import type { Plugin } from 'esbuild';\nexport const helper = (p: Plugin): string => p.name;\n",
      },
      { linkNodeModules: true },
    );
    fixtures.push(fx);
    const r = (await build({ cwd: fx.root, cacheDir: tempDir('bs-validate-cache-') })).results[0]!;
    expect(r.status, JSON.stringify(r.diagnostics)).toBe('success');
    const found = r.diagnostics.filter((d) => d.code === 'PKG_TYPES_IMPORT_UNDECLARED');
    expect(found).toHaveLength(1);
    // The first file in path order.
    expect(found[0]).toMatchObject({ severity: 'warning', file: 'dist/helper.d.ts', line: 1, field: 'dependencies' });
    expect(found[0]!.message).toMatch(/^imports types from 'esbuild' \(and 1 more declaration file\), which is only a devDependency: /);
    // As a dependency, it is installed with the package: no warning.
    const manifest = JSON.parse(fx.read('package.json')) as Record<string, Record<string, string>>;
    manifest.dependencies = { esbuild: '*' };
    fx.write({ 'package.json': manifest });
    const fixed = (await build({ cwd: fx.root, cacheDir: tempDir('bs-validate-cache-') })).results[0]!;
    expect(fixed.diagnostics.filter((d) => d.code === 'PKG_TYPES_IMPORT_UNDECLARED')).toEqual([]);
  });
});
