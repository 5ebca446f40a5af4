import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Artifact } from '../result/schema.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { publishedManifest, writtenField } from '../workspace/published-manifest.js';
import { validatePackage, type ValidationOutcome } from './validate-package.js';

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
    // A nested package.json the build wrote (its `type`) and the declarations (their imports) are read back, from staging where they are now.
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
  return { ...outcome, diagnostics: outcome.diagnostics.map((d) => (d.field === undefined ? d : { ...d, field: writtenField(d.field, replaced) })) };
}
