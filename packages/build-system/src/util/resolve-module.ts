import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
 * Finds `name` as the package at `fromDir` would (its node_modules, then up),
 * then from the workspace root, then from build-system's own install. The
 * first hit wins, so a package's own pinned tool version is used when it has one.
 */
export function resolveModule(name: string, searchDirs: readonly string[], opts: { includeOwn?: boolean } = {}): ResolvedModule | undefined {
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
    const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { version?: string };
    let main: string;
    try {
      main = req.resolve(name);
    } catch {
      main = pkgJsonPath;
    }
    return { dir: path.dirname(pkgJsonPath), version: pkg.version ?? '0.0.0', main };
  }
  return undefined;
}

/** Looks for an executable in node_modules/.bin from `fromDir` upward, then on PATH. */
export function findBinary(name: string, fromDirs: readonly string[], envPath = process.env.PATH ?? ''): string | undefined {
  const seen = new Set<string>();
  for (const start of fromDirs) {
    let dir = path.resolve(start);
    for (;;) {
      if (!seen.has(dir)) {
        seen.add(dir);
        const candidate = path.join(dir, 'node_modules', '.bin', name);
        if (existsSync(candidate)) return candidate;
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}
