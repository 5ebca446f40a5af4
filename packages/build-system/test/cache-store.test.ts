import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CacheCorruptError, LocalCacheStore, MANIFEST_VERSION, restoredFileMode, type ManifestDraft } from '../src/cache/store.js';
import { manifestText } from '../src/cache/store-format.js';
import { FileHasher } from '../src/cache/file-hasher.js';
import { packageRoot, repoRoot } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

/**
 * The store on its own: atomicity across real processes (concurrent writers
 * of one key, a writer killed mid-write), eviction rules, and the stat cache.
 */

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function temp(prefix = 'bs-store-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const KEY = sha('one key');
const storeModule = JSON.stringify(path.join(packageRoot, 'src/cache/store.ts'));

/** A child process running `body` (an async script with `LocalCacheStore` in scope) under tsx, with `args` as argv. */
function child(dir: string, name: string, body: string, args: string[]): ChildProcess {
  const script = path.join(dir, `${name}.mts`);
  writeFileSync(
    script,
    [
      "import { mkdirSync, writeFileSync } from 'node:fs';",
      "import { createHash } from 'node:crypto';",
      "import path from 'node:path';",
      `import { LocalCacheStore } from ${storeModule};`,
      'const sha = (d) => createHash("sha256").update(d).digest("hex");',
      'const args = process.argv.slice(2);',
      body,
    ].join('\n'),
  );
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(p: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** Writes a set of artifacts whose bytes name the writer, and a draft for them (script text). */
const WRITER_SETUP = `
const [cacheDir, key, id, startAt, rounds, work] = args;
const src = path.join(work, 'src-' + id);
mkdirSync(src, { recursive: true });
const artifacts = ['index.js', 'index.d.ts', 'chunk.js'].map((name, i) => {
  const data = ('// writer ' + id + ' ' + name + '\\n').repeat(200 + i * 50 + Number(id) * 7);
  writeFileSync(path.join(src, name), data);
  return { path: 'dist/' + name, bytes: Buffer.byteLength(data), sha256: sha(data), kind: 'js', mode: 0o644 };
});
const draft = {
  key, primaryKey: key, package: { name: 'p', dir: '/nowhere/p' }, outDir: 'dist',
  fingerprint: { version: 1, writer: id }, reads: { files: {}, dirs: {}, manifests: {} }, adapter: { name: 'esbuild', version: '0', reason: 'test' },
  durationMs: 1, artifacts, diagnostics: [], logs: [{ stream: 'stdout', line: 'writer ' + id }],
};
const store = new LocalCacheStore(cacheDir);
while (Date.now() < Number(startAt)) {}
`;

describe('store: atomic writes across processes', () => {
  it('four processes writing the same key at once leave one valid entry, whole from one writer; a reader never sees it damaged', async () => {
    const work = temp();
    const cacheDir = path.join(work, 'cache');
    const startAt = String(Date.now() + 1500);
    const writers = ['1', '2', '3', '4'].map((id) =>
      exited(
        child(work, `writer-${id}`, `${WRITER_SETUP}
for (let i = 0; i < Number(rounds); i++) await store.put(draft, (a) => path.join(src, a.path.slice(5)), { replace: i % 3 === 2 });
console.log('done');`, [cacheDir, KEY, id, startAt, '40', work]),
      ),
    );
    const reader = exited(
      child(work, 'reader', `
const [cacheDir, key, startAt] = args;
const store = new LocalCacheStore(cacheDir);
while (Date.now() < Number(startAt)) {}
const seen = { hit: 0, absent: 0, corrupt: [] };
const until = Date.now() + 1500;
while (Date.now() < until) {
  const r = await store.get(key);
  if (r.status === 'corrupt') seen.corrupt.push(r.problem); else seen[r.status]++;
}
console.log(JSON.stringify(seen));`, [cacheDir, KEY, startAt]),
    );
    const results = await Promise.all(writers);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const read = await reader;
    expect(read.code, read.stderr).toBe(0);
    const seen = JSON.parse(read.stdout.trim()) as { hit: number; absent: number; corrupt: string[] };
    expect(seen.corrupt).toEqual([]);
    expect(seen.hit).toBeGreaterThan(0);

    const store = new LocalCacheStore(cacheDir);
    expect(readdirSync(path.join(cacheDir, 'v1/entries'))).toEqual([`${KEY}.json`]);
    const lookup = await store.get(KEY);
    expect(lookup.status).toBe('hit');
    if (lookup.status !== 'hit') return;
    const out = path.join(work, 'restored');
    await lookup.hit.restore(out);
    // Every file is from the writer the manifest names: never a mix of two writers.
    const writer = (lookup.hit.manifest.fingerprint as unknown as { writer: string }).writer;
    for (const name of ['index.js', 'index.d.ts', 'chunk.js']) {
      expect(readFileSync(path.join(out, name), 'utf8').startsWith(`// writer ${writer} ${name}`)).toBe(true);
    }
    // Nothing half-written is left behind.
    expect(readdirSync(path.join(cacheDir, 'v1/tmp'))).toEqual([]);
  });

  it('a writer killed mid-write never leaves an entry that reads as valid but is not; prune clears its leftovers', async () => {
    const work = temp();
    const cacheDir = path.join(work, 'cache');
    const p = child(work, 'crasher', `${WRITER_SETUP}
console.log('writing');
for (let i = 0; ; i++) await store.put({ ...draft, key: sha('k' + i), primaryKey: sha('k' + i) }, (a) => path.join(src, a.path.slice(5)));`, [cacheDir, KEY, '1', '0', '0', work]);
    const done = exited(p);
    await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 400));
    p.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');

    const store = new LocalCacheStore(cacheDir);
    const keys = readdirSync(path.join(cacheDir, 'v1/entries')).map((name) => name.replace(/\.json$/, ''));
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const lookup = await store.get(key);
      expect(lookup.status, key).toBe('hit');
      if (lookup.status === 'hit') await lookup.hit.restore(path.join(work, 'check', key));
    }
    // Leftovers of the killed write, if any, go once they are old enough to be nobody's live write.
    const report = await store.prune({ now: Date.now() + 2 * 3600_000, maxAgeMs: 365 * 86400_000 });
    expect(report.removed).toEqual([]);
    expect(readdirSync(path.join(cacheDir, 'v1/tmp'))).toEqual([]);
    // So do blobs written for an entry whose manifest the kill cut off: every blob left is one a manifest names.
    const named = new Set(keys.flatMap((key) => (JSON.parse(readFileSync(store.manifestFile(key), 'utf8')) as { artifacts: { sha256: string }[] }).artifacts.map((a) => a.sha256)));
    expect(readdirSync(path.join(cacheDir, 'v1/blobs')).filter((name) => !named.has(name))).toEqual([]);
  });
});

