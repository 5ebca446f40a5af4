import { statSync } from 'node:fs';
import path from 'node:path';
import { manifestTargets, type TargetSource } from '../util/manifest-targets.js';
import type { ReadLog } from '../util/read-log.js';
import { nearestTsconfig, parseJsonc, tsconfigChain } from '../util/tsconfig-chain.js';
import { stripDot } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { publishedManifest } from '../workspace/published-manifest.js';
import type { Format, OutExtensions, Platform } from './schema.js';

/**
 * What a package's package.json implies when its config is silent: the entries
 * (from the outputs it promises), the formats and their extensions, the
 * target, whether it ships types, its externals and bins. Read by resolve.ts.
 *
 * The outputs it promises are those of the manifest as published: with pnpm,
 * `publishConfig.exports`/`main`/`bin`… replace the fields written for the
 * workspace, which commonly point at the sources (published-manifest.ts).
 * Read from the development fields, such a package built one `index.js` in
 * the package's type where it publishes `.mjs` and `.cjs`, and validation
 * then warned that every published target was missing.
 */

/** The manifest whose output fields the build must produce. */
function promised(pkg: PackageInfo): PackageInfo['manifest'] {
  return publishedManifest(pkg).manifest;
}

/** The promised manifest's targets, walked once per manifest object (resolve asks for them several times per package). */
const targetsByManifest = new WeakMap<object, ReturnType<typeof manifestTargets>['targets']>();
function promisedTargets(pkg: PackageInfo): ReturnType<typeof manifestTargets>['targets'] {
  let targets = targetsByManifest.get(pkg.manifest);
  if (!targets) targetsByManifest.set(pkg.manifest, (targets = manifestTargets(promised(pkg)).targets));
  return targets;
}

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
export const JS_OUTPUT = /\.(c|m)?js$/;
const DTS_FILE = /\.d\.(c|m)?ts$/;

type DtsExtension = '.d.ts' | '.d.mts' | '.d.cts';
/** TypeScript's rule: the declaration of x.mjs is x.d.mts, of x.cjs x.d.cts, of x.js x.d.ts. */
export function declarationExtension(jsExtension: string): DtsExtension {
  return jsExtension === '.mjs' ? '.d.mts' : jsExtension === '.cjs' ? '.d.cts' : '.d.ts';
}
/** The same rule the other way: the JS a declaration's relative specifiers name so TypeScript finds its siblings. */
export function declarationJs(dtsExtension: DtsExtension): '.js' | '.mjs' | '.cjs' {
  return dtsExtension === '.d.mts' ? '.mjs' : dtsExtension === '.d.cts' ? '.cjs' : '.js';
}


export function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `bin` targets, posix, relative. */
export function binTargets(pkg: PackageInfo): string[] {
  return promisedTargets(pkg).filter((t) => t.source === 'bin').map((t) => stripDot(t.value));
}

/** The condition each plain field stands for when resolve reads formats from it. */
const FIELD_CONDITION: Partial<Record<TargetSource, string>> = { main: 'main', module: 'import', bin: 'bin' };

/** JS output paths the package.json promises (exports, main, module, bin), posix, relative. */
const outputsByManifest = new WeakMap<object, { path: string; conditions: string[] }[]>();
function declaredOutputs(pkg: PackageInfo): { path: string; conditions: string[] }[] {
  let found = outputsByManifest.get(pkg.manifest);
  if (!found) outputsByManifest.set(pkg.manifest, (found = walkOutputs(pkg)));
  return found;
}

function walkOutputs(pkg: PackageInfo): { path: string; conditions: string[] }[] {
  const outs: { path: string; conditions: string[] }[] = [];
  // Every leaf counts here, also those Node refuses: validation reports those; resolution still builds them.
  for (const t of promisedTargets(pkg)) {
    if (t.source === 'exports') outs.push({ path: stripDot(t.value), conditions: t.conditions });
    else if (FIELD_CONDITION[t.source]) outs.push({ path: stripDot(t.value), conditions: [FIELD_CONDITION[t.source]!] });
  }
  return outs.filter((o) => JS_OUTPUT.test(o.path) && !o.path.includes('*') && !DTS_FILE.test(o.path));
}

