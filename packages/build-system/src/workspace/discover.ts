import path from 'node:path';
import picomatch from 'picomatch';
import { BuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import { findWorkspaceRoot, loadPackageInfo, readPackageJson, type PackageInfo } from './package-info.js';
import type { ReadLog } from '../util/read-log.js';

/** Reads the `packages:` list of a pnpm-workspace.yaml (the only key we need). */
export function parsePnpmWorkspace(text: string): string[] {
  const globs: string[] = [];
  let inPackages = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '');
    if (/^packages\s*:/.test(line)) {
      inPackages = true;
      const inline = /\[(.*)\]/.exec(line);
      if (inline?.[1]) {
        for (const item of inline[1].split(',')) globs.push(item.trim().replace(/^['"]|['"]$/g, ''));
        inPackages = false;
      }
      continue;
    }
    if (inPackages) {
      const item = /^\s*-\s*(.+?)\s*$/.exec(line);
      if (item?.[1]) globs.push(item[1].replace(/^['"]|['"]$/g, ''));
      else if (/^\S/.test(line)) inPackages = false;
    }
  }
  return globs.filter(Boolean);
}

/** Workspace globs of the root: package.json `workspaces` (array or object form) or pnpm-workspace.yaml. */
export function workspaceGlobs(root: string, reads: ReadLog): string[] {
  const pnpm = reads.readText(path.join(root, 'pnpm-workspace.yaml'));
  if (pnpm !== undefined) return parsePnpmWorkspace(pnpm);
  const manifest = readPackageJson(root, reads);
  const ws = manifest.workspaces;
  if (Array.isArray(ws)) return ws;
  if (ws && Array.isArray(ws.packages)) return ws.packages;
  return [];
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist']);

/**
 * Every package directory of the workspace that matches its globs (negations
 * with a leading `!` remove). Walks only as deep as the deepest glob needs.
 */
export function discoverPackageDirs(root: string, reads: ReadLog): string[] {
  const globs = workspaceGlobs(root, reads).map((g) => g.replace(/^\.\//, '').replace(/\/+$/, ''));
  const include = globs.filter((g) => !g.startsWith('!'));
  const exclude = globs.filter((g) => g.startsWith('!')).map((g) => g.slice(1).replace(/^\.\//, ''));
  if (include.length === 0) return [];
  const isIncluded = picomatch(include);
  const isExcluded = exclude.length ? picomatch(exclude) : () => false;
  const unbounded = include.some((g) => g.includes('**'));
  const maxDepth = unbounded ? 8 : Math.max(...include.map((g) => g.split('/').length));
  const found: string[] = [];
  const walk = (dir: string, rel: string, depth: number) => {
    if (depth > maxDepth) return;
    const entries = reads.list(dir);
    for (const e of entries) {
      if (!e.isDirectory() || SKIP_DIRS.has(e.name) || e.name.startsWith('.')) continue;
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, e.name);
      if (isIncluded(childRel) && !isExcluded(childRel) && reads.stat(path.join(abs, 'package.json'))?.isFile()) found.push(abs);
      walk(abs, childRel, depth + 1);
    }
  };
  walk(root, '', 1);
  return found.sort();
}

export interface Workspace {
  root: string;
  packages: PackageInfo[];
  byName: Map<string, PackageInfo>;
  /**
   * Names more than one package has (pnpm allows it: example apps copied from one template), with
   * their directories. Those packages are not in `packages`: a name must say which package it is.
   * Naming one, or depending on it, is an error (duplicateNameError); each can still be built by its directory.
   */
  duplicates?: Map<string, PackageInfo[]>;
}

export function loadWorkspace(fromDir: string, reads: ReadLog): Workspace {
  const root = findWorkspaceRoot(fromDir, reads);
  const dirs = discoverPackageDirs(root, reads);
  const all = dirs.map((d) => loadPackageInfo(d, reads, root));
  const named = new Map<string, PackageInfo[]>();
  for (const p of all) named.set(p.name, [...(named.get(p.name) ?? []), p]);
  const duplicates = new Map<string, PackageInfo[]>();
  const byName = new Map<string, PackageInfo>();
  for (const [name, list] of named) {
    if (list.length > 1) duplicates.set(name, list);
    else byName.set(name, list[0]!);
  }
  const packages = duplicates.size > 0 ? all.filter((p) => !duplicates.has(p.name)) : all;
  return { root, packages, byName, ...(duplicates.size > 0 ? { duplicates } : {}) };
}

/** The error for a name several workspace packages have, where it is used (`dependent`: the package that depends on it). */
export function duplicateNameError(ws: Workspace, name: string, dependent?: string): BuildSystemError {
  const dirs = (ws.duplicates?.get(name) ?? []).map((p) => toPosix(path.relative(ws.root, p.dir)));
  const where = dependent ? `; ${dependent} depends on it, so which one it means is a guess` : '; name one by its directory';
  return new BuildSystemError('PACKAGE_JSON_INVALID', `two workspace packages are named ${name}: ${dirs.join(' and ')}${where}`, {
    package: dependent ?? name,
    file: path.join(ws.duplicates?.get(name)?.[1]?.dir ?? ws.root, 'package.json'),
    field: 'name',
  });
}

const DEP_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

/** Names of workspace packages this package depends on (any dependency field, any protocol). */
export function workspaceDependencies(pkg: PackageInfo, ws: Workspace): string[] {
  const names = new Set<string>();
  for (const field of DEP_FIELDS) {
    for (const name of Object.keys(pkg.manifest[field] ?? {})) {
      if (name !== pkg.name && ws.duplicates?.has(name)) throw duplicateNameError(ws, name, pkg.name);
      if (name !== pkg.name && ws.byName.has(name)) names.add(name);
    }
  }
  return [...names].sort();
}
