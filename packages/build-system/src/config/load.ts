import { readFileSync, statSync, type Stats } from 'node:fs';
import { sourceMapLookup } from '../util/source-map.js';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildFailure, Message, Plugin } from 'esbuild';
import { BuildSystemError, type ErrorIssue } from '../errors.js';
import { metafileInputs } from '../util/metafile.js';
import { statSignature, type ReadLog } from '../util/read-log.js';
import { requireOwn } from '../util/resolve-module.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { configBundleUrl } from './bundle-url.js';
import { ConfigExitError, ConfigTimeoutError, guardedEvaluation, type EvaluationSink } from './guarded-evaluation.js';
import { CONFIG_FILE_NAMES, displayPath, findConfigFile } from './find.js';
import { buildConfigSchema, type BuildConfig } from './schema.js';
import { isPlainObject, validateConfig } from './validate.js';

// The entry keeps the names importers know; finding and validating live beside it.
export { CONFIG_FILE_NAMES, findConfigFile } from './find.js';
export { closestName, fieldPath, validateConfig } from './validate.js';

/**
 * Finding, evaluating and validating `build.config.*`.
 *
 * Under Node a TypeScript/JS config is bundled by esbuild in memory and imported
 * from a `data:` URL: measured fastest cold (bench/config-loaders.mjs), needs no
 * disk cache, leaves no file behind, and gives structured syntax-error locations.
 * Under Bun the file is imported natively. Either way the value is validated by
 * the zod schema and every problem becomes one `file: field: message` issue.
 *
 * What an evaluation read — every file the bundle loaded (of any type: a JSON
 * import counts), the env vars the config asked for (guarded-evaluation.ts) —
 * is logged in the run's read log, so the CLI's no-op replay checks exactly
 * those; what cannot be known (code loaded from node_modules at run time, the
 * clock) makes the run unrecordable instead.
 */


export interface LoadedPackageConfig {
  config: BuildConfig;
  /** Absolute path of the config file, or null when the package has none (schema defaults apply). */
  file: string | null;
}

export async function loadPackageConfig(pkg: PackageInfo, reads: ReadLog): Promise<LoadedPackageConfig> {
  const file = findConfigFile(pkg.dir, reads, pkg.name);
  if (file === null) return { config: buildConfigSchema.parse({}), file: null };
  return { config: await loadConfigFile(file, pkg, reads), file };
}

// ---------------------------------------------------------------------------
// Memoization: one evaluation per version of everything it read, per process.

/** What one evaluation read, to log in each run that uses its result and to know when it is stale. */
interface Evaluation extends EvaluationSink {
  /** Absolute paths of the files it read (the config and everything its bundle loaded) → their stat signature then. */
  files: Map<string, string>;
  /** Env values it read, when it finished (undefined = unset). */
  envValues: Map<string, string | undefined>;
  /** The read logs of the runs that used it: a late env read makes each of them unrecordable. */
  consumers: Set<ReadLog>;
}

function newEvaluation(): Evaluation {
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


/** True while every file and env var the evaluation read is as it was. */
function stillValid(evaluation: Evaluation): boolean {
  for (const [file, signature] of evaluation.files) {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st || statSignature(st) !== signature) return false;
  }
  for (const [name, value] of evaluation.envValues) if (process.env[name] !== value) return false;
  return true;
}

interface MemoEntry {
  done: boolean;
  evaluation: Evaluation;
  config: Promise<BuildConfig>;
}
const memo = new Map<string, MemoEntry>();

/** Forgets every loaded config (watch mode, tests). */
export function clearConfigCache(): void {
  memo.clear();
  sharedByText.clear();
}

/**
 * Loads and validates one config file. A run asks for the same package's config
 * several times (list, build, clean, dependants); a config is a program with
 * possible side effects and costs a bundle, so it is evaluated once while
 * nothing it read changed (every file its bundle loaded, by size, mtime, ctime
 * and inode; every env var it read). Concurrent callers share one evaluation.
 * What it read is logged in `reads` for every caller, cached or not.
 */
