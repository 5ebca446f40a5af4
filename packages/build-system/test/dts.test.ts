import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkDeclarationTool, emitDeclarations } from '../src/adapters/dts.js';
import { rollupAdapter } from '../src/adapters/rollup.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { COMPOSITE_TSCONFIG, leaveOwnTsBuildInfo, linkRollup, linkTypeScript, listFiles, nodeStdout, relPaths, runAdapter, SMALL_NODE_TYPES, stagingContext, trackedFixtures, TYPESCRIPTS } from './helpers/adapter-ctx.js';
import type { FileTree, Fixture } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

const newFixture = trackedFixtures();

/**
 * A package with rollup (to bundle the JS) and, unless tsDir is undefined, that typescript and a
 * small @types/node (SMALL_NODE_TYPES: the spawned compilers here, TypeScript 7 and the consumer's
 * and the user's own tsc, would each parse the real one again; nothing here is about Node's types).
 */
function dtsPackage(tsDir: string | undefined, files: FileTree): Fixture {
  const fx = newFixture(files);
  linkRollup(fx);
  if (tsDir) linkTypeScript(fx, tsDir, 'small');
  return fx;
}

/** What the build service does with dts: true and a bundler: bundle, then declarations into the same dir. */
async function bundleWithDeclarations(fx: Fixture, config: BuildConfigInput) {
  const { out: bundled, ctx, outDir } = await runAdapter(rollupAdapter, fx.root, { adapter: 'rollup', dts: true, ...config });
  expect(bundled.diagnostics).toEqual([]);
  const dts = await emitDeclarations(ctx);
  return { bundled, dts, outDir };
}

const sources: FileTree = {
  'package.json': { name: 'dts-lib', version: '1.0.0', type: 'module', types: './dist/index.d.ts', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } },
  'tsconfig.json': {
    compilerOptions: { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, outDir: 'dist', noEmit: true, types: ['node'] },
    include: ['src'],
  },
  'src/index.ts': "import { area, type Shape } from './shapes/area.js';\nexport type { Shape };\nexport const total = (shapes: Shape[]): number => shapes.reduce((n, s) => n + area(s), 0);\nconsole.log(total([{ kind: 'square', side: 3 }]));\n",
  'src/shapes/area.ts': "export type Shape = { kind: 'square'; side: number } | { kind: 'circle'; r: number };\nexport function area(s: Shape): number {\n  return s.kind === 'square' ? s.side ** 2 : Math.PI * s.r ** 2;\n}\n",
};

