import type { Diagnostic } from '../result/schema.js';
import { manifestTargets, type ManifestTarget } from '../util/manifest-targets.js';
import type { PackageJson } from '../workspace/package-info.js';
import { VALIDATION_CODES, validationWarning } from './diagnostics.js';

/**
 * The targets validation checks: what `manifestTargets` finds that Node
 * accepts, and what it refuses as PKG_EXPORT_INVALID warnings.
 */

export { exportsKeyKind, normalizeTarget, type TargetSource } from '../util/manifest-targets.js';

export type PackageTarget = ManifestTarget;

export interface PackageTargets {
  targets: PackageTarget[];
  /** PKG_EXPORT_INVALID problems. */
  problems: Diagnostic[];
}

export function collectTargets(manifest: PackageJson): PackageTargets {
  const { targets, problems } = manifestTargets(manifest);
  return {
    targets: targets.filter((t) => t.valid),
    problems: problems.map((p) => validationWarning(VALIDATION_CODES.exportInvalid, p.field, p.message)),
  };
}
