import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/result/schema.js';
import { cliPath, createFixture, repoRoot, snapshotTree, type Fixture } from './helpers/fixture.js';

/**
 * A CLI build after an edit starts from the last no-op record
 * (services/partial-run.ts): it builds what the changed paths reach and keeps
 * the rest as recorded. What the matrix (stale-matrix.test.ts, "built in part")
 * checks for one run of many changes, this checks over a sequence of runs, as
 * a developer makes them: edit, build, edit again. Each run must leave a record
 * the next one can replay or start from, and the outputs must equal a --force
 * build's at the end.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const tsconfig = {
  compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [], rootDir: 'src', outDir: 'dist' },
  include: ['src'],
};

const pkg = (name: string, deps: string[] = []) => ({
  name: `@p/${name}`,
  version: '1.0.0',
  type: 'module',
  exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
  dependencies: Object.fromEntries(deps.map((d) => [`@p/${d}`, '1.0.0'])),
});

/** hub ← mid ← top (declarations read through node_modules links), alias (reads hub's source by a tsconfig path, no dependency), solo. */
function workspace(): Fixture {
  const dts = `export default { adapter: 'esbuild', format: 'esm', dts: true };\n`;
  const fx = createFixture({
    'package.json': { name: 'partial-root', private: true, workspaces: ['packages/*'] },
    'packages/hub/package.json': pkg('hub'),
    'packages/hub/build.config.ts': dts,
    'packages/hub/tsconfig.json': tsconfig,
    'packages/hub/src/index.ts': `export function twice(n: number): number {\n  return n * 2;\n}\n`,
    'packages/mid/package.json': pkg('mid', ['hub']),
    'packages/mid/build.config.ts': dts,
    'packages/mid/tsconfig.json': tsconfig,
    'packages/mid/src/index.ts': `import { twice } from '@p/hub';\nexport const four = (): number => twice(2);\n`,
    'packages/top/package.json': pkg('top', ['mid']),
    'packages/top/build.config.ts': dts,
    'packages/top/tsconfig.json': tsconfig,
    'packages/top/src/index.ts': `import { four } from '@p/mid';\nexport const eight = (): number => four() * 2;\n`,
    'packages/alias/package.json': { name: '@p/alias', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/alias/build.config.ts': `export default { adapter: 'esbuild', format: 'esm' };\n`,
    'packages/alias/tsconfig.json': { compilerOptions: { baseUrl: '.', paths: { '#hub/*': ['../hub/src/*'] } } },
    'packages/alias/src/index.ts': `import { twice } from '#hub/index';\nexport const six = twice(3);\n`,
    'packages/solo/package.json': { name: '@p/solo', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/solo/build.config.ts': `export default { adapter: 'esbuild', format: 'esm' };\n`,
    'packages/solo/src/index.ts': `export const solo = 'solo v1';\n`,
  });
  fixtures.push(fx);
  mkdirSync(fx.path('node_modules/@p'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/typescript'), fx.path('node_modules/typescript'), 'dir');
  for (const name of ['hub', 'mid', 'top', 'alias', 'solo']) symlinkSync(`../../packages/${name}`, fx.path(`node_modules/@p/${name}`), 'dir');
  return fx;
}

interface Built {
  run: RunResult;
  stderr: string;
  status: Record<string, string>;
}

function cli(fx: Fixture, args: string[] = []): Built {
  const r = spawnSync(process.execPath, [cliPath, 'build', '--json', ...args], {
    cwd: fx.root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1', BUILD_SYSTEM_NO_FAST_PATH: undefined },
  });
  if (r.status !== 0) throw new Error(`build exited ${r.status}: ${r.stderr.slice(-3000)}`);
  const run = JSON.parse(r.stdout) as RunResult;
  return { run, stderr: r.stderr, status: Object.fromEntries(run.results.map((x) => [x.package.name.slice(3), x.cache.status])) };
}

const partialLine = (b: Built) => /partial run: (.*)/.exec(b.stderr)?.[1] ?? `(none) ${b.stderr.split('\n').filter((l) => l.includes('no-op record')).join(' | ')}`;
const replayed = (b: Built) => b.stderr.includes('no-op record: replayed');

const outputs = (fx: Fixture) => Object.fromEntries(['hub', 'mid', 'top', 'alias', 'solo', 'inline'].map((n) => [n, snapshotTree(fx.path(`packages/${n}/dist`))]));

describe('partial runs from the last no-op record, one after another', () => {
  it('edit, build, edit again: each run builds what its changes reach, and leaves a record the next one uses', () => {
    const fx = workspace();
    cli(fx);
    expect(replayed(cli(fx))).toBe(true);

    // A leaf's source: that package alone.
    fx.write({ 'packages/solo/src/index.ts': `export const solo = 'solo v2';\n` });
    const leaf = cli(fx);
    expect(partialLine(leaf)).toBe('1 of 5 packages take part (1 changed)');
    expect(leaf.status).toEqual({ hub: 'hit', mid: 'hit', top: 'hit', alias: 'hit', solo: 'miss' });
    expect(readFileSync(fx.path('packages/solo/dist/index.js'), 'utf8')).toContain('solo v2');
    // The record written by a partial run is whole: the next no-op replays it.
    expect(replayed(cli(fx))).toBe(true);

    // The hub's function body, twice: the hub rebuilds, the alias reader (which bundles the hub's source) too;
    // mid and top read only the hub's declarations, which came out the same: kept.
    for (const factor of ['3', '4']) {
      fx.write({ 'packages/hub/src/index.ts': `export function twice(n: number): number {\n  return n * ${factor};\n}\n` });
      const hub = cli(fx);
      // Two changed (hub, and alias as a reader of its source) every time: the second run's record still holds what mid
      // read of the hub through node_modules as the hub's own outputs, not as paths the first rebuild replaced.
      expect(partialLine(hub)).toBe('4 of 5 packages take part (2 changed)');
      expect(hub.status).toEqual({ hub: 'miss', mid: 'hit', top: 'hit', alias: 'miss', solo: 'hit' });
      expect(readFileSync(fx.path('packages/alias/dist/index.js'), 'utf8')).toContain(`n * ${factor}`);
      expect(replayed(cli(fx))).toBe(true);
    }

    // The hub's declarations: its dependents read them and rebuild, in graph order.
    fx.write({ 'packages/hub/src/index.ts': `export function twice(n: number): number {\n  return n * 4;\n}\nexport const added: string = 'x';\n` });
    const types = cli(fx);
    expect(partialLine(types)).toBe('4 of 5 packages take part (2 changed)');
    expect(types.status).toEqual({ hub: 'miss', mid: 'miss', top: 'hit', alias: 'miss', solo: 'hit' });

    // Outputs deleted by hand: put back from the cache (a hit that restores), nothing else takes part beyond readers.
    rmSync(fx.path('packages/mid/dist'), { recursive: true });
    const restored = cli(fx);
    expect(partialLine(restored)).toMatch(/^\d of 5 packages take part/);
    const mid = restored.run.results.find((r) => r.package.name === '@p/mid')!;
    expect([mid.cache.status, mid.cache.restored]).toEqual(['hit', true]);

    // A change outside every package (the root's listing): a full run, which checks every package.
    writeFileSync(fx.path('notes.txt'), 'x');
    const full = cli(fx);
    expect(full.stderr).toMatch(/no partial run: .* outside every package/);

    const final = outputs(fx);
    const forced = cli(fx, ['--force']);
    expect(Object.values(forced.status).every((s) => s === 'miss')).toBe(true);
    expect(outputs(fx)).toEqual(final);
  });

  it("a package that bundles another's dist by a relative path, without depending on it, waits for it and reads what the run wrote", () => {
    const fx = workspace();
    // Seen in trpc: @trpc/openapi imports ../../client/dist/index.mjs and does not list @trpc/client.
    fx.write({
      'packages/reader/package.json': { name: '@p/reader', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/reader/build.config.ts': `export default { adapter: 'esbuild', format: 'esm' };\n`,
      'packages/reader/src/index.ts': `// @ts-ignore: a built file, no declarations read\nexport { twice } from '../../hub/dist/index.js';\n`,
    });
    // A full run does not know it reads the hub's dist (nothing declares it): the hub's dist is there first, as in a repo built before.
    cli(fx, ['@p/hub']);
    cli(fx);
    expect(replayed(cli(fx))).toBe(true);
    for (const factor of ['7', '8']) {
      fx.write({ 'packages/hub/src/index.ts': `export function twice(n: number): number {\n  return n * ${factor};\n}\n` });
      const edit = cli(fx);
      expect(partialLine(edit)).toMatch(/^\d of 6 packages take part/);
      // The hub's declarations job makes it the slowest package: unordered, reader would bundle the old dist.
      expect(edit.status.reader).toBe('miss');
      expect(readFileSync(fx.path('packages/reader/dist/index.js'), 'utf8')).toContain(`n * ${factor}`);
      const again = cli(fx);
      expect(replayed(again)).toBe(true);
    }
    const final = snapshotTree(fx.path('packages/reader/dist'));
    cli(fx, ['--force']);
    expect(snapshotTree(fx.path('packages/reader/dist'))).toEqual(final);
  });

  it('outputs removed or edited by hand are put back from the recorded cache entries, without their configs', () => {
    const fx = workspace();
    cli(fx);
    expect(replayed(cli(fx))).toBe(true);
    const built = outputs(fx);
    const restoredLine = (b: Built) => /restored (\d+ of \d+) from their recorded cache entries/.exec(b.stderr)?.[1];

    // Every outDir gone (a clean, a CI job that restored the cache but not the outputs): all five come back.
    for (const name of ['hub', 'mid', 'top', 'alias', 'solo']) rmSync(fx.path(`packages/${name}/dist`), { recursive: true });
    const all = cli(fx);
    expect(partialLine(all)).toBe('5 of 5 packages take part (0 changed, 5 to restore)');
    expect(restoredLine(all)).toBe('5 of 5');
    expect(Object.fromEntries(all.run.results.map((r) => [r.package.name, [r.status, r.cache.status, r.cache.restored]]))).toEqual(
      Object.fromEntries(['hub', 'mid', 'top', 'alias', 'solo'].map((n) => [`@p/${n}`, ['success', 'hit', true]])),
    );
    expect(outputs(fx)).toEqual(built);
    expect(replayed(cli(fx))).toBe(true);

    // One output edited in place, another package's source edited: the first is put back, the second built; the
    // readers of the first (mid reads the hub's declarations) find them as they were and are kept, not rebuilt.
    writeFileSync(fx.path('packages/hub/dist/index.d.ts'), 'export declare const tampered: 1;\n');
    fx.write({ 'packages/solo/src/index.ts': `export const solo = 'solo v3';\n` });
    const mixed = cli(fx);
    expect(partialLine(mixed)).toBe('5 of 5 packages take part (1 changed, 1 to restore)');
    expect(restoredLine(mixed)).toBe('1 of 1');
    expect(mixed.status).toEqual({ hub: 'hit', mid: 'hit', top: 'hit', alias: 'hit', solo: 'miss' });
    expect(snapshotTree(fx.path('packages/hub/dist'))).toEqual(built.hub);
    expect(replayed(cli(fx))).toBe(true);

    // Not put back this way, built as any changed package instead: an outDir holding a file the entry has not
    // (the normal path decides what stays), and an entry whose blob is damaged (rebuilt and replaced, with a warning).
    rmSync(fx.path('packages/mid/dist/index.js'));
    writeFileSync(fx.path('packages/mid/dist/notes.txt'), 'mine\n');
    const solo = mixed.run.results.find((r) => r.package.name === '@p/solo')!;
    const blob = fx.path(`node_modules/.cache/build-system/v1/blobs/${solo.artifacts[0]!.sha256}`);
    writeFileSync(blob, 'damaged');
    rmSync(fx.path('packages/solo/dist'), { recursive: true });
    const fallback = cli(fx);
    expect(partialLine(fallback)).toBe('3 of 5 packages take part (0 changed, 2 to restore)');
    expect(restoredLine(fallback), JSON.stringify(fallback.run.results.map((r) => [r.package.name, r.cache]))).toBe('0 of 2');
    const bySolo = fallback.run.results.find((r) => r.package.name === '@p/solo')!;
    expect([bySolo.status, bySolo.cache.status]).toEqual(['success', 'miss']);
    expect(bySolo.diagnostics.map((d) => d.message).join('\n')).toMatch(/corrupt/);
    expect(snapshotTree(fx.path('packages/mid/dist'))['index.js']).toBe(built.mid!['index.js']);

    const final = outputs(fx);
    cli(fx, ['--force']);
    expect(outputs(fx)).toEqual(final);
  });

  it('an outDir removed below a package that changes is built again, not restored: what it bundles of it changed', () => {
    const fx = workspace();
    // Bundles the hub's built JS (a devDependency is inlined): its output follows the hub's.
    fx.write({
      'packages/inline/package.json': { name: '@p/inline', version: '1.0.0', type: 'module', exports: './dist/index.js', devDependencies: { '@p/hub': '1.0.0' } },
      'packages/inline/build.config.ts': `export default { adapter: 'esbuild', format: 'esm' };\n`,
      'packages/inline/src/index.ts': `import { twice } from '@p/hub';\nexport const ten = twice(5);\n`,
    });
    cli(fx);
    expect(replayed(cli(fx))).toBe(true);
    fx.write({ 'packages/hub/src/index.ts': `export function twice(n: number): number {\n  return n * 7;\n}\n` });
    rmSync(fx.path('packages/inline/dist'), { recursive: true });
    const run = cli(fx);
    expect(partialLine(run)).toMatch(/^\d of 6 packages take part/);
    expect(run.status.inline).toBe('miss');
    expect(readFileSync(fx.path('packages/inline/dist/index.js'), 'utf8')).toContain('n * 7');
    expect(replayed(cli(fx))).toBe(true);

    // Both outDirs removed, and the hub's entry damaged: the hub is built, so what inline restored from the recorded
    // build of the hub is checked after it (a hit here: the hub came out the same), never left as restored.
    const hub = run.run.results.find((r) => r.package.name === '@p/hub')!;
    writeFileSync(fx.path(`node_modules/.cache/build-system/v1/blobs/${hub.artifacts.find((a) => a.path === 'dist/index.js')!.sha256}`), 'damaged');
    rmSync(fx.path('packages/hub/dist'), { recursive: true });
    rmSync(fx.path('packages/inline/dist'), { recursive: true });
    const damaged = cli(fx);
    expect(/restored (\d+ of \d+)/.exec(damaged.stderr)?.[1]).toBe('0 of 2');
    expect(damaged.run.results.find((r) => r.package.name === '@p/hub')!.cache.status).toBe('miss');
    expect(damaged.status.inline).toBe('hit');
    const final = outputs(fx);
    cli(fx, ['--force']);
    expect(outputs(fx)).toEqual(final);
  });

  it('a fresh checkout with the cache restored: every file new, the same bytes; the record still answers by content', () => {
    const fx = workspace();
    // Sources an hour old, as in a real checkout: the record keeps no hash of its own for them (only recent files'),
    // so what the check compares after the next checkout comes from the content file alone.
    const hourAgo = new Date(Date.now() - 3_600_000);
    const age = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.name === 'node_modules') continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) age(p);
        utimesSync(p, hourAgo, hourAgo);
      }
    };
    age(fx.root);
    cli(fx);
    expect(replayed(cli(fx))).toBe(true);
    const built = outputs(fx);
    // What a CI job meets: the workspace written anew in place (new inodes and times), no outputs, the cache kept.
    const checkout = () => {
      const next = `${fx.root}.checkout`;
      cpSync(fx.root, next, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== 'dist' });
      rmSync(fx.root, { recursive: true });
      renameSync(next, fx.root);
    };
    // The record the next checkout meets is one a partial run wrote (from the record before it): it carries every
    // path's content on, not only what its own run read.
    rmSync(fx.path('packages/hub/dist'), { recursive: true });
    expect(partialLine(cli(fx))).toMatch(/1 to restore/);
    checkout();
    const ci = cli(fx);
    expect(ci.stderr).toMatch(/no-op record: \d+ paths written anew with the recorded content/);
    expect(partialLine(ci)).toBe('5 of 5 packages take part (0 changed, 5 to restore)');
    expect(Object.values(ci.run.results).every((r) => r.cache.status === 'hit' && r.cache.restored === true)).toBe(true);
    expect(outputs(fx)).toEqual(built);
    // The record that run wrote holds the new stats: the next no-op is a replay again.
    expect(replayed(cli(fx))).toBe(true);

    // Content, not sizes: a source rewritten with as many bytes, and a file added to a listed directory, are changes.
    checkout();
    fx.write({ 'packages/solo/src/index.ts': `export const solo = 'solo v9';\n`, 'packages/alias/src/extra.ts': `export const extra = 1;\n` });
    const edited = cli(fx);
    expect(partialLine(edited)).toBe('5 of 5 packages take part (2 changed, 3 to restore)');
    expect(edited.status).toEqual({ hub: 'hit', mid: 'hit', top: 'hit', alias: 'miss', solo: 'miss' });
    expect(readFileSync(fx.path('packages/solo/dist/index.js'), 'utf8')).toContain('solo v9');
    const final = outputs(fx);
    cli(fx, ['--force']);
    expect(outputs(fx)).toEqual(final);
  });

  it('--strict: a kept package whose recorded result has package.json warnings goes through the run, which fails it', () => {
    const fx = workspace();
    // solo's exports name a file its build does not write: a warning (PKG_EXPORT_MISSING) in its result.
    fx.write({ 'packages/solo/package.json': { name: '@p/solo', version: '1.0.0', type: 'module', exports: { '.': './dist/index.js', './x': './dist/x.js' } } });
    cli(fx);
    fx.write({ 'packages/hub/src/index.ts': `export function twice(n: number): number {\n  return n * 5;\n}\n` });
    const r = spawnSync(process.execPath, [cliPath, 'build', '--json', '--strict'], {
      cwd: fx.root,
      encoding: 'utf8',
      env: { ...process.env, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1' },
    });
    expect(r.stderr).toMatch(/partial run: \d of 5 packages take part/);
    const run = JSON.parse(r.stdout) as RunResult;
    const solo = run.results.find((x) => x.package.name === '@p/solo')!;
    expect(solo.status, JSON.stringify(solo.diagnostics) + r.stderr.slice(-1500)).toBe('failed');
    expect(r.status).not.toBe(0);
  });
});
