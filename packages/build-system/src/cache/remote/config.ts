import { inspect } from 'node:util';
import { BuildSystemError } from '../../errors.js';

/**
 * Remote cache settings: flags / API options first, then our env vars, then
 * Turborepo's (so a CI already set up for turbo works unchanged). Resolved
 * once per run. Secrets (token, signature key) live in `Secret` objects that
 * print as `[redacted]` however they are logged or serialized; `redact`
 * scrubs them from any text that may have picked one up (a server's error
 * message, an exception) before it becomes a warning.
 */

/** What a caller can set (CLI flags map 1:1; `build({ remoteCache })`). */
export interface RemoteCacheOptions {
  /** Base URL of a Turborepo v8 API server, e.g. https://cache.example.com (the client appends /v8/...). */
  url?: string;
  /** Bearer token. Prefer the env var: a flag is visible to other users of the machine in the process list. */
  token?: string;
  /** Team: sent as `teamId` when it starts with `team_`, else as `slug`. */
  team?: string;
  /** Read hits, never upload (CI jobs for untrusted pull requests). */
  readOnly?: boolean;
  /** HMAC key: uploads carry `x-artifact-tag`, downloads without a valid one are refused. */
  signatureKey?: string;
  /** Most time to open a connection (default 2 s). */
  connectTimeoutMs?: number;
  /**
   * Most time the server may keep us waiting: for the first byte of its answer, between two chunks of
   * it, or to take the next piece of an upload (default 2 s). The first timeout turns the remote off
   * for the rest of the run.
   */
  idleTimeoutMs?: number;
  /** Most time for one request, body included (default 30 s): bounds a server that trickles. */
  requestTimeoutMs?: number;
  /**
   * Largest artifact accepted, in bytes, compressed and unpacked alike (default 256 MiB): a
   * download is aborted as the byte past it arrives, and a larger entry is not uploaded.
   */
  maxArtifactBytes?: number;
}

export const REMOTE_ENV = {
  url: ['BUILD_SYSTEM_REMOTE_CACHE_URL', 'TURBO_API'],
  token: ['BUILD_SYSTEM_REMOTE_CACHE_TOKEN', 'TURBO_TOKEN'],
  team: ['BUILD_SYSTEM_REMOTE_CACHE_TEAM', 'TURBO_TEAM'],
  readOnly: ['BUILD_SYSTEM_REMOTE_CACHE_READ_ONLY', 'TURBO_REMOTE_CACHE_READ_ONLY'],
  signatureKey: ['BUILD_SYSTEM_REMOTE_CACHE_SIGNATURE_KEY', 'TURBO_REMOTE_CACHE_SIGNATURE_KEY'],
  /** Seconds, like turbo's TURBO_REMOTE_CACHE_TIMEOUT. */
  requestTimeout: ['BUILD_SYSTEM_REMOTE_CACHE_TIMEOUT', 'TURBO_REMOTE_CACHE_TIMEOUT'],
  connectTimeout: ['BUILD_SYSTEM_REMOTE_CACHE_CONNECT_TIMEOUT'],
  idleTimeout: ['BUILD_SYSTEM_REMOTE_CACHE_IDLE_TIMEOUT'],
  /** MiB. */
  maxArtifactSize: ['BUILD_SYSTEM_REMOTE_CACHE_MAX_ARTIFACT_MB'],
} as const;

/**
 * Connect and idle bounds are what a dead server costs a run: the first one
 * passed turns the remote off (http.ts), so a black-holed address costs the
 * connect timeout and a server that accepts and stays silent the idle
 * timeout — 2 s each, inside the 3 s a run may lose to a dead remote
 * (research.md R5, R7). A live server answers a status or lookup in well under
 * a second; a slower one costs a local build, not a failure.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 2_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/**
 * The largest artifact (compressed, and again unpacked) a download accepts and an upload sends.
 * Ample for a package's build output (this package's dist: 2.3 MB), above the reference
 * server's default body limit (100 MB), and small enough that a compression bomb stops early.
 * Downloads are streamed, so memory does not grow with it (research.md R7).
 */
export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 1024 ** 2;

const REDACTED = '[redacted]';

/** A value that never prints. Read it with `reveal()` exactly where it is sent. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

export interface RemoteCacheConfig {
  /** Base URL without credentials or trailing slash. */
  baseUrl: string;
  /** For messages: the base URL (already credential-free). */
  displayUrl: string;
  token: Secret | null;
  /** How the team goes in the query string; null when none is set. */
  team: { param: 'teamId' | 'slug'; value: string } | null;
  readOnly: boolean;
  signatureKey: Secret | null;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  maxArtifactBytes: number;
  /** Every secret string, for `redact`. */
  secrets: Secret[];
}

function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

