import * as z from 'zod';
import { BuildSystemError, type ErrorIssue } from '../errors.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { displayPath } from './find.js';
import { isPlainObject } from '../util/plain-object.js';
import { buildConfigSchema, type BuildConfig } from './schema.js';

/**
 * Validating an evaluated config value against the zod schema: every problem
 * becomes one `file: field: message` issue (field paths, the got-value, the
 * known name a typo meant), thrown together as CONFIG_INVALID.
 */

/** Field name used for problems with the exported value as a whole. */
const ROOT_FIELD = '(default export)';

/** Validates an exported config value; throws CONFIG_INVALID with one issue per problem. */
export function validateConfig(value: unknown, file: string, pkg: PackageInfo): BuildConfig {
  const shown = displayPath(file);
  const fail = (issues: { field: string; message: string }[]): never => {
    const full: ErrorIssue[] = issues.map((i) => ({ package: pkg.name, file: shown, field: i.field, message: i.message }));
    throw new BuildSystemError('CONFIG_INVALID', full[0]!.message, { package: pkg.name, file: shown, field: full[0]!.field, issues: full });
  };
  if (typeof value === 'function') {
    fail([
      {
        field: ROOT_FIELD,
        message: `must be a config object, not a function (got ${describeTyped(value)}); export the object itself, e.g. export default defineConfig({ ... })`,
      },
    ]);
  }
  if (value === undefined) {
    fail([{ field: ROOT_FIELD, message: 'expected a config object (got nothing: the file has no default export); add export default defineConfig({ ... })' }]);
  }
  if (!isPlainObject(value)) {
    fail([{ field: ROOT_FIELD, message: `expected a config object (got ${describeTyped(value)})` }]);
  }
  const parsed = buildConfigSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  return fail(describeZodIssues(parsed.error.issues, value, CONFIG_NAMING));
}

export { isPlainObject };

type ZodIssue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** `format[1]`, `adapterOptions.webpack`, `entry.cli`, `define["process.env.X"]`. */
export function fieldPath(p: Path): string {
  let out = '';
  for (const key of p) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const k = String(key);
      // Dots only where they cannot be misread; keys such as "bin/cli" read fine dotted (as resolve.ts writes them).
      if (/^[A-Za-z0-9_$@/-]+$/.test(k)) out += out ? `.${k}` : k;
      else out += `[${JSON.stringify(k)}]`;
    }
  }
  return out || ROOT_FIELD;
}

