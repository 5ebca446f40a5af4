import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Esbuild from 'esbuild';
import type { Format } from '../config/schema.js';
import type { Diagnostic } from '../result/schema.js';
import { onInterrupt } from '../util/signals.js';
import { resolveModule } from '../util/resolve-module.js';
import type { ReadLog } from '../util/read-log.js';
import { installCommand, type PackageInfo } from '../workspace/package-info.js';
import { entryGroups } from './entry-groups.js';
import { REQUIRE_BANNER, requireShimNeed, SHIMS } from './esbuild-banners.js';
import { dedupeDiagnostics, diagnosticFile, ensureShebangFirst, failedOutput, JS_FILE, readShebang } from './output.js';
import { discoveryOptions, moduleEntryPoints, unbundledImports } from './unbundled.js';
import { metafileInputs } from '../util/metafile.js';
import { newPluginReads, observeEsbuildPlugins, pluginOutput, type PluginReads } from './plugin-reads.js';
import type { AdapterContext, AdapterOutput, BuilderAdapter, ToolAvailability } from './types.js';

type EsbuildApi = Pick<typeof Esbuild, 'context'> & Partial<Pick<typeof Esbuild, 'stop'>>;

/**
 * esbuild's `cancel()` waits for plugin callbacks that are still running, so a
 * hung plugin would hold an aborted build forever. After this long the build
 * is reported as aborted anyway (the same grace spawnLines gives SIGTERM).
 */
const CANCEL_GRACE_MS = 2000;

const apiByMain = new Map<string, Promise<EsbuildApi>>();

/**
 * One load per esbuild install: each instance starts its own service process.
 * When the package's esbuild is the same version as build-system's own (which
 * evaluated the configs), that instance is used: same version, same output,
 * one process and one module load fewer. Required rather than imported (its
 * main is CommonJS; see requireOwn).
 */
function loadEsbuild(moduleDir: string, version: string, reads: ReadLog): Promise<EsbuildApi> {
  // The directory itself resolves through its package.json `main`, which is
  // how the package's own `import 'esbuild'` would load it.
  let main = createRequire(path.join(moduleDir, 'package.json')).resolve(moduleDir);
  const own = resolveModule('esbuild', [], reads, { includeOwn: true });
  if (own && own.version === version) main = own.main;
  let api = apiByMain.get(main);
  if (!api) {
    api = Promise.resolve().then(() => {
      const mod = createRequire(main)(main) as Record<string, unknown>;
      const candidate = (typeof mod.context === 'function' ? mod : mod.default) as Partial<EsbuildApi> | undefined;
      if (!candidate || typeof candidate.context !== 'function') {
        throw new Error(`${main} does not export esbuild's context() API (esbuild older than 0.17?)`);
      }
      return candidate as EsbuildApi;
    });
    apiByMain.set(main, api);
    // A failed load must not stick: the next build retries.
    api.catch(() => apiByMain.delete(main));
  }
  return api;
}

/** esbuild columns are 0-based UTF-8 byte offsets; diagnostics want 1-based characters. */
function characterColumn(lineText: string, byteColumn: number): number {
  const prefix = Buffer.from(lineText, 'utf8').subarray(0, byteColumn).toString('utf8');
  return prefix.length + 1;
}

function toDiagnostic(pkgDir: string, message: Esbuild.PartialMessage, severity: 'error' | 'warning'): Diagnostic {
  const diagnostic: Diagnostic = {
    severity,
    message: message.pluginName ? `[plugin ${message.pluginName}] ${message.text ?? ''}` : (message.text ?? ''),
  };
  const location = message.location;
  if (location?.file) {
    // Plugin namespaces (virtual modules) are not files on disk: keep their name as is.
    const onDisk = !location.namespace || location.namespace === 'file';
    diagnostic.file = onDisk ? diagnosticFile(pkgDir, location.file) : `${location.namespace}:${location.file}`;
    if (location.line !== undefined) diagnostic.line = location.line;
    if (location.column !== undefined) diagnostic.column = characterColumn(location.lineText ?? '', location.column);
  }
  if (message.id) diagnostic.code = message.id;
  return diagnostic;
}

function isBuildFailure(e: unknown): e is { errors: Esbuild.Message[]; warnings: Esbuild.Message[] } {
  return typeof e === 'object' && e !== null && Array.isArray((e as { errors?: unknown }).errors);
}

interface FormatOutcome {
  ok: boolean;
  aborted: boolean;
  files: string[];
  diagnostics: Diagnostic[];
  /** Files esbuild read (metafile inputs), absolute. */
  reads: string[];
  /** What the config's plugins read on their own (plugin-reads.ts). */
  plugins?: PluginReads;
}

type RebuildOutcome =
  | { kind: 'built'; result: Esbuild.BuildResult }
  | { kind: 'failed'; error: unknown }
  | { kind: 'aborted' };

