import path from 'node:path';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * One line appended to the tsc diagnostics whose fix is about the build's
 * layout rather than the code on the line, saying what to change.
 *
 * - TS6059 (a file is not under rootDir): tsc writes one output per source,
 *   at its path below rootDir, and rootDir is the entries' directory so that
 *   src/index.ts becomes <outDir>/index.js as package.json says. A file
 *   outside it is either one the tsconfig includes but the package does not
 *   ship (tests, fixtures: exclude it), or another package's source imported
 *   by a relative path or a `paths` mapping. The latter is not widened away:
 *   any wider rootDir moves every output of the package (dist/index.js
 *   becomes dist/<pkg>/src/index.js) and would publish the other package's
 *   code and types inside this one; import it by name instead, or bundle.
 * - TS5053 with outFile: build-system's outDir/declarationDir cannot go with it.
 * - TS4023, TS2742, TS2883 (an exported declaration's type cannot be named in
 *   the .d.ts): declaration emit needs an import path for every type it writes.
 * - Any other type error (TS2xxx) while a bundler's declarations are written:
 *   the JS bundle is fine, and tsdown (rolldown-plugin-dts) and `tsc --noCheck`
 *   write declarations without checking; TypeScript stops here. Said once, with
 *   the option that does the same (trpc's server imports a subpath its own
 *   exports lack: tsdown publishes, this failed without a word on why).
 */
/** The file a TS6059 diagnostic names (as tsc printed it: absolute, or relative to the package), else undefined. */
export function fileOutsideRootDir(d: Diagnostic): string | undefined {
  return d.code === 'TS6059' ? /^File '(.+?)' is not under 'rootDir'/.exec(d.message)?.[1] : undefined;
}

/**
 * The diagnostics with their hints, each distinct hint once (on the first
 * diagnostic it fits): ten tests under test/ are ten TS6059s and one fix.
 */
export function withHints(diagnostics: readonly Diagnostic[], pkg: PackageInfo, mode: 'build' | 'declarations' | 'check'): Diagnostic[] {
  const given = new Set<string>();
  return diagnostics.map((d) => {
    const hint = hintFor(d, pkg, mode);
    if (!hint || given.has(hint)) return d;
    given.add(hint);
    return { ...d, message: `${d.message}\nhint: ${hint}` };
  });
}

function hintFor(d: Diagnostic, pkg: PackageInfo, mode: 'build' | 'declarations' | 'check'): string | undefined {
  switch (d.code) {
    case 'TS6059': {
      const file = fileOutsideRootDir(d);
      if (!file) return undefined;
      const abs = path.resolve(pkg.dir, file);
      const rel = toPosix(path.relative(pkg.dir, abs));
      if (isInside(pkg.dir, abs)) {
        const top = rel.split('/')[0]!;
        // Named by the pattern that leaves them out, not by the file: one hint serves every file below it.
        const glob = top.includes('.') ? rel : `${top}/**`;
        // The build config's exclude is read by the tsc adapter only (a bundler's config refuses it).
        const leaveOut =
          mode === 'declarations'
            ? `leave it out with a tsconfig.build.json beside package.json that extends the tsconfig and includes only the sources (or excludes '${glob}')`
            : `leave it out with exclude: ['${glob}'] in the build config (or a tsconfig.build.json)`;
        const what = glob === rel ? `${rel} is compiled because the tsconfig includes it but it is` : `files in ${top}/ are compiled because the tsconfig includes them but they are`;
        return `${what} not under the sources' directory; ${leaveOut}, or set entry so every source is under one directory`;
      }
      const alternative = mode === 'declarations' ? '; the bundle may inline its code, but declarations are written per source file' : ', or build with a bundling adapter (esbuild, bun, rollup), which inlines it';
      // The diagnostic names the file; the hint does not, so a package reaching many of another's files gets it once.
      return `that is another package's source (imported by a relative path or a paths mapping): import that package by its name instead (a dependency, built first)${alternative}`;
    }
    case 'TS5053':
      // build-system sets declarationDir (and outDir) to its staging dir; a tsconfig outFile cannot go with them.
      if (!/'outFile'/.test(d.message)) return undefined;
      return 'build-system writes one output per source into outDir, which a single outFile cannot be: remove outFile from the tsconfig (or build with a tsconfig.build.json without it)';
    case 'TS4023':
    case 'TS2742':
    case 'TS2883':
      return 'give this export an explicit type annotation using types imported from a module this package can name (its own sources or a dependency’s public entry); the .d.ts cannot refer to a type that is not exported from one';
    default:
      if (mode === 'declarations' && d.code !== undefined && /^TS2\d{3}$/.test(d.code)) {
        return "declarations are written by TypeScript, which stops on a type error; tsdown and `tsc --noCheck` write them anyway: adapterOptions: { tsc: { args: ['--noCheck'] } } does the same (TypeScript 5.5 or later), or fix the error";
      }
      return undefined;
  }
}
