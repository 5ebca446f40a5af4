import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Format } from '../config/schema.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { configInvalid } from './config-error.js';
import { checkTypeScript } from './declaration-tools.js';
import { runPackageTsc } from './tsc-runner.js';
import type { AdapterContext, AdapterOutput, BuilderAdapter, ToolAvailability } from './types.js';

/**
 * Module format: tsc writes one file per source and never bundles, so one
 * build yields one module format, and which one is fixed by the package, not
 * by a flag: with `module: nodenext` (what we pass without a tsconfig, and what
 * a package tsconfig for Node normally says) a `.ts` file compiles to ESM in a
 * `"type": "module"` package and to CJS otherwise, always into `.js` — and
 * `.js` is exactly the extension resolveConfig gives that format. So the tsc
 * adapter supports `format` equal to the package's own format (the default
 * for a package without dual exports) and rejects anything else up front
 * with a CONFIG_INVALID error on the field `format`, rather than emitting files
 * whose names or syntax contradict package.json. Dual ESM+CJS packages need a
 * bundling adapter (esbuild, bun, rollup).
 */
export function tscFormat(pkg: PackageInfo): Format {
  return pkg.type === 'module' ? 'esm' : 'cjs';
}

/**
 * Checks the parts of the config tsc cannot honour, before anything runs:
 * the format (see tscFormat) and entry names, because tsc names each output
 * after its source (src/cli.ts -> cli.js) and cannot rename it.
 */
export function assertTscCanBuild(pkg: PackageInfo, config: ResolvedConfig): void {
  const fail = configInvalid(pkg, config);
  const native = tscFormat(pkg);
  if (config.formats.length !== 1 || config.formats[0] !== native) {
    fail(
      'format',
      `the tsc adapter emits one format, the package's own (${native}, from package.json "type": ${JSON.stringify(pkg.manifest.type ?? 'commonjs')}); got ${JSON.stringify(config.formats)}. Set format: '${native}' or use a bundling adapter (esbuild, bun, rollup) for ${config.formats.join(' + ')}`,
    );
  }
  const recordEntry = config.raw.entry !== undefined && typeof config.raw.entry === 'object' && !Array.isArray(config.raw.entry);
  for (const [name, source] of Object.entries(config.entries)) {
    const fromRoot = config.sourceRoot ? path.posix.relative(config.sourceRoot, source) : source;
    const emitted = fromRoot.replace(/\.[^./]+$/, '');
    if (emitted !== name) {
      fail(recordEntry ? `entry.${name}` : 'entry', `tsc names outputs after their sources: ${source} becomes ${emitted}.js, not ${name}.js; rename the entry or use a bundling adapter`);
    }
  }
}

export const tscAdapter: BuilderAdapter = {
  name: 'tsc',

  async check(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability> {
    return checkTypeScript(pkg, reads);
  },

  async build(ctx: AdapterContext): Promise<AdapterOutput> {
    assertTscCanBuild(ctx.pkg, ctx.config);
    // emit: false type-checks only: tsc --noEmit, nothing written (the build service leaves outDir alone).
    return runPackageTsc(ctx, ctx.config.emit ? 'build' : 'check', `typescript is no longer installed for ${ctx.pkg.name}`);
  },
};
