import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, createFixture, packageRoot, repoBin, snapshotTree, type Fixture } from './helpers/fixture.js';

const version = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version as string;

function cli(args: string[], opts: { cwd?: string; runtime?: string; env?: NodeJS.ProcessEnv } = {}) {
  const runtime = opts.runtime ?? process.execPath;
  const r = spawnSync(runtime, [cliPath, ...args], { cwd: opts.cwd ?? process.cwd(), encoding: 'utf8', env: { ...process.env, ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A temp dir outside any fixture, removed after the file's tests. */
function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

function pkgFixture(files: Record<string, string | object> = {}): Fixture {
  const fx = createFixture({
    'package.json': { name: '@t/cli-fixture', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'build.config.ts': `export default { adapter: 'esbuild', sourcemap: true };\n`,
    'src/index.ts': `import { helper } from './helper.js';\nexport const value: string = helper('ok');\n`,
    'src/helper.ts': `export const helper = (s: string): string => s.toUpperCase();\n`,
    ...files,
  });
  fixtures.push(fx);
  return fx;
}

describe('CLI', () => {
  it('--version prints the package version, --help lists the commands', () => {
    const v = cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    const h = cli(['--help']);
    expect(h.code).toBe(0);
    for (const cmd of ['build:package', 'build:list', 'build:clean']) expect(h.stdout).toContain(cmd);
  });

  it('unknown command and unknown option exit 2', () => {
    expect(cli(['frobnicate']).code).toBe(2);
    const fx = pkgFixture();
    expect(cli(['build', '--cwd', fx.root, '--no-such-flag']).code).toBe(2);
    const bad = cli(['build', '--cwd', fx.root, '--adapter', 'webpack']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--adapter');
  });

  it('build --json prints exactly one JSON document on stdout and exits 0', () => {
    const fx = pkgFixture();
    const r = cli(['build', '--json', '--cwd', fx.root]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.results).toHaveLength(1);
    const res = doc.results[0];
    expect(res.status).toBe('success');
    expect(res.adapter).toMatchObject({ name: 'esbuild', reason: expect.stringContaining('build.config.ts') });
    expect(res.artifacts.map((a: { path: string; kind: string }) => `${a.path}:${a.kind}`).sort()).toEqual(['dist/index.js.map:map', 'dist/index.js:js']);
    expect(res.cache.status).toBeDefined();
  });

  it('the `build` alias works from inside the package dir without --cwd', () => {
    const fx = pkgFixture();
    const r = cli(['build'], { cwd: fx.root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('@t/cli-fixture');
    expect(existsSync(fx.path('dist/index.js'))).toBe(true);
  });

  it('a source syntax error: exit 1, status failed, diagnostic with file and line; old dist kept', () => {
    const fx = pkgFixture();
    expect(cli(['build', '--cwd', fx.root]).code).toBe(0);
    const before = snapshotTree(fx.path('dist'));
    fx.write({ 'src/helper.ts': `export const helper = (s: string): string => {\n  return s.(;\n};\n` });
    const r = cli(['build', '--json', '--cwd', fx.root]);
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout).results[0];
    expect(res.status).toBe('failed');
    expect(res.diagnostics[0]).toMatchObject({ severity: 'error', file: 'src/helper.ts', line: 2 });
    expect(r.stderr).toContain('src/helper.ts:2');
    expect(snapshotTree(fx.path('dist'))).toEqual(before);
  });

  it('list shows the adapter chosen and whether it is installed', () => {
    const fx = pkgFixture();
    const r = cli(['list', '--json', '--cwd', fx.root]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).packages[0]).toMatchObject({ name: '@t/cli-fixture', chosen: 'esbuild', available: true, configFile: 'build.config.ts' });
  });

  it('clean removes outDir and tsbuildinfo but never follows a symlink out of the package', () => {
    const outside = tempDir('bs-outside-');
    writeFileSync(path.join(outside, 'precious.txt'), 'keep me');
    const fx = pkgFixture({ 'tsconfig.tsbuildinfo': '{}' });
    expect(cli(['build', '--cwd', fx.root]).code).toBe(0);
    symlinkSync(outside, fx.path('dist/link-out'));
    const r = cli(['clean', '--json', '--cwd', fx.root]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).packages[0].removed.sort()).toEqual(['dist', 'tsconfig.tsbuildinfo']);
    expect(existsSync(fx.path('dist'))).toBe(false);
    expect(readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('clean refuses an outDir that is a symlink pointing outside the package', () => {
    const outside = tempDir('bs-outside-');
    writeFileSync(path.join(outside, 'precious.txt'), 'keep me');
    const fx = pkgFixture();
    symlinkSync(outside, fx.path('dist'));
    const r = cli(['clean', '--cwd', fx.root]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('outDir');
    expect(readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('runs under the bun runtime too', () => {
    const fx = pkgFixture();
    const bun = path.join(repoBin, 'bun');
    const r = cli(['build', '--json', '--cwd', fx.root], { runtime: bun });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].status).toBe('success');
    const v = cli(['--version'], { runtime: bun });
    expect(v.stdout.trim()).toBe(version);
  });

  it('a package outside any workspace builds with defaults when it has no config', () => {
    const dir = tempDir('bs-noconfig-');
    mkdirSync(path.join(dir, 'src'));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'plain', version: '1.0.0', main: 'dist/index.js' }));
    writeFileSync(path.join(dir, 'src/index.ts'), 'export const x: number = 1;\n');
    const r = cli(['build', '--json', '--adapter', 'esbuild', '--cwd', dir]);
    expect(r.code, r.stderr).toBe(0);
    // commonjs package: cjs output with .js
    expect(JSON.parse(r.stdout).results[0].artifacts.map((a: { path: string }) => a.path)).toEqual(['dist/index.js']);
    expect(readFileSync(path.join(dir, 'dist/index.js'), 'utf8')).toContain('module.exports');
  });

  describe('adapter auto and a missing bun', () => {
    // PATH without any bun (npm puts the repo's node_modules/.bin on PATH for scripts); the fixture
    // lives in a temp dir outside the repo, so no node_modules/.bin above it has bun either.
    const noBunPath = [path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter);

    it('auto picks bun when it is installed, and says why', () => {
      const fx = pkgFixture({ 'build.config.ts': `export default { adapter: 'auto' };\n` });
      const r = cli(['build', '--json', '--cwd', fx.root], { env: { PATH: `${repoBin}${path.delimiter}${noBunPath}` } });
      expect(r.code, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout).results[0];
      expect(res.adapter.name).toBe('bun');
      expect(res.adapter.reason).toMatch(/^auto: bun \d+\.\d+\.\d+ is installed/);
    });

    it('without bun, auto falls back to esbuild and the result says so', () => {
      const fx = pkgFixture({ 'build.config.ts': `export default { adapter: 'auto' };\n` });
      const r = cli(['build', '--json', '--cwd', fx.root], { env: { PATH: noBunPath } });
      expect(r.code, r.stderr).toBe(0);
      const res = JSON.parse(r.stdout).results[0];
      expect(res.status).toBe('success');
      expect(res.adapter.name).toBe('esbuild');
      expect(res.adapter.reason).toMatch(/^auto: bun not available \(.+\), using esbuild$/);
    });

    it("without bun, adapter 'bun' fails before writing anything, with the install command", () => {
      const fx = pkgFixture({ 'build.config.ts': `export default { adapter: 'bun' };\n` });
      const before = snapshotTree(fx.root);
      const r = cli(['build', '--json', '--cwd', fx.root], { env: { PATH: noBunPath } });
      expect(r.code).toBe(2);
      const res = JSON.parse(r.stdout).results[0];
      expect(res.error).toMatchObject({ code: 'ADAPTER_UNAVAILABLE', field: 'adapter' });
      expect(res.error.message).toContain('npm install -D bun');
      expect(r.stderr).toContain('adapter: adapter "bun" is not installed');
      expect(snapshotTree(fx.root)).toEqual(before);
    });
  });
});
