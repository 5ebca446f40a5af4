import type { BuildFlags } from './build-run.js';

/**
 * `build` / `build:package` flags read without commander, so src/main.ts can
 * run a build without starting Nest (~300 ms). The Nest command (build.command.ts)
 * stays the definition of the CLI: its @Option list is what `--help` shows and
 * test/cli-fast-path.test.ts checks that every flag it defines is in BUILD_FLAGS
 * and parses to the same value. Anything this parser is not sure about — an
 * unknown flag, a missing value, a value that looks like a flag, `--`, `-h` —
 * returns null and the invocation goes to Nest, which prints commander's own
 * usage error or help.
 */

type FlagKind = 'boolean' | 'value' | 'repeatable' | 'negation';

interface FlagSpec {
  /** Key in BuildFlags (commander's camelCase of the long name). */
  key: keyof BuildFlags;
  kind: FlagKind;
}

/** Every option BuildCommand defines, by its long name. */
export const BUILD_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--json': { key: 'json', kind: 'boolean' },
  '--adapter': { key: 'adapter', kind: 'value' },
  '--cwd': { key: 'cwd', kind: 'value' },
  '--lock-timeout': { key: 'lockTimeout', kind: 'value' },
  '--filter': { key: 'filter', kind: 'repeatable' },
  '--all': { key: 'all', kind: 'boolean' },
  '--concurrency': { key: 'concurrency', kind: 'value' },
  '--bail': { key: 'bail', kind: 'boolean' },
  '--dry-run': { key: 'dryRun', kind: 'boolean' },
  '--summary': { key: 'summary', kind: 'value' },
  '--color': { key: 'color', kind: 'boolean' },
  '--no-color': { key: 'color', kind: 'negation' },
  '--force': { key: 'force', kind: 'boolean' },
  '--strict': { key: 'strict', kind: 'boolean' },
  '--no-cache': { key: 'cache', kind: 'negation' },
  '--cache-dir': { key: 'cacheDir', kind: 'value' },
  '--output-logs': { key: 'outputLogs', kind: 'value' },
  '--explain': { key: 'explain', kind: 'boolean' },
  '--remote-cache-url': { key: 'remoteCacheUrl', kind: 'value' },
  '--remote-cache-token': { key: 'remoteCacheToken', kind: 'value' },
  '--remote-cache-team': { key: 'remoteCacheTeam', kind: 'value' },
  '--remote-cache-read-only': { key: 'remoteCacheReadOnly', kind: 'boolean' },
  '--remote-cache-signature-key': { key: 'remoteCacheSignatureKey', kind: 'value' },
  '--remote-cache-timeout': { key: 'remoteCacheTimeout', kind: 'value' },
  '--remote-cache-connect-timeout': { key: 'remoteCacheConnectTimeout', kind: 'value' },
  '--no-remote-cache': { key: 'remoteCache', kind: 'negation' },
  '--watch': { key: 'watch', kind: 'boolean' },
};

export interface ParsedBuildArgv {
  packages: string[];
  flags: BuildFlags;
  /** `watch`, or `build --watch`: a watch session (commands/watch-run.ts), never a no-op replay. */
  watch?: true;
}

/** `argv` after the program name; null unless it is a `build` (or `watch`, which takes the same flags) this parser fully understands. */
export function parseBuildArgv(argv: readonly string[]): ParsedBuildArgv | null {
  if (argv[0] !== 'build' && argv[0] !== 'build:package' && argv[0] !== 'watch') return null;
  const packages: string[] = [];
  const flags: Record<string, unknown> = {};
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) {
      if (arg === '') return null;
      packages.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = Object.hasOwn(BUILD_FLAGS, name) ? BUILD_FLAGS[name] : undefined;
    if (!spec) return null;
    if (spec.kind === 'boolean' || spec.kind === 'negation') {
      if (eq > 0) return null; // commander rejects a value here: its message, not ours
      flags[spec.key] = spec.kind === 'boolean';
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (spec.kind === 'repeatable') flags[spec.key] = [...((flags[spec.key] as string[] | undefined) ?? []), value];
    else flags[spec.key] = value;
  }
  return { packages, flags: flags as BuildFlags, ...(argv[0] === 'watch' || flags.watch === true ? { watch: true as const } : {}) };
}
