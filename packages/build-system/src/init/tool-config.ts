import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { guardedEvaluation, type EvaluationSink } from '../config/guarded-evaluation.js';
import { BuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { requireOwn } from '../util/resolve-module.js';
import { parseJsonc } from '../util/tsconfig-chain.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * A package's tsup or tsdown config, evaluated without tsup or tsdown
 * installed: the file is bundled by esbuild in memory with `tsup`/`tsdown`
 * resolved to a stand-in whose `defineConfig` returns its argument, then
 * imported through the same guarded evaluation as build configs (process.exit
 * throws, a hang times out). Packages the config imports run as installed; one
 * that is not installed becomes a placeholder whose values `init` reports as
 * not reproduced. A config that exports a function is called with `{}` (tsup
 * passes its CLI flags there; `init` reads the config as a plain build).
 */

export type ToolName = 'tsup' | 'tsdown';

export interface ToolConfig {
  tool: ToolName;
  /** Posix path relative to the package (`package.json#tsup` for tsup's package.json key). */
  file: string;
  /** The exported value (an options object or an array of them). */
  value: unknown;
  /** Bare imports that were not installed and became placeholders. */
  placeholders: string[];
  /** Every file the value came from, relative to the package, when it is not `file` alone (a tsdown workspace root config). */
  files?: string[];
  /** Where an option's value came from, when not all from `file` (for the comment above its field). */
  origin?: (option: string) => string;
}

const EXTENSIONS = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs', 'json'];

/** Marks a value that came from a package the config imports but that is not installed. */
export const PLACEHOLDER = Symbol.for('build-system.init.placeholder');

/** The tool config file of a package, tsup first (tsup.config.*, then package.json `tsup`), then tsdown (likewise). */
export function findToolConfig(pkg: PackageInfo, reads: ReadLog): { tool: ToolName; file: string } | undefined {
  return findConfigOf('tsup', pkg, reads) ?? findConfigOf('tsdown', pkg, reads);
}

/** One tool's config in a directory, looked up in the tool's order: `<tool>.config.<ext>` by EXTENSIONS, then package.json's `<tool>` key. */
export function findConfigOf(tool: ToolName, pkg: Pick<PackageInfo, 'dir' | 'manifest'>, reads: ReadLog): { tool: ToolName; file: string } | undefined {
  for (const ext of EXTENSIONS) {
    const file = path.join(pkg.dir, `${tool}.config.${ext}`);
    if (reads.stat(file)?.isFile()) return { tool, file };
  }
  const key = pkg.manifest[tool];
  if (key && typeof key === 'object') return { tool, file: path.join(pkg.dir, 'package.json') };
  return undefined;
}

/**
 * `context` is the second argument a config that exports a function is called with (tsdown passes
 * `{ ci, rootConfig }`; tsup passes none).
 */
export async function readToolConfig(pkg: PackageInfo, found: { tool: ToolName; file: string }, reads: ReadLog, context?: object): Promise<ToolConfig> {
  const rel = toPosix(path.relative(pkg.dir, found.file));
  if (path.basename(found.file) === 'package.json') return { tool: found.tool, file: `package.json#${found.tool}`, value: pkg.manifest[found.tool], placeholders: [] };
  if (found.file.endsWith('.json')) {
    try {
      return { tool: found.tool, file: rel, value: parseJsonc(reads.readText(found.file) ?? ''), placeholders: [] };
    } catch (e) {
      throw new BuildSystemError('CONFIG_SYNTAX', `cannot parse the ${found.tool} config: ${(e as Error).message}`, { package: pkg.name, file: rel });
    }
  }
  reads.readText(found.file);
  const placeholders: string[] = [];
  const esbuild = requireOwn('esbuild') as typeof import('esbuild');
  let code: string;
  try {
    const result = await esbuild.build({
      entryPoints: [found.file],
      absWorkingDir: pkg.dir,
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      outfile: path.join(pkg.dir, `${found.tool}.config.bundled.mjs`),
      logLevel: 'silent',
      plugins: [standIns(placeholders)],
      banner: { js: `import { createRequire as __bsInitRequire } from "node:module";\nconst require = __bsInitRequire(${JSON.stringify(pathToFileURL(found.file).href)});` },
    });
    code = result.outputFiles[0]!.text;
  } catch (e) {
    const first = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    const where = first?.location ? { file: first.location.file, line: first.location.line, column: first.location.column + 1 } : { file: rel };
    throw new BuildSystemError('CONFIG_SYNTAX', `cannot bundle the ${found.tool} config: ${first?.text ?? (e as Error).message}`, { package: pkg.name, ...where });
  }
  const sink: EvaluationSink = { env: new Set(), refused: null, late() {} };
  const url = `data:text/javascript;base64,${Buffer.from(code, 'utf8').toString('base64')}`;
  let mod: Record<string, unknown>;
  try {
    mod = await guardedEvaluation(() => import(url) as Promise<Record<string, unknown>>, sink);
  } catch (e) {
    throw new BuildSystemError('CONFIG_LOAD', `the ${found.tool} config threw ${(e as Error)?.message ?? String(e)}`, { package: pkg.name, file: rel, cause: e });
  }
  let value = mod.default;
  if (value && typeof value === 'object' && (value as { __esModule?: unknown }).__esModule === true && 'default' in value) value = (value as { default: unknown }).default;
  if (typeof value === 'function') {
    try {
      value = await guardedEvaluation(async () => (value as (o: object, c?: object) => unknown)({}, context), sink);
    } catch (e) {
      throw new BuildSystemError('CONFIG_LOAD', `the function the ${found.tool} config exports threw ${(e as Error)?.message ?? String(e)}`, { package: pkg.name, file: rel, cause: e });
    }
  }
  return { tool: found.tool, file: rel, value, placeholders };
}

/** A function standing for any value of a package that is not installed: calling it gives a marked object naming the call. */
const STUB_SOURCE = `
const mark = Symbol.for('build-system.init.placeholder');
export function stub(name) {
  return new Proxy(function () {}, {
    get(_t, key) {
      if (key === mark) return name;
      if (typeof key === 'symbol' || key === 'then') return undefined;
      return stub(name + '.' + key);
    },
    apply() { return { [mark]: name + '()' }; },
    construct() { return { [mark]: 'new ' + name + '()' }; },
  });
}
`;

/** The names `importer` imports from `specifier` with `import { a, b as c } from '…'` (a default import needs none). */
function importedNames(importer: string, specifier: string): string[] {
  let text = '';
  try {
    text = readFileSync(importer, 'utf8');
  } catch {
    return [];
  }
  const quoted = specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const re = new RegExp(`import\\s+(?:type\\s+)?(?:[\\w$]+\\s*,\\s*)?\\{([^}]*)\\}\\s*from\\s*['"]${quoted}['"]`, 'g');
  const named = new Set<string>();
  for (const m of text.matchAll(re)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!.trim();
      if (/^[\w$]+$/.test(name) && name !== 'default') named.add(name);
    }
  }
  return [...named];
}

