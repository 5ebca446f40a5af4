import path from 'node:path';
import { externalTest } from '../adapters/rollup-external.js';
import { globBase } from '../cache/inputs.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { isInside } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * Which workspace dependencies' *outputs* a package's build reads.
 *
 * The scheduler makes a package wait only for those, and the cache key holds
 * only their output hashes (the others are recorded as `external`). A bundler
 * that keeps an import external emits `import '@acme/lib'` and never opens
 * @acme/lib's files, so its output is the same whatever @acme/lib's output is,
 * or whether it exists yet. Waiting for such a dependency only serialises the
 * run along the graph's depth.
 *
 * The answer must never be "not read" when the build could read it: a wrong
 * "not read" builds against a half-written outDir and keys the result without
 * it. So every case we cannot see through counts as read:
 * - the tsc adapter, and any build with `dts: true`: TypeScript reads the
 *   dependencies' declarations (their outputs) to check and emit;
 * - an adapter this file does not know;
 * - adapterOptions that can bring a dependency in past `external` (see
 *   RESOLUTION_OPTIONS), e.g. esbuild plugins: their onResolve runs before
 *   esbuild's external check, which is how tsup's `noExternal` works;
 * - package.json `imports` / object `browser` targets naming the dependency:
 *   esbuild, bun and rollup's node-resolve resolve `#lib` → `@acme/lib` to a
 *   file and bundle it even when `@acme/lib` is external (measured with
 *   esbuild 0.28, bun 1.4, rollup 4 with node-resolve);
 * - a dependency inside this package's directory, or reached by a config
 *   `inputs` glob: its files (outputs included) are inputs of this build;
 * - a dependency that is not external for this build: bundled, i.e. read from
 *   its built output (a workspace devDependency, the usual "internal package").
 *
 * What stays out of reach: a source importing another package by relative
 * path (`../../lib/dist/x.js`). The package graph itself assumes packages are
 * imported by name (its edges come from the dependency fields), as turbo does.
 *
 * Framework-free and pure (no I/O): the scheduler, the dry-run plan and the
 * cache key all ask it and must get the same answer.
 */

/** The part of a prepared package the decision depends on. */
export interface NeedsInput {
  pkg: PackageInfo;
  config: ResolvedConfig;
  /** The adapter that will build (after `auto` is decided), e.g. PreparedPackage.choice.adapter.name. */
  adapter: string;
}

export interface WorkspaceDependencyRef {
  name: string;
  /** Absolute package directory. */
  dir: string;
}

export interface DependencyNeed {
  name: string;
  /** True when the build reads the dependency's files, so it must wait for its build and key on its outputs. */
  readsOutputs: boolean;
  /** Why, in words (for plans and debugging). */
  why: string;
}

type Bundler = 'esbuild' | 'bun' | 'rollup';

/**
 * adapterOptions keys (of the adapter that builds) that can make a bundler
 * read a dependency `config.external` names. `external` replaces our list
 * (esbuild and Bun.build take the adapterOptions after it; so does rollup's
 * input options); `plugins` resolve before the external check (esbuild, bun)
 * or may rewrite the options (rollup's `options` hook); esbuild's `alias`
 * rewrites specifiers, `inject`/`entryPoints`/`stdin` (bun: `entrypoints`)
 * name files directly.
 */
const RESOLUTION_OPTIONS: Record<Bundler, readonly string[]> = {
  esbuild: ['external', 'plugins', 'alias', 'inject', 'entryPoints', 'stdin'],
  bun: ['external', 'plugins', 'entrypoints'],
  rollup: ['external', 'plugins'],
};

function isBundler(adapter: string): adapter is Bundler {
  return adapter === 'esbuild' || adapter === 'bun' || adapter === 'rollup';
}

/** True when `specifier` looks like a package path (not relative or absolute), as esbuild decides it. */
function isPackagePath(specifier: string): boolean {
  return !(specifier.startsWith('/') || specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..');
}

/**
 * esbuild's and bun's `external` matching: one `*` wildcard (prefix + suffix),
 * and a package path also covers its subpaths (`lib` keeps `lib/x` external
 * too; measured with esbuild 0.28 and bun 1.4). More than one `*` is an error
 * in esbuild, so it never makes anything external.
 */
function esbuildExternal(pattern: string, specifier: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return specifier === pattern || (isPackagePath(pattern) && specifier.startsWith(`${pattern}/`));
  if (pattern.includes('*', star + 1)) return false;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return specifier.length >= prefix.length + suffix.length && specifier.startsWith(prefix) && specifier.endsWith(suffix);
}


/**
 * A subpath no real specifier has: a pattern matching it keeps every subpath
 * external (only a prefix pattern with an empty suffix can).
 */
const ANY_SUBPATH = '\u0000';

/** Whether `name` and every subpath of it (`name/x`) stay external for this bundler's build. */
export function isExternalFor(adapter: Bundler, external: readonly string[], name: string): boolean {
  // rollup: the adapter's own test (exact names, `name/*` prefixes; a bare name does not cover its subpaths).
  const covered = adapter === 'rollup' ? externalTest(external) : (specifier: string) => external.some((pattern) => esbuildExternal(pattern, specifier));
  return covered(name) && covered(`${name}/${ANY_SUBPATH}`);
}

/** The package name a bare specifier starts with (`@a/b/c` → `@a/b`, `x/y` → `x`). */
function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every string leaf of a package.json `imports` / `browser` map. */
function stringLeaves(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringLeaves(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value as Record<string, unknown>)) stringLeaves(v, out);
  return out;
}