/** The module kind Node gives a declared output: .mjs is ESM, .cjs CommonJS, .js follows the package type. */
function outputFormat(pkg: PackageInfo, file: string): Format {
  if (file.endsWith('.mjs')) return 'esm';
  if (file.endsWith('.cjs')) return 'cjs';
  return pkg.type === 'module' ? 'esm' : 'cjs';
}

/**
 * The JS extension package.json names for each format among its declared
 * outputs inside outDir (exports first, then main, module, bin: the first one
 * of a format wins). A format package.json does not name is left out.
 */
export function declaredExtensions(pkg: PackageInfo, outDir: string): Partial<OutExtensions> {
  const found: Partial<OutExtensions> = {};
  for (const out of declaredOutputs(pkg)) {
    if (!out.path.startsWith(`${outDir}/`)) continue;
    const format = outputFormat(pkg, out.path);
    const ext = JS_OUTPUT.exec(out.path)![0] as '.js' | '.mjs' | '.cjs';
    if (found[format] === undefined) (found as Record<Format, string>)[format] = ext;
  }
  return found;
}

/**
 * Per format, the directory below outDir package.json puts its `.js` outputs in, when its `import`
 * and `require` targets are in different ones: `./dist/esm/index.js` + `./dist/cjs/index.js`
 * (apollo-server, tshy's esm/commonjs), or `./dist/esm/index.js` + `./dist/index.js` (tsup's
 * legacyOutput: '' is outDir itself). Empty when they share one, or when a format's targets are
 * in several (then which is the format's is a guess). `.mjs`/`.cjs` name their format themselves.
 */
export function declaredFormatDirs(pkg: PackageInfo, outDir: string): Partial<Record<Format, string>> {
  // `import`/`require` decide; `main` only where one of them is missing, as the package's own format
  // (tsup's legacyOutput: main ./dist/index.js, module ./dist/esm/index.js). apollo-server's `main`
  // names its CommonJS in a "type": "module" package: its exports already said which is which.
  const own: Format = pkg.type === 'module' ? 'esm' : 'cjs';
  const collect = (withMain: boolean) => {
    const dirs: Record<Format, Set<string>> = { esm: new Set(), cjs: new Set() };
    for (const out of declaredOutputs(pkg)) {
      if (!out.path.startsWith(`${outDir}/`) || !out.path.endsWith('.js')) continue;
      const format = out.conditions.includes('import') ? 'esm' : out.conditions.includes('require') ? 'cjs' : withMain && out.conditions.includes('main') ? own : undefined;
      if (!format) continue;
      const rel = out.path.slice(outDir.length + 1);
      dirs[format].add(rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '');
    }
    return dirs;
  };
  let dirs = collect(false);
  if (dirs.esm.size === 0 || dirs.cjs.size === 0) dirs = collect(true);
  if (dirs.esm.size !== 1 || dirs.cjs.size !== 1) return {};
  const [esm] = dirs.esm as Set<string>;
  const [cjs] = dirs.cjs as Set<string>;
  return esm === cjs ? {} : { esm, cjs };
}


/**
 * Declaration extensions package.json names for a format's outputs where they are not the one
 * TypeScript pairs with the JS: unbuild publishes `types: ./dist/index.d.ts` beside
 * `default: ./dist/index.mjs`. Per format, written besides the paired one
 * (declarations-naming.ts), so every declaration package.json names exists. A declaration counts
 * when a JS output package.json names has its path, and none of those is the JS it pairs with.
 */
