import { chmodSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readValidRecord, settleRecord } from '../src/cache/noop/check.js';
import { emptyDirs, NOOP_RECORD_VERSION, RACY_WINDOW_MS, type NoopRecord } from '../src/cache/noop/record.js';
import { sha256 } from '../src/util/hash.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/**
 * Settling a no-op record (cache/noop/check.ts settleRecord): entries modified within the racy window
 * of the record's writing are proven by content on every replay; once a replay has proven them and the
 * window has passed, the record is rewritten so later replays trust them by stat. These cases check the
 * rewrite happens then and only then, and that a settled record still sees every change.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function build(fx: Fixture): Promise<{ replayed: boolean; statuses: string[]; stdout: string }> {
  const { code, stdout, stderr } = await cliRun(['build', '--json'], {
    cwd: fx.root,
    env: { BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1' },
  });
  expect(code, stderr).toBe(0);
  const statuses = (JSON.parse(stdout) as { results: { cache: { status: string } }[] }).results.map((r) => r.cache.status);
  return { replayed: stderr.includes('no-op record: replayed'), statuses, stdout };
}

function recordPath(fx: Fixture): string {
  const dir = fx.path('node_modules/.cache/build-system/v1/noop');
  const names = readdirSync(dir).filter((n) => /^[0-9a-f]+\.json$/.test(n));
  expect(names).toHaveLength(1);
  return path.join(dir, names[0]!);
}

const readRecord = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as NoopRecord;
const racyFiles = (r: NoopRecord) => r.files.mtimeMs.filter((mtimeMs) => mtimeMs > r.writtenAt - RACY_WINDOW_MS);

describe('settling a no-op record', () => {
  it('a replay after the racy window rewrites the record so no entry is racy; it still replays and still sees an edit', async () => {
    const fx = createFixture({
      'package.json': { name: 'settle-ws', private: true, workspaces: ['packages/*'] },
      'packages/a/package.json': { name: '@st/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/a/build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'packages/a/src/index.ts': `export const a: string = 'one';\n`,
    });
    fixtures.push(fx);
    const first = await build(fx);
    expect(first.replayed).toBe(false);
    const file = recordPath(fx);
    const written = readRecord(file);
    // The build wrote its outputs and blobs moments before the record: those entries are racy.
    expect(racyFiles(written).length).toBeGreaterThan(0);

    // Wait (not a timing assertion) until every recorded path is older than the window.
    const newest = Math.max(...written.files.mtimeMs, ...written.files.ctimeMs, ...written.dirs.mtimeMs);
    while (Date.now() <= newest + RACY_WINDOW_MS + 50) await sleep(100);

    const second = await build(fx);
    expect(second.replayed).toBe(true);
    const settled = readRecord(file);
    expect(settled.id).toBe(written.id);
    expect(settled.writtenAt).toBeGreaterThan(written.writtenAt);
    expect(racyFiles(settled)).toEqual([]);
    expect(settled.dirs.mtimeMs.filter((m) => m > settled.writtenAt - RACY_WINDOW_MS)).toEqual([]);
    // Same paths and stats, only the racy proofs dropped.
    const { sha256: _settledSha, ...settledStats } = settled.files;
    const { sha256: writtenSha, ...writtenStats } = written.files;
    expect(settledStats).toEqual(writtenStats);
    expect(writtenSha.some((h) => h !== 0)).toBe(true);
    expect(settled.files.sha256.every((h) => h === 0)).toBe(true);

    const third = await build(fx);
    expect(third.replayed).toBe(true);
    expect(third.statuses).toEqual(['hit']);

    fx.write({ 'packages/a/src/index.ts': `export const a: string = 'two';\n` });
    const fourth = await build(fx);
    expect(fourth.replayed).toBe(false);
    expect(fourth.statuses).toEqual(['miss']);
    expect(fx.read('packages/a/dist/index.js')).toContain('two');
  }, 60_000);

  it('lists the files edited last first, so that a replay after the next edit stops at its first stat', async () => {
    const files: Record<string, string | object> = {
      'package.json': { name: 'order-ws', private: true, workspaces: ['packages/*'] },
    };
    for (const n of ['a', 'b', 'c']) {
      files[`packages/${n}/package.json`] = { name: `@or/${n}`, version: '1.0.0', type: 'module', exports: './dist/index.js' };
      files[`packages/${n}/build.config.ts`] = `export default { adapter: 'esbuild' };\n`;
      files[`packages/${n}/src/index.ts`] = `export * from './util.js';\n`;
      files[`packages/${n}/src/util.ts`] = `export const ${n} = 1;\n`;
    }
    const fx = createFixture(files);
    fixtures.push(fx);
    // Every file of the fixture is older than the edit below.
    const past = new Date(Date.now() - 60_000);
    for (const f of Object.keys(files)) utimesSync(fx.path(f), past, past);
    await build(fx);
    fx.write({ 'packages/b/src/util.ts': `export const b = 2;\n` });
    const edited = await build(fx);
    expect(edited.statuses).toEqual(['hit', 'miss', 'hit']);
    const record = readRecord(recordPath(fx));
    const first = path.join(record.dirTable[record.files.dir[0]!]![1], record.files.base[0]!);
    expect(first).toBe(path.join('src', 'util.ts'));
    expect(record.dirTable[record.dirTable[record.files.dir[0]!]![0]]![1]).toBe('b');
  }, 60_000);

  it('a record checked while an entry is still within the racy window is left as it is', () => {
    const fx = createFixture({ 'src/f.ts': `export const f = 1;\n` });
    fixtures.push(fx);
    const src = fx.path('src/f.ts');
    // A fresh ctime for the entry: whatever time the fixture took to write, it is recent now.
    chmodSync(src, 0o644);
    const st = statSync(src);
    const record: NoopRecord = {
      version: NOOP_RECORD_VERSION,
      key: 'k',
      id: 'i',
      writtenAt: Date.now(),
      root: fx.root,
      graph: [],
      built: [],
      dirTable: [[-1, fx.path('src')]],
      files: { dir: [0], base: ['f.ts'], size: [st.size], mtimeMs: [st.mtimeMs], ctimeMs: [st.ctimeMs === st.mtimeMs ? 0 : st.ctimeMs], ino: [st.ino], sha256: [sha256(readFileSync(src))] },
      dirs: emptyDirs(),
      absent: { dir: [], base: [] },
      links: [],
      manifests: [],
      env: {},
      ownNames: [],
    };
    const file = fx.path('record.json');
    const text = JSON.stringify(record);
    writeFileSync(file, text);
    const valid = readValidRecord(file, 'k');
    expect(valid).not.toBeNull();
    settleRecord(file, valid!);
    expect(readFileSync(file, 'utf8')).toBe(text);
    // A record whose columns disagree in length is not one this program wrote: no replay.
    writeFileSync(file, JSON.stringify({ ...record, files: { ...record.files, base: [] } }));
    expect(readValidRecord(file, 'k')).toBeNull();
    writeFileSync(file, JSON.stringify({ ...record, absent: { dir: [0], base: [] } }));
    expect(readValidRecord(file, 'k')).toBeNull();
  });
});

describe('a replay touches the entries it serves', () => {
  it('not one used in the last ten minutes (eviction goes by days); one used an hour ago, yes', async () => {
    const fx = createFixture({
      'package.json': { name: 'touch-ws', private: true, workspaces: ['packages/*'] },
      'packages/a/package.json': { name: '@tc/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/a/build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'packages/a/src/index.ts': `export const a: number = 1;\n`,
    });
    fixtures.push(fx);
    await build(fx);
    expect((await build(fx)).replayed).toBe(true);
    const entries = fx.path('node_modules/.cache/build-system/v1/entries');
    const manifest = path.join(entries, readdirSync(entries)[0]!);
    const recent = new Date(Date.now() - 60_000);
    utimesSync(manifest, recent, recent);
    expect((await build(fx)).replayed).toBe(true);
    // Not touched: the time set above, give or take utimes' rounding.
    expect(Math.abs(statSync(manifest).mtimeMs - recent.getTime())).toBeLessThan(1);
    const old = new Date(Date.now() - 3600_000);
    utimesSync(manifest, old, old);
    expect((await build(fx)).replayed).toBe(true);
    expect(statSync(manifest).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  }, 60_000);
});
