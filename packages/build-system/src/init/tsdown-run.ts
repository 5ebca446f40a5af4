import path from 'node:path';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { ScriptCommand } from './build-script.js';
import type { ToolName } from './tool-config.js';
import { describe } from './describe-value.js';
import { fromPackage, readDirConfig, tsdownWorkspaceConfig, type WorkspaceToolConfig } from './tsdown-workspace.js';

/**
 * Which tsdown config builds a package without one of its own, decided by where tsdown runs, as
 * tsdown looks its config up (src/config/file.ts there):
 *
 * - in the package (its build script runs `tsdown`, as `turbo run build` does): tsdown looks for
 *   tsdown.config.* in the package, then in each directory above it, before package.json `tsdown`,
 *   and uses the first it finds as it is, for the package. One above the package in `workspace`
 *   mode would look for packages below this one and find none: init says so and uses none;
 * - at the workspace root (the build script runs `pnpm -w run x`, and x runs tsdown), or when no
 *   build script runs tsdown (a root `tsdown` builds the workspace): the root config in workspace
 *   mode, merged under the package's own (tsdown-workspace.ts). `--workspace [dir]` there turns
 *   workspace mode on, or narrows it to dir.
 */

/** tsdown's workspace flags: `-W, --workspace [dir]` (the value optional) and `-F, --filter <pattern>`; the rest of the words. */
export function workspaceFlags(args: readonly string[]): { rest: string[]; workspace?: true | string; filter: string[] } {
  const out: { rest: string[]; workspace?: true | string; filter: string[] } = { rest: [], filter: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    if (flag === '-W' || flag === '--workspace') {
      const next = args[i + 1];
      out.workspace = inline ?? (next !== undefined && !next.startsWith('-') ? (i++, next) : true);
    } else if (flag === '-F' || flag === '--filter') {
      const value = inline ?? args[++i];
      if (value !== undefined) out.filter.push(value);
    } else out.rest.push(a);
  }
  return out;
}

/** The command without its workspace flags: they pick packages, they do not change what one is built into. */
export function withoutWorkspaceFlags(command: ScriptCommand): ScriptCommand {
  return command.tool === 'tsdown' ? { ...command, args: workspaceFlags(command.args).rest } : command;
}

export async function tsdownConfigFor(pkg: PackageInfo, own: { tool: ToolName; file: string } | undefined, commands: readonly ScriptCommand[], reads: ReadLog): Promise<WorkspaceToolConfig | undefined> {
  // A tsup config is tsup's build, whatever tsdown's configs say; the root itself has no root above it.
  if (pkg.dir === pkg.workspaceRoot || (own && own.tool !== 'tsdown')) return undefined;
  const run = commands.find((c) => c.tool === 'tsdown');
  if (run && !run.atRoot) return inPackage(pkg, own, run, reads);
  return tsdownWorkspaceConfig(pkg, own, reads, run ? workspaceFlags(run.args).workspace : undefined);
}

async function inPackage(pkg: PackageInfo, own: { tool: ToolName; file: string } | undefined, run: ScriptCommand, reads: ReadLog): Promise<WorkspaceToolConfig | undefined> {
  // The package's own tsdown.config.* is found first; its package.json `tsdown` only after every directory above.
  if (own && path.basename(own.file) !== 'package.json') return undefined;
  for (let dir = path.dirname(pkg.dir); ; dir = path.dirname(dir)) {
    const found = await readDirConfig(dir, reads, false);
    if (found) {
      const file = fromPackage(pkg, dir, found);
      const warnings = own ? [`tsdown, run in the package, loads ${file} before package.json's tsdown key (it looks for tsdown.config.* in every directory above first); so did init`] : [];
      const notReproduced: WorkspaceToolConfig['notReproduced'] = [];
      let value = found.value;
      if (Array.isArray(value)) {
        value.slice(1).forEach((other, i) => notReproduced.push({ option: `${file}[${i + 1}]`, value: describe(other), why: 'build-system builds one set of options per package; only the first config is used' }));
        value = value[0];
      }
      if (value && typeof value === 'object' && (value as { workspace?: unknown }).workspace) {
        return { notReproduced, warnings: [...warnings, `build script \`${run.text}\` runs tsdown in the package, where it loads ${file}: in workspace mode it looks for packages below this one and finds none; init did not use it`] };
      }
      return { config: { ...found, file, value, files: [file] }, notReproduced, warnings };
    }
    // tsdown goes on to the filesystem root; init stops at the workspace root, above which nothing is the workspace's.
    if (dir === pkg.workspaceRoot || path.dirname(dir) === dir) return undefined;
  }
}
