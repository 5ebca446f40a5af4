// Long because: one adapter: rollup's plugin for build-system (esbuild transform, diagnostics, entry heads) is only meaningful together with the config that drives it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Message, TransformOptions } from 'esbuild';
import type { InputOptions, OutputOptions, Plugin, RollupBuild, RollupLog } from 'rollup';
import { commonDir } from '../config/entry-placement.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Format } from '../config/schema.js';
import type { Diagnostic } from '../result/schema.js';
import type { ReadLog } from '../util/read-log.js';
import { isInside, toPosix } from '../util/paths.js';
import { TS_FOR_JS, TsconfigPaths } from './tsconfig-paths.js';
import { importModuleFile, requireOwn, resolveModule, type ResolvedModule } from '../util/resolve-module.js';
import { installCommand, type PackageInfo } from '../workspace/package-info.js';
import { configInvalid } from './config-error.js';
import { diagnosticFile, failedOutput } from './output.js';
import { newPluginReads, observeRollupPlugins, pluginOutput } from './plugin-reads.js';
import type { AdapterContext, AdapterOutput, BuilderAdapter, ToolAvailability } from './types.js';

/** build-system's own esbuild (vendored in the published package: see requireOwn), loaded on the first transform. */
function transform(code: string, options: TransformOptions) {
  return (requireOwn('esbuild') as typeof import('esbuild')).transform(code, options);
}

/**
 * Rollup through its JS API, in-process: one rollup() graph, then one
 * bundle.write() per format into the staging dir.
 *
 * TypeScript plugin: a small own plugin on esbuild's transform API. Why:
 * - esbuild is already a dependency of build-system (the esbuild adapter), so
 *   a package that picks rollup needs nothing beyond rollup + node-resolve;
 *   @rollup/plugin-typescript would need the package's typescript and tslib,
 *   rollup-plugin-esbuild and swc would be new dependencies;
 * - transforms are per file and type-free (like esbuild/bun adapters and
 *   isolatedModules); type checking and .d.ts belong to tsc (dts.ts), which
 *   is where @rollup/plugin-typescript would spend most of its time anyway;
 * - it gives `target` lowering and `define` in the same pass.
 * tsconfig `paths` are resolved by adapters/tsconfig-paths.ts (node-resolve knows
 * node_modules only). What it does not do: follow tsconfig `extends` for the
 * transform (only the package's own tsconfig.json compilerOptions reach esbuild), and it
 * does not convert CommonJS dependencies (no @rollup/plugin-commonjs here):
 * bundled devDependencies must be ESM; runtime dependencies stay external.
 *
 * Cancellation: rollup has no cancel API. The signal is checked before the
 * build, in the plugin's resolveId/transform hooks (so a running graph build
 * stops at the next module) and between formats; a write already started
 * finishes into the staging dir, which the service then discards.
 */

const rollupFormat: Record<Format, 'es' | 'cjs'> = { esm: 'es', cjs: 'cjs' };

const TS_LIKE = /\.(m|c)?tsx?$/;
const SCRIPT = /\.(m|c)?[jt]sx?$/;

type RollupFn = (options: InputOptions) => Promise<RollupBuild>;
type NodeResolveFn = (options?: Record<string, unknown>) => Plugin;

interface RollupTools {
  rollup: ResolvedModule;
  nodeResolve: ResolvedModule;
}

/**
 * The package's own rollup (package, then workspace root), like its own
 * TypeScript: rollup is an optional peer of build-system, so the version that
 * builds the package is the one the package pinned, and a package without it
 * gets the install hint instead of whatever happens to sit beside build-system.
 */
function findTools(pkg: PackageInfo, reads: ReadLog): { tools?: RollupTools; missing: string[] } {
  const rollup = resolveModule('rollup', [pkg.dir, pkg.workspaceRoot], reads, { includeOwn: false });
  const nodeResolve = resolveModule('@rollup/plugin-node-resolve', [pkg.dir, pkg.workspaceRoot], reads, { includeOwn: false });
  const missing = [rollup ? undefined : 'rollup', nodeResolve ? undefined : '@rollup/plugin-node-resolve'].filter((m): m is string => m !== undefined);
  return rollup && nodeResolve ? { tools: { rollup, nodeResolve }, missing } : { missing };
}