/** rebuild() that ends when the signal aborts: esbuild is cancelled, and waited for at most CANCEL_GRACE_MS. */
function rebuildUnlessAborted(context: Esbuild.BuildContext, signal: AbortSignal): Promise<RebuildOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: RebuildOutcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (graceTimer) clearTimeout(graceTimer);
      resolve(outcome);
    };
    const onAbort = () => {
      graceTimer = setTimeout(() => finish({ kind: 'aborted' }), CANCEL_GRACE_MS);
      context.cancel().then(
        () => finish({ kind: 'aborted' }),
        () => finish({ kind: 'aborted' }),
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    context.rebuild().then(
      // A build that finished as the abort came in still counts as aborted: the caller asked to stop.
      (result) => finish(signal.aborted ? { kind: 'aborted' } : { kind: 'built', result }),
      (error: unknown) => finish(signal.aborted ? { kind: 'aborted' } : { kind: 'failed', error }),
    );
  });
}

const abortedOutcome = (): FormatOutcome => ({
  ok: false,
  aborted: true,
  files: [],
  diagnostics: [],
  reads: [],
});

/** One esbuild build through a context, so that an abort cancels it; a failure to even start is 'failed'. */
async function run(api: EsbuildApi, options: Esbuild.BuildOptions, signal: AbortSignal): Promise<RebuildOutcome> {
  let context: Esbuild.BuildContext;
  try {
    context = await api.context(options);
  } catch (error) {
    return { kind: 'failed', error };
  }
  if (signal.aborted) {
    void context.dispose().catch(() => {});
    return { kind: 'aborted' };
  }
  const outcome = await rebuildUnlessAborted(context, signal);
  // dispose() also waits for running plugin callbacks: an aborted build does not hold the caller on it.
  if (outcome.kind === 'aborted') void context.dispose().catch(() => {});
  else await context.dispose();
  return outcome;
}

async function buildFormat(api: EsbuildApi, ctx: AdapterContext, format: Format, withRequire = false): Promise<FormatOutcome> {
  const { pkg, config, signal } = ctx;
  const shims = config.shims && config.platform === 'node' ? SHIMS[format] : undefined;
  const bannerLines = [...(withRequire ? [REQUIRE_BANNER] : []), ...(shims ? [shims.banner] : []), ...(config.banner !== undefined ? [config.banner] : [])];
  const banner = bannerLines.length > 0 ? bannerLines.join('\n') : undefined;
  const entryPoints = Object.fromEntries(Object.entries(config.entries).map(([name, source]) => [name, path.resolve(pkg.dir, source)]));
  const options: Esbuild.BuildOptions = {
    entryPoints,
    bundle: true,
    outExtension: { '.js': config.outExtension[format] },
    format,
    platform: config.platform,
    target: config.target,
    sourcemap: config.sourcemap === 'external' ? true : config.sourcemap === 'inline' ? 'inline' : false,
    minify: config.minify,
    define: { ...shims?.define, ...config.define },
    external: config.external,
    logLevel: 'silent',
    ...(banner !== undefined ? { banner: { js: banner } } : {}),
    // Shared chunks (chunk-<hash><ext>, outExtension applies): esbuild splits ESM only.
    ...(format === 'esm' && config.splitting ? { splitting: true, chunkNames: 'chunk-[hash]' } : {}),
    ...(config.adapterOptions.esbuild as Esbuild.BuildOptions | undefined),
    // Not overridable: the adapter reports outputs from the metafile (whose
    // paths are relative to absWorkingDir), and anything written outside the
    // staging dir would escape the atomic swap.
    absWorkingDir: pkg.dir,
    // A format with a directory of its own (config formatDir) is written there.
    outdir: path.join(ctx.outDir, config.formatDir[format]),
    metafile: true,
    write: true,
  };
  const pluginReads = newPluginReads();
  if (options.plugins?.length) options.plugins = observeEsbuildPlugins(options.plugins, pkg.dir, pluginReads);

  if (!config.bundle) {
    // bundle: false (adapters/unbundled.ts): every module the entries reach becomes an entry point of its own.
    const found = await run(api, discoveryOptions(options), signal);
    if (found.kind === 'aborted') return abortedOutcome();
    if (found.kind === 'failed') return { ok: false, aborted: false, files: [], diagnostics: failureDiagnostics(pkg.dir, found.error), reads: [] };
    const { entryPoints, problem } = moduleEntryPoints(pkg.dir, config, found.result.metafile?.inputs ?? {});
    // Fixed in the config (an entry's name), so the diagnostic points there.
    const where = config.configFile ? { file: diagnosticFile(pkg.dir, config.configFile) } : {};
    if (problem) return { ok: false, aborted: false, files: [], diagnostics: [{ severity: 'error', message: problem, ...where }], reads: [] };
    Object.assign(options, { entryPoints, splitting: false, chunkNames: undefined });
    options.plugins = [unbundledImports(entryPoints, config.outExtension[format]), ...(options.plugins ?? [])];
  }
  const outcome = await run(api, options, signal);
  if (outcome.kind === 'aborted') return abortedOutcome();
  if (outcome.kind === 'failed') {
    return { ok: false, aborted: false, files: [], diagnostics: failureDiagnostics(pkg.dir, outcome.error), reads: [] };
  }
  const { result } = outcome;
  const diagnostics = [
    ...result.errors.map((m) => toDiagnostic(pkg.dir, m, 'error')),
    ...result.warnings.map((m) => toDiagnostic(pkg.dir, m, 'warning')),
  ];
  const outputs = result.metafile?.outputs ?? {};
  if (!withRequire && result.errors.length === 0 && format === 'esm' && config.platform === 'node') {
    const need = requireShimNeed(pkg.dir, outputs);
    // Same options and outdir: the second build overwrites the first's files (its names are the same, content hashes aside).
    if (need === 'banner') {
      for (const rel of Object.keys(outputs)) rmSync(path.resolve(pkg.dir, rel), { force: true });
      return buildFormat(api, ctx, format, true);
    }
    if (need === 'conflict') {
      diagnostics.push({ severity: 'warning', message: "the ESM output calls require() through esbuild's stand-in, which throws at run time (a bundled CommonJS module requiring something), and the bundle declares its own top-level require; keep that dependency external, or build it as CommonJS" });
    }
  }
  // Metafile paths are relative to absWorkingDir (the package).
  const files = Object.keys(outputs).map((rel) => path.resolve(pkg.dir, rel));
  fixShebangs(ctx, outputs, banner);
  // A tsconfig named in the options replaces esbuild's own lookup; the metafile does not list it.
  const tsconfig = typeof options.tsconfig === 'string' ? [path.resolve(pkg.dir, options.tsconfig)] : [];
  return {
    ok: result.errors.length === 0,
    aborted: false,
    files,
    diagnostics,
    reads: [...tsconfig, ...metafileInputs(pkg.dir, result.metafile?.inputs ?? {})],
    plugins: pluginReads,
  };
}

