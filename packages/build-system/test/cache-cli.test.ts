import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/index.js';
import { cliPath, createFixture, type Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/** The cache through the built CLI: flags, `cache prune|info`, `build:clean --cache`, and processes racing for one package. */

const fixtures: Fixture[] = [];
const temps: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** `holdMs`: the counting plugin also sleeps, so a build holds the package lock that long. */
function pkg(holdMs = 0): { fx: Fixture; cacheDir: string; marker: string } {
  const side = mkdtempSync(path.join(tmpdir(), 'bs-cache-cli-'));
  temps.push(side);
  const marker = path.join(side, 'runs');
  writeFileSync(marker, '');
  const fx = createFixture({
    'package.json': { name: 'fx-cache-cli', version: '1.0.0', type: 'module', main: 'dist/index.js' },
    'build.config.ts': [
      "import { appendFileSync } from 'node:fs';",
      'export default {',
      "  adapter: 'esbuild',",
      `  adapterOptions: { esbuild: { plugins: [{ name: 'count', setup() { appendFileSync(${JSON.stringify(marker)}, 'x'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${holdMs}); } }] } },`,
      '};',
      '',
    ].join('\n'),
    'src/index.ts': 'export const answer: number = 42;\n',
  });
  fixtures.push(fx);
  return { fx, cacheDir: path.join(side, 'cache'), marker };
}

/** The CLI awaited, not spawnSync'd: the tests of this file run concurrently, each on its own package. */
const cli = (cwd: string, args: string[]) => cliRun(args, { cwd });

describe.concurrent('CLI cache flags', () => {
  it('--explain says why, --no-cache turns it off, --force rebuilds; bad values exit 2', async () => {
    const { fx, cacheDir, marker } = pkg();
    const first = await cli(fx.root, ['build', '--explain', '--cache-dir', cacheDir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^fx-cache-cli: cache miss \[[0-9a-f]{12}\] — first build$/m);

    const second = await cli(fx.root, ['build', '--explain', '--cache-dir', cacheDir]);
    expect(second.stdout).toMatch(/^fx-cache-cli: cache hit \[[0-9a-f]{12}\] — outDir already up to date, nothing written$/m);

    writeFileSync(fx.path('src/index.ts'), 'export const answer: number = 43;\n');
    const third = await cli(fx.root, ['build', '--explain', '--json', '--cache-dir', cacheDir]);
    // Under --json stdout is the document; the explanation goes to stderr.
    const run = JSON.parse(third.stdout) as RunResult;
    expect(run.results[0]!.cache.reason).toBe('files changed: src/index.ts');
    expect(third.stderr).toMatch(/fx-cache-cli: cache miss \[[0-9a-f]{12}\] — files changed: src\/index\.ts/);

    const off = await cli(fx.root, ['build', '--explain', '--no-cache', '--cache-dir', cacheDir]);
    expect(off.stdout).toMatch(/fx-cache-cli: cache off — cache disabled \(--no-cache\)/);
    const forced = await cli(fx.root, ['build', '--explain', '--force', '--cache-dir', cacheDir]);
    expect(forced.stdout).toMatch(/cache miss .* — forced \(--force\)/);
    expect(readFileSync(marker, 'utf8')).toBe('xxxx');

    const bad = await cli(fx.root, ['build', '--output-logs', 'loud']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--output-logs: must be one of full, errors-only, none \(got "loud"\)/);
  });

  it('cache info, cache prune, build:clean --cache and --all', async () => {
    const { fx, cacheDir } = pkg();
    expect((await cli(fx.root, ['build', '--cache-dir', cacheDir])).code).toBe(0);
    writeFileSync(fx.path('src/index.ts'), 'export const answer: number = 43;\n');
    expect((await cli(fx.root, ['build', '--cache-dir', cacheDir])).code).toBe(0);

    const info = await cli(fx.root, ['cache', 'info', '--json', '--cache-dir', cacheDir]);
    expect(info.code, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout) as { dir: string; entries: number; packages: { name: string; entries: number }[] };
    expect(parsed).toMatchObject({ dir: cacheDir, entries: 2, packages: [{ name: 'fx-cache-cli', entries: 2 }] });
    expect((await cli(fx.root, ['cache', 'info', '--cache-dir', cacheDir])).stdout).toMatch(/: 2 entries, /);

    const prune = await cli(fx.root, ['cache', 'prune', '--max-age', '1d', '--json', '--cache-dir', cacheDir]);
    expect(JSON.parse(prune.stdout)).toMatchObject({ removed: [], kept: 2 });
    expect(await cli(fx.root, ['cache', 'prune', '--max-size', 'lots', '--cache-dir', cacheDir])).toMatchObject({ code: 2 });
    expect(await cli(fx.root, ['cache', 'frobnicate'])).toMatchObject({ code: 2 });

    const clean = await cli(fx.root, ['clean', '--cache', '--cache-dir', cacheDir]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/fx-cache-cli: removed dist; 2 cache entries/);
    expect(existsSync(fx.path('dist'))).toBe(false);
    expect(JSON.parse((await cli(fx.root, ['cache', 'info', '--json', '--cache-dir', cacheDir])).stdout).entries).toBe(0);

    expect((await cli(fx.root, ['build', '--cache-dir', cacheDir])).code).toBe(0);
    const pruneAll = await cli(fx.root, ['cache', 'prune', '--max-size', '0', '--json', '--cache-dir', cacheDir]);
    expect(JSON.parse(pruneAll.stdout)).toMatchObject({ kept: 0, bytes: 0 });
    expect((await cli(fx.root, ['build', '--cache-dir', cacheDir])).code).toBe(0);
    const all = await cli(fx.root, ['clean', '--all', '--cache-dir', cacheDir]);
    expect(all.stdout).toMatch(/cache: removed 1 entries/);
    expect(existsSync(path.join(cacheDir, 'v1'))).toBe(false);
  });
});

describe.concurrent('processes racing for one package', () => {
  it('four CLI processes at once: the adapter runs once, the others find the entry after the lock', async () => {
    // The build holds the lock for 3 s, far longer than the processes' start-up spread (the other
    // tests' CLI runs included), so the others find no entry before the lock and have to look
    // again once they hold it.
    const { fx, cacheDir, marker } = pkg(3000);
    const runs = await Promise.all(
      [1, 2, 3, 4].map(
        () =>
          new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const p = spawn(process.execPath, [cliPath, 'build', '--json', '--cache-dir', cacheDir], { cwd: fx.root });
            let stdout = '';
            let stderr = '';
            p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
            p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
            p.on('close', (code) => resolve({ code, stdout, stderr }));
          }),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('x');
    const results = runs.map((r) => (JSON.parse(r.stdout) as RunResult).results[0]!);
    expect(results.filter((r) => r.cache.status === 'miss')).toHaveLength(1);
    expect(results.filter((r) => r.cache.status === 'hit')).toHaveLength(3);
    // They waited: the lock, not the lock-free fast path, is where they found it.
    expect(runs.filter((r) => /waiting for fx-cache-cli/.test(r.stderr)).length).toBeGreaterThanOrEqual(1);
    expect(new Set(results.map((r) => JSON.stringify(r.artifacts.map((a) => a.sha256)))).size).toBe(1);
  });
});
