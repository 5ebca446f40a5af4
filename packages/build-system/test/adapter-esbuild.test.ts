import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { esbuildAdapter } from '../src/adapters/esbuild.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { BIN_BANNER, BIN_BUILD, BIN_STDOUT, BROKEN_FILES, expectBrokenLineError, expectLibraryBundles, expectRunsAsBin, expectSingleShebang, libraryFiles, listFiles, repoVersion, runAdapter, runNode, SHEBANG, trackedFixtures, type AdapterRun } from './helpers/adapter-ctx.js';
import { ReadLog } from '../src/util/read-log.js';
import { build as buildApi } from '../src/index.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema } from '../src/config/schema.js';

const newFixture = trackedFixtures();

/** libraryFiles (see there) as the package fx-esbuild. */
function libraryFixture(): Fixture {
  return newFixture(libraryFiles('fx-esbuild'));
}

function build(fx: Fixture, input: BuildConfigInput, signal?: AbortSignal): Promise<AdapterRun> {
  return runAdapter(esbuildAdapter, fx.root, input, signal);
}

describe('esbuild adapter', () => {
  it('finds esbuild and reports its version and location', async () => {
    const fx = libraryFixture();
    const tool = await esbuildAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool).toEqual({ available: true, version: repoVersion('esbuild'), location: expect.any(String) });
    if (tool.available) expect(existsSync(path.join(tool.location, 'package.json'))).toBe(true);
  });

  it('builds ESM and CJS that Node runs, with the dependency left external and types erased', async () => {
    const fx = libraryFixture();
    // One source under two names, each a whole bundle (what expectLibraryBundles reads): splitting off, or the ESM
    // side would share it as a chunk (test/splitting.test.ts).
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts', 'nested/deep/index': 'src/index.ts' }, format: ['esm', 'cjs'], splitting: false });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    // type: module → ESM keeps .js and CJS gets .cjs.
    const expected = ['index.cjs', 'index.js', 'nested/deep/index.cjs', 'nested/deep/index.js'];
    expect(out.files.map((f) => path.relative(outDir, f).split(path.sep).join('/')).sort()).toEqual(expected);
    expect(listFiles(outDir)).toEqual(expected);
    for (const file of out.files) expect(path.isAbsolute(file)).toBe(true);
    const esm = expectLibraryBundles(outDir, out.files);
    // types.ts holds only types: it must not even be part of the bundle.
    expect(esm).not.toContain('src/types.ts');
  });

  it('ESM for Node that bundles a CommonJS module calling require() runs: require comes from createRequire, only where needed', async () => {
    const fx = newFixture({
      'package.json': { name: 'fx-req', version: '1.0.0', type: 'module', exports: './dist/index.js', devDependencies: { 'cjs-dep': '1.0.0' } },
      // A CommonJS dependency, bundled (a devDependency): esbuild turns its require('node:os') into a stand-in.
      'node_modules/cjs-dep/package.json': { name: 'cjs-dep', version: '1.0.0', main: 'index.js' },
      'node_modules/cjs-dep/index.js': "const os = require('node:os');\nmodule.exports = { eol: os.EOL.length };\n",
      'src/index.ts': "import dep from 'cjs-dep';\nconsole.log('eol', dep.eol);\n",
      'src/plain.ts': "console.log('plain');\n",
    });
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts', plain: 'src/plain.ts' }, format: 'esm', sourcemap: true });
    expect(out.diagnostics).toEqual([]);
    const run = runNode(path.join(outDir, 'index.js'));
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('eol 1');
    expect(readFileSync(path.join(outDir, 'index.js'), 'utf8')).toContain('createRequire');
    // The banner goes on every output of that build, and maps still point at the source.
    expect(runNode(path.join(outDir, 'plain.js')).stdout.trim()).toBe('plain');
    const withoutCjs = await build(newFixture({ 'package.json': { name: 'fx-plain', version: '1.0.0', type: 'module' }, 'src/index.ts': "console.log('plain');\n" }), { entry: 'src/index.ts', format: 'esm' });
    expect(readFileSync(path.join(withoutCjs.outDir, 'index.js'), 'utf8')).not.toContain('createRequire');
  });

  it('shims: import.meta.url in CommonJS, __dirname and __filename in ESM, as tsup and tsdown give them; without, both fail under Node', async () => {
    const files = {
      'package.json': { name: 'fx-shims', version: '1.0.0', type: 'module', exports: { import: './dist/index.js', require: './dist/index.cjs' } },
      'src/index.ts': "declare const __dirname: string, __filename: string;\nconst url: string = typeof module === 'object' ? import.meta.url : 'file://' + __filename;\nconsole.log(url.startsWith('file:'), typeof __dirname, __filename.endsWith('index.js') || __filename.endsWith('index.cjs'));\n",
    };
    const shimmed = await build(newFixture(files), { entry: 'src/index.ts', format: ['esm', 'cjs'], shims: true });
    expect(shimmed.out.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    for (const file of ['index.js', 'index.cjs']) {
      const run = runNode(path.join(shimmed.outDir, file));
      expect(run.stderr, file).toBe('');
      expect(run.stdout.trim(), file).toBe('true string true');
    }
    // The CommonJS output reads import.meta.url through the banner's variable.
    expect(readFileSync(path.join(shimmed.outDir, 'index.cjs'), 'utf8')).toContain('__buildSystemImportMetaUrl');
    const plain = await build(newFixture(files), { entry: 'src/index.ts', format: ['esm', 'cjs'] });
    expect(runNode(path.join(plain.outDir, 'index.js')).stderr).toMatch(/__filename is not defined/);
    expect(runNode(path.join(plain.outDir, 'index.cjs')).status).not.toBe(0);
    // Another adapter would drop them: refused, naming the field.
    expect(() => resolveConfig(loadPackageInfo(newFixture(files).root, new ReadLog()), buildConfigSchema.parse({ adapter: 'bun', shims: true }), null)).toThrow(/shims are applied by the esbuild adapter; got adapter 'bun'/);
  });

  it('an inferred entry logs every place it looked: a source created later is seen (a new package whose files arrive after its round)', () => {
    const fx = newFixture({ 'package.json': { name: 'fx-late', version: '1.0.0', type: 'module', exports: './dist/index.js' } });
    const reads = new ReadLog();
    expect(() => resolveConfig(loadPackageInfo(fx.root, reads), buildConfigSchema.parse({ adapter: 'esbuild' }), null, reads)).toThrow(/no entry given and none found/);
    expect([...reads.observations().absent]).toContain(fx.path('src/index.ts'));
    fx.write({ 'src/index.ts': 'export const late = 1;\n' });
    const again = new ReadLog();
    expect(resolveConfig(loadPackageInfo(fx.root, again), buildConfigSchema.parse({ adapter: 'esbuild' }), null, again).entries).toEqual({ index: 'src/index.ts' });
    expect([...again.observations().files.keys()]).toContain(fx.path('src/index.ts'));
  });

  it("shims with adapter 'auto' build with esbuild even where bun is installed", async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'fx-shims-auto', version: '1.0.0', type: 'module', exports: './dist/index.js' },
        'build.config.ts': "export default { adapter: 'auto', shims: true };\n",
        'src/index.ts': 'export const here: string = __dirname;\n',
      },
      { linkNodeModules: true },
    );
    try {
      const cacheDir = path.join(fx.root, '.cache-test');
      const [result] = (await buildApi({ cwd: fx.root, cacheDir })).results;
      expect(result!.adapter.name).toBe('esbuild');
      expect(result!.adapter.reason).toContain('(shims)');
      expect(readFileSync(fx.path('dist/index.js'), 'utf8')).toContain('__buildSystemDirnameValue');
    } finally {
      fx.cleanup();
    }
  });

  it('writes external source maps that point Node at the original TypeScript line', async () => {
    const fx = libraryFixture();
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
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts' }, format: 'esm', sourcemap: 'inline' });
    expect(out.ok).toBe(true);
    expect(listFiles(outDir)).toEqual(['index.js']);
    expect(readFileSync(path.join(outDir, 'index.js'), 'utf8')).toMatch(/\/\/# sourceMappingURL=data:application\/json;base64,/);
  });

  it('keeps a bin shebang on the first line, before the banner, and applies define', async () => {
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, BIN_BUILD);
    expect(out.ok).toBe(true);
    for (const name of ['cli.js', 'cli.cjs']) expectRunsAsBin(path.join(outDir, name), BIN_BANNER, BIN_STDOUT);
  });

  it('leaves exactly one shebang when the banner brings its own', async () => {
    const fx = libraryFixture();
    // esbuild 0.28 writes the source hashbang and then the banner's: two `#!` lines, a syntax error.
    const { out, outDir } = await build(fx, { entry: { cli: 'src/cli.ts' }, format: 'esm', banner: `${SHEBANG}\n/* fx banner */`, define: { BUILD_FLAVOUR: '"x"' } });
    expect(out.ok).toBe(true);
    const text = expectSingleShebang(path.join(outDir, 'cli.js'));
    expect(text).toContain('/* fx banner */');
    expect(runNode(path.join(outDir, 'cli.js')).stdout).toBe('cli hello bin x\n');
  });

  it('reports a syntax error with file, 1-based line and character column', async () => {
    const fx = libraryFixture();
    fx.write(BROKEN_FILES);
    const { out, outDir } = await build(fx, { entry: { main: 'src/uses-broken.ts' }, format: ['esm', 'cjs'] });
    expect(expectBrokenLineError(out).message).toMatch(/Unexpected ";"/);
    expect(listFiles(outDir)).toEqual([]);
  });

  it('reports warnings with their esbuild id as code, as diagnostics only (not also log lines)', async () => {
    const fx = libraryFixture();
    const oddLine = 'export const check = (x: unknown) => typeof x == "strng";';
    fx.write({ 'src/odd.ts': `${oddLine}\nconsole.log(check(1));\n` });
    const column = oddLine.indexOf('"strng"') + 1;
    const { out, logs } = await build(fx, { entry: { odd: 'src/odd.ts' }, format: 'esm' });
    expect(out.ok).toBe(true);
    expect(out.diagnostics).toEqual([
      { severity: 'warning', message: expect.stringContaining('typeof'), file: 'src/odd.ts', line: 1, column, code: 'impossible-typeof' },
    ]);
    // The CLI prints diagnostics from the result; a log line too would print each twice.
    expect(logs.filter((l) => l.line.includes('strng'))).toEqual([]);
  });

  it('turns an option esbuild rejects into an error diagnostic', async () => {
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts' }, format: ['esm', 'cjs'], define: { BUILD_FLAVOUR: '1 + 1' } });
    expect(out.ok).toBe(false);
    expect(out.diagnostics).toEqual([{ severity: 'error', message: expect.stringContaining('Invalid define value') }]);
    expect(listFiles(outDir)).toEqual([]);
  });

  it('cancels esbuild when the signal aborts mid-build: nothing is written', async () => {
    const fx = libraryFixture();
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
    const fx = libraryFixture();
    const controller = new AbortController();
    let released = false;
    let release = () => {};
    const slowPlugin = {
      name: 'slow',
      setup(b: { onLoad(o: { filter: RegExp }, cb: () => Promise<{ contents: string }>): void }) {
        b.onLoad({ filter: /greet\.ts$/ }, () => {
          controller.abort();
          // Held until the test lets go, after the build has returned.
          return new Promise((resolve) => {
            release = () => {
              released = true;
              resolve({ contents: 'export const greet = () => ({ text: "" });' });
            };
          });
        });
      },
    };
    const { out } = await build(fx, { entry: { index: 'src/index.ts' }, format: 'esm', adapterOptions: { esbuild: { plugins: [slowPlugin] } } }, controller.signal);
    // The build returned while the plugin still held esbuild: it did not wait for it.
    expect(released).toBe(false);
    release();
    expect(out.ok).toBe(false);
    expect(out.diagnostics[0]?.message).toMatch(/aborted/);
  });

  it('returns at once, building nothing, when the signal is already aborted', async () => {
    const fx = libraryFixture();
    const controller = new AbortController();
    controller.abort();
    const { out, outDir } = await build(fx, { entry: { index: 'src/index.ts' }, format: 'esm' }, controller.signal);
    expect(out.ok).toBe(false);
    expect(listFiles(outDir)).toEqual([]);
  });
});
