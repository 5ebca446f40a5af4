import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import picomatch from 'picomatch';
import type { ResolvedConfig } from '../config/resolve.js';
import { ISOLATED_EMITTER_MISSING } from '../result/run-hints.js';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { ResolvedModule } from '../util/resolve-module.js';
import { rootInstallCommand, type PackageInfo } from '../workspace/package-info.js';
import { namesDirectory } from './declarations-program.js';
import { findIsolatedEmitter } from './declaration-tools.js';
import { locateTsconfig, tscOptions } from './tsc-project.js';
import { extendsChain, withConfigDir } from './tsconfig-layers.js';
import type { AdapterOutput } from './types.js';

/**
 * Declarations without a TypeScript program, for packages whose tsconfig sets
 * `isolatedDeclarations: true` (issue 14). That option makes TypeScript
 * itself guarantee that every file's declarations follow from that file
 * alone (exported functions have return types, exported consts annotated
 * types…), so a per-file emitter needs no checker: oxc-transform's
 * isolatedDeclaration takes ~1 ms a file where a TypeScript 5 program for a
 * 20-file package costs seconds (load, libs, full check).
 *
 * What it does not do: type-check. A type error inside a function body is
 * not reported by `dts: true` on this path (the declarations do not depend
 * on it); a declaration the file alone cannot give (a missing return type)
 * is an error, as TypeScript's TS9007-style errors are.
 *
 * Taken only where its output is TypeScript's (modulo formatting: tabs,
 * double quotes) and the file set is knowable without TypeScript; anything
 * else returns null and the caller runs TypeScript as before:
 * - the package's own tsconfig (no adapterOptions.tsc but `args:
 *   ['--declarationMap']`, no config include/exclude, no entries from
 *   outside the package);
 * - declarationMap (the tsconfig's, or that flag: init writes it for
 *   tsdown's `dts.sourcemap`) gives each declaration oxc's map, as
 *   TypeScript writes its own: `file`, `sources` relative to the
 *   declaration, a sourceMappingURL comment; declarations-naming.ts then
 *   renames them with their declaration;
 * - no removeComments, allowJs, outFile, or options that rewrite import
 *   extensions (`${configDir}` in files/include/exclude is the package
 *   tsconfig's directory, as for tsc);
 * - the files are the entries and the included sources they import, found
 *   by their relative specifiers, as TypeScript's program for declarations
 *   after a bundler is (declarations-program.ts: not tests the tsconfig
 *   includes), all inside the package; one outside the declarations' rootDir
 *   widens it (returned), as dts.ts does for TypeScript;
 * - every relative specifier in the emitted declarations resolves to one of
 *   the emitted sources (a file only imported, not included, is TypeScript's
 *   to find).
 * oxc-transform is the package's own (installed in it or at the workspace
 * root, like TypeScript); without it TypeScript runs. Its version is in the
 * fingerprint (`declarations.isolated`).
 */

/** tsconfig options under which this path's output would differ from TypeScript's, or which it cannot follow. */
const UNSUPPORTED_OPTIONS = ['removeComments', 'allowJs', 'outFile', 'out', 'allowImportingTsExtensions', 'rewriteRelativeImportExtensions'] as const;

const SOURCE = /\.(ts|tsx|mts|cts)$/;
const DECLARATION_SOURCE = /\.d\.([^/]+\.)?(ts|mts|cts)$/;

export interface IsolatedPlan {
  /** The package's oxc-transform. */
  emitter: ResolvedModule;
  /** The package's tsconfig (reported as read; the cache follows its chain). */
  tsconfig: string;
  /** The entries (absolute): what is emitted is them and the sources they import, as TypeScript's program would be. */
  entries: string[];
  /** Absolute source files the tsconfig includes (the ones that can be emitted), sorted. */
  sources: string[];
  stripInternal: boolean;
  /** Write a map beside each declaration (tsconfig declarationMap, or `--declarationMap` in adapterOptions.tsc.args). */
  declarationMap: boolean;
}

/** The one extra tsc flag this path follows: declaration maps. */
const DECLARATION_MAP_FLAG = '--declarationMap';

/**
 * The package qualifies for the per-file emit in every way but one: oxc-transform is not installed.
 * TypeScript runs, and the build says what installing it would change (dts.ts).
 */
export interface EmitterMissing {
  emitterMissing: true;
  /** The package's tsconfig, the one setting isolatedDeclarations (absolute). */
  tsconfig: string;
}

/**
 * The sources and options for a per-file declaration emit, or null when
 * TypeScript must run (see the module comment); EmitterMissing when only
 * oxc-transform is (checked last, so that it is said only of packages the
 * path would take).
 */
