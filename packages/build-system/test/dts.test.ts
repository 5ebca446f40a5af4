import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkDeclarationTool, emitDeclarations } from '../src/adapters/dts.js';
import { rollupAdapter } from '../src/adapters/rollup.js';
import type { AdapterContext } from '../src/adapters/types.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, repoRoot, type FileTree, type Fixture } from './helpers/fixture.js';

const TYPESCRIPTS = [
  { version: '5.9.3', dir: path.join(repoRoot, 'node_modules/typescript') },
  { version: '7.0.2', dir: path.join(repoRoot, 'node_modules/typescript7') },
];

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});

/** A package with rollup (to bundle the JS) and, unless tsDir is undefined, that typescript and @types/node. */
function dtsPackage(tsDir: string | undefined, files: FileTree): Fixture {
  const fx = createFixture(files);
  fixtures.push(fx);
  mkdirSync(fx.path('node_modules/@rollup'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/rollup'), fx.path('node_modules/rollup'), 'dir');
  symlinkSync(path.join(repoRoot, 'node_modules/@rollup/plugin-node-resolve'), fx.path('node_modules/@rollup/plugin-node-resolve'), 'dir');
  if (tsDir) {
    mkdirSync(fx.path('node_modules/@types'), { recursive: true });
    symlinkSync(tsDir, fx.path('node_modules/typescript'), 'dir');
    symlinkSync(path.join(repoRoot, 'node_modules/@types/node'), fx.path('node_modules/@types/node'), 'dir');
  }
  return fx;
}

/** What the build service does with dts: true and a bundler: bundle, then declarations into the same dir. */
async function bundleWithDeclarations(fx: Fixture, config: BuildConfigInput) {
  const pkg = loadPackageInfo(fx.root);
  const resolved = resolveConfig(pkg, buildConfigSchema.parse({ adapter: 'rollup', dts: true, ...config }), null);
  const tool = await rollupAdapter.check(pkg);
  if (!tool.available) throw new Error(`rollup not available: ${tool.reason}`);
  const outDir = mkdtempSync(fx.path('.build-system-staging-'));
  const lines: string[] = [];
  const ctx: AdapterContext = { pkg, config: resolved, outDir, tool, signal: new AbortController().signal, log: (stream, line) => lines.push(`${stream}: ${line}`) };
  const bundled = await rollupAdapter.build(ctx);
  expect(bundled.diagnostics).toEqual([]);
  const dts = await emitDeclarations(ctx);
  return { bundled, dts, outDir, lines };
}

function runNode(file: string): string {
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

function rel(outDir: string, files: string[]): string[] {
  return files.map((f) => path.relative(outDir, f).split(path.sep).join('/')).sort();
}

const sources: FileTree = {
  'package.json': { name: 'dts-lib', version: '1.0.0', type: 'module', types: './dist/index.d.ts', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } },
  'tsconfig.json': {
    compilerOptions: { module: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: true, outDir: 'dist', noEmit: true, types: ['node'] },
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
    expect(rel(outDir, bundled.files)).toEqual(['index.js']);
    expect(rel(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    expect(readdirSync(outDir).sort()).toEqual(['index.d.ts', 'index.js', 'shapes']);
    expect(readFileSync(path.join(outDir, 'index.d.ts'), 'utf8')).toContain('export declare const total: (shapes: Shape[]) => number;');
    expect(readFileSync(path.join(outDir, 'shapes/area.d.ts'), 'utf8')).toContain('export declare function area(s: Shape): number;');
    expect(runNode(path.join(outDir, 'index.js'))).toBe('9');

    // The declarations are usable: a consumer type-checks against them (and fails on misuse).
    const consumer = mkdtempSync(fx.path('.consumer-'));
    writeFileSync(path.join(consumer, 'ok.ts'), `import { total } from '${path.join(outDir, 'index.js')}';\nconst n: number = total([{ kind: 'circle', r: 1 }]);\nexport { n };\n`);
    writeFileSync(path.join(consumer, 'bad.ts'), `import { total } from '${path.join(outDir, 'index.js')}';\ntotal([{ kind: 'triangle' }]);\n`);
    const tsc = (file: string) =>
      spawnSync(
        process.execPath,
        // TS 7 refuses files on the command line below a tsconfig.json (TS5112) unless told to ignore it.
        [path.join(dir, 'bin/tsc'), ...(version === '7.0.2' ? ['--ignoreConfig'] : []), '--noEmit', '--strict', '--module', 'nodenext', '--skipLibCheck', '--types', 'node', path.join(consumer, file)],
        { cwd: consumer, encoding: 'utf8' },
      );
    expect(tsc('ok.ts').stdout).toBe('');
    expect(tsc('bad.ts').stdout).toContain('TS2322');
  });

  test('without a tsconfig the entries are compiled with explicit options', async () => {
    const withoutTsconfig = Object.fromEntries(Object.entries(sources).filter(([name]) => name !== 'tsconfig.json'));
    const fx = dtsPackage(dir, withoutTsconfig);
    const { dts, outDir } = await bundleWithDeclarations(fx, { entry: 'src/index.ts', format: 'esm' });
    expect(dts.diagnostics).toEqual([]);
    expect(rel(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
  });

  test('a type error fails declaration emit with file and line', async () => {
    const fx = dtsPackage(dir, { ...sources, 'src/shapes/area.ts': "export type Shape = { kind: 'square'; side: number };\nexport function area(s: Shape): number {\n  return s.size;\n}\n" });
    const { dts } = await bundleWithDeclarations(fx, {});
    expect(dts.ok).toBe(false);
    expect(dts.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', file: 'src/shapes/area.ts', line: 3, code: 'TS2339' }));
  });

  test('a syntax error fails declaration emit with file and line', async () => {
    const fx = dtsPackage(dir, sources);
    const pkg = loadPackageInfo(fx.root);
    writeFileSync(fx.path('src/shapes/area.ts'), "export type Shape = { kind: 'square'; side: number };\nexport function area(s: Shape): number {\n  return s.side **;\n}\n");
    const config = resolveConfig(pkg, buildConfigSchema.parse({ adapter: 'rollup', dts: true }), null);
    const tool = await checkDeclarationTool(pkg);
    if (!tool.available) throw new Error(tool.reason);
    const outDir = mkdtempSync(fx.path('.build-system-staging-'));
    const dts = await emitDeclarations({ pkg, config, outDir, tool, signal: new AbortController().signal, log: () => {} });
    expect(dts.ok).toBe(false);
    expect(dts.diagnostics[0]).toMatchObject({ severity: 'error', file: 'src/shapes/area.ts', line: 3 });
  });

  test('composite tsconfig with an up-to-date tsbuildinfo emits declarations into a fresh outDir, twice', async () => {
    const fx = dtsPackage(dir, {
      ...sources,
      'tsconfig.json': { compilerOptions: { module: 'NodeNext', target: 'ES2022', strict: true, skipLibCheck: true, composite: true, outDir: 'dist', rootDir: 'src', types: ['node'] }, include: ['src'] },
    });
    const own = spawnSync(process.execPath, [path.join(dir, 'bin/tsc'), '-p', '.'], { cwd: fx.root, encoding: 'utf8' });
    expect(own.status).toBe(0);
    expect(existsSync(fx.path('tsconfig.tsbuildinfo'))).toBe(true);
    rmSync(fx.path('dist'), { recursive: true });
    for (let i = 0; i < 2; i++) {
      const { dts, outDir } = await bundleWithDeclarations(fx, {});
      expect(dts.diagnostics).toEqual([]);
      expect(rel(outDir, dts.files)).toEqual(['index.d.ts', 'shapes/area.d.ts']);
    }
    expect(existsSync(fx.path('dist'))).toBe(false);
  });
});

test('checkDeclarationTool: no typescript -> unavailable with the install command', async () => {
  const fx = dtsPackage(undefined, sources);
  const pkg = loadPackageInfo(fx.root);
  const tool = await checkDeclarationTool(pkg);
  expect(tool.available).toBe(false);
  if (tool.available) return;
  expect(tool.installHint).toBe('npm install -D typescript');
  // emitDeclarations itself also refuses cleanly instead of throwing.
  const config = resolveConfig(pkg, buildConfigSchema.parse({ adapter: 'rollup', dts: true }), null);
  const dts = await emitDeclarations({
    pkg,
    config,
    outDir: mkdtempSync(fx.path('.build-system-staging-')),
    tool: { available: true, version: '0', location: '' },
    signal: new AbortController().signal,
    log: () => {},
  });
  expect(dts.ok).toBe(false);
  expect(dts.diagnostics[0]!.message).toContain('npm install -D typescript');
});
