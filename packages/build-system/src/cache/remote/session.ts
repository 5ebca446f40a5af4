// Long because: one run's remote-cache state (lazy status check, disable once with one warning, upload queue and its drain on exit); each rule refers to the others.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { isInside, toPosix } from '../../util/paths.js';
import type { PackageCache } from '../package-cache.js';
import { localDraft, packArtifact, receiveArtifact, RemoteArtifactError, UnsafeArchiveError, type ReceivedArtifact } from './artifact.js';
import { redact, type RemoteCacheConfig } from './config.js';
import { MAX_SMALL_ANSWER_BYTES, RETRY_BACKOFF_MS, RemoteHttpClient, RemoteTransportError, type RemoteResponse, type StreamedAnswer } from './http.js';
import { artifactSigner, artifactTag, checkTagDigest } from './signature.js';

/**
 * The remote cache for one run: shared by every package build of the run.
 *
 * - `GET /v8/artifacts/status` once, before the first artifact request (lazily,
 *   so a run served entirely by the local cache never touches the network).
 * - A failure that says the remote is unusable — a timeout, no answer, 5xx
 *   after the retry, 401/403, a status other than "enabled" — disables it for
 *   the rest of the run with exactly one warning (`onWarning`), and aborts
 *   every request still running (the client's breaker), so a dead server
 *   costs one bounded wait per run, not one per package.
 * - A failure of one artifact — bad signature, unsafe, damaged or too large
 *   an archive, verification — is that package's miss, returned as its own
 *   warning; the remote stays on.
 * - Downloads are streamed to disk (artifact.ts: receiveArtifact) within
 *   `maxArtifactBytes`; with a signature key the compressed body is first
 *   spooled to disk and its tag checked, so nothing unsigned is unpacked.
 * - Uploads are queued (at most UPLOAD_CONCURRENCY at once) and run while
 *   other packages build; `finish` waits for them, bounded by `uploadWaitMs`.
 *
 * Every message goes through `redact`: the token and signature key never
 * reach a warning, whatever a server or an exception put in its text.
 */

export const UPLOAD_CONCURRENCY = 4;

/** `hit` may carry a warning about local bookkeeping (eviction) that did not stop the entry from being stored. */
export type RemoteFetchResult = { status: 'hit'; warning?: string } | { status: 'miss' } | { status: 'rejected'; warning: string };

export interface RemoteRunSummary {
  url: string;
  readOnly: boolean;
  signed: boolean;
  /** `not-contacted`: nothing needed the server (every package was a local hit). */
  status: 'enabled' | 'disabled' | 'not-contacted';
  /** Why it was disabled. */
  reason?: string;
  downloads: { hits: number; misses: number; rejected: number };
  uploads: { done: number; failed: number; skipped: number };
  /** Run-level warnings, each printed once (per-package ones are in that package's diagnostics). */
  warnings: string[];
}

interface UploadJob {
  key: string;
  /** The package's cache: the entry is read from its local store. */
  cache: PackageCache;
}

