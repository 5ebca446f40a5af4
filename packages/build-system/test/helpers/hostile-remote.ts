import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { RemoteCacheOptions } from '../../src/cache/remote/config.js';
import { packageRoot } from './fixture.js';

/**
 * Remote cache servers that misbehave on purpose, on 127.0.0.1 in the test
 * process, and `build()` run in a child process of its own so that its peak
 * memory and wall time are the run's alone.
 */

export interface SeenRequest {
  method: string;
  path: string;
}

export interface V8Server {
  url: string;
  requests: SeenRequest[];
  /** PUT bodies by cache key. */
  artifacts: Map<string, Buffer>;
  /** Per-test behaviour; return true when handled, else a well-behaved v8 server answers. */
  handle: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => boolean;
  connections(): number;
  close(): Promise<void>;
}

/** A v8 server (status, GET, PUT) whose answers a test can replace one by one. */
export async function startV8Server(): Promise<V8Server> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const v8: V8Server = {
    url: '',
    requests: [],
    artifacts: new Map(),
    handle: () => false,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x');
      v8.requests.push({ method: req.method!, path: url.pathname });
      const body = Buffer.concat(chunks);
      if (v8.handle(req, res, body)) return;
      if (url.pathname === '/v8/artifacts/status') return void res.end(JSON.stringify({ status: 'enabled' }));
      const key = url.pathname.slice('/v8/artifacts/'.length);
      if (req.method === 'PUT') {
        v8.artifacts.set(key, body);
        return void res.end('{}');
      }
      const stored = v8.artifacts.get(key);
      if (!stored) return void res.writeHead(404).end('{"message":"not found"}');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': stored.byteLength }).end(stored);
    });
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  v8.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return v8;
}

/**
 * An address that swallows connection attempts: a child process listens
 * with a backlog of 1 and then blocks its event loop, so it never accepts;
 * once our own connections fill the kernel's queue (Linux holds backlog + 1),
 * further SYNs are dropped and a connect hangs, as to a black-holed host.
 * (Node takes a backlog of 0 for "the default", 511.)
 */
export async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const script = `
    const net = require('node:net');
    const server = net.createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n');
      // Never back to the event loop: nothing is accepted.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', () => reject(new Error('black hole exited')));
  });
  const held: net.Socket[] = [];
  for (let i = 0; i < 4; i++) held.push(net.connect(port, '127.0.0.1').on('error', () => {}));
  await new Promise((r) => setTimeout(r, 300));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of held) s.destroy();
      await kill(child);
    },
  };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** 1 MiB of zeros, gzipped: ~1 KB. Concatenated members gunzip as one stream, so bombs cost nothing to make. */
export const ZEROS_MEMBER = gzipSync(Buffer.alloc(1024 ** 2), { level: 9 });

/** `mib` MiB of zeros in ~mib KB of gzip: the classic bomb (2048 → ~2 MB that expands to 2 GiB). */
export function gzipBomb(mib = 2048): Buffer {
  return Buffer.concat(Array.from({ length: mib }, () => ZEROS_MEMBER));
}

/** A ustar header written here (tar.ts refuses to write what these tests need). */
export function ustarHeader(name: string, size: number, opts: { type?: string; mode?: number; link?: string } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write(`${(opts.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(opts.type ?? '0', 156);
  if (opts.link) b.write(opts.link, 157, 100);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

/** `data` as a tar entry: header, bytes, padding to the block. */
export function tarEntry(name: string, data: Buffer, opts: { mode?: number } = {}): Buffer {
  return Buffer.concat([ustarHeader(name, data.byteLength, opts), data, Buffer.alloc((512 - (data.byteLength % 512)) % 512)]);
}

export interface ChildRun {
  ok: boolean;
  /** build() alone, measured in the child. */
  ms: number;
  /** Peak resident set of the child, bytes: process.resourceUsage().maxRSS. */
  maxRssBytes: number;
  /** The same from the kernel's VmHWM (Linux). */
  vmHwmBytes: number | null;
  warnings: string[];
  results: { name: string; status: string; cache: { status: string; source?: string }; diagnostics: string[] }[];
  remote?: { status: string; downloads: Record<string, number>; uploads: Record<string, number> };
}

const CHILD = `
import { readFileSync } from 'node:fs';
const { build } = await import(process.env.BS_CHILD_DIST);
const warnings = [];
const started = performance.now();
const run = await build({
  cwd: process.env.BS_CHILD_CWD,
  cacheDir: process.env.BS_CHILD_CACHE,
  concurrency: Number(process.env.BS_CHILD_CONCURRENCY),
  remoteCache: JSON.parse(process.env.BS_CHILD_REMOTE),
  onEvent: (e) => { if (e.type === 'warning') warnings.push(e.message); },
});
const ms = performance.now() - started;
let vmHwm = null;
try { vmHwm = Number(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; } catch {}
process.stdout.write(JSON.stringify({
  ok: run.ok,
  ms: Math.round(ms),
  maxRssBytes: process.resourceUsage().maxRSS * 1024,
  vmHwmBytes: vmHwm,
  warnings,
  results: run.results.map((r) => ({ name: r.package.name, status: r.status, cache: r.cache, diagnostics: r.diagnostics.map((d) => d.message) })),
  remote: run.cache?.remote,
}));
`;

/**
 * `build()` of the workspace at `cwd` in a child process (the built dist, as
 * a user's process would load it) with its own fresh cache directory unless
 * `cacheDir` is given; no remote settings are inherited from the env.
 */
export async function buildInChild(opts: { cwd: string; remoteCache: RemoteCacheOptions | false; cacheDir?: string; concurrency?: number }): Promise<ChildRun> {
  const cacheDir = opts.cacheDir ?? mkdtempSync(path.join(tmpdir(), 'bs-hostile-cache-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('BUILD_SYSTEM_') || k.startsWith('TURBO_')) delete env[k];
  Object.assign(env, {
    BS_CHILD_DIST: path.join(packageRoot, 'dist/index.js'),
    BS_CHILD_CWD: opts.cwd,
    BS_CHILD_CACHE: cacheDir,
    BS_CHILD_CONCURRENCY: String(opts.concurrency ?? 4),
    BS_CHILD_REMOTE: JSON.stringify(opts.remoteCache),
  });
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (!opts.cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  try {
    return JSON.parse(stdout) as ChildRun;
  } catch {
    throw new Error(`build child exited ${code}: ${stderr || stdout}`);
  }
}
