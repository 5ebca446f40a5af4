import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { formatPrefix } from '../config/format-dirs.js';
import { declarationJs } from '../config/package-defaults.js';
import type { Format } from '../config/schema.js';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';

/**
 * Declarations named like the JS they describe. tsc writes one `.d.ts` per
 * source (`.d.mts`/`.d.cts` for .mts/.cts sources) in the source layout; a
 * bundled package needs, for every format it builds, the declarations under
 * the extension TypeScript pairs with that format's JS (index.mjs ->
 * index.d.mts, index.cjs -> index.d.cts, index.js -> index.d.ts), or
 * TypeScript under node16/nodenext either finds none (TS7016) or reads ESM
 * types for a CommonJS file.
 *
 * For each distinct declaration extension of the built formats, every emitted
 * declaration is written once more under that extension, and the relative
 * specifiers in it (`from './money.js'`, `'./money'`, `'./dir'`,
 * `import('./x.js')`, `require('./x')`) are rewritten to name the sibling in
 * the same set with the format's JS extension (`./money.cjs`,
 * `./dir/index.cjs`), resolved against the set of emitted declarations; a
 * specifier that names none of them (a .json, a hand-written .d.ts) is left
 * as written. tsc's own files are then removed unless a format uses their
 * name. With declarationMap, each map follows its declaration (renamed,
 * `file` fixed, the sourceMappingURL comment pointing at it).
 *
 * Then every entry gets its declaration beside its JS: where the entry's
 * declaration lands elsewhere (a record entry that renames, `{ cli:
 * 'src/bin/cli.ts' }`, or an entry from outside the package), a small
 * `<entry><dts ext>` re-exports it (`export *`, plus `export { default }`
 * when it has a default export: `export *` never carries one).
 */

const DECLARATION = /\.d\.(c|m)?ts$/;
const SOURCE_EXTENSION = /\.(c|m)?[jt]sx?$/;
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.\.?(?:\/[^'"\n]*)?)\2/g;
const MAP_COMMENT = /\/\/# sourceMappingURL=([^\s]+)\s*$/;

export interface PlaceDeclarationsInput {
  config: ResolvedConfig;
  pkgDir: string;
  /** Directory tsc wrote the declarations into (absolute; the staging dir). */
  outDir: string;
  /** The rootDir tsc ran with (absolute): a source's declaration is at its path relative to it. */
  rootDir: string;
  /** What tsc reported it wrote (absolute). */
  emitted: string[];
}

export interface PlacedDeclarations {
  /** Every declaration file now in outDir (absolute): renamed sets, maps, aliases. */
  files: string[];
  diagnostics: Diagnostic[];
}

interface Emitted {
  /** Path relative to outDir without the declaration extension, posix. */
  base: string;
  text: string;
  map: { [key: string]: unknown } | undefined;
}

/**
 * Directory (a format's own below outDir, config formatDir, as `dir/`; '' for outDir itself),
 * declaration extension and JS extension per distinct declaration set, in format order.
 */
function declarationSets(config: ResolvedConfig): { dir: string; dts: string; js: string }[] {
  const sets = new Map<string, { dir: string; dts: string; js: string }>();
  for (const format of config.formats as Format[]) {
    const dir = formatPrefix(config.formatDir, format);
    const add = (set: { dir: string; dts: string; js: string }) => {
      const key = `${set.dir}\0${set.dts}`;
      if (!sets.has(key)) sets.set(key, set);
    };
    add({ dir, dts: config.dtsExtension[format], js: config.outExtension[format] });
    // The one package.json names besides (unbuild's .d.ts for .mjs): its specifiers name the JS TypeScript pairs with it, so they resolve to its siblings.
    const declared = config.declaredDts?.[format];
    if (declared) add({ dir, dts: declared, js: declarationJs(declared) });
  }
  return [...sets.values()];
}

/** A declaration map's `sources` as seen from `dir` below where tsc wrote it (a format directory is one level or more deeper). */
function rebasedSources(map: { [key: string]: unknown }, outDir: string, base: string, dir: string): unknown {
  const sources = map.sources;
  if (dir === '' || !Array.isArray(sources)) return sources;
  const from = path.dirname(path.join(outDir, base));
  const to = path.dirname(path.join(outDir, dir, base));
  return sources.map((s) => (typeof s === 'string' && !/^[a-z][\w+.-]*:/i.test(s) && !path.posix.isAbsolute(s) ? toPosix(path.relative(to, path.resolve(from, s))) : s));
}

/** The emitted declaration a relative specifier names, by base path; undefined when it names none. */
function resolveBase(fromBase: string, specifier: string, bases: ReadonlySet<string>): string | undefined {
  // A directory named with a trailing slash (`'../shared/v3/'`, as vercel/ai writes it) is that directory's index.
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(fromBase), specifier)).replace(/\/+$/, '');
  // `..` or `../..` back at outDir's root normalizes to '.', whose index is `index` (TypeScript writes `import("..").T` for inferred types).
  const candidates = [target.replace(DECLARATION, '').replace(SOURCE_EXTENSION, ''), target, path.posix.join(target, 'index')];
  return candidates.find((c) => bases.has(c));
}

function relativeSpecifier(fromBase: string, toBase: string, jsExtension: string): string {
  // Relative to the file, extension included: `sessions/cookie` naming `sessions` (a file beside the directory of the
  // same name) is `../sessions.js`; relative to the bare base it came out as `.js`.
  const rel = path.posix.relative(path.posix.dirname(fromBase), toBase + jsExtension);
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** `text` with each relative specifier that names an emitted declaration pointing at its sibling with `jsExtension`. */
export function rewriteSpecifiers(text: string, fromBase: string, jsExtension: string, bases: ReadonlySet<string>): string {
  return text.replace(SPECIFIER, (whole, lead: string, quote: string, specifier: string) => {
    const target = resolveBase(fromBase, specifier, bases);
    return target === undefined ? whole : `${lead}${quote}${relativeSpecifier(fromBase, target, jsExtension)}${quote}`;
  });
}

/** Does this declaration text export a default (which `export *` would not carry)? */
export function hasDefaultExport(text: string): boolean {
  return /^\s*export\s+default\b/m.test(text) || /\bexport\s+(?:type\s+)?\{[^}]*\bdefault\b[^}]*\}/.test(text);
}

