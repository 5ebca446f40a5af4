import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTar, parseTar } from '../src/cache/remote/tar.js';
import type { RunResult } from '../src/index.js';
import { cliPath, createFixture, snapshotTree, type FileTree, type Fixture } from './helpers/fixture.js';
import { startRemoteCacheServer, startSilentServer, type RemoteServer } from './helpers/remote-server.js';
import { esbuildConfigSource } from './helpers/workspace.js';
import { ustarHeader } from './helpers/hostile-remote.js';

/**
 * The remote cache end to end: the real CLI against the real
 * `turborepo-remote-cache` server (filesystem storage in a temp dir), two
 * copies of one workspace standing for two machines. Adapter runs are
 * counted by an esbuild plugin appending to the file named by
 * $BS_REMOTE_MARKER (an env var, so the config text — part of the cache key —
 * is the same in every copy).
 */

const TOKEN = `tok-${randomBytes(12).toString('hex')}`;
/** The team of servers a test has to itself (the silent one); on the shared server each test has its own team. */
const TEAM = 'bs-team';
const PACKAGES = ['core', 'util', 'app', 'solo'] as const;

const fixtures: Fixture[] = [];
const temps: string[] = [];
const servers: RemoteServer[] = [];
let shared: Promise<RemoteServer> | undefined;
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});
afterAll(async () => {
  await (await shared)?.stop();
  fixtures.forEach((f) => f.cleanup());
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(prefix = 'bs-remote-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** A test's view of a server: its team there, and the artifact files that test made (tags included). */
interface Remote {
  url: string;
  storage: string;
  team: string;
  files(): string[];
  kill(): Promise<void>;
}

let teams = 0;

/**
 * One server process is shared by the tests that need nothing special of it (starting one costs
 * more than most runs against it): each test gets a team of its own there, and sees only the files
 * it made, as with a fresh server. A server that stores tags, or one the test kills, is its own.
 */
async function server(opts: { signatureKey?: string; own?: boolean } = {}): Promise<Remote> {
  const team = `bs-team-${++teams}`;
  let s: RemoteServer;
  if (opts.signatureKey || opts.own) {
    s = await startRemoteCacheServer({ token: TOKEN, signatureKey: opts.signatureKey });
    servers.push(s);
  } else {
    shared ??= startRemoteCacheServer({ token: TOKEN });
    s = await shared;
  }
  const before = new Set(s.files());
  return { url: s.url, storage: s.storage, team, files: () => s.files().filter((f) => !before.has(f)), kill: () => s.kill() };
}

/**
 * The marker file and the delay come from a file the test writes into the workspace's node_modules before each
 * run (cli below): the config text (part of the cache key) is the same on every "machine", and so is what the
 * plugin reads of the env — an env var read in onStart would be keyed (adapters/plugin-reads.ts), and each
 * machine's marker path differs.
 */
function configSource(name: string): string {
  return esbuildConfigSource('count-adapter-runs', [
    `const instrument = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(build.initialOptions.absWorkingDir + '/../../node_modules/${INSTRUMENT}', 'utf8')));`,
    `if (instrument.marker) appendFileSync(instrument.marker, ${JSON.stringify(`${name}\n`)});`,
    'if (instrument.delay) await new Promise((resolve) => setTimeout(resolve, instrument.delay));',
  ]);
}
const INSTRUMENT = '.bs-remote-test.json';

/** One "machine": a workspace where app → util → core, and solo stands alone (so two packages start at once). */
function machine(): Fixture {
  const files: FileTree = { 'package.json': { name: 'remote-root', private: true, workspaces: ['packages/*'] } };
  const deps: Record<string, string[]> = { core: [], util: ['core'], app: ['util', 'core'], solo: [] };
  for (const key of PACKAGES) {
    const name = `@r/${key}`;
    files[`packages/${key}/package.json`] = {
      name,
      version: '1.0.0',
      type: 'module',
      exports: './dist/index.js',
      bin: key === 'app' ? { app: './dist/index.js' } : undefined,
      dependencies: Object.fromEntries(deps[key]!.map((d) => [`@r/${d}`, '1.0.0'])),
    };
    files[`packages/${key}/src/index.ts`] =
      key === 'app' ? `#!/usr/bin/env node\nexport const name: string = ${JSON.stringify(name)};\nconsole.log(name);\n` : `export const name: string = ${JSON.stringify(name)};\nexport const size = ${key.length};\n`;
    files[`packages/${key}/build.config.ts`] = configSource(name);
  }
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  json(): RunResult;
}

/** The CLI, asynchronously (servers in this process keep answering), with no remote settings inherited from the outer env. */
function cli(args: string[], opts: { cwd: string; env?: Record<string, string>; onStderr?: (text: string) => void }): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('BUILD_SYSTEM_') || k.startsWith('TURBO_') || k === 'FORCE_COLOR') delete env[k];
  const { BS_REMOTE_MARKER, BS_REMOTE_DELAY_MS, ...rest } = opts.env ?? {};
  Object.assign(env, rest);
  mkdirSync(path.join(opts.cwd, 'node_modules'), { recursive: true });
  writeFileSync(path.join(opts.cwd, 'node_modules', INSTRUMENT), JSON.stringify({ marker: BS_REMOTE_MARKER ?? '', delay: Number(BS_REMOTE_DELAY_MS ?? 0) }));
  const started = Date.now();
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    opts.onStderr?.(stderr);
  });
  return new Promise((resolve) =>
    child.on('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        ms: Date.now() - started,
        json: () => JSON.parse(stdout) as RunResult,
      }),
    ),
  );
}