function fixShebangs(ctx: AdapterContext, outputs: Esbuild.Metafile['outputs'], banner: string | undefined): void {
  const shebangBySource = new Map<string, string>();
  for (const source of Object.values(ctx.config.entries)) {
    const abs = path.resolve(ctx.pkg.dir, source);
    const shebang = readShebang(abs);
    if (shebang) shebangBySource.set(abs, shebang);
  }
  if (shebangBySource.size === 0) return;
  for (const [rel, output] of Object.entries(outputs)) {
    if (!output.entryPoint || !JS_FILE.test(rel)) continue;
    const shebang = shebangBySource.get(path.resolve(ctx.pkg.dir, output.entryPoint));
    if (shebang) ensureShebangFirst(path.resolve(ctx.pkg.dir, rel), shebang, banner);
  }
}

function failureDiagnostics(pkgDir: string, error: unknown): Diagnostic[] {
  if (isBuildFailure(error)) {
    const list = [...error.errors.map((m) => toDiagnostic(pkgDir, m, 'error')), ...(error.warnings ?? []).map((m) => toDiagnostic(pkgDir, m, 'warning'))];
    if (list.length > 0) return list;
  }
  return [{ severity: 'error', message: `esbuild failed: ${error instanceof Error ? error.message : String(error)}` }];
}

export const esbuildAdapter: BuilderAdapter = {
  name: 'esbuild',

  async check(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability> {
    const found = resolveModule('esbuild', [pkg.dir, pkg.workspaceRoot], reads);
    if (!found) {
      return {
        available: false,
        reason: `esbuild is not installed (looked from ${pkg.dir}, ${pkg.workspaceRoot} and build-system's own dependencies)`,
        installHint: installCommand(pkg, ['esbuild']),
      };
    }
    return { available: true, version: found.version, location: found.dir };
  },

  async build(ctx: AdapterContext): Promise<AdapterOutput> {
    const abortedResult = () => failedOutput('build aborted: esbuild was cancelled');
    if (ctx.signal.aborted) return abortedResult();
    let api: EsbuildApi;
    try {
      api = await loadEsbuild(ctx.tool.location, ctx.tool.version, ctx.reads);
    } catch (error) {
      return failedOutput(`could not load esbuild from ${ctx.tool.location}: ${(error as Error).message}`);
    }
    // Formats share one esbuild service, which runs their builds in parallel. The service writes into
    // staging itself: on Ctrl-C/SIGTERM it is stopped before staging is deleted, or a format still
    // writing would create files (and staging) again after the delete (seen in CI: a staging dir left).
    const stopOnInterrupt = onInterrupt(() => void api.stop?.(), { first: true });
    let outcomes: Awaited<ReturnType<typeof buildFormat>>[];
    try {
      const groups = entryGroups(ctx.config);
      outcomes = await Promise.all(groups.flatMap((config) => config.formats.map((format) => buildFormat(api, { ...ctx, config }, format))));
    } finally {
      stopOnInterrupt();
    }
    if (ctx.signal.aborted || outcomes.some((o) => o.aborted)) return abortedResult();
    const diagnostics = dedupeDiagnostics(outcomes.flatMap((o) => o.diagnostics));
    return {
      ok: outcomes.every((o) => o.ok),
      files: [...new Set(outcomes.flatMap((o) => o.files))],
      diagnostics,
      ...pluginOutput(outcomes.flatMap((o) => (o.plugins ? [o.plugins] : []))),
      reads: [...new Set(outcomes.flatMap((o) => [...o.reads, ...(o.plugins?.files ?? [])]))],
    };
  },
};
