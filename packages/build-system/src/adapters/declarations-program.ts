import path from 'node:path';
import { isInside, toPosix } from '../util/paths.js';
import type { ChainLayer } from './tsconfig-layers.js';

/**
 * The program of a bundled package's declarations run: its entries (tsc
 * follows their imports, type-only ones included) plus the hand-written
 * declaration files its tsconfig covers (a `src/env.d.ts` with globals or
 * module augmentations that no source imports), and nothing else.
 *
 * Why not the tsconfig's own file list: in most real packages that list is
 * also the editor's and the test runner's (`"include": ["src", "test"]`, or
 * `src/**` with `*.test.ts` beside the sources). Compiled for declarations,
 * those files either fail the run (TS6059: a test outside the sources'
 * directory, which is rootDir) or get declarations nobody ships, and their type
 * errors fail a build whose bundle never contained them. A bundler ships what
 * the entries reach; tsdown's declarations follow the entries for the same
 * reason. The tsc adapter is not affected: it emits one output per file of the
 * tsconfig, as `tsc` does.
 *
 * The declaration files are kept through include patterns narrowed to
 * declarations (`src` -> `src/**\/*.d.ts`, `src/**\/*.ts` -> `src/**\/*.d.ts`);
 * a pattern that can match no declaration (`src/index.ts`, `*.tsx`) is dropped.
 * Exclude keeps the tsconfig's, or tsc's default when it has none (with the
 * tsconfig's outDir/declarationDir, which tsc's default also leaves out).
 * Paths are made absolute: the generated tsconfig lives elsewhere. A
 * composite tsconfig is run as not composite (tsc-project.ts): composite
 * requires every compiled file to be listed (TS6307), and what else it
 * implies the run sets itself.
 */
export interface DeclarationProgram {
  files: string[];
  include: string[];
  exclude: string[];
}

const DECLARATION = /\.d\.[cm]?ts$/;
const TS_DEFAULT_EXCLUDE = ['node_modules', 'bower_components', 'jspm_packages'];

/** `chain`: the tsconfig's extends chain, highest priority first (extendsChain); `resolve` makes a layer's path absolute (with `${configDir}` replaced). */
export function declarationProgram(chain: ChainLayer[], entries: string[], resolve: (layer: ChainLayer, p: string) => string): DeclarationProgram {
  const layerOf = (field: 'files' | 'include' | 'exclude') => chain.find((l) => l.top[field] !== undefined);
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const filesLayer = layerOf('files');
  const includeLayer = layerOf('include');
  const excludeLayer = layerOf('exclude');
  const own = chain[0];

  const declarationFiles = filesLayer ? strings(filesLayer.top.files).filter((f) => DECLARATION.test(f)).map((f) => resolve(filesLayer, f)) : [];
  // tsc's default include (everything below the tsconfig) applies when the chain names neither files nor include.
  const include = includeLayer ? strings(includeLayer.top.include).map((p) => [includeLayer, p] as const) : filesLayer || !own ? [] : [[own, '**/*'] as const];
  const declarationIncludes = include.flatMap(([layer, p]) => {
    const narrowed = declarationsOnly(p);
    return narrowed ? [resolve(layer, narrowed)] : [];
  });

  let exclude: string[];
  if (excludeLayer) exclude = strings(excludeLayer.top.exclude).map((p) => resolve(excludeLayer, p));
  else {
    exclude = own ? TS_DEFAULT_EXCLUDE.map((p) => resolve(own, p)) : [];
    for (const option of ['outDir', 'declarationDir']) {
      const layer = chain.find((l) => typeof l.compilerOptions[option] === 'string');
      if (layer) exclude.push(resolve(layer, layer.compilerOptions[option] as string));
    }
  }
  return { files: [...entries, ...declarationFiles], include: declarationIncludes, exclude };
}

/** tsc's reading of an include/exclude entry: a last segment without `*`, `?` or an extension names a directory. */
export function namesDirectory(pattern: string): boolean {
  const last = pattern.replace(/\/$/, '').split('/').pop() ?? '';
  return !/[*?]/.test(last) && !/\.[^./]+$/.test(last);
}

/**
 * An include pattern narrowed to the declaration files it matches, or
 * undefined when it matches none. tsc reads a last segment without `*`, `?`
 * or an extension as a directory.
 */
export function declarationsOnly(pattern: string): string | undefined {
  const slash = pattern.lastIndexOf('/');
  const dir = pattern.slice(0, slash + 1);
  const last = pattern.slice(slash + 1);
  const wildcard = /[*?]/.test(last);
  if (namesDirectory(pattern)) return `${pattern.replace(/\/$/, '')}/**/*.d.ts`;
  if (DECLARATION.test(last)) return pattern;
  if (!wildcard) return undefined;
  // `*`, `index*`: any name, so any declaration starting that way.
  if (last.endsWith('*')) return `${dir}${last}.d.ts`;
  // `*.ts`, `*.mts`, `*.cts` also match the declarations of that kind.
  const kind = /\.([cm]?)ts$/.exec(last);
  return kind ? `${dir}${last.slice(0, -kind[0].length)}.d.${kind[1]}ts` : undefined;
}

/**
 * The tsconfig's `paths` without the mappings into another workspace
 * package's sources (`"@acme/*": ["../../packages/*\/src"]`, the nx and kubb
 * layout), or undefined when it has none. Through such a mapping the
 * declarations run compiles the other package's sources as this one's, which
 * tsc refuses (TS6059: not under rootDir) and which would publish its code
 * and types inside this package. Without the mapping the import resolves as
 * it does for the package's users: by name, to the dependency's built
 * declarations (a workspace dependency is built first). The tsc adapter keeps
 * the mapping and its TS6059 hint: it emits JS, whose imports must not change.
 * Kept values are made absolute (the generated tsconfig lives elsewhere).
 */
export function pathsWithoutSiblingSources(chain: ChainLayer[], restated: unknown, pkgDir: string, workspaceRoot: string): Record<string, string[]> | undefined {
  const pathsLayer = chain.find((l) => l.compilerOptions.paths !== undefined);
  const paths = restated ?? pathsLayer?.compilerOptions.paths;
  if (!pathsLayer || !paths || typeof paths !== 'object' || Array.isArray(paths)) return undefined;
  const baseLayer = chain.find((l) => typeof l.compilerOptions.baseUrl === 'string');
  const base = baseLayer ? path.resolve(baseLayer.dir, baseLayer.compilerOptions.baseUrl as string) : pathsLayer.dir;
  const siblingSource = (target: string) => {
    const abs = path.resolve(base, target.split('*')[0]!);
    return isInside(workspaceRoot, abs) && !isInside(pkgDir, abs) && !abs.split(path.sep).includes('node_modules');
  };
  const kept: Record<string, string[]> = {};
  let dropped = false;
  for (const [key, targets] of Object.entries(paths as Record<string, unknown>)) {
    const list = Array.isArray(targets) ? targets.filter((t): t is string => typeof t === 'string') : [];
    if (list.length > 0 && list.every(siblingSource)) dropped = true;
    else kept[key] = list.map((t) => toPosix(path.resolve(base, t)));
  }
  return dropped ? kept : undefined;
}
