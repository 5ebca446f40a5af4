import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadLog } from './read-log.js';

export interface ResolvedModule {
  /** Directory of the module's package (contains its package.json). */
  dir: string;
  version: string;
  /** Absolute path of the module's main entry (require resolution). */
  main: string;
}

// The CJS build of the API has __dirname and no import.meta.url; the ESM build the reverse.
const ownDir = typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));

/**
 * `require` from build-system's own install. For CommonJS tools (esbuild's
 * main is CJS), a require is cheaper than `import()`: no ESM wrapper, and no
 * cjs-module-lexer pass over the file to guess named exports (~10 ms for esbuild).
 */
export const requireOwn = createRequire(path.join(ownDir, 'noop.js'));

/**
 * Finds `name` as the package at `fromDir` would (its node_modules, then up),
 * then from the workspace root, then from build-system's own install. The
 * first hit wins, so a package's own pinned tool version is used when it has one.
 */
export function resolveModule(name: string, searchDirs: readonly string[], reads: ReadLog, opts: { includeOwn?: boolean } = {}): ResolvedModule | undefined {
  const dirs = [...searchDirs];
  if (opts.includeOwn !== false) dirs.push(ownDir);
  for (const from of dirs) {
    const req = createRequire(path.join(from, 'noop.js'));
    let pkgJsonPath: string;
    try {
      pkgJsonPath = req.resolve(`${name}/package.json`);
    } catch {
      // Packages whose exports hide package.json: resolve the main entry and walk up.
      try {
        const main = req.resolve(name);
        let dir = path.dirname(main);
        while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
        pkgJsonPath = path.join(dir, 'package.json');
      } catch {
        continue;
      }
    }
    const pkgText = reads.readText(pkgJsonPath) ?? '{}';
    const pkg = JSON.parse(pkgText) as { version?: string };
    // An earlier search dir that gains the package would win next time.
    if (reads.recording) {
      // Where Node looked before it found this one: a copy installed there later would win.
      for (const earlier of dirs.slice(0, dirs.indexOf(from))) noteNotInstalled(reads, name, earlier);
      noteNotInstalled(reads, name, from, path.dirname(pkgJsonPath));
    }
    let main: string;
    try {
      main = req.resolve(name);
    } catch {
      main = pkgJsonPath;
    }
    return { dir: path.dirname(pkgJsonPath), version: pkg.version ?? '0.0.0', main };
  }
  if (reads.recording) for (const from of dirs) noteNotInstalled(reads, name, from);
  return undefined;
}

/** For the no-op record: `name` is not installed where Node would look from `fromDir` (node_modules of it and every ancestor). */
function noteNotInstalled(reads: ReadLog, name: string, fromDir: string, foundAt?: string): void {
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', ...name.split('/'));
      if (candidate === foundAt) break;
      reads.noteFile(candidate);
    }
    if (path.dirname(dir) === dir) break;
  }
}

/** Looks for an executable in node_modules/.bin from `fromDir` upward, then on PATH. */
export function findBinary(name: string, fromDirs: readonly string[], reads: ReadLog, envPath = process.env.PATH ?? ''): string | undefined {
  const seen = new Set<string>();
  for (const start of fromDirs) {
    let dir = path.resolve(start);
    for (;;) {
      if (!seen.has(dir)) {
        seen.add(dir);
        const candidate = path.join(dir, 'node_modules', '.bin', name);
        if (existsSync(candidate)) {
          reads.noteFile(candidate);
          return candidate;
        }
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) {
      reads.noteFile(candidate);
      return candidate;
    }
  }
  // Found nowhere: installing it anywhere on PATH would change the outcome.
  reads.refuse(`${name} is not installed`);
  return undefined;
}