export async function loadConfigFile(file: string, pkg: PackageInfo, reads: ReadLog): Promise<BuildConfig> {
  const abs = path.resolve(file);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch (e) {
    const issue: ErrorIssue = { package: pkg.name, file: displayPath(abs), message: `cannot read the config file (${(e as Error).message})` };
    throw new BuildSystemError('CONFIG_LOAD', issue.message, { ...issue, issues: [issue], cause: e });
  }
  let entry = memo.get(abs);
  if (!entry || (entry.done && !stillValid(entry.evaluation))) {
    const evaluation = newEvaluation();
    const config = evaluateAndValidate(abs, pkg, st, evaluation);
    const created: MemoEntry = { done: false, evaluation, config };
    entry = created;
    memo.set(abs, created);
    config.then(
      () => {
        created.done = true;
      },
      // A failure is not remembered: the user fixes the file and a watcher asks again.
      () => {
        if (memo.get(abs) === created) memo.delete(abs);
      },
    );
  }
  const { evaluation } = entry;
  try {
    return await entry.config;
  } finally {
    await logEvaluation(evaluation, reads);
  }
}

/** Logs what an evaluation read in a run's read log (hashed, so a file changed moments ago is still checked by content). */
async function logEvaluation(evaluation: Evaluation, reads: ReadLog): Promise<void> {
  evaluation.consumers.add(reads);
  if (evaluation.refused) reads.refuse(evaluation.refused);
  for (const name of evaluation.env) reads.noteEnv(name);
  await Promise.all(
    [...evaluation.files.keys()].map((f) =>
      reads.hash(f).catch(() => {
        reads.refuse(`${f}, read by a config, cannot be read now`);
      }),
    ),
  );
}

async function evaluateAndValidate(file: string, pkg: PackageInfo, st: Stats, evaluation: Evaluation): Promise<BuildConfig> {
  let value: unknown;
  if (file.endsWith('.json')) {
    evaluation.files.set(file, statSignature(st));
    value = await readJsonConfig(file, pkg);
  } else if (bunRuntime()) value = await importWithBun(file, pkg, st.mtimeMs, evaluation);
  else value = await importSharedOrEsbuild(file, pkg, st, evaluation);
  for (const name of evaluation.env) evaluation.envValues.set(name, process.env[name]);
  return validateConfig(value, file, pkg);
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

interface SharedEvaluation {
  value: unknown;
  env: ReadonlySet<string>;
  envValues: ReadonlyMap<string, string | undefined>;
}

/** Text key → the first evaluation of that text (null: it cannot be shared). */
const sharedByText = new Map<string, Promise<SharedEvaluation | null>>();

async function importSharedOrEsbuild(file: string, pkg: PackageInfo, st: Stats, evaluation: Evaluation): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return importWithEsbuild(file, pkg, evaluation);
  }
  if (FILE_DEPENDENT.test(text)) return importWithEsbuild(file, pkg, evaluation);
  // The extension decides the loader and whether esbuild reads the file as CommonJS; process.cwd() is one thing a config may read.
  const key = `${process.cwd()}\0${path.extname(file)}\0${text}`;
  const first = sharedByText.get(key);
  if (first) {
    const shared = await first.catch(() => null);
    if (shared && [...shared.envValues].every(([name, value]) => process.env[name] === value)) {
      evaluation.files.set(file, statSignature(st));
      for (const name of shared.env) evaluation.env.add(name);
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
      if (!shared && sharedByText.get(key) === sharing) sharedByText.delete(key);
    },
    () => {
      if (sharedByText.get(key) === sharing) sharedByText.delete(key);
    },
  );
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

function copyPlainData(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyPlainData);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copyPlainData(x)]));
  return v;
}

// ---------------------------------------------------------------------------
// Validation: zod issues → one readable line per problem.


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

function syntaxError(issues: ErrorIssue[], pkg: PackageInfo, cause?: unknown): BuildSystemError {
  const first = issues[0]!;
  return new BuildSystemError('CONFIG_SYNTAX', first.message, { package: pkg.name, file: first.file, line: first.line, column: first.column, issues, cause });
}

// ---------------------------------------------------------------------------
// esbuild: bundle in memory, import from a data: URL.

