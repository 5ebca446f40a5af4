import { existsSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { InputOptions, Plugin, RollupBuild, RollupLog } from 'rollup';
import { formatPrefix } from '../config/format-dirs.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Format } from '../config/schema.js';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { importModuleFile, resolveModule, type ResolvedModule } from '../util/resolve-module.js';
import { packageOf, typesPackageOf } from '../util/package-name.js';
import { installCommand, type PackageInfo } from '../workspace/package-info.js';
import { pruneEmptyDirs } from './declarations-naming.js';
import { diagnosticFile } from './output.js';
import { externalTest } from './rollup-external.js';
import type { AdapterContext, AdapterOutput, ToolAvailability } from './types.js';

/**
 * `dts: { bundle: true }`: after TypeScript (or the isolated emitter) wrote
 * one declaration per source into staging, each entry's declarations are
 * bundled into one file per entry and format, as tsup and tsdown publish
 * them: `<entry>.d.mts` beside `<entry>.mjs`, `<entry>.d.cts` beside
 * `<entry>.cjs`, `<entry>.d.ts` beside `<entry>.js`. Every bundle inlines
 * relative modules, so its text names no sibling and is the same for every
 * format; it is written once per declaration extension. The per-source files
 * it replaced are removed from staging (with their maps): nothing imports
 * them any more.
 *
 * The bundler is rollup with rollup-plugin-dts, both found in the user's
 * workspace as the rollup adapter finds rollup (the package, then the
 * workspace root; never build-system's own install): rollup-plugin-dts is
 * LGPL-3.0, so it is a tool the user installs, never part of our dist.
 *
 * One rollup graph per entry, not one for all: with several inputs rollup
 * moves what two entries share into a chunk, and a package would publish
 * declaration chunks its exports never name. A type two entries share is
 * repeated in both; TypeScript compares types structurally, so only a class
 * with private members or a unique symbol declared in both could tell.
 *
 * What stays an import: the package's dependencies, peerDependencies and
 * optionalDependencies (and their subpaths), `external`, Node's built-ins.
 * What is inlined: relative modules, and the packages `resolve` names (or,
 * with `resolve: true`, every other package): their declarations are read
 * from where TypeScript's resolution finds them (a workspace package through
 * its node_modules link). Everything else stays an import, as TypeScript
 * wrote it (the package.json validation says when its users cannot resolve it).
 *
 * Declaration maps are dropped: a bundled file's map would point into the
 * per-source files this step deletes, and rollup-plugin-dts's own maps point
 * at the sources only for `.ts` inputs.
 *
 * Reads: every file rollup loaded (bundle.watchFiles: the inlined packages'
 * declarations included) and the tsconfig rollup-plugin-dts looks up from
 * staging, so an edit to an inlined package's types invalidates the entry.
 */

const DECLARATION = /\.d\.(c|m)?ts$/;
const SOURCE_EXTENSION = /\.(c|m)?[jt]sx?$/;
const DTS_PACKAGES = ['rollup', 'rollup-plugin-dts'];

interface DtsBundleTools {
  rollup: ResolvedModule;
  dts: ResolvedModule;
}

function findTools(pkg: PackageInfo, reads: ReadLog): { tools?: DtsBundleTools; missing: string[] } {
  const found = DTS_PACKAGES.map((name) => resolveModule(name, [pkg.dir, pkg.workspaceRoot], reads, { includeOwn: false }));
  const missing = DTS_PACKAGES.filter((_, i) => !found[i]);
  return found[0] && found[1] ? { tools: { rollup: found[0], dts: found[1] }, missing } : { missing };
}

/** Are rollup and rollup-plugin-dts installed for the package? Asked before anything is written (load-config.ts) and for the key (key.ts). */
export function checkDtsBundler(pkg: PackageInfo, reads: ReadLog): ToolAvailability & { dtsVersion?: string } {
  const { tools, missing } = findTools(pkg, reads);
  if (!tools) {
    return {
      available: false,
      reason: `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed for ${pkg.name}`,
      installHint: installCommand(pkg, DTS_PACKAGES),
    };
  }
  return { available: true, version: tools.rollup.version, location: tools.rollup.dir, dtsVersion: tools.dts.version };
}

/**
 * rollup's external test for declarations (see the module comment): true keeps the import. `self`: the
 * package's own name, always kept — a self-reference would otherwise be inlined from its previous outDir.
 */
export function declarationExternal(config: ResolvedConfig, self: string): (id: string, importer: string | undefined, isResolved: boolean) => boolean {
  const kept = externalTest(config.external);
  const builtin = externalTest([]);
  const resolve = config.dtsBundle?.resolve ?? [];
  return (id, _importer, isResolved) => {
    if (isResolved) return false;
    // Built-ins first: `node:fs` names no package (packageOf), and rollup could not resolve it.
    if (builtin(id)) return true;
    const name = packageOf(id);
    if (name === undefined) return false;
    if (name === self) return true;
    // Listed by name: inlined even when it is a dependency (the user asked for it).
    if (resolve !== true && resolve.includes(name)) return false;
    return kept(id) || kept(typesPackageOf(name)) || resolve !== true;
  };
}

/** The nearest tsconfig.json above staging: rollup-plugin-dts reads it (ts.findConfigFile), so it is a read. */
function tsconfigAbove(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, 'tsconfig.json');
    if (existsSync(file)) return file;
    if (path.dirname(d) === d) return undefined;
  }
}