export function declaredDtsExtensions(pkg: PackageInfo, outDir: string, outExtension: OutExtensions): Partial<Record<Format, DtsExtension>> {
  const found: Partial<Record<Format, DtsExtension>> = {};
  const jsByBase = new Map<string, string[]>();
  for (const out of declaredOutputs(pkg)) {
    const base = out.path.replace(JS_OUTPUT, '');
    jsByBase.set(base, [...(jsByBase.get(base) ?? []), JS_OUTPUT.exec(out.path)![0]]);
  }
  for (const t of promisedTargets(pkg)) {
    const isTypes = t.source === 'types' || t.source === 'typings' || (t.source === 'exports' && (t.conditions ?? []).includes('types'));
    if (!isTypes || !t.path.startsWith(`${outDir}/`) || !DTS_FILE.test(t.path)) continue;
    const dts = DTS_FILE.exec(t.path)![0] as DtsExtension;
    const js = jsByBase.get(t.path.replace(DTS_FILE, '')) ?? [];
    if (js.length === 0 || js.some((e) => declarationExtension(e) === dts)) continue;
    for (const e of js) {
      const format = (['esm', 'cjs'] as const).find((f) => outExtension[f] === e);
      if (format && found[format] === undefined) found[format] = dts;
    }
  }
  return found;
}

/**
 * The source a conventional entry comes from. With the run's read log, each probe is logged (the one
 * found as a file, the others as absent): a source created later changes what a run infers, and the
 * watch and the no-op record learn of it from that (a new package's files arriving after its round).
 */
export function findSource(pkgDir: string, name: string, reads?: ReadLog): string | undefined {
  const candidates = [`src/${name}`, `src/${name}/index`, name];
  for (const base of candidates) {
    for (const ext of SOURCE_EXTENSIONS) {
      const rel = `${base}${ext}`;
      const abs = path.join(pkgDir, rel);
      if (isFile(abs)) {
        reads?.noteFile(abs);
        return rel;
      }
      reads?.noteAbsent(abs);
    }
  }
  return undefined;
}

/** Entries from the outputs package.json names inside outDir; below a format's own directory (`formatDirs`), named without it. */
export function deriveEntries(pkg: PackageInfo, outDir: string, formatDirs: readonly string[] = [], reads?: ReadLog): Record<string, string> {
  const entries: Record<string, string> = {};
  const prefixes = formatDirs.filter((d) => d !== '').map((d) => `${d}/`);
  for (const out of declaredOutputs(pkg)) {
    if (!out.path.startsWith(`${outDir}/`)) continue;
    const rel = out.path.slice(outDir.length + 1);
    const prefix = prefixes.find((p) => rel.startsWith(p));
    const name = (prefix ? rel.slice(prefix.length) : rel).replace(JS_OUTPUT, '');
    if (entries[name]) continue;
    const source = findSource(pkg.dir, name, reads);
    if (source) entries[name] = source;
  }
  if (Object.keys(entries).length > 0) return entries;
  const fallback = findSource(pkg.dir, 'index', reads);
  return fallback ? { index: fallback } : {};
}

export function defaultFormats(pkg: PackageInfo): Format[] {
  const formats = new Set<Format>();
  for (const out of declaredOutputs(pkg)) {
    if (out.conditions.includes('import')) formats.add('esm');
    else if (out.conditions.includes('require')) formats.add('cjs');
    else if (out.path.endsWith('.mjs')) formats.add('esm');
    else if (out.path.endsWith('.cjs')) formats.add('cjs');
    else formats.add(pkg.type === 'module' ? 'esm' : 'cjs');
  }
  if (formats.size === 0) formats.add(pkg.type === 'module' ? 'esm' : 'cjs');
  return (['esm', 'cjs'] as const).filter((f) => formats.has(f));
}

export function defaultTarget(pkg: PackageInfo, platform: Platform): string {
  if (platform !== 'node') return 'es2022';
  const range = pkg.manifest.engines?.node;
  const m = typeof range === 'string' ? /(\d+)(?:\.(\d+))?/.exec(range) : null;
  if (m) return m[2] && m[2] !== '0' ? `node${m[1]}.${m[2]}` : `node${m[1]}`;
  return 'node20';
}

export function declaresTypes(pkg: PackageInfo): boolean {
  const m = promised(pkg);
  if (typeof m.types === 'string' || typeof m.typings === 'string') return true;
  return manifestTargets(m).targets.some((t) => t.source === 'exports' && (t.conditions.includes('types') || DTS_FILE.test(t.value)));
}

