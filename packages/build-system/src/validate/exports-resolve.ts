import { exportsKeyKind } from './package-targets.js';

/** A resolved `exports` value: the target string and where it is in package.json. */
export interface ResolvedTarget {
  value: string;
  segments: (string | number)[];
}

/**
 * Node's PACKAGE_EXPORTS_RESOLVE for one subpath key as written (a pattern
 * key resolves to its `*` target unexpanded) and a set of conditions:
 * conditions objects are read in key order, the first key that is active
 * (or `default`) and resolves wins; `null` excludes; in an array the first
 * entry that resolves wins. TypeScript resolves the same way with `types`
 * added to the conditions.
 */
export function resolveExport(exp: unknown, subpath: string, conditions: ReadonlySet<string>): ResolvedTarget | null {
  let value: unknown;
  let segments: (string | number)[];
  if (exp && typeof exp === 'object' && !Array.isArray(exp) && exportsKeyKind(exp as Record<string, unknown>) === 'subpaths') {
    if (!Object.hasOwn(exp, subpath)) return null;
    value = (exp as Record<string, unknown>)[subpath];
    segments = ['exports', subpath];
  } else {
    if (subpath !== '.') return null;
    value = exp;
    segments = ['exports'];
  }
  return resolveTarget(value, segments, conditions) ?? null;
}

/** undefined: nothing matched (the caller goes on to the next key); null: excluded. */
function resolveTarget(value: unknown, segments: (string | number)[], conditions: ReadonlySet<string>): ResolvedTarget | null | undefined {
  if (typeof value === 'string') return { value, segments };
  if (value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const r = resolveTarget(value[i], [...segments, i], conditions);
      if (r) return r;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (key !== 'default' && !conditions.has(key)) continue;
      const r = resolveTarget(v, [...segments, key], conditions);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

/** The subpath keys of `exports` (`.` for the sugar forms). */
export function exportSubpaths(exp: unknown): string[] {
  if (exp === undefined || exp === null) return [];
  if (typeof exp === 'object' && !Array.isArray(exp) && exportsKeyKind(exp as Record<string, unknown>) === 'subpaths') return Object.keys(exp).filter((k) => !k.endsWith('/'));
  return ['.'];
}
