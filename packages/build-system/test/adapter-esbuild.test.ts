import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { esbuildAdapter } from '../src/adapters/esbuild.js';
import type { AdapterOutput } from '../src/adapters/types.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, repoRoot, type Fixture } from './helpers/fixture.js';

const SHEBANG = '#!/usr/bin/env node';

/**
 * A package whose sources import each other, a node builtin, an external
 * dependency (a CommonJS package in its own node_modules, so the output must
 * leave it to Node) and types that exist only at compile time.
 */
function libraryFixture(): Fixture {
  return createFixture({
    'package.json': { name: 'fx-esbuild', version: '1.0.0', type: 'module', dependencies: { 'ext-dep': '1.0.0' } },
    'src/types.ts': 'export interface Options {\n  name: string;\n}\n',
    'src/greet.ts': [
      "import type { Options } from './types';",
      '',
      'export interface Greeting {',
      '  text: string;',
      '}',
      '',
      "export function greet(name: Options['name']): Greeting {",
      '  return { text: `hello ${name}` };',
      '}',
      '',
      'export function fail(): never {',
      "  throw new Error('boom from greet');",
      '}',
      '',
    ].join('\n'),
    'src/index.ts': [
      "import { platform } from 'node:os';",
      "import { extValue } from 'ext-dep';",
      "import { greet, type Greeting } from './greet';",
      "import type { Options } from './types';",
      '',
      "const options: Options = { name: 'world' };",
      'const greeting: Greeting = greet(options.name);',
      'console.log(`${greeting.text} ext=${extValue} os=${platform() === process.platform}`);',
      '',
    ].join('\n'),
    'src/throws.ts': "import { fail } from './greet';\n\nfail();\n",
    'src/cli.ts': `${SHEBANG}\nimport { greet } from './greet';\n\ndeclare const BUILD_FLAVOUR: string;\nconsole.log(\`cli \${greet('bin').text} \${BUILD_FLAVOUR}\`);\n`,
    'node_modules/ext-dep/package.json': { name: 'ext-dep', version: '1.0.0', main: 'index.js' },
    'node_modules/ext-dep/index.js': "exports.extValue = 'ext-' + (40 + 2);\n",
  });
}

interface Run {
  out: AdapterOutput;
  outDir: string;
  logs: string[];
  ms: number;
}

async function build(fx: Fixture, input: BuildConfigInput, signal = new AbortController().signal): Promise<Run> {
  const pkg = loadPackageInfo(fx.root);
  const config = resolveConfig(pkg, buildConfigSchema.parse(input), null);
  const tool = await esbuildAdapter.check(pkg);
  if (!tool.available) throw new Error(`esbuild unavailable: ${tool.reason}`);
  // Staging inside the package, as the build service does, so Node resolves ext-dep from the outputs.
  const outDir = mkdtempSync(path.join(fx.root, '.staging-'));
  const logs: string[] = [];
  const started = performance.now();
  const out = await esbuildAdapter.build({ pkg, config, outDir, tool, signal, log: (_stream, line) => logs.push(line) });
  return { out, outDir, logs, ms: performance.now() - started };
}

function runNode(file: string, args: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...args, file], { encoding: 'utf8', cwd: path.dirname(file) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort();
}

const fixtures: Fixture[] = [];
function track(fx: Fixture): Fixture {
  fixtures.push(fx);
  return fx;
}
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});