function remoteFlags(srv: { url: string; team?: string }, extra: string[] = []): string[] {
  return ['--remote-cache-url', srv.url, '--remote-cache-token', TOKEN, '--remote-cache-team', srv.team ?? TEAM, ...extra];
}

function markerFile(): string {
  const f = path.join(tempDir('bs-remote-marker-'), 'adapter-runs');
  writeFileSync(f, '');
  return f;
}

function adapterRuns(marker: string): string[] {
  return readFileSync(marker, 'utf8').split('\n').filter(Boolean).sort();
}

function byName(run: RunResult) {
  return Object.fromEntries(run.results.map((r) => [r.package.name.slice(3), r]));
}

/** Every file below dir (following nothing), as text. */
function allFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const abs = path.join(d, n);
      const st = statSync(abs, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(abs);
      else if (st.isFile()) out.push(abs);
    }
  };
  walk(dir);
  return out;
}

function countMatches(text: string, re: RegExp): number {
  return (text.match(new RegExp(re.source, 'g')) ?? []).length;
}

/** Machine A builds everything and uploads; returns its --json run. */
async function buildAndUpload(srv: Remote, extra: string[] = []): Promise<{ fx: Fixture; run: RunResult; marker: string }> {
  const fx = machine();
  const marker = markerFile();
  const r = await cli(['build', '--json', ...remoteFlags(srv, extra)], { cwd: fx.root, env: { BS_REMOTE_MARKER: marker } });
  expect(r.code, r.stderr).toBe(0);
  return { fx, run: r.json(), marker };
}