function draft(key: string, files: Record<string, string>, work: string): { draft: ManifestDraft; sourceOf: (a: { path: string }) => string } {
  const src = path.join(work, `src-${key.slice(0, 8)}`);
  mkdirSync(src, { recursive: true });
  const artifacts = Object.entries(files).map(([name, data]) => {
    writeFileSync(path.join(src, name), data);
    return { path: `dist/${name}`, bytes: Buffer.byteLength(data), sha256: sha(data), kind: 'js' as const, mode: 0o644 };
  });
  return {
    draft: {
      key,
      primaryKey: key,
      package: { name: 'p', dir: path.join(work, 'pkg') },
      outDir: 'dist',
      fingerprint: {} as ManifestDraft['fingerprint'],
      reads: { files: {}, dirs: {}, manifests: {} },
      adapter: { name: 'esbuild', version: '0', reason: 'test' },
      durationMs: 1,
      artifacts,
      diagnostics: [],
      logs: [],
    },
    sourceOf: (a) => path.join(src, a.path.slice('dist/'.length)),
  };
}

describe('store: eviction and bookkeeping', () => {
  it('prune removes entries unused for maxAge and then least recently used above maxSize; info and removePackage report', async () => {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const keys = ['a', 'b', 'c', 'd'].map((k) => sha(k));
    for (const [i, key] of keys.entries()) {
      const d = draft(key, { 'index.js': 'x'.repeat(1000 * (i + 1)) }, work);
      await store.put(d.draft, d.sourceOf);
    }
    const now = Date.now();
    const setLastUse = (key: string, ago: number) => utimesSync(store.manifestFile(key), (now - ago) / 1000, (now - ago) / 1000);
    setLastUse(keys[0]!, 40 * 86400_000); // a: unused for 40 days
    setLastUse(keys[1]!, 3000); // b: used 3 s ago
    setLastUse(keys[2]!, 1000); // c: used 1 s ago
    setLastUse(keys[3]!, 2000); // d: used 2 s ago

    const info = await store.info();
    expect(info.entries).toBe(4);
    expect(info.packages).toEqual([{ name: 'p', entries: 4, bytes: info.bytes }]);

    const sizes = new Map((await store.list()).map((e) => [e.key, e.bytes]));
    // Room for c and d but not b as well.
    const cap = sizes.get(keys[2]!)! + sizes.get(keys[3]!)! + 10;
    const report = await store.prune({ maxSizeBytes: cap, now });
    expect(report.removed.map((r) => [r.key, r.reason])).toEqual([
      [keys[0], 'age'],
      [keys[1], 'size'],
    ]);
    expect(report.bytes).toBeLessThanOrEqual(cap);
    expect((await store.list()).map((e) => e.key).sort()).toEqual([keys[2], keys[3]].sort());

    expect(await store.removePackage(path.join(work, 'pkg'))).toEqual({ entries: 2, bytes: report.bytes });
    expect(await store.list()).toEqual([]);
    // With the blobs only they named (a's and b's, evicted above, wait for prune's hour: a writer may be about to name them).
    expect(readdirSync(path.join(work, 'cache/v1/blobs')).sort()).toEqual([sha('x'.repeat(1000)), sha('x'.repeat(2000))].sort());
  });

  it('an entry of the layout before (a directory with manifest.json and blobs/) is never read, and pruned as corrupt', async () => {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const old = path.join(work, 'cache/v1/entries', sha('old layout'));
    mkdirSync(path.join(old, 'blobs'), { recursive: true });
    writeFileSync(path.join(old, 'manifest.json'), '{}');
    expect((await store.get(sha('old layout'))).status).toBe('absent');
    writeFileSync(path.join(old, 'blobs', sha('bytes')), 'bytes');
    // And a directory standing where a manifest goes (damage, or by hand): corrupt, removed too.
    const odd = path.join(work, 'cache/v1/entries', `${sha('odd')}.json`);
    mkdirSync(odd);
    expect((await store.get(sha('odd'))).status).toBe('corrupt');
    const report = await store.prune();
    // Reported with the space it took.
    expect(report.removed.map((r) => [r.key, r.reason, r.bytes]).sort()).toEqual([[sha('old layout'), 'corrupt', 2 + 5], [sha('odd'), 'corrupt', 0]].sort());
    expect(existsSync(old)).toBe(false);
    expect(existsSync(odd)).toBe(false);
  });

  it('a manifest that fails its checks, or names a blob by anything but a sha256, is pruned as corrupt; clean does not trip over it', async () => {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const d = draft(sha('edited'), { 'index.js': 'export {};\n' }, work);
    await store.put(d.draft, d.sourceOf);
    const edited = store.manifestFile(sha('edited'));
    writeFileSync(edited, readFileSync(edited, 'utf8').replace('"durationMs":1', '"durationMs":2'));
    // Integrity intact, but a blob named like a path: never a name to remove or keep.
    const odd = draft(sha('odd names'), { 'index.js': 'x\n' }, work).draft;
    const body: Parameters<typeof manifestText>[0] = { manifestVersion: MANIFEST_VERSION, createdAt: new Date().toISOString(), ...odd, artifacts: [{ ...odd.artifacts[0]!, sha256: '../../../outside' }] };
    writeFileSync(store.manifestFile(sha('odd names')), manifestText(body));
    writeFileSync(path.join(work, 'outside'), 'kept');
    expect(await store.removePackage(path.join(work, 'pkg'))).toEqual({ entries: 0, bytes: 0 });
    const report = await store.prune();
    expect(report.removed.map((r) => [r.key, r.reason]).sort()).toEqual([[sha('edited'), 'corrupt'], [sha('odd names'), 'corrupt']].sort());
    expect(readFileSync(path.join(work, 'outside'), 'utf8')).toBe('kept');
  });

  it('blobs are shared by the entries that produced the same bytes; prune removes a blob once no entry names it and it is an hour old', async () => {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const [a, b] = [sha('entry a'), sha('entry b')];
    await store.put(draft(a, { 'index.js': 'shared\n', 'a.js': 'only a\n' }, work).draft, draft(a, { 'index.js': 'shared\n', 'a.js': 'only a\n' }, work).sourceOf);
    const shared = store.blobFile(sha('shared\n'));
    const ino = statSync(shared).ino;
    const d = draft(b, { 'index.js': 'shared\n' }, work);
    await store.put(d.draft, d.sourceOf);
    // The second entry found the bytes there: the same file, touched, not written again.
    expect(statSync(shared).ino).toBe(ino);
    expect(readdirSync(path.join(work, 'cache/v1/blobs')).sort()).toEqual([sha('only a\n'), sha('shared\n')].sort());

    // a evicted (unused for 40 days): its own blob goes, the shared one stays for b.
    const now = Date.now();
    const old = (now - 40 * 86400_000) / 1000;
    utimesSync(store.manifestFile(a), old, old);
    for (const blob of readdirSync(path.join(work, 'cache/v1/blobs'))) utimesSync(store.blobFile(blob), old, old);
    const report = await store.prune({ now });
    expect(report.removed.map((r) => [r.key, r.reason])).toEqual([[a, 'age']]);
    expect(readdirSync(path.join(work, 'cache/v1/blobs'))).toEqual([sha('shared\n')]);
    const lookup = await store.get(b);
    expect(lookup.status).toBe('hit');
    if (lookup.status === 'hit') await lookup.hit.restore(path.join(work, 'restored'));
    expect(readFileSync(path.join(work, 'restored/index.js'), 'utf8')).toBe('shared\n');

    // A blob no entry names yet but written moments ago (a writer before its manifest) is kept.
    writeFileSync(store.blobFile(sha('fresh')), 'fresh');
    await store.prune({ now: Date.now() });
    expect(existsSync(store.blobFile(sha('fresh')))).toBe(true);
    await store.prune({ now: Date.now() + 2 * 3600_000 });
    expect(existsSync(store.blobFile(sha('fresh')))).toBe(false);
    expect(existsSync(store.blobFile(sha('shared\n')))).toBe(true);
  });
});

