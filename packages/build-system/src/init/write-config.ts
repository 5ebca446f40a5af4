import { lstatSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { CONFIG_FILE_NAMES } from '../config/find.js';
import { BuildSystemError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { staysInside } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * Writes a package's config (`name`: build.config.ts, or build-system.config.ts beside another tool's
 * build.config.ts; package-facts.ts decides) atomically (temp file beside it, then rename). Refuses a
 * path that leaves the package, through a symlink too; with `replace` (build-system's own configs only),
 * removes the package's other build config files afterwards so the package is left with exactly one.
 * Returns the names it removed.
 */
export async function writePackageConfig(pkg: PackageInfo, content: string, replace: string[], name: string): Promise<string[]> {
  const file = path.join(pkg.dir, name);
  const isLink = (() => {
    try {
      return lstatSync(file).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (!staysInside(pkg.dir, file) || isLink) {
    throw new BuildSystemError('PATH_ESCAPES_PACKAGE', `${name} would be written outside the package (it is a symbolic link); remove the link first`, {
      package: pkg.name,
      file: name,
    });
  }
  await writeFileAtomic(file, content);
  const removed: string[] = [];
  for (const old of replace) {
    if (old === name || !(CONFIG_FILE_NAMES as readonly string[]).includes(old)) continue;
    const other = path.join(pkg.dir, old);
    if (!staysInside(pkg.dir, other)) continue;
    await rm(other, { force: true });
    removed.push(old);
  }
  return removed;
}