type Esbuild = typeof import('esbuild');
let esbuildModule: Promise<Esbuild> | undefined;
/** Loaded on first use: a package without a TS/JS config never pays for it. */
function loadEsbuild(): Promise<Esbuild> {
  // build-system's own esbuild, required (not imported: see requireOwn). The esbuild adapter uses
  // this same instance when the package's esbuild is the same version: one service process per run.
  esbuildModule ??= Promise.resolve().then(() => requireOwn('esbuild') as Esbuild);
  return esbuildModule;
}

/** Namespace of the stand-in for `import ... from 'build-system'` inside configs. */
const API_NAMESPACE = 'build-system-config-api';
/**
 * A config imports `defineConfig` for its types; at runtime it is the identity. Serving
 * it from here means a package needs no `build-system` in its own node_modules (fixtures
 * in temp dirs, global installs, npx) and its config never loads a second copy of us.
 */
const API_SOURCE = 'export function defineConfig(config) {\n  return config;\n}\n';

const TS_SOURCE = /\.(c|m)?tsx?$/;
/** Identifiers whose value depends on the file they are written in. */
const FILE_DEPENDENT = /import\s*\.\s*meta|__dirname|__filename/;
/** Per-file holder the defines below point at; declared by a prefix on the file's first line. */
const META = '__build_system_meta';

let bundleCounter = 0;

interface BundleFileInfo {
  /** UTF-16 length of the text prepended to line 1 (0 when none). */
  prefix: number;
}

function loaderFor(file: string): 'ts' | 'tsx' | 'js' | 'jsx' {
  if (file.endsWith('x')) return TS_SOURCE.test(file) ? 'tsx' : 'jsx';
  return TS_SOURCE.test(file) ? 'ts' : 'js';
}

/**
 * What may make a config evaluate differently with the same files and env
 * vars: the clock, chance, the file system, code loaded at run time, process
 * state other than what the no-op record is keyed on. A config (or a file it
 * imports) that mentions any of them is not recorded for no-op replay
 * (cache/noop): such runs always evaluate it. Matching text, comments
 * included, errs on the safe side. `process.env` is not among them: reads of
 * it are tracked (guarded-evaluation.ts); neither are process.platform, arch,
 * version(s) and cwd(), which the record's key holds.
 */
const ENVIRONMENT_DEPENDENT =
  /\bprocess\b(?!\s*\.\s*(?:env|platform|arch|versions?)\b|\s*\.\s*cwd\s*\(\s*\))|\b(?:globalThis|global|require|Date|Math\s*\.\s*random|Bun|Deno|eval|Function|fetch|performance|crypto|__dirname|__filename)\b|\bimport\s*[.(]/;

function checkConfigSource(file: string, text: string, evaluation: Evaluation): void {
  const found = ENVIRONMENT_DEPENDENT.exec(text);
  if (found) evaluation.refused ??= `${displayPath(file)} uses ${found[0].trim()}, which a no-op record cannot watch`;
}

function configPlugin(files: Map<string, BundleFileInfo>, evaluation: Evaluation): Plugin {
  return {
    name: 'build-system-config',
    setup(build) {
      build.onResolve({ filter: /^build-system$/ }, () => ({ path: 'build-system', namespace: API_NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: API_NAMESPACE }, () => ({ contents: API_SOURCE, loader: 'js' }));

      // Bare specifiers: a data: module cannot resolve them itself, so each becomes the
      // absolute URL Node would have found from the importing file. What Node can load
      // (JS, JSON) stays external: dependencies run as installed, not re-bundled.
      // TypeScript reached through a bare name (tsconfig paths, TS-source workspace
      // packages) is bundled, since Node cannot import it.
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'build-system-inner' || path.isAbsolute(args.path)) return undefined;
        if (args.path.startsWith('node:') || isBuiltin(args.path)) {
          evaluation.refused ??= `the config imports ${args.path}`;
          return { path: args.path, external: true };
        }
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'build-system-inner',
        });
        // Not found: let esbuild's own resolver fail and report it at the import's location.
        if (found.errors.length > 0 || found.external || !path.isAbsolute(found.path)) return undefined;
        if (TS_SOURCE.test(found.path)) return { path: found.path };
        // Code that runs as installed is not a file we can watch for a no-op record.
        evaluation.refused ??= `the config imports ${args.path}`;
        const requireLike = args.kind === 'require-call' || args.kind === 'require-resolve';
        return { path: requireLike ? found.path : pathToFileURL(found.path).href, external: true };
      });

      // import.meta.url, __dirname and __filename must name the original file, not the
      // data: URL. A prefix on line 1 (so every other line keeps its number) defines
      // them per file; the `define`s below point the identifiers at it.
      build.onLoad({ filter: /\.(c|m)?[jt]sx?$/ }, (args) => {
        // A shebang must stay first; as a same-length comment it lets the prefix go in front.
        const text = readFileSync(args.path, 'utf8').replace(/^\uFEFF/, '').replace(/^#!/, '//');
        let prefix = '';
        if (FILE_DEPENDENT.test(text)) {
          const meta = { url: pathToFileURL(args.path).href, filename: args.path, dirname: path.dirname(args.path) };
          prefix = `const ${META} = ${JSON.stringify(meta)};`;
        }
        files.set(args.path, { prefix: prefix.length });
        checkConfigSource(args.path, text, evaluation);
        return { contents: prefix + text, loader: loaderFor(args.path) };
      });
    },
  };
}

