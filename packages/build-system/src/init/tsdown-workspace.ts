import path from 'node:path';
import picomatch from 'picomatch';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { parseJsonc } from '../util/tsconfig-chain.js';
import type { PackageInfo, PackageJson } from '../workspace/package-info.js';
import { findConfigOf, readToolConfig, type ToolConfig, type ToolName } from './tool-config.js';
import { describe } from './describe-value.js';
import type { NotReproduced } from './tool-options.js';

/**
 * tsdown's workspace mode, read the way tsdown applies it (tsdown 0.2x, src/config/workspace.ts and
 * src/config/index.ts): tsdown runs at the workspace root and loads the root's config (tsdown.config.*,
 * else package.json `tsdown`). Only in workspace mode (the config's `workspace`, or `--workspace [dir]`
 * on the command line, which replaces it) does it build packages with it: `true` or `include: 'auto'`
 * is every directory below the root holding a package.json, globs name package directories, and
 * `exclude` (default node_modules, dist, test(s), t(e)mp) leaves some out. For each package it loads
 * the package's own config (tsdown.config.* or package.json `tsdown` in that directory only; a
 * function gets `{ rootConfig }`) and merges it over the root's the way defu does: the package's value
 * wins, objects merge key by key, arrays concatenate (the package's items first). A package for which
 * neither sets `entry` is skipped. `workspace.config: false` stops the packages' own configs from
 * being read. Whether tsdown runs at the root at all is tsdown-run.ts's question.
 *
 * Not carried over, and said so: more than one root config (tsdown builds each package once per
 * root config; the first is used), `workspace.config` naming a file (tsdown resolves it from the
 * directory it is started in), and `ci`-dependent values (read as a local run).
 */

export interface WorkspaceToolConfig {
  /** The merged config, or undefined when tsdown's workspace mode does not build the package. */
  config?: ToolConfig;
  notReproduced: NotReproduced[];
  warnings: string[];
}

const DEFAULT_EXCLUDE = ['**/node_modules/**', '**/dist/**', '**/test?(s)/**', '**/t?(e)mp/**'];

type Options = Record<string, unknown>;

function isPlainObject(v: unknown): v is Options {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === null || proto === Object.prototype) && !(Symbol.iterator in v) && !(Symbol.toStringTag in v);
}

/** defu's rule, which tsdown's mergeConfig is: `over` wins, null/undefined in it do not count, objects merge, arrays concatenate. */
export function mergeOver(over: Options, under: Options): Options {
  const out: Options = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (key === '__proto__' || key === 'constructor' || value === null || value === undefined) continue;
    const base = out[key];
    if (Array.isArray(value) && Array.isArray(base)) out[key] = [...value, ...base];
    else if (isPlainObject(value) && isPlainObject(base)) out[key] = mergeOver(value, base);
    else out[key] = value;
  }
  return out;
}

/** A directory's tsdown config is evaluated once per run, not once per package below it. */
const dirConfigs = new WeakMap<ReadLog, Map<string, Promise<ToolConfig | undefined>>>();

/**
 * The tsdown config of a directory above packages (the workspace root, or any directory between), named
 * relative to that directory. `withPackageJson`: also its package.json `tsdown` (tsdown reads that one
 * only where it starts looking: the workspace root for a workspace run).
 */
export function readDirConfig(dir: string, reads: ReadLog, withPackageJson: boolean): Promise<ToolConfig | undefined> {
  let byDir = dirConfigs.get(reads);
  if (!byDir) dirConfigs.set(reads, (byDir = new Map()));
  const cacheKey = `${dir}\0${withPackageJson}`;
  let pending = byDir.get(cacheKey);
  if (!pending) {
    let manifest: PackageJson = {};
    try {
      if (withPackageJson) manifest = (parseJsonc(reads.readText(path.join(dir, 'package.json')) ?? '{}') ?? {}) as PackageJson;
    } catch {
      // A package.json that does not parse holds no `tsdown` key; the workspace reports it elsewhere.
    }
    const holder: PackageInfo = { name: toPosix(dir), version: '0.0.0', dir, manifest, type: manifest.type === 'module' ? 'module' : 'commonjs', workspaceRoot: dir, packageManager: 'npm' };
    const found = findConfigOf('tsdown', holder, reads);
    pending = found ? readToolConfig(holder, found, reads, { ci: false }) : Promise.resolve(undefined);
    byDir.set(cacheKey, pending);
  }
  return pending;
}

/** A config file of `dir` named from the package, like every other file in its result: ../../tsdown.config.ts, ../../package.json#tsdown. */
export function fromPackage(pkg: PackageInfo, dir: string, config: ToolConfig): string {
  const [rel, key] = config.file.split('#') as [string, string?];
  return toPosix(path.relative(pkg.dir, path.join(dir, rel))) + (key ? `#${key}` : '');
}

