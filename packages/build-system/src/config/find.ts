import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';

/**
 * Where a package's config file is (one of CONFIG_FILE_NAMES at its root) and
 * how config files are named in messages. Each run's answer is remembered per
 * read log, so the file a run acts on is the one it logged.
 */

/**
 * build-system's own names. One of them wins over the short names below: unbuild and obuild (nuxt, nitro,
 * h3 and the rest of unjs) read `build.config.ts` too, and a package moving from them keeps theirs beside ours.
 */
export const OWN_CONFIG_FILE_NAMES = [
  'build-system.config.ts',
  'build-system.config.mts',
  'build-system.config.cts',
  'build-system.config.js',
  'build-system.config.mjs',
  'build-system.config.json',
] as const;

/** The short names: build-system's config when no own name is there (and no other tool's: see foreignConfigTool). */
export const SHARED_CONFIG_FILE_NAMES = [
  'build.config.ts',
  'build.config.mts',
  'build.config.cts',
  'build.config.js',
  'build.config.mjs',
  'build.config.json',
] as const;

/** Every name looked for at the package root, own names first. */
export const CONFIG_FILE_NAMES = [...OWN_CONFIG_FILE_NAMES, ...SHARED_CONFIG_FILE_NAMES] as const;

/** A file name (or path) that is one of the config names. */
export const CONFIG_FILE_NAME = /^(?:build-system|build)\.config\.(?:[cm]?[jt]s|json)$/;

const ownNames: ReadonlySet<string> = new Set(OWN_CONFIG_FILE_NAMES);
const sharedNames: ReadonlySet<string> = new Set(SHARED_CONFIG_FILE_NAMES);

/** Whether `file` (a path or a name) has one of the short names another tool may own. */
export function hasSharedName(file: string): boolean {
  return sharedNames.has(path.basename(file));
}

/**
 * The tool whose config a short-named file is, read from its text: unbuild's and obuild's configs call
 * `defineBuildConfig` or import the tool. null: nothing says it is another tool's. Only the text's own
 * words count, so a build-system config that merely mentions unbuild in a comment is still ours.
 */
export function foreignConfigTool(text: string): 'unbuild' | 'obuild' | null {
  const imported = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"](unbuild|obuild)(?:\/[^'"]*)?['"]/.exec(text);
  if (imported) return imported[1] as 'unbuild' | 'obuild';
  return /\bdefineBuildConfig\s*\(/.test(text) ? 'unbuild' : null;
}

/** The error for a short-named config that is another tool's: what it is, and where build-system's goes. */
export function foreignConfigError(file: string, tool: string, packageName?: string): BuildSystemError {
  const name = path.basename(file);
  const own = `build-system.config${/\.json$/.test(name) ? '.json' : '.ts'}`;
  return new BuildSystemError(
    'CONFIG_INVALID',
    `${name} is ${tool}'s config, not build-system's: put build-system's config in ${own} beside it, which is read first (\`build-system init\` writes it)`,
    { package: packageName, file: displayPath(file), field: '(config file)' },
  );
}

/** How files are named in messages: relative to where the user runs the command. */
export function displayPath(file: string): string {
  return toPosix(path.relative(process.cwd(), file)) || file;
}

/**
 * What each run (its read log) found per package directory: a run asks several
 * times per package (selection, then loading), and each answer costs a listing;
 * the first answer is the one the run acts on and logs.
 */
const configFilesSeen = new WeakMap<ReadLog, Map<string, string[]>>();

/**
 * The package's config file (absolute), or null: an own name when there is one, else a short name. Two of
 * one kind at once is an error: which one wins would be a guess.
 */
export function findConfigFile(pkgDir: string, reads: ReadLog, packageName?: string): string | null {
  let seen = configFilesSeen.get(reads);
  if (!seen) configFilesSeen.set(reads, (seen = new Map()));
  let found = seen.get(pkgDir);
  if (!found) {
    // One listing, logged with its names: a config file added or removed later changes it (twelve stats did the same).
    const present = new Set<string>();
    for (const entry of reads.list(pkgDir)) {
      if (!CONFIG_FILE_NAME.test(entry.name)) continue;
      const file = path.join(pkgDir, entry.name);
      if (entry.isFile() || (entry.isSymbolicLink() && reads.stat(file)?.isFile() === true)) present.add(entry.name);
    }
    const own = OWN_CONFIG_FILE_NAMES.filter((n) => present.has(n));
    const names = own.length > 0 ? own : SHARED_CONFIG_FILE_NAMES.filter((n) => present.has(n));
    found = names.map((n) => path.join(pkgDir, n));
    seen.set(pkgDir, found);
  }
  if (found.length > 1) {
    const names = found.map((f) => path.basename(f));
    const message = `found ${found.length} config files (${names.join(', ')}); keep exactly one`;
    throw new BuildSystemError('CONFIG_INVALID', message, {
      package: packageName,
      file: displayPath(found[0]!),
      field: '(config file)',
    });
  }
  return found[0] ?? null;
}

/** Whether a config file name is one of build-system's own (it wins over a short name beside it). */
export const isOwnConfigName = (name: string): boolean => ownNames.has(name);
