import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { build, runResultSchema, type BuildOptions, type RunResult } from '../src/index.js';
import { createFixture, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * How the remote cache behaves when the server misbehaves in ways the real
 * server cannot be made to (5xx, a body cut short, a paused team, slow or
 * silent uploads): a small v8 server in this process, and the programmatic
 * API. Every case must end with every package built and the remote's
 * trouble reported once.
 */

interface Seen {
  method: string;
  path: string;
  at: number;
}

interface FakeServer {
  url: string;
  requests: Seen[];
  artifacts: Map<string, Buffer>;
  /** Per-test behaviour; return true when handled, else the default v8 behaviour applies. */
  handle: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => boolean;
  close(): Promise<void>;
}

async function fakeServer(): Promise<FakeServer> {
  const fake: FakeServer = {
    url: '',
    requests: [],
    artifacts: new Map(),
    handle: () => false,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      fake.requests.push({ method: req.method!, path: url.pathname, at: Date.now() });
      const body = Buffer.concat(chunks);
      if (fake.handle(req, res, body)) return;
      if (url.pathname === '/v8/artifacts/status') return void res.end(JSON.stringify({ status: 'enabled' }));
      const hash = url.pathname.slice('/v8/artifacts/'.length);
      if (req.method === 'PUT') {
        fake.artifacts.set(hash, body);
        return void res.end('{}');
      }
      const stored = fake.artifacts.get(hash);
      if (!stored) return void res.writeHead(404).end('{"message":"not found"}');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stored.byteLength }).end(stored);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = fake.close;
  fake.close = async () => {
    server.closeAllConnections();
    await close();
  };
  return fake;
}

