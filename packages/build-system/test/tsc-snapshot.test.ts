import { cpSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { emitDeclarations } from '../src/adapters/dts.js';
import { tscAdapter } from '../src/adapters/tsc.js';
import { tscPoolStats } from '../src/adapters/tsc-pool.js';
import { buildPendingSnapshots, dropTscSnapshotPrewarm, forgetSnapshotUses, MAX_JOBS_TO_BUILD, prewarmTscSnapshot, snapshotDir, snapshotKey, tscSnapshotStats } from '../src/adapters/tsc-snapshot.js';
import { readSnapshotHint } from '../src/adapters/tsc-snapshot-hint.js';
import type { AdapterOutput } from '../src/adapters/types.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { linkTypeScript, listFiles, stagingContext, trackedFixtures, TYPESCRIPTS, type LogLine } from './helpers/adapter-ctx.js';
import type { FileTree, Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/**
 * TypeScript 5 declarations from a V8 startup snapshot (src/adapters/tsc-snapshot.ts) against the
 * pool's worker, with the real TypeScript 5.9 and real `node --snapshot-blob` processes. Each
 * snapshot build takes a few seconds, so the cases share one cache dir per TypeScript.
 */

const newFixture = trackedFixtures();
const ts5 = TYPESCRIPTS[0]!.dir;
const cacheDir = mkdtempSync(path.join(tmpdir(), 'bs-tsc-snapshot-'));
// A TypeScript of our own to change (its libs, its version) without touching the repo's.
const ownTs = path.join(cacheDir, 'typescript-copy');
/**
 * Whether our copy and the snapshot built for it are as built: a case that leaves them so says so
 * (its last line), and the next case that needs a snapshot of the copy reuses it instead of copying
 * TypeScript and building one again (~3 s CPU at the lowest priority: far longer on a loaded
 * machine). Cleared by every case that uses the copy as it starts, so a case that fails midway
 * costs the next one a fresh copy, never a snapshot in an unknown state.
 */
let ownTsFits = false;

/** A fresh copy of TypeScript 5.9: new inodes, so a new snapshot key, with no snapshot, want or hint of its own. */
function freshOwnTs(): void {
  rmSync(ownTs, { recursive: true, force: true });
  cpSync(ts5, ownTs, { recursive: true });
  ownTsFits = false;
}

beforeEach(() => {
  // The suite turns snapshots off (vitest.config.ts); they are this file's subject.
  delete process.env.BUILD_SYSTEM_TSC_SNAPSHOT;
  process.env.BUILD_SYSTEM_CACHE_DIR = cacheDir;
  forgetSnapshotUses();
});
afterEach(() => {
  delete process.env.BUILD_SYSTEM_CACHE_DIR;
});
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

const TSCONFIG = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] }, include: ['src'] };

const clean: FileTree = {
  'package.json': { name: 'snap-clean', version: '1.0.0', type: 'module' },
  'tsconfig.json': TSCONFIG,
  'src/index.ts': "export { greet, type Greeting } from './greet.js';\nexport const sizes = new Map<string, number>([['a', 1]]);\n",
  'src/greet.ts': 'export interface Greeting {\n  text: string;\n  at: Date;\n}\n/** Says hello. */\nexport function greet(name: string): Greeting {\n  return { text: `hello ${name}`, at: new Date() };\n}\n',
};

const broken: FileTree = {
  'package.json': { name: 'snap-broken', version: '1.0.0', type: 'module' },
  'tsconfig.json': TSCONFIG,
  'src/index.ts': "export function twice(n: number): number {\n  const s: string = n * 2;\n  return s.length;\n}\n",
};

interface Emit {
  out: AdapterOutput;
  logs: LogLine[];
  written: Record<string, string>;
}

function tsPackage(files: FileTree, tsDir = ts5): Fixture {
  const fx = newFixture(files);
  linkTypeScript(fx, tsDir, 'small');
  return fx;
}

