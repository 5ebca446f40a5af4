import { readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildFailure, Message, Plugin } from 'esbuild';
import { BuildSystemError, type ErrorIssue } from '../errors.js';
import { metafileInputs } from '../util/metafile.js';
import { statSignature } from '../util/read-log.js';
import { requireOwn } from '../util/resolve-module.js';
import { sourceMapLookup } from '../util/source-map.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { configBundleUrl } from './bundle-url.js';
import { displayPath } from './find.js';

/**
 * Bundling a TypeScript/JS config with esbuild, in memory, into a `data:` URL
 * that evaluate.ts imports: measured fastest cold (bench/config-loaders.mjs),
 * needs no disk cache, leaves no file behind, and gives structured
 * syntax-error locations (also used for JSON and under Bun: esbuildSyntaxIssues).
 *
 * The bundle is where a config's reads become known: every file esbuild loaded
 * (its metafile inputs, of any type) and what no no-op record can watch (a
 * run-time import, the clock, ...) are noted in the evaluation's BundleReads.
 */

/** What bundling notes about an evaluation (evaluate.ts's Evaluation is one). */
export interface BundleReads {
  /** Absolute paths of the files the bundle loaded → their stat signature then. */
  files: Map<string, string>;
  /** Why the evaluation cannot be recorded for no-op replay (the first reason), or null. */
  refused: string | null;
}

/** A bundled config ready to import, and how to point an error's stack back at the user's files. */
export interface ConfigBundle {
  /** A `data:` URL of the bundle. */
  url: string;
  mapStack: StackMapper;
}

export type StackMapper = (stack: string) => { stack: string; location?: { file: string; line: number; column: number } };

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
export const FILE_DEPENDENT = /import\s*\.\s*meta|__dirname|__filename/;
/** Per-file holder the defines below point at; declared by a prefix on the file's first line. */
const META = '__build_system_meta';

let bundleCounter = 0;

interface BundleFileInfo {
  /** UTF-16 length of the text prepended to line 1 (0 when none). */
  prefix: number;
}

export function loaderFor(file: string): 'ts' | 'tsx' | 'js' | 'jsx' {
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

function checkConfigSource(file: string, text: string, evaluation: BundleReads): void {
  const found = ENVIRONMENT_DEPENDENT.exec(text);
  if (!found) return;
  // The pattern stops at `import.` / `import(`: named in full.
  const what = /^import\s*\./.test(found[0]) ? 'import.meta' : /^import\s*\(/.test(found[0]) ? 'import()' : found[0].trim();
  evaluation.refused ??= `${displayPath(file)} uses ${what}, which a no-op record cannot watch`;
}

function configPlugin(files: Map<string, BundleFileInfo>, evaluation: BundleReads): Plugin {
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

/** Bundles the config at `file`; a syntax error or an import that cannot be resolved throws here, before any of it runs. */
export async function bundleConfig(file: string, pkg: PackageInfo, evaluation: BundleReads): Promise<ConfigBundle> {
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
  const frame = new RegExp(`(?:${escapeRegExp(sourceUrl)}|data:text/javascript;build-system-config=${id};base64,[A-Za-z0-9+/=]*):(\\d+):(\\d+)`, 'g');
  const mapStack: StackMapper = (stack) => {
    // Made only when an evaluation failed: most configs never need their source map.
    const mapper = map ? sourceMapper(map.text, path.dirname(js.path), files) : undefined;
    let first: { file: string; line: number; column: number } | undefined;
    const rewritten = stack.replace(frame, (whole, l: string, c: string) => {
      const orig = mapper?.(Number(l), Number(c));
      if (!orig) return whole;
      first ??= orig;
      return `${orig.file}:${orig.line}:${orig.column}`;
    });
    return { stack: rewritten, location: first };
  };
  return { url, mapStack };
}

/** A CONFIG_SYNTAX error carrying every issue, the first as its location. */
export function syntaxError(issues: ErrorIssue[], pkg: PackageInfo, cause?: unknown): BuildSystemError {
  const first = issues[0]!;
  return new BuildSystemError('CONFIG_SYNTAX', first.message, { package: pkg.name, file: first.file, line: first.line, column: first.column, issues, cause });
}

/** Syntax errors of one file as issues (empty when it parses). */
export async function esbuildSyntaxIssues(file: string, text: string, loader: 'ts' | 'tsx' | 'js' | 'jsx' | 'json', pkg: PackageInfo): Promise<ErrorIssue[]> {
  const esbuild = await loadEsbuild();
  try {
    await esbuild.transform(text, { loader, sourcefile: file, logLevel: 'silent' });
    return [];
  } catch (e) {
    if (!isBuildFailure(e)) return [];
    return e.errors.map((m) => messageToIssue(m, path.dirname(file), new Map(), pkg, file));
  }
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** (1-based line, 1-based column in the bundle) → original absolute file, 1-based line and column. */
function sourceMapper(mapText: string, mapDir: string, files: Map<string, BundleFileInfo>) {
  return sourceMapLookup(mapText, mapDir, (abs) => files.get(abs)?.prefix ?? 0);
}
