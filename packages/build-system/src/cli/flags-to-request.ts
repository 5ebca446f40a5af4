import { OUTPUT_LOGS_MODES, type OutputLogsMode } from '../cache/output-logs.js';
import type { RemoteCacheOptions } from '../cache/remote/config.js';
import { ADAPTER_NAMES, type AdapterName } from '../config/schema.js';
import { BuildSystemError } from '../errors.js';
import type { BuildRequest } from '../request.js';
import { parseConcurrency } from '../util/concurrency.js';
import type { BuildFlags } from './flag-table.js';

/**
 * The one conversion from the flags of `build` / `build:package` / `watch`
 * (cli/flag-table.ts, parsed by the fast path or by commander) to what the
 * run is: the BuildRequest the services take, and how the CLI shows it. Used
 * by commands/build-run.ts, watch-run.ts and build-replay.ts, so a flag means
 * the same in a run, a watch and a no-op replay. A bad value throws USAGE
 * naming the flag. Only types come from request.ts: the no-op replay loads
 * this without zod's schema.
 */

/** The flags that change how a run is shown or written down, not what it builds. */
export interface CliView {
  /** A watch session (`watch`, or `build --watch`). */
  watch?: boolean;
  json?: boolean;
  /** Unset: colour when the stream is a terminal and NO_COLOR is not set. */
  color?: boolean;
  /** Also write the --json document to this file. */
  summary?: string;
  explain?: boolean;
}

export interface CliRequest {
  request: BuildRequest;
  view: CliView;
}

export function flagsToRequest(packages: readonly string[], flags: BuildFlags): CliRequest {
  // Checked in this order so that, of several bad flags, the one reported stays the one it always was.
  const remoteCache = remoteCacheFlags(flags);
  const outputLogs = flags.outputLogs !== undefined ? parseOutputLogs(flags.outputLogs) : undefined;
  const adapter = flags.adapter !== undefined ? parseAdapter(flags.adapter) : undefined;
  const lockTimeoutMs = flags.lockTimeout !== undefined ? parseSeconds('--lock-timeout', flags.lockTimeout) * 1000 : undefined;
  const staleLockMs = flags.staleTimeout !== undefined ? positiveSeconds('--stale-timeout', flags.staleTimeout) : undefined;
  const concurrency = flags.concurrency !== undefined ? parseConcurrency(flags.concurrency) : undefined;
  const request: BuildRequest = {
    cwd: flags.cwd,
    packages,
    filter: flags.filter,
    all: flags.all,
    adapter,
    concurrency,
    bail: flags.bail,
    dryRun: flags.dryRun,
    strict: flags.strict,
    lockTimeoutMs,
    staleLockMs,
    force: flags.force,
    noCache: flags.cache === false,
    cacheDir: flags.cacheDir,
    outputLogs,
    remoteCache,
  };
  return { request, view: { watch: flags.watch, json: flags.json, color: flags.color, summary: flags.summary, explain: flags.explain } };
}

/** A `<seconds>` flag (>= 0), in seconds. */
export function parseSeconds(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new BuildSystemError('USAGE', `must be a number of seconds >= 0 (got ${JSON.stringify(value)})`, { field: flag });
  }
  return n;
}

/** A `<seconds>` flag that must be > 0, in ms. */
function positiveSeconds(flag: string, v: string): number {
  const s = parseSeconds(flag, v);
  if (s === 0) throw new BuildSystemError('USAGE', `must be a number of seconds > 0 (got ${JSON.stringify(v)})`, { field: flag });
  return s * 1000;
}

function parseOutputLogs(value: string): OutputLogsMode {
  if ((OUTPUT_LOGS_MODES as readonly string[]).includes(value)) return value as OutputLogsMode;
  throw new BuildSystemError('USAGE', `must be one of ${OUTPUT_LOGS_MODES.join(', ')} (got ${JSON.stringify(value)})`, { field: '--output-logs' });
}

function parseAdapter(value: string): AdapterName {
  if ((ADAPTER_NAMES as readonly string[]).includes(value)) return value as AdapterName;
  throw new BuildSystemError('USAGE', `must be one of ${ADAPTER_NAMES.join(', ')} (got ${JSON.stringify(value)})`, { field: '--adapter' });
}

/** The remote cache flags as options; unset ones fall back to env in the service. `false` for --no-remote-cache (env ignored). */
function remoteCacheFlags(flags: BuildFlags): RemoteCacheOptions | false {
  if (flags.remoteCache === false) return false;
  const seconds = (flag: string, v: string | undefined) => (v === undefined ? undefined : positiveSeconds(flag, v));
  return {
    url: flags.remoteCacheUrl,
    token: flags.remoteCacheToken,
    team: flags.remoteCacheTeam,
    readOnly: flags.remoteCacheReadOnly,
    signatureKey: flags.remoteCacheSignatureKey,
    requestTimeoutMs: seconds('--remote-cache-timeout', flags.remoteCacheTimeout),
    connectTimeoutMs: seconds('--remote-cache-connect-timeout', flags.remoteCacheConnectTimeout),
  };
}
