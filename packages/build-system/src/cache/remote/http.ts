import http from 'node:http';
import https from 'node:https';
import type { RemoteCacheConfig } from './config.js';

/**
 * The HTTP side of the Turborepo v8 API, on node:http rather than fetch:
 * Node 20's fetch has no connect timeout of its own (undici's Agent is not
 * importable without the undici package), and we need two separate bounds —
 * a short one for "is anybody there" and a longer one for the whole request,
 * body included — plus a hard cap on response size and a clear error for a
 * body cut short. Every request:
 *
 * - opens a connection within `connectTimeoutMs`, and finishes (body read)
 *   within `requestTimeoutMs`, or is destroyed;
 * - is tried again once, after RETRY_BACKOFF_MS, when it failed in a way a
 *   second try can fix (network error, timeout, truncated body, 429, 5xx)
 *   and the method is idempotent (GET, PUT: the same key always carries the
 *   same content). POST is tried once.
 *
 * Nothing here knows about caching; session.ts gives statuses their meaning.
 */

export const RETRY_BACKOFF_MS = 300;
/** A downloaded artifact larger than this is refused (the reference server's default body limit is 100 MB). */
export const MAX_RESPONSE_BYTES = 1024 ** 3;

export interface RemoteRequest {
  method: 'GET' | 'PUT' | 'POST';
  /** Path below the base URL, e.g. /v8/artifacts/<hash>. The team is added to the query here. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Abort (the run is cancelled, or the upload wait is over). */
  signal?: AbortSignal;
}

export interface RemoteResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request that got no usable HTTP answer. `retryable` says whether a second try could change that. */
export class RemoteTransportError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'RemoteTransportError';
  }
}

export class RemoteHttpClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(private readonly config: RemoteCacheConfig) {
    this.base = new URL(config.baseUrl);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    // keepAlive: a run makes a request per package; one connection per parallel build is plenty.
    this.agent = new Agent({ keepAlive: true, maxSockets: 8 });
  }

  /** Closes idle connections so they never keep the process alive. */
  close(): void {
    this.agent.destroy();
  }

  /** One request, tried twice when that can help. Throws RemoteTransportError; any HTTP status is a response. */
  async request(req: RemoteRequest): Promise<RemoteResponse> {
    const idempotent = req.method !== 'POST';
    let first: unknown;
    try {
      const res = await this.once(req);
      if (!idempotent || !retryableStatus(res.status)) return res;
      first = res;
    } catch (e) {
      if (!(e instanceof RemoteTransportError) || !e.retryable || !idempotent || req.signal?.aborted) throw e;
      first = e;
    }
    await sleep(RETRY_BACKOFF_MS, req.signal);
    try {
      return await this.once(req);
    } catch (e) {
      // The second failure is the one to report, but a first HTTP status says more than a later timeout.
      if (first && !(first instanceof Error)) return first as RemoteResponse;
      throw e;
    }
  }

  private url(path: string): URL {
    const url = new URL(this.base.toString().replace(/\/?$/, '/') + path.replace(/^\//, ''));
    const team = this.config.team;
    if (team) url.searchParams.set(team.param, team.value);
    return url;
  }

  private once(req: RemoteRequest): Promise<RemoteResponse> {
    const url = this.url(req.path);
    const { connectTimeoutMs, requestTimeoutMs } = this.config;
    const headers: Record<string, string> = { 'user-agent': 'build-system', ...req.headers };
    const token = this.config.token;
    if (token) headers.authorization = `Bearer ${token.reveal()}`;
    if (req.body) headers['content-length'] = String(req.body.byteLength);
    const what = `${req.method} ${url.pathname}`;

    return new Promise<RemoteResponse>((resolve, reject) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const done = (err: Error | null, res?: RemoteResponse) => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const fail = (message: string, retryable: boolean) => {
        const err = new RemoteTransportError(`${what}: ${message}`, retryable);
        done(err);
        request.destroy();
      };
      const onAbort = () => fail('aborted', false);

      const mod = url.protocol === 'https:' ? https : http;
      const request = mod.request(url, { method: req.method, headers, agent: this.agent });
      timers.push(setTimeout(() => fail(`no complete answer within ${requestTimeoutMs} ms`, true), requestTimeoutMs));
      request.on('socket', (socket) => {
        // A reused keep-alive socket is already connected; only a new one has to connect in time.
        if (!socket.connecting) return;
        const t = setTimeout(() => fail(`could not connect within ${connectTimeoutMs} ms`, true), connectTimeoutMs);
        timers.push(t);
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(t));
      });
      request.on('error', (e: NodeJS.ErrnoException) => fail(e.code ? `${e.code}` : e.message, true));
      request.on('response', (res) => {
        const expected = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : null;
        if (expected !== null && expected > MAX_RESPONSE_BYTES) {
          fail(`answer of ${expected} bytes is larger than the ${MAX_RESPONSE_BYTES} bytes allowed`, false);
          return;
        }
        const chunks: Buffer[] = [];
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.byteLength;
          if (received > MAX_RESPONSE_BYTES) fail(`answer is larger than the ${MAX_RESPONSE_BYTES} bytes allowed`, false);
          else chunks.push(chunk);
        });
        res.on('error', () => fail(`connection lost after ${received} bytes of the answer`, true));
        res.on('aborted', () => fail(`connection lost after ${received} bytes of the answer`, true));
        res.on('end', () => {
          // With chunked encoding Node reports a cut-off body as an error; with Content-Length we count.
          if (expected !== null && received !== expected) fail(`answer truncated: ${received} of ${expected} bytes`, true);
          else done(null, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('close', () => {
          if (!res.complete) fail(`connection lost after ${received} bytes of the answer`, true);
        });
      });
      if (req.signal) {
        if (req.signal.aborted) {
          onAbort();
          return;
        }
        req.signal.addEventListener('abort', onAbort, { once: true });
      }
      request.end(req.body);
    });
  }
}

function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