function envFlag(env: NodeJS.ProcessEnv, names: readonly string[]): boolean {
  const v = fromEnv(env, names);
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

function envSeconds(env: NodeJS.ProcessEnv, names: readonly string[]): number | undefined {
  const name = names.find((n) => env[n] !== undefined && env[n] !== '');
  if (!name) return undefined;
  const n = Number(env[name]);
  if (!Number.isFinite(n) || n <= 0) throw new BuildSystemError('USAGE', `must be a number of seconds > 0 (got ${JSON.stringify(env[name])})`, { field: name });
  return n * 1000;
}

function checkTimeout(field: string, ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new BuildSystemError('USAGE', `must be a time > 0 (got ${ms} ms)`, { field });
  return ms;
}

function envMiB(env: NodeJS.ProcessEnv, names: readonly string[]): number | undefined {
  const name = names.find((n) => env[n] !== undefined && env[n] !== '');
  if (!name) return undefined;
  const n = Number(env[name]);
  if (!Number.isFinite(n) || n <= 0) throw new BuildSystemError('USAGE', `must be a number of MiB > 0 (got ${JSON.stringify(env[name])})`, { field: name });
  return Math.floor(n * 1024 ** 2);
}

function checkBytes(field: string, bytes: number): number {
  // Below a tar's own framing (headers, end marker) nothing could pass; above 8 GiB a ustar size field overflows.
  if (!Number.isInteger(bytes) || bytes < 64 * 1024 || bytes > 8 * 1024 ** 3) {
    throw new BuildSystemError('USAGE', `must be a whole number of bytes from 64 KiB to 8 GiB (got ${bytes})`, { field });
  }
  return bytes;
}

/**
 * The remote cache of this run, or null when none is configured (no URL), or
 * `options === false` (the caller turned it off, env notwithstanding).
 * Throws BuildSystemError USAGE for a URL or timeout that cannot be right.
 */
export function resolveRemoteCacheConfig(options: RemoteCacheOptions | false | undefined, env: NodeJS.ProcessEnv = process.env): RemoteCacheConfig | null {
  if (options === false) return null;
  const o = options ?? {};
  const rawUrl = o.url ?? fromEnv(env, REMOTE_ENV.url);
  // No URL, no remote: a TURBO_TOKEN set for turbo alone must not make us talk to anyone.
  if (!rawUrl) return null;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new BuildSystemError('USAGE', `not a URL: ${JSON.stringify(stripCredentials(rawUrl))}`, { field: o.url ? '--remote-cache-url' : REMOTE_ENV.url.find((n) => env[n]) });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BuildSystemError('USAGE', `must be an http:// or https:// URL (got ${url.protocol})`, { field: '--remote-cache-url' });
  }
  // Credentials in the URL would end up in messages; the token has its own setting.
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const baseUrl = url.toString().replace(/\/+$/, '');

  const tokenText = o.token ?? fromEnv(env, REMOTE_ENV.token);
  const teamText = o.team ?? fromEnv(env, REMOTE_ENV.team);
  const keyText = o.signatureKey ?? fromEnv(env, REMOTE_ENV.signatureKey);
  const token = tokenText ? new Secret(tokenText) : null;
  const signatureKey = keyText ? new Secret(keyText) : null;
  return {
    baseUrl,
    displayUrl: baseUrl,
    token,
    team: teamText ? { param: teamText.startsWith('team_') ? 'teamId' : 'slug', value: teamText } : null,
    readOnly: o.readOnly ?? envFlag(env, REMOTE_ENV.readOnly),
    signatureKey,
    connectTimeoutMs: checkTimeout('--remote-cache-connect-timeout', o.connectTimeoutMs ?? envSeconds(env, REMOTE_ENV.connectTimeout) ?? DEFAULT_CONNECT_TIMEOUT_MS),
    idleTimeoutMs: checkTimeout(o.idleTimeoutMs !== undefined ? 'remoteCache.idleTimeoutMs' : REMOTE_ENV.idleTimeout[0], o.idleTimeoutMs ?? envSeconds(env, REMOTE_ENV.idleTimeout) ?? DEFAULT_IDLE_TIMEOUT_MS),
    requestTimeoutMs: checkTimeout('--remote-cache-timeout', o.requestTimeoutMs ?? envSeconds(env, REMOTE_ENV.requestTimeout) ?? DEFAULT_REQUEST_TIMEOUT_MS),
    maxArtifactBytes: checkBytes(
      o.maxArtifactBytes !== undefined ? 'remoteCache.maxArtifactBytes' : REMOTE_ENV.maxArtifactSize[0],
      o.maxArtifactBytes ?? envMiB(env, REMOTE_ENV.maxArtifactSize) ?? DEFAULT_MAX_ARTIFACT_BYTES,
    ),
    secrets: [token, signatureKey].filter((s): s is Secret => s !== null),
  };
}

/** `https://user:pw@host/x` → `https://host/x`; text that is no URL is returned as is. */
function stripCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/** Replaces every secret (and its URL-encoded and base64 forms) in `text` by [redacted]. */
export function redact(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const s of secrets) {
    const value = s.reveal();
    // Very short secrets would blank out ordinary words; they are not worth hiding then anyway.
    if (value.length < 4) continue;
    for (const form of new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64')])) out = out.split(form).join(REDACTED);
  }
  return out;
}

/** Flags whose value is a secret: command lines recorded anywhere (lock owner records) drop these values. */
export const SECRET_FLAGS = ['--remote-cache-token', '--remote-cache-signature-key'] as const;

/** argv with the values of SECRET_FLAGS replaced (both `--flag value` and `--flag=value`). */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = SECRET_FLAGS.find((f) => a.startsWith(`${f}=`));
    if (eq) out.push(`${eq}=${REDACTED}`);
    else if ((SECRET_FLAGS as readonly string[]).includes(a)) {
      out.push(a);
      if (i + 1 < argv.length) {
        out.push(REDACTED);
        i++;
      }
    } else out.push(a);
  }
  return out;
}
