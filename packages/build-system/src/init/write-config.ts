import { lstatSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CONFIG_FILE_NAMES } from '../config/load.js';
import { BuildSystemError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { staysInside } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

/** The file init writes, relative to the package. */
export const INIT_CONFIG_NAME = 'build.config.ts';

/**
 * Writes a package's build.config.ts atomically (temp file beside it, then
 * rename). Refuses a path that leaves the package, through a symlink too; with
 * `replace`, removes the package's other build config files afterwards so the
 * package is left with exactly one. Returns the names it removed.
 */
export async function writePackageConfig(pkg: PackageInfo, content: string, replace: string[]): Promise<string[]> {
  const file = path.join(pkg.dir, INIT_CONFIG_NAME);
  const isLink = (() => {
    try {
      return lstatSync(file).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (!staysInside(pkg.dir, file) || isLink) {
    throw new BuildSystemError('PATH_ESCAPES_PACKAGE', `${INIT_CONFIG_NAME} would be written outside the package (it is a symbolic link); remove the link first`, {
      package: pkg.name,
      file: INIT_CONFIG_NAME,
    });
  }
  await writeFileAtomic(file, content);
  const removed: string[] = [];
  for (const name of replace) {
    if (name === INIT_CONFIG_NAME || !(CONFIG_FILE_NAMES as readonly string[]).includes(name)) continue;
    const other = path.join(pkg.dir, name);
    if (!staysInside(pkg.dir, other)) continue;
    await rm(other, { force: true });
    removed.push(name);
  }
  return removed;
}
