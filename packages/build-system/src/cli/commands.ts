import { GRAPH_FORMATS } from '../workspace/graph-formats.js';
import { ALL_FLAG, BUILD_FLAG_TABLE, CACHE_DIR_FLAG, COLOR_FLAG, CWD_FLAG, FILTER_FLAG, JSON_FLAG, NO_COLOR_FLAG, type FlagDef, type FlagsOf } from './flag-table.js';

/**
 * Every command of the CLI as data: its name, aliases, arguments, description
 * and flag table. The Nest commands take their metadata and options from here
 * (commands/flag-options.ts), and `--help` is rendered from it without Nest
 * (cli/help.ts), so adding a flag to a command is one line in its table.
 * Listed in the order `--help` shows the commands.
 */

export interface CommandDef {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** As commander writes it, e.g. `[packages...]`. */
  readonly arguments?: string;
  readonly argsDescription?: Readonly<Record<string, string>>;
  readonly description: string;
  readonly flags: readonly FlagDef[];
  readonly subCommands?: readonly CommandDef[];
}

export const LIST_FLAG_TABLE = [JSON_FLAG, CWD_FLAG, FILTER_FLAG, ALL_FLAG, COLOR_FLAG, NO_COLOR_FLAG] as const satisfies readonly FlagDef[];

export const CLEAN_FLAG_TABLE = [
  JSON_FLAG,
  CWD_FLAG,
  { flag: '--cache', key: 'cache', type: 'boolean', help: "also remove these packages' build cache entries" },
  { ...ALL_FLAG, help: 'remove the whole build cache (every package, every entry)' },
  CACHE_DIR_FLAG,
] as const satisfies readonly FlagDef[];

export const GRAPH_FLAG_TABLE = [
  { flag: '--format', key: 'format', type: 'value', arg: '<format>', help: `${GRAPH_FORMATS.join(' | ')} (default dot)` },
  CWD_FLAG,
  FILTER_FLAG,
  ALL_FLAG,
] as const satisfies readonly FlagDef[];

export const INIT_FLAG_TABLE = [
  { flag: '--dry-run', key: 'dryRun', type: 'boolean', help: 'print the configs (path and content); write nothing' },
  { flag: '--force', key: 'force', type: 'boolean', help: 'replace an existing build.config.*' },
  JSON_FLAG,
  CWD_FLAG,
  FILTER_FLAG,
] as const satisfies readonly FlagDef[];

/** Flags every `cache` subcommand has. */
const CACHE_COMMON_FLAGS = [JSON_FLAG, { ...CWD_FLAG, help: 'act on the workspace of <dir>' }, CACHE_DIR_FLAG] as const satisfies readonly FlagDef[];

export const CACHE_INFO_FLAG_TABLE = CACHE_COMMON_FLAGS;

export const CACHE_PRUNE_FLAG_TABLE = [
  { flag: '--max-size', key: 'maxSize', type: 'value', arg: '<size>', help: 'keep at most this much, e.g. 500MB or 2GiB (default 5GiB)' },
  { flag: '--max-age', key: 'maxAge', type: 'value', arg: '<age>', help: 'remove entries unused for this long, e.g. 7d or 12h; a plain number is seconds (default 30d)' },
  ...CACHE_COMMON_FLAGS,
] as const satisfies readonly FlagDef[];

export type ListFlags = FlagsOf<typeof LIST_FLAG_TABLE>;
export type CleanFlags = FlagsOf<typeof CLEAN_FLAG_TABLE>;
export type GraphFlags = FlagsOf<typeof GRAPH_FLAG_TABLE>;
export type InitFlags = FlagsOf<typeof INIT_FLAG_TABLE>;
export type CacheInfoFlags = FlagsOf<typeof CACHE_INFO_FLAG_TABLE>;
export type CachePruneFlags = FlagsOf<typeof CACHE_PRUNE_FLAG_TABLE>;

export const BUILD_COMMAND = {
  name: 'build:package',
  aliases: ['build'],
  arguments: '[packages...]',
  argsDescription: { packages: 'package names or directories (default: the package in --cwd, or every configured package at a workspace root)' },
  description: 'Build packages (and the workspace packages they depend on) into their outDir',
  flags: BUILD_FLAG_TABLE,
} as const satisfies CommandDef;

/** `build --watch` under its own name: every flag of build (commands/watch-run.ts refuses those that do not fit a watch). */
export const WATCH_COMMAND = {
  name: 'watch',
  arguments: '[packages...]',
  argsDescription: { packages: 'package names or directories (default: as for build)' },
  description: 'Build, then rebuild what each change affects (dependents in graph order, cache hits for the rest) until Ctrl-C',
  flags: BUILD_FLAG_TABLE,
} as const satisfies CommandDef;

export const LIST_COMMAND = {
  name: 'build:list',
  aliases: ['list'],
  arguments: '[packages...]',
  description: 'List packages in build order with the adapter each would use, whether it is installed, their dependencies and cache state',
  flags: LIST_FLAG_TABLE,
} as const satisfies CommandDef;

export const CLEAN_COMMAND = {
  name: 'build:clean',
  aliases: ['clean'],
  arguments: '[packages...]',
  description: "Remove packages' outDir and tsbuildinfo (never anything outside the package)",
  flags: CLEAN_FLAG_TABLE,
} as const satisfies CommandDef;

export const CACHE_PRUNE_COMMAND = {
  name: 'prune',
  description: 'Evict cache entries: unused for --max-age, then least recently used down to --max-size',
  flags: CACHE_PRUNE_FLAG_TABLE,
} as const satisfies CommandDef;

export const CACHE_INFO_COMMAND = {
  name: 'info',
  description: 'Show where the cache is, its size and entries per package',
  flags: CACHE_INFO_FLAG_TABLE,
} as const satisfies CommandDef;

export const CACHE_COMMAND = {
  name: 'cache',
  arguments: '[subcommand]',
  description: 'Inspect or prune the build cache (subcommands: prune, info)',
  flags: [],
  subCommands: [CACHE_PRUNE_COMMAND, CACHE_INFO_COMMAND],
} as const satisfies CommandDef;

export const GRAPH_COMMAND = {
  name: 'build:graph',
  aliases: ['graph'],
  arguments: '[packages...]',
  description: 'Print the package graph of the selection (edges point from a dependency to its dependents) as dot, json or mermaid',
  flags: GRAPH_FLAG_TABLE,
} as const satisfies CommandDef;

export const INIT_COMMAND = {
  name: 'build:init',
  aliases: ['init'],
  arguments: '[packages...]',
  description: 'Write a build.config.ts for each package that has none, reproducing its package.json outputs and its tsup/tsdown/tsc setup',
  flags: INIT_FLAG_TABLE,
} as const satisfies CommandDef;

/** Every top-level command, in the order `--help` lists them (build.module.ts registers them in the same order). */
export const COMMANDS: readonly CommandDef[] = [BUILD_COMMAND, WATCH_COMMAND, LIST_COMMAND, CLEAN_COMMAND, CACHE_COMMAND, GRAPH_COMMAND, INIT_COMMAND];
