import path from 'node:path';
import { BuildSystemError, type ErrorIssue } from '../errors.js';
import { ReadLog } from '../util/read-log.js';
import { expandEntries, isEntryGlob } from './entry-globs.js';
import { commonDir, entryPlacer, packageRealpaths } from './entry-placement.js';
import { isInside, stripDot, toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import {
  binTargets,
  declarationExtension,
  declaredDtsExtensions,
  declaredExtensions,
  declaresTypes,
  defaultFormats,
  defaultTarget,
  dependencyExternals,
  deriveEntries,
  isFile,
  JS_OUTPUT,
  withoutBundled,
} from './package-defaults.js';
import { bundleIssues, dtsIssues, entryOptionIssues, shimsIssues, tscOnlyFieldIssues } from './field-issues.js';
import { formatPrefix, resolveFormatDirs, type FormatDirs } from './format-dirs.js';
import type { AdapterName, BuildConfig, EntryWithOptions, Format, OutExtensions, Platform } from './schema.js';

/**
 * Options normalized in one place: every default that depends on the package
 * (entries from package.json, formats and extensions from `type`, target from
 * `engines.node`, externals from dependencies) is decided here and nowhere else.
 * Adapters read only this.
 */
export interface ResolvedConfig {
  /** Absolute path of the config file, or null when the package has none. */
  configFile: string | null;
  /** The validated config as written (defaults applied): part of the cache fingerprint. */
  raw: BuildConfig;
  adapter: AdapterName;
  /** Output name (no extension, relative to outDir) → source path relative to the package (posix). */
  entries: Record<string, string>;
  /** Common directory of the entry sources inside the package, relative to the package ('' = package root). */
  sourceRoot: string;
  /**
   * Entry names whose source lives outside the package (elsewhere in the
   * workspace; see the outside-entry rule in resolveConfig). Their sources in
   * `entries` start with `../`.
   */
  outsideEntries: string[];
  /** outDir relative to the package (posix, no trailing slash). */
  outDir: string;
  formats: Format[];
  /** Directory below outDir per format ('' = outDir itself): config `formatDir`, else package.json's (config/format-dirs.ts). */
  formatDir: FormatDirs;
  /** File extension of JS outputs per format: the config's, else what package.json names, else as the package `type` requires. */
  outExtension: OutExtensions;
  /** Declaration extension per format, following the JS one: .js -> .d.ts, .mjs -> .d.mts, .cjs -> .d.cts. */
  dtsExtension: Record<Format, '.d.ts' | '.d.mts' | '.d.cts'>;
  /** A second declaration extension per format where package.json names it (unbuild's index.d.ts beside index.mjs); written too. Usually empty. */
  declaredDts: Partial<Record<Format, '.d.ts' | '.d.mts' | '.d.cts'>>;
  /** false: type-check only (tsc adapter); nothing is written, outDir is left alone. */
  emit: boolean;
  /** tsc adapter: source globs (relative to the package) replacing the tsconfig's include/files; undefined = the tsconfig's. */
  include: string[] | undefined;
  /** tsc adapter: globs replacing the tsconfig's exclude; undefined = the tsconfig's. */
  exclude: string[] | undefined;
  platform: Platform;
  /** One target, or several that all hold (a list of one is that one, so keys of single targets stay as they were). */
  target: string | string[];
  sourcemap: false | 'inline' | 'external';
  minify: boolean;
  /** ESM outputs share chunks (esbuild, bun; rollup always does). */
  splitting: boolean;
  /** false: one output per source module the entries reach (adapters/unbundled.ts); the tsc adapter never bundles. */
  bundle: boolean;
  /** import.meta.url in CommonJS, __dirname/__filename in ESM (esbuild adapter, platform node). */
  shims: boolean;
  dts: boolean;
  /**
   * `dts: { bundle: true }`: one declaration file per entry and format (adapters/declarations-bundle.ts);
   * `resolve`: packages inlined (true: every one that is not a dependency). null: one per source.
   */
  dtsBundle: { resolve: true | string[] } | null;
  /** Module specifiers kept external (exact names and `name/*` subpath patterns). */
  external: string[];
  /**
   * Entries built with their own options (an entry record's `{ source, target, … }`), by entry
   * name: every bundling option resolved for that entry (what it does not set is the package's).
   * Empty for most packages. The esbuild adapter builds each distinct set apart.
   */
  entryOptions: Record<string, EntryBuildOptions>;
  /** Entries that get no declarations (an entry's own `dts: false`, or the package's without an entry's own `dts: true`); sorted. */
  noDtsEntries: string[];
  define: Record<string, string>;
  banner: string | undefined;
  clean: boolean;
  env: string[];
  inputs: string[];
  adapterOptions: BuildConfig['adapterOptions'];
  /** package.json `bin` targets, relative to the package (posix): made executable after a build. */
  bins: string[];
}

/** The options one entry builds with, resolved (see ResolvedConfig.entryOptions). */
export interface EntryBuildOptions {
  target: string | string[];
  platform: Platform;
  external: string[];
  define: Record<string, string>;
  formats: Format[];
  outExtension: OutExtensions;
  splitting: boolean;
}

/**
 * Applies package-derived defaults and checks every path in the config.
 * Throws one BuildSystemError listing every problem (one issue per field).
 */
export function resolveConfig(pkg: PackageInfo, config: BuildConfig, configFile: string | null, reads: ReadLog = new ReadLog()): ResolvedConfig {
  const file = configFile ? toPosix(path.relative(process.cwd(), configFile)) || configFile : toPosix(path.relative(process.cwd(), path.join(pkg.dir, 'package.json')));
  const issues: ErrorIssue[] = [];
  const problem = (field: string, message: string) => issues.push({ package: pkg.name, file, field, message });

  // outDir
  const outDirRaw = config.outDir;
  const outDirAbs = path.resolve(pkg.dir, outDirRaw);
  let outDir = toPosix(path.relative(pkg.dir, outDirAbs));
  const reals = packageRealpaths(pkg.dir, outDirAbs);
  // staysInside(pkg.dir, outDirAbs), with the realpaths the entry placer uses too.
  if (outDirRaw.includes('${configDir}')) {
    // A tsconfig template, which only TypeScript expands: here it would be a directory named `${configDir}`.
    problem('outDir', `is relative to the package, where \${configDir} means nothing: write the directory itself, e.g. ${JSON.stringify(outDirRaw.replaceAll('${configDir}/', '').replaceAll('${configDir}', '.'))} (got ${JSON.stringify(outDirRaw)})`);
  } else if (!(isInside(path.resolve(pkg.dir), outDirAbs) && isInside(reals.pkgLoose, reals.outDirReal))) {
    problem('outDir', `must stay inside the package (got ${JSON.stringify(outDirRaw)})`);
  } else if (outDir === '') {
    problem('outDir', `must be a directory below the package, not the package itself (got ${JSON.stringify(outDirRaw)})`);
  } else if (outDir.split('/')[0] === 'node_modules' || outDir.split('/').includes('.git')) {
    problem('outDir', `must not be inside node_modules or .git (got ${JSON.stringify(outDirRaw)})`);
  }
  outDir = stripDot(outDir);
  const formats: Format[] = config.format === undefined ? defaultFormats(pkg) : [...new Set(typeof config.format === 'string' ? [config.format] : config.format)];
  const formatDir = resolveFormatDirs(pkg, config, outDir, formats, config.adapter, problem);

  // entries
  let entries: Record<string, string> = {};
  /** Entries of a record given as `{ source, …options }`, by entry name. */
  const withOptions = new Map<string, { field: string; options: EntryWithOptions }>();
  const outside = new Set<string>();
  const placeEntry = entryPlacer(pkg, reals);
  const checkEntry = (field: string, source: string): { rel: string; outside: boolean } | undefined => {
    const placed = placeEntry(source);
    if ('problem' in placed) {
      problem(field, placed.problem);
      return undefined;
    }
    return placed;
  };
  const entry = config.entry;
  if (entry === undefined) {
    entries = deriveEntries(pkg, outDir, Object.values(formatDir), reads);
    // tsc needs no entry: it compiles what the tsconfig includes (adapters/tsc-project.ts), with its rootDir.
    if (Object.keys(entries).length === 0 && config.adapter !== 'tsc') {
      problem('entry', 'no entry given and none found (looked at package.json exports/main/bin and src/index.ts); set entry in the config');
    }
  } else if (typeof entry === 'string' || Array.isArray(entry)) {
    const given = typeof entry === 'string' ? [entry] : entry;
    // Globs are expanded now, over the directories they reach (their listings are inputs: an added file is a miss).
    const { files: list, expanded } = expandEntries(given, pkg, reads, outDir);
    if (expanded && list.length === 0) problem('entry', `${JSON.stringify(entry)} matches no file in the package`);
    const checked = list.map((s, i) => checkEntry(typeof entry === 'string' ? 'entry' : expanded ? `entry (${s})` : `entry[${i}]`, s));
    const ok = checked.filter((s): s is { rel: string; outside: boolean } => s !== undefined);
    // Names keep the layout below the common directory of the package's own entries; an entry from elsewhere in the workspace is named by its basename.
    const base = commonDir(ok.filter((s) => !s.outside).map((s) => s.rel));
    for (const { rel, outside: isOutside } of ok) {
      const name = (isOutside ? path.posix.basename(rel) : base ? rel.slice(base.length + 1) : rel).replace(/\.[^./]+$/, '');
      if (entries[name]) problem('entry', `two entries produce the same output name ${JSON.stringify(name)}; use a record to name them`);
      entries[name] = rel;
      if (isOutside) outside.add(name);
    }
  } else {
    for (const [name, value] of Object.entries(entry)) {
      const clean = stripDot(name);
      if (path.posix.isAbsolute(clean) || clean.split('/').includes('..') || clean === '') {
        problem(`entry.${name}`, `output name must be a relative path inside outDir (got ${JSON.stringify(name)})`);
        continue;
      }
      const source = typeof value === 'string' ? value : value.source;
      const field = typeof value === 'string' ? `entry.${name}` : `entry.${name}.source`;
      // A record names one file per output; a pattern has no single name to give.
      if (isEntryGlob(source) && !isFile(path.resolve(pkg.dir, source))) {
        problem(field, `a record entry names one file (got the pattern ${JSON.stringify(source)}); put globs in a list, entry: [${JSON.stringify(source)}], named below their common directory`);
        continue;
      }
      const placed = checkEntry(field, source);
      if (!placed) continue;
      const entryName = clean.replace(JS_OUTPUT, '');
      entries[entryName] = placed.rel;
      if (placed.outside) outside.add(entryName);
      if (typeof value !== 'string') withOptions.set(entryName, { field: `entry.${name}`, options: value });
    }
  }
  if (withOptions.size > 0) for (const issue of entryOptionIssues(config, [...withOptions.values()][0]!.field)) problem(issue.field, issue.message);
  const packageDts = typeof config.dts === 'object' ? true : (config.dts ?? declaresTypes(pkg));
  for (const { field, options } of withOptions.values()) {
    if (!options.outExtension) continue;
    // Declarations are named per format for the whole package (declarations-naming.ts): an entry of its own naming has none.
    if (options.dts ?? packageDts) problem(`${field}.outExtension`, `declarations follow the package's outExtension; give this entry dts: false too, or set outExtension for the package`);
    if (options.outExtension.esm === '.js' && pkg.type !== 'module' && formatDir.esm === '') problem(`${field}.outExtension.esm`, `'.js' is CommonJS in a package without "type": "module", so ESM output must be '.mjs'`);
    if (options.outExtension.cjs === '.js' && pkg.type === 'module' && formatDir.cjs === '') problem(`${field}.outExtension.cjs`, `'.js' is ESM in a "type": "module" package, so CommonJS output must be '.cjs'`);
  }
  if (outside.size > 0 && config.adapter === 'tsc') {
    const name = [...outside][0]!;
    problem(`entry.${name}`, `${entries[name]} is outside the package: only a bundler can build it into outDir (tsc keeps the file layout); use adapter 'esbuild', 'bun' or 'rollup'`);
  }
  // outDir must not swallow sources: a build swaps the whole directory.
  if (outDir) {
    for (const [name, source] of Object.entries(entries)) {
      if (!outside.has(name) && isInside(outDir, source)) {
        problem('outDir', `must not contain the entry ${source}: the build replaces outDir as a whole (got ${JSON.stringify(outDirRaw)})`);
        break;
      }
    }
  }

  // A .js file is what the package type says it is (in outDir itself; a format directory has its own package.json):
  // a config .js for the other format would be loaded as the wrong module kind.
  if (config.outExtension?.esm === '.js' && pkg.type !== 'module' && formatDir.esm === '') {
    problem('outExtension.esm', `'.js' is CommonJS in a package without "type": "module", so ESM output must be '.mjs'; set outExtension.esm to '.mjs' or add "type": "module" to package.json`);
  }
  if (config.outExtension?.cjs === '.js' && pkg.type === 'module' && formatDir.cjs === '') {
    problem('outExtension.cjs', `'.js' is ESM in a "type": "module" package, so CommonJS output must be '.cjs'; set outExtension.cjs to '.cjs' or remove "type": "module" from package.json`);
  }
  for (const issue of [...tscOnlyFieldIssues(config), ...shimsIssues(config), ...dtsIssues(config), ...bundleIssues(config, withOptions.size > 0)]) problem(issue.field, issue.message);
  // esbuild's own outExtension renames the JS behind our back: declarations, artifacts and validation would name the old files.
  const esbuildOptions = config.adapterOptions.esbuild;
  if (esbuildOptions && 'outExtension' in esbuildOptions) {
    problem(
      'adapterOptions.esbuild.outExtension',
      `renames the JS without its declarations (dependents then fail with TS7016); use the config's outExtension instead, e.g. outExtension: { esm: '.mjs' }, which names the .d.mts too`,
    );
  }

  if (issues.length > 0) {
    throw new BuildSystemError('CONFIG_INVALID', issues[0]!.message, { package: pkg.name, file, field: issues[0]!.field, issues });
  }

  const typeDefault: ResolvedConfig['outExtension'] = pkg.type === 'module' ? { esm: '.js', cjs: '.cjs' } : { esm: '.mjs', cjs: '.js' };
  // In a directory of its own, a format's files are .js: its package.json says which kind they are.
  for (const format of formats) if (formatDir[format] !== '') typeDefault[format] = '.js';
  const outExtension: ResolvedConfig['outExtension'] = { ...typeDefault, ...declaredExtensions(pkg, outDir), ...config.outExtension };
  const sourcemap: ResolvedConfig['sourcemap'] = config.sourcemap === true ? 'external' : config.sourcemap === false ? false : config.sourcemap;
  const externalWith = (external: readonly string[] | undefined, noExternal: readonly string[]) => withoutBundled([...new Set([...dependencyExternals(pkg), ...(external ?? [])])], noExternal);
  const entryOptions: Record<string, EntryBuildOptions> = {};
  for (const [name, { options }] of withOptions) {
    const platform = options.platform ?? config.platform;
    entryOptions[name] = {
      target: resolvedTarget(options.target ?? config.target) ?? defaultTarget(pkg, platform),
      platform,
      external: externalWith(options.external ?? config.external, options.noExternal ?? config.noExternal ?? []),
      define: options.define ?? config.define,
      formats: options.format === undefined ? formats : (['esm', 'cjs'] as const).filter((f) => (typeof options.format === 'string' ? [options.format] : options.format!).includes(f)),
      outExtension: { ...outExtension, ...options.outExtension },
      splitting: options.splitting ?? config.splitting,
    };
  }
  // Declarations per entry: the package's dts, or an entry's own. Listed only when some entry has them, so a package's key changes only with an entry's own dts.
  const withoutDts = Object.keys(entries).filter((name) => !(withOptions.get(name)?.options.dts ?? packageDts));
  const someDts = Object.keys(entries).length === 0 ? packageDts : withoutDts.length < Object.keys(entries).length;
  const noDtsEntries = someDts ? withoutDts.sort() : [];

  return {
    configFile,
    raw: config,
    adapter: config.adapter,
    entries,
    sourceRoot: commonDir(Object.entries(entries).filter(([name]) => !outside.has(name)).map(([, source]) => source)),
    outsideEntries: [...outside].sort(),
    outDir,
    formats,
    formatDir,
    outExtension,
    dtsExtension: { esm: declarationExtension(outExtension.esm), cjs: declarationExtension(outExtension.cjs) },
    declaredDts: declaredDtsExtensions(pkg, outDir, outExtension),
    emit: config.emit,
    include: config.include,
    exclude: config.exclude,
    platform: config.platform,
    target: resolvedTarget(config.target) ?? defaultTarget(pkg, config.platform),
    sourcemap,
    minify: config.minify,
    splitting: config.splitting,
    bundle: config.bundle,
    shims: config.shims,
    // Some entry gets declarations (per entry: noDtsEntries).
    dts: someDts,
    dtsBundle: typeof config.dts === 'object' && config.dts.bundle ? { resolve: config.dts.resolve === true ? true : [...new Set(config.dts.resolve ?? [])].sort() } : null,
    external: externalWith(config.external, config.noExternal ?? []),
    entryOptions,
    noDtsEntries,
    define: config.define,
    banner: config.banner,
    clean: config.clean,
    env: config.env,
    inputs: config.inputs,
    adapterOptions: config.adapterOptions,
    bins: binTargets(pkg),
  };
}

/** A configured target as the adapters take it: lower case, a list without repeats, a list of one as that one. */
function resolvedTarget(target: string | string[] | undefined): string | string[] | undefined {
  if (target === undefined) return undefined;
  const list = [...new Set((typeof target === 'string' ? [target] : target).map((t) => t.toLowerCase()))];
  return list.length === 1 ? list[0] : list;
}

// TypeScript's pairing rule lives with the other package.json-derived defaults; importers know it from here.
export { declarationExtension } from './package-defaults.js';

/** Output file name (relative to outDir) for an entry in a format. */
export function outputName(config: Pick<ResolvedConfig, 'formatDir' | 'outExtension'>, entryName: string, format: Format): string {
  return `${formatPrefix(config.formatDir, format)}${entryName}${config.outExtension[format]}`;
}
