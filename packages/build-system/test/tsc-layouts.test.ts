import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { emitDeclarations } from '../src/adapters/dts.js';
import { tscAdapter } from '../src/adapters/tsc.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { BuildSystemError } from '../src/errors.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { linkTypeScript, listFiles, nodeStdout, relPaths, runAdapter, stagingContext, TYPESCRIPTS } from './helpers/adapter-ctx.js';
import { createFixture, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * The tsc adapter with real tsconfig layouts (issue 12): config include/exclude,
 * the nearest tsconfig up to the workspace root, no entry, cross-package
 * sources, emit: false. Each runs with TypeScript 5.9 in the worker, 5.9
 * spawned and 7 (always spawned).
 */

// Removed after the file, not after each case: the spawned ways' cases run concurrently.
const fixtures: Fixture[] = [];
afterAll(() => fixtures.splice(0).forEach((fx) => fx.cleanup()));
function newFixture(files: FileTree): Fixture {
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

interface Way {
  name: string;
  dir: string;
  /** BUILD_SYSTEM_TSC_SPAWN=1 for the whole way (set before its first case, removed after its last). */
  spawn: boolean;
  /** TypeScript 7: a native binary, always spawned, whatever BUILD_SYSTEM_TSC_SPAWN says. */
  native?: true;
}

const IN_PROCESS: Way[] = [{ name: 'TypeScript 5.9 in-process', dir: TYPESCRIPTS[0]!.dir, spawn: false }];
// Each case of these waits on its own tsc process, and nothing else in the process changes while
// they run (the env var is the whole way's), so their cases run concurrently (both ways at once).
const CHILD_PROCESS: Way[] = [
  { name: 'TypeScript 5.9 spawned', dir: TYPESCRIPTS[0]!.dir, spawn: true },
  { name: 'TypeScript 7 (native)', dir: TYPESCRIPTS[1]!.dir, spawn: false, native: true },
];

// lib without DOM and a small @types/node (SMALL_NODE_TYPES): a spawned tsc parses every lib file again,
// and this file is about which tsconfig and files tsc is given, not about those declarations.
// types: ['node'] stays: through a generated tsconfig it needs the typeRoots set for the real one.
const compilerOptions = { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, types: ['node'] };

/** A workspace: root package.json with workspaces, the given files, typescript linked at the root. */
function workspace(tsDir: string, files: FileTree): Fixture {
  const fx = newFixture({ 'package.json': { name: 'root', private: true, workspaces: ['packages/*'] }, ...files });
  linkTypeScript(fx, tsDir, 'small');
  return fx;
}

const tmpPaths = (files: readonly string[]) => files.filter((f) => f.startsWith(tmpdir()) && f.includes('build-system-tsconfig-'));

function layoutCases({ dir, spawn, native }: Way): void {
  if (spawn) {
    beforeAll(() => {
      process.env.BUILD_SYSTEM_TSC_SPAWN = '1';
    });
    afterAll(() => {
      delete process.env.BUILD_SYSTEM_TSC_SPAWN;
    });
  }
  /** The path a 5.9 build takes is read from the env at build time: checked for each. */
  const expectWay = () => {
    if (!native) expect(process.env.BUILD_SYSTEM_TSC_SPAWN === '1').toBe(spawn);
  };
  const build = (pkgDir: string, config: BuildConfigInput) => {
    expectWay();
    return runAdapter(tscAdapter, pkgDir, config);
  };
  /** A bundled package's declarations pass alone (dts.ts), in a fresh fixture of `files`. */
  const bundlerDeclarations = async (files: FileTree, config: BuildConfigInput = {}) => {
    const fx = newFixture(files);
    linkTypeScript(fx, dir, 'small');
    expectWay();
    const pkg = loadPackageInfo(fx.root, new ReadLog());
    const { ctx } = stagingContext(pkg, { adapter: 'esbuild', dts: true, ...config }, { available: true, version: '0', location: dir });
    return { fx, ctx, out: await emitDeclarations(ctx) };
  };

  describe('include / exclude', () => {
    // tsconfig.json type-checks tests and fixtures too, as most do.
    const withTests: FileTree = {
      'package.json': { name: 'with-tests', version: '1.0.0', type: 'module', exports: './lib/index.js' },
      'tsconfig.json': { compilerOptions, include: ['src', 'test', 'fixtures'] },
      'src/index.ts': "import { twice } from './twice.js';\nconsole.log(twice(21));\n",
      'src/twice.ts': 'export const twice = (n: number): number => n * 2;\n',
      'src/twice.test.ts': "import { twice } from './twice.js';\nif (twice(1) !== 2) throw new Error('no');\n",
      'test/index.test.ts': "import { twice } from '../src/twice.js';\nexport const t: number = twice(2);\n",
      'fixtures/data.ts': 'export const data = 1;\n',
    };

    test('config exclude replaces the tsconfig’s: tests and fixtures stay out of outDir; the real tsconfig is the read one', async () => {
      const fx = newFixture(withTests);
      linkTypeScript(fx, dir, 'small');
      const { out, outDir } = await build(fx.root, { adapter: 'tsc', outDir: 'lib', exclude: ['test', 'fixtures', 'src/**/*.test.ts'] });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.js', 'twice.js']);
      expect(listFiles(outDir)).toEqual(['index.js', 'twice.js']);
      expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('42');
      // The cache follows the package's own tsconfig; the generated one (random path) is never reported.
      expect(out.reads).toContain(fx.path('tsconfig.json'));
      expect(tmpPaths(out.reads!)).toEqual([]);
      expect(out.reads).not.toContain(fx.path('test/index.test.ts'));
    });

    test('a base tsconfig with ${configDir} (rootDir, include) still means the package’s tsconfig directory', async () => {
      const fx = newFixture({
        ...withTests,
        'base/tsconfig.json': { compilerOptions: { ...compilerOptions, rootDir: '${configDir}/src' }, include: ['${configDir}/src', '${configDir}/test'] },
        'tsconfig.json': { extends: './base/tsconfig.json' },
      });
      linkTypeScript(fx, dir, 'small');
      const { out, outDir } = await build(fx.root, { adapter: 'tsc', outDir: 'lib', exclude: ['**/*.test.ts'] });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.js', 'twice.js']);
      expect(out.reads).toEqual(expect.arrayContaining([fx.path('tsconfig.json')]));
    });

    test('config include replaces the tsconfig’s include (and files)', async () => {
      const fx = newFixture({ ...withTests, 'tsconfig.json': { compilerOptions, files: ['fixtures/data.ts'], include: ['src', 'test'] } });
      linkTypeScript(fx, dir, 'small');
      const { out, outDir } = await build(fx.root, { adapter: 'tsc', outDir: 'lib', include: ['src'], exclude: ['**/*.test.ts'] });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.js', 'twice.js']);
    });

    test('without include/exclude the tsconfig’s test files fail with TS6059 and a hint naming exclude, once per directory', async () => {
      const fx = newFixture({ ...withTests, 'test/more.test.ts': 'export const more = 3;\n' });
      linkTypeScript(fx, dir, 'small');
      const { out } = await build(fx.root, { adapter: 'tsc', outDir: 'lib' });
      expect(out.ok).toBe(false);
      const outside = out.diagnostics.filter((x) => x.code === 'TS6059');
      expect(outside).toHaveLength(3);
      const hints = outside.flatMap((x) => x.message.split('\n').filter((l) => l.startsWith('hint: ')));
      expect(hints.sort()).toEqual([expect.stringMatching(/^hint: files in fixtures\/ are compiled because the tsconfig includes them .*exclude: \['fixtures\/\*\*'\]/), expect.stringMatching(/^hint: files in test\/ are compiled because the tsconfig includes them .*exclude: \['test\/\*\*'\]/)]);
      // tsc emits a file outside rootDir at <outDir>/../<its path>: nothing may land beside the sources.
      expect(existsSync(fx.path('test/index.test.js'))).toBe(false);
      expect(existsSync(fx.path('fixtures/data.js'))).toBe(false);
    });

    test('declarations after a bundler follow the entries: the tsconfig’s tests and fixtures are neither compiled nor written, its ambient declarations are', async () => {
      const { fx, ctx, out } = await bundlerDeclarations({
        ...withTests,
        'tsconfig.json': { compilerOptions: { ...compilerOptions, declarationMap: true }, include: ['src', 'test', 'fixtures'] },
        // A global no source imports: only the tsconfig's include brings it in.
        'src/env.d.ts': 'declare const __VERSION__: string;\n',
        'src/index.ts': "export { twice } from './twice.js';\nexport const version: string = __VERSION__;\n",
        // Type errors in what the entries never reach: compiled, they would fail the build.
        'src/twice.test.ts': "import { twice } from './twice.js';\nexport const wrong: string = twice(1);\n",
        'test/index.test.ts': "import { twice } from '../src/twice.js';\nexport const t: string = twice(2);\n",
      });
      expect(out.diagnostics).toEqual([]);
      expect(out.ok).toBe(true);
      expect(listFiles(ctx.outDir)).toEqual(['index.d.ts', 'index.d.ts.map', 'twice.d.ts', 'twice.d.ts.map']);
      expect(readFileSync(path.join(ctx.outDir, 'index.d.ts'), 'utf8')).toContain('export declare const version: string;');
      expect(out.reads).toEqual(expect.arrayContaining([fx.path('tsconfig.json'), fx.path('src/env.d.ts'), fx.path('src/twice.ts')]));
      expect(out.reads).not.toContain(fx.path('test/index.test.ts'));
      expect(out.reads).not.toContain(fx.path('src/twice.test.ts'));
      for (const f of ['test/index.test.d.ts', 'test/index.test.d.ts.map', 'fixtures/data.d.ts', 'src/twice.test.d.ts']) expect(existsSync(fx.path(f))).toBe(false);
      expect(tmpPaths(out.reads!)).toEqual([]);
    });

    test('declarations after a bundler: tsconfig types that are no @types package (a name in node_modules, a subpath of one, a relative path) still resolve', async () => {
      // honojs cloudflare-access (`"@cloudflare/workers-types"`), kubb (`"bun-types"`, `"../../reset.d.ts"`): found from the
      // real tsconfig's directory (a path in a base tsconfig too: TypeScript reads it from the project's), not the generated one's.
      const { out, ctx } = await bundlerDeclarations({
        ...withTests,
        'base/tsconfig.json': { compilerOptions: { ...compilerOptions, types: ['node', 'workers-env', 'test-env/globals', './env/globals.d.ts'] } },
        'tsconfig.json': { extends: './base/tsconfig.json', include: ['src', 'test'] },
        'node_modules/workers-env/package.json': { name: 'workers-env', version: '1.0.0', types: 'index.d.ts' },
        'node_modules/workers-env/index.d.ts': 'declare const KV_NAMESPACE: string;\n',
        'env/globals.d.ts': 'declare const BUILD_ID: string;\n',
        // A subpath of a package (vitest/globals, kubb): its file, not the package.
        'node_modules/test-env/package.json': { name: 'test-env', version: '1.0.0' },
        'node_modules/test-env/globals.d.ts': 'declare const TEST_GLOBAL: string;\n',
        'src/index.ts': 'export const ids: string[] = [KV_NAMESPACE, BUILD_ID, TEST_GLOBAL];\n',
      });
      expect(out.diagnostics).toEqual([]);
      expect(readFileSync(path.join(ctx.outDir, 'index.d.ts'), 'utf8')).toContain('export declare const ids: string[];');
    });

    test('declarations after a bundler: entries importing a file outside their directory get a wider rootDir, and each entry its declaration beside its JS', async () => {
      // honojs/middleware ssg-plugins-essential: entries in src/plugins, a helper in src/utils.
      const entry = { rss: 'src/plugins/rss.ts', sitemap: 'src/plugins/sitemap.ts' };
      const { fx, ctx, out } = await bundlerDeclarations({
        'package.json': { name: 'plugins', version: '1.0.0', type: 'module', exports: { './rss': './dist/rss.js', './sitemap': './dist/sitemap.js' } },
        'tsconfig.json': { compilerOptions: { ...compilerOptions, declarationMap: true }, include: ['src'] },
        'src/plugins/rss.ts': "import { canonical } from '../utils/canonical.js';\nexport const rss = (url: string): string => canonical(url) + '/rss';\n",
        'src/plugins/sitemap.ts': "import { canonical } from '../utils/canonical.js';\nexport default function sitemap(url: string): string {\n  return canonical(url) + '/sitemap.xml';\n}\n",
        'src/utils/canonical.ts': "export const canonical = (url: string): string => url.replace(/\\/$/, '');\n",
        'src/utils/canonical.test.ts': "import { canonical } from './canonical.js';\nexport const wrong: number = canonical('x');\n",
      }, { entry });
      expect(ctx.config.sourceRoot).toBe('src/plugins');
      expect(out.diagnostics).toEqual([]);
      expect(out.ok).toBe(true);
      expect(listFiles(ctx.outDir)).toEqual(
        expect.arrayContaining(['plugins/rss.d.ts', 'plugins/sitemap.d.ts', 'utils/canonical.d.ts', 'utils/canonical.d.ts.map', 'rss.d.ts', 'sitemap.d.ts']),
      );
      expect(listFiles(ctx.outDir).some((f) => f.includes('.test.'))).toBe(false);
      expect(readFileSync(path.join(ctx.outDir, 'rss.d.ts'), 'utf8')).toContain("export * from './plugins/rss.js';");
      expect(readFileSync(path.join(ctx.outDir, 'sitemap.d.ts'), 'utf8')).toMatch(/export \{ default \} from '\.\/plugins\/sitemap\.js';/);
      // Nothing beside the sources from the failed first run.
      expect(existsSync(fx.path('src/utils/canonical.d.ts'))).toBe(false);
    });
  });

  describe('the nearest tsconfig, up to the workspace root', () => {
    const rootTsconfig = {
      compilerOptions: { ...compilerOptions, removeComments: true, noUnusedLocals: true },
      include: ['packages/*/src', 'packages/*/test'],
    };
    const files: FileTree = {
      'tsconfig.json': rootTsconfig,
      'packages/a/package.json': { name: '@ws/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/a/src/index.ts': '// a comment the root tsconfig removes\nexport const a: string = `a on ${process.platform.length > 0}`;\nconsole.log(a);\n',
      'packages/a/test/a.test.ts': 'export const t = 1;\n',
      'packages/b/package.json': { name: '@ws/b', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/b/src/index.ts': 'export const b = 2;\n',
    };

    test('a package without its own uses the root’s options and compiles only its own files', async () => {
      const fx = workspace(dir, files);
      const { out, outDir } = await build(fx.path('packages/a'), { adapter: 'tsc' });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.js']);
      expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('a on true');
      expect(readFileSync(path.join(outDir, 'index.js'), 'utf8')).not.toContain('a comment');
      // The root tsconfig is the read one; the directory looked through on the way (packages/) is read too.
      // The real tsconfig is reported; the directories the lookup passed over are recorded by the cache as
      // 'no tsconfig.json here' (cache/build-reads.ts 2b), not reported as reads (their listings would rebuild on any new file).
      expect(out.reads).toContain(fx.path('tsconfig.json'));
      expect(out.reads).not.toContain(fx.path('packages'));
      expect(out.reads!.some((f) => f.includes(`${path.sep}b${path.sep}`))).toBe(false);
      expect(tmpPaths(out.reads!)).toEqual([]);
    });

    test('a root tsconfig of options only (files: []) applies to the entries', async () => {
      const fx = workspace(dir, { ...files, 'tsconfig.json': { compilerOptions: { ...compilerOptions, declaration: true }, files: [] } });
      const { out, outDir } = await build(fx.path('packages/a'), { adapter: 'tsc', dts: false });
      expect(out.diagnostics).toEqual([]);
      // declaration comes from the root tsconfig, not from dts.
      expect(relPaths(outDir, out.files)).toEqual(['index.d.ts', 'index.js']);
    });

    test('the root’s options really apply: its noUnusedLocals fails the build', async () => {
      const fx = workspace(dir, { ...files, 'packages/a/src/index.ts': 'const unused = 1;\nexport const a = 1;\n' });
      const { out } = await build(fx.path('packages/a'), { adapter: 'tsc' });
      expect(out.ok).toBe(false);
      expect(out.diagnostics).toEqual([expect.objectContaining({ code: 'TS6133', file: 'src/index.ts', line: 1 })]);
    });

    test('without entries: every file of the package but outDir and node_modules, under the package as rootDir', async () => {
      const { 'packages/a/src/index.ts': _entry, ...rest } = files;
      const fx = workspace(dir, {
        ...rest,
        'packages/a/package.json': { name: '@ws/a', version: '1.0.0', type: 'module' },
        'packages/a/source/main.ts': "import { one } from './one.js';\nconsole.log(one);\n",
        'packages/a/source/one.ts': 'export const one = 1;\n',
        // A previous build's output and an installed dependency are never sources.
        'packages/a/dist/old.ts': 'export const stale: number = "x";\n',
        'packages/a/node_modules/dep/index.ts': 'export const dep: number = "x";\n',
      });
      const { out, outDir } = await build(fx.path('packages/a'), { adapter: 'tsc', format: 'esm' });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['source/main.js', 'source/one.js', 'test/a.test.js']);
    });

    test('the lookup stops at the workspace root: a tsconfig above it is not used', async () => {
      const fx = newFixture({
        // Outside the workspace: would fail every build that used it.
        'tsconfig.json': { compilerOptions: { module: 'bogus' } },
        'ws/package.json': { name: 'root', private: true, workspaces: ['packages/*'] },
        'ws/packages/a/package.json': { name: '@ws/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
        'ws/packages/a/src/index.ts': 'export const a: number = 1;\n',
      });
      linkTypeScript(fx, dir, 'small');
      const { out, outDir } = await build(fx.path('ws/packages/a'), { adapter: 'tsc' });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.js']);
      // Where a tsconfig.json was looked for: a new one there would be used, so their listings are read.
      expect(out.reads).not.toContain(fx.path('ws/packages'));
      expect(out.reads).not.toContain(fx.path('tsconfig.json'));
    });

    test('adapterOptions.tsc.project may name a tsconfig elsewhere in the workspace, not outside it', async () => {
      const fx = workspace(dir, { ...files, 'configs/tsconfig.lib.json': { extends: '../tsconfig.json', compilerOptions: { removeComments: false } } });
      const { out, outDir } = await build(fx.path('packages/a'), { adapter: 'tsc', adapterOptions: { tsc: { project: '../../configs/tsconfig.lib.json' } } });
      expect(out.diagnostics).toEqual([]);
      expect(readFileSync(path.join(outDir, 'index.js'), 'utf8')).toContain('a comment');
      expect(out.reads).toContain(fx.path('configs/tsconfig.lib.json'));
      const err = await build(fx.path('packages/a'), { adapter: 'tsc', adapterOptions: { tsc: { project: '../../../outside.json' } } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BuildSystemError);
      expect((err as BuildSystemError).field).toBe('adapterOptions.tsc.project');
      expect((err as BuildSystemError).message).toContain('inside the workspace root');
    });

    test('declarations after a bundler use the same lookup', async () => {
      const fx = workspace(dir, files);
      expectWay();
      const pkg = loadPackageInfo(fx.path('packages/a'), new ReadLog());
      const { ctx } = stagingContext(pkg, { adapter: 'esbuild', dts: true }, { available: true, version: '0', location: dir });
      const out = await emitDeclarations(ctx);
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(ctx.outDir, out.files)).toEqual(['index.d.ts']);
      expect(readFileSync(path.join(ctx.outDir, 'index.d.ts'), 'utf8')).toContain('export declare const a: string;');
      expect(out.reads).toContain(fx.path('tsconfig.json'));
    });
  });

  test('no entry: sources in lib-src/ build from the tsconfig’s rootDir and include', async () => {
    const fx = newFixture({
      'package.json': { name: 'no-entry', version: '1.0.0', main: './build/main.js' },
      'tsconfig.json': { compilerOptions: { ...compilerOptions, module: 'NodeNext', rootDir: 'lib-src' }, include: ['lib-src'] },
      'lib-src/main.ts': "import { label } from './parts/label';\nconsole.log(label('cjs'));\n",
      'lib-src/parts/label.ts': 'export const label = (s: string): string => `${s} ${typeof require}`;\n',
    });
    linkTypeScript(fx, dir, 'small');
    const { out, outDir, ctx } = await build(fx.root, { adapter: 'tsc', outDir: 'build' });
    expect(ctx.config.entries).toEqual({});
    expect(out.diagnostics).toEqual([]);
    expect(relPaths(outDir, out.files)).toEqual(['main.js', 'parts/label.js']);
    expect(nodeStdout(path.join(outDir, 'main.js'))).toBe('cjs function');
  });

  test('no entry and no tsconfig: a failed build saying what to add', async () => {
    const fx = newFixture({ 'package.json': { name: 'nothing', version: '1.0.0' }, 'lib-src/x.ts': 'export const x = 1;\n' });
    linkTypeScript(fx, dir, 'small');
    const { out } = await build(fx.root, { adapter: 'tsc' });
    expect(out.ok).toBe(false);
    expect(out.diagnostics[0]!.message).toMatch(/^nothing to compile: nothing has no entry and no tsconfig .*set entry in the build config or add a tsconfig\.json$/);
  });

  describe('another package’s source', () => {
    const files: FileTree = {
      'tsconfig.base.json': { compilerOptions: { ...compilerOptions, declaration: true } },
      'packages/b/package.json': { name: '@ws/b', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/b/src/index.ts': 'export const b = (n: number): number => n + 1;\n',
      'packages/a/package.json': { name: '@ws/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    };

    test('by relative path: TS6059 with a hint to import the package by name', async () => {
      const fx = workspace(dir, {
        ...files,
        'packages/a/tsconfig.json': { extends: '../../tsconfig.base.json', include: ['src'] },
        'packages/a/src/index.ts': "import { b } from '../../b/src/index.js';\nexport const a = b(1);\n",
      });
      const { out } = await build(fx.path('packages/a'), { adapter: 'tsc' });
      expect(out.ok).toBe(false);
      const d = out.diagnostics.find((x) => x.code === 'TS6059');
      expect(d?.message.split('\n').at(-1)).toBe(
        "hint: that is another package's source (imported by a relative path or a paths mapping): import that package by its name instead (a dependency, built first), or build with a bundling adapter (esbuild, bun, rollup), which inlines it",
      );
    });

    test('by a paths mapping: the same TS6059 and hint', async () => {
      const fx = workspace(dir, {
        ...files,
        'packages/a/tsconfig.json': { extends: '../../tsconfig.base.json', compilerOptions: { paths: { '@ws/b': ['../b/src/index.ts'] } }, include: ['src'] },
        'packages/a/src/index.ts': "import { b } from '@ws/b';\nexport const a = b(1);\n",
      });
      const { out } = await build(fx.path('packages/a'), { adapter: 'tsc' });
      expect(out.ok).toBe(false);
      expect(out.diagnostics.find((x) => x.code === 'TS6059')?.message).toContain("\nhint: that is another package's source");
    });

    test('declarations after a bundler: a paths mapping into another package’s sources is left out, so the import reaches its built declarations by name', async () => {
      // nx/kubb: the root tsconfig maps every workspace package to its sources, for editors and tests.
      const fx = workspace(dir, {
        ...files,
        'tsconfig.base.json': { compilerOptions: { ...compilerOptions, declaration: true, paths: { '@ws/*': ['./packages/*/src/index.ts'], '#self/*': ['./packages/a/src/*'] } } },
        'packages/b/package.json': { name: '@ws/b', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
        'packages/b/dist/index.d.ts': 'export declare const b: (n: number) => number;\n',
        'packages/a/tsconfig.json': { extends: '../../tsconfig.base.json', include: ['src'] },
        'packages/a/src/helper.ts': 'export const two = 2;\n',
        'packages/a/src/index.ts': "import { b } from '@ws/b';\nimport { two } from '#self/helper.js';\nexport const a: number = b(two);\n",
      });
      // @ws/b installed as the workspace links it.
      mkdirSync(fx.path('node_modules/@ws'), { recursive: true });
      symlinkSync('../../packages/b', fx.path('node_modules/@ws/b'), 'dir');
      expectWay();
      const pkg = loadPackageInfo(fx.path('packages/a'), new ReadLog());
      const { ctx } = stagingContext(pkg, { adapter: 'esbuild', dts: true }, { available: true, version: '0', location: dir });
      const out = await emitDeclarations(ctx);
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(ctx.outDir, out.files)).toEqual(['helper.d.ts', 'index.d.ts']);
      expect(out.reads).toContain(fx.path('packages/b/dist/index.d.ts'));
      expect(out.reads).not.toContain(fx.path('packages/b/src/index.ts'));
      // The tsc adapter keeps the mapping (its JS imports must not change): the TS6059 and its hint, as above.
      const viaTsc = await build(fx.path('packages/a'), { adapter: 'tsc' });
      expect(viaTsc.out.diagnostics.find((x) => x.code === 'TS6059')?.message).toContain("\nhint: that is another package's source");
    });

    test('by a paths mapping to its declarations (what TypeScript allows outside rootDir): builds, keeps the specifier, reads them', async () => {
      const fx = workspace(dir, {
        ...files,
        'packages/b/dist/index.d.ts': 'export declare const b: (n: number) => number;\n',
        'packages/a/tsconfig.json': { extends: '../../tsconfig.base.json', compilerOptions: { paths: { '@ws/b': ['../b/dist/index.d.ts'] } }, include: ['src'] },
        'packages/a/src/index.ts': "import { b } from '@ws/b';\nexport const a: number = b(1);\n",
      });
      const { out, outDir } = await build(fx.path('packages/a'), { adapter: 'tsc', dts: true });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.d.ts', 'index.js']);
      expect(readFileSync(path.join(outDir, 'index.js'), 'utf8')).toContain("from '@ws/b'");
      expect(out.reads).toContain(fx.path('packages/b/dist/index.d.ts'));
    });

    test('through project references: with config exclude (a generated tsconfig) the references still apply', async () => {
      const fx = workspace(dir, {
        ...files,
        'packages/b/tsconfig.json': { extends: '../../tsconfig.base.json', compilerOptions: { composite: true, rootDir: 'src', outDir: 'dist' }, include: ['src'] },
        // b's own build output, which the reference makes tsc read instead of b's sources.
        'packages/b/dist/index.d.ts': 'export declare const b: (n: number) => number;\n',
        'packages/a/tsconfig.json': { extends: '../../tsconfig.base.json', include: ['src'], references: [{ path: '../b' }] },
        'packages/a/src/index.ts': "import { b } from '../../b/src/index.js';\nexport const a: number = b(1);\n",
        'packages/a/src/index.test.ts': 'export const t = 1;\n',
      });
      const { out, outDir } = await build(fx.path('packages/a'), { adapter: 'tsc', exclude: ['src/**/*.test.ts'] });
      expect(out.diagnostics).toEqual([]);
      expect(relPaths(outDir, out.files)).toEqual(['index.d.ts', 'index.js']);
      expect(out.reads).toContain(fx.path('packages/b/dist/index.d.ts'));
    });

    test('a type declaration emit cannot name (TS4023): a hint to annotate the export', async () => {
      const fx = newFixture({
        'package.json': { name: 'names', version: '1.0.0' },
        'tsconfig.json': { compilerOptions: { ...compilerOptions, types: [] }, include: ['src'] },
        'src/index.ts': "import make = require('maker');\nexport const made = make();\n",
        'node_modules/maker/package.json': { name: 'maker', version: '1.0.0', types: './index.d.ts' },
        'node_modules/maker/index.d.ts': 'interface Hidden {\n  a: 1;\n}\ndeclare function make(): Hidden;\nexport = make;\n',
      });
      linkTypeScript(fx, dir, 'small');
      const { out } = await build(fx.root, { adapter: 'tsc', dts: true });
      expect(out.ok).toBe(false);
      const d = out.diagnostics.find((x) => x.code === 'TS4023');
      expect(d).toMatchObject({ file: 'src/index.ts', line: 2 });
      expect(d!.message.split('\n')).toEqual([expect.stringContaining("Exported variable 'made' has or is using name 'Hidden'"), expect.stringMatching(/^hint: give this export an explicit type annotation/)]);
    });
  });

  describe('emit: false', () => {
    const sources: FileTree = {
      'package.json': { name: 'check-only', version: '1.0.0', type: 'module' },
      'tsconfig.json': { compilerOptions: { ...compilerOptions, declaration: true, sourceMap: true }, include: ['src'] },
      'src/index.ts': 'export const n: number = 1;\n',
    };

    test('type-checks with --noEmit: success, no files', async () => {
      const fx = newFixture(sources);
      linkTypeScript(fx, dir, 'small');
      const { out, outDir } = await build(fx.root, { adapter: 'tsc', emit: false });
      expect(out).toMatchObject({ ok: true, files: [], diagnostics: [] });
      expect(listFiles(outDir)).toEqual([]);
      expect(out.reads).toContain(fx.path('src/index.ts'));
    });

    test('a type error fails it, still writing nothing; a composite tsconfig too', async () => {
      const fx = newFixture({
        ...sources,
        'tsconfig.json': { compilerOptions: { ...compilerOptions, composite: true, rootDir: 'src', outDir: 'dist' }, include: ['src'] },
        'src/index.ts': "export const n: number = 'one';\n",
      });
      linkTypeScript(fx, dir, 'small');
      const { out, outDir } = await build(fx.root, { adapter: 'tsc', emit: false });
      expect(out.ok).toBe(false);
      expect(out.diagnostics).toEqual([expect.objectContaining({ code: 'TS2322', file: 'src/index.ts', line: 1 })]);
      expect(listFiles(outDir)).toEqual([]);
      expect(existsSync(fx.path('dist'))).toBe(false);
    });
  });
}

describe.each(IN_PROCESS)('$name', layoutCases);
describe.each(CHILD_PROCESS)('$name', { concurrent: true }, layoutCases);

describe('fields only the tsc adapter reads', () => {
  test.each([
    ['include', { adapter: 'esbuild', include: ['src'] }],
    ['exclude', { adapter: 'auto', exclude: ['test'] }],
    ['emit', { adapter: 'rollup', emit: false }],
  ] as const)('%s with another adapter is a config error on that field', (field, config) => {
    const fx = newFixture({ 'package.json': { name: 'other', version: '1.0.0', type: 'module' }, 'src/index.ts': 'export const x = 1;\n' });
    let err: unknown;
    try {
      resolveConfig(loadPackageInfo(fx.root, new ReadLog()), buildConfigSchema.parse(config), null);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BuildSystemError);
    expect((err as BuildSystemError).code).toBe('CONFIG_INVALID');
    expect((err as BuildSystemError).field).toBe(field);
  });
});
