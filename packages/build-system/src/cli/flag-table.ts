import type { RemoteCacheOptions } from '../cache/remote/config.js';
import { ADAPTER_NAMES } from '../config/adapter-names.js';
import type { BuildRequest } from '../request.js';

/**
 * Every flag of `build` / `build:package` / `watch`, as data: the one place a
 * flag is defined. From this table come the Nest options (commands/build.command.ts
 * applies nest-commander's Option to generated methods, so `--help` lists them in
 * this order), the fast path's parser (commands/build-argv.ts), the generated
 * help (cli/help.ts), the flag part of the no-op record key
 * (commands/run-output.ts noopRecordOptions) and, through each row's `to` and
 * `parse`, the BuildRequest the run is given (cli/flags-to-request.ts). Adding a
 * build flag is one row here (and, for a new kind of value, a field in request.ts). The other commands' tables are in
 * cli/commands.ts and take the rows several commands share from here. Nest-free
 * on purpose: src/main.ts reads it without loading Nest.
 */

/**
 * - boolean: `--x` sets key to true; negation: `--no-x` sets key to false (commander's negatable option);
 * - value: `--x <v>` (last wins); repeatable: `--x <v>` collected into an array.
 */
export type FlagType = 'boolean' | 'negation' | 'value' | 'repeatable';

export interface FlagDef {
  /** Long name with the dashes, as commander shows it. */
  readonly flag: string;
  /** Key in the parsed flags (commander's camelCase of the long name; `--no-x` sets `x`). */
  readonly key: string;
  readonly type: FlagType;
  /** The value's placeholder in help, e.g. `<seconds>` (value and repeatable flags). */
  readonly arg?: string;
  readonly help: string;
  /** Only the build table's rows need it (see BuildFlagDef); the shared rows carry it so build can take them as they are. */
  readonly affectsOutputs?: 'key' | 'never' | false;
}

/** The flags that change how a run is shown or written down, not what it builds (the CLI's own, beside the request). */
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

/** Where a build flag's value goes: a BuildRequest field, a remote cache option, or the CLI's view. */
export type FlagTarget =
  | `request.${Exclude<keyof BuildRequest, 'remoteCache' | 'packages'>}`
  | `request.remoteCache.${keyof RemoteCacheOptions}`
  | 'request.remoteCache'
  | `view.${keyof CliView}`;

/**
 * How the flag's text becomes the target's value (cli/flags-to-request.ts has one
 * function each; a bad value is a USAGE error naming the flag). Unset: as given.
 * - seconds-ms: seconds >= 0, given to the run in ms; positive-seconds-ms: the same, > 0;
 * - adapter / output-logs / concurrency: checked against their allowed values;
 * - negated: a `--no-x` row whose target says the opposite (`--no-cache` → noCache: true);
 * - off: a `--no-x` row that turns its target off (`--no-remote-cache` → remoteCache: false).
 */
export type FlagParse = 'seconds-ms' | 'positive-seconds-ms' | 'adapter' | 'output-logs' | 'concurrency' | 'negated' | 'off';

export interface BuildFlagDef extends FlagDef {
  readonly to: FlagTarget;
  readonly parse?: FlagParse;
  /**
   * How the flag bears on the no-op replay (cache/noop/record.ts):
   * - 'key': it can change what a build writes, so its value is part of the record key;
   * - 'never': a run with it set is neither recorded nor replayed (its output comes from a real run);
   * - false: it only changes printing, waiting or selection, which a replay applies from the current flags.
   */
  readonly affectsOutputs: 'key' | 'never' | false;
}

/**
 * Rows more than one command has, defined once. A command whose help says it
 * differently (build's --json names BuildResult) overrides `help` only, so the
 * flag, its key and its parsing cannot drift apart between commands.
 */