describe('esbuild adapter', () => {
  it('finds esbuild and reports its version and location', async () => {
    const fx = track(libraryFixture());
    const tool = await esbuildAdapter.check(loadPackageInfo(fx.root));
    const expected = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/esbuild/package.json'), 'utf8')) as { version: string };
    expect(tool).toEqual({ available: true, version: expected.version, location: expect.any(String) });
    if (tool.available) expect(existsSync(path.join(tool.location, 'package.json'))).toBe(true);
  });

  it('builds ESM and CJS that Node runs, with the dependency left external and types erased', async () => {
    const fx = track(libraryFixture());
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts', 'nested/deep/index': 'src/index.ts' }, format: ['esm', 'cjs'] });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    // type: module → ESM keeps .js and CJS gets .cjs.
    expect(out.files.map((f) => path.relative(outDir, f).split(path.sep).join('/')).sort()).toEqual([
      'index.cjs',
      'index.js',
      'nested/deep/index.cjs',
      'nested/deep/index.js',
    ]);
    expect(listFiles(outDir)).toEqual(['index.cjs', 'index.js', 'nested/deep/index.cjs', 'nested/deep/index.js']);
    for (const file of out.files) {
      expect(path.isAbsolute(file)).toBe(true);
      const r = runNode(file);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hello world ext=ext-42 os=true\n');
    }
    const esm = readFileSync(path.join(outDir, 'index.js'), 'utf8');
    const cjs = readFileSync(path.join(outDir, 'index.cjs'), 'utf8');
    // The dependency is imported at runtime, not bundled; local modules are bundled.
    expect(esm).toMatch(/from "ext-dep"/);
    expect(cjs).toMatch(/require\("ext-dep"\)/);
    expect(esm).not.toContain('40 + 2');
    expect(esm).not.toContain('./greet');
    // types.ts holds only types: it must not even be part of the bundle.
    expect(esm).not.toContain('src/types.ts');
  });

  it('writes external source maps that point Node at the original TypeScript line', async () => {
    const fx = track(libraryFixture());
    const { out, outDir } = await build(fx, { entry: { throws: 'src/throws.ts' }, format: ['esm', 'cjs'], sourcemap: true });
    expect(out.ok).toBe(true);
    const rel = out.files.map((f) => path.relative(outDir, f)).sort();
    expect(rel).toEqual(['throws.cjs', 'throws.cjs.map', 'throws.js', 'throws.js.map']);
    for (const js of ['throws.js', 'throws.cjs']) {
      expect(readFileSync(path.join(outDir, js), 'utf8')).toContain(`//# sourceMappingURL=${js}.map`);
      const r = runNode(path.join(outDir, js), ['--enable-source-maps']);
      expect(r.status).toBe(1);
      // `throw` is on line 12 of src/greet.ts.
      expect(r.stderr).toContain(`${fx.path('src/greet.ts')}:12`);
    }
  });

  it('inlines source maps when asked, writing no .map file', async () => {
    const fx = track(libraryFixture());
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts' }, format: 'esm', sourcemap: 'inline' });
    expect(out.ok).toBe(true);
    expect(listFiles(outDir)).toEqual(['index.js']);
    expect(readFileSync(path.join(outDir, 'index.js'), 'utf8')).toMatch(/\/\/# sourceMappingURL=data:application\/json;base64,/);
  });

  it('keeps a bin shebang on the first line, before the banner, and applies define', async () => {
    const fx = track(libraryFixture());
    const { out, outDir } = await build(fx, {
      entry: { cli: 'src/cli.ts' },
      format: ['esm', 'cjs'],
      banner: '/* fx banner */',
      define: { BUILD_FLAVOUR: '"release"' },
    });
    expect(out.ok).toBe(true);
    for (const name of ['cli.js', 'cli.cjs']) {
      const file = path.join(outDir, name);
      const lines = readFileSync(file, 'utf8').split('\n');
      expect(lines[0]).toBe(SHEBANG);
      expect(lines[1]).toBe('/* fx banner */');
      // Run as an executable, the way a package bin is: the kernel reads the shebang.
      chmodSync(file, 0o755);
      const r = spawnSync(file, { encoding: 'utf8', cwd: outDir });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('cli hello bin release\n');
    }
  });

  it('leaves exactly one shebang when the banner brings its own', async () => {
    const fx = track(libraryFixture());
    // esbuild 0.28 writes the source hashbang and then the banner's: two `#!` lines, a syntax error.
    const { out, outDir } = await build(fx, { entry: { cli: 'src/cli.ts' }, format: 'esm', banner: `${SHEBANG}\n/* fx banner */`, define: { BUILD_FLAVOUR: '"x"' } });
    expect(out.ok).toBe(true);
    const text = readFileSync(path.join(outDir, 'cli.js'), 'utf8');
    expect(text.split('\n')[0]).toBe(SHEBANG);
    expect(text.split('\n').filter((l) => l.startsWith('#!'))).toHaveLength(1);
    expect(text).toContain('/* fx banner */');
    expect(runNode(path.join(outDir, 'cli.js')).stdout).toBe('cli hello bin x\n');
  });

  it('reports a syntax error with file, 1-based line and character column', async () => {
    const fx = track(libraryFixture());
    // Non-ASCII before the error: esbuild counts columns in bytes, diagnostics in characters.
    const badLine = 'export const label = "ééé"; export const broken = (1 + ;';
    fx.write({ 'src/broken.ts': `export const fine = 1;\n${badLine}\n`, 'src/uses-broken.ts': "import { fine } from './broken';\nconsole.log(fine);\n" });
    const { out, outDir } = await build(fx, { entry: { main: 'src/uses-broken.ts' }, format: ['esm', 'cjs'] });
    expect(out.ok).toBe(false);
    const errors = out.diagnostics.filter((d) => d.severity === 'error');
    // Both formats hit the same error: reported once.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'src/broken.ts', line: 2, column: badLine.indexOf(';', badLine.indexOf('(1 +')) + 1 });
    expect(errors[0]!.message).toMatch(/Unexpected ";"/);
    expect(listFiles(outDir)).toEqual([]);
  });

  it('reports warnings with their esbuild id as code and streams them to the log', async () => {
    const fx = track(libraryFixture());
    const oddLine = 'export const check = (x: unknown) => typeof x == "strng";';
    fx.write({ 'src/odd.ts': `${oddLine}\nconsole.log(check(1));\n` });
    const column = oddLine.indexOf('"strng"') + 1;
    const { out, logs } = await build(fx, { entry: { odd: 'src/odd.ts' }, format: 'esm' });
    expect(out.ok).toBe(true);
    expect(out.diagnostics).toEqual([
      { severity: 'warning', message: expect.stringContaining('typeof'), file: 'src/odd.ts', line: 1, column, code: 'impossible-typeof' },
    ]);
    expect(logs.some((l) => l.startsWith(`src/odd.ts:1:${column}: warning:`))).toBe(true);
  });

  it('turns an option esbuild rejects into an error diagnostic', async () => {
    const fx = track(libraryFixture());
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], define: { BUILD_FLAVOUR: '1 + 1' } });
    expect(out.ok).toBe(false);
    expect(out.diagnostics).toEqual([{ severity: 'error', message: expect.stringContaining('Invalid define value') }]);
    expect(listFiles(outDir)).toEqual([]);
  });

  it('cancels esbuild when the signal aborts mid-build: nothing is written', async () => {
    const fx = track(libraryFixture());
    // Enough modules that esbuild is still working when the first one loads.
    const files: Record<string, string> = {};
    const imports: string[] = [];
    for (let i = 0; i < 1500; i++) {
      files[`src/many/m${i}.ts`] = `export const v${i}: number = ${i};\n`;
      imports.push(`import { v${i} } from './many/m${i}';`);
    }
    files['src/big.ts'] = `${imports.join('\n')}\nconsole.log(${Array.from({ length: 1500 }, (_, i) => `v${i}`).join(' + ')});\n`;
    fx.write(files);
    const controller = new AbortController();
    // A plugin is the one hook into the middle of a build: it aborts on the first module load.
    const abortOnFirstLoad = {
      name: 'abort-on-first-load',
      setup(b: { onLoad(o: { filter: RegExp }, cb: () => undefined): void }) {
        b.onLoad({ filter: /m0\.ts$/ }, () => {
          controller.abort();
          return undefined;
        });
      },
    };
    const { out, outDir } = await build(fx, { entry: { big: 'src/big.ts' }, format: 'esm', adapterOptions: { esbuild: { plugins: [abortOnFirstLoad] } } }, controller.signal);
    expect(out.ok).toBe(false);
    expect(out.files).toEqual([]);
    expect(out.diagnostics).toEqual([{ severity: 'error', message: expect.stringMatching(/aborted/) }]);
    // Cancelled before the write phase: the staging dir stays empty, also a
    // while later (a build merely left running would write big.js meanwhile).
    expect(listFiles(outDir)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(listFiles(outDir)).toEqual([]);
  });

  it('ends an aborted build within the grace period even while a plugin still holds esbuild', async () => {
    const fx = track(libraryFixture());
    const controller = new AbortController();
    const holdMs = 8000;
    const slowPlugin = {
      name: 'slow',
      setup(b: { onLoad(o: { filter: RegExp }, cb: () => Promise<{ contents: string }>): void }) {
        b.onLoad({ filter: /greet\.ts$/ }, () => {
          controller.abort();
          return new Promise((resolve) => setTimeout(() => resolve({ contents: 'export const greet = () => ({ text: "" });' }), holdMs));
        });
      },
    };
    const { out, ms } = await build(fx, { entry: { index: 'src/index.ts' }, format: 'esm', adapterOptions: { esbuild: { plugins: [slowPlugin] } } }, controller.signal);
    expect(out.ok).toBe(false);
    expect(out.diagnostics[0]?.message).toMatch(/aborted/);
    expect(ms).toBeLessThan(holdMs - 3000);
  });

  it('returns at once, building nothing, when the signal is already aborted', async () => {
    const fx = track(libraryFixture());
    const controller = new AbortController();
    controller.abort();
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts' }, format: 'esm' }, controller.signal);
    expect(out.ok).toBe(false);
    expect(listFiles(outDir)).toEqual([]);
  });
});