function valueAt(root: unknown, p: Path): unknown {
  let cur = root;
  for (const key of p) {
    if (cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Short literal of a value for "(got …)". */
function describeValue(v: unknown): string {
  if (typeof v === 'function') return 'function';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return v.toString();
  if (v === undefined) return 'undefined';
  let json: string | undefined;
  try {
    json = JSON.stringify(v);
  } catch {
    json = undefined;
  }
  if (json === undefined) return Object.prototype.toString.call(v);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Type and value, for type mismatches: `string "yes"`, `number 5`, `array []`, `null`. */
function describeTyped(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return v.name ? `function ${v.name}` : 'function';
  if (Array.isArray(v)) return `array ${describeValue(v)}`;
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
    const name = proto?.constructor?.name;
    if (name && name !== 'Object') return `${name} instance`;
    return `object ${describeValue(v)}`;
  }
  return `${typeof v} ${describeValue(v)}`;
}

function expectedName(expected: string): string {
  return expected === 'record' ? 'object' : expected;
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => describeValue(v));
  return shown.length === 1 ? shown[0]! : `one of ${shown.join(', ')}`;
}

function joinOr(parts: string[]): string {
  const unique = [...new Set(parts)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

/** The object schema reached by following `p` from `root` (for the known-field list of an unknown key). */
function objectShapeAt(root: z.ZodType, p: Path): Record<string, unknown> | undefined {
  let schema: unknown = root;
  const unwrap = (s: unknown): unknown => {
    let cur = s;
    while (cur instanceof z.ZodOptional || cur instanceof z.ZodDefault || cur instanceof z.ZodNullable) cur = cur.unwrap();
    return cur;
  };
  for (const key of p) {
    const cur = unwrap(schema);
    if (!(cur instanceof z.ZodObject) || typeof key !== 'string') return undefined;
    schema = (cur.shape as Record<string, unknown>)[key];
  }
  const last = unwrap(schema);
  return last instanceof z.ZodObject ? (last.shape as Record<string, unknown>) : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known name a typo most likely meant: case slips, a letter or two, or a plural. */
export function closestName(unknown: string, known: readonly string[]): string | undefined {
  const u = unknown.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const k = name.toLowerCase();
    let d = editDistance(u, k);
    if (Math.min(u.length, k.length) >= 3 && (u.startsWith(k) || k.startsWith(u))) d = Math.min(d, 1);
    const limit = Math.max(u.length, k.length) <= 4 ? 1 : 2;
    if (d <= limit && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

interface FieldMessage {
  field: string;
  message: string;
}

/** What the issues are about: the schema (for the names an unknown key may have meant) and what its keys are called. */
export interface IssueNaming {
  schema: z.ZodType;
  /** `field` for a config, `option` for the API's options. */
  noun: string;
  /** Names accepted at the top beside the schema's own (e.g. the API's callbacks). */
  alsoKnown?: readonly string[];
}

const CONFIG_NAMING: IssueNaming = { schema: buildConfigSchema, noun: 'field' };

/**
 * zod's issues as one `field: message` each (the field path, what was got, the
 * name a typo meant); shared by the config and the API's options (request.ts).
 */
export function describeZodIssues(issues: readonly ZodIssue[], root: unknown, naming: IssueNaming, base: Path = []): FieldMessage[] {
  const out: FieldMessage[] = [];
  for (const issue of issues) out.push(...describeZodIssue(issue, root, naming, base));
  // One line per field: a value that is both empty and malformed is reported once, by the first rule it breaks.
  const seen = new Set<string>();
  return out.filter((m) => (seen.has(m.field) ? false : (seen.add(m.field), true)));
}

function describeZodIssue(issue: ZodIssue, root: unknown, naming: IssueNaming, base: Path): FieldMessage[] {
  const p: Path = [...base, ...issue.path];
  const got = valueAt(root, p);
  const field = fieldPath(p);
  switch (issue.code) {
    case 'invalid_type':
      return [{ field, message: `expected ${expectedName(issue.expected)} (got ${describeTyped(got)})` }];
    case 'invalid_value':
      return [{ field, message: `must be ${oneOf(issue.values)} (got ${describeValue(got)})` }];
    case 'unrecognized_keys': {
      const known = [...Object.keys(objectShapeAt(naming.schema, p) ?? {}).filter((k) => k !== '$schema'), ...(p.length === 0 ? (naming.alsoKnown ?? []) : [])];
      const { noun } = naming;
      return issue.keys.map((key) => {
        const guess = closestName(key, known);
        const hint = guess ? `did you mean ${JSON.stringify(guess)}?` : known.length ? `known ${noun}s: ${known.join(', ')}` : '';
        return { field: fieldPath([...p, key]), message: hint ? `unknown ${noun} (${hint})` : `unknown ${noun}` };
      });
    }
    case 'invalid_union': {
      // zod already narrows a union to the branch whose shape matches; what is left here
      // fits none of them at the top: name every accepted form.
      const deeper = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
      if (deeper) return describeZodIssues(deeper, root, naming, p);
      const forms = issue.errors.flatMap((branch) =>
        branch.map((i) => (i.code === 'invalid_type' ? expectedName(i.expected) : i.code === 'invalid_value' ? oneOf(i.values) : i.message)),
      );
      return [{ field, message: `expected ${joinOr(forms)} (got ${describeTyped(got)})` }];
    }
    case 'invalid_key': {
      const key = p[p.length - 1];
      const inner = issue.issues[0]?.message ?? issue.message;
      return [{ field, message: `key ${inner} (got ${describeValue(key)})` }];
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'custom':
      return [{ field, message: `${issue.message} (got ${describeValue(got)})` }];
    default:
      return [{ field, message: `${issue.message} (got ${describeValue(got)})` }];
  }
}
