import path from 'node:path';

/**
 * The one walk of the files a package.json points at: every `exports` leaf
 * (every subpath, every condition, array fallbacks), `main`, `module`,
 * `types`/`typings` and `bin`, each with the path of its value in
 * package.json and the conditions leading to it. Config resolution, `init`
 * and package validation all read targets through here.
 *
 * The walk is lenient (it yields every string it finds, the way a bundler
 * reading the manifest would) and marks what Node refuses: `valid: false` on
 * the target and, once per fault, an entry in `problems`. Below a container
 * Node refuses (mixed keys, a folder mapping, a subpath nested in conditions)
 * the leaves are yielded as invalid without a problem of their own.
 */

export type TargetSource = 'exports' | 'main' | 'module' | 'types' | 'typings' | 'bin';

export interface ManifestTarget {
  source: TargetSource;
  /** Where the value is in package.json; `field` is the same as text. */
  segments: (string | number)[];
  /** `exports["./sub"].import.types`, `main`, `bin.demo`. */
  field: string;
  /** As written. */
  value: string;
  /** Relative to the package, posix, without `./`; a pattern keeps its `*`. */
  path: string;
  /** `exports` only: the subpath (`.` for the root and for sugar forms). */
  subpath?: string;
  /** The conditions from the subpath to the value, in order (`exports` only). */
  conditions: string[];
  /** An `exports` subpath pattern's target (both the subpath and the value contain `*`). */
  pattern: boolean;
  /** False when Node refuses or ignores the value (see the module comment). */
  valid: boolean;
}

export interface ManifestProblem {
  segments: (string | number)[];
  field: string;
  message: string;
}

export interface ManifestTargets {
  targets: ManifestTarget[];
  /** What Node refuses in `exports`, once per fault, in walk order. */
  problems: ManifestProblem[];
}

/** The package.json fields this walk reads. */
export interface TargetManifest {
  main?: unknown;
  module?: unknown;
  types?: unknown;
  typings?: unknown;
  bin?: unknown;
  exports?: unknown;
}

/** `exports["./utils"].require.types`: dots for plain names, brackets for the rest. */
export function fieldPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Relative to the package, posix, no leading `./`. */
export function normalizeTarget(value: string): string {
  return path.posix.normalize(value.replace(/\\/g, '/')).replace(/^\.\//, '');
}

/** Keys of an exports object: all subpaths (`.`…), all conditions, or (invalid for Node) a mix. */
export function exportsKeyKind(obj: Record<string, unknown>): 'subpaths' | 'conditions' | 'mixed' {
  const keys = Object.keys(obj);
  const dotted = keys.filter((k) => k.startsWith('.')).length;
  return dotted === 0 ? 'conditions' : dotted === keys.length ? 'subpaths' : 'mixed';
}

export function manifestTargets(manifest: TargetManifest): ManifestTargets {
  const out: ManifestTargets = { targets: [], problems: [] };
  walkExports(manifest.exports, out);
  const plain = (source: TargetSource, segments: (string | number)[], value: string) =>
    out.targets.push({ source, segments, field: fieldPath(segments), value, path: value === '' ? '' : normalizeTarget(value), conditions: [], pattern: false, valid: value !== '' });
  for (const source of ['main', 'module', 'types', 'typings'] as const) {
    const value = manifest[source];
    if (typeof value === 'string') plain(source, [source], value);
  }
  const bin = manifest.bin;
  if (typeof bin === 'string') plain('bin', ['bin'], bin);
  else if (bin && typeof bin === 'object') {
    for (const [name, value] of Object.entries(bin)) if (typeof value === 'string') plain('bin', ['bin', name], value);
  }
  return out;
}

interface Walk {
  out: ManifestTargets;
  /** Set below a container Node refuses: leaves are invalid, no further problems. */
  refused: boolean;
}

function refuse(walk: Walk, segments: (string | number)[], message: string): void {
  if (!walk.refused) walk.out.problems.push({ segments, field: fieldPath(segments), message });
}

function walkExports(exp: unknown, out: ManifestTargets): void {
  if (exp === undefined || exp === null) return;
  if (typeof exp === 'object' && !Array.isArray(exp)) {
    const obj = exp as Record<string, unknown>;
    const kind = exportsKeyKind(obj);
    if (kind !== 'conditions') {
      const walk: Walk = { out, refused: false };
      if (kind === 'mixed') {
        refuse(walk, ['exports'], 'mixes subpaths ("./…") and conditions in one object; Node refuses the whole field: put the conditions under "."');
        walk.refused = true;
      }
      for (const [key, value] of Object.entries(obj)) {
        if (!key.startsWith('.')) {
          walkValue(value, ['exports', key], '.', [key], walk);
          continue;
        }
        // Folder mappings ("./features/") were removed in Node 17; patterns replaced them.
        const folder = key.endsWith('/');
        if (folder) refuse(walk, ['exports', key], `folder mapping ${JSON.stringify(key)} is not supported by Node >= 17; use a pattern like "${key}*"`);
        walkValue(value, ['exports', key], key, [], folder ? { out, refused: true } : walk);
      }
      return;
    }
  }
  walkValue(exp, ['exports'], '.', [], { out, refused: false });
}

function walkValue(value: unknown, segments: (string | number)[], subpath: string, conditions: string[], walk: Walk): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    const problem = targetProblem(value);
    if (problem) refuse(walk, segments, problem);
    // A pattern subpath with a plain target is valid for Node (every match maps to one file) but has nothing to expand.
    const pattern = subpath.includes('*') && value.includes('*');
    walk.out.targets.push({ source: 'exports', segments, field: fieldPath(segments), value, path: normalizeTarget(value), subpath, conditions, pattern, valid: !walk.refused && !problem });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => walkValue(v, [...segments, i], subpath, conditions, walk));
    return;
  }
  if (typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key.startsWith('.')) {
        refuse(walk, [...segments, key], 'a subpath inside conditions; subpaths belong at the top of "exports"');
        walkValue(v, [...segments, key], subpath, conditions, { out: walk.out, refused: true });
        continue;
      }
      walkValue(v, [...segments, key], subpath, [...conditions, key], walk);
    }
    return;
  }
  refuse(walk, segments, `must be a path string, an object of conditions, an array or null (got ${typeof value})`);
}

/** Node's rules for an exports target: `./` first, then no `.`, `..` or `node_modules` segment. */
function targetProblem(value: string): string | null {
  if (!value.startsWith('./')) return `${JSON.stringify(value)} must start with "./" (Node refuses other targets)`;
  const segments = value.slice(2).split(/[/\\]/);
  if (segments.some((s) => s === '.' || s === '..' || s.toLowerCase() === 'node_modules')) return `${JSON.stringify(value)} must not contain ".", ".." or "node_modules" segments`;
  return null;
}
