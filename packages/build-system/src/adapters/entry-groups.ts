import type { EntryBuildOptions, ResolvedConfig } from '../config/resolve.js';

/**
 * The package's entries as one esbuild build per distinct set of options
 * (target, platform, external, define, formats, outExtension, splitting):
 * entries given with their own (config `entry: { name: { source, target, … } }`,
 * ResolvedConfig.entryOptions) go apart from the rest, as the elements of a
 * tsup config array do. Usually one group, the config itself. Each group
 * writes its own entry names into the same staging dir; code two groups
 * share is in each (an ESM chunk only shares within its build).
 */
export function entryGroups(config: ResolvedConfig): ResolvedConfig[] {
  const names = Object.keys(config.entryOptions);
  if (names.length === 0) return [config];
  const own = (o: EntryBuildOptions) =>
    JSON.stringify([o.target, o.platform, o.external, Object.entries(o.define).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), o.formats, o.outExtension, o.splitting]);
  const base: EntryBuildOptions = {
    target: config.target,
    platform: config.platform,
    external: config.external,
    define: config.define,
    formats: config.formats,
    outExtension: config.outExtension,
    splitting: config.splitting,
  };
  const groups = new Map<string, { options: EntryBuildOptions; entries: Record<string, string> }>([[own(base), { options: base, entries: {} }]]);
  for (const [name, source] of Object.entries(config.entries)) {
    const options = config.entryOptions[name] ?? base;
    const key = own(options);
    const group = groups.get(key) ?? { options, entries: {} };
    group.entries[name] = source;
    groups.set(key, group);
  }
  return [...groups.values()].filter((g) => Object.keys(g.entries).length > 0).map(({ options, entries }) => ({ ...config, ...options, entries }));
}

/**
 * The config the declarations are emitted for: the entries that get them (not those in
 * noDtsEntries), in every format one of them is built in. Null when none does. Declaration
 * sets are the package's (per format), so an entry of its own outExtension has none (resolve.ts).
 */
export function declarationConfig(config: ResolvedConfig): ResolvedConfig | null {
  if (!config.dts) return null;
  if (config.noDtsEntries.length === 0 && Object.keys(config.entryOptions).length === 0) return config;
  const skip = new Set(config.noDtsEntries);
  const entries = Object.fromEntries(Object.entries(config.entries).filter(([name]) => !skip.has(name)));
  const names = Object.keys(entries);
  if (names.length === 0 && Object.keys(config.entries).length > 0) return null;
  const formats = (['esm', 'cjs'] as const).filter((f) => names.some((n) => (config.entryOptions[n]?.formats ?? config.formats).includes(f)));
  return { ...config, entries, formats: formats.length > 0 ? formats : config.formats };
}