/**
 * The package's own entry points, kept external when a build runs (services/package-build/build-step.ts):
 * a source importing its own package by a name it publishes (unhead's `import('unhead/stream/iife')`)
 * means the published file, which a bundler would otherwise inline from the previous build's outDir,
 * or fail to find before the first one. One specifier per `exports` subpath (the bare name without
 * exports); not those a tsconfig `paths` entry maps (an alias to the sources, which the bundler
 * follows, as tsup's builds do), nor the bare name when any is mapped (esbuild and bun keep a bare
 * name's subpaths external with it). `tsconfigs`: the files whose `paths` decided, to record as read,
 * and `absent` the places looked at before the nearest, which must stay so (package.json is in the
 * fingerprint already). Not part of the resolved config: a hit never reads them.
 */
export function selfExternals(pkg: PackageInfo, reads: ReadLog): { specs: string[]; tsconfigs: string[]; absent: string[] } {
  const { file: nearest, absent } = nearestTsconfig(pkg.dir, reads);
  const paths = nearest ? pathsKeys(nearest, reads) : { keys: [], files: [] };
  const mapped = paths.keys.filter((k) => k === pkg.name || k.startsWith(`${pkg.name}/`));
  const isMapped = (spec: string) =>
    mapped.some((k) => k === spec || (k.endsWith('*') && spec.startsWith(k.slice(0, -1)))) || (spec.includes('*') && mapped.some((k) => k.startsWith(spec.slice(0, spec.indexOf('*')))));
  const subpaths = new Set(promisedTargets(pkg).filter((t) => t.source === 'exports' && t.subpath).map((t) => t.subpath!));
  const specs = subpaths.size > 0 ? [...subpaths].map((sub) => (sub === '.' ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, '')}`)) : [pkg.name];
  return { specs: [...new Set(specs)].filter((spec) => !isMapped(spec) && !(spec === pkg.name && mapped.length > 0)).sort(), tsconfigs: paths.files, absent };
}

/** Per run (read log): the `paths` keys of a tsconfig and everything it extends, with those files; packages share a root tsconfig. */
const pathsKeysSeen = new WeakMap<ReadLog, Map<string, { keys: string[]; files: string[] }>>();
function pathsKeys(tsconfig: string, reads: ReadLog): { keys: string[]; files: string[] } {
  let seen = pathsKeysSeen.get(reads);
  if (!seen) pathsKeysSeen.set(reads, (seen = new Map()));
  let found = seen.get(tsconfig);
  if (found) return found;
  const { files } = tsconfigChain(tsconfig, reads);
  found = { keys: [], files };
  for (const file of files) {
    try {
      const paths = (parseJsonc(reads.readTextOnce(file) ?? '{}') as { compilerOptions?: { paths?: unknown } } | null)?.compilerOptions?.paths;
      if (paths && typeof paths === 'object') found.keys.push(...Object.keys(paths));
    } catch {
      // An unreadable tsconfig maps nothing here; the bundler reports it.
    }
  }
  seen.set(tsconfig, found);
  return found;
}

export function dependencyExternals(pkg: PackageInfo): string[] {
  const m = pkg.manifest;
  const names = new Set<string>([
    ...Object.keys(m.dependencies ?? {}),
    ...Object.keys(m.peerDependencies ?? {}),
    ...Object.keys(m.optionalDependencies ?? {}),
  ]);
  return [...names].sort().flatMap((n) => [n, `${n}/*`]);
}

/**
 * The externals less what `noExternal` bundles: a package with its subpaths (`name/*` means the same: esbuild
 * and bun keep a bare name's subpaths external with it, so only a whole package can be bundled everywhere
 * alike), and with `@scope/*` every package of the scope.
 */
export function withoutBundled(external: readonly string[], noExternal: readonly string[]): string[] {
  if (noExternal.length === 0) return [...external];
  const scopes = noExternal.filter((n) => /^@[^/]+\/\*$/.test(n)).map((n) => n.slice(0, -1));
  const names = new Set(noExternal.map((n) => n.replace(/\/\*$/, '')));
  return external.filter((e) => {
    const name = e.replace(/\/\*$/, '');
    return !names.has(name) && !scopes.some((scope) => name.startsWith(scope));
  });
}
