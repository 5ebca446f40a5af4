import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_ARTIFACT_BYTES } from '../src/cache/remote/config.js';
import { MAX_SMALL_ANSWER_BYTES } from '../src/cache/remote/http.js';
import { parseTar } from '../src/cache/remote/tar.js';
import { createFixture, type FileTree, type Fixture } from './helpers/fixture.js';
import { buildInChild, gzipBomb, startBlackHole, startV8Server, tarEntry, ustarHeader, ZEROS_MEMBER, type ChildRun, type V8Server } from './helpers/hostile-remote.js';

/**
 * Issue 11, part 4: a remote cache server — hostile, broken or dead — costs
 * a run bounded memory and bounded time, and never its success. Every run
 * is `build()` in a child process (its peak RSS is the run's alone) against
 * a node:http server on 127.0.0.1 in this process. Timeouts and limits are
 * the defaults: what a user gets.
 *
 * Times are recorded (console) and checked only against generous bounds
 * that the old behaviour (≈62 s for a dead server) could never meet; the
 * measured figures are in research.md R5, from bench/remote-hostile.mjs.
 */

const LIMIT = DEFAULT_MAX_ARTIFACT_BYTES;
/** The bound of the issue: peak RSS during any remote download ≤ 2 × the largest legitimate artifact. */
const RSS_BOUND = 2 * LIMIT;

const fixtures: Fixture[] = [];
const temps: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'bs-hostile-'));
  temps.push(d);
  return d;
}

