import type { DependencyUse, Fingerprint, FingerprintInput } from '../../cache/fingerprint.js';
import type { KeyState, PackageCache } from '../../cache/package-cache.js';
import { findIsolatedEmitter, findTypeScript } from '../../adapters/declaration-tools.js';
import { dependenciesRead } from '../dependency-needs.js';
import type { PackageBuildOptions, PreparedPackage } from './context.js';

/** Step "key": the package's fingerprint (its files, config, tools and how it uses each workspace dependency). */
export async function keyStep(cache: PackageCache, prepared: PreparedPackage, options: PackageBuildOptions): Promise<KeyState> {
  return cache.fingerprint(await fingerprintInput(prepared, options));
}

/** Everything but the files that goes into the fingerprint (the files are read by the fingerprint itself). */
async function fingerprintInput(prepared: PreparedPackage, options: PackageBuildOptions): Promise<Omit<FingerprintInput, 'pkg' | 'hasher' | 'excludeDirs'>> {
  const { pkg, config, choice } = prepared;
  let declarations: Fingerprint['declarations'] = null;
  if (config.dts && choice.adapter.name !== 'tsc') {
    const ts = findTypeScript(pkg, options.reads);
    if (ts) declarations = { tool: 'typescript', version: ts.version, isolated: findIsolatedEmitter(pkg, options.reads)?.version ?? null };
    if (declarations && config.dtsBundle) {
      const { checkDtsBundler } = await import('../../adapters/declarations-bundle.js');
      const bundler = checkDtsBundler(pkg, options.reads);
      if (bundler.available) declarations.bundler = { rollup: bundler.version, dts: bundler.dtsVersion ?? '' };
    }
  }
  // Every workspace dependency, selected or not, by how the build uses it: the same key whatever the run selected.
  const deps = options.workspaceDependencies ?? [];
  const reads = dependenciesRead({ pkg, config, adapter: choice.adapter.name }, deps);
  const dependencies: Record<string, DependencyUse> = {};
  for (const d of deps) dependencies[d.name] = reads.has(d.name) ? 'read' : 'external';
  return {
    config,
    adapter: { name: choice.adapter.name, version: choice.tool.version },
    declarations,
    dependencies,
    workspacePackages: new Set(deps.map((d) => d.name)),
  };
}

/** Workspace packages by name → dir, to name the dependency a changed read belongs to. */
export function workspaceDirs(options: PackageBuildOptions): Map<string, string> {
  return new Map((options.workspaceDependencies ?? []).map((d) => [d.name, d.dir]));
}
