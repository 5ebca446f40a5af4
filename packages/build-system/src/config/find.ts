import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';

/**
 * Where a package's config file is (one of CONFIG_FILE_NAMES at its root) and
 * how config files are named in messages. Each run's answer is remembered per
 * read log, so the file a run acts on is the one it logged.
 */

/** Looked for at the package root, in this order. */
export const CONFIG_FILE_NAMES = [
  'build.config.ts',
  'build.config.mts',
  'build.config.cts',
  'build.config.js',
  'build.config.mjs',
  'build.config.json',
] as const;

/** How files are named in messages: relative to where the user runs the command. */
export function displayPath(file: string): string {
  return toPosix(path.relative(process.cwd(), file)) || file;
}

/**
 * What each run (its read log) found per package directory: a run asks several
 * times per package (selection, then loading), and each answer costs six stats;
 * the first answer is the one the run acts on and logs.
 */
const configFilesSeen = new WeakMap<ReadLog, Map<string, string[]>>();

/** The package's config file (absolute), or null. Two at once is an error: which one wins would be a guess. */
export function findConfigFile(pkgDir: string, reads: ReadLog, packageName?: string): string | null {
  let seen = configFilesSeen.get(reads);
  if (!seen) configFilesSeen.set(reads, (seen = new Map()));
  let found = seen.get(pkgDir);
  if (!found) {
    // Taken or not, each name decides which config applies: every one is logged.
    found = CONFIG_FILE_NAMES.map((name) => path.join(pkgDir, name)).filter((file) => reads.stat(file)?.isFile() === true);
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
