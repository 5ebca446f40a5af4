import path from 'node:path';
import { TARGET_PATTERN, type EntryWithOptions, type Format } from '../config/schema.js';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { expandEntries, expandObjectEntry } from './entry-globs.js';
import { externalPatterns } from './external-patterns.js';
import { describe } from './describe-value.js';
import { placeholderName, type ToolConfig } from './tool-config.js';

/**
 * tsup/tsdown options (from a config file or a build script's flags), and
 * `bun build` / `esbuild` flags, mapped onto build-system config fields. Each
 * mapped value carries where it came from; every option that changes the
 * output and has no equivalent is listed as not reproduced, with its value;
 * options that do not change the files written (watch, silent, …) as ignored.
 */

export type DtsChoice = boolean | { bundle: true; resolve?: true | string[] };

export interface Choice<T = unknown> {
  value: T;
  /** Where the value came from, for the comment above the field. */
  because: string;
  /** An entry of globs: the files they match now (a split-by-entry array names its entries from these). */
  files?: string[];
}

export interface NotReproduced {
  /** The option as the source names it, e.g. `onSuccess` or `tsup.config.ts[1]`. */
  option: string;
  /** Its value, shortened. */
  value: string;
  why: string;
}

export interface MappedOptions {
  entry?: Choice<string | string[] | Record<string, string | EntryWithOptions>>;
  format?: Choice<Format[]>;
  /** An object where the tool's `dts.resolve` inlines packages: bundled declarations are then the only reproduction. */
  dts?: Choice<DtsChoice>;
  outDir?: Choice<string>;
  target?: Choice<string | string[]>;
  platform?: Choice<'node' | 'browser' | 'neutral'>;
  sourcemap?: Choice<boolean | 'inline'>;
  minify?: Choice<boolean>;
  /** The tool's `tsconfig`, when it is not the one build-system picks itself (adapterOptions.tsc.project). */
  tsconfig?: Choice<string>;
  /** tsdown `dts.sourcemap`: declaration maps (adapterOptions.tsc.args `--declarationMap`). */
  declarationMap?: Choice<true>;
  /** tsup `keepNames`, tsdown `outputOptions.keepNames` (adapterOptions.esbuild.keepNames). */
  keepNames?: Choice<true>;
  /** tsup/tsdown `shims`. */
  shims?: Choice<boolean>;
  /** tsup `splitting` (its default, true for ESM, is build-system's too). */
  splitting?: Choice<boolean>;
  external?: Choice<string[]>;
  /** tsup/tsdown `noExternal`, tsdown `deps.alwaysBundle`. */
  noExternal?: Choice<string[]>;
  define?: Choice<Record<string, string>>;
  banner?: Choice<string>;
  clean?: Choice<boolean>;
  outExtension?: Choice<{ esm?: '.js' | '.mjs'; cjs?: '.js' | '.cjs' }>;
  /** A directory per format below outDir: tsup `legacyOutput`, or an array split by format into outDirs of their own (config-array.ts). */
  formatDir?: Choice<{ esm?: string; cjs?: string }>;
  notReproduced: NotReproduced[];
  /** Options that do not change the files a build writes. */
  ignored: string[];
  /** Set when the options themselves carry the adapter decision (tsdown plugins). */
  hasPlugins?: boolean;
  /** tsdown `unbundle: true` / `--unbundle`, `bundle: false`: one output file per source (chooseAdapter decides what builds it). */
  unbundle?: Choice<true>;
  /** bundle: false, set by chooseAdapter when `unbundle` goes to esbuild rather than tsc. */
  bundle?: Choice<false>;
}

/** external / deps.neverBundle into out.external, noExternal / deps.alwaysBundle into out.noExternal (names and name/* patterns); the rest reported. */
function addExternal(out: MappedOptions, option: string, value: unknown, because: string, field: 'external' | 'noExternal' = 'external'): void {
  const { names, other } = externalPatterns(value);
  if (other.length) out.notReproduced.push({ option, value: describe(other), why: 'only names, name/* and regular expressions anchoring a name have an equivalent' });
  const before = out[field];
  if (names.length) out[field] = { value: [...(before?.value ?? []), ...names], because: before ? `${before.because} and ${option}` : because };
}

