import type { BuildConfig } from './schema.js';

/**
 * The config of a package without a config file: what `buildConfigSchema.parse({})` gives, written
 * out so that the paths that only need the defaults (selection under `--all`, a package without a
 * build.config.*) do not load zod. test/config-default.test.ts checks it equals the schema's
 * defaults, so the two cannot drift apart. A fresh object per call: callers may spread or extend it.
 */
export function defaultBuildConfig(): BuildConfig {
  return {
    adapter: 'auto',
    outDir: 'dist',
    platform: 'node',
    sourcemap: false,
    minify: false,
    shims: false,
    splitting: true,
    bundle: true,
    emit: true,
    noExternal: [],
    define: {},
    clean: true,
    env: [],
    inputs: [],
    adapterOptions: {},
  };
}
