import type { BuilderName } from '../config/adapter-names.js';

/**
 * Env vars a builder reads on its own and whose value changes its output,
 * beyond the ones a config declares in `env`: the fingerprint keys them the
 * same way (cache/fingerprint.ts).
 *
 * - bun inlines `process.env.NODE_ENV` with the value of its own environment
 *   (unset: "development"), whatever the platform; measured with bun 1.4.5:
 *   `NODE_ENV=production bun build` writes "production", `NODE_ENV=test`
 *   writes "test". It inlines no other variable unless told to (`env`), and
 *   neither `.env` files nor a bunfig.toml outside its cwd (the package, whose
 *   files are inputs already) changed its output.
 * - esbuild's NODE_ENV for the browser comes from its options (minify), not the
 *   environment; rollup and tsc read none.
 */
export const TOOL_ENV: Readonly<Record<BuilderName, readonly string[]>> = {
  bun: ['NODE_ENV'],
  esbuild: [],
  rollup: [],
  tsc: [],
};