/**
 * tsup's skipNodeModulesBundle (and tsup-node, which sets it): the package's devDependencies kept external
 * with their subpaths, as every node_modules import is; dependencies and peers already are.
 */
export function addDevDependencies(out: MappedOptions, pkg: PackageInfo, because: string): void {
  const names = Object.keys(pkg.manifest.devDependencies ?? {}).filter((n) => !out.noExternal?.value.includes(n));
  if (names.length === 0) return;
  addExternal(out, 'skipNodeModulesBundle', names, `${because}: every node_modules import stays external, devDependencies too`);
}

/** The formats build-system writes, by every name the tools give them (tsdown and rollup: `es`, `module`, `commonjs`). */
const FORMATS = new Map<string, Format>([['esm', 'esm'], ['es', 'esm'], ['module', 'esm'], ['cjs', 'cjs'], ['commonjs', 'cjs']]);

/** Options of each tool that never change the files a build writes. */
const NO_OUTPUT_EFFECT: Record<string, ReadonlySet<string>> = {
  tsup: new Set(['name', 'watch', 'ignoreWatch', 'silent', 'config']),
  tsdown: new Set(['name', 'watch', 'ignoreWatch', 'silent', 'logLevel', 'report', 'publint', 'attw', 'unused', 'config', 'exports', 'failOnWarn']),
};

