import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.js';
import { isPlainObject } from '../util/plain-object.js';
import { sha256 } from '../util/hash.js';
import { selfIdentity } from '../util/self-identity.js';
import { VERSION } from '../version.js';

/**
 * Evaluated configs kept on disk, for the next process (a run without a no-op
 * record: first run after a clone, CI with a restored cache). Only what
 * evaluate.ts already shares between identical texts within one run is kept:
 * a config whose bundle read nothing but itself, that names no location of
 * its own, that passed the no-op record's environment check, and whose value
 * is plain data. Such a value is a function of the config's text, its
 * extension, the cwd, the env vars it read and the program that evaluated it;
 * the entry is keyed on all of them but the env values, which it stores and
 * which must equal the current ones for it to be used. A missing, unreadable
 * or damaged entry, or one whose env values differ, means: evaluate as if
 * there were no cache (and write the entry again).
 */

/** Where evaluated configs are kept (the run's cache dir) and whether this run may read or write them. */
export interface ConfigCacheLocation {
  /** The run's cache directory: entries go to <dir>/v1/configs. */
  dir: string;
  /** False under --force: evaluate every config again (still written). */
  read: boolean;
  /** False under --no-cache. */
  write: boolean;
}

/** What a shareable evaluation gave: its value and the env vars it read with their values then. */
export interface StoredEvaluation {
  value: unknown;
  env: ReadonlySet<string>;
  envValues: ReadonlyMap<string, string | undefined>;
  /** `value` as the config schema validated it, when known (load.ts): the next process need not validate. */
  validated?: unknown;
}

/** Bumped when the stored shape or what an entry means changes. 2: `checked`, the validated value. */
const FORMAT = 2;

/**
 * Env vars that change how a config is evaluated without the config reading them: NODE_OPTIONS
 * (preloads, conditions) and BUILD_SYSTEM_CONFIG_TIMEOUT_MS (an evaluation that finished may time out now).
 */
const KEYED_ENV = ['NODE_OPTIONS', 'BUILD_SYSTEM_CONFIG_TIMEOUT_MS'] as const;


/** What an entry's key is made of besides the config's text and extension (defaults: this process). */
export interface EvaluatorIdentity {
  version: string;
  /** Which build-system evaluates (util/self-identity.ts): its build id, or from src/ its module's file, size and mtime. */
  program: string;
  runtime: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** The entry's key: everything the value depends on but the env values it read (stored in the entry). */
export function evaluationKey(text: string, extension: string, who: Partial<EvaluatorIdentity> = {}): string {
  const { version = VERSION, program = selfIdentity(import.meta.url), runtime = `node ${process.version} ${process.platform} ${process.arch}`, cwd = process.cwd(), env = process.env } = who;
  return sha256(JSON.stringify([FORMAT, version, program, runtime, cwd, extension, KEYED_ENV.map((n) => env[n] ?? null), text]));
}

export function evaluationFile(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'configs', `${key}.json`);
}

interface EntryJson {
  format: number;
  key: string;
  value: unknown;
  /** [name, value or null when unset]. */
  env: [string, string | null][];
  /**
   * The value validated (`config`), and the JSON text of the very value that was (`value`): the
   * validated form is used only while the entry's value is still that one, never for another.
   */
  checked?: { value: string; config: unknown };
}

/** The stored evaluation for `key` when it holds and its env values are the current ones; null otherwise. */
export function readStoredEvaluation(location: ConfigCacheLocation, key: string, env: NodeJS.ProcessEnv = process.env): StoredEvaluation | null {
  if (!location.read) return null;
  let entry: EntryJson;
  try {
    entry = JSON.parse(readFileSync(evaluationFile(location.dir, key), 'utf8')) as EntryJson;
  } catch {
    return null;
  }
  if (typeof entry !== 'object' || entry === null || entry.format !== FORMAT || entry.key !== key || !Array.isArray(entry.env) || !('value' in entry)) return null;
  const envValues = new Map<string, string | undefined>();
  for (const pair of entry.env) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || (pair[1] !== null && typeof pair[1] !== 'string')) return null;
    const value = pair[1] ?? undefined;
    if (env[pair[0]] !== value) return null;
    envValues.set(pair[0], value);
  }
  if (!jsonExact(entry.value)) return null;
  const found: StoredEvaluation = { value: entry.value, env: new Set(envValues.keys()), envValues };
  const { checked } = entry;
  if (typeof checked === 'object' && checked !== null && checked.value === JSON.stringify(entry.value) && isPlainObject(checked.config) && jsonExact(checked.config)) {
    found.validated = checked.config;
  }
  return found;
}

/** Keeps a shareable evaluation for later processes. Best effort: a failed write only means the next run evaluates. */
export async function storeEvaluation(location: ConfigCacheLocation, key: string, evaluation: StoredEvaluation): Promise<void> {
  if (!location.write || !jsonExact(evaluation.value)) return;
  const entry: EntryJson = { format: FORMAT, key, value: evaluation.value, env: [...evaluation.envValues].map(([n, v]) => [n, v ?? null]) };
  if (evaluation.validated !== undefined && jsonExact(evaluation.validated)) entry.checked = { value: JSON.stringify(evaluation.value), config: evaluation.validated };
  await writeFileAtomic(evaluationFile(location.dir, key), JSON.stringify(entry), { mkdir: true }).catch(() => {});
}

/**
 * Whether JSON gives back exactly this plain data: no undefined (a key present with undefined
 * is not the same config as one without it), only finite numbers and not -0, no `__proto__` key.
 */
function jsonExact(v: unknown, depth = 0): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v !== 'object' || depth > 32) return false;
  // A hole reads back as null.
  if (Array.isArray(v)) return Object.keys(v).length === v.length && v.every((x) => jsonExact(x, depth + 1));
  return Object.entries(v).every(([k, x]) => k !== '__proto__' && jsonExact(x, depth + 1));
}