async function loadTools(tools: RollupTools): Promise<{ rollup: RollupFn; nodeResolve: NodeResolveFn }> {
  const [r, n] = await Promise.all([importModuleFile(tools.rollup.main), importModuleFile(tools.nodeResolve.main)]);
  const rollup = r.rollup;
  const nodeResolve = n.nodeResolve ?? n.default;
  if (typeof rollup !== 'function') throw new Error(`rollup at ${tools.rollup.dir} has no rollup() export`);
  if (typeof nodeResolve !== 'function') throw new Error(`@rollup/plugin-node-resolve at ${tools.nodeResolve.dir} has no nodeResolve() export`);
  return { rollup: rollup as RollupFn, nodeResolve: nodeResolve as NodeResolveFn };
}

/** Diagnostic paths for rollup module ids (a plugin's \0 prefix and a ?query dropped): relative to the package when inside it. */
function relFile(pkgDir: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  return toPosix(diagnosticFile(pkgDir, file.replace(/^\0/, '').replace(/\?.*$/, '')));
}

/** esbuild messages -> diagnostics. Columns are made 1-based, as tsc prints them (esbuild's are 0-based). */
function esbuildDiagnostics(pkgDir: string, messages: Message[], severity: Diagnostic['severity'], fallbackFile: string): Diagnostic[] {
  return messages.map((m) => ({
    severity,
    message: m.text,
    file: relFile(pkgDir, m.location?.file || fallbackFile),
    line: m.location?.line,
    column: m.location ? m.location.column + 1 : undefined,
    code: m.id || undefined,
  }));
}

/** Rollup logs/errors -> a diagnostic. Rollup's loc.column is 0-based; made 1-based like tsc. */
function rollupDiagnostic(pkgDir: string, log: RollupLog, severity: Diagnostic['severity']): Diagnostic {
  const file = relFile(pkgDir, log.loc?.file ?? log.id);
  const d: Diagnostic = { severity, message: log.message };
  if (file) d.file = file;
  if (log.loc) {
    d.line = log.loc.line;
    d.column = log.loc.column + 1;
  }
  if (log.code) d.code = log.code;
  return d;
}

// In its own module so the scheduler (services/dependency-needs.ts) can use it without loading esbuild.
export { externalTest } from './rollup-external.js';
import { externalTest } from './rollup-external.js';

interface RollupAdapterOptions {
  input: Record<string, unknown>;
  output: Record<string, unknown>;
  plugins: Plugin[];
}

/**
 * adapterOptions.rollup: input options, with `output` merged into every
 * output and `plugins` appended after ours. The keys that would contradict
 * the config (where inputs come from, where and in which format outputs go)
 * are refused with the config field that controls them.
 */
function adapterOptions(pkg: PackageInfo, config: ResolvedConfig): RollupAdapterOptions {
  const raw = { ...(config.adapterOptions.rollup ?? {}) };
  const fail = configInvalid(pkg, config);
  const { output, plugins, ...input } = raw;
  if ('input' in input) fail('adapterOptions.rollup.input', 'set entry in the config instead');
  if (output !== undefined && (typeof output !== 'object' || output === null || Array.isArray(output))) {
    fail('adapterOptions.rollup.output', 'must be one object (merged into the output of every format)');
  }
  const out = { ...((output as Record<string, unknown> | undefined) ?? {}) };
  const controlled: Record<string, string> = { dir: 'outDir', file: 'outDir', format: 'format' };
  for (const [key, field] of Object.entries(controlled)) {
    if (key in out) fail(`adapterOptions.rollup.output.${key}`, `set ${field} in the config instead`);
  }
  if (plugins !== undefined && !Array.isArray(plugins)) fail('adapterOptions.rollup.plugins', 'must be an array of rollup plugins');
  return { input, output: out, plugins: ((plugins as unknown[] | undefined) ?? []).filter(Boolean) as Plugin[] };
}

