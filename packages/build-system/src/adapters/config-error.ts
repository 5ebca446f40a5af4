import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { BuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

/** File name for config errors, shown the way resolveConfig shows it (relative to cwd). */
export function configFileLabel(pkg: PackageInfo, config: ResolvedConfig): string {
  const file = config.configFile ?? path.join(pkg.dir, 'package.json');
  return toPosix(path.relative(process.cwd(), file)) || file;
}

/**
 * For the parts of a config only an adapter can judge (adapterOptions, what
 * its tool cannot do): throws CONFIG_INVALID on `field` of the package's
 * config file, as resolveConfig does for the rest.
 */
export function configInvalid(pkg: PackageInfo, config: ResolvedConfig): (field: string, message: string) => never {
  const file = configFileLabel(pkg, config);
  return (field, message) => {
    throw new BuildSystemError('CONFIG_INVALID', message, { package: pkg.name, file, field });
  };
}
