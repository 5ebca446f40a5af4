// Long because: one request path whose three time bounds, retry and byte-limited body reading interact; they are checked together, and the hostile-remote tests exercise them as one.
import http from 'node:http';
import https from 'node:https';
import type { RemoteCacheConfig } from './config.js';

/**
 * The HTTP side of the Turborepo v8 API, on node:http rather than fetch:
 * Node 20's fetch has no connect timeout of its own (undici's Agent is not
 * importable without the undici package), and we need separate bounds for
 * "is anybody there", "is it still talking" and "the whole exchange", plus
 * answers read as a stream with a byte limit. Every request:
 *
 * - connects within `connectTimeoutMs`;
 * - is never kept waiting by the server for more than `idleTimeoutMs`: for
 *   the first byte of the answer once connected (after the upload, which
 *   must itself keep moving), and between any two chunks of the body;
 * - finishes within `requestTimeoutMs` (a server trickling bytes);
 * - reads at most MAX_SMALL_ANSWER_BYTES of any answer that is not an
 *   artifact (status, error messages, upload acknowledgements), and at most
 *   the caller's `maxBytes` of an artifact, aborting the moment a limit is
 *   passed;
 * - is tried again once, after RETRY_BACKOFF_MS, when it failed in a way a
 *   second try can fix at once (connection refused or reset, body cut
 *   short, 429, 5xx) and the method is idempotent (GET, PUT: the same key
 *   always carries the same content). POST is tried once.
 *
 * A timeout is not retried: it opens the client's circuit breaker. Every
 * request still running is aborted and every later one fails at once with
 * a `circuit-open` error, so a dead server costs one timeout per run
 * (research.md R5), not one per request. `trip` opens it from outside (the
 * session, when it turns the remote off for another reason).
 *
 * Nothing here knows about caching; session.ts gives statuses their meaning.
 */

export const RETRY_BACKOFF_MS = 300;
/** Most bytes read of an answer that is not an artifact: a status or error JSON is a few hundred bytes. */
export const MAX_SMALL_ANSWER_BYTES = 8 * 1024;
/** Uploads are written in pieces this big, so a server that stops reading is noticed within idleTimeoutMs. */
const UPLOAD_CHUNK_BYTES = 64 * 1024;

export interface RemoteRequest {
  method: 'GET' | 'PUT' | 'POST';
  /** Path below the base URL, e.g. /v8/artifacts/<hash>. The team is added to the query here. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Abort (the run is cancelled, or the upload wait is over). */
  signal?: AbortSignal;
}

/** An answer read whole: never more than MAX_SMALL_ANSWER_BYTES of it. */
export interface RemoteResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The first MAX_SMALL_ANSWER_BYTES bytes at most. */
  body: Buffer;
  /** The answer had more than that; the rest was not read. */
  truncated: boolean;
}

/**
 * Why a request got no usable HTTP answer:
 * - `network`: refused, reset, DNS; `truncated`: the body was cut short — both retried once;
 * - `timeout`: a bound above was passed (opens the breaker);
 * - `too-large`: an artifact body over the caller's limit (that artifact's problem, not the server's);
 * - `aborted`: the caller's signal; `circuit-open`: the breaker is open (see `cause` for why).
 */
export type TransportFailure = 'network' | 'truncated' | 'timeout' | 'too-large' | 'aborted' | 'circuit-open';

export class RemoteTransportError extends Error {
  constructor(
    message: string,
    readonly kind: TransportFailure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RemoteTransportError';
  }

  /** Whether a second try could change the outcome right away. */
  get retryable(): boolean {
    return this.kind === 'network' || this.kind === 'truncated';
  }
}

/** What a streamed 200 answer hands the caller: its headers and its body, chunk by chunk, within the byte limit. */
export interface StreamedAnswer {
  headers: http.IncomingHttpHeaders;
  body: AsyncIterable<Buffer>;
}

export type DownloadOutcome<T> = { status: 200; value: T } | { status: number; response: RemoteResponse };

interface Attempt<T> {
  /** How a 200 answer is consumed; absent: read as a small answer. */
  stream?: { maxBytes: number; read(answer: StreamedAnswer): Promise<T> };
}

