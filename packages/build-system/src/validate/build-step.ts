import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Artifact } from '../result/schema.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo, PackageJson } from '../workspace/package-info.js';
import { validatePackage, type ValidationOutcome } from './validate-package.js';

/**
 * The package.json fields validation reads that pnpm replaces by their `publishConfig` value when it
 * packs and publishes (pnpm docs, package.json > publishConfig). A pnpm workspace commonly points
 * `exports` at the sources for development and puts the built files in `publishConfig.exports`
 * (honojs/middleware: `"exports": { ".": "./src/index.ts" }`, `"publishConfig": { "exports": { ".":
 * { "import": "./dist/index.mjs", "require": "./dist/index.cjs" } } }`); what is published, and so
 * what the build must produce, is the second.
 */
const PNPM_PUBLISH_FIELDS = ['exports', 'main', 'module', 'types', 'typings', 'bin', 'browser'] as const;

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
 * The validation step of a build (services/build.service.ts): run on the
 * artifacts just collected, before the cache entry is saved, so its
 * diagnostics are stored with the entry and a hit replays them without
 * validating again. A build that writes nothing is not validated.
 */
export function validateBuild(input: { pkg: PackageInfo; outDir: string; artifacts: readonly Artifact[]; staging: string; reads: ReadLog }): ValidationOutcome {
  const { pkg, outDir, artifacts, staging } = input;
  if (artifacts.length === 0) return { diagnostics: [], looked: { present: [], absent: [] } };
  const { manifest, replaced } = publishedManifest(pkg);
  const outcome = validatePackage({
    dir: pkg.dir,
    workspaceRoot: pkg.workspaceRoot,
    manifest,
    outDir,
    artifacts,
    reads: input.reads,
    // Only a nested package.json the build wrote is ever read back (its `type`), from staging where it is now.
    readArtifact: (rel) => {
      if (!rel.startsWith(`${outDir}/`)) return undefined;
      try {
        return readFileSync(path.join(staging, ...rel.slice(outDir.length + 1).split('/')), 'utf8');
      } catch {
        return undefined;
      }
    },
  });
  if (replaced.length === 0) return outcome;
  // A field publishConfig replaced is named where it is written: publishConfig.exports["./rss"].import.
  const renamed = (field: string | undefined) => (field && replaced.some((f) => field === f || field.startsWith(`${f}[`) || field.startsWith(`${f}.`)) ? `publishConfig.${field}` : field);
  return { ...outcome, diagnostics: outcome.diagnostics.map((d) => (d.field === undefined ? d : { ...d, field: renamed(d.field) })) };
}