/** Three independent esbuild packages: they look up the remote at the same time. */
function workspace(): Fixture {
  const files: FileTree = { 'package.json': { name: 'hostile-root', private: true, workspaces: ['packages/*'] } };
  for (const key of ['p0', 'p1', 'p2']) {
    files[`packages/${key}/package.json`] = { name: `@h/${key}`, version: '1.0.0', type: 'module', exports: './dist/index.js' };
    files[`packages/${key}/src/index.ts`] = `export const name: string = ${JSON.stringify(key)};\n`;
    files[`packages/${key}/build.config.ts`] = `export default { adapter: 'esbuild' };\n`;
  }
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

/** A server closed when its test ends (the test's own hook: the dead-server tests run concurrently). */
async function server(t: TestContext): Promise<V8Server> {
  return closedAtEnd(t, await startV8Server());
}
function closedAtEnd<S extends { close(): Promise<void> }>(t: TestContext, s: S): S {
  t.onTestFinished(() => s.close());
  return s;
}

const remote = (url: string) => ({ url, token: 'hostile-token', team: 'team_hostile' });
const allBuilt = (r: ChildRun) => r.ok && r.results.length === 3 && r.results.every((x) => x.status === 'success' && x.cache.status === 'miss');
const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;
const artifactGets = (s: V8Server) => s.requests.filter((r) => r.method === 'GET' && r.path !== '/v8/artifacts/status');

describe('remote cache against hostile servers: memory', () => {
  it('a gzip bomb, a forged artifact streaming past the limit and one declaring too much: each refused with a warning, every package builds, peak RSS within 2 × the limit', async (t) => {
    const srv = await server(t);
    const fx = workspace();
    // Machine A uploads: the server learns each package's key and real manifest (whose fingerprint hashes to the key).
    const a = await buildInChild({ cwd: fx.root, remoteCache: remote(srv.url) });
    expect(a.ok).toBe(true);
    expect(srv.artifacts.size).toBe(3);
    const manifests = new Map<string, { key: string; primaryKey: string; outDir: string; package: { name: string }; artifacts: unknown[] }>();
    for (const body of srv.artifacts.values()) {
      const [first] = await parseTar(gunzipSync(body));
      if (first?.type !== 'file') throw new Error('an uploaded artifact does not start with its manifest');
      const m = JSON.parse(first.data.toString()) as { key: string; primaryKey: string; outDir: string; package: { name: string }; artifacts: unknown[] };
      manifests.set(m.package.name, m);
    }

    // p0: the classic bomb, 2 MB of gzip that expand to 2 GiB of zeros.
    const bomb = gzipBomb(2048);
    // p1: a real manifest listing one file of nearly the limit, then zeros: the archive passes the limit inside that file.
    const p1 = manifests.get('@h/p1')!;
    const fileBytes = LIMIT - 1000;
    const head = Buffer.concat([
      tarEntry('build-system.json', Buffer.from(JSON.stringify({ ...p1, artifacts: [{ path: `${p1.outDir}/index.js`, bytes: fileBytes, sha256: '0'.repeat(64), kind: 'js', mode: 0o644 }] }))),
      ustarHeader(`files/${p1.outDir}/index.js`, fileBytes),
    ]);
    const pastTheLimit = Buffer.concat([gzipSync(head), ...Array.from({ length: LIMIT / 1024 ** 2 + 2 }, () => ZEROS_MEMBER)]);
    // p2: a manifest declaring more than the limit: refused before a byte of its files.
    const p2 = manifests.get('@h/p2')!;
    const tooMuch = gzipSync(
      Buffer.concat([
        tarEntry('build-system.json', Buffer.from(JSON.stringify({ ...p2, artifacts: [{ path: `${p2.outDir}/index.js`, bytes: 4 * LIMIT, sha256: '0'.repeat(64), kind: 'js', mode: 0o644 }] }))),
        Buffer.alloc(1024),
      ]),
    );
    const served = new Map([
      // Served where the server stores artifacts: under the fingerprint's key.
      [manifests.get('@h/p0')!.primaryKey, bomb],
      [p1.primaryKey, pastTheLimit],
      [p2.primaryKey, tooMuch],
    ]);
    srv.handle = (req, res) => {
      if (req.method !== 'GET' || req.url!.startsWith('/v8/artifacts/status')) return false;
      const body = served.get(new URL(req.url!, 'http://x').pathname.slice('/v8/artifacts/'.length))!;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength }).end(body);
      return true;
    };

    // Machine B: a fresh local cache, so every package asks the remote.
    const cacheDir = tempDir();
    const b = await buildInChild({ cwd: fx.root, remoteCache: remote(srv.url), cacheDir });
    console.log(`bomb run: ${b.ms} ms, peak RSS ${mib(b.maxRssBytes)} (VmHWM ${b.vmHwmBytes === null ? '-' : mib(b.vmHwmBytes)}); machine A (plain): ${a.ms} ms, ${mib(a.maxRssBytes)}`);
    expect(allBuilt(b), JSON.stringify(b.results)).toBe(true);
    const warning = (name: string) => b.results.find((r) => r.name === name)!.diagnostics.join('\n');
    expect(warning('@h/p0')).toMatch(/remote cache artifact [0-9a-f]{12} refused: artifact has no build-system.json .*; building locally/);
    expect(warning('@h/p1')).toMatch(new RegExp(`refused: archive unpacks to more than ${LIMIT} bytes \\(the limit\\); building locally`));
    expect(warning('@h/p2')).toMatch(new RegExp(`refused: its files add up to ${4 * LIMIT} bytes, more than the ${LIMIT} allowed`));
    // An artifact's problem is that artifact's: the remote stays on.
    expect(b.warnings).toEqual([]);
    expect(b.remote).toMatchObject({ status: 'enabled', downloads: { hits: 0, rejected: 3 } });
    expect(b.maxRssBytes).toBeLessThanOrEqual(RSS_BOUND);
    if (b.vmHwmBytes !== null) expect(b.vmHwmBytes).toBeLessThanOrEqual(RSS_BOUND);
    // Every attempt's directory is gone (the 256 MiB that streamed to disk for p1 included).
    expect(readdirSync(path.join(cacheDir, 'v1/tmp'))).toEqual([]);
  });

  it('an endless status body: at most a few KB read, the remote off with one warning, the run not held up', async (t) => {
    const srv = await server(t);
    let sent = 0;
    srv.handle = (req, res) => {
      if (!req.url!.startsWith('/v8/artifacts/status')) return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        for (;;) {
          if (res.destroyed) return;
          sent += chunk.byteLength;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.write('{"status":"enabled","padding":"');
      pump();
      return true;
    };
    const r = await buildInChild({ cwd: workspace().root, remoteCache: remote(srv.url) });
    console.log(`endless status: ${r.ms} ms, peak RSS ${mib(r.maxRssBytes)}; the server got ${mib(sent)} into the socket before it closed`);
    expect(allBuilt(r)).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(new RegExp(`remote cache disabled for this run: .* answered GET /v8/artifacts/status with more than ${MAX_SMALL_ANSWER_BYTES} bytes`))]);
    expect(artifactGets(srv)).toEqual([]);
    // The client stopped reading and closed: what the server pushed is what loopback buffers hold, not a GiB.
    expect(sent).toBeLessThan(64 * 1024 ** 2);
    expect(r.maxRssBytes).toBeLessThanOrEqual(RSS_BOUND);
  });
});