describe('stat cache (file-hasher)', () => {
  it('an unchanged file is not read again in a later run; a changed one is; a file read once per run', async () => {
    const work = temp();
    const state = path.join(work, 'stats.json');
    const file = path.join(work, 'a.txt');
    writeFileSync(file, 'hello');
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(file, old, old);

    const first = await FileHasher.open(new ReadLog(), state);
    const d1 = await first.hash(file);
    await first.hash(file);
    expect(first.stats).toEqual({ statHits: 0, reads: 1, bytesRead: 5 });
    expect(d1.sha256).toBe(sha('hello'));
    await first.save();

    const second = await FileHasher.open(new ReadLog(), state);
    expect((await second.hash(file)).sha256).toBe(sha('hello'));
    expect(second.stats).toMatchObject({ statHits: 1, reads: 0 });

    // Same size, new content: the stat differs (mtime, ctime), so it is read.
    writeFileSync(file, 'HELLO');
    utimesSync(file, old, old + 1);
    const third = await FileHasher.open(new ReadLog(), state);
    expect((await third.hash(file)).sha256).toBe(sha('HELLO'));
    expect(third.stats.reads).toBe(1);
  });

  it('a file modified moments before it was hashed is not trusted by the next run (racy timestamps)', async () => {
    const work = temp();
    const state = path.join(work, 'stats.json');
    const file = path.join(work, 'fresh.txt');
    writeFileSync(file, 'new');
    const first = await FileHasher.open(new ReadLog(), state);
    await first.hash(file);
    await first.save();
    const second = await FileHasher.open(new ReadLog(), state);
    await second.hash(file);
    expect(second.stats.reads).toBe(1);
  });
});

