import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import { isObserving, observeFile, observeRead } from '../cache/noop/observer.js';

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

export function readPackageJson(dir: string): PackageJson {
  const file = path.join(dir, 'package.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    observeRead(file, text);
  } catch {
    throw new BuildSystemError('PACKAGE_NOT_FOUND', `no package.json in ${dir}`, { file });
  }
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    return json as PackageJson;
  } catch (e) {
    throw new BuildSystemError('PACKAGE_JSON_INVALID', `package.json is not a JSON object (${(e as Error).message})`, { file });
  }
}

function isWorkspaceRoot(dir: string): boolean {
  if (isObserving()) {
    observeFile(path.join(dir, 'pnpm-workspace.yaml'));
    observeFile(path.join(dir, 'package.json'));
  }
  if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return true;
  const file = path.join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    const text = readFileSync(file, 'utf8');
    observeRead(file, text);
    const json = JSON.parse(text) as PackageJson;
    return json.workspaces !== undefined;
  } catch {
    return false;
  }
}

/** The nearest ancestor (or self) that declares workspaces; else `dir` itself. */
export function findWorkspaceRoot(dir: string): string {
  let cur = path.resolve(dir);
  for (;;) {
    if (isWorkspaceRoot(cur)) return cur;
    const parent = path.dirname(cur);
    if (parent === cur) return path.resolve(dir);
    cur = parent;
  }
}

export function detectPackageManager(root: string): PackageManager {
  if (existsSync(path.join(root, 'pnpm-lock.yaml')) || existsSync(path.join(root, 'pnpm-workspace.yaml'))) return 'pnpm';
  if (existsSync(path.join(root, 'yarn.lock'))) return 'yarn';
  if (existsSync(path.join(root, 'bun.lock')) || existsSync(path.join(root, 'bun.lockb'))) return 'bun';
  return 'npm';
}

export function loadPackageInfo(dir: string, workspaceRoot?: string): PackageInfo {
  const abs = path.resolve(dir);
  const manifest = readPackageJson(abs);
  const root = workspaceRoot ?? findWorkspaceRoot(abs);
  return {
    name: typeof manifest.name === 'string' && manifest.name ? manifest.name : path.basename(abs),
    version: typeof manifest.version === 'string' ? manifest.version : '0.0.0',
    dir: abs,
    manifest,
    type: manifest.type === 'module' ? 'module' : 'commonjs',
    workspaceRoot: root,
    packageManager: detectPackageManager(root),
  };
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
