import { existsSync } from 'node:fs';
import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import type { ReadLog } from '../util/read-log.js';

export interface PackageJson {
  name?: string;
  version?: string;
  type?: string;
  main?: string;
  module?: string;
  types?: string;
  typings?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  workspaces?: string[] | { packages?: string[] };
  [key: string]: unknown;
}

export type PackageManager = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface PackageInfo {
  /** package.json name, or the directory name when it has none. */
  name: string;
  version: string;
  /** Absolute package directory. */
  dir: string;
  manifest: PackageJson;
  /** Module system of .js files in this package. */
  type: 'module' | 'commonjs';
  /** Absolute workspace root (the package dir itself when it is not in a workspace). */
  workspaceRoot: string;
  packageManager: PackageManager;
}

export function readPackageJson(dir: string, reads: ReadLog): PackageJson {
  const file = path.join(dir, 'package.json');
  let text: string | undefined;
  try {
    text = reads.readTextOnce(file);
  } catch {
    text = undefined;
  }
  if (text === undefined) throw new BuildSystemError('PACKAGE_NOT_FOUND', `no package.json in ${dir}`, { file });
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
  } catch (e) {
    throw new BuildSystemError('PACKAGE_JSON_INVALID', `package.json is not a JSON object (${(e as Error).message})`, { file });
  }
  checkPackageJsonFields(json as Record<string, unknown>, file);
  return json as PackageJson;
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

/**
 * The fields build-system reads must have the types npm gives them: a wrong
 * one (`"name": 5`) would otherwise be guessed around (a directory name used
 * as the package name) or crash later far from its cause.
 */
function checkPackageJsonFields(json: Record<string, unknown>, file: string): void {
  const fail = (field: string, expected: string, got: unknown): never => {
    const shown = got === null ? 'null' : Array.isArray(got) ? 'an array' : `${typeof got} ${JSON.stringify(got)?.slice(0, 40) ?? ''}`.trim();
    throw new BuildSystemError('PACKAGE_JSON_INVALID', `"${field}" must be ${expected} (got ${shown})`, { file, field });
  };
  for (const field of ['name', 'version'] as const) {
    if (json[field] !== undefined && (typeof json[field] !== 'string' || json[field] === '')) fail(field, 'a non-empty string', json[field]);
  }
  if (json.type !== undefined && json.type !== 'module' && json.type !== 'commonjs') fail('type', '"module" or "commonjs"', json.type);
  for (const field of DEPENDENCY_FIELDS) {
    const deps = json[field];
    if (deps === undefined) continue;
    if (typeof deps !== 'object' || deps === null || Array.isArray(deps)) fail(field, 'an object of package names to version ranges', deps);
    for (const [name, range] of Object.entries(deps as Record<string, unknown>)) {
      if (typeof range !== 'string') fail(`${field}.${name}`, 'a version range string', range);
    }
  }
  if (json.bin !== undefined && typeof json.bin !== 'string' && (typeof json.bin !== 'object' || json.bin === null || Array.isArray(json.bin))) {
    fail('bin', 'a path or an object of command names to paths', json.bin);
  }
}

function isWorkspaceRoot(dir: string, reads: ReadLog): boolean {
  if (reads.stat(path.join(dir, 'pnpm-workspace.yaml'))?.isFile()) return true;
  let text: string | undefined;
  try {
    text = reads.readTextOnce(path.join(dir, 'package.json'));
  } catch {
    return false;
  }
  if (text === undefined) return false;
  try {
    const json = JSON.parse(text) as PackageJson;
    return json.workspaces !== undefined;
  } catch {
    return false;
  }
}

/** The nearest ancestor (or self) that declares workspaces; else `dir` itself. */
export function findWorkspaceRoot(dir: string, reads: ReadLog): string {
  let cur = path.resolve(dir);
  for (;;) {
    if (isWorkspaceRoot(cur, reads)) return cur;
    const parent = path.dirname(cur);
    if (parent === cur) return path.resolve(dir);
    cur = parent;
  }
}

