import path from 'node:path';
import type * as Esbuild from 'esbuild';
import type { ResolvedConfig } from '../config/resolve.js';
import { commonDir } from '../config/entry-placement.js';
import type { Format } from '../config/schema.js';
import { toPosix } from '../util/paths.js';

/**
 * `bundle: false` with esbuild: one output file per source module the entries
 * reach, importing each other, as tsup's `bundle: false` and tsdown's
 * `unbundle` publish (a component library keeps each module's 'use client',
 * and its users' bundlers tree-shake by file).
 *
 * esbuild without `bundle` transforms each file but keeps `./util` as written,
 * which Node's ESM cannot load and which names the source, not the output. So
 * it still bundles, with every module an entry point of its own and a plugin
 * that turns an import of another module into an external import of that
 * module's output (`./util` → `./util.mjs`); what is not a module of the
 * package (a JSON or CSS file, a dependency listed in noExternal) is inlined
 * as before. Which modules the entries reach is found by a first bundling pass
 * that writes nothing (its metafile's inputs).
 */

/** A source esbuild compiles to JavaScript: what becomes a module of its own. */
const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
/** Marks the resolve calls the plugin makes itself, so it does not answer them again. */
const OWN_CALL = 'buildSystemUnbundled';

/**
 * The package's modules the entries reach, as entry points (output name → absolute source):
 * the entries under their own names, every other module under its path below the modules'
 * common directory, without its extension. Files outside the package, in node_modules or
 * in outDir, and other namespaces' modules stay inlined where they are imported.
 */
export function moduleEntryPoints(pkgDir: string, config: ResolvedConfig, inputs: Esbuild.Metafile['inputs']): { entryPoints: Record<string, string>; problem?: string } {
  const outDirPrefix = `${config.outDir}/`;
  const modules = Object.keys(inputs).filter((rel) => {
    if (!SCRIPT.test(rel) || DECLARATION.test(rel) || rel.includes(':')) return false;
    const posix = toPosix(rel);
    return !posix.startsWith('../') && !posix.split('/').includes('node_modules') && !posix.startsWith(outDirPrefix) && !path.isAbsolute(rel);
  });
  const entryPoints: Record<string, string> = {};
  const named = new Map<string, string>();
  for (const [name, source] of Object.entries(config.entries)) {
    const abs = path.resolve(pkgDir, source);
    entryPoints[name] = abs;
    named.set(abs, name);
  }
  const base = commonDir(modules.map(toPosix));
  for (const rel of modules) {
    const abs = path.resolve(pkgDir, rel);
    if (named.has(abs)) continue;
    const posix = toPosix(rel);
    const name = (base ? posix.slice(base.length + 1) : posix).replace(/\.[^./]+$/, '');
    if (entryPoints[name] !== undefined) {
      return { entryPoints, problem: `bundle: false writes ${posix} as ${name}, a name the entry ${toPosix(path.relative(pkgDir, entryPoints[name]!))} already has; name that entry differently` };
    }
    entryPoints[name] = abs;
    named.set(abs, name);
  }
  return { entryPoints };
}

/**
 * The plugin of the second pass: an import, from one module, of another module is kept as an
 * import of that module's output, by a relative specifier with the format's extension.
 */
export function unbundledImports(entryPoints: Record<string, string>, extension: string): Esbuild.Plugin {
  const nameOf = new Map(Object.entries(entryPoints).map(([name, abs]) => [abs, name]));
  return {
    name: 'build-system:unbundled',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || (args.pluginData as Record<string, unknown> | undefined)?.[OWN_CALL]) return undefined;
        const from = nameOf.get(args.importer);
        if (from === undefined) return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { [OWN_CALL]: true } });
        if (resolved.errors.length > 0 || resolved.external) return undefined;
        const to = nameOf.get(resolved.path);
        if (to === undefined) return undefined;
        let specifier = path.posix.relative(path.posix.dirname(from), to) + extension;
        if (!specifier.startsWith('.')) specifier = `./${specifier}`;
        return { path: specifier, external: true };
      });
    },
  };
}

/** The options of the first pass: the same build, written nowhere, ESM (every import stays visible to the metafile). */
export function discoveryOptions(options: Esbuild.BuildOptions): Esbuild.BuildOptions {
  return { ...options, format: 'esm' satisfies Format, splitting: false, write: false, metafile: true, sourcemap: false, minify: false };
}
