import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bunAdapter, parseBunOutput } from '../src/adapters/bun.js';
import type { AdapterOutput } from '../src/adapters/types.js';
import type { BuildConfigInput } from '../src/config/schema.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { BIN_BANNER, BIN_BUILD, BIN_STDOUT, BROKEN_FILES, expectBrokenLineError, expectLibraryBundles, expectRunsAsBin, expectSingleShebang, LIBRARY_STDOUT, libraryFiles, listFiles, relPaths, repoVersion, runAdapter, runNode, SHEBANG, trackedFixtures, type AdapterRun } from './helpers/adapter-ctx.js';
import { packageRoot, repoBin, repoRoot, type FileTree, type Fixture } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

const repoBun = path.join(repoBin, 'bun');
const repoBunVersion = repoVersion('bun');

const newFixture = trackedFixtures();

/**
 * libraryFiles (see there) as the package fx-bun, plus src/tools/run.ts (an
 * entry in a subdirectory) and `extra`. bun comes from the package's
 * node_modules/.bin, as an installed devDependency would.
 */
function libraryFixture(extra: FileTree = {}, opts: { linkBun?: boolean } = {}): Fixture {
  const fx = newFixture({
    ...libraryFiles('fx-bun'),
    'src/tools/run.ts': "import { greet } from '../greet';\n\nconsole.log(`tool ${greet('run').text}`);\n",
    ...extra,
  });
  if (opts.linkBun !== false) {
    mkdirSync(fx.path('node_modules/.bin'), { recursive: true });
    symlinkSync(repoBun, fx.path('node_modules/.bin/bun'));
  }
  return fx;
}

function build(fx: Fixture, input: BuildConfigInput, signal?: AbortSignal): Promise<AdapterRun> {
  return runAdapter(bunAdapter, fx.root, input, signal);
}

/** Command lines of running processes that mention `needle` (Linux /proc). */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

