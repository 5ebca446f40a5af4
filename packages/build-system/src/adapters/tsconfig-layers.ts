import { createRequire } from 'node:module';
import path from 'node:path';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { parseJsonc } from '../util/tsconfig-chain.js';

/**
 * A tsconfig as TypeScript reads it, for a tsconfig generated elsewhere that
 * `extends` it: its extends chain parsed layer by layer, the fields whose
 * meaning depends on where the tsconfig is (`${configDir}`, default
 * typeRoots and rootDir, `types` entries) restated for the generated one's
 * place, and its own project references. Used by the program plan
 * (tsc-project.ts), the declarations' file set (declarations-program.ts) and
 * referenced projects emitted first (tsc-references.ts).
 */

/** One tsconfig of an extends chain, parsed. */
export interface ChainLayer {
  /** The directory of the tsconfig file: its relative paths resolve against it. */
  dir: string;
  compilerOptions: Record<string, unknown>;
  top: { files?: unknown; include?: unknown; exclude?: unknown; references?: unknown };
}

/**
 * The tsconfig and what it extends (not its references), highest priority
 * first, as tsc merges them: the file itself, then its bases, a later entry
 * of an `extends` array before an earlier one. Unreadable or unresolvable
 * parts are skipped: tsc reports them itself, and the cache refuses a chain it
 * cannot follow (cache/build-reads.ts).
 */
export function extendsChain(file: string, reads: ReadLog, seen = new Set<string>()): ChainLayer[] {
  if (seen.has(file) || seen.size > 32) return [];
  seen.add(file);
  let json: { extends?: unknown; compilerOptions?: unknown; files?: unknown; include?: unknown; exclude?: unknown; tsconfig?: unknown };
  try {
    json = parseJsonc(reads.readText(file) ?? '{}') as typeof json;
  } catch {
    return [];
  }
  if (!json || typeof json !== 'object') return [];
  const dir = path.dirname(file);
  // An `extends` of a package name can land on its package.json, whose "tsconfig" field names the file.
  if (path.basename(file) === 'package.json') return typeof json.tsconfig === 'string' ? extendsChain(path.resolve(dir, json.tsconfig), reads, seen) : [];
  const layer: ChainLayer = {
    dir,
    compilerOptions: json.compilerOptions && typeof json.compilerOptions === 'object' ? (json.compilerOptions as Record<string, unknown>) : {},
    top: { files: json.files, include: json.include, exclude: json.exclude, references: (json as { references?: unknown }).references },
  };
  const bases = typeof json.extends === 'string' ? [json.extends] : Array.isArray(json.extends) ? json.extends.filter((e): e is string => typeof e === 'string') : [];
  const below = bases.reverse().flatMap((base) => {
    const resolved = resolveExtends(base, dir, reads);
    return resolved ? extendsChain(resolved, reads, seen) : [];
  });
  return [layer, ...below];
}

/** An `extends` value to a file, as TypeScript resolves it (a path, or a package name from the tsconfig's directory). */
function resolveExtends(spec: string, fromDir: string, reads: ReadLog): string | undefined {
  if (spec.startsWith('.') || path.isAbsolute(spec)) {
    const abs = path.resolve(fromDir, spec);
    return [abs, `${abs}.json`].find((f) => reads.stat(f)?.isFile());
  }
  const req = createRequire(path.join(fromDir, 'noop.js'));
  for (const candidate of spec.endsWith('.json') ? [spec] : [spec, `${spec}.json`, `${spec}/tsconfig.json`, `${spec}/package.json`]) {
    try {
      return req.resolve(candidate);
    } catch {
      // The next form.
    }
  }
  return undefined;
}

const CONFIG_DIR = '${configDir}';

/** `value` with every `${configDir}` replaced by `dir` (strings, arrays, and objects of them such as `paths`). */
export function withConfigDir(value: unknown, dir: string): unknown {
  if (typeof value === 'string') return value.replaceAll(CONFIG_DIR, dir);
  if (Array.isArray(value)) return value.map((v) => withConfigDir(v, dir));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withConfigDir(v, dir)]));
  return value;
}

const mentionsConfigDir = (value: unknown) => JSON.stringify(value ?? null).includes(CONFIG_DIR);

/** What a generated tsconfig restates so that it means what the real one at `file` means (module comment). */
export interface RelocatedFields {
  /** The options of the chain that use `${configDir}`, restated; `typeRoots` when the chain leaves it to the default. */
  compilerOptions: Record<string, unknown>;
  /** files/include/exclude of the chain that use `${configDir}`, restated (undefined: not restated). */
  top: { files?: string[]; include?: string[]; exclude?: string[] };
  /** TypeScript's rootDir default where it is the tsconfig's directory (TS >= 6, or composite) and the chain sets none. */
  defaultRootDir: string | undefined;
}