/**
 * The workspace's package manager, from its lockfile. With `reads`, each name looked at is logged
 * (present or absent): the build's package.json validation depends on the answer (pnpm publishes
 * publishConfig's fields), so a no-op record must not outlive a lockfile appearing or going.
 */
export function detectPackageManager(root: string, reads?: ReadLog): PackageManager {
  const has = (name: string) => (reads ? reads.stat(path.join(root, name)) !== undefined : existsSync(path.join(root, name)));
  if (has('pnpm-lock.yaml') || has('pnpm-workspace.yaml')) return 'pnpm';
  if (has('yarn.lock')) return 'yarn';
  if (has('bun.lock') || has('bun.lockb')) return 'bun';
  return 'npm';
}

/**
 * Per run (read log) and workspace root: the package manager, detected once instead of five
 * stats per package (200 packages: a thousand stats of the same few lockfile names).
 */
const managers = new WeakMap<ReadLog, Map<string, PackageManager>>();

function packageManagerOf(root: string, reads: ReadLog): PackageManager {
  let byRoot = managers.get(reads);
  if (!byRoot) managers.set(reads, (byRoot = new Map()));
  let manager = byRoot.get(root);
  if (!manager) byRoot.set(root, (manager = detectPackageManager(root, reads)));
  return manager;
}

export function loadPackageInfo(dir: string, reads: ReadLog, workspaceRoot?: string): PackageInfo {
  const abs = path.resolve(dir);
  const manifest = readPackageJson(abs, reads);
  const root = workspaceRoot ?? findWorkspaceRoot(abs, reads);
  return {
    name: manifest.name ?? path.basename(abs),
    version: manifest.version ?? '0.0.0',
    dir: abs,
    manifest,
    type: manifest.type === 'module' ? 'module' : 'commonjs',
    workspaceRoot: root,
    packageManager: packageManagerOf(root, reads),
  };
}

/**
 * The command that adds a dev dependency at the workspace root (which every
 * package there resolves), run in that directory. pnpm and Yarn 1 want a flag
 * to add to a workspace root (`-w`, `-W`); Yarn 2+ (a `.yarnrc.yml` at the
 * root) has none. `reads`: the check of that file is recorded like any other.
 */
export function rootInstallCommand(pkg: PackageInfo, dep: string, reads: ReadLog): string {
  const inWorkspace = pkg.workspaceRoot !== pkg.dir;
  switch (pkg.packageManager) {
    case 'pnpm':
      return inWorkspace ? `pnpm add -D -w ${dep}` : `pnpm add -D ${dep}`;
    case 'yarn':
      return inWorkspace && reads.stat(path.join(pkg.workspaceRoot, '.yarnrc.yml')) === undefined ? `yarn add -D -W ${dep}` : `yarn add -D ${dep}`;
    case 'bun':
      return `bun add -d ${dep}`;
    default:
      return `npm install -D ${dep}`;
  }
}

/** The exact command that adds dev dependencies to this package with its package manager. */
export function installCommand(pkg: PackageInfo, deps: readonly string[]): string {
  const list = deps.join(' ');
  const inWorkspace = pkg.workspaceRoot !== pkg.dir;
  switch (pkg.packageManager) {
    case 'pnpm':
      return inWorkspace ? `pnpm add -D ${list} --filter ${pkg.name}` : `pnpm add -D ${list}`;
    case 'yarn':
      return inWorkspace ? `yarn workspace ${pkg.name} add -D ${list}` : `yarn add -D ${list}`;
    case 'bun':
      return `bun add -d ${list} --cwd ${path.relative(process.cwd(), pkg.dir) || '.'}`;
    default:
      return inWorkspace ? `npm install -D ${list} --workspace ${pkg.name}` : `npm install -D ${list}`;
  }
}