export interface BundleDeclarationsInput {
  ctx: AdapterContext;
  /** The rootDir the declarations were emitted with (absolute): a source's declaration is at its path relative to it. */
  rootDir: string;
  /** The files the emitter wrote into staging (absolute). */
  emitted: string[];
}

/** Bundles each entry's declarations (see the module comment); the result replaces the emitter's files and adds its reads. */
export async function bundleDeclarations(input: BundleDeclarationsInput): Promise<Omit<AdapterOutput, 'reads'> & { reads: string[] }> {
  const { ctx, rootDir, emitted } = input;
  const { pkg, config, outDir } = ctx;
  const diagnostics: Diagnostic[] = [];
  const fail = (message: string) => ({ ok: false, files: [], diagnostics: [...diagnostics, { severity: 'error' as const, message }], reads: [] });
  const { tools, missing } = findTools(pkg, ctx.reads);
  if (!tools) return fail(`dts.bundle needs ${missing.join(' and ')}; install with: ${installCommand(pkg, DTS_PACKAGES)}`);
  let r: Record<string, unknown>, d: Record<string, unknown>;
  try {
    [r, d] = await Promise.all([importModuleFile(tools.rollup.main), importModuleFile(tools.dts.main)]);
  } catch (e) {
    // rollup-plugin-dts loads the workspace's TypeScript when it is imported and throws when that has no compiler API (TypeScript 7 alone).
    return fail(`dts.bundle could not load rollup (${tools.rollup.dir}) or rollup-plugin-dts (${tools.dts.dir}): ${(e as Error).message ?? String(e)}`);
  }
  const rollup = r.rollup as ((options: InputOptions) => Promise<RollupBuild>) | undefined;
  const dts = (d.dts ?? d.default) as ((options: Record<string, unknown>) => Plugin) | undefined;
  if (typeof rollup !== 'function') return fail(`rollup at ${tools.rollup.dir} has no rollup() export`);
  if (typeof dts !== 'function') return fail(`rollup-plugin-dts at ${tools.dts.dir} has no dts() export`);

  const byBase = new Map<string, string>();
  for (const file of emitted) if (DECLARATION.test(file)) byBase.set(toPosix(path.relative(outDir, file)).replace(DECLARATION, ''), file);
  const external = declarationExternal(config, pkg.name);
  // A module in staging is shown where it would have been published (staging's name means nothing to the user).
  const shown = (id: string) => toPosix(isInside(outDir, id) ? path.join(config.outDir, path.relative(outDir, id)) : diagnosticFile(pkg.dir, id));
  const reads = new Set<string>();
  const bundled = new Map<string, string>();
  for (const [entryName, source] of Object.entries(config.entries)) {
    if (ctx.signal.aborted) return fail('build cancelled');
    const sourceAbs = path.resolve(pkg.dir, source);
    const declaration = byBase.get(toPosix(path.relative(rootDir, sourceAbs)).replace(SOURCE_EXTENSION, ''));
    if (!declaration) {
      diagnostics.push({ severity: 'warning', file: toPosix(path.relative(pkg.dir, sourceAbs)), message: `no declaration was emitted for entry ${JSON.stringify(entryName)}, so none is bundled` });
      continue;
    }
    let bundle: RollupBuild | undefined;
    try {
      bundle = await rollup({
        input: { [entryName]: declaration },
        external,
        plugins: [
          dts({
            // Our external test decides what is inlined, not the plugin's "everything in node_modules stays".
            respectExternal: true,
            // Bundler resolution reads `exports` (types/import conditions) and takes specifiers with or without
            // extensions, as either tsconfig style writes them; the plugin's default (node10) reads neither exports.
            // noLib/types: the plugin only parses declarations (no checker), so the default libs need not be loaded.
            // (ts.ModuleResolutionKind.Bundler = 100, ts.ModuleKind.ESNext = 99: numbers, so TypeScript is not loaded here.)
            compilerOptions: { moduleResolution: 100, module: 99, noLib: true, types: [] },
          }),
        ],
        onwarn(log: RollupLog) {
          diagnostics.push({ severity: 'warning', message: `dts.bundle: ${log.message}`, ...(log.id ? { file: shown(log.id) } : {}), ...(log.code ? { code: log.code } : {}) });
        },
      });
      const { output } = await bundle.generate({ format: 'es' });
      if (output.length !== 1) return fail(`dts.bundle: the declarations of entry ${JSON.stringify(entryName)} came out as ${output.length} files; expected one`);
      bundled.set(entryName, output[0].code);
      for (const id of bundle.watchFiles) if (!id.includes('\0') && path.isAbsolute(id) && !isInside(outDir, id)) reads.add(id);
    } catch (e) {
      const log = e as RollupLog;
      diagnostics.push({ severity: 'error', message: `dts.bundle: ${log.message ?? String(e)}`, ...(log.id ? { file: shown(log.id) } : {}) });
      return { ok: false, files: [], diagnostics, reads: [] };
    } finally {
      await bundle?.close();
    }
  }
  const tsconfig = tsconfigAbove(outDir);
  if (tsconfig) reads.add(tsconfig);

  removeEmitted(config, outDir, emitted);
  const files: string[] = [];
  // One per format's directory and declaration extension (formats may share both).
  const places = [
    ...new Set(
      (config.formats as Format[]).flatMap((f) => [config.dtsExtension[f], ...(config.declaredDts?.[f] ? [config.declaredDts[f]] : [])].map((ext) => `${formatPrefix(config.formatDir, f)}\0${ext}`)),
    ),
  ].map((k) => k.split('\0') as [string, string]);
  for (const [entryName, code] of bundled) {
    for (const [dir, ext] of places) {
      const abs = path.join(outDir, `${dir}${entryName}${ext}`);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, code);
      files.push(abs);
    }
  }
  return { ok: true, files: files.sort(), diagnostics, reads: [...reads].sort() };
}

/** The emitter's declarations and maps leave staging, and so do the directories they leave empty (pruneEmptyDirs). */
function removeEmitted(config: ResolvedConfig, outDir: string, emitted: readonly string[]): void {
  const dirs = new Set<string>();
  for (const file of emitted) {
    if (!DECLARATION.test(file) && !(file.endsWith('.map') && DECLARATION.test(file.slice(0, -4)))) continue;
    rmSync(file, { force: true });
    dirs.add(path.dirname(file));
  }
  pruneEmptyDirs(config, outDir, dirs);
}
