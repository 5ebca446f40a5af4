import type { PackageInfo, PackageJson } from './package-info.js';

/**
 * The package.json fields validation reads that pnpm replaces by their `publishConfig` value when it
 * packs and publishes (pnpm docs, package.json > publishConfig). A pnpm workspace commonly points
 * `exports` at the sources for development and puts the built files in `publishConfig.exports`
 * (honojs/middleware: `"exports": { ".": "./src/index.ts" }`, `"publishConfig": { "exports": { ".":
 * { "import": "./dist/index.mjs", "require": "./dist/index.cjs" } } }`); what is published, and so
 * what the build must produce, is the second.
 */
export const PNPM_PUBLISH_FIELDS = ['exports', 'main', 'module', 'types', 'typings', 'bin', 'browser'] as const;

/**
 * The manifest as the package manager publishes it, and the fields publishConfig replaced. Only
 * pnpm's rules: npm and yarn 1 publish these fields as written (yarn 2+ has its own list; not
 * told apart from yarn 1 here).
 */
export function publishedManifest(pkg: Pick<PackageInfo, 'manifest' | 'packageManager'>): { manifest: PackageJson; replaced: string[] } {
  const publishConfig = (pkg.manifest as { publishConfig?: unknown }).publishConfig;
  if (pkg.packageManager !== 'pnpm' || !publishConfig || typeof publishConfig !== 'object') return { manifest: pkg.manifest, replaced: [] };
  const replaced = PNPM_PUBLISH_FIELDS.filter((f) => (publishConfig as Record<string, unknown>)[f] !== undefined);
  if (replaced.length === 0) return { manifest: pkg.manifest, replaced };
  const manifest = { ...pkg.manifest } as Record<string, unknown>;
  for (const f of replaced) manifest[f] = (publishConfig as Record<string, unknown>)[f];
  return { manifest: manifest as PackageJson, replaced };
}

/**
 * A field path of the published manifest as written in package.json: under a field publishConfig
 * replaced it is publishConfig's (`exports["./rss"].import` → `publishConfig.exports["./rss"].import`),
 * so a message or a comment points at the line that holds the value.
 */
export function writtenField(field: string, replaced: readonly string[]): string {
  return replaced.some((f) => field === f || field.startsWith(`${f}[`) || field.startsWith(`${f}.`)) ? `publishConfig.${field}` : field;
}
