import path from 'node:path';
import { chooseAdapter, type AdapterRegistry } from '../../adapters/registry.js';
import { resolveCacheDir } from '../../cache/cache-dir.js';
import { loadPackageConfig } from '../../config/load.js';
import { resolveConfig } from '../../config/resolve.js';
import type { AdapterName } from '../../config/schema.js';
import { BuildSystemError } from '../../errors.js';
import { toPosix } from '../../util/paths.js';
import type { ReadLog } from '../../util/read-log.js';
import type { PackageInfo } from '../../workspace/package-info.js';
import type { PreparedPackage } from './context.js';

/**
 * Step "load config": the package's config loaded and resolved, its adapter
 * chosen and its tools checked. Throws BuildSystemError (config/usage) before
 * anything is written.
 */
export async function loadConfigStep(
  pkg: PackageInfo,
  input: { adapter?: AdapterName; reads: ReadLog; adapters: AdapterRegistry; cacheDir?: string; force?: boolean; noCache?: boolean },
): Promise<PreparedPackage> {
  const { reads } = input;
  // Evaluated configs are kept beside the build cache and obey the same flags (config/evaluation-cache.ts).
  const stored = input.noCache ? undefined : { dir: resolveCacheDir(pkg.workspaceRoot, input.cacheDir), read: !input.force, write: true };
  const { config, file, keep, inputs } = await loadPackageConfig(pkg, reads, stored);
  const raw = input.adapter ? { ...config, adapter: input.adapter } : config;
  const resolved = resolveConfig(pkg, raw, file, reads);
  const origin = input.adapter ? '--adapter' : file ? toPosix(path.relative(pkg.dir, file)) : 'default';
  const relFile = file ? toPosix(path.relative(process.cwd(), file)) : undefined;
  // shims, entries with their own options and bundle: false are esbuild's to write (config/resolve.ts refuses them with
  // another bundler): 'auto' takes esbuild then, not bun.
  const needs =
    resolved.adapter !== 'auto' ? null : resolved.shims ? 'shims' : Object.keys(resolved.entryOptions).length > 0 ? 'entries with their own options' : !resolved.bundle ? 'bundle: false' : null;
  const choice = await chooseAdapter(pkg, needs ? 'esbuild' : resolved.adapter, needs ? `${origin} (${needs})` : origin, reads, relFile, input.adapters);
  if (choice.adapter.name === 'tsc') {
    // tsc cannot emit every format/entry naming a bundler can; refuse before anything is written.
    const { assertTscCanBuild } = await import('../../adapters/tsc.js');
    assertTscCanBuild(pkg, resolved);
  }
  if (resolved.dts && choice.adapter.name !== 'tsc') {
    const { checkDeclarationTool } = await import('../../adapters/dts.js');
    const dtsTool = await checkDeclarationTool(pkg, reads);
    if (!dtsTool.available) {
      // Printed after `<config>: dts: `; when the config does not set dts, say where it came from.
      const why = raw.dts === undefined ? 'not set, so on because package.json declares types (dts: false turns declarations off); they need TypeScript' : 'needs TypeScript to write declarations';
      throw new BuildSystemError('ADAPTER_UNAVAILABLE', `${why}: ${dtsTool.reason}; install it with: ${dtsTool.installHint}`, {
        package: pkg.name,
        file: relFile,
        field: 'dts',
      });
    }
    if (resolved.dtsBundle) {
      // The bundler is the user's (rollup-plugin-dts is LGPL-3.0: never shipped with build-system); refused before anything is written.
      const { checkDtsBundler } = await import('../../adapters/declarations-bundle.js');
      const bundler = checkDtsBundler(pkg, reads);
      if (!bundler.available) {
        throw new BuildSystemError('ADAPTER_UNAVAILABLE', `dts.bundle needs rollup and rollup-plugin-dts: ${bundler.reason}; install with: ${bundler.installHint}`, {
          package: pkg.name,
          file: relFile,
          field: 'dts',
        });
      }
    }
  }
  // Usable: only now may its evaluation be kept for later runs (a run that fails on its config writes nothing).
  await keep?.();
  return { pkg, config: resolved, choice, configInputs: inputs };
}