// Concurrently: each test waits on its own dead server for a timeout. What bounds a run's time is
// checked as what happened (how many requests, what was skipped), not as a clock reading; the test's
// own timeout catches a run that hangs.
describe.concurrent('remote cache against dead servers: one timeout, then the breaker', () => {
  it('a server that accepts and never answers: one request, one warning, nothing more sent', async (t) => {
    const fx = workspace();
    const srv = await server(t);
    srv.handle = () => true; // accepted, never answered
    const r = await buildInChild({ cwd: fx.root, remoteCache: remote(srv.url) });
    expect(allBuilt(r)).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(new RegExp(`is not usable \\(GET /v8/artifacts/status: no answer within ${DEFAULT_IDLE_TIMEOUT_MS} ms\\)`))]);
    // The status request alone: no retry of a timeout, no artifact lookups, no uploads.
    expect(srv.connections()).toBe(1);
    expect(srv.requests).toEqual([{ method: 'GET', path: '/v8/artifacts/status' }]);
    expect(r.remote).toMatchObject({ status: 'disabled', uploads: { done: 0, skipped: 3 } });
  });

  it('a server whose lookups all hang: the first timeout aborts the others at once, one warning, no retries', async (t) => {
    const fx = workspace();
    const srv = await server(t);
    srv.handle = (req) => req.method === 'GET' && !req.url!.startsWith('/v8/artifacts/status');
    const r = await buildInChild({ cwd: fx.root, remoteCache: remote(srv.url), concurrency: 3 });
    expect(allBuilt(r)).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(new RegExp(`is not usable \\(GET /v8/artifacts/[0-9a-f]{64}: no answer within ${DEFAULT_IDLE_TIMEOUT_MS} ms\\)`))]);
    // Three lookups at once, each once; none after the breaker opened, and nothing uploaded.
    expect(artifactGets(srv)).toHaveLength(3);
    expect(srv.requests.filter((x) => x.method === 'PUT')).toEqual([]);
    expect(r.results.flatMap((x) => x.diagnostics)).toEqual([]);
    expect(r.remote).toMatchObject({ status: 'disabled', uploads: { done: 0, skipped: 3 } });
  });

  it('a black-holed address: the connect times out once and the remote is off for the run', async (t) => {
    const fx = workspace();
    const hole = closedAtEnd(t, await startBlackHole());
    const r = await buildInChild({ cwd: fx.root, remoteCache: remote(hole.url) });
    expect(allBuilt(r)).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(new RegExp(`is not usable \\(GET /v8/artifacts/status: could not connect within ${DEFAULT_CONNECT_TIMEOUT_MS} ms\\)`))]);
    expect(r.remote).toMatchObject({ status: 'disabled', uploads: { done: 0, skipped: 3 } });
    // Nothing was looked up after the status request failed.
    expect(r.remote).toMatchObject({ downloads: { hits: 0, misses: 0, rejected: 0 } });
  });
});