function isBuildFailure(e: unknown): e is BuildFailure {
  return typeof e === 'object' && e !== null && Array.isArray((e as BuildFailure).errors);
}

/** esbuild columns count UTF-8 bytes from 0; people and editors count characters from 1. */
function characterColumn(lineText: string, byteColumn: number): number {
  return Buffer.from(lineText, 'utf8').subarray(0, byteColumn).toString('utf8').length + 1;
}

function messageToIssue(m: Message, workDir: string, files: Map<string, BundleFileInfo>, pkg: PackageInfo, fallbackFile: string): ErrorIssue {
  const loc = m.location;
  if (!loc) return { package: pkg.name, file: displayPath(fallbackFile), message: m.text };
  const abs = path.resolve(workDir, loc.file);
  let column = characterColumn(loc.lineText, loc.column);
  const prefix = files.get(abs)?.prefix ?? 0;
  if (loc.line === 1 && prefix > 0) column = Math.max(1, column - prefix);
  return { package: pkg.name, file: displayPath(abs), line: loc.line, column, message: m.text };
}

/** Errors that are about what the file imports rather than how it is written. */
const LOAD_NOT_SYNTAX = /^(Could not resolve|No matching export|No loader is configured|Cannot read|Failed to read)/;

async function importWithEsbuild(file: string, pkg: PackageInfo, evaluation: Evaluation): Promise<unknown> {
  const esbuild = await loadEsbuild();
  const id = ++bundleCounter;
  const workDir = path.dirname(file);
  const files = new Map<string, BundleFileInfo>();
  const configUrl = pathToFileURL(file).href;
  let result: Awaited<ReturnType<Esbuild['build']>>;
  try {
    result = await esbuild.build({
      entryPoints: [file],
      absWorkingDir: workDir,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      // Never written; names the outputs and anchors the source map's relative paths.
      outfile: path.join(workDir, `build.config.bundled-${id}.mjs`),
      sourcemap: 'external',
      sourcesContent: false,
      charset: 'utf8',
      logLevel: 'silent',
      // Its inputs are everything the config read from disk, whatever the loader (a JSON import included).
      metafile: true,
      plugins: [configPlugin(files, evaluation)],
      define: {
        'import.meta.url': `${META}.url`,
        'import.meta.filename': `${META}.filename`,
        'import.meta.dirname': `${META}.dirname`,
        __filename: `${META}.filename`,
        __dirname: `${META}.dirname`,
      },
      // esbuild's require shim uses a `require` in scope; this one resolves from the config's
      // directory (static requires of packages were already made absolute above).
      banner: {
        js: `import { createRequire as __buildSystemCreateRequire } from "node:module";\nconst require = __buildSystemCreateRequire(${JSON.stringify(configUrl)});`,
      },
    });
  } catch (e) {
    if (!isBuildFailure(e) || e.errors.length === 0) throw e;
    const issues = e.errors.map((m) => messageToIssue(m, workDir, files, pkg, file));
    const first = issues[0]!;
    if (LOAD_NOT_SYNTAX.test(first.message)) {
      const hint = /^No matching export in "build-system"/.test(first.message) ? ' (a config gets only defineConfig from build-system)' : '';
      throw new BuildSystemError('CONFIG_LOAD', first.message + hint, {
        package: pkg.name,
        file: first.file,
        line: first.line,
        column: first.column,
        issues: issues.map((i, n) => (n === 0 ? { ...i, message: i.message + hint } : i)),
        cause: e,
      });
    }
    throw syntaxError(issues, pkg, e);
  }

  for (const abs of metafileInputs(workDir, result.metafile?.inputs ?? {})) {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st) evaluation.files.set(abs, statSignature(st));
    else evaluation.refused ??= `${displayPath(abs)}, read by the config, is gone`;
  }

  const outputs = result.outputFiles ?? [];
  const js = outputs.find((f) => f.path.endsWith('.mjs'));
  const map = outputs.find((f) => f.path.endsWith('.map'));
  if (!js) throw new BuildSystemError('INTERNAL', 'esbuild produced no output for the config', { package: pkg.name, file: displayPath(file) });
  // The sourceURL makes stack frames name the config (plain Node); under runtimes that
  // ignore it frames show the data: URL, which carries the same id.
  const sourceUrl = configBundleUrl(file, id);
  const code = `${js.text}\n//# sourceURL=${sourceUrl}\n`;
  const url = `data:text/javascript;build-system-config=${id};base64,${Buffer.from(code, 'utf8').toString('base64')}`;

  let mod: Record<string, unknown>;
  try {
    mod = await guardedEvaluation(() => import(url) as Promise<Record<string, unknown>>, evaluation);
  } catch (e) {
    const mapper = map ? sourceMapper(map.text, path.dirname(js.path), files) : undefined;
    const frame = new RegExp(`(?:${escapeRegExp(sourceUrl)}|data:text/javascript;build-system-config=${id};base64,[A-Za-z0-9+/=]*):(\\d+):(\\d+)`, 'g');
    throw evaluationError(e, file, pkg, (stack) => {
      let first: { file: string; line: number; column: number } | undefined;
      const rewritten = stack.replace(frame, (whole, l: string, c: string) => {
        const orig = mapper?.(Number(l), Number(c));
        if (!orig) return whole;
        first ??= orig;
        return `${orig.file}:${orig.line}:${orig.column}`;
      });
      return { stack: rewritten, location: first };
    });
  }
  return defaultExport(mod);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `export default`, or `module.exports` (also a transpiled `exports.default` with __esModule). */
function defaultExport(mod: Record<string, unknown>): unknown {
  const value = mod.default;
  if (value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true && 'default' in value) {
    return (value as { default: unknown }).default;
  }
  return value;
}

type StackMapper = (stack: string) => { stack: string; location?: { file: string; line: number; column: number } };

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

/** (1-based line, 1-based column in the bundle) → original absolute file, 1-based line and column. */
function sourceMapper(mapText: string, mapDir: string, files: Map<string, BundleFileInfo>) {
  return sourceMapLookup(mapText, mapDir, (abs) => files.get(abs)?.prefix ?? 0);
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

/** Syntax errors of one file as issues (empty when it parses). */
async function esbuildSyntaxIssues(file: string, text: string, loader: 'ts' | 'tsx' | 'js' | 'jsx' | 'json', pkg: PackageInfo): Promise<ErrorIssue[]> {
  const esbuild = await loadEsbuild();
  try {
    await esbuild.transform(text, { loader, sourcefile: file, logLevel: 'silent' });
    return [];
  } catch (e) {
    if (!isBuildFailure(e)) return [];
    return e.errors.map((m) => messageToIssue(m, path.dirname(file), new Map(), pkg, file));
  }
}
