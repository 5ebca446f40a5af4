import path from 'node:path';
import { CONFIG_FILE_NAMES } from '../config/load.js';
import type { Format } from '../config/schema.js';
import { stripDot, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { parseJsonc, tsconfigChain } from '../util/tsconfig-chain.js';
import { manifestTargets, type TargetSource } from '../util/manifest-targets.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * What `init` knows about one package before deciding anything: the files its
 * package.json promises (JS, declarations, bins), its build script, the tool
 * config files beside it and its tsconfig files. Read-only; every read goes
 * through the run's read log.
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
  /** Build config files already in the package (file names), e.g. ['build.config.ts']. */
  existingConfigs: string[];
  /** `scripts.build` as written, or null. */
  buildScript: string | null;
  /** The package's scripts (for following `npm run x`). */
  scripts: Record<string, string>;
  /** tsconfig*.json files directly in the package (file names). */
  tsconfigs: string[];
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
  const m = pkg.manifest;
  const all = manifestTargets(m).targets;
  const js: DeclaredOutput[] = [];
  const types: { path: string; field: string }[] = [];
  // Exports, main, module and bin, in that order; every leaf, also those Node refuses (validation reports them).
  for (const t of all) {
    const condition = FIELD_CONDITION[t.source];
    if (t.source !== 'exports' && !condition) continue;
    const p = stripDot(t.value);
    if (p.includes('*')) continue;
    if (DTS_FILE.test(p)) types.push({ path: p, field: t.field });
    else if (JS_FILE.test(p)) js.push({ path: p, field: t.field, format: formatOf(p, pkg, condition ? [condition] : t.conditions) });
  }
  for (const t of all) {
    if ((t.source === 'types' || t.source === 'typings') && DTS_FILE.test(t.value)) types.push({ path: stripDot(t.value), field: t.source });
  }
  const bins = all.filter((t) => t.source === 'bin').map((t) => stripDot(t.value));

  const listing = reads.list(pkg.dir).map((e) => e.name);
  const scripts = (m.scripts && typeof m.scripts === 'object' ? m.scripts : {}) as Record<string, string>;
  return {
    pkg,
    js,
    types,
    bins,
    existingConfigs: CONFIG_FILE_NAMES.filter((n) => listing.includes(n)),
    buildScript: typeof scripts.build === 'string' ? scripts.build : null,
    scripts,
    tsconfigs: listing.filter((n) => /^tsconfig.*\.json$/.test(n)).sort(),
  };
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
      result[key] = toPosix(path.relative(pkg.dir, path.resolve(path.dirname(f), options[key] as string)));
    }
    for (const key of ['declaration', 'sourceMap', 'emitDeclarationOnly', 'noEmit'] as const) {
      if (seen.has(key) || typeof options[key] !== 'boolean') continue;
      seen.add(key);
      result[key] = options[key] as boolean;
    }
  }
  return result;
}
