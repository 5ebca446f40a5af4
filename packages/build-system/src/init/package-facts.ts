import path from 'node:path';
import { CONFIG_FILE_NAMES, foreignConfigTool, hasSharedName, isOwnConfigName, OWN_CONFIG_FILE_NAMES, SHARED_CONFIG_FILE_NAMES } from '../config/find.js';
import type { Format } from '../config/schema.js';
import { stripDot, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { parseJsonc, tsconfigChain } from '../util/tsconfig-chain.js';
import { withConfigDir } from '../adapters/tsconfig-layers.js';
import { manifestTargets, type ManifestTarget, type TargetSource } from '../util/manifest-targets.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { publishedManifest, writtenField } from '../workspace/published-manifest.js';

/**
 * What `init` knows about one package before deciding anything: the files its
 * package.json promises (JS, declarations, bins), its build script, the tool
 * config files beside it and its tsconfig files. Read-only; every read goes
 * through the run's read log.
 *
 * The files promised are those of the manifest as published: with pnpm,
 * publishConfig's exports/main/module/types/bin replace the package's own on
 * publish (workspace/published-manifest.ts), and a pnpm workspace often points
 * its own fields at the sources for development. What is published is what the
 * build must write, and what validation checks it against.
 */

export interface DeclaredOutput {
  /** Posix path relative to the package, without `./`. */
  path: string;
  /** Where package.json names it: `exports["./table"].import`, `main`, `bin.demo`. */
  field: string;
  /** The format it is built in: its import/require condition, else .mjs ESM, .cjs CommonJS, .js by the package type. */
  format: Format;
}

export interface PackageFacts {
  pkg: PackageInfo;
  /** JS files package.json names (exports, main, module, bin), in that order. */
  js: DeclaredOutput[];
  /** Declaration files package.json names (types/typings, `types` conditions, .d.ts targets). */
  types: { path: string; field: string }[];
  /** `bin` targets. */
  bins: string[];
  /** build-system config files already in the package (file names), e.g. ['build.config.ts']; not another tool's (foreignConfigs). */
  existingConfigs: string[];
  /** Short-named configs that are another tool's (unbuild's build.config.ts): left as they are. */
  foreignConfigs: { name: string; tool: string }[];
  /** The file init writes: build-system.config.ts beside another tool's build.config.ts or where an own name is in use, else build.config.ts. */
  configName: string;
  /** `scripts.build` as written, or null. */
  buildScript: string | null;
  /** The package's scripts (for following `npm run x`). */
  scripts: Record<string, string>;
  /** The workspace root's scripts (for following `pnpm -w run x`); empty for the root itself. */
  rootScripts: Record<string, string>;
  /** tsconfig*.json files directly in the package (file names). */
  tsconfigs: string[];
  /** The package.json fields publishConfig replaces on publish (pnpm); js, types and bins are read from those. */
  published: string[];
  /**
   * With `published`: JS output (as in `js`) → the source the package's own field at the same place
   * points at (`exports["./rss"]` is ./src/plugins/rss.ts, publishConfig's ./dist/rss.mjs).
   */
  devSources: Map<string, string>;
}

const JS_FILE = /\.(c|m)?js$/;
const DTS_FILE = /\.d\.(c|m)?ts$/;


function formatOf(file: string, pkg: PackageInfo, conditions: string[]): Format {
  // As resolve.ts reads them: the condition first, then the extension, then the package type.
  if (conditions.includes('import')) return 'esm';
  if (conditions.includes('require')) return 'cjs';
  if (file.endsWith('.mjs')) return 'esm';
  if (file.endsWith('.cjs')) return 'cjs';
  return pkg.type === 'module' ? 'esm' : 'cjs';
}

/** The condition each plain field stands for when reading its format. */
const FIELD_CONDITION: Partial<Record<TargetSource, string>> = { main: 'main', module: 'import', bin: 'bin' };

export function readPackageFacts(pkg: PackageInfo, reads: ReadLog): PackageFacts {
  const { manifest: m, replaced } = publishedManifest(pkg);
  const all = manifestTargets(m).targets;
  const js: DeclaredOutput[] = [];
  const types: { path: string; field: string }[] = [];
  // Exports, main, module and bin, in that order; every leaf, also those Node refuses (validation reports them).
  for (const t of all) {
    const condition = FIELD_CONDITION[t.source];
    if (t.source !== 'exports' && !condition) continue;
    const p = stripDot(t.value);
    if (p.includes('*')) continue;
    const field = writtenField(t.field, replaced);
    if (DTS_FILE.test(p)) types.push({ path: p, field });
    else if (JS_FILE.test(p)) js.push({ path: p, field, format: formatOf(p, pkg, condition ? [condition] : t.conditions) });
  }
  for (const t of all) {
    if ((t.source === 'types' || t.source === 'typings') && DTS_FILE.test(t.value)) types.push({ path: stripDot(t.value), field: writtenField(t.source, replaced) });
  }
  const bins = all.filter((t) => t.source === 'bin').map((t) => stripDot(t.value));

  const listing = reads.list(pkg.dir).map((e) => e.name);
  const configs = CONFIG_FILE_NAMES.filter((n) => listing.includes(n));
  const foreignConfigs = configs.filter(hasSharedName).flatMap((name) => {
    const tool = foreignConfigTool(reads.readText(path.join(pkg.dir, name)) ?? '');
    return tool ? [{ name, tool }] : [];
  });
  const existingConfigs = configs.filter((n) => !foreignConfigs.some((f) => f.name === n));
  const scripts = (m.scripts && typeof m.scripts === 'object' ? m.scripts : {}) as Record<string, string>;
  return {
    pkg,
    js,
    types,
    bins,
    existingConfigs,
    foreignConfigs,
    configName: foreignConfigs.length > 0 || existingConfigs.some(isOwnConfigName) ? OWN_CONFIG_FILE_NAMES[0] : SHARED_CONFIG_FILE_NAMES[0],
    buildScript: typeof scripts.build === 'string' ? scripts.build : null,
    scripts,
    rootScripts: pkg.dir === pkg.workspaceRoot ? {} : scriptsOf(path.join(pkg.workspaceRoot, 'package.json'), reads),
    tsconfigs: listing.filter((n) => /^tsconfig.*\.json$/.test(n)).sort(),
    published: replaced,
    devSources: replaced.length ? developmentSources(pkg, all, replaced, reads) : new Map(),
  };
}

function scriptsOf(manifestFile: string, reads: ReadLog): Record<string, string> {
  try {
    const scripts = (parseJsonc(reads.readText(manifestFile) ?? '{}') as { scripts?: unknown } | null)?.scripts;
    return scripts && typeof scripts === 'object' ? (scripts as Record<string, string>) : {};
  } catch {
    return {};
  }
}

const SOURCE_FILE = /\.(c|m)?[jt]sx?$/;

/** Where a target sits, the same for the package's own field and publishConfig's: the exports subpath, else the field. */
const placeOf = (t: ManifestTarget) => (t.source === 'exports' ? `exports ${t.subpath ?? '.'}` : t.source === 'bin' ? t.field : t.source);

/**
 * The source of each published JS output, read from the package's own field at the same place: pnpm
 * replaces `exports: { "./rss": "./src/plugins/rss.ts" }` by publishConfig's `"./rss": { import:
 * "./dist/rss.mjs" }` on publish, so in the workspace the first is the source the second is built
 * from. Only a file that exists and is not itself a published target counts.
 */
function developmentSources(pkg: PackageInfo, published: ManifestTarget[], replaced: string[], reads: ReadLog): Map<string, string> {
  const publishedPaths = new Set(published.map((t) => stripDot(t.value)));
  const byPlace = new Map<string, string>();
  for (const t of manifestTargets(pkg.manifest).targets) {
    const p = stripDot(t.value);
    if (!replaced.includes(t.source) || byPlace.has(placeOf(t)) || DTS_FILE.test(p) || !SOURCE_FILE.test(p) || publishedPaths.has(p)) continue;
    if (reads.stat(path.join(pkg.dir, p))?.isFile()) byPlace.set(placeOf(t), p);
  }
  const out = new Map<string, string>();
  for (const t of published) {
    const source = byPlace.get(placeOf(t));
    const p = stripDot(t.value);
    if (source && JS_FILE.test(p) && !DTS_FILE.test(p) && !out.has(p)) out.set(p, source);
  }
  return out;
}

/** The compiler options a tsconfig ends up with for the few init reads, with outDir/rootDir made relative to the package. */
export interface TsconfigOptions {
  file: string;
  outDir?: string;
  rootDir?: string;
  declaration?: boolean;
  sourceMap?: boolean;
  emitDeclarationOnly?: boolean;
  noEmit?: boolean;
  /** compilerOptions.target, as written (`ES2020`, `es6`). */
  target?: string;
}

/** Reads a tsconfig and what it extends: the first file of the chain that sets an option decides it. */
export function readTsconfigOptions(pkg: PackageInfo, file: string, reads: ReadLog): TsconfigOptions | undefined {
  const chain = tsconfigChain(file, reads);
  if (!chain.files.includes(file)) return undefined;
  const result: TsconfigOptions = { file };
  const seen = new Set<string>();
  for (const f of chain.files) {
    let options: Record<string, unknown> = {};
    try {
      const json = parseJsonc(reads.readText(f) ?? '{}') as { compilerOptions?: Record<string, unknown> };
      options = json?.compilerOptions ?? {};
    } catch {
      continue;
    }
    for (const key of ['outDir', 'rootDir'] as const) {
      if (seen.has(key) || typeof options[key] !== 'string') continue;
      seen.add(key);
      // `${configDir}` is the directory of the tsconfig tsc is given (`file`), wherever along the chain it is written
      // (typescript-eslint's shared tsconfig.build.json: `"outDir": "${configDir}/dist"`).
      const value = withConfigDir(options[key], path.dirname(file)) as string;
      result[key] = toPosix(path.relative(pkg.dir, path.resolve(path.dirname(f), value)));
    }
    for (const key of ['declaration', 'sourceMap', 'emitDeclarationOnly', 'noEmit'] as const) {
      if (seen.has(key) || typeof options[key] !== 'boolean') continue;
      seen.add(key);
      result[key] = options[key] as boolean;
    }
    if (!seen.has('target') && typeof options.target === 'string') {
      seen.add('target');
      result.target = options.target;
    }
  }
  return result;
}