describe('remote cache against turborepo-remote-cache', () => {
  it('machine A builds and uploads; machine B gets remote hits for every package, byte-identical, with no adapter run', async () => {
    const srv = await server();
    const outputs: string[] = [];
    const summaryFile = path.join(tempDir(), 'summary.json');

    // Machine A: token by flag.
    const a = machine();
    const markerA = markerFile();
    const ra = await cli(['build', '--json', '--summary', summaryFile, ...remoteFlags(srv)], { cwd: a.root, env: { BS_REMOTE_MARKER: markerA } });
    outputs.push(ra.stdout, ra.stderr, readFileSync(summaryFile, 'utf8'));
    expect(ra.code, ra.stderr).toBe(0);
    const runA = ra.json();
    expect(adapterRuns(markerA)).toEqual(['@r/app', '@r/core', '@r/solo', '@r/util']);
    expect(runA.results.every((r) => r.cache.status === 'miss')).toBe(true);
    // The run ended after its uploads: every artifact is on the server, named by its key under the team.
    expect(runA.cache?.remote).toMatchObject({ status: 'enabled', uploads: { done: 4, failed: 0, skipped: 0 }, downloads: { hits: 0, misses: 4 }, warnings: [] });
    // Stored under the fingerprint's key: what another machine can compute before it builds.
    expect(srv.files()).toEqual(runA.results.map((r) => `${srv.team}/${r.cache.fingerprintKey}`).sort());
    // The server's artifact is a gzip (Node 20 has no zstd) tar with our manifest, logs and the outputs.
    const core = byName(runA).core!;
    expect(readFileSync(path.join(srv.storage, srv.team, core.cache.fingerprintKey!)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    // Machine B: an identical copy elsewhere, empty local cache, token by env.
    const b = machine();
    const markerB = markerFile();
    const envB = { BUILD_SYSTEM_REMOTE_CACHE_URL: srv.url, BUILD_SYSTEM_REMOTE_CACHE_TOKEN: TOKEN, BUILD_SYSTEM_REMOTE_CACHE_TEAM: srv.team, BS_REMOTE_MARKER: markerB };
    expect(existsSync(b.path('node_modules/.cache'))).toBe(false);
    // A leftover in B's outDir: a restore through the build's swap (clean: true) removes it; a plain copy would not.
    b.write({ 'packages/core/dist/stale.js': 'old\n' });
    const rb = await cli(['build', '--json'], { cwd: b.root, env: envB });
    outputs.push(rb.stdout, rb.stderr);
    expect(rb.code, rb.stderr).toBe(0);
    const runB = rb.json();
    expect(adapterRuns(markerB)).toEqual([]);
    for (const key of PACKAGES) {
      const r = byName(runB)[key]!;
      expect(r.status).toBe('success');
      expect(r.cache).toMatchObject({ status: 'hit', source: 'remote', restored: true, key: byName(runA)[key]!.cache.key });
      const distA = snapshotTree(a.path('packages', key, 'dist'));
      expect(Object.keys(distA).length).toBeGreaterThan(0);
      expect(snapshotTree(b.path('packages', key, 'dist'))).toEqual(distA);
    }
    // The bin keeps its executable bit across machines.
    expect(statSync(b.path('packages/app/dist/index.js')).mode & 0o111).not.toBe(0);
    expect(runB.cache).toMatchObject({ hits: { local: 0, remote: 4 }, misses: 0, remote: { downloads: { hits: 4 }, uploads: { done: 0 } } });

    // B again: now local hits, and the server is not even asked.
    const rb2 = await cli(['build', '--json'], { cwd: b.root, env: envB });
    outputs.push(rb2.stdout, rb2.stderr);
    expect(rb2.json().cache).toMatchObject({ hits: { local: 4, remote: 0 }, remote: { status: 'not-contacted' } });

    // Machine C with turbo's env names, human output: the summary counts both kinds of hits.
    const c = machine();
    const rc = await cli(['build'], { cwd: c.root, env: { TURBO_API: srv.url, TURBO_TOKEN: TOKEN, TURBO_TEAM: srv.team } });
    outputs.push(rc.stdout, rc.stderr);
    expect(rc.code, rc.stderr).toBe(0);
    expect(rc.stdout).toContain('4 packages: 4 built (4 cached: 0 local, 4 remote)');
    expect(rc.stdout).toContain('@r/core: ✔ built with esbuild');
    expect(rc.stdout).toMatch(/remote cache hit, restored/);

    // The token appears in no output, summary, result, cache file or lock record of any machine.
    for (const text of outputs) expect(text).not.toContain(TOKEN);
    for (const fx of [a, b, c]) for (const f of allFiles(fx.root)) expect(readFileSync(f, 'latin1').includes(TOKEN), f).toBe(false);
  });

  it('the lock owner record of a running build shows the command line without the token', async () => {
    const srv = await server();
    const fx = machine();
    const lockDir = fx.path('packages/core/node_modules/.cache/build-system/lock');
    const seen: string[] = [];
    // The build writes its owner record to a temp file, renames it, and removes the lock dir when it ends:
    // a file listed here may be gone by the time it is read (that look just sees nothing).
    const readIfThere = (f: string) => {
      try {
        return readFileSync(f, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw e;
      }
    };
    const poll = setInterval(() => {
      let files: string[] = [];
      try {
        files = existsSync(lockDir) ? allFiles(lockDir) : [];
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      for (const f of files) {
        const text = readIfThere(f);
        if (text.includes('commandLine')) seen.push(text);
      }
    }, 20);
    try {
      const r = await cli(['build', '@r/core', ...remoteFlags(srv, ['--remote-cache-signature-key', 'sig-value-1234'])], { cwd: fx.root, env: { BS_REMOTE_DELAY_MS: '800' } });
      expect(r.code, r.stderr).toBe(0);
    } finally {
      clearInterval(poll);
    }
    expect(seen.length).toBeGreaterThan(0);
    for (const text of seen) {
      expect(text).toContain('--remote-cache-token [redacted]');
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('sig-value-1234');
    }
  });

  it('a wrong token: one clear warning, every package still builds', async () => {
    const srv = await server();
    const fx = machine();
    const marker = markerFile();
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const r = await cli(['build', '--json', '--remote-cache-url', srv.url, '--remote-cache-team', srv.team], {
      cwd: fx.root,
      env: { BUILD_SYSTEM_REMOTE_CACHE_TOKEN: wrong, BS_REMOTE_MARKER: marker },
    });
    expect(r.code, r.stderr).toBe(0);
    const run = r.json();
    expect(run.results.every((x) => x.status === 'success' && x.cache.status === 'miss')).toBe(true);
    expect(adapterRuns(marker)).toHaveLength(4);
    // core and solo look up at the same time: still exactly one warning.
    expect(countMatches(r.stderr, /warning/), r.stderr).toBe(1);
    expect(r.stderr).toMatch(/remote cache disabled for this run: http:\/\/127\.0\.0\.1:\d+ refused the credentials \(GET \/v8\/artifacts\/[0-9a-f]{12}…: HTTP 401: Invalid authorization token\)/);
    expect(run.cache?.remote).toMatchObject({ status: 'disabled', uploads: { done: 0 } });
    expect(run.cache?.remote?.warnings).toHaveLength(1);
    expect(run.results.flatMap((x) => x.diagnostics)).toEqual([]);
    expect(srv.files()).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });

  it('read-only never uploads, and still reads', async () => {
    const srv = await server();
    const ro = machine();
    const r = await cli(['build', '--json', ...remoteFlags(srv, ['--remote-cache-read-only'])], { cwd: ro.root });
    expect(r.code, r.stderr).toBe(0);
    expect(srv.files()).toEqual([]);
    expect(r.json().cache?.remote).toMatchObject({ readOnly: true, uploads: { done: 0, failed: 0 } });

    // Once a trusted machine has uploaded, a read-only one gets the hits (and still writes nothing).
    await buildAndUpload(srv);
    const before = srv.files();
    const reader = machine();
    const marker = markerFile();
    const r2 = await cli(['build', '--json'], { cwd: reader.root, env: { TURBO_API: srv.url, TURBO_TOKEN: TOKEN, TURBO_TEAM: srv.team, BUILD_SYSTEM_REMOTE_CACHE_READ_ONLY: '1', BS_REMOTE_MARKER: marker } });
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.json().cache?.hits).toEqual({ local: 0, remote: 4 });
    expect(adapterRuns(marker)).toEqual([]);
    expect(srv.files()).toEqual(before);
  });

  it('signed artifacts: hits when both sides share the key; a tampered tag or artifact is a miss with a warning and a rebuild', async () => {
    const sig = `sig-${randomBytes(8).toString('hex')}`;
    // The server needs a key of its own only to store and return tags; it never verifies them.
    const srv = await server({ signatureKey: 'server-stores-tags' });
    const { run: runA } = await buildAndUpload(srv, ['--remote-cache-signature-key', sig]);
    const keyOf = (name: string) => byName(runA)[name]!.cache.fingerprintKey!;
    expect(srv.files().filter((f) => f.endsWith('.tag'))).toHaveLength(4);

    const signedRun = async (env: Record<string, string> = {}) => {
      const fx = machine();
      const marker = markerFile();
      const r = await cli(['build', '--json', ...remoteFlags(srv)], { cwd: fx.root, env: { BUILD_SYSTEM_REMOTE_CACHE_SIGNATURE_KEY: sig, BS_REMOTE_MARKER: marker, ...env } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(sig);
      return { r, run: r.json(), runs: adapterRuns(marker) };
    };

    const ok = await signedRun();
    expect(ok.runs).toEqual([]);
    expect(ok.run.cache?.hits).toEqual({ local: 0, remote: 4 });

    // A tag that is valid base64 but not this artifact's.
    const tagFile = path.join(srv.storage, srv.team, `${keyOf('core')}.tag`);
    const goodTag = readFileSync(tagFile, 'utf8');
    writeFileSync(tagFile, Buffer.alloc(32, 7).toString('base64'));
    const badTag = await signedRun();
    expect(badTag.runs).toEqual(['@r/core']);
    expect(byName(badTag.run).core!.cache.status).toBe('miss');
    expect(byName(badTag.run).core!.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/remote cache artifact [0-9a-f]{12} refused: its x-artifact-tag does not match.*building locally/)]);
    // core rebuilt to the same bytes, so its dependents' keys are unchanged: still remote hits.
    for (const k of ['util', 'app', 'solo']) expect(byName(badTag.run)[k]!.cache).toMatchObject({ status: 'hit', source: 'remote' });
    expect(badTag.run.cache?.remote?.downloads.rejected).toBe(1);

    // The right tag, but one byte of the artifact changed.
    writeFileSync(tagFile, goodTag);
    const artifact = path.join(srv.storage, srv.team, keyOf('core'));
    const bytes = readFileSync(artifact);
    bytes[bytes.byteLength >> 1]! ^= 0xff;
    writeFileSync(artifact, bytes);
    const badBody = await signedRun();
    expect(badBody.runs).toEqual(['@r/core']);
    expect(byName(badBody.r.json()).core!.diagnostics[0]!.message).toMatch(/x-artifact-tag does not match/);
    expect(badBody.r.stderr).toMatch(/@r\/core:.*warning CACHE: remote cache artifact/);

    // A reader with another key refuses everything.
    const otherKey = await signedRun({ BUILD_SYSTEM_REMOTE_CACHE_SIGNATURE_KEY: 'another-key' });
    expect(otherKey.runs).toHaveLength(4);
  });

  it('with a signature key, an unsigned artifact is refused', async () => {
    // This server keeps no tags: what machine A signed arrives without one.
    const srv = await server();
    await buildAndUpload(srv, ['--remote-cache-signature-key', 'k-123456']);
    const fx = machine();
    const marker = markerFile();
    const r = await cli(['build', '--json', ...remoteFlags(srv, ['--remote-cache-signature-key', 'k-123456'])], { cwd: fx.root, env: { BS_REMOTE_MARKER: marker } });
    expect(r.code, r.stderr).toBe(0);
    expect(adapterRuns(marker)).toHaveLength(4);
    for (const res of r.json().results) expect(res.diagnostics[0]?.message).toMatch(/refused: it has no x-artifact-tag/);
  });

  it('a crafted artifact with ../ entries is refused and nothing is written outside the package', async () => {
    const srv = await server();
    const { run: runA } = await buildAndUpload(srv);
    const coreKey = byName(runA).core!.cache.fingerprintKey!;
    const unique = `bs-escape-${randomBytes(6).toString('hex')}`;
    const entries = [`../../../../../../../../${unique}-1.txt`, `files/dist/../../../${unique}-2.txt`, `../${unique}-3.txt`];
    // Written with a raw header here (our writer refuses such paths), then served under core's key.
    const tar = Buffer.concat([...entries.flatMap((name) => [ustarHeader(name, 4), Buffer.concat([Buffer.from('evil'), Buffer.alloc(508)])]), Buffer.alloc(1024)]);
    await put(srv, coreKey, gzipSync(tar));

    const b = machine();
    const marker = markerFile();
    const r = await cli(['build', '--json', ...remoteFlags(srv)], { cwd: b.root, env: { BS_REMOTE_MARKER: marker } });
    expect(r.code, r.stderr).toBe(0);
    const core = byName(r.json()).core!;
    expect(core.cache.status).toBe('miss');
    expect(core.diagnostics[0]!.message).toMatch(/refused: .*"\.\." in a path; building locally/);
    expect(adapterRuns(marker)).toEqual(['@r/core']);
    // Wherever a naive extractor would have put them: nowhere.
    const cacheTmp = b.path('node_modules/.cache/build-system/v1/tmp/remote-x');
    for (const base of [b.root, b.path('packages/core'), b.path('packages/core/dist'), cacheTmp, tmpdir(), '/']) {
      for (const e of entries) {
        const target = path.resolve(base, e);
        expect(existsSync(target), target).toBe(false);
      }
    }
    expect(allFiles(b.root).filter((f) => f.includes(unique))).toEqual([]);
    expect(readdirSync(tmpdir()).filter((f) => f.includes(unique))).toEqual([]);
    // The rebuilt core equals machine A's.
    expect(core.artifacts.map((x) => x.sha256)).toEqual(byName(runA).core!.artifacts.map((x) => x.sha256));
  });

  it('forged artifacts: links, absolute paths and devices are refused; setuid, setgid, sticky and world-writable modes are masked', async () => {
    const srv = await server();
    const { run: runA } = await buildAndUpload(srv);
    const keyOf = (name: string) => byName(runA)[name]!.cache.fingerprintKey!;
    const unique = `bs-forged-${randomBytes(6).toString('hex')}`;
    const entry = (name: string, opts: { type?: string; link?: string; data?: string } = {}) => {
      const data = Buffer.from(opts.data ?? '');
      const header = ustarHeader(name, data.byteLength, opts);
      return Buffer.concat([header, data, Buffer.alloc((512 - (data.byteLength % 512)) % 512)]);
    };
    const forge = (...entries: Buffer[]) => gzipSync(Buffer.concat([...entries, Buffer.alloc(1024)]));
    // app (its inputs do not change when core and util are rebuilt to the same bytes): the real artifact, every mode 0o6777.
    const real = await parseTar(gunzipSync(readFileSync(path.join(srv.storage, srv.team, keyOf('app')))));
    const remoteManifest = JSON.parse((real[0] as { data: Buffer }).data.toString()) as { artifacts: { mode: number }[] };
    for (const a of remoteManifest.artifacts) a.mode = 0o6777;
    const setuid = gzipSync(
      createTar(real.flatMap((e) => (e.type !== 'file' ? [] : [{ path: e.path, data: e.path === 'build-system.json' ? Buffer.from(JSON.stringify(remoteManifest)) : e.data, mode: 0o6777 }]))),
    );
    const rounds: Record<string, [Buffer, RegExp]>[] = [
      {
        core: [forge(entry('files/dist/index.js', { type: '2', link: '/etc/passwd' })), /index.js -> "\/etc\/passwd": link points outside the package \(absolute target\)/],
        util: [forge(entry('files/dist/index.js', { type: '1', link: 'build-system.json' })), /files\/dist\/index.js is a hard link; build-system artifacts hold only regular files/],
        solo: [forge(entry('files/dist/tty', { type: '3' })), /"files\/dist\/tty" has entry type "3"; only files and directories are allowed/],
      },
      {
        core: [forge(entry(`/tmp/${unique}.txt`, { data: 'evil' })), /"\/tmp\/bs-forged-[0-9a-f]+\.txt": absolute path/],
        util: [forge(entry('files/dist/link', { type: '2', link: '../../../../../etc' })), /link points outside the package/],
        solo: [forge(entry('files/dist/fifo', { type: '6' })), /has entry type "6"/],
      },
    ];
    await put(srv, keyOf('app'), setuid);
    for (const round of rounds) {
      for (const [name, [body]] of Object.entries(round)) await put(srv, keyOf(name), body);
      const fx = machine();
      const marker = markerFile();
      const r = await cli(['build', '--json', ...remoteFlags(srv)], { cwd: fx.root, env: { BS_REMOTE_MARKER: marker } });
      expect(r.code, r.stderr).toBe(0);
      const run = r.json();
      expect(adapterRuns(marker)).toEqual(['@r/core', '@r/solo', '@r/util']);
      for (const [name, [, reason]] of Object.entries(round)) {
        expect(byName(run)[name]!.cache.status).toBe('miss');
        expect(byName(run)[name]!.diagnostics[0]!.message).toMatch(new RegExp(`refused: .*${reason.source}.*; building locally`));
      }
      // app came from the forged artifact, with only the permission bits a restore allows.
      expect(byName(run).app!.cache).toMatchObject({ status: 'hit', source: 'remote' });
      const mode = statSync(fx.path('packages/app/dist/index.js')).mode & 0o7777;
      expect(mode & 0o7000).toBe(0);
      expect(mode & 0o002).toBe(0);
      expect(mode).toBe(0o777 & ~process.umask() & ~0o002);
      expect(existsSync(`/tmp/${unique}.txt`)).toBe(false);
      expect(allFiles(fx.root).filter((f) => f.includes(unique))).toEqual([]);
    }
  });

  it('the server killed mid-run: the run finishes within the timeouts, exit code 0', async () => {
    const srv = await server({ own: true });
    const fx = machine();
    const marker = markerFile();
    let killed = false;
    const killWhenCoreUploaded = setInterval(() => {
      if (!killed && srv.files().length > 0) {
        killed = true;
        void srv.kill();
      }
    }, 20);
    try {
      const r = await cli(['build', '--json', ...remoteFlags(srv, ['--remote-cache-timeout', '2', '--remote-cache-connect-timeout', '1'])], {
        cwd: fx.root,
        env: { BS_REMOTE_MARKER: marker, BS_REMOTE_DELAY_MS: '700' },
      });
      expect(killed, 'the server was killed while the run went on').toBe(true);
      expect(r.code, r.stderr).toBe(0);
      const run = r.json();
      expect(run.results.map((x) => x.status)).toEqual(['success', 'success', 'success', 'success']);
      expect(adapterRuns(marker)).toHaveLength(4);
      for (const key of PACKAGES) expect(existsSync(fx.path('packages', key, 'dist/index.js'))).toBe(true);
      expect(countMatches(r.stderr, /remote cache disabled for this run/), r.stderr).toBe(1);
      expect(run.cache?.remote?.status).toBe('disabled');
      // After the kill, one failed request (and its retry) turned the remote off; every later upload
      // was skipped, not tried against the dead server one by one. (The upload the server stored may
      // still count as failed: it can die before its answer arrives.)
      const uploads = run.cache!.remote!.uploads;
      expect(uploads.failed).toBeLessThanOrEqual(1);
      expect(uploads.done + uploads.failed + uploads.skipped).toBe(4);
    } finally {
      clearInterval(killWhenCoreUploaded);
    }
  });

  it('a server that never answers: the run finishes within the timeouts, exit code 0', async () => {
    const silent = await startSilentServer();
    try {
      const fx = machine();
      const marker = markerFile();
      const r = await cli(['build', '--json', ...remoteFlags(silent, ['--remote-cache-timeout', '1', '--remote-cache-connect-timeout', '1'])], {
        cwd: fx.root,
        env: { BS_REMOTE_MARKER: marker },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().results.every((x) => x.status === 'success')).toBe(true);
      expect(adapterRuns(marker)).toHaveLength(4);
      expect(countMatches(r.stderr, /warning/), r.stderr).toBe(1);
      expect(r.stderr).toMatch(/remote cache disabled for this run: http:\/\/127\.0\.0\.1:\d+ is not usable \(GET \/v8\/artifacts\/status: no complete answer within 1000 ms\)/);
      // The status request alone: a timeout is not retried, it turns the remote off for the whole run.
      expect(silent.connections()).toBe(1);
      // The remote is off for the rest of the run: no lookup or upload was sent after the status request.
      expect(r.json().cache?.remote).toMatchObject({ status: 'disabled', uploads: { done: 0 } });
    } finally {
      await silent.close();
    }
  });
});


/** PUT straight to the server, as a malicious or broken client could. */
function put(srv: Remote, key: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${srv.url}/v8/artifacts/${key}?slug=${srv.team}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', 'content-length': body.byteLength },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
