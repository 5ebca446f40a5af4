import type { BuilderName } from '../config/adapter-names.js';

/**
 * Env vars a builder reads on its own and whose value changes its output,
 * beyond the ones a config declares in `env`: the fingerprint keys them the
 * same way (cache/fingerprint.ts).
 *
 * - bun inlines `process.env.NODE_ENV` with the value of its own environment
 *   (unset: "development"), whatever the platform; measured with bun 1.4.5:
 *   `NODE_ENV=production bun build` writes "production", `NODE_ENV=test`
 *   writes "test". It inlines no other variable unless told to (`env`: then
 *   the names its sources spell and its cwd's `.env` files are keyed by
 *   bun-env.ts), and neither `.env` files nor a bunfig.toml outside its cwd
 *   (the package, whose files are inputs already) changed its output.
 * - bun resolves a bare import that no node_modules holds through the
 *   directories in `NODE_PATH`, as Node's CommonJS loader does (bun 1.4.5:
 *   the same build bundled `lib` from whichever directory NODE_PATH named).
 * - esbuild's NODE_ENV for the browser comes from its options (minify), not the
 *   environment, and its JS API ignores NODE_PATH (an import only NODE_PATH
 *   could resolve fails); rollup (with @rollup/plugin-node-resolve) and tsc
 *   read neither.
 */
export const TOOL_ENV: Readonly<Record<BuilderName, readonly string[]>> = {
  bun: ['NODE_ENV', 'NODE_PATH'],
  esbuild: [],
  rollup: [],
  tsc: [],
};
