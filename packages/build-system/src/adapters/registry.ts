import type { AdapterName, BuilderName } from '../config/schema.js';
import { BuildSystemError } from '../errors.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { BuilderAdapter, ToolAvailability } from './types.js';

/**
 * Adapters are loaded on first use: `build:list` or a build with esbuild must
 * not pay for importing rollup's or tsc's adapter module.
 */
const loaders: Record<BuilderName, () => Promise<BuilderAdapter>> = {
  esbuild: async () => (await import('./esbuild.js')).esbuildAdapter,
  bun: async () => (await import('./bun.js')).bunAdapter,
  tsc: async () => (await import('./tsc.js')).tscAdapter,
  rollup: async () => (await import('./rollup.js')).rollupAdapter,
};

/**
 * Per-process memo of the real adapter modules: a loaded module is a pure
 * fact of this installation (the same object whichever run asks), so it is
 * not run state and may stay module-level.
 */
const loaded = new Map<BuilderName, Promise<BuilderAdapter>>();

export function getAdapter(name: BuilderName): Promise<BuilderAdapter> {
  let p = loaded.get(name);
  if (!p) {
    p = loaders[name]();
    loaded.set(name, p);
  }
  return p;
}

/** Where a build finds its adapters: the real ones, or those a composition root was given (src/create.ts). */
export type AdapterRegistry = (name: BuilderName) => Promise<BuilderAdapter>;

/** The real adapters, with `overrides` (e.g. a test's fake adapter) standing in for the builders they name. */
export function createAdapterRegistry(overrides: readonly BuilderAdapter[] = []): AdapterRegistry {
  if (overrides.length === 0) return getAdapter;
  const byName = new Map(overrides.map((a) => [a.name, a]));
  return (name) => {
    const given = byName.get(name);
    return given ? Promise.resolve(given) : getAdapter(name);
  };
}

export interface AdapterChoice {
  adapter: BuilderAdapter;
  tool: Extract<ToolAvailability, { available: true }>;
  /** Why this adapter, in words for the result. */
  reason: string;
}

/**
 * Picks the adapter: the requested one (it must be installed), or for 'auto'
 * bun when it is installed, else esbuild. Throws ADAPTER_UNAVAILABLE with the
 * exact install command when nothing usable is found.
 */
export async function chooseAdapter(
  pkg: PackageInfo,
  requested: AdapterName,
  origin: string,
  reads: ReadLog,
  file?: string,
  registry: AdapterRegistry = getAdapter,
): Promise<AdapterChoice> {
  if (requested !== 'auto') {
    const adapter = await registry(requested);
    const tool = await adapter.check(pkg, reads);
    if (!tool.available) {
      throw new BuildSystemError('ADAPTER_UNAVAILABLE', `adapter "${requested}" is not installed: ${tool.reason}; install it with: ${tool.installHint}`, {
        package: pkg.name,
        file,
        field: 'adapter',
      });
    }
    return { adapter, tool, reason: `${origin} asks for ${requested}` };
  }
  const bun = await registry('bun');
  const bunTool = await bun.check(pkg, reads);
  if (bunTool.available) return { adapter: bun, tool: bunTool, reason: `auto: bun ${bunTool.version} is installed (${bunTool.location})` };
  const esbuild = await registry('esbuild');
  const esbuildTool = await esbuild.check(pkg, reads);
  if (esbuildTool.available) return { adapter: esbuild, tool: esbuildTool, reason: `auto: bun not available (${bunTool.reason}), using esbuild` };
  throw new BuildSystemError('ADAPTER_UNAVAILABLE', `adapter "auto" found neither bun nor esbuild; install one with: ${bunTool.installHint}`, {
    package: pkg.name,
    file,
    field: 'adapter',
  });
}
