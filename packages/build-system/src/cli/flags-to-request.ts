import { OUTPUT_LOGS_MODES, type OutputLogsMode } from '../cache/output-logs.js';
import { ADAPTER_NAMES, type AdapterName } from '../config/adapter-names.js';
import { BuildSystemError } from '../errors.js';
import type { BuildRequest } from '../request.js';
import { parseConcurrency } from '../util/concurrency.js';
import { BUILD_FLAG_TABLE, type BuildFlagDef, type BuildFlags, type CliView, type FlagParse } from './flag-table.js';

/**
 * The one conversion from the flags of `build` / `build:package` / `watch`
 * (cli/flag-table.ts, parsed by the fast path or by commander) to what the
 * run is: the BuildRequest the services take, and how the CLI shows it. Used
 * by commands/build-run.ts, watch-run.ts and build-replay.ts, so a flag means
 * the same in a run, a watch and a no-op replay. A bad value throws USAGE
 * naming the flag. Only types come from request.ts: the no-op replay loads
 * this without zod's schema.
 */

export type { CliView } from './flag-table.js';

export interface CliRequest {
  request: BuildRequest;
  view: CliView;
}

type FlagValue = string | boolean | readonly string[];

/** One function per FlagParse of the table: the flag's text (or switch) → the target's value. */
const PARSERS: Record<FlagParse, (flag: string, value: FlagValue) => unknown> = {
  'seconds-ms': (flag, v) => parseSeconds(flag, String(v)) * 1000,
  'positive-seconds-ms': (flag, v) => positiveSeconds(flag, String(v)),
  adapter: (_flag, v) => parseAdapter(String(v)),
  'output-logs': (_flag, v) => parseOutputLogs(String(v)),
  concurrency: (_flag, v) => parseConcurrency(String(v)),
  negated: (_flag, v) => v === false,
  off: (_flag, v) => (v === false ? false : undefined),
};

/**
 * Each row's value goes where its `to` says, through its `parse`: nothing here
 * names a flag, so a new row needs no line in this file. Rows are taken in the
 * table's order, so of several bad flags the first in `--help` is reported.
 */
export function flagsToRequest(packages: readonly string[], flags: BuildFlags): CliRequest {
  const request: Record<string, unknown> = { packages };
  const remoteCache: Record<string, unknown> = {};
  const view: Record<string, unknown> = {};
  let remoteOff = false;
  const given = flags as Record<string, FlagValue | undefined>;
  for (const row of BUILD_FLAG_TABLE as readonly BuildFlagDef[]) {
    const raw = given[row.key];
    if (raw === undefined) continue;
    const value = row.parse ? PARSERS[row.parse](row.flag, raw) : raw;
    if (row.to === 'request.remoteCache') remoteOff ||= value === false;
    else if (row.to.startsWith('request.remoteCache.')) remoteCache[row.to.slice('request.remoteCache.'.length)] = value;
    else if (row.to.startsWith('request.')) request[row.to.slice('request.'.length)] = value;
    else view[row.to.slice('view.'.length)] = value;
  }
  request.remoteCache = remoteOff ? false : remoteCache;
  return { request: request as BuildRequest, view: view as CliView };
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
