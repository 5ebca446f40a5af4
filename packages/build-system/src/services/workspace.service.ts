import { existsSync } from 'node:fs';
import path from 'node:path';
import { findConfigFile } from '../config/load.js';
import { BuildSystemError, exitCodeFor, isBuildSystemError, type ErrorCode } from '../errors.js';
import { RESULT_SCHEMA_VERSION, type BuildResult, type RunResult } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import { buildOrder, loadWorkspace, workspaceDependencies, type Workspace } from '../workspace/discover.js';
import { findWorkspaceRoot, loadPackageInfo, type PackageInfo } from '../workspace/package-info.js';
import { PackageBuildService, type PackageBuildOptions } from './build.service.js';

export interface SelectOptions {
  /** Directory the command runs in (default process.cwd()). */
  cwd?: string;
  /** Package names or directories; empty = what the cwd implies. */
  packages?: readonly string[];
  /** Also act on the workspace packages the selection depends on (default true; clean uses false). */
  withDependencies?: boolean;
}

export interface Selection {
  workspace: Workspace;
  /** Packages to act on, dependencies first. */
  packages: PackageInfo[];
}

/** A package takes part in a workspace run when it has a build.config.* file. */
export function hasBuildConfig(pkg: PackageInfo): boolean {
  return findConfigFile(pkg.dir) !== null;
}

/**
 * Decides which packages a command acts on, as turbo's `^build` would:
 * - named packages (by name or directory) plus their workspace dependencies that take part;
 * - no names, inside a package: that package plus its dependencies;
 * - no names, at the workspace root: every package that takes part.
 */
export function selectPackages(options: SelectOptions = {}): Selection {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  if (!existsSync(cwd)) throw new BuildSystemError('USAGE', `--cwd does not exist: ${cwd}`, { field: '--cwd' });
  const root = findWorkspaceRoot(cwd);
  const workspace: Workspace = existsSync(path.join(root, 'package.json')) || existsSync(path.join(root, 'pnpm-workspace.yaml'))
    ? loadWorkspace(cwd)
    : { root, packages: [], byName: new Map() };

  const names = options.packages ?? [];
  let selected: PackageInfo[];
  if (names.length > 0) {
    selected = names.map((n) => findPackage(workspace, n, cwd));
  } else {
    const own = workspace.packages.find((p) => p.dir === cwd);
    if (own) selected = [own];
    else if (cwd === workspace.root && workspace.packages.length > 0) {
      selected = workspace.packages.filter(hasBuildConfig);
      if (selected.length === 0) {
        throw new BuildSystemError('USAGE', `no workspace package under ${cwd} has a build.config.* file`, { file: toPosix(path.relative(process.cwd(), cwd)) || '.' });
      }
    } else if (existsSync(path.join(cwd, 'package.json'))) {
      // A package outside any workspace, or one the workspace globs do not list.
      selected = [loadPackageInfo(cwd, workspace.root === cwd ? cwd : workspace.root)];
    } else {
      throw new BuildSystemError('PACKAGE_NOT_FOUND', `no package.json in ${cwd}; run in a package or workspace directory, or pass --cwd`, { file: cwd });
    }
  }
  const explicit = new Set(selected.map((p) => p.name));
  const ordered = workspace.packages.length > 0 && selected.every((p) => workspace.byName.get(p.name) === p)
    ? buildOrder(workspace, selected, { includeDependencies: options.withDependencies !== false }).filter((p) => explicit.has(p.name) || hasBuildConfig(p))
    : selected;
  return { workspace, packages: ordered };
}

function findPackage(ws: Workspace, nameOrDir: string, cwd: string): PackageInfo {
  const byName = ws.byName.get(nameOrDir);
  if (byName) return byName;
  const dir = path.resolve(cwd, nameOrDir);
  const byDir = ws.packages.find((p) => p.dir === dir);
  if (byDir) return byDir;
  if (existsSync(path.join(dir, 'package.json')) && (ws.packages.length === 0 || isInside(ws.root, dir))) return loadPackageInfo(dir, ws.root);
  const known = ws.packages.map((p) => p.name);
  const hint = known.length ? ` (known: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : '';
  throw new BuildSystemError('PACKAGE_NOT_FOUND', `unknown package ${JSON.stringify(nameOrDir)}${hint}`, { field: 'packages' });
}

export interface RunOptions extends SelectOptions, PackageBuildOptions {}

/**
 * Builds a selection in dependency order. A package whose workspace
 * dependency failed is skipped (not built against stale outputs).
 */
export class WorkspaceBuildService {
  constructor(private readonly packageBuild: PackageBuildService = new PackageBuildService()) {}

  async run(options: RunOptions = {}): Promise<RunResult> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    let selection: Selection;
    try {
      selection = selectPackages(options);
    } catch (e) {
      return runError(startedAt, started, e);
    }
    const results: BuildResult[] = [];
    const failed = new Set<string>();
    for (const pkg of selection.packages) {
      const blockedBy = workspaceDependencies(pkg, selection.workspace).filter((d) => failed.has(d));
      if (blockedBy.length > 0 || options.signal?.aborted) {
        failed.add(pkg.name);
        const result = skippedResult(pkg, blockedBy.length ? `dependency ${blockedBy.join(', ')} failed` : 'run cancelled');
        options.onEvent?.({ type: 'package-done', result });
        results.push(result);
        continue;
      }
      const result = await this.packageBuild.build(pkg, options);
      if (result.status !== 'success') failed.add(pkg.name);
      results.push(result);
    }
    const exitCode = Math.max(0, ...results.map(resultExitCode));
    return { schemaVersion: RESULT_SCHEMA_VERSION, ok: exitCode === 0, exitCode, startedAt, durationMs: Date.now() - started, results };
  }
}

export function resultExitCode(r: BuildResult): number {
  if (r.status === 'success' || r.status === 'skipped') return 0;
  return r.error ? exitCodeFor(r.error.code as ErrorCode) : 1;
}

function skippedResult(pkg: PackageInfo, reason: string): BuildResult {
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    package: { name: pkg.name, dir: pkg.dir },
    status: 'skipped',
    adapter: { name: null, version: null, reason: `not built: ${reason}` },
    startedAt: new Date().toISOString(),
    durationMs: 0,
    cache: { status: 'skipped', key: null, reason },
    artifacts: [],
    diagnostics: [],
  };
}

export function runError(startedAt: string, started: number, e: unknown): RunResult {
  const err = isBuildSystemError(e) ? e : new BuildSystemError('INTERNAL', (e as Error)?.message ?? String(e));
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    ok: false,
    exitCode: err.exitCode,
    startedAt,
    durationMs: Date.now() - started,
    results: [],
    error: { code: err.code, message: err.lines()[0] ?? err.message, file: err.file, field: err.field, issues: err.issues },
  };
}