/** Whether the root config's `workspace` takes in the package directory (`rel`, posix, from the root). */
function covers(workspace: Options, rel: string): boolean {
  const exclude = workspace.exclude === undefined ? DEFAULT_EXCLUDE : ([] as unknown[]).concat(workspace.exclude).filter((e): e is string => typeof e === 'string');
  const excluded = exclude.length > 0 && picomatch(exclude)(`${rel}/package.json`);
  const include = workspace.include ?? 'auto';
  if (include === 'auto') return !excluded;
  const globs = ([] as unknown[]).concat(include).filter((g): g is string => typeof g === 'string').map((g) => toPosix(g).replace(/^\.\//, '').replace(/\/+$/, ''));
  return globs.length > 0 && picomatch(globs)(rel) && !excluded;
}

/**
 * The config tsdown builds the package with in workspace mode, or undefined when the root has no
 * tsdown config in workspace mode taking in the package (then the package's own config, if any, is
 * all there is). `own` is the package's own tsdown config file (findToolConfig); `cli` the
 * `--workspace [dir]` of a tsdown run at the root, which replaces the config's `workspace` (tsdown
 * merges its command line over the config the same way).
 */
export async function tsdownWorkspaceConfig(pkg: PackageInfo, own: { tool: ToolName; file: string } | undefined, reads: ReadLog, cli?: true | string): Promise<WorkspaceToolConfig | undefined> {
  const root = await readDirConfig(pkg.workspaceRoot, reads, true);
  if (!root) return undefined;
  const rootFile = fromPackage(pkg, pkg.workspaceRoot, root);
  const notReproduced: NotReproduced[] = [];
  const warnings: string[] = [];
  let rootOptions = root.value;
  if (Array.isArray(rootOptions)) {
    rootOptions.slice(1).forEach((other, i) => notReproduced.push({ option: `${rootFile}[${i + 1}]`, value: describe(other), why: 'tsdown builds each package once per root config; only the first is used' }));
    rootOptions = rootOptions[0];
  }
  if (!isPlainObject(rootOptions)) return undefined;
  const mode = cli ?? rootOptions.workspace;
  if (!mode) return undefined;
  // pnpm sets INIT_CWD to where it was started: the package, when its build script runs `pnpm -w run …`.
  const initCwd = typeof mode === 'string' && /^\$\{?INIT_CWD\}?$/.test(mode);
  const workspace: Options = mode === true ? {} : initCwd ? { include: toPosix(path.relative(pkg.workspaceRoot, pkg.dir)) } : typeof mode === 'string' || Array.isArray(mode) ? { include: mode } : isPlainObject(mode) ? mode : {};
  if (!covers(workspace, toPosix(path.relative(pkg.workspaceRoot, pkg.dir)))) return undefined;

  // The package's own config, unless `workspace.config: false` tells tsdown not to read it.
  let ownConfig: ToolConfig | undefined;
  if (workspace.config === false) {
    if (own) warnings.push(`${rootFile} sets workspace.config: false, so tsdown does not read ${toPosix(path.relative(pkg.dir, own.file))}; neither did init`);
  } else {
    if (typeof workspace.config === 'string') {
      notReproduced.push({ option: `${rootFile} workspace.config`, value: describe(workspace.config), why: "tsdown resolves it from the directory it is started in; init read the package's own config instead" });
    }
    if (own) ownConfig = await readToolConfig(pkg, own, reads, { ci: false, rootConfig: rootOptions });
  }
  let ownOptions: unknown = ownConfig?.value ?? {};
  if (Array.isArray(ownOptions)) {
    ownOptions.slice(1).forEach((other, i) => notReproduced.push({ option: `${ownConfig!.file}[${i + 1}]`, value: describe(other), why: 'build-system builds one set of options per package; only the first config is used' }));
    ownOptions = ownOptions[0] ?? {};
  }
  if (!isPlainObject(ownOptions)) return undefined;

  const { workspace: _consumed, ...rootShared } = rootOptions;
  const merged = mergeOver(ownOptions, rootShared);
  if (!merged.entry) {
    // tsdown drops a workspace package whose merged config has no entry (it does not fall back to src/index.ts there).
    warnings.push(`tsdown's workspace build (${rootFile}) skips this package: neither it nor the package's own config sets entry`);
    return { notReproduced, warnings };
  }
  const ownFile = ownConfig?.file;
  const origin = (option: string) => {
    const inOwn = ownFile !== undefined && (ownOptions as Options)[option] !== undefined;
    const inRoot = rootShared[option] !== undefined;
    if (inOwn && inRoot) return `${ownFile} ${option}, merged over ${rootFile}'s as tsdown's workspace mode does`;
    return `${inOwn ? ownFile : rootFile} ${option}`;
  };
  return {
    config: {
      tool: 'tsdown',
      file: ownFile ?? rootFile,
      value: merged,
      placeholders: [...new Set([...(ownConfig?.placeholders ?? []), ...root.placeholders])],
      files: ownFile ? [ownFile, rootFile] : [rootFile],
      origin,
    },
    notReproduced,
    warnings,
  };
}
