import { readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BuildSystemError, type ErrorIssue } from '../errors.js';
import { sha256 } from '../util/hash.js';
import { statSignature, type ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { evaluationKey, readStoredEvaluation, storeEvaluation, type ConfigCacheLocation } from './evaluation-cache.js';
import { bundleConfig, escapeRegExp, esbuildSyntaxIssues, FILE_DEPENDENT, loaderFor, syntaxError, type StackMapper } from './bundle.js';
import { ConfigExitError, ConfigTimeoutError, guardedEvaluation, type EvaluationSink } from './guarded-evaluation.js';
import { displayPath, foreignConfigError, foreignConfigTool, hasSharedName } from './find.js';
import { isPlainObject } from '../util/plain-object.js';

/**
 * Evaluating a config file to the value it exports (validate.ts checks it):
 * JSON is parsed; a TypeScript/JS config is bundled by esbuild (bundle.ts) and
 * imported from a `data:` URL under Node, imported natively under Bun; a text
 * several packages share is evaluated once (below). A config that throws,
 * exits or never settles becomes one CONFIG_LOAD issue at its own line.
 *
 * What an evaluation read — every file the bundle loaded (of any type: a JSON
 * import counts), the env vars the config asked for (guarded-evaluation.ts) —
 * is noted in its Evaluation, which load.ts logs in the run's read log, so the
 * CLI's no-op replay checks exactly those; what cannot be known (code loaded
 * from node_modules at run time, the clock) makes the run unrecordable instead.
 */

/** What one evaluation read, to log in each run that uses its result and to know when it is stale. */
export interface Evaluation extends EvaluationSink {
  /** Absolute paths of the files it read (the config and everything its bundle loaded) → their stat signature then. */
  files: Map<string, string>;
  /** Env values it read, when it finished (undefined = unset). */
  envValues: Map<string, string | undefined>;
  /** The read logs of the runs that used it: a late env read makes each of them unrecordable. */
  consumers: Set<ReadLog>;
  /**
   * Stores the value for later processes (evaluation-cache.ts), when it may be stored; the caller
   * calls it once the config proved usable (valid, resolved), so a failing run writes nothing.
   */
  keep?: () => Promise<void>;
  /**
   * The config file's content as read for evaluating it, with the stat taken before that read
   * (the size agreed): while the file keeps that stat, logging it needs no second read.
   */
  content?: { file: string; signature: string; sha256: string };
  /**
   * Set when the value is a copy of a shared evaluation (same text, or kept by an earlier process):
   * that evaluation, whose validated form load.ts takes or fills in, so one value is validated
   * once and a run whose configs all come from kept evaluations loads no zod.
   */
  shared?: SharedEvaluation;
}

export function newEvaluation(): Evaluation {
  const evaluation: Evaluation = {
    files: new Map(),
    env: new Set(),
    envValues: new Map(),
    refused: null,
    consumers: new Set(),
    late(reason) {
      for (const reads of evaluation.consumers) reads.refuse(reason);
    },
  };
  return evaluation;
}

/** The value the config at `file` (absolute, stat'ed as `st`) exports, unvalidated; what it read goes into `evaluation`. */
export async function evaluateConfig(file: string, pkg: PackageInfo, st: Stats, evaluation: Evaluation, stored?: ConfigCacheLocation): Promise<unknown> {
  let value: unknown;
  if (file.endsWith('.json')) {
    evaluation.files.set(file, statSignature(st));
    value = await readJsonConfig(file, pkg);
  } else if (bunRuntime()) {
    rejectForeign(file, readFileSync(file, 'utf8'), pkg);
    value = await importWithBun(file, pkg, st.mtimeMs, evaluation);
  } else value = await importSharedOrEsbuild(file, pkg, st, evaluation, stored);
  for (const name of evaluation.env) evaluation.envValues.set(name, process.env[name]);
  return value;
}

// ---------------------------------------------------------------------------
// Identical configs: one evaluation per text.
//
// Monorepos often carry the same build.config.ts in every package. A config whose
// evaluation cannot depend on where it is or on anything but its own text and the
// env vars it read gives the same value in every package, so a run evaluates such
// a text once and hands the other packages a copy of the value. "Cannot depend":
// its bundle read no file but itself (it imports nothing but `build-system`),
// nothing in it names its own location (import.meta, __dirname, __filename), it
// passed the no-op record's environment check (no clock, chance, file system,
// process state or run-time imports: `evaluation.refused` stayed empty), and the
// value it exported is plain data (no functions, no getters that could read
// something later). Every other config is evaluated per file, as before. What a
// shared evaluation reads is logged for each package as its own: its own file and
// stat, the same env vars.

export interface SharedEvaluation {
  value: unknown;
  env: ReadonlySet<string>;
  envValues: ReadonlyMap<string, string | undefined>;
  /**
   * `value` as the config schema validated it (defaults applied), once some package's load did;
   * plain data, never handed out itself (callers get a copy). Undefined: not validated yet.
   */
  validated?: unknown;
}

/** Text key → the first evaluation of that text (null: it cannot be shared). */
const sharedByText = new Map<string, Promise<SharedEvaluation | null>>();

/** Forgets every shared evaluation (load.ts's clearConfigCache). */
export function clearSharedEvaluations(): void {
  sharedByText.clear();
}

/**
 * A short-named config (build.config.ts) that is unbuild's or obuild's is not evaluated: it would load that
 * tool, and its fields (entries, declaration, rollup) would read as unknown ones, or worse, as none.
 */
function rejectForeign(file: string, text: string, pkg: PackageInfo): void {
  if (!hasSharedName(file)) return;
  const tool = foreignConfigTool(text);
  if (tool) throw foreignConfigError(file, tool, pkg.name);
}

async function importSharedOrEsbuild(file: string, pkg: PackageInfo, st: Stats, evaluation: Evaluation, stored?: ConfigCacheLocation): Promise<unknown> {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return importWithEsbuild(file, pkg, evaluation);
  }
  // Hashed as bytes (what the read log hashes), at the stat taken before the read, as ReadLog.hash vouches for one.
  if (data.byteLength === st.size) evaluation.content = { file, signature: statSignature(st), sha256: sha256(data) };
  const text = data.toString('utf8');
  rejectForeign(file, text, pkg);
  if (FILE_DEPENDENT.test(text)) return importWithEsbuild(file, pkg, evaluation);
  // The extension decides the loader and whether esbuild reads the file as CommonJS; process.cwd() is one thing a config may read.
  const key = `${process.cwd()}\0${path.extname(file)}\0${text}`;
  let first = sharedByText.get(key);
  // Evaluated by an earlier process under the same conditions (evaluation-cache.ts): shared from there.
  const storedKey = stored && !first ? evaluationKey(text, path.extname(file)) : '';
  if (!first && stored) {
    const found = readStoredEvaluation(stored, storedKey);
    if (found) sharedByText.set(key, (first = Promise.resolve(found)));
  }
  if (first) {
    const shared = await first.catch(() => null);
    if (shared && [...shared.envValues].every(([name, value]) => process.env[name] === value)) {
      evaluation.files.set(file, statSignature(st));
      for (const name of shared.env) evaluation.env.add(name);
      evaluation.shared = shared;
      return copyPlainData(shared.value);
    }
    return importWithEsbuild(file, pkg, evaluation);
  }
  const evaluated = importWithEsbuild(file, pkg, evaluation);
  const sharing = evaluated.then((value): SharedEvaluation | null => {
    const onlyItself = evaluation.files.size === 1 && evaluation.files.has(file);
    if (!onlyItself || evaluation.refused || !isPlainData(value)) return null;
    const envValues = new Map([...evaluation.env].map((name) => [name, process.env[name]] as const));
    return { value: copyPlainData(value), env: new Set(evaluation.env), envValues };
  });
  sharedByText.set(key, sharing);
  // A text that failed, or cannot be shared, is evaluated per file from now on (and its errors name each file).
  sharing.then(
    (shared) => {
      // This package's value is the one shared: its validation (load.ts) can serve the others too.
      if (shared) evaluation.shared = shared;
      if (!shared && sharedByText.get(key) === sharing) sharedByText.delete(key);
    },
    () => {
      if (sharedByText.get(key) === sharing) sharedByText.delete(key);
    },
  );
  if (stored && storedKey) {
    const shared = await sharing.catch(() => null);
    let kept: Promise<void> | undefined;
    if (shared) evaluation.keep = () => (kept ??= storeEvaluation(stored, storedKey, shared));
  }
  return evaluated;
}