describe('store: restore trusts nothing but regular blob files and the permission bits it allows', () => {
  /** One entry with the given files (name → [content, recorded mode]). */
  async function entryWith(files: Record<string, [string, number]>) {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const key = sha(`entry ${Object.keys(files).join()}`);
    const d = draft(key, Object.fromEntries(Object.entries(files).map(([n, [text]]) => [n, text])), work);
    d.draft.artifacts = d.draft.artifacts.map((a) => ({ ...a, mode: files[a.path.slice('dist/'.length)]![1] }));
    await store.put(d.draft, d.sourceOf);
    const blob = (name: string) => store.blobFile(sha(files[name]![0]));
    const hit = async () => {
      const lookup = await store.get(key);
      expect(lookup.status).toBe('hit');
      return (lookup as Extract<typeof lookup, { status: 'hit' }>).hit;
    };
    return { work, store, key, blob, hit };
  }

  it('restored modes are the recorded ones & 0o777 & ~umask, never setuid/setgid/sticky or world-writable', async () => {
    const { work, hit } = await entryWith({
      'bin.js': ['#!/usr/bin/env node\n', 0o6777],
      'data.json': ['{}\n', 0o666],
      'sticky.js': ['// s\n', 0o1755],
      'private.js': ['// p\n', 0o600],
    });
    const target = path.join(work, 'staging');
    await (await hit()).restore(target);
    const umask = process.umask();
    const mode = (name: string) => statSync(path.join(target, name)).mode & 0o7777;
    for (const [name, recorded] of [['bin.js', 0o6777], ['data.json', 0o666], ['sticky.js', 0o1755], ['private.js', 0o600]] as const) {
      expect(mode(name), name).toBe(recorded & 0o777 & ~umask & ~0o002);
      expect(mode(name) & 0o7002, name).toBe(0);
    }
    // The bin stays executable (by its owner at least, whatever the umask).
    expect(mode('bin.js') & 0o100).toBe(0o100);
    expect(restoredFileMode(0o4777)).toBe(0o775);
    expect(restoredFileMode(0o666)).toBe(0o664);
  });

  it('a blob replaced by a symbolic link is refused, even to a file with the very same bytes', async () => {
    const { work, store, key, blob, hit } = await entryWith({ 'index.js': ['export const secret = 1;\n', 0o644] });
    // Same bytes outside the cache: size and sha256 still match, so only refusing the link itself stops it.
    const outside = path.join(work, 'outside.js');
    writeFileSync(outside, 'export const secret = 1;\n');
    rmSync(blob('index.js'));
    symlinkSync(outside, blob('index.js'));
    const target = path.join(work, 'staging');
    const restoring = (await hit()).restore(target);
    await expect(restoring).rejects.toThrow(CacheCorruptError);
    await expect(restoring).rejects.toThrow(/blob of dist\/index.js unreadable \(it is a symbolic link\)/);
    expect(existsSync(path.join(target, 'index.js'))).toBe(false);
    // Uploads read blobs the same way.
    await expect(store.readBlob(key, sha('export const secret = 1;\n'))).rejects.toThrow(/symbolic link/);
  });

  it('a blob replaced by a fifo is refused at once instead of waiting for a writer', async () => {
    const { work, blob, hit } = await entryWith({ 'empty.js': ['', 0o644] });
    rmSync(blob('empty.js'));
    expect(spawnSync('mkfifo', [blob('empty.js')]).status).toBe(0);
    // Size 0 like the recorded artifact: the lookup's cheap checks pass; the restore must not open it blocking.
    await expect((await hit()).restore(path.join(work, 'staging'))).rejects.toThrow(/not a regular file/);
  });
});