async function emit(fx: Fixture, signal?: AbortSignal): Promise<Emit & { outDir: string }> {
  const pkg = loadPackageInfo(fx.root, new ReadLog());
  const { ctx, logs } = stagingContext(pkg, { adapter: 'esbuild', dts: true }, { available: true, version: '5.9.3', location: ts5 }, signal);
  const out = await emitDeclarations(ctx);
  const written = Object.fromEntries(listFiles(ctx.outDir).map((f) => [f, readFileSync(path.join(ctx.outDir, f), 'utf8')]));
  return { out, logs, written, outDir: ctx.outDir };
}

/** The tsc adapter's full emit (.js and .d.ts) of the package, as a build runs it. */
async function emitWithTsc(fx: Fixture): Promise<Emit> {
  const pkg = loadPackageInfo(fx.root, new ReadLog());
  const { ctx, logs } = stagingContext(pkg, { adapter: 'tsc', dts: true }, { available: true, version: '5.9.3', location: ts5 });
  const out = await tscAdapter.build(ctx);
  const written = Object.fromEntries(listFiles(ctx.outDir).map((f) => [f, readFileSync(path.join(ctx.outDir, f), 'utf8')]));
  return { out, logs, written };
}

/** The package's declarations once with the worker and once from the snapshot (built by the first if missing); checks which path each took. */
/** What the worker writes (the snapshot off), then the snapshot's use counts forgotten: the reference for a run that must not use it. */
async function workerReference(fx: Fixture): Promise<Emit['written']> {
  process.env.BUILD_SYSTEM_TSC_SNAPSHOT = '0';
  const expected = (await emit(fx)).written;
  delete process.env.BUILD_SYSTEM_TSC_SNAPSHOT;
  forgetSnapshotUses();
  return expected;
}

async function bothPaths(fx: Fixture): Promise<{ worker: Emit; snapshot: Emit }> {
  process.env.BUILD_SYSTEM_TSC_SNAPSHOT = '0';
  const poolBefore = tscPoolStats().compiled;
  const worker = await emit(fx);
  delete process.env.BUILD_SYSTEM_TSC_SNAPSHOT;
  expect(tscPoolStats().compiled).toBe(poolBefore + 1);
  await ensureSnapshot(fx);
  const before = { pool: tscPoolStats().compiled, snap: tscSnapshotStats().compiled };
  const snapshot = await emit(fx);
  expect(tscSnapshotStats().compiled).toBe(before.snap + 1);
  expect(tscPoolStats().compiled).toBe(before.pool);
  return { worker, snapshot };
}

/**
 * A snapshot of `tsDir` in the shared cache dir, built the way runs build one when there is none: a
 * first job with no snapshot compiles in the worker; a process that wants one marks it, and the next
 * that wants it builds it for the one after when its work is done. One that is there already is
 * kept: each build costs ~3 s CPU at the lowest priority (far longer on a loaded machine), so the
 * cases that need only a snapshot to exist share the one built first; the cases about building it
 * (or about one that no longer fits) start from none themselves.
 */
async function ensureSnapshot(fx: Fixture, tsDir = ts5): Promise<void> {
  if (existsSync(blobOf(tsDir)) && existsSync(metaOf(tsDir))) return;
  for (let i = 0; i < 2; i++) {
    forgetSnapshotUses();
    await emit(fx);
    await buildPendingSnapshots();
  }
  forgetSnapshotUses();
  expect(existsSync(blobOf(tsDir))).toBe(true);
}

/**
 * The hint a prewarm starts from names TypeScript 5's snapshot: when it names another (the cache
 * dir's last run used our copy), a run compiles from this one, as the last run before a prewarm did.
 */
async function useSnapshot(fx: Fixture): Promise<void> {
  await ensureSnapshot(fx);
  if (readSnapshotHint(cacheDir)?.key === snapshotKey(ts5)) return;
  forgetSnapshotUses();
  const compiled = tscSnapshotStats().compiled;
  await emit(fx);
  expect(tscSnapshotStats().compiled).toBe(compiled + 1);
  expect(readSnapshotHint(cacheDir)).toEqual({ key: snapshotKey(ts5), tsDir: ts5 });
  forgetSnapshotUses();
}

function blobOf(tsDir: string): string {
  return path.join(snapshotDir(cacheDir), `${snapshotKey(tsDir)}.blob`);
}

