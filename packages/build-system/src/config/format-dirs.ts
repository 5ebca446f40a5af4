import path from 'node:path';
import type { PackageInfo } from '../workspace/package-info.js';
import { declaredFormatDirs } from './package-defaults.js';
import type { AdapterName, BuildConfig, Format } from './schema.js';

/**
 * A directory per format below outDir (config `formatDir`): `dist/esm/index.js` and
 * `dist/cjs/index.js`, each directory with a package.json that gives its `.js` files their
 * module kind. That is how tshy, apollo-server and tsup's `legacyOutput` publish both formats
 * with one extension. Resolved here once; the adapters write each format into its directory
 * (ResolvedConfig.formatDir), the declarations follow it (declarations-naming.ts,
 * declarations-bundle.ts), and the build step writes the markers (formatMarkers).
 */

export type FormatDirs = Record<Format, string>;

/** The config's directories, else package.json's (declaredFormatDirs), else none; problems go to `problem`. */
export function resolveFormatDirs(
  pkg: PackageInfo,
  config: Pick<BuildConfig, 'formatDir'>,
  outDir: string,
  formats: readonly Format[],
  adapter: AdapterName,
  problem: (field: string, message: string) => void,
): FormatDirs {
  const dirs: FormatDirs = { esm: '', cjs: '' };
  const given = config.formatDir;
  if (given) {
    for (const format of ['esm', 'cjs'] as const) {
      const raw = given[format];
      if (raw === undefined) continue;
      // normalize drops ./ and resolves inner ..; what is left above outDir starts with ..
      const clean = path.posix.normalize(raw.replace(/\\/g, '/')).replace(/\/+$/, '');
      if (path.posix.isAbsolute(clean) || clean === '..' || clean.startsWith('../')) {
        problem(`formatDir.${format}`, `must be a directory inside outDir, relative to it (got ${JSON.stringify(raw)})`);
        continue;
      }
      dirs[format] = clean === '.' || clean === '' ? '' : clean;
    }
  } else if (outDir) {
    Object.assign(dirs, declaredFormatDirs(pkg, outDir));
  }
  // Only the formats built have a directory.
  for (const format of ['esm', 'cjs'] as const) if (!formats.includes(format)) dirs[format] = '';
  if (formats.length === 2 && dirs.esm === dirs.cjs && dirs.esm !== '') {
    problem('formatDir', `esm and cjs need directories of their own: a directory's package.json gives its .js files one module kind (got ${JSON.stringify(dirs.esm)} for both)`);
  }
  if (adapter === 'tsc' && formats.some((f) => dirs[f] !== '')) {
    const f = formats.find((x) => dirs[x] !== '')!;
    problem(
      given ? `formatDir.${f}` : 'adapter',
      `the tsc adapter writes the package's own format in the source layout straight into outDir, not into ${outDir}/${dirs[f]}${given ? '' : " (package.json's exports put it there)"}; use a bundling adapter (esbuild, bun, rollup) for a directory per format`,
    );
  }
  return dirs;
}

/** `dir/` for a format with its own directory, '' for one written into outDir itself. */
export function formatPrefix(dirs: FormatDirs, format: Format): string {
  return dirs[format] === '' ? '' : `${dirs[format]}/`;
}

/**
 * The package.json each format directory gets, relative to outDir, with its text: `"type"` says
 * what its `.js` files are, whatever the package's own type (Node and TypeScript read the nearest
 * package.json). Written for every such directory, also where the package's type already agrees:
 * the directory then means the same wherever it is copied to.
 */
export function formatMarkers(dirs: FormatDirs, formats: readonly Format[]): { file: string; text: string }[] {
  return formats
    .filter((f) => dirs[f] !== '')
    .map((f) => ({ file: `${dirs[f]}/package.json`, text: `${JSON.stringify({ type: f === 'esm' ? 'module' : 'commonjs' }, null, 2)}\n` }));
}