export const JSON_FLAG = { flag: '--json', key: 'json', type: 'boolean', help: 'print one JSON document on stdout', affectsOutputs: false } as const;
export const CWD_FLAG = { flag: '--cwd', key: 'cwd', type: 'value', arg: '<dir>', help: 'run as if started in <dir>', affectsOutputs: false } as const;
export const FILTER_FLAG = { flag: '--filter', key: 'filter', type: 'repeatable', arg: '<filter>', help: 'select packages (repeatable), as for build', affectsOutputs: false } as const;
export const ALL_FLAG = { flag: '--all', key: 'all', type: 'boolean', help: 'include packages without a build.config.* when an entry can be inferred', affectsOutputs: 'key' } as const;
export const COLOR_FLAG = { flag: '--color', key: 'color', type: 'boolean', help: 'force colour', affectsOutputs: false } as const;
export const NO_COLOR_FLAG = { flag: '--no-color', key: 'color', type: 'negation', help: 'no colour', affectsOutputs: false } as const;
export const CACHE_DIR_FLAG = { flag: '--cache-dir', key: 'cacheDir', type: 'value', arg: '<dir>', help: 'cache directory (default: $BUILD_SYSTEM_CACHE_DIR, else <workspace>/node_modules/.cache/build-system)', affectsOutputs: false } as const;

