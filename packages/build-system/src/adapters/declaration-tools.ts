import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ReadLog } from '../util/read-log.js';
import { resolveModule, type ResolvedModule } from '../util/resolve-module.js';
import { installCommand, type PackageInfo } from '../workspace/package-info.js';
import type { ToolAvailability } from './types.js';

/**
 * Which declaration tools a package has: its TypeScript (and the script that
 * starts tsc) and oxc-transform's per-file emitter.
 *
 * Kept apart from the code that runs them (tsc-runner.ts, isolated-dts.ts)
 * because the key of every bundler package with `dts` needs these answers
 * (services/package-build/key.ts): importing the runners there to ask held a
 * hub's key back ~100 ms, while other packages' configs loaded between the
 * module loader's steps (research.md §8.w).
 */

export interface TypeScriptInstall {
  /** Directory of the typescript package (symlinks resolved). */
  dir: string;
  version: string;
  /** The Node script that runs tsc: bin/tsc, or what an aliased package names its bin (see tscScript). */
  tscBin: string;
}

/**
 * The script that starts tsc in a typescript install. Usually bin/tsc; a package installed under
 * the name typescript through an npm alias may name it otherwise: `"typescript":
 * "npm:@typescript/typescript6@^6"` (honojs/middleware, next to TypeScript 7 as `typescript7`-style
 * aliases) ships only bin/tsc6, declared in its package.json `bin`. Any bin named tsc<digits> is
 * taken, then lib/tsc.js, which every JavaScript TypeScript's bin script requires.
 */
function tscScript(dir: string, reads: ReadLog): string | undefined {
  const standard = path.join(dir, 'bin', 'tsc');
  if (existsSync(standard)) return standard;
  try {
    // Already read (and logged) by resolveModule this run: not read again.
    const bin = (JSON.parse(reads.readTextOnce(path.join(dir, 'package.json')) ?? '') as { bin?: unknown }).bin;
    if (bin && typeof bin === 'object') {
      for (const [name, rel] of Object.entries(bin as Record<string, unknown>)) {
        if (/^tsc\d*$/.test(name) && typeof rel === 'string' && existsSync(path.join(dir, rel))) return path.join(dir, rel);
      }
    }
  } catch {
    // No readable package.json: only the file layout can say.
  }
  const lib = path.join(dir, 'lib', 'tsc.js');
  return existsSync(lib) ? lib : undefined;
}

/**
 * The package's own TypeScript: from the package, then the workspace root.
 * Never build-system's own copy: the compiler version is the package's choice.
 */
export function findTypeScript(pkg: PackageInfo, reads: ReadLog): TypeScriptInstall | undefined {
  const found: ResolvedModule | undefined = resolveModule('typescript', [pkg.dir, pkg.workspaceRoot], reads, { includeOwn: false });
  const tscBin = found && tscScript(found.dir, reads);
  if (!found || !tscBin) return undefined;
  const install = { dir: found.dir, version: found.version, tscBin };
  void tscCommand(install);
  return install;
}

const commandCache = new Map<string, Promise<{ command: string; args: string[] }>>();

/**
 * How to start tsc. TypeScript 7's bin/tsc is a Node wrapper that runs a native
 * binary; on Node < 22.15 (no process.execve) the wrapper stays alive as the
 * binary's parent, so SIGTERM on abort kills only the wrapper and the orphaned
 * compiler keeps our pipes open until it finishes (measured: `close` never came
 * for a killed `tsc --watch`). So when the package ships the wrapper's own
 * locator (lib/getExePath.js, the function the VS Code extension mirrors), we
 * spawn the native binary directly; otherwise (TypeScript 5.x) `node bin/tsc`.
 * Asked first when findTypeScript finds the install, and the locator (an ES
 * module) is required synchronously where Node can (20.19+, 22.12+): imported
 * when the declarations job was about to start, it came 60–90 ms late on a
 * hub edit, every step of the loader waiting behind other packages' work
 * (research.md §8.w).
 */
export function tscCommand(ts: TypeScriptInstall): Promise<{ command: string; args: string[] }> {
  const tsDir = ts.dir;
  let cached = commandCache.get(tsDir);
  if (!cached) {
    cached = (async () => {
      const locator = path.join(tsDir, 'lib', 'getExePath.js');
      if (existsSync(locator)) {
        try {
          const mod = (loadNow(locator) ?? (await import(pathToFileURL(locator).href))) as { default?: () => string };
          const exe = mod.default?.();
          if (typeof exe === 'string' && existsSync(exe)) return { command: exe, args: [] };
        } catch {
          // Fall through to the Node wrapper: slower to abort, but it runs.
        }
      }
      return { command: process.execPath, args: [ts.tscBin] };
    })();
    commandCache.set(tsDir, cached);
  }
  return cached;
}

/** Whether the package has a TypeScript, and if not where it was looked for and how to install it. */
export function checkTypeScript(pkg: PackageInfo, reads: ReadLog): ToolAvailability {
  const ts = findTypeScript(pkg, reads);
  if (!ts) {
    return {
      available: false,
      reason: `typescript is not installed for ${pkg.name} (looked in ${pkg.dir === pkg.workspaceRoot ? pkg.dir : `${pkg.dir} and ${pkg.workspaceRoot}`})`,
      installHint: installCommand(pkg, ['typescript']),
    };
  }
  return { available: true, version: ts.version, location: ts.dir };
}

/** oxc-transform as the package resolves it (isolated-dts.ts emits with it). */
export function findIsolatedEmitter(pkg: PackageInfo, reads: ReadLog): ResolvedModule | undefined {
  return resolveModule('oxc-transform', [pkg.dir, pkg.workspaceRoot], reads, { includeOwn: false });
}

/** An ES module without top-level await, required synchronously; undefined where this Node cannot (then import() it). */
function loadNow(file: string): unknown {
  try {
    return createRequire(file)(file);
  } catch {
    return undefined;
  }
}
