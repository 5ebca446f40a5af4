import { ADAPTER_NAMES } from '../config/schema.js';

/**
 * Every flag of `build` / `build:package` / `watch`, as data: the one place a
 * flag is defined. From this table come the Nest options (commands/build.command.ts
 * applies nest-commander's Option to generated methods, so `--help` lists them in
 * this order), the fast path's parser (commands/build-argv.ts), the generated
 * help (cli/help.ts) and the flag part of the no-op record key
 * (commands/run-output.ts noopRecordOptions). The other commands' tables are in
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

export interface BuildFlagDef extends FlagDef {
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
  { flag: '--watch', key: 'watch', type: 'boolean', help: 'keep running: rebuild what a change affects (same as the watch command)', affectsOutputs: false },
  { ...JSON_FLAG, help: 'print one JSON document (every BuildResult) on stdout; logs go to stderr' },
  { flag: '--adapter', key: 'adapter', type: 'value', arg: '<name>', help: `use this adapter instead of the config's (${ADAPTER_NAMES.join(', ')})`, affectsOutputs: 'key' },
  CWD_FLAG,
  { flag: '--lock-timeout', key: 'lockTimeout', type: 'value', arg: '<seconds>', help: "how long to wait for another process's lock on a package (default 300; 0 = fail at once)", affectsOutputs: false },
  { flag: '--stale-timeout', key: 'staleTimeout', type: 'value', arg: '<seconds>', help: "how long a package lock's holder may go silent (no heartbeat) before a waiter takes the lock over (default 10)", affectsOutputs: false },
  { ...FILTER_FLAG, help: 'select packages (repeatable): name, @scope/*, ./dir, [git-ref], name... (with dependencies), ...name (with dependents), !filter' },
  { ...ALL_FLAG, help: 'also build packages without a build.config.* when an entry can be inferred from package.json' },
  { flag: '--concurrency', key: 'concurrency', type: 'value', arg: '<n>', help: 'most packages built at once, e.g. 4 or 50% of the cores (default: 10, or the number of cores if more)', affectsOutputs: false },
  { flag: '--bail', key: 'bail', type: 'boolean', help: 'after the first failure start nothing new (running builds finish)', affectsOutputs: false },
  { flag: '--dry-run', key: 'dryRun', type: 'boolean', help: 'print the plan (order, adapter, dependencies, cache) without building; with --json as a document', affectsOutputs: 'never' },
  { flag: '--summary', key: 'summary', type: 'value', arg: '<file>', help: 'also write the --json document to <file> (relative to the current directory, not --cwd)', affectsOutputs: 'never' },
  { ...COLOR_FLAG, help: 'force colour (default: on for a terminal unless NO_COLOR is set)' },
  { flag: '--force', key: 'force', type: 'boolean', help: 'build even when the cache has this result (the new result is still stored)', affectsOutputs: 'never' },
  { flag: '--strict', key: 'strict', type: 'boolean', help: 'package.json problems found after a build (missing export targets, condition order, types of the wrong module kind, files) fail it', affectsOutputs: false },
  { flag: '--no-cache', key: 'cache', type: 'negation', help: 'neither read nor write the build cache', affectsOutputs: 'never' },
  CACHE_DIR_FLAG,
  { flag: '--output-logs', key: 'outputLogs', type: 'value', arg: '<mode>', help: 'tool output to show, live or replayed from the cache: full (default), errors-only, none', affectsOutputs: false },
  { flag: '--explain', key: 'explain', type: 'boolean', help: 'print why each package was rebuilt or taken from the cache', affectsOutputs: 'never' },
  { flag: '--remote-cache-url', key: 'remoteCacheUrl', type: 'value', arg: '<url>', help: 'Turborepo-compatible remote cache server (env BUILD_SYSTEM_REMOTE_CACHE_URL, then TURBO_API)', affectsOutputs: 'never' },
  { flag: '--remote-cache-token', key: 'remoteCacheToken', type: 'value', arg: '<token>', help: 'bearer token for the remote cache; prefer env BUILD_SYSTEM_REMOTE_CACHE_TOKEN (or TURBO_TOKEN): flags show in process lists', affectsOutputs: 'never' },
  { flag: '--remote-cache-team', key: 'remoteCacheTeam', type: 'value', arg: '<team>', help: 'team: sent as teamId when it starts with team_, else as slug (env BUILD_SYSTEM_REMOTE_CACHE_TEAM, then TURBO_TEAM)', affectsOutputs: 'never' },
  { flag: '--remote-cache-read-only', key: 'remoteCacheReadOnly', type: 'boolean', help: 'use remote hits but never upload (e.g. CI for pull requests; env BUILD_SYSTEM_REMOTE_CACHE_READ_ONLY=1)', affectsOutputs: 'never' },
  { flag: '--remote-cache-signature-key', key: 'remoteCacheSignatureKey', type: 'value', arg: '<key>', help: 'sign uploads (x-artifact-tag) and refuse unsigned or badly signed downloads (env BUILD_SYSTEM_REMOTE_CACHE_SIGNATURE_KEY)', affectsOutputs: 'never' },
  { flag: '--remote-cache-timeout', key: 'remoteCacheTimeout', type: 'value', arg: '<seconds>', help: 'most time for one remote cache request, body included (default 30); any timeout turns the remote off for the run', affectsOutputs: 'never' },
  { flag: '--remote-cache-connect-timeout', key: 'remoteCacheConnectTimeout', type: 'value', arg: '<seconds>', help: 'most time to connect to the remote cache (default 2)', affectsOutputs: 'never' },
  { flag: '--no-remote-cache', key: 'remoteCache', type: 'negation', help: 'do not use a remote cache, even when env configures one', affectsOutputs: false },
  NO_COLOR_FLAG,
] as const satisfies readonly BuildFlagDef[];

type ValueOf<R extends FlagDef> = R['type'] extends 'boolean' | 'negation' ? boolean : R['type'] extends 'repeatable' ? string[] : string;

/** The flags of a command as commander (or the fast path) hands them over: inferred from its table. */
export type FlagsOf<T extends readonly FlagDef[]> = { [R in T[number] as R['key']]?: ValueOf<R> };

export type BuildFlags = FlagsOf<typeof BUILD_FLAG_TABLE>;