describe('bun adapter: finding bun', () => {
  it('finds bun in the package node_modules/.bin and reports its version', async () => {
    const fx = libraryFixture();
    const tool = await bunAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool).toEqual({ available: true, version: repoBunVersion, location: fx.path('node_modules/.bin/bun') });
  });

  it('runs `bun --version` once per binary path', async () => {
    const fx = libraryFixture({}, { linkBun: false });
    const counter = fx.path('version-calls.txt');
    fx.write({ 'node_modules/.bin/bun': `#!/bin/sh\necho call >> '${counter}'\necho 9.8.7\n` });
    chmodSync(fx.path('node_modules/.bin/bun'), 0o755);
    const pkg = loadPackageInfo(fx.root, new ReadLog());
    const first = await bunAdapter.check(pkg, new ReadLog());
    const second = await bunAdapter.check(pkg, new ReadLog());
    expect(first).toEqual({ available: true, version: '9.8.7', location: fx.path('node_modules/.bin/bun') });
    expect(second).toEqual(first);
    expect(readFileSync(counter, 'utf8')).toBe('call\n');
  });

  it('says unavailable, with the reason and install hint, when the found bun does not run', async () => {
    const fx = libraryFixture({}, { linkBun: false });
    fx.write({ 'node_modules/.bin/bun': '#!/bin/sh\necho "bun: broken install" >&2\nexit 3\n' });
    chmodSync(fx.path('node_modules/.bin/bun'), 0o755);
    const tool = await bunAdapter.check(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(tool).toEqual({ available: false, reason: expect.stringMatching(/exited with 3: bun: broken install/), installHint: 'npm install -D bun' });
  });

  it('says unavailable with the install command when bun is neither in node_modules/.bin nor on PATH', async () => {
    // Outside the repo (no node_modules/.bin/bun above it) and with PATH stripped of bun.
    const npmFx = libraryFixture({}, { linkBun: false });
    const pnpmFx = libraryFixture({ 'pnpm-lock.yaml': 'lockfileVersion: 9.0\n' }, { linkBun: false });
    expect(npmFx.root.startsWith(repoRoot)).toBe(false);
    const savedPath = process.env.PATH;
    process.env.PATH = (savedPath ?? '')
      .split(path.delimiter)
      .filter((dir) => dir && !existsSync(path.join(dir, 'bun')))
      .join(path.delimiter);
    try {
      const npmTool = await bunAdapter.check(loadPackageInfo(npmFx.root, new ReadLog()), new ReadLog());
      expect(npmTool).toEqual({ available: false, reason: expect.stringMatching(/bun was not found .* on PATH/), installHint: 'npm install -D bun' });
      const pnpmTool = await bunAdapter.check(loadPackageInfo(pnpmFx.root, new ReadLog()), new ReadLog());
      expect(pnpmTool).toMatchObject({ available: false, installHint: 'pnpm add -D bun' });
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('bun adapter: loading', () => {
  it('loads without the esbuild adapter (the helpers they share live in output.ts)', async () => {
    // What importing bun.ts loads: esbuild follows the same static imports (type-only ones are erased).
    const { metafile } = await esbuild.build({
      entryPoints: [path.join(packageRoot, 'src/adapters/bun.ts')],
      absWorkingDir: packageRoot,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const loaded = Object.keys(metafile.inputs);
    expect(loaded).toEqual(expect.arrayContaining(['src/adapters/bun.ts', 'src/adapters/output.ts']));
    expect(loaded).not.toContain('src/adapters/esbuild.ts');
  });
});

describe('bun adapter: building', () => {
  it('builds ESM and CJS that Node runs, with named entries, the dependency external and types erased', async () => {
    const fx = libraryFixture();
    // `index` bun can name from its path; `nested/deep/main` needs a run of its own.
    const { out, outDir, logs } = await build(fx, { entry: { index: 'src/index.ts', 'nested/deep/main': 'src/index.ts' }, format: ['esm', 'cjs'] });
    expect(out.diagnostics).toEqual([]);
    expect(out.ok).toBe(true);
    // type: module → ESM keeps .js and CJS gets .cjs.
    const expected = ['index.cjs', 'index.js', 'nested/deep/main.cjs', 'nested/deep/main.js'];
    expect(relPaths(outDir, out.files)).toEqual(expected);
    expect(listFiles(outDir)).toEqual(expected);
    const esm = expectLibraryBundles(outDir, out.files);
    // types.ts holds only types: it must not even be part of the bundle.
    expect(esm).not.toContain('types.ts');
    // bun's own output is streamed line by line.
    expect(logs.some((l) => l.stream === 'stdout' && /Bundled \d+ modules?/.test(l.line))).toBe(true);
  });

  it('keeps the directory layout of array entries below their common directory', async () => {
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, { entry: ['src/index.ts', 'src/tools/run.ts'], format: 'cjs' });
    expect(out.ok).toBe(true);
    expect(relPaths(outDir, out.files)).toEqual(['index.cjs', 'tools/run.cjs']);
    expect(runNode(path.join(outDir, 'tools/run.cjs')).stdout).toBe('tool hello run\n');
  });

  it('writes linked source maps that point Node at the original TypeScript line, also for nested outputs', async () => {
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, { entry: { throws: 'src/throws.ts', 'deep/er/throws': 'src/throws.ts' }, format: ['esm', 'cjs'], sourcemap: true });
    expect(out.ok).toBe(true);
    expect(relPaths(outDir, out.files)).toEqual([
      'deep/er/throws.cjs',
      'deep/er/throws.cjs.map',
      'deep/er/throws.js',
      'deep/er/throws.js.map',
      'throws.cjs',
      'throws.cjs.map',
      'throws.js',
      'throws.js.map',
    ]);
    for (const js of ['throws.js', 'throws.cjs', 'deep/er/throws.js', 'deep/er/throws.cjs']) {
      expect(readFileSync(path.join(outDir, js), 'utf8')).toContain(`//# sourceMappingURL=${path.basename(js)}.map`);
      const r = runNode(path.join(outDir, js), ['--enable-source-maps']);
      expect(r.status).toBe(1);
      // `throw` is on line 12 of src/greet.ts; bun 1.4.5 alone would send nested maps to a path that does not exist.
      expect(r.stderr).toContain(`${fx.path('src/greet.ts')}:12`);
    }
  });

  it('inlines source maps when asked, writing no .map file', async () => {
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, { entry: { 'deep/throws': 'src/throws.ts' }, format: 'esm', sourcemap: 'inline' });
    expect(out.ok).toBe(true);
    expect(listFiles(outDir)).toEqual(['deep/throws.js']);
    const js = path.join(outDir, 'deep/throws.js');
    expect(readFileSync(js, 'utf8')).toMatch(/\/\/# sourceMappingURL=data:application\/json;base64,/);
    expect(runNode(js, ['--enable-source-maps']).stderr).toContain(`${fx.path('src/greet.ts')}:12`);
  });

  it('keeps a bin shebang on the first line, before the banner, and applies define', async () => {
    const fx = libraryFixture();
    const { out, outDir } = await build(fx, BIN_BUILD);
    expect(out.ok).toBe(true);
    for (const name of ['cli.js', 'cli.cjs']) expectRunsAsBin(path.join(outDir, name), BIN_BANNER, BIN_STDOUT);
  });

  it('leaves exactly one shebang when the banner brings its own', async () => {
    const fx = libraryFixture();
    // bun 1.4.5 writes the source hashbang and then the banner's: two `#!` lines, a syntax error.
    const { out, outDir } = await build(fx, { entry: { cli: 'src/cli.ts' }, format: 'cjs', banner: `${SHEBANG}\n/* fx banner */`, define: { BUILD_FLAVOUR: '"x"' } });
    expect(out.ok).toBe(true);
    expectSingleShebang(path.join(outDir, 'cli.cjs'));
    expect(runNode(path.join(outDir, 'cli.cjs')).stdout).toBe('cli hello bin x\n');
  });

  it('reports a syntax error with file, 1-based line and character column', async () => {
    const fx = libraryFixture();
    fx.write(BROKEN_FILES);
    const { out } = await build(fx, { entry: { main: 'src/uses-broken.ts' }, format: ['esm', 'cjs'] });
    expect(expectBrokenLineError(out).message).toMatch(/Unexpected ;/);
    expect(out.files).toEqual([]);
  });

  it('reports an unresolvable import at the importing line', async () => {
    const fx = libraryFixture({ 'src/missing.ts': "// first\nimport { nothing } from './not-there';\nconsole.log(nothing);\n" });
    const { out } = await build(fx, { entry: { missing: 'src/missing.ts' }, format: 'esm' });
    expect(out.ok).toBe(false);
    expect(out.diagnostics).toEqual([
      { severity: 'error', message: expect.stringContaining('./not-there'), file: 'src/missing.ts', line: 2, column: "import { nothing } from './not-there'".indexOf("'") + 1 },
    ]);
  });

  it('rejects a define value that is neither JSON nor a name, which bun would silently misread', async () => {
    const fx = libraryFixture();
    // bun 1.4.5 alone builds `1 + 1` as `1`, and `two words` as a string.
    for (const value of ['1 + 1', 'two words']) {
      const { out, outDir } = await build(fx, { entry: { cli: 'src/cli.ts' }, format: 'esm', define: { BUILD_FLAVOUR: value } });
      expect(out.ok).toBe(false);
      expect(out.diagnostics).toEqual([{ severity: 'error', message: expect.stringContaining(`invalid define value for BUILD_FLAVOUR: ${JSON.stringify(value)}`) }]);
      expect(listFiles(outDir)).toEqual([]);
    }
  });

  it('keeps the place of an error in a bun virtual file in the message, not in `file`', () => {
    // The define check above stops `1+1` before bun sees it, so run bun on it directly:
    // bun reports it "at defines.json:1:3", a file that does not exist.
    const fx = libraryFixture();
    const r = spawnSync(repoBun, ['build', 'src/index.ts', `--outdir=${fx.path('out')}`, '--define=X:1+1'], { cwd: fx.root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status).not.toBe(0);
    expect(parseBunOutput(r.stderr, fx.root)).toEqual([
      { severity: 'error', message: expect.stringMatching(/^Unsupported syntax: Operators are not allowed in JSON \(at defines\.json:1:\d+\)$/) },
    ]);
  });

  it('kills bun when the signal aborts mid-build', async () => {
    // A bun macro runs inside `bun build`: this one says it started, then blocks for 60 s.
    const fx = libraryFixture();
    const started = fx.path('macro-started');
    const finished = fx.path('macro-finished');
    fx.write({
      'src/slow-macro.ts': `import { writeFileSync } from 'node:fs';\nexport function slow(): string {\n  writeFileSync(${JSON.stringify(started)}, 'x');\n  Bun.sleepSync(60_000);\n  writeFileSync(${JSON.stringify(finished)}, 'x');\n  return 'late';\n}\n`,
      'src/slow.ts': "import { slow } from './slow-macro' with { type: 'macro' };\nconsole.log(slow());\n",
    });
    const controller = new AbortController();
    const poll = setInterval(() => {
      if (existsSync(started)) controller.abort();
    }, 20);
    let run: AdapterRun;
    try {
      run = await build(fx, { entry: { slow: 'src/slow.ts' }, format: ['esm', 'cjs'] }, controller.signal);
    } finally {
      clearInterval(poll);
    }
    expect(existsSync(started)).toBe(true);
    expect(run.out.ok).toBe(false);
    expect(run.out.diagnostics).toEqual([{ severity: 'error', message: expect.stringMatching(/aborted/) }]);
    // Killed, not waited for: the macro never got past its 60 s sleep.
    expect(existsSync(finished)).toBe(false);
    expect(processesMentioning(run.outDir)).toEqual([]);
    expect(listFiles(run.outDir)).toEqual([]);
  });

  it('uses Bun.build in-process when already running under Bun', async () => {
    const fx = libraryFixture();
    const script = fx.path('under-bun.ts');
    const src = (rel: string) => JSON.stringify(path.join(packageRoot, 'src', rel));
    fx.write({
      'under-bun.ts': [
        `import { mkdtempSync } from 'node:fs';`,
        `import path from 'node:path';`,
        `import { bunAdapter } from ${src('adapters/bun.ts')};`,
        `import { resolveConfig } from ${src('config/resolve.ts')};`,
        `import { buildConfigSchema } from ${src('config/schema.ts')};`,
        `import { loadPackageInfo } from ${src('workspace/package-info.ts')};`,
        `import { ReadLog } from ${src('util/read-log.ts')};`,
        `const pkg = loadPackageInfo(${JSON.stringify(fx.root)}, new ReadLog());`,
        `const config = resolveConfig(pkg, buildConfigSchema.parse({ entry: { index: 'src/index.ts', 'bin/cli': 'src/cli.ts', copy: 'src/index.ts' }, format: ['esm', 'cjs'], sourcemap: true, banner: '/* b */', define: { BUILD_FLAVOUR: '"bun"' } }), null);`,
        `const tool = await bunAdapter.check(pkg, new ReadLog());`,
        `if (!tool.available) throw new Error(tool.reason);`,
        `const outDir = mkdtempSync(path.join(pkg.dir, '.staging-'));`,
        `const out = await bunAdapter.build({ pkg, config, outDir, tool, signal: new AbortController().signal, reads: new ReadLog(), log: () => {} });`,
        `const bad = resolveConfig(pkg, buildConfigSchema.parse({ entry: { bad: 'src/bad.ts' }, format: 'esm' }), null);`,
        `const badOut = await bunAdapter.build({ pkg, config: bad, outDir: mkdtempSync(path.join(pkg.dir, '.staging-')), tool, signal: new AbortController().signal, reads: new ReadLog(), log: () => {} });`,
        `console.log(JSON.stringify({ tool, execPath: process.execPath, outDir, out, badOut }));`,
      ].join('\n'),
      'src/bad.ts': 'export const a = 1;\nexport const b = (2 + ;\n',
    });
    const r = spawnSync(repoBun, [script], { encoding: 'utf8', cwd: fx.root });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { tool: { location: string; version: string }; execPath: string; outDir: string; out: AdapterOutput; badOut: AdapterOutput };
    // Under Bun the running runtime is the tool, not a binary found on disk.
    expect(report.tool.location).toBe(report.execPath);
    expect(realpathSync(report.tool.location)).toBe(realpathSync(repoBun));
    expect(report.tool.version).toBe(repoBunVersion);
    expect(report.out.ok).toBe(true);
    // What Bun.build read (its metafile) keys the cache entry, as the CLI's --metafile does.
    expect(report.out.reads).toEqual(expect.arrayContaining([fx.path('src/index.ts'), fx.path('src/cli.ts')]));
    expect(relPaths(report.outDir, report.out.files)).toEqual([
      'bin/cli.cjs',
      'bin/cli.cjs.map',
      'bin/cli.js',
      'bin/cli.js.map',
      'copy.cjs',
      'copy.cjs.map',
      'copy.js',
      'copy.js.map',
      'index.cjs',
      'index.cjs.map',
      'index.js',
      'index.js.map',
    ]);
    expect(runNode(path.join(report.outDir, 'index.cjs')).stdout).toBe(LIBRARY_STDOUT);
    const cli = path.join(report.outDir, 'bin/cli.js');
    expect(readFileSync(cli, 'utf8').split('\n').slice(0, 2)).toEqual([SHEBANG, '/* b */']);
    expect(runNode(cli).stdout).toBe('cli hello bin bun\n');
    expect(report.badOut.ok).toBe(false);
    expect(report.badOut.diagnostics).toEqual([
      { severity: 'error', message: expect.stringMatching(/Unexpected ;/), file: 'src/bad.ts', line: 2, column: 'export const b = (2 + ;'.indexOf(';') + 1 },
    ]);
  });
});