function metaOf(tsDir: string): string {
  return path.join(snapshotDir(cacheDir), `${snapshotKey(tsDir)}.json`);
}

describe('declarations from the TypeScript 5 snapshot', () => {
  test('the snapshot is built by a run without one, in the cache dir; the same .d.ts files, byte for byte, as the worker', async () => {
    const fx = tsPackage(clean);
    const { worker, snapshot } = await bothPaths(fx);
    expect(existsSync(blobOf(ts5))).toBe(true);
    expect(path.dirname(blobOf(ts5))).toBe(path.join(cacheDir, 'v1', 'tsc-snapshot'));
    // Only the blob, its meta and the hint naming it for the next run's prewarm are left: the builder's entry, temp blob and file list are gone.
    expect(readdirSync(path.dirname(blobOf(ts5))).sort()).toEqual([`${snapshotKey(ts5)}.blob`, `${snapshotKey(ts5)}.json`, `${snapshotKey(ts5)}.wanted`, 'last.json']);
    expect(snapshot.out.ok).toBe(true);
    expect(Object.keys(snapshot.written).sort()).toEqual(['greet.d.ts', 'index.d.ts']);
    expect(snapshot.written).toEqual(worker.written);
    expect(snapshot.out.diagnostics).toEqual(worker.out.diagnostics);
    expect(snapshot.out.reads?.slice().sort()).toEqual(worker.out.reads?.slice().sort());
  });

  test("the tsc adapter's own emit runs from it too: the same .js and .d.ts files, diagnostics and reads as the worker", async () => {
    const fx = tsPackage(clean);
    await ensureSnapshot(fx);
    process.env.BUILD_SYSTEM_TSC_SNAPSHOT = '0';
    const worker = await emitWithTsc(fx);
    delete process.env.BUILD_SYSTEM_TSC_SNAPSHOT;
    forgetSnapshotUses();
    const before = { pool: tscPoolStats().compiled, snap: tscSnapshotStats().compiled };
    const snapshot = await emitWithTsc(fx);
    expect(tscSnapshotStats().compiled).toBe(before.snap + 1);
    expect(tscPoolStats().compiled).toBe(before.pool);
    expect(snapshot.out.ok).toBe(true);
    expect(Object.keys(snapshot.written).sort()).toEqual(['greet.d.ts', 'greet.js', 'index.d.ts', 'index.js']);
    expect(snapshot.written).toEqual(worker.written);
    expect(snapshot.out.diagnostics).toEqual(worker.out.diagnostics);
    expect(snapshot.out.reads?.slice().sort()).toEqual(worker.out.reads?.slice().sort());
  });

  test('a type error: the same diagnostics, with file, line and column, as the worker', async () => {
    const fx = tsPackage(broken);
    const { worker, snapshot } = await bothPaths(fx);
    expect(snapshot.out.ok).toBe(false);
    expect(snapshot.out.diagnostics).toEqual(worker.out.diagnostics);
    expect(snapshot.out.diagnostics).toEqual([expect.objectContaining({ code: 'TS2322', file: 'src/index.ts', line: 2, column: 9 })]);
    expect(snapshot.written).toEqual(worker.written);
  });

  test('only the first job of a TypeScript in a process runs from the snapshot; the next ones use the warm worker', async () => {
    const fx = tsPackage(clean);
    await ensureSnapshot(fx);
    const before = { pool: tscPoolStats().compiled, snap: tscSnapshotStats().compiled };
    await emit(fx);
    await emit(fx);
    expect(tscSnapshotStats().compiled).toBe(before.snap + 1);
    expect(tscPoolStats().compiled).toBe(before.pool + 1);
  });

  test(`a process that ran more than ${MAX_JOBS_TO_BUILD} declaration jobs (a cold build) builds no snapshot; one with fewer does, the second time one wants it`, async () => {
    // Our copy, with no snapshot and no want yet; the snapshot this case builds is then the one the "no longer fits" cases start from.
    freshOwnTs();
    const fx = tsPackage(clean, ownTs);
    expect(existsSync(blobOf(ownTs))).toBe(false);
    const wanted = blobOf(ownTs).replace(/\.blob$/, '.wanted');
    forgetSnapshotUses();
    const built = tscSnapshotStats().built;
    for (let i = 0; i <= MAX_JOBS_TO_BUILD; i++) expect((await emit(fx)).out.ok).toBe(true);
    await buildPendingSnapshots();
    expect(tscSnapshotStats().built).toBe(built);
    expect(existsSync(blobOf(ownTs))).toBe(false);
    expect(existsSync(wanted)).toBe(false);
    // An edit-sized process: the first wants it (and says so), the second builds it.
    for (const expectBuilt of [false, true]) {
      forgetSnapshotUses();
      for (let i = 0; i < MAX_JOBS_TO_BUILD; i++) expect((await emit(fx)).out.ok).toBe(true);
      await buildPendingSnapshots();
      expect(existsSync(wanted)).toBe(true);
      expect(tscSnapshotStats().built).toBe(built + (expectBuilt ? 1 : 0));
      expect(existsSync(blobOf(ownTs))).toBe(expectBuilt);
    }
    forgetSnapshotUses();
    ownTsFits = true;
  });

  test('aborting a job running from the snapshot stops it: no outputs, nothing written later', async () => {
    const fx = tsPackage(clean);
    await ensureSnapshot(fx);
    const ac = new AbortController();
    const poolBefore = tscPoolStats().compiled;
    // Long before the process can have parsed the package (its start alone takes ~0.3 s).
    setTimeout(() => ac.abort(), 30);
    const { out, outDir } = await emit(fx, ac.signal);
    expect(out).toEqual({ ok: false, files: [], diagnostics: [], reads: null });
    expect(tscPoolStats().compiled).toBe(poolBefore);
    // The process was SIGKILLed before spawnLines returned: the staging dir stays empty.
    await buildPendingSnapshots();
    expect(listFiles(outDir)).toEqual([]);
  });
});

