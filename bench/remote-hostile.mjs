#!/usr/bin/env node
/**
 * What a hostile or dead remote cache server costs one build run: peak RSS
 * and wall time of `build()` (the programmatic API, in a child process of
 * its own, so its RSS is the run's alone) against small node:http servers on
 * 127.0.0.1 that
 *
 *   bomb            answer every artifact GET with a 2 MB gzip that expands to 2 GiB of zeros
 *   forged          answer with each package's real manifest (learnt from an upload first) listing
 *                   one file of 256 MiB - 1000 bytes, then zeros: a stream that passes the 256 MiB limit
 *                   inside a listed file (~260 KB on the wire)
 *   endless-status  answer GET /v8/artifacts/status with a body that never ends
 *   silent          accept connections and never answer (default timeouts)
 *   blackhole       never accept: a listener with a full backlog that drops SYNs (default timeouts)
 *
 * compared with `none`, the same run without a remote cache. Each run gets a
 * fresh local cache directory, so every package asks the remote.
 *
 *   npm run build --workspace packages/build-system
 *   node bench/remote-hostile.mjs [--runs 3] [--scenarios none,bomb,forged,endless-status,silent,blackhole] [--packages 3]
 *
 * Prints one line per run and a median per scenario (RSS from
 * process.resourceUsage().maxRSS and /proc/self/status VmHWM at the end of the run).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'packages/build-system/dist/index.js');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const runs = Number(option('runs', '3'));
const scenarios = option('scenarios', 'none,bomb,forged,endless-status,silent,blackhole').split(',');
const packages = Number(option('packages', '3'));

/**
 * 2048 gzip members of 1 MiB of zeros each: ~2 MB on the wire, 2 GiB once
 * gunzipped (gunzip reads concatenated members as one stream). Built from
 * members so the bomb costs milliseconds to make, not a 2 GiB deflate.
 */
function gzipBomb() {
  const member = gzipSync(Buffer.alloc(1024 ** 2), { level: 9 });
  return Buffer.concat(Array.from({ length: 2048 }, () => member));
}

