import { readFileSync } from 'node:fs';

/**
 * Set by scripts/build.mjs to package.json's version in every output (per-file ESM, the CJS
 * bundle, the CLI bundle). Inlined, not looked up at run time: an importer's bundler may have
 * copied this code far from build-system's package.json (a bundled host), and `node -e` gives
 * ESM modules a global `__dirname` that is not theirs.
 */
declare const __BUILD_SYSTEM_VERSION__: string | undefined;

/** Running from src/ (this repo's tests): package.json is one level up, and import.meta.url is this file. */
function sourceVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
  if (manifest.name !== 'build-system' || !manifest.version) throw new Error(`build-system: ${new URL('../package.json', import.meta.url).pathname} is not build-system's package.json`);
  return manifest.version;
}

/** build-system's own version (part of lock owner records and the cache key). */
export const VERSION: string = typeof __BUILD_SYSTEM_VERSION__ === 'string' ? __BUILD_SYSTEM_VERSION__ : sourceVersion();