export const BUILD_FLAG_TABLE = [
  { flag: '--watch', key: 'watch', type: 'boolean', help: 'keep running: rebuild what a change affects (same as the watch command)', affectsOutputs: false, to: 'view.watch' },
  { ...JSON_FLAG, help: 'print one JSON document (every BuildResult) on stdout; logs go to stderr', to: 'view.json' },
  { flag: '--adapter', key: 'adapter', type: 'value', arg: '<name>', help: `use this adapter instead of the config's (${ADAPTER_NAMES.join(', ')})`, affectsOutputs: 'key', to: 'request.adapter', parse: 'adapter' },
  { ...CWD_FLAG, to: 'request.cwd' },
  { flag: '--lock-timeout', key: 'lockTimeout', type: 'value', arg: '<seconds>', help: "how long to wait for another process's lock on a package (default 300; 0 = fail at once)", affectsOutputs: false, to: 'request.lockTimeoutMs', parse: 'seconds-ms' },
  { flag: '--stale-timeout', key: 'staleTimeout', type: 'value', arg: '<seconds>', help: "how long a package lock's holder may go silent (no heartbeat) before a waiter takes the lock over (default 10)", affectsOutputs: false, to: 'request.staleLockMs', parse: 'positive-seconds-ms' },
  { ...FILTER_FLAG, help: 'select packages (repeatable): name, @scope/*, ./dir, [git-ref], name... (with dependencies), ...name (with dependents), !filter', to: 'request.filter' },
  { ...ALL_FLAG, help: 'also build packages without a build.config.* when an entry can be inferred from package.json', to: 'request.all' },
  { flag: '--concurrency', key: 'concurrency', type: 'value', arg: '<n>', help: 'most packages built at once, e.g. 4 or 50% of the cores (default: 10, or the number of cores if more)', affectsOutputs: false, to: 'request.concurrency', parse: 'concurrency' },
  { flag: '--bail', key: 'bail', type: 'boolean', help: 'after the first failure start nothing new (running builds finish)', affectsOutputs: false, to: 'request.bail' },
  { flag: '--dry-run', key: 'dryRun', type: 'boolean', help: 'print the plan (order, adapter, dependencies, cache) without building; with --json as a document', affectsOutputs: 'never', to: 'request.dryRun' },
  { flag: '--summary', key: 'summary', type: 'value', arg: '<file>', help: 'also write the --json document to <file> (relative to the current directory, not --cwd)', affectsOutputs: 'never', to: 'view.summary' },
  { ...COLOR_FLAG, help: 'force colour (default: on for a terminal unless NO_COLOR is set)', to: 'view.color' },
  { flag: '--force', key: 'force', type: 'boolean', help: 'build even when the cache has this result (the new result is still stored)', affectsOutputs: 'never', to: 'request.force' },
  { flag: '--strict', key: 'strict', type: 'boolean', help: 'package.json problems found after a build (missing export targets, condition order, types of the wrong module kind, files) fail it', affectsOutputs: false, to: 'request.strict' },
  { flag: '--no-cache', key: 'cache', type: 'negation', help: 'neither read nor write the build cache', affectsOutputs: 'never', to: 'request.noCache', parse: 'negated' },
  { ...CACHE_DIR_FLAG, to: 'request.cacheDir' },
  { flag: '--output-logs', key: 'outputLogs', type: 'value', arg: '<mode>', help: 'tool output to show, live or replayed from the cache: full (default), errors-only, none', affectsOutputs: false, to: 'request.outputLogs', parse: 'output-logs' },
  { flag: '--explain', key: 'explain', type: 'boolean', help: 'print why each package was rebuilt or taken from the cache', affectsOutputs: 'never', to: 'view.explain' },
  { flag: '--remote-cache-url', key: 'remoteCacheUrl', type: 'value', arg: '<url>', help: 'Turborepo-compatible remote cache server (env BUILD_SYSTEM_REMOTE_CACHE_URL, then TURBO_API)', affectsOutputs: 'never', to: 'request.remoteCache.url' },
  { flag: '--remote-cache-token', key: 'remoteCacheToken', type: 'value', arg: '<token>', help: 'bearer token for the remote cache; prefer env BUILD_SYSTEM_REMOTE_CACHE_TOKEN (or TURBO_TOKEN): flags show in process lists', affectsOutputs: 'never', to: 'request.remoteCache.token' },
  { flag: '--remote-cache-team', key: 'remoteCacheTeam', type: 'value', arg: '<team>', help: 'team: sent as teamId when it starts with team_, else as slug (env BUILD_SYSTEM_REMOTE_CACHE_TEAM, then TURBO_TEAM)', affectsOutputs: 'never', to: 'request.remoteCache.team' },
  { flag: '--remote-cache-read-only', key: 'remoteCacheReadOnly', type: 'boolean', help: 'use remote hits but never upload (e.g. CI for pull requests; env BUILD_SYSTEM_REMOTE_CACHE_READ_ONLY=1)', affectsOutputs: 'never', to: 'request.remoteCache.readOnly' },
  { flag: '--remote-cache-signature-key', key: 'remoteCacheSignatureKey', type: 'value', arg: '<key>', help: 'sign uploads (x-artifact-tag) and refuse unsigned or badly signed downloads (env BUILD_SYSTEM_REMOTE_CACHE_SIGNATURE_KEY)', affectsOutputs: 'never', to: 'request.remoteCache.signatureKey' },
  { flag: '--remote-cache-timeout', key: 'remoteCacheTimeout', type: 'value', arg: '<seconds>', help: 'most time for one remote cache request, body included (default 30); any timeout turns the remote off for the run', affectsOutputs: 'never', to: 'request.remoteCache.requestTimeoutMs', parse: 'positive-seconds-ms' },
  { flag: '--remote-cache-connect-timeout', key: 'remoteCacheConnectTimeout', type: 'value', arg: '<seconds>', help: 'most time to connect to the remote cache (default 2)', affectsOutputs: 'never', to: 'request.remoteCache.connectTimeoutMs', parse: 'positive-seconds-ms' },
  { flag: '--no-remote-cache', key: 'remoteCache', type: 'negation', help: 'do not use a remote cache, even when env configures one', affectsOutputs: false, to: 'request.remoteCache', parse: 'off' },
  { ...NO_COLOR_FLAG, to: 'view.color' },
] as const satisfies readonly BuildFlagDef[];

type ValueOf<R extends FlagDef> = R['type'] extends 'boolean' | 'negation' ? boolean : R['type'] extends 'repeatable' ? string[] : string;

/** The flags of a command as commander (or the fast path) hands them over: inferred from its table. */
export type FlagsOf<T extends readonly FlagDef[]> = { [R in T[number] as R['key']]?: ValueOf<R> };

export type BuildFlags = FlagsOf<typeof BUILD_FLAG_TABLE>;
