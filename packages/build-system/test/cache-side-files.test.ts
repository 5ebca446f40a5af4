import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSnapshotHint } from '../src/adapters/tsc-snapshot-hint.js';
import { NOOP_RECORDS_KEPT } from '../src/cache/side-files.js';
import { cacheInfo, pruneCache } from '../src/index.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/** What a cache dir holds besides entries (no-op records, kept config evaluations, TypeScript snapshots) is bounded by prune. */

const DAY = 24 * 3600 * 1000;
const temps: string[] = [];
const fixtures: Fixture[] = [];
afterAll(() => {
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
  fixtures.forEach((f) => f.cleanup());
});

function tempCacheDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-side-files-'));
  temps.push(dir);
  return dir;
}

/** Writes `file` with `bytes` bytes, last modified `ageMs` ago. */
function put(file: string, bytes: number, ageMs: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, 'x'.repeat(bytes));
  const t = new Date(Date.now() - ageMs);
  utimesSync(file, t, t);
}

const names = (dir: string) => readdirSync(dir).sort();
const hex = (i: number) => i.toString(16).padStart(32, '0');

describe('cache prune: the files besides entries', () => {
  it('removes old and surplus no-op records with their results, old config evaluations, unused snapshots and dead writers’ temp files; keeps the rest', async () => {
    const cacheDir = tempCacheDir();
    const noop = path.join(cacheDir, 'v1', 'noop');
    // NOOP_RECORDS_KEPT + 2 recent records (the two oldest of them are surplus), one past the age limit, one results file without a record.
    for (let i = 0; i < NOOP_RECORDS_KEPT + 2; i++) {
      put(path.join(noop, `${hex(i)}.json`), 100, (i + 1) * 60_000);
      put(path.join(noop, `${hex(i)}.results.json`), 50, (i + 1) * 60_000);
    }
    put(path.join(noop, `${hex(99)}.json`), 100, 40 * DAY);
    put(path.join(noop, `${hex(99)}.results.json`), 50, 40 * DAY);
    put(path.join(noop, `${hex(98)}.results.json`), 50, 2 * 3600_000);
    put(path.join(noop, `${hex(0)}.json.123.abc.tmp`), 10, 2 * 3600_000);
    put(path.join(noop, `${hex(1)}.json.456.def.tmp`), 10, 60_000); // a writer at work

    const configs = path.join(cacheDir, 'v1', 'configs');
    put(path.join(configs, 'aa.json'), 200, 40 * DAY);
    put(path.join(configs, 'bb.json'), 200, 2 * DAY);

    const snapshots = path.join(cacheDir, 'v1', 'tsc-snapshot');
    const last = 'a'.repeat(32);
    const recent = 'b'.repeat(32);
    const stale = 'c'.repeat(32);
    put(path.join(snapshots, `${last}.blob`), 4000, 5 * DAY);
    put(path.join(snapshots, `${last}.json`), 100, 3 * DAY);
    writeFileSync(path.join(snapshots, 'last.json'), JSON.stringify({ key: last, tsDir: '/nowhere' }));
    put(path.join(snapshots, `${recent}.blob`), 4000, 3 * DAY); // built long ago, used an hour ago:
    put(path.join(snapshots, `${recent}.json`), 100, 3600_000);
    put(path.join(snapshots, `${stale}.blob`), 4000, 3 * DAY);
    put(path.join(snapshots, `${stale}.json`), 100, 2 * DAY);
    put(path.join(snapshots, `${stale}.blob-123-x.tmp`), 3000, 2 * 3600_000);

    const before = await cacheInfo({ cacheDir });
    expect(before.other).toEqual({
      noopRecords: { files: 2 * (NOOP_RECORDS_KEPT + 2) + 5, bytes: (NOOP_RECORDS_KEPT + 3) * 150 + 50 + 20 },
      configEvaluations: { files: 2, bytes: 400 },
      tscSnapshots: { files: 8, bytes: 3 * 4100 + 3000 + readFileBytes(path.join(snapshots, 'last.json')) },
    });

    const report = await pruneCache({ cacheDir });
    const removed = report.removedOther.map((f) => [f.kind, path.relative(cacheDir, f.file), f.reason]).sort();
    expect(removed).toEqual(
      [
        ['noop-record', `v1/noop/${hex(99)}.json`, 'age'],
        ['noop-record', `v1/noop/${hex(99)}.results.json`, 'age'],
        ['noop-record', `v1/noop/${hex(NOOP_RECORDS_KEPT)}.json`, 'count'],
        ['noop-record', `v1/noop/${hex(NOOP_RECORDS_KEPT)}.results.json`, 'count'],
        ['noop-record', `v1/noop/${hex(NOOP_RECORDS_KEPT + 1)}.json`, 'count'],
        ['noop-record', `v1/noop/${hex(NOOP_RECORDS_KEPT + 1)}.results.json`, 'count'],
        ['noop-record', `v1/noop/${hex(98)}.results.json`, 'leftover'],
        ['noop-record', `v1/noop/${hex(0)}.json.123.abc.tmp`, 'leftover'],
        ['config-evaluation', 'v1/configs/aa.json', 'age'],
        ['tsc-snapshot', `v1/tsc-snapshot/${stale}.blob`, 'unused'],
        ['tsc-snapshot', `v1/tsc-snapshot/${stale}.json`, 'unused'],
        ['tsc-snapshot', `v1/tsc-snapshot/${stale}.blob-123-x.tmp`, 'leftover'],
      ].sort(),
    );
    expect(report.removedOther.find((f) => f.file.endsWith(`${stale}.blob`))?.bytes).toBe(4000);
    expect(names(noop)).toHaveLength(2 * NOOP_RECORDS_KEPT + 1);
    expect(existsSync(path.join(noop, `${hex(1)}.json.456.def.tmp`))).toBe(true);
    expect(names(configs)).toEqual(['bb.json']);
    expect(names(snapshots)).toEqual([`${last}.blob`, `${last}.json`, `${recent}.blob`, `${recent}.json`, 'last.json'].sort());

    // A second prune finds nothing more; a shorter age limit takes the last used snapshot too.
    expect((await pruneCache({ cacheDir })).removedOther).toEqual([]);
    const short = await pruneCache({ cacheDir, maxAgeMs: 2.5 * DAY });
    expect(short.removedOther.filter((f) => f.kind === 'tsc-snapshot').map((f) => path.basename(f.file)).sort()).toEqual([`${last}.blob`, `${last}.json`]);
    expect(short.removedOther.filter((f) => f.kind === 'config-evaluation').map((f) => path.basename(f.file))).toEqual([]);
    expect(names(snapshots)).toEqual([`${recent}.blob`, `${recent}.json`, 'last.json'].sort());
  });

  it('a snapshot’s use (its hint written) counts as use: prune goes by it, not by when the blob was built', async () => {
    const cacheDir = tempCacheDir();
    const snapshots = path.join(cacheDir, 'v1', 'tsc-snapshot');
    const used = 'd'.repeat(32);
    const other = 'e'.repeat(32);
    put(path.join(snapshots, `${used}.blob`), 10, 3 * DAY);
    put(path.join(snapshots, `${used}.json`), 10, 3 * DAY);
    put(path.join(snapshots, `${other}.blob`), 10, 3 * DAY);
    put(path.join(snapshots, `${other}.json`), 10, 3 * DAY);
    // Used now, then the other one is used (and named last): the first is no longer "last" but was used today.
    expect(await writeSnapshotHint(snapshots, { key: used, tsDir: '/ts' })).toBeUndefined();
    expect(Date.now() - statSync(path.join(snapshots, `${used}.json`)).mtimeMs).toBeLessThan(DAY);
    expect(await writeSnapshotHint(snapshots, { key: other, tsDir: '/ts' })).toBeUndefined();
    expect((await pruneCache({ cacheDir })).removedOther).toEqual([]);
    // Left unused for two days, it goes; the last used one stays.
    const t = new Date(Date.now() - 2 * DAY);
    utimesSync(path.join(snapshots, `${used}.json`), t, t);
    utimesSync(path.join(snapshots, `${other}.json`), t, t);
    const report = await pruneCache({ cacheDir });
    expect(report.removedOther.map((f) => path.basename(f.file)).sort()).toEqual([`${used}.blob`, `${used}.json`]);
  });

  it('through the CLI: a real run’s no-op record and config evaluation, aged past --max-age, are pruned, and the next run writes them again', async () => {
    const fx = createFixture({
      'package.json': { name: 'fx-side-files', version: '1.0.0', type: 'module', main: 'dist/index.js' },
      'build.config.ts': "export default { adapter: 'esbuild', entry: { index: 'src/index.ts' }, format: ['esm'] };\n",
      'src/index.ts': 'export const answer: number = 42;\n',
    });
    fixtures.push(fx);
    const cacheDir = tempCacheDir();
    const build = await cliRun(['build', '--cache-dir', cacheDir], { cwd: fx.root });
    expect(build.code, build.stderr).toBe(0);
    const noop = path.join(cacheDir, 'v1', 'noop');
    const configs = path.join(cacheDir, 'v1', 'configs');
    // The record, its results, its reads (what a partial run starts from) and its paths' content (a fresh checkout's check).
    expect(names(noop).length).toBe(4);
    expect(names(configs).length).toBe(1);

    const info = await cliRun(['cache', 'info', '--cache-dir', cacheDir], { cwd: fx.root });
    expect(info.stdout).toMatch(/besides entries: no-op records 4 files \([^)]+\), config evaluations 1 \(/);

    const old = new Date(Date.now() - 10 * DAY);
    for (const f of [...names(noop).map((n) => path.join(noop, n)), ...names(configs).map((n) => path.join(configs, n))]) utimesSync(f, old, old);
    const pruned = await cliRun(['cache', 'prune', '--max-age', '7d', '--cache-dir', cacheDir], { cwd: fx.root });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/also removed 5 other files \([^)]+\): 4 no-op record files, 1 config evaluations/);
    expect(names(noop)).toEqual([]);
    expect(names(configs)).toEqual([]);
    // The entry was used just now: it stays, and the next run is a hit that records again.
    const again = await cliRun(['build', '--json', '--cache-dir', cacheDir], { cwd: fx.root });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).results[0].cache.status).toBe('hit');
    expect(names(noop).length).toBe(4);
    expect(names(configs).length).toBe(1);
  });
});

function readFileBytes(file: string): number {
  return statSync(file).size;
}
