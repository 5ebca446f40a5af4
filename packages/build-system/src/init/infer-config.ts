import path from 'node:path';
import { canonicalJson } from '../cache/fingerprint.js';
import { validateConfig } from '../config/validate.js';
import { outputName, resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import { formatPrefix } from '../config/format-dirs.js';
import { buildConfigSchema, type BuildConfigInput, type Format } from '../config/schema.js';
import { BuildSystemError, isBuildSystemError } from '../errors.js';
import type { AdapterDecision } from './choose-adapter.js';
import type { PackageFacts } from './package-facts.js';
import { publishedChoices } from './published-outputs.js';
import type { Choice, NotReproduced } from './tool-options.js';

/**
 * The config `init` writes: every choice the facts support (package.json, the
 * tool config or build script, the tsconfig), then only those that change
 * what build-system resolves. A field is dropped when the config without it
 * resolves (src/config/resolve.ts, the builder's own defaults) to the same
 * ResolvedConfig; so the result follows whatever resolve.ts derives by itself,
 * now and as it learns more.
 */

export type FieldName = keyof BuildConfigInput;

export interface ConfigField {
  name: FieldName;
  value: unknown;
  because: string;
}

export interface InferredConfig {
  /** The fields to write, in the order written. */
  fields: ConfigField[];
  /** What the written config resolves to. */
  resolved: ResolvedConfig;
  notReproduced: NotReproduced[];
  ignored: string[];
  warnings: string[];
}

/** The order fields are written in (the order of the schema). */
const ORDER: FieldName[] = ['adapter', 'entry', 'outDir', 'format', 'formatDir', 'outExtension', 'platform', 'target', 'sourcemap', 'minify', 'splitting', 'bundle', 'shims', 'dts', 'emit', 'external', 'noExternal', 'define', 'banner', 'clean', 'adapterOptions'];

/** ResolvedConfig without what does not describe the build (the config file's path, the raw input). */
export function comparable(r: ResolvedConfig): Record<string, unknown> {
  const { configFile: _file, raw: _raw, ...rest } = r;
  return rest;
}

function resolveInput(facts: PackageFacts, input: BuildConfigInput): ResolvedConfig {
  return resolveConfig(facts.pkg, buildConfigSchema.parse(input), null);
}

/**
 * The config with every choice, validated and resolved as the loader would; a
 * problem is reported against the file init would write (the values came from
 * the tool config or package.json, and the message says which field).
 */
function resolveChosen(facts: PackageFacts, input: BuildConfigInput, from: readonly string[]): ResolvedConfig {
  const file = path.join(facts.pkg.dir, facts.configName);
  try {
    return resolveConfig(facts.pkg, validateConfig(input, file, facts.pkg), file);
  } catch (e) {
    if (!isBuildSystemError(e)) throw e;
    // Where the values came from (the tool config, the build script): what the user has to look at.
    const source = from.length ? ` from ${from.join(', ')}` : '';
    const issues = e.issues.map((i) => ({ ...i, file: facts.configName, message: `init cannot write a valid config${source}: ${i.message}` }));
    throw new BuildSystemError(e.code, issues[0]!.message, { package: facts.pkg.name, file: facts.configName, field: e.field, issues });
  }
}

/** The directory every declared output is in, when they share one (package.json `main: ./lib/index.js` → lib). */
function declaredOutDir(facts: PackageFacts): string | undefined {
  const files = facts.js.length ? facts.js.filter((o) => !facts.bins.includes(o.path) || facts.js.length === facts.bins.length) : facts.types;
  const dirs = new Set(files.map((f) => (f.path.includes('/') ? f.path.split('/')[0]! : '')));
  if (dirs.size !== 1) return undefined;
  const [dir] = dirs;
  return dir || undefined;
}

/** The JS extension package.json names per format (the first output of each format), inside outDir. */
function declaredExtensions(facts: PackageFacts, outDir: string): { esm?: '.js' | '.mjs'; cjs?: '.js' | '.cjs'; from: string[] } {
  const found: { esm?: '.js' | '.mjs'; cjs?: '.js' | '.cjs'; from: string[] } = { from: [] };
  for (const o of facts.js) {
    if (!o.path.startsWith(`${outDir}/`)) continue;
    const ext = /\.(c|m)?js$/.exec(o.path)![0];
    if (o.format === 'esm' && found.esm === undefined && (ext === '.js' || ext === '.mjs')) {
      found.esm = ext;
      found.from.push(`${o.field} ./${o.path}`);
    } else if (o.format === 'cjs' && found.cjs === undefined && (ext === '.js' || ext === '.cjs')) {
      found.cjs = ext;
      found.from.push(`${o.field} ./${o.path}`);
    }
  }
  return found;
}

export function inferConfig(facts: PackageFacts, decision: AdapterDecision): InferredConfig {
  const o = decision.options;
  const choices = new Map<FieldName, Choice>();
  const set = (name: FieldName, choice: Choice | undefined) => {
    if (choice !== undefined) choices.set(name, choice);
  };
  set('adapter', { value: decision.adapter, because: decision.because });
  const outDirFromPackage = declaredOutDir(facts);
  const outDirChoice = o.outDir ?? (outDirFromPackage ? { value: outDirFromPackage, because: `package.json names its files in ${outDirFromPackage}/` } : undefined);
  const outDir = outDirChoice?.value ?? 'dist';
  // The tool's own options first (they are what it builds), then what a pnpm package publishes.
  const published = publishedChoices(facts, outDir);
  // tsc compiles what its tsconfig includes, not entries.
  set('entry', o.entry ?? (decision.adapter === 'tsc' ? undefined : published.entry));
  set('outDir', outDirChoice);
  set('format', o.format ?? published.format);
  set('formatDir', o.formatDir);
  if (o.outExtension) set('outExtension', o.outExtension);
  else {
    const { from, ...ext } = declaredExtensions(facts, outDir);
    if (from.length) set('outExtension', { value: ext, because: `package.json ${from.join(', ')}` });
  }
  set('platform', o.platform);
  set('target', o.target);
  set('sourcemap', o.sourcemap);
  set('minify', o.minify);
  set('splitting', o.splitting);
  set('bundle', o.bundle);
  set('shims', o.shims);
  set('dts', o.dts ?? published.dts);
  set('emit', decision.emit);
  const covered = new Set(dependencyNames(facts));
  if (o.external) {
    const extra = o.external.value.filter((n) => !covered.has(n));
    if (extra.length) set('external', { value: extra, because: `${o.external.because} (dependencies are external anyway)` });
  }
  set('noExternal', o.noExternal);
  set('define', o.define);
  set('banner', o.banner);
  set('clean', o.clean);
  const tscProject = decision.tscProject ?? o.tsconfig;
  const declarationMap = o.declarationMap && o.dts?.value !== false ? { value: ['--declarationMap'], because: o.declarationMap.because } : undefined;
  const tscArgs = [decision.tscArgs, declarationMap].filter((c): c is Choice<string[]> => c !== undefined);
  const adapterOptions: Record<string, Record<string, unknown>> = {};
  const because: string[] = [];
  if (tscProject || tscArgs.length > 0) {
    const tsc: Record<string, unknown> = {};
    if (tscProject) {
      tsc.project = tscProject.value;
      because.push(tscProject.because);
    }
    if (tscArgs.length > 0) {
      tsc.args = tscArgs.flatMap((c) => c.value);
      because.push(...tscArgs.map((c) => c.because));
    }
    adapterOptions.tsc = tsc;
  }
  // keepNames is esbuild's option; another adapter has none to take it.
  if (o.keepNames && decision.adapter === 'esbuild') {
    adapterOptions.esbuild = { keepNames: true };
    because.push(o.keepNames.because);
  } else if (o.keepNames) {
    o.notReproduced.push({ option: 'keepNames', value: 'true', why: `only the esbuild adapter has it (this package builds with ${decision.adapter})` });
  }
  if (Object.keys(adapterOptions).length > 0) set('adapterOptions', { value: adapterOptions, because: because.join('; ') });

  // Everything chosen, then drop what resolves the same without it.
  const input = (): BuildConfigInput => Object.fromEntries([...choices].map(([k, c]) => [k, c.value])) as BuildConfigInput;
  const full = resolveChosen(facts, input(), decision.sources);
  const target = canonicalJson(comparable(full));
  const same = (candidate: BuildConfigInput) => {
    try {
      return canonicalJson(comparable(resolveInput(facts, candidate))) === target;
    } catch {
      return false;
    }
  };
  for (const name of ORDER) {
    const choice = choices.get(name);
    if (!choice) continue;
    if (name === 'outExtension') {
      // Per format: package.json may name one format's extension that resolve.ts derives and not the other's.
      const ext = { ...(choice.value as Record<Format, string>) };
      for (const format of ['esm', 'cjs'] as const) {
        if (!(format in ext)) continue;
        const { [format]: _dropped, ...rest } = ext;
        choices.set(name, { ...choice, value: rest });
        if (same(input())) delete ext[format];
        choices.set(name, { ...choice, value: ext });
      }
      if (Object.keys(ext).length === 0) choices.delete(name);
      continue;
    }
    choices.delete(name);
    if (!same(input())) choices.set(name, choice);
  }

  const warnings = [...decision.warnings, ...published.warnings, ...missingOutputs(facts, full)];
  const fields = ORDER.filter((n) => choices.has(n)).map((name) => ({ name, value: choices.get(name)!.value, because: choices.get(name)!.because }));
  return { fields, resolved: full, notReproduced: o.notReproduced, ignored: o.ignored, warnings };
}

function dependencyNames(facts: PackageFacts): string[] {
  const m = facts.pkg.manifest;
  return [...Object.keys(m.dependencies ?? {}), ...Object.keys(m.peerDependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {})];
}

/**
 * Files package.json names that the config would not produce (a bundler writes
 * `<outDir>/<entry><ext>` per format and, with dts, the declaration beside
 * it). The tsc adapter writes one file per source, so it is not checked here.
 */
function missingOutputs(facts: PackageFacts, r: ResolvedConfig): string[] {
  if (r.adapter === 'tsc' || !r.emit) return [];
  const produced = new Set<string>();
  const noDts = new Set(r.noDtsEntries);
  for (const name of Object.keys(r.entries)) {
    const own = r.entryOptions[name];
    for (const format of own?.formats ?? r.formats) {
      produced.add(`${r.outDir}/${outputName({ formatDir: r.formatDir, outExtension: own?.outExtension ?? r.outExtension }, name, format)}`);
      if (r.dts && !noDts.has(name)) {
        for (const ext of [r.dtsExtension[format], r.declaredDts[format]]) if (ext) produced.add(`${r.outDir}/${formatPrefix(r.formatDir, format)}${name}${ext}`);
      }
    }
  }
  const missing = [...facts.js, ...facts.types].filter((o) => o.path.startsWith(`${r.outDir}/`) && !produced.has(o.path));
  return missing.length ? [`package.json names ${[...new Set(missing.map((m) => `./${m.path}`))].join(', ')}, which this config does not produce`] : [];
}