/** Whether a package.json `imports`/`browser` target can resolve into `dep` (by name, or by a path into its directory). */
function targetReaches(pkgDir: string, target: string, dep: WorkspaceDependencyRef): boolean {
  if (!isPackagePath(target)) return isInside(dep.dir, path.resolve(pkgDir, target.replace(/\*.*$/, '')));
  const name = packageNameOf(target);
  // `#x/*` → `@acme/*`: a wildcard in the name can become any package.
  return name.includes('*') || name === dep.name;
}

const GLOB_SYNTAX = /[*?[\]{}()!]/;

/**
 * Whether a positive `inputs` entry can hash files of `dir` (outDir included).
 * A plain path names one file (`../../tsconfig.base.json` reaches no package);
 * a glob counts when the directory its walk starts from overlaps `dir`, which
 * is coarse (`../../*.json` counts too) but never misses.
 */
function inputsReach(pkgDir: string, inputs: readonly string[], dir: string): boolean {
  return inputs
    .filter((g) => !g.startsWith('!'))
    .some((glob) => {
      if (!GLOB_SYNTAX.test(glob)) return isInside(dir, path.resolve(pkgDir, glob));
      const base = path.resolve(pkgDir, globBase(glob.replace(/^\.\//, '')));
      return isInside(base, dir) || isInside(dir, base);
    });
}

/** A reason that holds for every dependency of the build, or null when it is decided per dependency. */
function wholeBuildReason(input: NeedsInput): string | null {
  const { config, adapter } = input;
  if (adapter === 'tsc') return 'the tsc adapter reads its dependencies’ declarations';
  if (!isBundler(adapter)) return `adapter ${adapter}: not known to keep imports external`;
  if (config.dts) return 'dts: true: TypeScript reads its dependencies’ declarations';
  const options = (config.adapterOptions as Record<string, Record<string, unknown> | undefined>)[adapter] ?? {};
  for (const key of RESOLUTION_OPTIONS[adapter]) {
    const value = options[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0 && key === 'plugins')) continue;
    return `adapterOptions.${adapter}.${key} can bring dependencies in past external`;
  }
  return null;
}

/** For each workspace dependency of a prepared package: does its build read that dependency's outputs, and why. */
export function dependencyNeeds(input: NeedsInput, dependencies: readonly WorkspaceDependencyRef[]): DependencyNeed[] {
  const whole = wholeBuildReason(input);
  if (whole !== null) return dependencies.map((d) => ({ name: d.name, readsOutputs: true, why: whole }));
  const { pkg, config } = input;
  const adapter = input.adapter as Bundler;
  const remaps = [...stringLeaves(pkg.manifest.imports), ...(typeof pkg.manifest.browser === 'object' ? stringLeaves(pkg.manifest.browser) : [])];
  return dependencies.map((dep): DependencyNeed => {
    const need = (readsOutputs: boolean, why: string): DependencyNeed => ({ name: dep.name, readsOutputs, why });
    if (isInside(pkg.dir, dep.dir)) return need(true, 'it lies inside this package: its files are inputs');
    if (inputsReach(pkg.dir, config.inputs, dep.dir)) return need(true, 'config inputs reach into it');
    if (remaps.some((t) => targetReaches(pkg.dir, t, dep))) return need(true, 'package.json imports/browser map a specifier to it (resolved past external)');
    // Every entry's externals: an entry built with its own (config entry options) may bundle what the others keep external.
    const externals = [config.external, ...Object.values(config.entryOptions ?? {}).map((o) => o.external)];
    if (externals.every((external) => isExternalFor(adapter, external, dep.name))) return need(false, `external for ${adapter}: imported, never bundled`);
    return need(true, `bundled by ${adapter} (not in dependencies, peerDependencies, optionalDependencies or config external)`);
  });
}

/** Names of the dependencies whose outputs the build reads (see dependencyNeeds). */
export function dependenciesRead(input: NeedsInput, dependencies: readonly WorkspaceDependencyRef[]): Set<string> {
  return new Set(dependencyNeeds(input, dependencies).filter((n) => n.readsOutputs).map((n) => n.name));
}