export class RemoteHttpClient {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private breaker: RemoteTransportError | null = null;
  /** Abort functions of the attempts running now, for the breaker. */
  private readonly running = new Set<(e: RemoteTransportError) => void>();

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

  /** Why the breaker is open, or null while requests go out. */
  get openedBy(): RemoteTransportError | null {
    return this.breaker;
  }

  /** Opens the breaker: running requests are aborted, later ones fail at once. Only the first reason is kept. */
  trip(reason: RemoteTransportError | string): void {
    if (this.breaker) return;
    this.breaker = typeof reason === 'string' ? new RemoteTransportError(reason, 'circuit-open') : reason;
    const open = this.openError();
    for (const abort of [...this.running]) abort(open);
  }

  private openError(): RemoteTransportError {
    return new RemoteTransportError(`remote cache disabled for this run (${this.breaker!.message})`, 'circuit-open', { cause: this.breaker });
  }

  /** One request whose answer is read whole (at most MAX_SMALL_ANSWER_BYTES), tried twice when that can help. */
  async request(req: RemoteRequest): Promise<RemoteResponse> {
    const outcome = await this.withRetry(req, {});
    return (outcome as { response: RemoteResponse }).response;
  }

  /**
   * A request whose 200 answer is streamed to `read` (at most `maxBytes` of
   * body: a larger one is a `too-large` error, raised as the byte that passes
   * the limit arrives). Any other status is read as a small answer. When the
   * body is cut short `read` sees an error and is called again on the retry:
   * it must start from scratch each time.
   */
  download<T>(req: RemoteRequest, stream: { maxBytes: number; read(answer: StreamedAnswer): Promise<T> }): Promise<DownloadOutcome<T>> {
    return this.withRetry(req, { stream });
  }

  private async withRetry<T>(req: RemoteRequest, attempt: Attempt<T>): Promise<DownloadOutcome<T>> {
    const idempotent = req.method !== 'POST';
    let first: DownloadOutcome<T> | null = null;
    try {
      const outcome = await this.once(req, attempt);
      if (!idempotent || !('response' in outcome) || !retryableStatus(outcome.status)) return outcome;
      first = outcome;
    } catch (e) {
      if (!(e instanceof RemoteTransportError) || !e.retryable || !idempotent || req.signal?.aborted) throw e;
    }
    await sleep(RETRY_BACKOFF_MS, req.signal);
    try {
      return await this.once(req, attempt);
    } catch (e) {
      // The second failure is the one to report, but a first HTTP status says more than a later failure.
      if (first) return first;
      throw e;
    }
  }