const fixtures: Fixture[] = [];
const temps: string[] = [];
let fake: FakeServer;
let marker: string;
const savedEnv = { ...process.env };
beforeEach(async () => {
  fake = await fakeServer();
  const d = mkdtempSync(path.join(tmpdir(), 'bs-remote-faults-'));
  temps.push(d);
  marker = path.join(d, 'adapter-runs');
  writeFileSync(marker, '');
  process.env.BS_REMOTE_MARKER = marker;
});
afterEach(async () => {
  await fake.close();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function configSource(name: string): string {
  return `import { appendFileSync } from 'node:fs';
export default {
  adapter: 'esbuild',
  adapterOptions: { esbuild: { plugins: [{ name: 'runs', setup(build) { build.onStart(async () => {
    appendFileSync(process.env.BS_REMOTE_MARKER, ${JSON.stringify(`${name}\n`)});
    const delay = Number(process.env.BS_REMOTE_DELAY_MS || 0);
    if (delay) await new Promise((r) => setTimeout(r, delay));
  }); } }] } },
};
`;
}

/** app → util → core. */
function workspace(): Fixture {
  const files: FileTree = { 'package.json': { name: 'faults-root', private: true, workspaces: ['packages/*'] } };
  const deps: Record<string, string[]> = { core: [], util: ['core'], app: ['util'] };
  for (const [key, d] of Object.entries(deps)) {
    files[`packages/${key}/package.json`] = { name: `@f/${key}`, version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: Object.fromEntries(d.map((x) => [`@f/${x}`, '1.0.0'])) };
    files[`packages/${key}/src/index.ts`] = `export const name = ${JSON.stringify(key)};\n`;
    files[`packages/${key}/build.config.ts`] = configSource(`@f/${key}`);
  }
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

async function run(fx: Fixture, options: BuildOptions = {}): Promise<{ run: RunResult; warnings: string[]; ms: number }> {
  const warnings: string[] = [];
  const started = Date.now();
  const result = (await build({
    cwd: fx.root,
    remoteCache: { url: fake.url, token: 'fake-token', team: 'team_fake', requestTimeoutMs: 1500, connectTimeoutMs: 1000 },
    onEvent: (e) => {
      if (e.type === 'warning') warnings.push(e.message);
      options.onEvent?.(e);
    },
    ...options,
  })) as RunResult;
  runResultSchema.parse(result);
  return { run: result, warnings, ms: Date.now() - started };
}

const artifactGets = () => fake.requests.filter((r) => r.method === 'GET' && r.path !== '/v8/artifacts/status');
const adapterRuns = () => readFileSync(marker, 'utf8').split('\n').filter(Boolean).length;
const allBuilt = (r: RunResult) => r.ok && r.results.every((x) => x.status === 'success');

describe('remote cache faults', () => {
  it('5xx: one retry, then the remote is off for the run with one warning; every package builds', async () => {
    fake.handle = (req, res) => {
      if (req.method !== 'GET' || req.url!.startsWith('/v8/artifacts/status')) return false;
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"storage exploded"}');
      return true;
    };
    const { run: r, warnings } = await run(workspace(), { concurrency: 1 });
    expect(allBuilt(r)).toBe(true);
    expect(adapterRuns()).toBe(3);
    // core's lookup and its retry; util and app never ask, and nothing is uploaded.
    expect(artifactGets()).toHaveLength(2);
    expect(fake.requests.filter((x) => x.method === 'PUT')).toHaveLength(0);
    expect(warnings).toEqual([expect.stringMatching(/remote cache disabled for this run: .* answered GET \/v8\/artifacts\/[0-9a-f]{12}… with HTTP 500: storage exploded/)]);
    expect(r.cache?.remote).toMatchObject({ status: 'disabled', uploads: { skipped: 3 } });
  });

  it('a truncated body: retried once, then the remote is off; every package builds', async () => {
    // The start of a real gzip stream (of random bytes: stored, so it unpacks as it arrives, to less than one tar
    // header): nothing in it is wrong yet, so only the cut can end the download.
    const start = gzipSync(randomBytes(4096)).subarray(0, 100);
    fake.handle = (req, res) => {
      if (req.method !== 'GET' || req.url!.startsWith('/v8/artifacts/status')) return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 4096 });
      res.write(start);
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    };
    const { run: r, warnings } = await run(workspace(), { concurrency: 1 });
    expect(allBuilt(r)).toBe(true);
    expect(artifactGets()).toHaveLength(2);
    // How many of the 100 bytes were taken before the cut depends on timing (a destroyed stream drops what it buffered).
    expect(warnings).toEqual([expect.stringMatching(/is not usable \(GET \/v8\/artifacts\/[0-9a-f]{64}: (connection lost after \d+ bytes|answer truncated: \d+ of 4096 bytes)/)]);
  });

  it('a team over its limit (status) or paused (403 remote_caching_paused): remote off with one warning, no artifact requests', async () => {
    fake.handle = (req, res) => {
      if (!req.url!.startsWith('/v8/artifacts/status')) return false;
      res.end(JSON.stringify({ status: 'over_limit' }));
      return true;
    };
    const first = await run(workspace());
    expect(allBuilt(first.run)).toBe(true);
    expect(first.warnings).toEqual([expect.stringMatching(/reports remote caching as "over_limit"/)]);
    expect(artifactGets()).toHaveLength(0);

    fake.requests.length = 0;
    fake.handle = (req, res) => {
      if (req.url!.startsWith('/v8/artifacts/status')) return false;
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'remote_caching_paused', message: 'Remote Caching has been paused' } }));
      return true;
    };
    const second = await run(workspace(), { concurrency: 1 });
    expect(allBuilt(second.run)).toBe(true);
    expect(second.warnings).toEqual([expect.stringMatching(/remote caching is paused for this team .*HTTP 403: Remote Caching has been paused/)]);
    // 403 is an answer, not a failure: no retry.
    expect(artifactGets()).toHaveLength(1);
  });

  it('uploads run while later packages build, and the run returns only after they finished', async () => {
    let lastPutDone = 0;
    let firstPutDone = Infinity;
    fake.handle = (req, res, body) => {
      if (req.method !== 'PUT') return false;
      expect(req.headers['content-type']).toBe('application/octet-stream');
      expect(Number(req.headers['content-length'])).toBe(body.byteLength);
      expect(Number(req.headers['x-artifact-duration'])).toBeGreaterThanOrEqual(0);
      expect(req.headers.authorization).toBe('Bearer fake-token');
      expect(req.url).toMatch(/\?teamId=team_fake$/);
      fake.artifacts.set(new URL(req.url!, 'http://x').pathname.slice('/v8/artifacts/'.length), body);
      setTimeout(() => {
        res.end('{}');
        const answeredAt = Date.now();
        firstPutDone = Math.min(firstPutDone, answeredAt);
        lastPutDone = Math.max(lastPutDone, answeredAt);
      }, 1000);
      return true;
    };
    const starts = new Map<string, number>();
    const { run: r } = await run(workspace(), { onEvent: (e) => void (e.type === 'package-start' && starts.set(e.package, Date.now())) });
    const returned = Date.now();
    expect(allBuilt(r)).toBe(true);
    const puts = fake.requests.filter((x) => x.method === 'PUT');
    expect(puts).toHaveLength(3);
    // app started building before any upload was answered (each answer takes 1 s): uploads run beside the
    // builds, they do not hold them. (Comparing with when the server saw the first PUT raced by a few ms in CI:
    // the upload is started before app, but its request may reach the server just after app's start event.)
    expect(starts.get('@f/app')!).toBeLessThan(firstPutDone);
    // ... and build() waited for every answer.
    expect(r.cache?.remote?.uploads).toEqual({ done: 3, failed: 0, skipped: 0 });
    expect(returned).toBeGreaterThanOrEqual(lastPutDone);
    expect(fake.artifacts.size).toBe(3);
  });

  it('an upload that never gets an answer holds the end of the run only for the bounded wait', async () => {
    fake.handle = (req) => req.method === 'PUT'; // accepted, never answered
    const { run: r, warnings } = await run(workspace(), {
      concurrency: 1,
      remoteCache: { url: fake.url, token: 'fake-token', team: 'slug-team', requestTimeoutMs: 700, connectTimeoutMs: 500 },
    });
    expect(allBuilt(r)).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/is not usable \(PUT \/v8\/artifacts\/[0-9a-f]{64}: no complete answer within 700 ms\)/)]);
    // What bounds the wait: a timed-out upload is not retried (no PUT is sent twice), and the first
    // timeout opens the breaker, which ends the uploads still waiting and skips the ones not yet sent.
    const puts = fake.requests.filter((x) => x.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(1);
    expect(new Set(puts.map((x) => x.path)).size).toBe(puts.length);
    expect(r.cache?.remote?.uploads).toEqual({ done: 0, failed: 1, skipped: 2 });
  });

  it('a body that stalls after the headers: the idle timeout ends it, the remote is off, no retry', async () => {
    fake.handle = (req, res) => {
      if (req.method !== 'GET' || req.url!.startsWith('/v8/artifacts/status')) return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 4096 });
      res.write(gzipSync(randomBytes(4096)).subarray(0, 50));
      return true; // and nothing more, on an open connection
    };
    const { run: r, warnings } = await run(workspace(), {
      concurrency: 1,
      remoteCache: { url: fake.url, token: 'fake-token', team: 'team_fake', idleTimeoutMs: 400, requestTimeoutMs: 20_000 },
    });
    expect(allBuilt(r)).toBe(true);
    // Ended by the 400 ms idle timeout (the warning says which), not by the 20 s request timeout.
    expect(warnings).toEqual([expect.stringMatching(/is not usable \(GET \/v8\/artifacts\/[0-9a-f]{64}: the answer stalled for 400 ms after \d+ bytes\)/)]);
    expect(artifactGets()).toHaveLength(1);
  });

  it('an artifact whose Content-Length passes maxArtifactBytes: refused before its body is read; the remote stays on', async () => {
    let closed = 0;
    fake.handle = (req, res) => {
      if (req.method !== 'GET' || req.url!.startsWith('/v8/artifacts/status')) return false;
      res.socket!.once('close', () => closed++);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 512 * 1024 ** 2 });
      res.write(Buffer.alloc(1024));
      return true; // the rest never comes: only a client that reads on would notice
    };
    const limit = 256 * 1024;
    // Timeouts far beyond the test's own: a connection that closes can only have been dropped by the client.
    const { run: r, warnings } = await run(workspace(), {
      concurrency: 1,
      remoteCache: { url: fake.url, token: 'fake-token', team: 'team_fake', maxArtifactBytes: limit, idleTimeoutMs: 600_000, requestTimeoutMs: 600_000 },
    });
    expect(allBuilt(r)).toBe(true);
    expect(warnings).toEqual([]);
    for (const x of r.results) {
      expect(x.diagnostics[0]!.message).toMatch(new RegExp(`refused: answer of ${512 * 1024 ** 2} bytes is larger than the ${limit} bytes allowed \\(BUILD_SYSTEM_REMOTE_CACHE_MAX_ARTIFACT_MB\\); building locally`));
    }
    // Every package still asked: an artifact's size is that artifact's problem.
    expect(artifactGets()).toHaveLength(3);
    expect(r.cache?.remote).toMatchObject({ status: 'enabled', downloads: { rejected: 3 } });
    // Each connection was dropped at the headers (the server sees the close a moment later).
    while (closed < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(3);
  });

  it('a server that stops reading an upload: noticed within the idle timeout, not the request timeout', async () => {
    // A server of its own: it never reads a PUT body, so the socket's buffers fill and the upload stops moving.
    const stalling = http.createServer((req, res) => {
      if (req.method === 'PUT') {
        req.pause();
        return;
      }
      req.resume();
      req.on('end', () => (req.url!.startsWith('/v8/artifacts/status') ? res.end('{"status":"enabled"}') : res.writeHead(404).end('{}')));
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`;
    try {
      // ~12 MB of incompressible output: more than loopback socket buffers hold.
      const files: FileTree = { 'package.json': { name: 'big-root', private: true, workspaces: ['packages/*'] } };
      files['packages/big/package.json'] = { name: '@f/big', version: '1.0.0', type: 'module', exports: './dist/index.js' };
      files['packages/big/src/index.ts'] = `export const blob = ${JSON.stringify(randomBytes(9 * 1024 ** 2).toString('base64'))};\n`;
      files['packages/big/build.config.ts'] = `export default { adapter: 'esbuild' };\n`;
      const fx = createFixture(files);
      fixtures.push(fx);
      const { run: r, warnings } = await run(fx, { remoteCache: { url, token: 'fake-token', team: 'team_fake', idleTimeoutMs: 500, requestTimeoutMs: 60_000 } });
      expect(r.ok).toBe(true);
      expect(warnings).toEqual([expect.stringMatching(/is not usable \(PUT \/v8\/artifacts\/[0-9a-f]{64}: the server stopped taking the upload for 500 ms\)/)]);
      expect(r.cache?.remote).toMatchObject({ status: 'disabled', uploads: { done: 0, failed: 1 } });
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('remoteCache: false ignores the env; without it the env configures the remote (turbo names too)', async () => {
    process.env.TURBO_API = fake.url;
    process.env.TURBO_TEAM = 'env-team';
    const fx = workspace();
    const off = (await build({ cwd: fx.root, remoteCache: false })) as RunResult;
    expect(off.ok).toBe(true);
    expect(off.cache?.remote).toBeUndefined();
    expect(fake.requests).toHaveLength(0);

    const on = (await build({ cwd: workspace().root })) as RunResult;
    expect(on.ok).toBe(true);
    expect(on.cache?.remote).toMatchObject({ url: fake.url, status: 'enabled', uploads: { done: 3 } });
    expect(fake.requests.some((x) => x.method === 'PUT')).toBe(true);
  });
});