describe.each(TYPESCRIPTS)('declarations with TypeScript $version after a rollup bundle', ({ version, dir }) => {
  test('src/index.ts -> <outDir>/index.d.ts beside the bundle; only .d.ts from tsc; a type-only tsconfig (noEmit) still emits', async () => {
    const fx = dtsPackage(dir, sources);
    const { bundled, dts, outDir } = await bundleWithDeclarations(fx, {});
    expect(dts.diagnostics).toEqual([]);
    expect(dts.ok).toBe(true);
    expect(relPaths(outDir, bundled.files)).toEqual(['index.js']);
    expect(relPaths(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    expect(readdirSync(outDir).sort()).toEqual(['index.d.ts', 'index.js', 'shapes']);
    expect(readFileSync(path.join(outDir, 'index.d.ts'), 'utf8')).toContain('export declare const total: (shapes: Shape[]) => number;');
    expect(readFileSync(path.join(outDir, 'shapes/area.d.ts'), 'utf8')).toContain('export declare function area(s: Shape): number;');
    expect(nodeStdout(path.join(outDir, 'index.js'))).toBe('9');

    // The declarations are usable: a consumer type-checks against them (and fails on misuse).
    const consumer = mkdtempSync(fx.path('.consumer-'));
    writeFileSync(path.join(consumer, 'ok.ts'), `import { total } from '${path.join(outDir, 'index.js')}';\nconst n: number = total([{ kind: 'circle', r: 1 }]);\nexport { n };\n`);
    writeFileSync(path.join(consumer, 'bad.ts'), `import { total } from '${path.join(outDir, 'index.js')}';\ntotal([{ kind: 'triangle' }]);\n`);
    // One tsc for both files (each diagnostic's first line starts with its file; elaborations are indented):
    // nothing printed but bad.ts's TS2322.
    const tsc = spawnSync(
      process.execPath,
      // TS 7 refuses files on the command line below a tsconfig.json (TS5112) unless told to ignore it.
      [path.join(dir, 'bin/tsc'), ...(version === '7.0.2' ? ['--ignoreConfig'] : []), '--noEmit', '--strict', '--module', 'nodenext', '--lib', 'es2022', '--skipLibCheck', '--types', 'node', '--pretty', 'false', 'ok.ts', 'bad.ts'],
      { cwd: consumer, encoding: 'utf8' },
    );
    const lines = tsc.stdout.split('\n').filter((line) => line !== '');
    expect(lines.filter((line) => !line.startsWith('bad.ts(') && !line.startsWith(' '))).toEqual([]);
    expect(lines.some((line) => line.startsWith('bad.ts(') && line.includes('error TS2322'))).toBe(true);
  });

  test('without a tsconfig the entries are compiled with explicit options', async () => {
    const withoutTsconfig = Object.fromEntries(Object.entries(sources).filter(([name]) => name !== 'tsconfig.json'));
    const fx = dtsPackage(dir, withoutTsconfig);
    const { dts, outDir } = await bundleWithDeclarations(fx, { entry: 'src/index.ts', format: 'esm' });
    expect(dts.diagnostics).toEqual([]);
    expect(relPaths(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
  });

  test('a type error fails declaration emit with file and line', async () => {
    const fx = dtsPackage(dir, { ...sources, 'src/shapes/area.ts': "export type Shape = { kind: 'square'; side: number };\nexport function area(s: Shape): number {\n  return s.size;\n}\n" });
    const { dts } = await bundleWithDeclarations(fx, {});
    expect(dts.ok).toBe(false);
    expect(dts.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', file: 'src/shapes/area.ts', line: 3, code: 'TS2339' }));
  });

  test('a syntax error fails declaration emit with file and line', async () => {
    const fx = dtsPackage(dir, sources);
    const pkg = loadPackageInfo(fx.root, new ReadLog());
    writeFileSync(fx.path('src/shapes/area.ts'), "export type Shape = { kind: 'square'; side: number };\nexport function area(s: Shape): number {\n  return s.side **;\n}\n");
    const tool = await checkDeclarationTool(pkg, new ReadLog());
    if (!tool.available) throw new Error(tool.reason);
    const dts = await emitDeclarations(stagingContext(pkg, { adapter: 'rollup', dts: true }, tool).ctx);
    expect(dts.ok).toBe(false);
    expect(dts.diagnostics[0]).toMatchObject({ severity: 'error', file: 'src/shapes/area.ts', line: 3 });
  });

  test('esm + cjs: .d.ts and .d.cts sets with their own specifiers; no stray files', async () => {
    const fx = dtsPackage(dir, sources);
    const { bundled, dts, outDir } = await bundleWithDeclarations(fx, { format: ['esm', 'cjs'] });
    expect(dts.diagnostics).toEqual([]);
    expect(relPaths(outDir, bundled.files)).toEqual(['index.cjs', 'index.js']);
    expect(relPaths(outDir, dts.files)).toEqual(['index.d.cts', 'index.d.ts', 'shapes/area.d.cts', 'shapes/area.d.ts']);
    expect(listFiles(outDir)).toEqual(['index.cjs', 'index.d.cts', 'index.d.ts', 'index.js', 'shapes/area.d.cts', 'shapes/area.d.ts']);
    expect(readFileSync(path.join(outDir, 'index.d.cts'), 'utf8')).toContain("from './shapes/area.cjs'");
    expect(readFileSync(path.join(outDir, 'index.d.ts'), 'utf8')).toContain("from './shapes/area.js'");
  });

  test('an entry from elsewhere in the workspace: declarations from a wider rootDir, reached through its alias (with and without a tsconfig)', async () => {
    const fx = newFixture({
      'package.json': { name: 'ws', private: true, workspaces: ['packages/*'] },
      'packages/shared/src/index.ts': "export { area, type Shape } from './shapes/area.js';\n",
      'packages/shared/src/shapes/area.ts': sources['src/shapes/area.ts']!,
      'packages/lib/package.json': { name: 'lib', version: '1.0.0', type: 'module' },
      'packages/lib/src/index.ts': 'export const lib = 1;\n',
    });
    linkRollup(fx);
    linkTypeScript(fx, dir);
    const entry = { index: 'src/index.ts', shared: '../shared/src/index.ts' };
    for (const tsconfig of [undefined, sources['tsconfig.json']]) {
      if (tsconfig) fx.write({ 'packages/lib/tsconfig.json': tsconfig });
      const { out: bundled, ctx, outDir } = await runAdapter(rollupAdapter, fx.path('packages/lib'), { adapter: 'rollup', dts: true, entry });
      expect(bundled.ok).toBe(true);
      const dts = await emitDeclarations(ctx);
      expect(dts.diagnostics).toEqual([]);
      expect(relPaths(outDir, dts.files)).toEqual(['index.d.ts', 'lib/src/index.d.ts', 'shared.d.ts', 'shared/src/index.d.ts', 'shared/src/shapes/area.d.ts']);
      // Nothing else is left in the staging dir (the generated tsconfig is gone).
      expect(listFiles(outDir)).toEqual(['index.d.ts', 'index.js', 'lib/src/index.d.ts', 'shared.d.ts', 'shared.js', 'shared/src/index.d.ts', 'shared/src/shapes/area.d.ts']);
      expect(readFileSync(path.join(outDir, 'shared.d.ts'), 'utf8')).toBe("export * from './shared/src/index.js';\n");
      expect(readFileSync(path.join(outDir, 'index.d.ts'), 'utf8')).toBe("export * from './lib/src/index.js';\n");
      if (tsconfig) expect(dts.reads).toContain(fx.path('packages/lib/tsconfig.json'));
    }
  });

  test('composite tsconfig with an up-to-date tsbuildinfo emits declarations into a fresh outDir, twice', async () => {
    const fx = dtsPackage(dir, {
      ...sources,
      'tsconfig.json': COMPOSITE_TSCONFIG,
    });
    leaveOwnTsBuildInfo(fx, dir);
    for (let i = 0; i < 2; i++) {
      const { dts, outDir } = await bundleWithDeclarations(fx, {});
      expect(dts.diagnostics).toEqual([]);
      expect(relPaths(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    }
    expect(existsSync(fx.path('dist'))).toBe(false);
  });
});

test('checkDeclarationTool: no typescript -> unavailable with the install command', async () => {
  const fx = dtsPackage(undefined, sources);
  const pkg = loadPackageInfo(fx.root, new ReadLog());
  const tool = await checkDeclarationTool(pkg, new ReadLog());
  expect(tool.available).toBe(false);
  if (tool.available) return;
  expect(tool.installHint).toBe('npm install -D typescript');
  // emitDeclarations itself also refuses cleanly instead of throwing.
  const dts = await emitDeclarations(stagingContext(pkg, { adapter: 'rollup', dts: true }, { available: true, version: '0', location: '' }).ctx);
  expect(dts.ok).toBe(false);
  expect(dts.diagnostics[0]!.message).toContain('npm install -D typescript');
});

/**
 * honojs/middleware installs `"typescript": "npm:@typescript/typescript6@^6.0.2"`: node_modules/typescript
 * is a TypeScript whose package.json names itself @typescript/typescript6 and whose only bin is
 * bin/tsc6 (no bin/tsc). It is the package's TypeScript all the same; `dts: true` failed with
 * "typescript is not installed". Both ways of running it: in a worker, and spawned (BUILD_SYSTEM_TSC_SPAWN=1).
 */
describe.each([{ spawn: false }, { spawn: true }])('a TypeScript installed through an npm alias whose bin is tsc6 (spawn: $spawn)', ({ spawn }) => {
  test('declarations are emitted with it', async () => {
    const fx = dtsPackage(undefined, sources);
    const real = TYPESCRIPTS[0]!.dir;
    const version = (JSON.parse(readFileSync(path.join(real, 'package.json'), 'utf8')) as { version: string }).version;
    fx.write({
      'node_modules/typescript/package.json': { name: '@typescript/typescript6', version, main: './lib/typescript.js', typings: './lib/typescript.d.ts', bin: { tsc6: './bin/tsc6' } },
      'node_modules/typescript/bin/tsc6': "#!/usr/bin/env node\nrequire('../lib/tsc.js')\n",
      ...SMALL_NODE_TYPES,
    });
    symlinkSync(path.join(real, 'lib'), fx.path('node_modules/typescript/lib'), 'dir');
    expect(existsSync(fx.path('node_modules/typescript/bin/tsc'))).toBe(false);
    const pkg = loadPackageInfo(fx.root, new ReadLog());
    expect(await checkDeclarationTool(pkg, new ReadLog())).toMatchObject({ available: true, version });
    if (spawn) process.env.BUILD_SYSTEM_TSC_SPAWN = '1';
    try {
      const { dts, outDir } = await bundleWithDeclarations(fx, {});
      expect(dts.diagnostics).toEqual([]);
      expect(dts.ok).toBe(true);
      expect(relPaths(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    } finally {
      delete process.env.BUILD_SYSTEM_TSC_SPAWN;
    }
  });
});
