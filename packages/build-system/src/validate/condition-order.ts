import type { Diagnostic } from '../result/schema.js';
import { fieldPath, VALIDATION_CODES, validationWarning } from './diagnostics.js';

/**
 * Condition order in `exports`. Node and TypeScript both take the first key of
 * a conditions object that matches (object key order is the order written),
 * so:
 * - `types` first (PKG_TYPES_FIRST): TypeScript also matches `import`,
 *   `require`, `node` and `default`; one of those before `types` wins, and
 *   TypeScript then looks for a declaration beside that JS file instead. A key
 *   before it is fine when its own value has a `types` inside (that one is
 *   found first), and `types@<range>` keys may precede it.
 * - `default` last (PKG_DEFAULT_LAST): it always matches, every key after it
 *   is unreachable.
 * - `module` before `require` (PKG_MODULE_BEFORE_REQUIRE): bundlers match
 *   both `module` and `require`; written after `require` the ESM file is never
 *   chosen (and the package can be loaded twice).
 * These are the rules publint applies too.
 */
export function checkConditionOrder(exp: unknown): Diagnostic[] {
  const out: Diagnostic[] = [];
  walk(exp, ['exports'], out);
  return out;
}

function walk(value: unknown, segments: (string | number)[], out: Diagnostic[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, [...segments, i], out));
    return;
  }
  if (!value || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  const conditions = keys.filter((k) => !k.startsWith('.'));
  if (conditions.length === keys.length) checkObject(obj, keys, segments, out);
  for (const k of keys) walk(obj[k], [...segments, k], out);
}

function checkObject(obj: Record<string, unknown>, keys: string[], segments: (string | number)[], out: Diagnostic[]): void {
  const at = (key: string) => fieldPath([...segments, key]);
  const typesAt = keys.indexOf('types');
  if (typesAt > 0) {
    const shadowing = keys.slice(0, typesAt).filter((k) => !k.startsWith('types') && !hasKeyNested(obj[k], 'types'));
    if (shadowing.length > 0) {
      out.push(
        validationWarning(
          VALIDATION_CODES.typesFirst,
          at('types'),
          `"types" must be the first condition: TypeScript matches ${shadowing.map((k) => JSON.stringify(k)).join(', ')} before it and never reads it`,
        ),
      );
    }
  }
  const defaultAt = keys.indexOf('default');
  if (defaultAt >= 0 && defaultAt !== keys.length - 1) {
    const after = keys.slice(defaultAt + 1);
    out.push(validationWarning(VALIDATION_CODES.defaultLast, at('default'), `"default" must be the last condition: ${after.map((k) => JSON.stringify(k)).join(', ')} after it can never match`));
  }
  const moduleAt = keys.indexOf('module');
  const requireAt = keys.indexOf('require');
  if (moduleAt >= 0 && requireAt >= 0 && moduleAt > requireAt) {
    out.push(validationWarning(VALIDATION_CODES.moduleBeforeRequire, at('module'), '"module" must come before "require": bundlers match both and take the first, so the ESM file is never used'));
  }
}

function hasKeyNested(value: unknown, key: string): boolean {
  if (Array.isArray(value)) return value.some((v) => hasKeyNested(v, key));
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value as Record<string, unknown>).some(([k, v]) => k === key || hasKeyNested(v, key));
}