export function planIsolatedDeclarations(pkg: PackageInfo, config: ResolvedConfig, rootDir: string, reads: ReadLog): IsolatedPlan | EmitterMissing | null {
  if (config.outsideEntries.length > 0 || Object.keys(config.entries).length === 0) return null;
  if (config.include !== undefined || config.exclude !== undefined) return null;
  const tsc = tscOptions(pkg, config);
  if (tsc.project !== undefined || tsc.args.some((a) => a !== DECLARATION_MAP_FLAG)) return null;
  const found = locateTsconfig(pkg, config, reads);
  if (!found.file || found.foreign) return null;
  const chain = extendsChain(found.file, reads);
  if (chain.length === 0) return null;
  const option = (name: string): unknown => chain.find((l) => l.compilerOptions[name] !== undefined)?.compilerOptions[name];
  if (option('isolatedDeclarations') !== true) return null;
  if (UNSUPPORTED_OPTIONS.some((name) => option(name) !== undefined && option(name) !== false)) return null;
  // `${configDir}` is the directory of the tsconfig tsc is given: the package's own (tsconfig-layers.ts withConfigDir).
  const configDir = path.dirname(found.file);
  const top = (field: 'files' | 'include' | 'exclude') => {
    const layer = chain.find((l) => l.top[field] !== undefined);
    return layer && { ...layer, top: { ...layer.top, [field]: withConfigDir(layer.top[field], configDir) } };
  };
  const filesLayer = top('files');
  const includeLayer = top('include');
  const excludeLayer = top('exclude');
  const strings = (value: unknown): string[] | null => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : value === undefined ? [] : null);
  const files = strings(filesLayer?.top.files);
  const include = includeLayer ? strings(includeLayer.top.include) : filesLayer ? [] : ['**/*'];
  const exclude = excludeLayer ? strings(excludeLayer.top.exclude) : ['node_modules', 'bower_components', 'jspm_packages'];
  if (!files || !include || !exclude) return null;

  const sources = new Set<string>();
  for (const f of files) sources.add(path.resolve(filesLayer!.dir, f));
  if (include.length > 0) {
    const includeDir = includeLayer?.dir ?? path.dirname(found.file);
    const matchers = include.map((p) => picomatch(toPosix(path.resolve(includeDir, asGlob(p)))));
    const excluded = exclude.map((p) => picomatch(toPosix(path.resolve(excludeLayer?.dir ?? includeDir, asGlob(p)))));
    const outDir = path.resolve(pkg.dir, config.outDir);
    // Walked from the package directory: an include reaching outside it is TypeScript's to resolve.
    if (include.some((p) => !isInside(pkg.dir, path.resolve(includeDir, globBase(p))))) return null;
    const walk = (dir: string) => {
      for (const entry of reads.list(dir)) {
        const abs = path.join(dir, entry.name);
        // tsc's wildcards skip dot names and node_modules; outDir and build-system's staging are never sources.
        if (entry.name.startsWith('.') || entry.name === 'node_modules' || abs === outDir) continue;
        const posix = toPosix(abs);
        if (entry.isDirectory()) {
          if (!excluded.some((m) => m(posix) || m(`${posix}/x`))) walk(abs);
        } else if (SOURCE.test(entry.name) && matchers.some((m) => m(posix)) && !excluded.some((m) => m(posix))) {
          sources.add(abs);
        }
      }
    };
    walk(pkg.dir);
  }
  if (config.configFile) sources.delete(path.resolve(config.configFile));
  const emitted = [...sources].filter((s) => !DECLARATION_SOURCE.test(s)).sort();
  const entries = Object.values(config.entries).map((s) => path.resolve(pkg.dir, s));
  // An entry the tsconfig does not include: TypeScript says what it makes of that.
  if (emitted.length === 0 || entries.some((e) => !sources.has(e))) return null;
  if (emitted.some((s) => s.endsWith('.tsx')) && option('jsx') === undefined) return null;
  const declarationMap = option('declarationMap') === true || tsc.args.includes(DECLARATION_MAP_FLAG);
  const emitter = findIsolatedEmitter(pkg, reads);
  if (!emitter) return { emitterMissing: true, tsconfig: found.file };
  return { emitter, tsconfig: found.file, entries, sources: emitted, stripInternal: option('stripInternal') === true, declarationMap };
}

/**
 * What a build whose package would take the per-file path says when
 * oxc-transform is not installed: TypeScript's program did the work (a type
 * check included), at seconds a package where the per-file emit takes
 * milliseconds. An info diagnostic, cached with the result like any other;
 * installing oxc-transform changes the key (fingerprint `declarations.isolated`).
 * The run's summary says it once, naming the packages (result/run-hints.ts).
 */
export function emitterMissingHint(pkg: PackageInfo, tsconfig: string, reads: ReadLog): Diagnostic {
  return {
    severity: 'info',
    code: ISOLATED_EMITTER_MISSING,
    file: toPosix(path.relative(pkg.dir, tsconfig)),
    message: `isolatedDeclarations is on but oxc-transform is not installed, so TypeScript's program emitted the declarations: install it at the workspace root (${rootInstallCommand(pkg, 'oxc-transform', reads)}) and they are emitted per file in milliseconds, without a type check`,
  };
}

/** An include/exclude entry as a glob: a directory (declarations-program.ts namesDirectory) means everything below it. */
function asGlob(pattern: string): string {
  return namesDirectory(pattern) ? `${pattern.replace(/\/$/, '')}/**/*` : pattern;
}