export class RemoteCacheSession {
  private readonly client: RemoteHttpClient;
  private state: 'not-contacted' | 'enabled' | 'disabled' = 'not-contacted';
  private ready: Promise<boolean> | null = null;
  private reason: string | undefined;
  private readonly warnings: string[] = [];
  private readonly downloads = { hits: 0, misses: 0, rejected: 0 };
  private readonly uploads = { done: 0, failed: 0, skipped: 0 };
  private readonly queue: UploadJob[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly uploadAbort = new AbortController();
  private closed = false;

  constructor(
    readonly config: RemoteCacheConfig,
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    this.client = new RemoteHttpClient(config);
  }

  /** How long `finish` waits for uploads still running: two tries of one request and the backoff between. */
  get uploadWaitMs(): number {
    return 2 * this.config.requestTimeoutMs + RETRY_BACKOFF_MS + 1_000;
  }

  get canRead(): boolean {
    return this.state !== 'disabled';
  }

  get canWrite(): boolean {
    return this.state !== 'disabled' && !this.config.readOnly;
  }

  private team(): string {
    return this.config.team?.value ?? '';
  }

  private clean(text: string): string {
    return redact(text, this.config.secrets);
  }

  private warn(message: string): void {
    const m = this.clean(message);
    this.warnings.push(m);
    this.onWarning(m);
  }

  /** Turns the remote off for the rest of the run; only the first call warns. Requests still running are aborted. */
  private disable(why: string): void {
    if (this.state === 'disabled') return;
    this.state = 'disabled';
    this.reason = this.clean(why);
    this.client.trip(this.reason);
    this.warn(`remote cache disabled for this run: ${this.reason}; building and caching locally only`);
  }

  /** The status check, once per run. False when the remote is (now) disabled. */
  private ensureReady(): Promise<boolean> {
    if (this.state === 'disabled') return Promise.resolve(false);
    this.ready ??= (async () => {
      // Nothing else talks to the server before this answer, so nothing can have disabled it meanwhile;
      // `enable` still refuses to undo a disable, should that ever change.
      const enable = () => {
        if (this.state !== 'disabled') this.state = 'enabled';
      };
      try {
        const res = await this.client.request({ method: 'GET', path: '/v8/artifacts/status', signal: this.uploadAbort.signal });
        if (res.status === 404) {
          // A server without the status endpoint (older or minimal implementations): artifacts may still work.
          enable();
        } else if (res.status === 200) {
          if (res.truncated) {
            this.disable(`${this.config.displayUrl} answered GET /v8/artifacts/status with more than ${MAX_SMALL_ANSWER_BYTES} bytes (a status is a few dozen)`);
            return false;
          }
          const status = parseJson(res.body)?.status;
          if (status === undefined || status === 'enabled') enable();
          else this.disable(`${this.config.displayUrl} reports remote caching as ${JSON.stringify(String(status))}`);
        } else {
          this.refused(res, 'GET /v8/artifacts/status');
        }
      } catch (e) {
        this.unreachable(e);
      }
      return this.state === 'enabled';
    })();
    return this.ready.then((ok) => ok && this.state === 'enabled');
  }

  /** An HTTP answer that makes the remote unusable for the run. */
  private refused(res: RemoteResponse, what: string): void {
    const detail = serverMessage(res);
    if (res.status === 401 || res.status === 403) {
      const code = detail.code?.startsWith('remote_caching_') ? detail.code.slice('remote_caching_'.length) : null;
      if (code) this.disable(`remote caching is ${code} for this team (${what}: HTTP ${res.status}${detail.message ? `: ${detail.message}` : ''})`);
      else this.disable(`${this.config.displayUrl} refused the credentials (${what}: HTTP ${res.status}${detail.message ? `: ${detail.message}` : ''}); check the token (--remote-cache-token / BUILD_SYSTEM_REMOTE_CACHE_TOKEN) and team`);
    } else {
      this.disable(`${this.config.displayUrl} answered ${what} with HTTP ${res.status}${detail.message ? `: ${detail.message}` : ''}`);
    }
  }

  private unreachable(e: unknown): void {
    if (e instanceof RemoteTransportError && e.kind === 'circuit-open') {
      // Aborted because the remote was turned off (by another request's timeout, say): that one already said why.
      const cause = e.cause;
      if (cause instanceof RemoteTransportError && cause.kind !== 'circuit-open') e = cause;
      else return this.disable(e.message);
    }
    const message = e instanceof RemoteTransportError ? e.message : `unexpected error: ${(e as Error)?.message ?? String(e)}`;
    this.disable(`${this.config.displayUrl} is not usable (${message})`);
  }

  /**
   * Looks `key` up on the server. On a verified hit the entry is written to
   * the package's local cache (replacing a corrupt one when `replace`; with
   * the usual eviction), and the caller restores it from there like any
   * local hit.
   */
  async fetchInto(key: string, cache: PackageCache, options: { replace?: boolean; signal?: AbortSignal } = {}): Promise<RemoteFetchResult> {
    if (!(await this.ensureReady())) return { status: 'miss' };
    const reject = (why: string): RemoteFetchResult => {
      this.downloads.rejected++;
      return { status: 'rejected', warning: this.clean(`remote cache artifact ${key.slice(0, 12)} refused: ${why}; building locally`) };
    };
    // One fresh directory per attempt (a retry starts over), in the cache's tmp, which prune clears of crash leftovers.
    const attempts: string[] = [];
    const tmpRoot = path.join(cache.store.root, 'tmp');
    const fresh = async () => {
      await mkdir(tmpRoot, { recursive: true });
      const dir = await mkdtemp(path.join(tmpRoot, `remote-${key.slice(0, 12)}-`));
      attempts.push(dir);
      return dir;
    };
    try {
      let outcome;
      try {
        outcome = await this.client.download(
          { method: 'GET', path: `/v8/artifacts/${key}`, signal: options.signal },
          { maxBytes: this.config.maxArtifactBytes, read: (answer) => this.receive(key, answer, fresh) },
        );
      } catch (e) {
        if (e instanceof RemoteArtifactError || e instanceof UnsafeArchiveError) return reject(e.message);
        if (e instanceof RemoteTransportError) {
          if (e.kind === 'too-large') return reject(`${e.message.replace(/^GET \S+: /, '')} (BUILD_SYSTEM_REMOTE_CACHE_MAX_ARTIFACT_MB)`);
          if (options.signal?.aborted) return { status: 'miss' };
          this.unreachable(e);
          return { status: 'miss' };
        }
        // Anything else happened on our side, writing the download to disk.
        return reject(`could not write it to the local cache (${(e as Error)?.message ?? String(e)})`);
      }
      if (!('value' in outcome)) {
        if (outcome.status === 404) {
          this.downloads.misses++;
          return { status: 'miss' };
        }
        this.refused(outcome.response, `GET /v8/artifacts/${key.slice(0, 12)}…`);
        return { status: 'miss' };
      }
      const received = outcome.value;
      // Recorded reads are checked against this machine's files: never outside this workspace.
      const { reads } = received.manifest;
      const escaping = [...Object.keys(reads.files).filter((p) => reads.files[p] !== null), ...Object.keys(reads.dirs), ...Object.keys(reads.manifests)].find(
        (rel) => !isInside(cache.pkg.workspaceRoot, path.resolve(cache.pkg.dir, rel)),
      );
      if (escaping) return reject(`it names ${escaping}, outside the workspace`);
      let problem: string | null;
      try {
        // files/<outDir> now stands where a build's staging dir would: stored exactly as a build's outputs are.
        problem = await cache.save(localDraft(received, cache.pkg.dir), path.join(received.root, 'files', ...received.manifest.outDir.split('/')), {
          replace: options.replace === true,
        });
      } catch (e) {
        return reject(`could not write it to the local cache (${(e as Error).message})`);
      }
      this.downloads.hits++;
      // A failed write shows when the caller reads the entry back; the text says why.
      return problem ? { status: 'hit', warning: this.clean(problem) } : { status: 'hit' };
    } finally {
      await Promise.all(attempts.map((d) => rm(d, { recursive: true, force: true }).catch(() => {})));
    }
  }

  /**
   * One attempt at a 200 answer: straight from the wire into receiveArtifact;
   * with a signature key, first to a file through the HMAC, and unpacked from
   * there only once the tag matched (a missing tag refuses it before a byte
   * of the body is read).
   */
  private async receive(key: string, answer: StreamedAnswer, fresh: () => Promise<string>): Promise<ReceivedArtifact> {
    const signatureKey = this.config.signatureKey;
    const limits = { maxArtifactBytes: this.config.maxArtifactBytes };
    const dir = await fresh();
    if (!signatureKey) return receiveArtifact(answer.body, key, path.join(dir, 'unpacked'), limits);
    const header = answer.headers['x-artifact-tag'];
    const tag = Array.isArray(header) ? header[0] : header;
    if (!tag) throw new RemoteArtifactError('it has no x-artifact-tag (signature)');
    const spooled = path.join(dir, 'artifact');
    const signer = artifactSigner(signatureKey, key, this.team());
    const handle = await open(spooled, 'wx', 0o600);
    try {
      for await (const chunk of answer.body) {
        signer.update(chunk);
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    const problem = checkTagDigest(signer.digest(), tag);
    if (problem) throw new RemoteArtifactError(problem);
    return receiveArtifact(createReadStream(spooled), key, path.join(dir, 'unpacked'), limits);
  }

  /** Queues the upload of a freshly stored local entry; returns at once. */
  enqueueUpload(job: UploadJob): void {
    if (!this.canWrite || this.closed) {
      this.uploads.skipped++;
      return;
    }
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < UPLOAD_CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const p: Promise<void> = this.upload(job)
        .catch((e) => {
          this.uploads.failed++;
          this.warn(`remote cache: upload of ${job.cache.pkg.name} failed: ${(e as Error)?.message ?? String(e)}`);
        })
        .finally(() => {
          this.running.delete(p);
          this.pump();
        });
      this.running.add(p);
    }
  }

  private async upload(job: UploadJob): Promise<void> {
    if (this.uploadAbort.signal.aborted || !(await this.ensureReady()) || !this.canWrite) {
      this.uploads.skipped++;
      return;
    }
    const { store, pkg } = job.cache;
    const lookup = await store.get(job.key, { touch: false });
    if (lookup.status !== 'hit') {
      // Evicted or damaged between the build and now: nothing trustworthy to upload.
      this.uploads.skipped++;
      return;
    }
    const { manifest } = lookup.hit;
    const bytes = manifest.artifacts.reduce((n, a) => n + a.bytes, 0);
    if (bytes > this.config.maxArtifactBytes) {
      // Every reader would refuse it (the same limit, unless configured otherwise): not worth the upload.
      this.uploads.skipped++;
      this.warn(`remote cache: ${pkg.name} was not uploaded: its outputs have ${bytes} bytes, more than the ${this.config.maxArtifactBytes} allowed (BUILD_SYSTEM_REMOTE_CACHE_MAX_ARTIFACT_MB)`);
      return;
    }
    const { body } = await packArtifact({
      manifest,
      packageDir: toPosix(path.relative(pkg.workspaceRoot, pkg.dir)) || '.',
      readArtifact: (a) => store.readBlob(job.key, a.sha256),
    });
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'x-artifact-duration': String(Math.max(0, Math.round(manifest.durationMs))),
    };
    if (this.config.signatureKey) headers['x-artifact-tag'] = artifactTag(this.config.signatureKey, manifest.primaryKey, this.team(), body);
    let res: RemoteResponse;
    try {
      // Stored under the fingerprint's key, which is what another machine knows before it builds.
      res = await this.client.request({ method: 'PUT', path: `/v8/artifacts/${manifest.primaryKey}`, headers, body, signal: this.uploadAbort.signal });
    } catch (e) {
      // Abandoned at the end of the run, or cut off because the remote was turned off meanwhile.
      if (this.uploadAbort.signal.aborted || (e instanceof RemoteTransportError && e.kind === 'circuit-open')) {
        this.uploads.skipped++;
        if (!this.uploadAbort.signal.aborted) this.unreachable(e);
        return;
      }
      this.uploads.failed++;
      this.unreachable(e);
      return;
    }
    if (res.status >= 200 && res.status < 300) {
      this.uploads.done++;
      return;
    }
    this.uploads.failed++;
    if (res.status === 413) {
      // Too large for this server: that artifact only; the others may fit.
      this.warn(`remote cache: ${pkg.name} was not uploaded: the server refused ${body.byteLength} bytes (HTTP 413)`);
      return;
    }
    this.refused(res, `PUT /v8/artifacts/${manifest.primaryKey.slice(0, 12)}…`);
  }

  /**
   * Waits for queued and running uploads (at most `uploadWaitMs`; at once
   * when `cancelled`), then closes connections. Returns the run's summary.
   */
  async finish(options: { cancelled?: boolean } = {}): Promise<RemoteRunSummary> {
    this.closed = true;
    if (options.cancelled) this.abandon('the run was cancelled');
    else if (this.running.size > 0 || this.queue.length > 0) {
      const deadline = Date.now() + this.uploadWaitMs;
      while ((this.running.size > 0 || this.queue.length > 0) && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.race([...this.running]), new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
        clearTimeout(timer);
      }
      if (this.running.size > 0 || this.queue.length > 0) this.abandon(`they did not finish within ${Math.round(this.uploadWaitMs / 1000)} s`);
    }
    // Aborted requests settle right away; wait for them so counts are final and nothing writes after we return.
    await Promise.allSettled([...this.running]);
    this.client.close();
    return this.summary();
  }

  private abandon(why: string): void {
    const pending = this.queue.length + this.running.size;
    this.uploads.skipped += this.queue.length;
    this.queue.length = 0;
    this.uploadAbort.abort();
    if (pending > 0) this.warn(`remote cache: ${pending} upload${pending === 1 ? '' : 's'} abandoned: ${why}`);
  }

  summary(): RemoteRunSummary {
    return {
      url: this.config.displayUrl,
      readOnly: this.config.readOnly,
      signed: this.config.signatureKey !== null,
      status: this.state,
      ...(this.reason ? { reason: this.reason } : {}),
      downloads: { ...this.downloads },
      uploads: { ...this.uploads },
      warnings: [...this.warnings],
    };
  }
}

function parseJson(body: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Vercel answers `{ error: { code, message } }`, turborepo-remote-cache `{ message }`; anything else is cut to one short line. */
function serverMessage(res: RemoteResponse): { code?: string; message?: string } {
  const json = parseJson(res.body);
  const error = json?.error;
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    return { code: typeof e.code === 'string' ? e.code : undefined, message: typeof e.message === 'string' ? e.message : undefined };
  }
  if (typeof json?.message === 'string') return { message: json.message };
  const text = res.body.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
  return text ? { message: text } : {};
}