describe('store: a writer that finds its key published', () => {
  it('keeps the entry there when it is whole, and replaces one with a blob missing (a lookup alone does not look at blobs)', async () => {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const d = draft(KEY, { 'index.js': 'export const a = 1;\n', 'index.d.ts': 'export declare const a = 1;\n' }, work);
    await store.put(d.draft, d.sourceOf);
    const blob = store.blobFile(sha('export const a = 1;\n'));
    const manifestIno = statSync(store.manifestFile(KEY)).ino;
    await store.put(d.draft, d.sourceOf);
    expect(statSync(store.manifestFile(KEY)).ino).toBe(manifestIno);
    rmSync(blob);
    expect((await store.get(KEY)).status).toBe('hit');
    await store.put(d.draft, d.sourceOf);
    expect(readFileSync(blob, 'utf8')).toBe('export const a = 1;\n');
    // A damaged blob of the same size is only found on restore; rewriting the entry with `replace` (as a
    // rebuild after that does) writes its blobs anew.
    writeFileSync(blob, 'export const a = 2;\n');
    await store.put(d.draft, d.sourceOf, { replace: true });
    expect(readFileSync(blob, 'utf8')).toBe('export const a = 1;\n');
  });
});

describe('store: manifest text', () => {
  it('holds its integrity last, the sha256 of the JSON text before it, and is checked by that text; a reformatted or edited one is checked the full way', async () => {
    const work = temp();
    const store = new LocalCacheStore(path.join(work, 'cache'));
    const key = sha('manifest text');
    const d = draft(key, { 'index.js': 'export {};\n' }, work);
    await store.put(d.draft, d.sourceOf);
    const file = store.manifestFile(key);
    const text = readFileSync(file, 'utf8');
    const { integrity, ...rest } = JSON.parse(text) as Record<string, unknown>;
    // The bytes before the integrity key are what it is the sha256 of (so a lookup need not re-serialize),
    // in the order the fields were given (a hit reports diagnostics the way the build printed them).
    const body = text.slice(0, text.lastIndexOf(',"integrity":')) + '}';
    expect(sha(body)).toBe(integrity);
    expect(body).toBe(JSON.stringify(rest));
    expect((await store.get(key)).status).toBe('hit');
    // Written before (integrity over the canonical JSON), in any layout: still a valid entry.
    const canonical = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
    writeFileSync(file, JSON.stringify({ ...rest, integrity: sha(JSON.stringify(canonical(rest))) }, null, 2));
    expect((await store.get(key)).status).toBe('hit');
    // Edited content, whatever the layout: corrupt.
    writeFileSync(file, text.replace('"durationMs":1', '"durationMs":2'));
    expect(await store.get(key)).toEqual({ status: 'corrupt', problem: 'manifest checksum mismatch' });
    writeFileSync(file, JSON.stringify({ ...JSON.parse(text), durationMs: 2 }, null, 2));
    expect(await store.get(key)).toEqual({ status: 'corrupt', problem: 'manifest checksum mismatch' });
  });
});

describe('store: layout', () => {
  it('keeps everything under <cacheDir>/v1 so a layout change never misreads old data', () => {
    const store = new LocalCacheStore('/tmp/x');
    expect(store.root).toBe(path.join('/tmp/x', 'v1'));
    expect(store.statCacheFile('/a/b').startsWith(path.join('/tmp/x', 'v1', 'stats'))).toBe(true);
    expect(existsSync('/tmp/x/v1')).toBe(false);
  });
});