/** The directory part of a pattern before its first wildcard. */
function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const i = parts.findIndex((p) => /[*?]/.test(p));
  return (i === -1 ? parts.slice(0, -1) : parts.slice(0, i)).join('/') || '.';
}

/** `.ts` → `.d.ts`, `.mts` → `.d.mts`, `.cts` → `.d.cts`, `.tsx` → `.d.ts`. */
function declarationName(source: string): string {
  return source.replace(/\.(m|c)?tsx?$/, (_, kind: string | undefined) => `.d.${kind ?? ''}ts`);
}

const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+|<reference\s+path\s*=\s*)(['"])(\.{1,2}\/[^'"]*)\1/g;

/** The sources a relative specifier of `from` can name (the order TypeScript tries them in does not matter here: any hit must be ours). */
function candidates(from: string, specifier: string): string[] {
  const base = path.resolve(path.dirname(from), specifier);
  const stem = base.replace(/\.(m|c)?jsx?$/, '');
  const kind = /\.mjs$/.test(base) ? 'm' : /\.cjs$/.test(base) ? 'c' : '';
  if (stem !== base) return [`${stem}.${kind}ts`, `${stem}.${kind}tsx`, `${stem}.d.${kind}ts`];
  return [base, `${base}.ts`, `${base}.tsx`, `${base}.d.ts`, path.join(base, 'index.ts'), path.join(base, 'index.tsx'), path.join(base, 'index.d.ts')];
}

/** 1-based line and column of a character offset. */
function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/**
 * Emits the plan's declarations into outDir (same paths as `tsc
 * --emitDeclarationOnly --rootDir rootDir --declarationDir outDir`), or
 * returns null, having written nothing that stays, when a declaration names
 * a file the plan does not emit (TypeScript must run).
 */
export async function emitIsolatedDeclarations(
  plan: IsolatedPlan,
  pkg: PackageInfo,
  rootDir: string,
  outDir: string,
  reads: ReadLog,
): Promise<{ output: AdapterOutput; rootDir: string } | null> {
  // Its CommonJS entry loads the platform's native binding beside it.
  const { isolatedDeclarationSync } = createRequire(plan.emitter.main)(plan.emitter.main) as typeof import('oxc-transform');
  const planned = new Set(plan.sources);
  const outputs: { source: string; code: string; map?: { mappings: string; names: string[] } }[] = [];
  const diagnostics: Diagnostic[] = [];
  let root = rootDir;
  // The entries, then every included source a reached one imports (any import: TypeScript's program follows them all).
  const reached = new Set(plan.entries);
  for (const source of reached) {
    // A file of this package outside rootDir widens it, as dts.ts does after TypeScript's TS6059; another package's is TypeScript's to report.
    if (!isInside(pkg.dir, source)) return null;
    while (!isInside(root, source)) root = path.dirname(root);
    const text = reads.readText(source) ?? '';
    for (const m of text.matchAll(RELATIVE_SPECIFIER)) {
      const hit = candidates(source, m[2]!).find((c) => planned.has(c));
      if (hit) reached.add(hit);
    }
    const result = isolatedDeclarationSync(source, text, { stripInternal: plan.stripInternal, sourcemap: plan.declarationMap });
    for (const e of result.errors) {
      const at = e.labels[0] ? position(text, e.labels[0].start) : undefined;
      diagnostics.push({
        severity: e.severity === 'Error' ? 'error' : 'warning',
        message: e.helpMessage ? `${e.message} (${e.helpMessage})` : e.message,
        file: toPosix(path.relative(pkg.dir, source)),
        line: at?.line,
        column: at?.column,
      });
    }
    for (const m of result.code.matchAll(RELATIVE_SPECIFIER)) {
      const hit = candidates(source, m[2]!).find((c) => reads.stat(c)?.isFile());
      if (!hit || (!planned.has(hit) && !DECLARATION_SOURCE.test(hit))) return null;
    }
    outputs.push({ source, code: result.code, map: result.map });
  }
  const ok = !diagnostics.some((d) => d.severity === 'error');
  const files = outputs.map((o) => path.join(outDir, path.relative(root, declarationName(o.source))));
  const written: string[] = [];
  if (ok) {
    outputs.forEach((o, i) => {
      const file = files[i]!;
      mkdirSync(path.dirname(file), { recursive: true });
      if (plan.declarationMap && o.map) {
        // As TypeScript writes them: the map names its declaration and the source relative to it.
        const name = path.basename(file);
        const map = { version: 3, file: name, sourceRoot: '', sources: [toPosix(path.relative(path.dirname(file), o.source))], names: o.map.names, mappings: o.map.mappings };
        writeFileSync(`${file}.map`, JSON.stringify(map));
        writeFileSync(file, `${o.code.endsWith('\n') ? o.code : `${o.code}\n`}//# sourceMappingURL=${name}.map`);
        written.push(file, `${file}.map`);
      } else {
        writeFileSync(file, o.code);
        written.push(file);
      }
    });
  }
  // What it read: an unreached source can only come in through an edit to one of these.
  return { output: { ok, files: written, diagnostics, reads: [plan.tsconfig, ...reached] }, rootDir: root };
}