describe('a snapshot that no longer fits falls back to the worker and still builds correctly', () => {
  /** Our own copy of TypeScript 5.9 with a snapshot built for it (ownTsFits: the one an earlier case left, when it still fits). */
  async function copyWithSnapshot(): Promise<Fixture> {
    if (!ownTsFits) freshOwnTs();
    ownTsFits = false;
    const fx = tsPackage(clean, ownTs);
    await ensureSnapshot(fx, ownTs);
    expect(existsSync(blobOf(ownTs))).toBe(true);
    return fx;
  }

  async function expectWorkerBuild(fx: Fixture, expected: Record<string, string>): Promise<void> {
    const before = { pool: tscPoolStats().compiled, snap: tscSnapshotStats().compiled };
    const { out, written } = await emit(fx);
    expect(out.ok).toBe(true);
    expect(written).toEqual(expected);
    expect(tscSnapshotStats().compiled).toBe(before.snap);
    expect(tscPoolStats().compiled).toBe(before.pool + 1);
  }

  // The cases that can put the copy back come first; the lib file's new ctime cannot be undone, so that case is last.
  test('another TypeScript version in the same place', async () => {
    const fx = await copyWithSnapshot();
    const oldKey = snapshotKey(ownTs);
    const pkgJson = path.join(ownTs, 'package.json');
    const original = readFileSync(pkgJson, 'utf8');
    writeFileSync(pkgJson, original.replace('"version": "5.9.3"', '"version": "5.9.4"'));
    expect(snapshotKey(ownTs)).not.toBe(oldKey);
    forgetSnapshotUses();
    const expected = await workerReference(fx);
    await expectWorkerBuild(fx, expected);
    await buildPendingSnapshots();
    // 5.9.3 again: the key (version, typescript.js) and the libs are the snapshot's again.
    writeFileSync(pkgJson, original);
    expect(snapshotKey(ownTs)).toBe(oldKey);
    ownTsFits = true;
  });

  test('a damaged blob (same size): the process cannot start, the worker compiles, the next run rebuilds it', async () => {
    const fx = await copyWithSnapshot();
    const expected = await workerReference(fx);
    const blob = blobOf(ownTs);
    const fd = openSync(blob, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xff), 0, 4096, Math.floor(statSync(blob).size / 2));
    closeSync(fd);
    const fellBack = tscSnapshotStats().fellBack;
    const before = { pool: tscPoolStats().compiled, snap: tscSnapshotStats().compiled };
    const { out, written, logs } = await emit(fx);
    expect(out.ok).toBe(true);
    expect(written).toEqual(expected);
    expect(tscSnapshotStats()).toMatchObject({ compiled: before.snap, fellBack: fellBack + 1 });
    expect(tscPoolStats().compiled).toBe(before.pool + 1);
    // V8's fatal trace is not the build's output.
    expect(logs.filter((l) => /Fatal|Check failed|VerifyChecksum/.test(l.line))).toEqual([]);
    // Its meta is gone, so the next run that needs it builds a good one, and uses it after that.
    forgetSnapshotUses();
    await emit(fx);
    await buildPendingSnapshots();
    forgetSnapshotUses();
    const snap = tscSnapshotStats().compiled;
    const again = await emit(fx);
    expect(again.written).toEqual(expected);
    expect(tscSnapshotStats().compiled).toBe(snap + 1);
    ownTsFits = true;
  });

  test('a lib file changed since the snapshot was built', async () => {
    const fx = await copyWithSnapshot();
    const expected = await workerReference(fx);
    const lib = path.join(ownTs, 'lib', 'lib.es5.d.ts');
    const { atime, mtime } = statSync(lib);
    utimesSync(lib, atime, new Date(mtime.getTime() + 1000));
    await expectWorkerBuild(fx, expected);
  });
});

