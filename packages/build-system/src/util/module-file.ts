import { fileURLToPath } from 'node:url';

/**
 * The file this code was loaded from, given the calling module's `import.meta.url`.
 *
 * ESM output (the per-file dist, the CLI bundle, src/ under the tests) has import.meta.url.
 * esbuild leaves `import.meta` empty in CommonJS output — dist/index.cjs, or a host that bundles
 * build-system into a CommonJS file — and there `__filename` is the file that holds this code.
 * import.meta.url is asked first because `node -e` and the REPL define a global `__filename`
 * ('[eval]') that ESM code would otherwise take for its own.
 */
export function moduleFile(importMetaUrl: string | undefined): string {
  if (importMetaUrl) return fileURLToPath(importMetaUrl);
  if (typeof __filename === 'string') return __filename;
  throw new Error('build-system: cannot tell which file its code was loaded from (neither import.meta.url nor __filename is set)');
}