  private url(path: string): URL {
    const url = new URL(this.base.toString().replace(/\/?$/, '/') + path.replace(/^\//, ''));
    const team = this.config.team;
    if (team) url.searchParams.set(team.param, team.value);
    return url;
  }

  private once<T>(req: RemoteRequest, attempt: Attempt<T>): Promise<DownloadOutcome<T>> {
    if (this.breaker) return Promise.reject(this.openError());
    const url = this.url(req.path);
    const { connectTimeoutMs, idleTimeoutMs, requestTimeoutMs } = this.config;
    const headers: Record<string, string> = { 'user-agent': 'build-system', ...req.headers };
    const token = this.config.token;
    if (token) headers.authorization = `Bearer ${token.reveal()}`;
    if (req.body) headers['content-length'] = String(req.body.byteLength);
    const what = `${req.method} ${url.pathname}`;

    return new Promise<DownloadOutcome<T>>((resolve, reject) => {
      let settled = false;
      /** The transport failure that ended this attempt, whoever noticed it first. */
      let failure: RemoteTransportError | null = null;
      let overall: NodeJS.Timeout | undefined;
      let connect: NodeJS.Timeout | undefined;
      let idle: NodeJS.Timeout | undefined;
      let idleMessage = '';
      /** The socket is connected: before that the connect timeout runs, not the idle one. */
      let connected = false;
      /** The request body is all written: from here on we wait for the answer. */
      let uploaded = false;
      /** The answer's headers arrived: from here on only the body's own reading arms the idle timer. */
      let answered = false;
      let reading = false;
      /** The whole body arrived: what the reader still does with it is local work, no longer the server's time. */
      let received = false;
      const stopTimers = () => {
        clearTimeout(overall);
        clearTimeout(connect);
        clearTimeout(idle);
      };
      const settle = (err: Error | null, outcome?: DownloadOutcome<T>) => {
        if (settled) return;
        settled = true;
        stopTimers();
        this.running.delete(abortFromBreaker);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(outcome!);
      };
      /** Ends the attempt with a transport failure: the request is destroyed, a streaming reader sees it as its error. */
      const fail = (message: string, kind: TransportFailure, cause?: unknown) => {
        if (failure || settled || received) return;
        failure = new RemoteTransportError(`${what}: ${message}`, kind, { cause });
        request.destroy(failure);
        if (kind === 'timeout') this.trip(failure);
        // While a reader consumes the body, it settles the attempt (after cleaning up); otherwise settle now.
        if (!reading) settle(failure);
      };
      const abortFromBreaker = (e: RemoteTransportError) => {
        if (failure || settled || received) return;
        failure = e;
        request.destroy(e);
        if (!reading) settle(e);
      };
      /** The server has this long to send its next byte (or take our next one). */
      const waitForServer = (message: string) => {
        if (settled || failure) return;
        clearTimeout(idle);
        idleMessage = message;
        idle = setTimeout(() => fail(idleMessage, 'timeout'), idleTimeoutMs);
      };
      const notWaiting = () => clearTimeout(idle);
      const onAbort = () => fail('aborted', 'aborted');

      const mod = url.protocol === 'https:' ? https : http;
      const request = mod.request(url, { method: req.method, headers, agent: this.agent });
      this.running.add(abortFromBreaker);
      overall = setTimeout(() => fail(`no complete answer within ${requestTimeoutMs} ms`, 'timeout'), requestTimeoutMs);
      const waitingForAnswer = `no answer within ${idleTimeoutMs} ms`;
      const uploadStalled = `the server stopped taking the upload for ${idleTimeoutMs} ms`;
      const firstWait = req.body?.byteLength ? uploadStalled : waitingForAnswer;
      const onConnected = () => {
        connected = true;
        if (!answered) waitForServer(uploaded ? waitingForAnswer : firstWait);
      };
      request.on('socket', (socket) => {
        // A reused keep-alive socket is already connected.
        if (!socket.connecting) return onConnected();
        connect = setTimeout(() => fail(`could not connect within ${connectTimeoutMs} ms`, 'timeout'), connectTimeoutMs);
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
          clearTimeout(connect);
          onConnected();
        });
      });
      request.on('error', (e: NodeJS.ErrnoException) => fail(e.code ? `${e.code}` : e.message, 'network', e));
      request.on('response', (res) => {
        answered = true;
        notWaiting();
        // Errors reach whoever reads the body (the iterator, or the listeners below); never an unhandled event.
        res.on('error', () => {});
        const status = res.statusCode ?? 0;
        const length = res.headers['content-length'];
        const expected = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
        if (status === 200 && attempt.stream) {
          const { maxBytes, read } = attempt.stream;
          if (expected !== null && expected > maxBytes) {
            fail(`answer of ${expected} bytes is larger than the ${maxBytes} bytes allowed`, 'too-large');
            return;
          }
          reading = true;
          const bodyDone = () => {
            received = true;
            stopTimers();
          };
          read({ headers: res.headers, body: this.body(res, { maxBytes, expected, waitForServer, notWaiting, fail, failed: () => failure, bodyDone }) }).then(
            (value) => {
              if (failure) settle(failure);
              else settle(null, { status: 200, value });
            },
            (e: unknown) => {
              // A transport failure explains whatever error the reader made of it (a cut-off gzip, say).
              request.destroy();
              settle(failure ?? (e as Error));
            },
          );
          return;
        }
        // A small answer: kept up to MAX_SMALL_ANSWER_BYTES; past that, the connection is dropped.
        const chunks: Buffer[] = [];
        let bytes = 0;
        const finish = (truncated: boolean) =>
          settle(null, { status, response: { status, headers: res.headers, body: Buffer.concat(chunks, Math.min(bytes, MAX_SMALL_ANSWER_BYTES)), truncated } });
        waitForServer(`the answer stalled for ${idleTimeoutMs} ms`);
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          bytes += chunk.byteLength;
          chunks.push(chunk);
          if (bytes > MAX_SMALL_ANSWER_BYTES) {
            finish(true);
            request.destroy();
            return;
          }
          waitForServer(`the answer stalled for ${idleTimeoutMs} ms after ${bytes} bytes`);
        });
        res.on('end', () => {
          // With chunked encoding Node reports a cut-off body as an error; with Content-Length we count.
          if (expected !== null && bytes !== expected) fail(`answer truncated: ${bytes} of ${expected} bytes`, 'truncated');
          else finish(false);
        });
        res.on('error', () => fail(`connection lost after ${bytes} bytes of the answer`, 'truncated'));
        res.on('close', () => {
          if (!res.complete) fail(`connection lost after ${bytes} bytes of the answer`, 'truncated');
        });
      });
      if (req.signal) {
        if (req.signal.aborted) {
          onAbort();
          return;
        }
        req.signal.addEventListener('abort', onAbort, { once: true });
      }
      void this.send(request, req.body, () => {
        if (connected && !answered) waitForServer(uploadStalled);
      }).then(
        () => {
          uploaded = true;
          if (connected && !answered) waitForServer(waitingForAnswer);
        },
        () => {},
      );
    });
  }

  /** Writes the body in pieces; `progress` runs whenever the socket took one. */
  private async send(request: http.ClientRequest, body: Buffer | undefined, progress: () => void): Promise<void> {
    if (!body || body.byteLength === 0) {
      request.end();
      return;
    }
    for (let at = 0; at < body.byteLength; at += UPLOAD_CHUNK_BYTES) {
      if (request.destroyed) throw new Error('request destroyed');
      const more = request.write(body.subarray(at, at + UPLOAD_CHUNK_BYTES), (err) => {
        if (!err) progress();
      });
      if (!more) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            request.off('close', onClose);
            resolve();
          };
          const onClose = () => {
            request.off('drain', onDrain);
            reject(new Error('request closed'));
          };
          request.once('drain', onDrain);
          request.once('close', onClose);
        });
      }
    }
    await new Promise<void>((resolve) => request.end(resolve));
  }

  /**
   * The body of a streamed answer. The idle timer runs only while we wait
   * for the next chunk — not while the reader is busy with the last one
   * (writing a file, say) — and the byte limit is checked as each chunk
   * arrives. Leaving the loop early (the reader refused the artifact)
   * destroys the request, so no more bytes are fetched.
   */
  private async *body(
    res: http.IncomingMessage,
    t: {
      maxBytes: number;
      expected: number | null;
      waitForServer(message: string): void;
      notWaiting(): void;
      fail(message: string, kind: TransportFailure): void;
      failed(): RemoteTransportError | null;
      /** Every byte arrived. */
      bodyDone(): void;
    },
  ): AsyncGenerator<Buffer> {
    const chunks = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let received = 0;
    let complete = false;
    try {
      for (;;) {
        t.waitForServer(`the answer stalled for ${this.config.idleTimeoutMs} ms after ${received} bytes`);
        let step: IteratorResult<Buffer>;
        try {
          step = await chunks.next();
        } catch (e) {
          t.fail(`connection lost after ${received} bytes of the answer`, 'truncated');
          throw t.failed() ?? e;
        } finally {
          t.notWaiting();
        }
        const early = t.failed();
        if (early) throw early;
        if (step.done) break;
        received += step.value.byteLength;
        if (received > t.maxBytes) {
          t.fail(`answer is larger than the ${t.maxBytes} bytes allowed`, 'too-large');
          throw t.failed()!;
        }
        yield step.value;
      }
      if (t.expected !== null && received !== t.expected) {
        t.fail(`answer truncated: ${received} of ${t.expected} bytes`, 'truncated');
        throw t.failed()!;
      }
      complete = true;
      t.bodyDone();
    } finally {
      t.notWaiting();
      if (!complete) res.destroy();
    }
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