describe('through the CLI', () => {
  test('the first run with one declarations job only marks the snapshot wanted; the second builds it after its output, waits for it, and leaves no process and no temp file behind', async () => {
    const fx = tsPackage({
      ...clean,
      'package.json': { name: 'snap-cli', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } },
      'build.config.ts': "export default { adapter: 'esbuild', format: 'esm', dts: true };\n",
    });
    // --cache-dir: the snapshot goes where the cache goes, and nowhere else.
    const ownCache = fx.path('.ci-cache');
    const dir = path.join(ownCache, 'v1', 'tsc-snapshot');
    const key = snapshotKey(ts5)!;
    // A CI job with a fresh cache is such a run every time: it must not wait for a snapshot nobody will use.
    const first = await cliRun(['build', '--cache-dir', ownCache], { cwd: fx.root, env: { BUILD_SYSTEM_TSC_SNAPSHOT: undefined, BUILD_SYSTEM_CACHE_DIR: undefined } });
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect(readFileSync(fx.path('dist/greet.d.ts'), 'utf8')).toContain('export declare function greet(name: string): Greeting;');
    expect(readdirSync(dir).sort()).toEqual([`${key}.wanted`]);
    writeFileSync(fx.path('src/greet.ts'), readFileSync(fx.path('src/greet.ts'), 'utf8').replace('`hello ', '`hi '));
    const r = await cliRun(['build', '--cache-dir', ownCache], { cwd: fx.root, env: { BUILD_SYSTEM_TSC_SNAPSHOT: undefined, BUILD_SYSTEM_CACHE_DIR: undefined } });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    // The builder's command line names its files in `dir`: no live process may still have them open.
    expect(snapshotProcesses(dir)).toEqual([]);
    // A whole snapshot and its hint, and nothing else.
    expect(readdirSync(dir).sort()).toEqual([`${key}.blob`, `${key}.json`, `${key}.wanted`, 'last.json']);
    expect(existsSync(fx.path('node_modules/.cache/build-system/v1'))).toBe(false); // (the package lock lives beside it, whatever the cache dir)

    // The next run after an edit: the CLI's start file starts a process from it as soon as the no-op replay
    // says no, the run adopts it and hands it the job, and none is left behind.
    writeFileSync(fx.path('src/greet.ts'), readFileSync(fx.path('src/greet.ts'), 'utf8').replace('name: string', 'who: string').replace('${name}', '${who}'));
    const second = await cliRun(['build', '--cache-dir', ownCache], { cwd: fx.root, env: { BUILD_SYSTEM_TSC_SNAPSHOT: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG: '1' } });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('tsc snapshot');
    expect(second.stderr).toMatch(new RegExp(`adopted the process the CLI started at \\d+ ms from ${key}`));
    expect(second.stderr).toContain('compiled in the process started when the run began');
    expect(readFileSync(fx.path('dist/greet.d.ts'), 'utf8')).toContain('export declare function greet(who: string): Greeting;');
    expect(snapshotProcesses(dir)).toEqual([]);

    // Through Nest (no start file), a run with nothing to compile starts one itself and kills it: none is left.
    const noop = await cliRun(['build', '--cache-dir', ownCache], { cwd: fx.root, env: { BUILD_SYSTEM_TSC_SNAPSHOT: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_NO_FAST_PATH: '1', BUILD_SYSTEM_DEBUG: '1' } });
    expect(noop.code).toBe(0);
    expect(noop.stderr).toMatch(/started a process from [0-9a-f]+ while the run loads/);
    expect(noop.stderr).not.toContain('compiled in the process');
    expect(snapshotProcesses(dir)).toEqual([]);
    expect(existsSync(fx.path('node_modules/.cache/build-system/v1'))).toBe(false); // (the package lock lives beside it, whatever the cache dir)
  });
});