/** Maps one tsup/tsdown options object. `where` names it in comments (`tsup.config.ts`, `tsup.config.ts[0]`), or names each option's origin. */
export function mapToolOptions(tool: ToolConfig['tool'], options: Record<string, unknown>, where: string | ((option: string) => string), pkg: PackageInfo, reads: ReadLog): MappedOptions {
  const out: MappedOptions = { notReproduced: [], ignored: [] };
  const skip = (option: string, why: string) => out.notReproduced.push({ option, value: describe(options[option]), why });
  const from = (option: string) => (typeof where === 'string' ? `${where} ${option}` : where(option));
  const outDir = typeof options.outDir === 'string' ? toPosix(options.outDir).replace(/^\.\//, '').replace(/\/+$/, '') : 'dist';

  /** A tool's tsconfig as adapterOptions.tsc.project, unless it is the one build-system picks anyway (then ignored). */
  const tsconfigOption = (option: string, value: string) => {
    const picked = ['tsconfig.build.json', 'tsconfig.json'].find((name) => reads.stat(path.join(pkg.dir, name))?.isFile());
    if (path.resolve(pkg.dir, value) === (picked && path.join(pkg.dir, picked))) {
      out.ignored.push(option);
      delete out.tsconfig;
    } else if (!reads.stat(path.resolve(pkg.dir, value))?.isFile()) {
      out.notReproduced.push({ option, value: JSON.stringify(value), why: `no such file in the package; build-system uses ${picked ?? 'the nearest tsconfig.json'}` });
    } else out.tsconfig = { value: toPosix(value), because: from(option) };
  };
  /** tsdown's dts.tsconfig: the declarations' tsconfig, applied once every option is read (it wins over `tsconfig`). */
  let dtsTsconfig: { option: string; value: string } | undefined;

  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (placeholderName(value)) {
      skip(key, 'its value comes from a package that is not installed here');
      continue;
    }
    switch (key) {
      case 'entry':
      case 'entryPoints': {
        if (typeof value === 'string' || Array.isArray(value)) {
          const list = (typeof value === 'string' ? [value] : value).filter((v): v is string => typeof v === 'string');
          const { files, expanded } = expandEntries(list, pkg, reads, outDir);
          if (files.length === 0) skip(key, 'matches no file');
          // Globs are written as given: builds expand them the same way, so an added file is built without re-running init.
          else if (expanded) out.entry = { value: list.map((e) => toPosix(e).replace(/^(!?)\.\//, '$1')), because: `${from(key)} (globs, expanded at each build as ${tool} expands them)`, files };
          else out.entry = { value: files, because: from(key) };
        } else if (value && typeof value === 'object') {
          const { record, expanded, problems } = expandObjectEntry(value as Record<string, unknown>, pkg, reads, outDir);
          for (const problem of problems) skip(key, problem);
          if (Object.keys(record).length > 0) out.entry = { value: record, because: expanded ? `${from(key)} ${describe(value)}, expanded (re-run init when files are added)` : from(key) };
          else if (problems.length === 0) skip(key, 'matches no file');
        } else skip(key, 'not a path, list or record');
        break;
      }
      case 'format': {
        const list = (typeof value === 'string' ? [value] : Array.isArray(value) ? value : []).map(String);
        if (!Array.isArray(value) && typeof value !== 'string') {
          skip(key, 'per-format option objects have no equivalent');
          break;
        }
        const kept = [...new Set(list.flatMap((f) => FORMATS.get(f) ?? []))];
        const other = list.filter((f) => !FORMATS.has(f));
        if (other.length) out.notReproduced.push({ option: key, value: describe(other), why: 'build-system writes esm and cjs only' });
        if (kept.length) out.format = { value: kept, because: from(key) };
        break;
      }
      case 'dts':
      case 'experimentalDts': {
        if (value === false) {
          out.dts = { value: false, because: from(key) };
          break;
        }
        out.dts = { value: true, because: `${from(key)} (build-system writes one declaration file per source with tsc, under the same entry names; dts: { bundle: true } bundles them per entry as ${tool} does, with rollup-plugin-dts installed)` };
        if (value && typeof value === 'object') {
          // tsdown's declaration maps (.d.ts.map, for go-to-definition into the sources): tsc's --declarationMap.
          const { sourcemap, resolve } = value as { sourcemap?: unknown; resolve?: unknown };
          if (sourcemap === true) out.declarationMap = { value: true, because: from(`${key}.sourcemap`) };
          const bundled = dtsResolve(resolve);
          if (bundled.resolve !== undefined) {
            out.dts = { value: { bundle: true, resolve: bundled.resolve }, because: `${from(`${key}.resolve`)} (bundled declarations with those packages inlined; needs rollup and rollup-plugin-dts installed)` };
          }
          if (bundled.patterns.length) out.notReproduced.push({ option: `${key}.resolve`, value: bundled.patterns.join(', '), why: 'dts.resolve takes package names; list the packages these patterns match' });
          const { tsconfig } = value as { tsconfig?: unknown };
          if (typeof tsconfig === 'string') dtsTsconfig = { option: `${key}.tsconfig`, value: tsconfig };
          const handled = (k: string) =>
            k === 'entry' ||
            (k === 'sourcemap' && typeof sourcemap === 'boolean') ||
            (k === 'tsconfig' && typeof tsconfig === 'string') ||
            (k === 'resolve' && (resolve === false || bundled.resolve !== undefined || bundled.patterns.length > 0));
          const rest = Object.keys(value as object).filter((k) => !handled(k));
          if (rest.length) out.notReproduced.push({ option: `${key}.${rest.join('/')}`, value: describe(value), why: 'declaration options have no equivalent' });
        }
        break;
      }
      case 'outDir':
        out.outDir = { value: outDir, because: from(key) };
        break;
      case 'target': {
        const list = (Array.isArray(value) ? value : [value]) as unknown[];
        const targets = [...new Set(list.filter((v): v is string => typeof v === 'string' && TARGET_PATTERN.test(v)).map((v) => v.toLowerCase()))];
        // A list is every one of them at once, as esbuild reads it (trpc: ['node18', 'es2017']).
        if (targets.length > 0 && targets.length === list.length) out.target = { value: targets.length === 1 ? targets[0]! : targets, because: from(key) };
        else if (value !== false) skip(key, 'only targets like node20, es2022, esnext or chrome120 (one, or a list of them) have an equivalent');
        break;
      }
      case 'platform':
        if (value === 'node' || value === 'browser' || value === 'neutral') out.platform = { value, because: from(key) };
        else skip(key, 'not node, browser or neutral');
        break;
      case 'tsconfig': {
        // The tsconfig the declarations (and tsc) run with; tsdown's dts.tsconfig, for the declarations alone, wins (below).
        if (typeof value !== 'string') {
          skip(key, 'only a path has an equivalent');
          break;
        }
        tsconfigOption(key, value);
        break;
      }
      case 'shims':
        if (typeof value === 'boolean') out.shims = { value, because: from(key) };
        else skip(key, 'only true or false has an equivalent');
        break;
      case 'splitting':
        if (tool === 'tsup' && typeof value === 'boolean') out.splitting = { value, because: from(key) };
        else skip(key, 'no equivalent option');
        break;
      case 'sourcemap':
        if (value === true || value === false || value === 'inline') out.sourcemap = { value, because: from(key) };
        else skip(key, "only true, false or 'inline' have an equivalent");
        break;
      case 'minify':
        if (typeof value === 'boolean') out.minify = { value, because: from(key) };
        else {
          out.minify = { value: true, because: from(key) };
          skip(key, 'minified by the adapter (esbuild/bun/rollup), not with these settings');
        }
        break;
      case 'external':
        addExternal(out, key, value, from(key));
        break;
      case 'skipNodeModulesBundle':
        // tsup: every import that resolves into node_modules stays external. The dependency fields are external
        // here anyway; what tsup would also keep out are the devDependencies.
        if (value === true) addDevDependencies(out, pkg, from(key));
        else if (value !== false) skip(key, 'only true or false has an equivalent');
        break;
      case 'noExternal':
        addExternal(out, key, value, from(key), 'noExternal');
        break;
      case 'deps':
        // tsdown >= 0.15: neverBundle is what external was, alwaysBundle what noExternal was; the rest has no equivalent.
        for (const [option, v] of Object.entries(value && typeof value === 'object' ? value : {})) {
          if (option === 'neverBundle') addExternal(out, 'deps.neverBundle', v, from('deps.neverBundle'));
          else if (option === 'alwaysBundle') addExternal(out, 'deps.alwaysBundle', v, from('deps.alwaysBundle'), 'noExternal');
          else out.notReproduced.push({ option: `deps.${option}`, value: describe(v), why: 'no equivalent option' });
        }
        break;
      case 'define':
      case 'env': {
        if (!value || typeof value !== 'object') {
          skip(key, 'not a record');
          break;
        }
        const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => (key === 'env' ? [`process.env.${k}`, JSON.stringify(String(v))] : [k, String(v)]));
        const define = { ...(out.define?.value ?? {}), ...Object.fromEntries(entries) };
        out.define = { value: define, because: out.define ? `${out.define.because} and ${key}` : from(key) };
        break;
      }
      case 'banner': {
        const js = typeof value === 'string' ? value : value && typeof value === 'object' ? (value as { js?: unknown }).js : undefined;
        if (typeof js === 'string') out.banner = { value: js, because: from(typeof value === 'string' ? key : 'banner.js') };
        const rest = value && typeof value === 'object' ? Object.keys(value as object).filter((k) => k !== 'js') : [];
        if (rest.length) out.notReproduced.push({ option: `banner.${rest.join('/')}`, value: describe(value), why: 'build-system puts a banner on JS outputs only' });
        break;
      }
      case 'clean':
        if (typeof value === 'boolean') out.clean = { value, because: from(key) };
        else skip(key, 'cleaning a list of globs has no equivalent (clean: true empties outDir)');
        break;
      case 'legacyOutput':
        // tsup: ESM in <outDir>/esm, both formats as .js (the directory's package.json says which).
        if (value === true) out.formatDir = { value: { esm: 'esm', cjs: '' }, because: from(key) };
        break;
      case 'fixedExtension':
        if (value === true) out.outExtension = { value: { esm: '.mjs', cjs: '.cjs' }, because: from(key) };
        break;
      case 'outExtension':
      case 'outExtensions': {
        if (typeof value !== 'function') {
          skip(key, 'not a function');
          break;
        }
        const ext: { esm?: '.js' | '.mjs'; cjs?: '.js' | '.cjs' } = {};
        const bad: string[] = [];
        for (const format of ['esm', 'cjs'] as const) {
          let js: unknown;
          try {
            js = (value as (ctx: object) => { js?: unknown } | undefined)({ format, options, pkgType: pkg.type })?.js;
          } catch {
            bad.push(format);
            continue;
          }
          if (js === undefined) continue;
          if (format === 'esm' && (js === '.js' || js === '.mjs')) ext.esm = js;
          else if (format === 'cjs' && (js === '.js' || js === '.cjs')) ext.cjs = js;
          else bad.push(`${format} ${String(js)}`);
        }
        if (Object.keys(ext).length) out.outExtension = { value: ext, because: `${from(key)} (called for esm and cjs)` };
        if (bad.length) out.notReproduced.push({ option: key, value: bad.join(', '), why: 'build-system writes .js, .mjs or .cjs' });
        break;
      }
      case 'unbundle':
        if (value === true) out.unbundle = { value: true, because: from(key) };
        break;
      case 'bundle':
        if (value === false) out.unbundle = { value: true, because: from(key) };
        break;
      case 'keepNames':
        // tsup: esbuild's keepNames.
        if (value === true) out.keepNames = { value: true, because: from(key) };
        else if (value !== false) skip(key, 'only true or false has an equivalent');
        break;
      case 'outputOptions': {
        // tsdown: Rolldown's output options; keepNames (function and class names kept through minification) is esbuild's too.
        const options = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
        if (options?.keepNames === true) out.keepNames = { value: true, because: from(`${key}.keepNames`) };
        const rest = options ? Object.keys(options).filter((k) => k !== 'keepNames') : [key];
        if (rest.length) out.notReproduced.push({ option: options ? `${key}.${rest.join('/')}` : key, value: describe(options ? Object.fromEntries(rest.map((k) => [k, options[k]])) : value), why: 'no equivalent option' });
        break;
      }
      case 'plugins':
        out.hasPlugins = Array.isArray(value) && value.length > 0;
        if (out.hasPlugins) skip(key, tool === 'tsdown' ? 'Rollup-style plugins: pass them in adapterOptions.rollup.plugins' : 'plugins have no equivalent');
        break;
      default:
        if (NO_OUTPUT_EFFECT[tool]!.has(key)) out.ignored.push(key);
        else skip(key, 'no equivalent option');
    }
  }
  if (dtsTsconfig) tsconfigOption(dtsTsconfig.option, dtsTsconfig.value);
  return out;
}

/**
 * tsup's and tsdown's `dts.resolve` (true, or package names and RegExps): the packages whose types they
 * inline. Names and true map onto build-system's `dts.resolve`; a RegExp or function has no equivalent
 * (ours takes names), so it is reported. Plain `dts: true` stays per-source declarations: those need
 * nothing beyond TypeScript and type the package the same when every import is installed for its users;
 * only inlining needs the bundle (and rollup-plugin-dts, which the user installs).
 */
function dtsResolve(resolve: unknown): { resolve?: true | string[]; patterns: string[] } {
  if (resolve === true) return { resolve: true, patterns: [] };
  if (!Array.isArray(resolve)) return { patterns: [] };
  const names = resolve.filter((r): r is string => typeof r === 'string');
  const patterns = resolve.filter((r) => typeof r !== 'string').map((r) => String(r));
  return { resolve: names.length ? names : undefined, patterns };
}