function placeholderModule(specifier: string, importer: string): string {
  const named = importedNames(importer, specifier);
  const lines = [STUB_SOURCE, `export default stub(${JSON.stringify(specifier)});`];
  for (const name of named) lines.push(`export const ${name} = stub(${JSON.stringify(`${specifier}.${name}`)});`);
  return lines.join('\n');
}

function standIns(placeholders: string[]): Plugin {
  return {
    name: 'build-system-init',
    setup(build) {
      build.onResolve({ filter: /^(tsup|tsdown)$/ }, (args) => ({ path: args.path, namespace: 'tool-stand-in' }));
      build.onLoad({ filter: /.*/, namespace: 'tool-stand-in' }, () => ({
        contents: 'export function defineConfig(config) { return config; }\nexport default { defineConfig };\n',
        loader: 'js',
      }));
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'inner' || path.isAbsolute(args.path)) return undefined;
        if (args.path.startsWith('node:') || isBuiltin(args.path)) return { path: args.path, external: true };
        const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'inner' });
        if (found.errors.length > 0 || !path.isAbsolute(found.path)) {
          if (!placeholders.includes(args.path)) placeholders.push(args.path);
          return { path: args.path, namespace: 'not-installed', pluginData: args.importer };
        }
        if (/\.(c|m)?tsx?$/.test(found.path)) return { path: found.path };
        // Installed code runs as installed (a data: module cannot resolve bare names itself).
        return { path: args.kind === 'require-call' ? found.path : pathToFileURL(found.path).href, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: 'not-installed' }, (args) => ({
        contents: placeholderModule(args.path, args.pluginData as string),
        loader: 'js',
      }));
      // import.meta.url, __dirname and __filename name the file they are written in, not the data: URL.
      build.onLoad({ filter: /\.(c|m)?[jt]sx?$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8').replace(/^#!/, '//');
        const meta = { url: pathToFileURL(args.path).href, dirname: path.dirname(args.path), filename: args.path };
        const prefix = /import\s*\.\s*meta|__dirname|__filename/.test(text)
          ? `const __bsMeta = ${JSON.stringify(meta)}; const __dirname = __bsMeta.dirname, __filename = __bsMeta.filename;`
          : '';
        const contents = prefix + text.replace(/import\s*\.\s*meta\s*\.\s*(url|dirname|filename)/g, '__bsMeta.$1');
        return { contents, loader: /\.(c|m)?tsx?$/.test(args.path) ? (args.path.endsWith('x') ? 'tsx' : 'ts') : args.path.endsWith('x') ? 'jsx' : 'js' };
      });
    },
  };
}

/** The name a placeholder value stands for, or undefined for a real value. */
export function placeholderName(value: unknown): string | undefined {
  if ((typeof value === 'object' || typeof value === 'function') && value !== null) {
    const name = (value as Record<symbol, unknown>)[PLACEHOLDER];
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}