/** Live processes whose command line names a file in `dir` (a snapshot's blob). */
function snapshotProcesses(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
}

describe('a process prewarmed from the last used snapshot', () => {
  test('takes the first job: the same .d.ts files as the worker, counted as prewarmed', async () => {
    const fx = tsPackage(clean);
    process.env.BUILD_SYSTEM_TSC_SNAPSHOT = '0';
    const worker = await emit(fx);
    delete process.env.BUILD_SYSTEM_TSC_SNAPSHOT;
    await useSnapshot(fx);
    const before = { ...tscSnapshotStats(), pool: tscPoolStats().compiled };
    prewarmTscSnapshot(cacheDir, readSnapshotHint(cacheDir)!);
    expect(snapshotProcesses(path.dirname(blobOf(ts5)))).toHaveLength(1);
    const warm = await emit(fx);
    expect(tscSnapshotStats()).toMatchObject({ compiled: before.compiled + 1, prewarmed: before.prewarmed + 1, fellBack: before.fellBack });
    expect(tscPoolStats().compiled).toBe(before.pool);
    expect(warm.out.ok).toBe(true);
    expect(warm.written).toEqual(worker.written);
    expect(warm.out.reads?.slice().sort()).toEqual(worker.out.reads?.slice().sort());
    expect(snapshotProcesses(path.dirname(blobOf(ts5)))).toEqual([]);
  });

  test('a type error through it: the same diagnostics as the worker', async () => {
    const fx = tsPackage(broken);
    process.env.BUILD_SYSTEM_TSC_SNAPSHOT = '0';
    const worker = await emit(fx);
    delete process.env.BUILD_SYSTEM_TSC_SNAPSHOT;
    await useSnapshot(tsPackage(clean));
    const prewarmed = tscSnapshotStats().prewarmed;
    prewarmTscSnapshot(cacheDir, readSnapshotHint(cacheDir)!);
    const warm = await emit(fx);
    expect(tscSnapshotStats().prewarmed).toBe(prewarmed + 1);
    expect(warm.out.ok).toBe(false);
    expect(warm.out.diagnostics).toEqual(worker.out.diagnostics);
  });

  test('not used: dropping it kills the process; without a hint none is started', async () => {
    const fx = tsPackage(clean);
    await useSnapshot(fx);
    const dir = path.dirname(blobOf(ts5));
    prewarmTscSnapshot(cacheDir, readSnapshotHint(cacheDir)!);
    const [pid] = snapshotProcesses(dir);
    expect(pid).toBeDefined();
    // Resolved once the process is reaped (no /proc entry, not even a zombie's): the run, and the CLI, ends after it, not beside it.
    await dropTscSnapshotPrewarm();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    // The run reads the hint first and loads tsc-snapshot.ts only when there is one (workspace.service.ts).
    rmSync(path.join(dir, 'last.json'));
    expect(readSnapshotHint(cacheDir)).toBeUndefined();
  });
});