/**
 * The fields of the tsconfig `file` (and what it extends) whose meaning depends on where the
 * tsconfig is, restated for a generated tsconfig elsewhere that extends it. `typeRootsFrom`: the
 * directory TypeScript's default typeRoots start from (the tsconfig's own, or the package's).
 */
export function relocatedFields(file: string, reads: ReadLog, tsMajor: number, typeRootsFrom = path.dirname(file)): RelocatedFields {
  const chain = extendsChain(file, reads);
  const first = (option: string) => chain.find((l) => l.compilerOptions[option] !== undefined)?.compilerOptions[option];
  const firstTop = (field: keyof ChainLayer['top']) => chain.find((l) => l.top[field] !== undefined)?.top[field];
  const compilerOptions: Record<string, unknown> = {};
  // `${configDir}` means the directory of the tsconfig tsc was given: the real one's, not the generated one's.
  const configDir = toPosix(path.dirname(file));
  for (const layer of [...chain].reverse()) {
    for (const [option, value] of Object.entries(layer.compilerOptions)) {
      if (mentionsConfigDir(value)) compilerOptions[option] = withConfigDir(value, configDir);
      else delete compilerOptions[option];
    }
  }
  const top: RelocatedFields['top'] = {};
  for (const field of ['files', 'include', 'exclude'] as const) {
    if (mentionsConfigDir(firstTop(field))) top[field] = withConfigDir(firstTop(field), configDir) as string[];
  }
  if (first('typeRoots') === undefined) {
    const typeRoots: string[] = [];
    for (let dir = typeRootsFrom; ; dir = path.dirname(dir)) {
      typeRoots.push(toPosix(path.join(dir, 'node_modules', '@types')));
      if (path.dirname(dir) === dir) break;
    }
    compilerOptions.typeRoots = typeRoots;
  }
  const types = compilerOptions.types ?? first('types');
  if (Array.isArray(types)) {
    const rootsLayer = chain.find((l) => l.compilerOptions.typeRoots !== undefined);
    const typeRoots = (compilerOptions.typeRoots ?? first('typeRoots')) as unknown;
    const roots = Array.isArray(typeRoots) ? typeRoots.filter((r): r is string => typeof r === 'string').map((r) => path.resolve(rootsLayer?.dir ?? path.dirname(file), r)) : [];
    compilerOptions.types = types.map((entry) => (typeof entry === 'string' ? locatedTypesEntry(entry, path.dirname(file), typeRootsFrom, roots, reads) : entry));
  }
  const defaultRootDir = first('rootDir') === undefined && (tsMajor >= 6 || first('composite') === true) ? path.dirname(file) : undefined;
  return { compilerOptions, top, defaultRootDir };
}

/**
 * A `types` entry as the real tsconfig's location makes it mean. TypeScript
 * resolves it from the project's tsconfig directory: a path against that
 * directory, a name in the typeRoots and then (TypeScript 5) in every
 * node_modules upward — `"bun-types"`, `"@cloudflare/workers-types"`, which
 * are no @types package. From a generated tsconfig elsewhere neither would be
 * found (TS2688), so a path becomes absolute and a name found only in a
 * node_modules becomes that package's absolute directory; a name the
 * typeRoots hold, or one found nowhere (TypeScript reports it), stays as written.
 */
function locatedTypesEntry(entry: string, projectDir: string, lookupFrom: string, typeRoots: readonly string[], reads: ReadLog): string {
  if (entry.startsWith('./') || entry.startsWith('../') || path.isAbsolute(entry)) return toPosix(path.resolve(projectDir, entry));
  if (typeRoots.some((root) => reads.stat(path.join(root, entry)) !== undefined || reads.stat(path.join(root, `${entry}.d.ts`)) !== undefined)) return entry;
  // A package, or a subpath of one (`vitest/globals`: its globals.d.ts), found from the package's directory upward.
  const parts = entry.split('/');
  const name = parts.slice(0, entry.startsWith('@') ? 2 : 1).join('/');
  const subpath = parts.slice(name.split('/').length).join('/');
  for (let dir = lookupFrom; ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    if (reads.stat(pkgDir)?.isDirectory()) return toPosix(subpath ? path.join(pkgDir, subpath) : pkgDir);
    if (path.dirname(dir) === dir) return entry;
  }
}

/**
 * The tsconfigs the `references` of `file` name, as files (a directory means its tsconfig.json).
 * Only the file's own: references are not inherited through extends.
 */
export function ownReferences(file: string, reads: ReadLog): string[] {
  const refs = extendsChain(file, reads)[0]?.top.references;
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((r) => {
    const p = (r as { path?: unknown })?.path;
    if (typeof p !== 'string') return [];
    const abs = path.resolve(path.dirname(file), p);
    return [reads.stat(abs)?.isDirectory() ? path.join(abs, 'tsconfig.json') : abs];
  });
}
