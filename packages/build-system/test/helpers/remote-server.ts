import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './fixture.js';

/**
 * The real Turborepo remote cache server (npm `turborepo-remote-cache`, pinned
 * in the root devDependencies), started as a child process on 127.0.0.1 with
 * filesystem storage in a temp dir. Environment per its dist/env.js:
 * STORAGE_PROVIDER=local, STORAGE_PATH (+ STORAGE_PATH_USE_TMP_FOLDER=false,
 * else the path is taken below os.tmpdir()), TURBO_TOKEN (static auth),
 * TURBO_REMOTE_CACHE_SIGNATURE_KEY (only makes it store and return tags),
 * HOST, PORT. Artifacts land at <storage>/<team>/<hash>, tags at <hash>.tag.
 */

const SERVER_ENTRY = path.join(repoRoot, 'node_modules/turborepo-remote-cache/dist/cli.js');

export interface RemoteServer {
  url: string;
  port: number;
  storage: string;
  child: ChildProcess;
  /** Server output, for failure messages. */
  log(): string;
  /** Every artifact file in storage (relative paths), tags included. */
  files(): string[];
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startRemoteCacheServer(opts: { token: string; signatureKey?: string; storage?: string }): Promise<RemoteServer> {
  const storage = opts.storage ?? mkdtempSync(path.join(tmpdir(), 'bs-remote-storage-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    STORAGE_PROVIDER: 'local',
    STORAGE_PATH: storage,
    STORAGE_PATH_USE_TMP_FOLDER: 'false',
    TURBO_TOKEN: opts.token,
  };
  if (opts.signatureKey) env.TURBO_REMOTE_CACHE_SIGNATURE_KEY = opts.signatureKey;
  const child = spawn(process.execPath, [SERVER_ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`remote cache server exited: ${output}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(`${url}/v8/artifacts/status`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => req.destroy());
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`remote cache server did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    url,
    port,
    storage,
    child,
    log: () => output,
    files: () => listFiles(storage),
    kill,
    stop: async () => {
      await kill();
      if (!opts.storage) rmSync(storage, { recursive: true, force: true });
    },
  };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const abs = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      if (statSync(abs).isDirectory()) walk(abs, r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** A server on 127.0.0.1 that accepts connections and never answers (in this process). */
export async function startSilentServer(): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = http.createServer(() => {
    // Never respond: the request hangs until the client gives up.
  });
  server.on('connection', (s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