/** Only plain objects, arrays and primitives, every property a data property (never a getter). */
function isPlainData(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return true;
  if (typeof v !== 'object' || depth > 32) return false;
  if (!Array.isArray(v) && !isPlainObject(v)) return false;
  for (const key of Reflect.ownKeys(v)) {
    if (typeof key === 'symbol') return false;
    const d = Object.getOwnPropertyDescriptor(v, key)!;
    if (Array.isArray(v) && key === 'length') continue;
    if (!('value' in d) || !isPlainData(d.value, depth + 1)) return false;
  }
  return true;
}

export function copyPlainData(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyPlainData);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyPlainData(x)]));
  return v;
}

// ---------------------------------------------------------------------------
// JSON

async function readJsonConfig(file: string, pkg: PackageInfo): Promise<unknown> {
  const raw = readFileSync(file, 'utf8');
  const text = raw.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // JSON.parse reports a position only sometimes; esbuild's JSON parser always gives line and column.
    const issues = await esbuildSyntaxIssues(file, text, 'json', pkg);
    if (issues.length > 0) throw syntaxError(issues, pkg, e);
    const pos = /at position (\d+)/.exec((e as Error).message);
    const loc = pos ? lineColumnAt(text, Number(pos[1])) : {};
    throw syntaxError([{ package: pkg.name, file: displayPath(file), ...loc, message: (e as Error).message }], pkg, e);
  }
}

