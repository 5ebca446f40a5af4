import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BUILD_FLAG_TABLE, type BuildFlags } from '../cli/flag-table.js';

/**
 * `build` / `build:package` / `watch` flags read without commander, so src/main.ts
 * can run a build without starting Nest (~300 ms). Both this parser and the Nest
 * command's options come from one table (cli/flag-table.ts). Anything this parser
 * is not sure about — an unknown flag, a missing or empty value, a value that looks
 * like a flag, a value given to a boolean, `--`, `-h`, short options — returns null
 * and the invocation goes to Nest, which prints commander's own usage error or help.
 */

/** Every long option the Nest command defines, by name, as the table defines it. */
export const BUILD_FLAGS: Readonly<Record<string, (typeof BUILD_FLAG_TABLE)[number]>> = Object.fromEntries(BUILD_FLAG_TABLE.map((f) => [f.flag, f]));

// parseArgs knows no negation or value-looks-like-a-flag rule: `--no-x` is its own boolean, mapped after parsing.
const options: ParseArgsConfig['options'] = Object.fromEntries(
  BUILD_FLAG_TABLE.map((f) => [f.flag.slice(2), { type: f.type === 'value' || f.type === 'repeatable' ? 'string' : 'boolean', multiple: f.type === 'repeatable' }] as const),
);

export interface ParsedBuildArgv {
  packages: string[];
  flags: BuildFlags;
  /** `watch`, or `build --watch`: a watch session (commands/watch-run.ts), never a no-op replay. */
  watch?: true;
}

/** `argv` after the program name; null unless it is a `build` (or `watch`, which takes the same flags) this parser fully understands. */
export function parseBuildArgv(argv: readonly string[]): ParsedBuildArgv | null {
  if (argv[0] !== 'build' && argv[0] !== 'build:package' && argv[0] !== 'watch') return null;
  const args = argv.slice(1);
  // The fields of parseArgs' tokens this reads (its own type narrows to nothing with a computed options table).
  let tokens: { kind: string; rawName?: string; value?: string; inlineValue?: boolean }[];
  try {
    tokens = parseArgs({ args, options, strict: true, allowPositionals: true, tokens: true }).tokens ?? [];
  } catch {
    return null;
  }
  const packages: string[] = [];
  const flags: Record<string, unknown> = {};
  for (const token of tokens) {
    if (token.kind === 'option-terminator') return null;
    if (token.kind === 'positional') {
      if (!token.value) return null;
      packages.push(token.value);
      continue;
    }
    // commander reads `-x` clusters and its own short forms (-h): leave them to it.
    if (!token.rawName?.startsWith('--')) return null;
    const spec = BUILD_FLAGS[token.rawName]!;
    if (spec.type === 'boolean' || spec.type === 'negation') {
      if (token.inlineValue) return null; // commander rejects a value here: its message, not ours
      flags[spec.key] = spec.type === 'boolean';
      continue;
    }
    const value = token.value;
    if (value === undefined || value === '' || value.startsWith('-')) return null;
    if (spec.type === 'repeatable') flags[spec.key] = [...((flags[spec.key] as string[] | undefined) ?? []), value];
    else flags[spec.key] = value;
  }
  return { packages, flags: flags as BuildFlags, ...(argv[0] === 'watch' || flags.watch === true ? { watch: true as const } : {}) };
}