function readJson(file: string): { [key: string]: unknown } | undefined {
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return value && typeof value === 'object' ? (value as { [key: string]: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** Renames, rewrites and aliases the declarations tsc wrote into `input.outDir` (see the module comment). */
export function placeDeclarations(input: PlaceDeclarationsInput): PlacedDeclarations {
  const { config, outDir } = input;
  const diagnostics: Diagnostic[] = [];
  const emittedSet = new Set(input.emitted);
  const declarations = new Map<string, Emitted>();
  const others: string[] = [];
  for (const file of input.emitted) {
    if (DECLARATION.test(file)) {
      const base = toPosix(path.relative(outDir, file)).replace(DECLARATION, '');
      const mapFile = `${file}.map`;
      declarations.set(base, { base, text: readFileSync(file, 'utf8'), map: emittedSet.has(mapFile) ? readJson(mapFile) : undefined });
    } else if (!(file.endsWith('.map') && DECLARATION.test(file.slice(0, -4)))) {
      others.push(file);
    }
  }
  const bases = new Set(declarations.keys());
  const written = new Set<string>();
  const write = (rel: string, text: string) => {
    const abs = path.join(outDir, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    written.add(abs);
  };

  const sets = declarationSets(config);
  for (const set of sets) {
    for (const d of declarations.values()) {
      const name = `${set.dir}${d.base}${set.dts}`;
      let text = rewriteSpecifiers(d.text, d.base, set.js, bases);
      if (d.map) {
        const mapName = `${path.posix.basename(name)}.map`;
        text = MAP_COMMENT.test(text) ? text.replace(MAP_COMMENT, `//# sourceMappingURL=${mapName}`) : `${text}\n//# sourceMappingURL=${mapName}`;
        write(`${name}.map`, JSON.stringify({ ...d.map, file: path.posix.basename(name), sources: rebasedSources(d.map, outDir, d.base, set.dir) }));
      }
      write(name, text);
    }
  }
  // tsc's own names, where no format uses them (every format in a directory of its own), and the directories they leave empty.
  const left = new Set<string>();
  for (const file of input.emitted) {
    if (written.has(file) || others.includes(file)) continue;
    rmSync(file, { force: true });
    left.add(path.dirname(file));
  }
  pruneEmptyDirs(config, outDir, left);

  // Every entry's declaration beside its JS.
  for (const [entryName, source] of Object.entries(config.entries)) {
    const sourceAbs = path.resolve(input.pkgDir, source);
    const target = toPosix(path.relative(input.rootDir, sourceAbs)).replace(SOURCE_EXTENSION, '');
    if (!bases.has(target)) {
      diagnostics.push({
        severity: 'warning',
        file: toPosix(path.relative(input.pkgDir, sourceAbs)),
        message: `no declaration was emitted for entry ${JSON.stringify(entryName)}: ${
          /\.(c|m)?jsx?$/.test(source) ? 'a JavaScript source gets one only with allowJs in the tsconfig' : "its source is not part of the TypeScript program (add it to the tsconfig's include or files)"
        }`,
      });
      continue;
    }
    if (target === entryName) continue;
    if (bases.has(entryName)) {
      diagnostics.push({
        severity: 'error',
        message: `entry ${JSON.stringify(entryName)} is built from ${source}, but ${entryName}${sets[0]?.dts ?? '.d.ts'} is already the declaration of another source file; give the entry another name`,
      });
      continue;
    }
    const lines = (js: string) => {
      const spec = relativeSpecifier(entryName, target, js);
      const exports = [`export * from '${spec}';`];
      if (hasDefaultExport(declarations.get(target)!.text)) exports.push(`export { default } from '${spec}';`);
      return `${exports.join('\n')}\n`;
    };
    for (const set of sets) write(`${set.dir}${entryName}${set.dts}`, lines(set.js));
  }
  return { files: [...written].sort(), diagnostics };
}

/**
 * Removes the directories in `dirs` (and their parents below outDir) that are empty, except those an
 * entry's JS goes into in some format (entries without declarations too): the bundler writes there at the same time (build-step.ts runs
 * both at once), and removing its directory under it would fail its write.
 */
export function pruneEmptyDirs(config: ResolvedConfig, outDir: string, dirs: ReadonlySet<string>): void {
  const keep = new Set<string>([outDir]);
  // Every entry the bundler writes: the declarations' config leaves out those without declarations (noDtsEntries).
  for (const name of new Set([...Object.keys(config.entries), ...config.noDtsEntries])) {
    for (const format of new Set([...config.formats, ...(config.entryOptions[name]?.formats ?? [])])) {
      for (let dir = path.dirname(path.join(outDir, formatPrefix(config.formatDir, format), name)); isInside(outDir, dir); dir = path.dirname(dir)) keep.add(dir);
    }
  }
  // Deepest first, so a parent is looked at once its children are gone.
  for (const start of [...dirs].sort((a, b) => b.length - a.length)) {
    for (let dir = start; isInside(outDir, dir) && !keep.has(dir); dir = path.dirname(dir)) {
      try {
        if (readdirSync(dir).length > 0) break;
        rmdirSync(dir);
      } catch {
        break;
      }
    }
  }
}