function readTsconfigRaw(pkgDir: string): string | undefined {
  const file = path.join(pkgDir, 'tsconfig.json');
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function loaderFor(id: string): TransformOptions['loader'] {
  if (/\.(m|c)?ts$/.test(id)) return 'ts';
  if (/\.tsx$/.test(id)) return 'tsx';
  if (/\.jsx$/.test(id)) return 'jsx';
  return 'js';
}

interface PluginState {
  /** tsconfig `paths`, which node-resolve does not read (adapters/tsconfig-paths.ts). */
  paths: TsconfigPaths;
  /** Entry module id -> its shebang line (without newline). */
  shebangs: Map<string, string>;
  /** bundle: false — module id -> its directive prologue ('use client'), which rollup drops and each module's own output gets back. */
  directives: Map<string, string[]> | null;
  /** Every esbuild error of the failing transform, with locations (rollup keeps only one). */
  transformErrors: Diagnostic[];
  warnings: Diagnostic[];
}

class Cancelled extends Error {
  constructor() {
    super('build cancelled');
  }
}

/**
 * Resolves TS-style imports, transforms TS/JS with esbuild, moves shebangs
 * out of the code (re-added as the first output line by headFor) and, when
 * asked, minifies chunks.
 */
function buildSystemPlugin(ctx: AdapterContext, state: PluginState): Plugin {
  const { config, pkg, signal } = ctx;
  const wantMaps = config.sourcemap !== false;
  const tsconfigRaw = readTsconfigRaw(pkg.dir);
  const stop = () => {
    if (signal.aborted) throw new Cancelled();
  };
  return {
    name: 'build-system',
    resolveId(source, importer) {
      stop();
      if (!importer || importer.startsWith('\0')) return null;
      if (!source.startsWith('.')) return state.paths.resolve(source, importer) ?? null;
      const ext = path.extname(source);
      const alternatives = TS_FOR_JS[ext];
      if (!alternatives) return null;
      const asWritten = path.resolve(path.dirname(importer), source);
      if (existsSync(asWritten)) return null;
      const base = asWritten.slice(0, -ext.length);
      for (const alt of alternatives) {
        if (existsSync(base + alt)) return base + alt;
      }
      return null;
    },
    async transform(code, id) {
      stop();
      const file = id.replace(/\?.*$/, '');
      if (id.startsWith('\0') || !SCRIPT.test(file)) return null;
      const options: TransformOptions = {
        loader: loaderFor(file),
        target: config.target,
        define: config.define,
        sourcefile: file,
        sourcemap: wantMaps ? 'external' : false,
        logLevel: 'silent',
      };
      if (TS_LIKE.test(file) && tsconfigRaw !== undefined && isInside(pkg.dir, file)) options.tsconfigRaw = tsconfigRaw;
      let result;
      try {
        result = await transform(code, options);
      } catch (e) {
        const errors = (e as { errors?: Message[] }).errors;
        if (!errors?.length) throw e;
        state.transformErrors.push(...esbuildDiagnostics(pkg.dir, errors, 'error', file));
        const first = errors[0]!;
        return this.error(first.text, first.location ? { line: first.location.line, column: first.location.column } : undefined);
      }
      state.warnings.push(...esbuildDiagnostics(pkg.dir, result.warnings, 'warning', file));
      let out = result.code;
      if (out.startsWith('#!')) {
        // Rollup would place the shebang after the banner (or, before 4.x
        // versions that preserve it, choke on it); keep the line so the map stays valid.
        const eol = out.indexOf('\n');
        state.shebangs.set(id, eol === -1 ? out : out.slice(0, eol));
        out = eol === -1 ? '' : out.slice(eol);
      }
      if (state.directives) {
        const prologue = directivesOf(out);
        if (prologue.length) state.directives.set(id, prologue);
      }
      return { code: out, map: result.map || null };
    },
    async renderChunk(code, chunk) {
      stop();
      if (!config.minify) return null;
      const head = headFor(config, state, chunk);
      const result = await transform(code, {
        loader: 'js',
        minify: true,
        target: config.target,
        sourcefile: chunk.fileName,
        sourcemap: wantMaps ? 'external' : false,
        // esbuild places the banner lines in the sourcemap too, so the shebang can go in here.
        ...(head ? { banner: head } : {}),
        logLevel: 'silent',
      });
      return { code: result.code, map: result.map || null };
    },
  };
}

/**
 * First lines of a chunk: the entry's shebang (always first), then, with bundle: false, its module's
 * directives ('use client' must open the file to mean anything), then config.banner.
 */
function headFor(config: ResolvedConfig, state: PluginState, chunk: { isEntry: boolean; facadeModuleId: string | null }): string {
  const shebang = chunk.isEntry && chunk.facadeModuleId ? state.shebangs.get(chunk.facadeModuleId) : undefined;
  const directives = chunk.facadeModuleId ? state.directives?.get(chunk.facadeModuleId) : undefined;
  return [shebang, ...(directives ?? []), config.banner].filter((s): s is string => s !== undefined && s !== '').join('\n');
}

/** The directive prologue of transformed code ('use client', 'use server'; not 'use strict', which rollup writes per format), each as `"…";`. */
function directivesOf(code: string): string[] {
  const out: string[] = [];
  const re = /^\s*(?:\/\/[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*(['"])([^'"\n]*)\1;?/;
  let rest = code;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    if (m[2] !== 'use strict') out.push(`${JSON.stringify(m[2])};`);
    rest = rest.slice(m[0].length);
  }
  return out;
}

export const rollupAdapter: BuilderAdapter = {
  name: 'rollup',

  async check(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability> {
    const { tools, missing } = findTools(pkg, reads);
    if (!tools) {
      return {
        available: false,
        reason: `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed for ${pkg.name}`,
        installHint: installCommand(pkg, ['rollup', '@rollup/plugin-node-resolve']),
      };
    }
    return { available: true, version: tools.rollup.version, location: tools.rollup.dir };
  },

  async build(ctx: AdapterContext): Promise<AdapterOutput> {
    const { pkg, config, signal } = ctx;
    const user = adapterOptions(pkg, config);
    if (signal.aborted) return { ok: false, files: [], diagnostics: [], reads: null };
    const { tools, missing } = findTools(pkg, ctx.reads);
    if (!tools) {
      return failedOutput(`${missing.join(' and ')} not installed; install with: ${installCommand(pkg, ['rollup', '@rollup/plugin-node-resolve'])}`);
    }
    const { rollup, nodeResolve } = await loadTools(tools);

    const unbundled = config.bundle === false;
    const state: PluginState = { paths: new TsconfigPaths(ctx.reads), shebangs: new Map(), directives: unbundled ? new Map() : null, transformErrors: [], warnings: [] };
    const pluginReads = newPluginReads();
    const input: Record<string, string> = {};
    for (const [name, source] of Object.entries(config.entries)) input[name] = path.resolve(pkg.dir, source);

    const inputOptions: InputOptions = {
      input,
      external: externalTest(config.external),
      plugins: [
        buildSystemPlugin(ctx, state),
        nodeResolve({
          rootDir: pkg.dir,
          extensions: ['.mjs', '.js', '.json', '.node', '.ts', '.tsx', '.mts', '.cts', '.jsx'],
          preferBuiltins: true,
          browser: config.platform === 'browser',
          exportConditions: config.platform === 'node' ? ['node'] : config.platform === 'browser' ? ['browser'] : [],
        }),
        ...observeRollupPlugins(user.plugins, pluginReads),
      ],
      onwarn(warning) {
        // bundle: false puts each module's directives back at the top of its own output (headFor).
        if (unbundled && warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        const d = rollupDiagnostic(pkg.dir, warning, 'warning');
        // Reported as a diagnostic, which the CLI prints; not logged too (each diagnostic once).
        state.warnings.push(d);
      },
      ...user.input,
    };

    let bundle: RollupBuild | undefined;
    const files: string[] = [];
    try {
      bundle = await rollup(inputOptions);
      // bundle: false: every module its own output, named by its path below the package modules' common directory
      // (as the esbuild adapter names them, adapters/unbundled.ts); entries keep their names.
      const preserve = unbundled ? { preserveModules: true, preserveModulesRoot: modulesRoot(pkg.dir, config, bundle.watchFiles) } : {};
      for (const format of config.formats) {
        if (signal.aborted) return { ok: false, files: [], diagnostics: [], reads: null };
        const ext = config.outExtension[format];
        // A format with a directory of its own (config formatDir) is written there.
        const formatOutDir = path.join(ctx.outDir, config.formatDir[format]);
        const outputOptions: OutputOptions = {
          dir: formatOutDir,
          format: rollupFormat[format],
          entryFileNames: `[name]${ext}`,
          ...preserve,
          // The name every adapter gives a shared chunk (cache/build-reads.ts SHARED_CHUNK leaves them out of listings).
          chunkFileNames: `chunk-[hash]${ext}`,
          sourcemap: config.sourcemap === 'inline' ? 'inline' : config.sourcemap === 'external',
          // Same shape as the esbuild adapter's CJS output: exports as properties, `default` included.
          ...(format === 'cjs' ? { exports: 'named' as const } : {}),
          // With minify the head is added after minifying (renderChunk), so comments in it survive.
          ...(config.minify ? {} : { banner: (chunk) => headFor(config, state, chunk) }),
          ...user.output,
          ...(Array.isArray(user.output.plugins) ? { plugins: observeRollupPlugins(user.output.plugins as Plugin[], pluginReads) } : {}),
        };
        const { output } = await bundle.write(outputOptions);
        for (const item of output) {
          const abs = path.resolve(formatOutDir, item.fileName);
          files.push(abs);
          ctx.log('stdout', `${format}: ${toPosix(path.relative(ctx.outDir, abs))}`);
        }
      }
      // watchFiles: every module rollup loaded plus what plugins added with addWatchFile; ids with \0 are virtual.
      const reads = bundle.watchFiles.filter((id) => !id.includes('\0') && path.isAbsolute(id));
      const plugins = pluginOutput([pluginReads]);
      // Where a tsconfig paths target was looked for before the one used (or in vain): adding a file there changes the bundle.
      const absentReads = [...(plugins.absentReads ?? []), ...state.paths.absent];
      return { ok: true, files, diagnostics: [...state.warnings], reads, ...plugins, ...(absentReads.length > 0 ? { absentReads } : {}) };
    } catch (e) {
      if (signal.aborted || e instanceof Cancelled || (e as { cause?: unknown }).cause instanceof Cancelled) {
        return { ok: false, files: [], diagnostics: [], reads: null };
      }
      const diagnostics = state.transformErrors.length > 0 ? [...state.transformErrors] : [rollupDiagnostic(pkg.dir, e as RollupLog, 'error')];
      const frame = (e as RollupLog).frame;
      if (frame) for (const line of frame.split(/\r?\n/)) ctx.log('stderr', line);
      return { ok: false, files, diagnostics: [...diagnostics, ...state.warnings], reads: null };
    } finally {
      await bundle?.close();
    }
  },
};

/** The common directory of the package's own script modules the build loaded (absolute): where bundle: false output names start. */
function modulesRoot(pkgDir: string, config: ResolvedConfig, loaded: readonly string[]): string {
  const outDir = path.resolve(pkgDir, config.outDir);
  const own = loaded.filter((id) => !id.includes('\0') && path.isAbsolute(id) && SCRIPT.test(id) && isInside(pkgDir, id) && !isInside(outDir, id) && !id.split(path.sep).includes('node_modules'));
  return path.resolve(pkgDir, commonDir(own.map((id) => toPosix(path.relative(pkgDir, id)))));
}
