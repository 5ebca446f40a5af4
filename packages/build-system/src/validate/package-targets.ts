import path from 'node:path';
import type { Diagnostic } from '../result/schema.js';
import type { PackageJson } from '../workspace/package-info.js';
import { fieldPath, VALIDATION_CODES, validationWarning } from './diagnostics.js';

/**
 * Every file package.json points at: `exports` targets (every subpath, every
 * condition, array fallbacks), `main`, `module`, `types`/`typings` and `bin`,
 * each with the path of its value in package.json and the conditions that
 * lead to it. `exports` values Node would refuse are reported here
 * (PKG_EXPORT_INVALID) and left out of the targets.
 */

export type TargetSource = 'exports' | 'main' | 'module' | 'types' | 'typings' | 'bin';

export interface PackageTarget {
  source: TargetSource;
  /** Where the value is in package.json: `fieldPath(segments)` names it in diagnostics. */
  segments: (string | number)[];
  /** As written. */
  value: string;
  /** Relative to the package, posix, without `./`; a pattern keeps its `*`. */
  path: string;
  /** `exports` only: the subpath (`.` for the root and for sugar forms) and the conditions from it to the value, in order. */
  subpath?: string;
  conditions: string[];
  /** An `exports` subpath pattern's target (contains `*`). */
  pattern: boolean;
}

export interface PackageTargets {
  targets: PackageTarget[];
  /** PKG_EXPORT_INVALID problems. */
  problems: Diagnostic[];
}

/** Relative to the package, posix, no leading `./`. */
export function normalizeTarget(value: string): string {
  return path.posix.normalize(value.replace(/\\/g, '/')).replace(/^\.\//, '');
}

export function collectTargets(manifest: PackageJson): PackageTargets {
  const targets: PackageTarget[] = [];
  const problems: Diagnostic[] = [];
  collectExports(manifest.exports, targets, problems);
  for (const source of ['main', 'module', 'types', 'typings'] as const) {
    const value = manifest[source];
    if (typeof value === 'string' && value !== '') targets.push({ source, segments: [source], value, path: normalizeTarget(value), conditions: [], pattern: false });
  }
  const bin = manifest.bin;
  if (typeof bin === 'string') targets.push({ source: 'bin', segments: ['bin'], value: bin, path: normalizeTarget(bin), conditions: [], pattern: false });
  else if (bin && typeof bin === 'object') {
    for (const [name, value] of Object.entries(bin)) {
      if (typeof value === 'string') targets.push({ source: 'bin', segments: ['bin', name], value, path: normalizeTarget(value), conditions: [], pattern: false });
    }
  }
  return { targets, problems };
}

/** Keys of an exports object: all subpaths (`.`…), all conditions, or (invalid for Node) a mix. */
export function exportsKeyKind(obj: Record<string, unknown>): 'subpaths' | 'conditions' | 'mixed' {
  const keys = Object.keys(obj);
  const dotted = keys.filter((k) => k.startsWith('.')).length;
  return dotted === 0 ? 'conditions' : dotted === keys.length ? 'subpaths' : 'mixed';
}

function collectExports(exp: unknown, targets: PackageTarget[], problems: Diagnostic[]): void {
  if (exp === undefined || exp === null) return;
  const invalid = (segments: (string | number)[], message: string) => problems.push(validationWarning(VALIDATION_CODES.exportInvalid, fieldPath(segments), message));
  if (typeof exp === 'object' && !Array.isArray(exp)) {
    const obj = exp as Record<string, unknown>;
    const kind = exportsKeyKind(obj);
    if (kind === 'mixed') {
      invalid(['exports'], 'mixes subpaths ("./…") and conditions in one object; Node refuses the whole field: put the conditions under "."');
      return;
    }
    if (kind === 'subpaths') {
      for (const [subpath, value] of Object.entries(obj)) {
        // Folder mappings ("./features/") were removed in Node 17; patterns replaced them.
        if (subpath.endsWith('/')) {
          invalid(['exports', subpath], `folder mapping ${JSON.stringify(subpath)} is not supported by Node >= 17; use a pattern like "${subpath}*"`);
          continue;
        }
        walkValue(value, ['exports', subpath], subpath, [], targets, invalid);
      }
      return;
    }
  }
  walkValue(exp, ['exports'], '.', [], targets, invalid);
}

function walkValue(
  value: unknown,
  segments: (string | number)[],
  subpath: string,
  conditions: string[],
  targets: PackageTarget[],
  invalid: (segments: (string | number)[], message: string) => void,
): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    const problem = targetProblem(value);
    if (problem) {
      invalid(segments, problem);
      return;
    }
    const pattern = subpath.includes('*');
    if (pattern && !value.includes('*')) {
      // Valid for Node (every match maps to one file) but nothing to expand.
      targets.push({ source: 'exports', segments, value, path: normalizeTarget(value), subpath, conditions, pattern: false });
      return;
    }
    targets.push({ source: 'exports', segments, value, path: normalizeTarget(value), subpath, conditions, pattern });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkValue(v, [...segments, i], subpath, conditions, targets, invalid));
    return;
  }
  if (typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key.startsWith('.')) {
        invalid([...segments, key], 'a subpath inside conditions; subpaths belong at the top of "exports"');
        continue;
      }
      walkValue(v, [...segments, key], subpath, [...conditions, key], targets, invalid);
    }
    return;
  }
  invalid(segments, `must be a path string, an object of conditions, an array or null (got ${typeof value})`);
}

/** Node's rules for an exports target: `./` first, then no `.`, `..` or `node_modules` segment. */
function targetProblem(value: string): string | null {
  if (!value.startsWith('./')) return `${JSON.stringify(value)} must start with "./" (Node refuses other targets)`;
  const segments = value.slice(2).split(/[/\\]/);
  if (segments.some((s) => s === '.' || s === '..' || s.toLowerCase() === 'node_modules')) return `${JSON.stringify(value)} must not contain ".", ".." or "node_modules" segments`;
  return null;
}