/** A ustar header (name ≤ 100 bytes), for the forged archive. */
function ustarHeader(name, size) {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100);
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write('0', 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

/** The first entry (build-system.json) of an uploaded artifact: enough of a tar reader for our own uploads. */
function manifestOf(body) {
  const tar = gunzipSync(body);
  const size = parseInt(tar.subarray(124, 136).toString().replace(/\0.*$/, ''), 8);
  return JSON.parse(tar.subarray(512, 512 + size).toString());
}

const LIMIT = 256 * 1024 ** 2;

function forgedArtifact(manifest) {
  const fileBytes = LIMIT - 1000;
  const json = Buffer.from(JSON.stringify({ ...manifest, artifacts: [{ path: `${manifest.outDir}/index.js`, bytes: fileBytes, sha256: '0'.repeat(64), kind: 'js', mode: 0o644 }] }));
  const head = Buffer.concat([ustarHeader('build-system.json', json.byteLength), json, Buffer.alloc((512 - (json.byteLength % 512)) % 512), ustarHeader(`files/${manifest.outDir}/index.js`, fileBytes)]);
  const member = gzipSync(Buffer.alloc(1024 ** 2), { level: 9 });
  return Buffer.concat([gzipSync(head), ...Array.from({ length: LIMIT / 1024 ** 2 + 2 }, () => member)]);
}

async function listen(handler) {
  const sockets = new Set();
  const server = http.createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function drain(req, then) {
  req.resume();
  req.on('end', then);
}

const servers = {
  none: async () => null,
  bomb: async () => {
    const bomb = gzipBomb();
    return listen((req, res) =>
      drain(req, () => {
        if (req.url.startsWith('/v8/artifacts/status')) return res.end('{"status":"enabled"}');
        if (req.method === 'PUT') return res.end('{}');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bomb.byteLength }).end(bomb);
      }),
    );
  },
  forged: async () => {
    const uploads = new Map();
    let forged = null;
    const srv = await listen((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        if (req.url.startsWith('/v8/artifacts/status')) return res.end('{"status":"enabled"}');
        const key = new URL(req.url, 'http://x').pathname.slice('/v8/artifacts/'.length);
        if (req.method === 'PUT') {
          uploads.set(key, Buffer.concat(chunks));
          return res.end('{}');
        }
        const body = forged?.get(key);
        if (!body) return res.writeHead(404).end('{}');
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.byteLength }).end(body);
      });
    });
    return {
      ...srv,
      // One untimed run uploads every package, so the forged manifests carry fingerprints that hash to the keys.
      prepare: async (cwd) => {
        await child(cwd, srv.url);
        forged = new Map([...uploads].map(([key, body]) => [key, forgedArtifact(manifestOf(body))]));
      },
    };
  },
  'endless-status': async () =>
    listen((req, res) =>
      drain(req, () => {
        if (!req.url.startsWith('/v8/artifacts/status')) return res.writeHead(404).end('{}');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"status":"enabled","padding":"');
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        // As fast as the client reads, until it hangs up.
        Readable.from((function* () { for (;;) yield chunk; })()).pipe(res);
      }),
    ),
  silent: async () => listen(() => {}),
  blackhole: async () => {
    // A child listens with a backlog of 1 and blocks its event loop: nothing is accepted; once our own
    // connections fill the kernel's queue, further SYNs are dropped (Node reads a backlog of 0 as 511).
    const script = `
      const server = require('node:net').createServer();
      server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
        process.stdout.write(server.address().port + '\\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
    const held = Array.from({ length: 4 }, () => net.connect(port, '127.0.0.1').on('error', () => {}));
    await new Promise((r) => setTimeout(r, 300));
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        held.forEach((s) => s.destroy());
        child.kill('SIGKILL');
      },
    };
  },
};

function workspace() {
  const dir = mkdtempSync(path.join(tmpdir(), 'bs-hostile-'));
  const write = (rel, text) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), typeof text === 'string' ? text : JSON.stringify(text));
  };
  write('package.json', { name: 'hostile-root', private: true, workspaces: ['packages/*'] });
  for (let i = 0; i < packages; i++) {
    const deps = i === 0 ? {} : { [`@h/p${i - 1}`]: '1.0.0' };
    write(`packages/p${i}/package.json`, { name: `@h/p${i}`, version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: deps });
    write(`packages/p${i}/src/index.ts`, `export const name: string = ${JSON.stringify(`p${i}`)};\n`);
    write(`packages/p${i}/build.config.ts`, `export default { adapter: 'esbuild' };\n`);
  }
  return dir;
}

const CHILD = `
import { readFileSync } from 'node:fs';
const { build } = await import(process.env.HOSTILE_DIST);
const url = process.env.HOSTILE_URL;
const warnings = [];
const started = performance.now();
const run = await build({
  cwd: process.env.HOSTILE_CWD,
  cacheDir: process.env.HOSTILE_CACHE,
  remoteCache: url ? { url, token: 'hostile-token', team: 'team_hostile' } : false,
  onEvent: (e) => { if (e.type === 'warning') warnings.push(e.message); },
});
const ms = performance.now() - started;
const hwm = Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
process.stdout.write(JSON.stringify({
  ok: run.ok,
  ms: Math.round(ms),
  maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  vmHwmMB: Math.round(hwm / 1024),
  warnings,
  diagnostics: run.results.flatMap((r) => r.diagnostics.map((d) => r.package.name + ': ' + d.message)),
}));
`;

function child(cwd, url) {
  const cache = mkdtempSync(path.join(tmpdir(), 'bs-hostile-cache-'));
  return new Promise((resolve) => {
    const env = { ...process.env, HOSTILE_DIST: dist, HOSTILE_CWD: cwd, HOSTILE_CACHE: cache, HOSTILE_URL: url ?? '' };
    for (const k of Object.keys(env)) if (k.startsWith('TURBO_') || k.startsWith('BUILD_SYSTEM_REMOTE')) delete env[k];
    const started = Date.now();
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      rmSync(cache, { recursive: true, force: true });
      const wallMs = Date.now() - started;
      try {
        resolve({ code, wallMs, ...JSON.parse(out) });
      } catch {
        resolve({ code, wallMs, error: err.trim().split('\n').slice(-3).join(' | ') });
      }
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`node ${process.versions.node}, ${packages} packages, ${runs} runs per scenario`);
const ws = workspace();
try {
  for (const name of scenarios) {
    const srv = await servers[name]();
    await srv?.prepare?.(ws);
    const results = [];
    for (let i = 0; i < runs; i++) {
      const r = await child(ws, srv?.url);
      results.push(r);
      const shown = r.error ?? `ok=${r.ok} run=${r.ms} ms process=${r.wallMs} ms maxRSS=${r.maxRssMB} MB VmHWM=${r.vmHwmMB} MB`;
      console.log(`${name} #${i + 1}: ${shown}`);
      for (const w of [...(r.warnings ?? []), ...(r.diagnostics ?? [])]) console.log(`    ${w.length > 240 ? `${w.slice(0, 240)}…` : w}`);
    }
    await srv?.close();
    const ok = results.filter((r) => r.ms !== undefined);
    if (ok.length) console.log(`${name}: median run ${median(ok.map((r) => r.ms))} ms, median maxRSS ${median(ok.map((r) => r.maxRssMB))} MB, max maxRSS ${Math.max(...ok.map((r) => r.maxRssMB))} MB`);
  }
} finally {
  rmSync(ws, { recursive: true, force: true });
}