function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

// ---------------------------------------------------------------------------
// Node: import the esbuild bundle.

async function importWithEsbuild(file: string, pkg: PackageInfo, evaluation: Evaluation): Promise<unknown> {
  const bundle = await bundleConfig(file, pkg, evaluation);
  let mod: Record<string, unknown>;
  try {
    mod = await guardedEvaluation(() => import(bundle.url) as Promise<Record<string, unknown>>, evaluation);
  } catch (e) {
    throw evaluationError(e, file, pkg, bundle.mapStack);
  }
  return defaultExport(mod);
}

/** `export default`, or `module.exports` (also a transpiled `exports.default` with __esModule). */
function defaultExport(mod: Record<string, unknown>): unknown {
  const value = mod.default;
  if (value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true && 'default' in value) {
    return (value as { default: unknown }).default;
  }
  return value;
}

function evaluationError(e: unknown, file: string, pkg: PackageInfo, mapStack: StackMapper): BuildSystemError {
  const err = e instanceof Error ? e : undefined;
  const detail = err ? `${err.name}: ${err.message}` : String(e);
  let location: { file: string; line: number; column: number } | undefined;
  if (err && typeof err.stack === 'string') {
    const mapped = mapStack(err.stack);
    location = mapped.location;
    // Show users their own files in the stack, not the bundle.
    try {
      err.stack = mapped.stack;
    } catch {
      /* frozen error objects keep their stack */
    }
  }
  if (e instanceof ConfigExitError || e instanceof ConfigTimeoutError) {
    const issue: ErrorIssue = {
      package: pkg.name,
      file: displayPath(location?.file ?? file),
      line: location?.line,
      column: location?.column,
      message: `the config ${e.message}; a config must only compute and export its settings`,
    };
    return new BuildSystemError('CONFIG_LOAD', issue.message, { ...issue, issues: [issue], cause: e });
  }
  let hint = '';
  if (pkg.type === 'module' && /\b(module|exports|require) is not defined\b/.test(detail) && /\.(js|ts)$/.test(file)) {
    hint = ` (${path.basename(file)} is an ES module because package.json has "type": "module"; use export default, or rename it to build.config.cts)`;
  }
  const issue: ErrorIssue = {
    package: pkg.name,
    file: displayPath(location?.file ?? file),
    line: location?.line,
    column: location?.column,
    message: `the config threw ${detail}${hint}`,
  };
  // issues passed explicitly: the default would copy `cause` into the issue (and into --json).
  return new BuildSystemError('CONFIG_LOAD', issue.message, { ...issue, issues: [issue], cause: e });
}

// ---------------------------------------------------------------------------
// Bun: native import.

interface BunLike {
  plugin(plugin: { name: string; setup(build: { module(specifier: string, callback: () => { exports: Record<string, unknown>; loader: 'object' }): void }): void }): void;
}

function bunRuntime(): BunLike | undefined {
  return (globalThis as { Bun?: BunLike }).Bun;
}

let bunPluginInstalled = false;

async function importWithBun(file: string, pkg: PackageInfo, mtimeMs: number, evaluation: Evaluation): Promise<unknown> {
  // Bun loads the config's imports itself: which files they are is not known here.
  evaluation.refused ??= 'configs are loaded by Bun';
  const st = statSync(file, { throwIfNoEntry: false });
  if (st) evaluation.files.set(file, statSignature(st));
  const bun = bunRuntime()!;
  if (!bunPluginInstalled) {
    // Same stand-in as under Node: configs outside a node_modules tree still get defineConfig.
    bun.plugin({
      name: 'build-system-config',
      setup(build) {
        build.module('build-system', () => ({ exports: { defineConfig: (config: unknown) => config }, loader: 'object' }));
      },
    });
    bunPluginInstalled = true;
  }
  let mod: Record<string, unknown>;
  try {
    // The query makes an edited file a new module instead of Bun's cached one.
    mod = await guardedEvaluation(() => import(`${pathToFileURL(file).href}?mtime=${mtimeMs}`) as Promise<Record<string, unknown>>, evaluation);
  } catch (e) {
    // Bun's parse errors carry no structured location; esbuild's parser gives the exact one.
    const text = readFileSync(file, 'utf8');
    const issues = await esbuildSyntaxIssues(file, text, loaderFor(file), pkg);
    if (issues.length > 0) throw syntaxError(issues, pkg, e);
    const frame = new RegExp(`${escapeRegExp(file)}(?:\\?[^:\\s)]*)?:(\\d+):(\\d+)`);
    throw evaluationError(e, file, pkg, (stack) => {
      const m = frame.exec(stack);
      return { stack, location: m ? { file, line: Number(m[1]), column: Number(m[2]) } : undefined };
    });
  }
  return defaultExport(mod);
}
