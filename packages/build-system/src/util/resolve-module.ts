import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { moduleFile } from './module-file.js';
import type { ReadLog } from './read-log.js';

export interface ResolvedModule {
  /** Directory of the module's package (contains its package.json). */
  dir: string;
  version: string;
  /** Absolute path of the module's main entry (require resolution). */
  main: string;
}

// dist/util (per-file ESM), dist (index.cjs, cli.js), dist/cli-chunks, src/util (tests), or a host's bundle.
const ownDir = path.dirname(moduleFile(import.meta.url));
const requireFromOwnDir = createRequire(path.join(ownDir, 'noop.js'));

/**
 * Packages build-system ships inside its dist instead of depending on them (scripts/build.mjs
 * copies them to dist/vendor/<name>). esbuild's JS API is one: the `esbuild` package runs a
 * postinstall script, which pnpm refuses by default (the install fails until someone approves it)
 * and npm and yarn warn about, although the API needs nothing from it. The binary it drives comes
 * from the `@esbuild/<platform>` optional dependency, which the copied API resolves from where it
 * sits, inside build-system.
 */
const VENDORED = new Set(['esbuild']);
const vendoredDirs = new Map<string, string | null>();

/**
 * dist/vendor/<name> of the build-system this code belongs to, or null when there is none (src/
 * in this repo before a build; a host bundle with no build-system installed where it runs).
 */
function vendoredDir(name: string): string | null {
  if (!VENDORED.has(name)) return null;
  let dir = vendoredDirs.get(name);
  if (dir === undefined) {
    const exists = (d: string) => existsSync(path.join(d, 'package.json'));
    // Our own outputs sit in dist/ itself or one level down (dist/util, dist/cli-chunks).
    dir = [path.join(ownDir, 'vendor', name), path.join(ownDir, '..', 'vendor', name)].find(exists) ?? null;
    if (!dir) {
      // Bundled into a host's file (or src/ here): the build-system installed where it runs.
      try {
        const installed = path.join(path.dirname(requireFromOwnDir.resolve('build-system/package.json')), 'dist', 'vendor', name);
        if (exists(installed)) dir = installed;
      } catch {
        // None installed there.
      }
    }
    vendoredDirs.set(name, dir);
  }
  return dir;
}

/**
 * `require` from build-system's own install: its vendored copy when it has one, else what Node
 * resolves from build-system's files. For CommonJS tools (esbuild's main is CJS), a require is
 * cheaper than `import()`: no ESM wrapper, and no cjs-module-lexer pass over the file to guess
 * named exports (~10 ms for esbuild).
 */
export function requireOwn(name: string): unknown {
  const vendored = vendoredDir(name);
  try {
    return requireFromOwnDir(vendored ?? name);
  } catch (e) {
    if (vendored || !VENDORED.has(name) || (e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error(
      `build-system needs ${name}, which it ships in its dist/vendor, but neither build-system nor ${name} is installed where its code runs (${ownDir}): install build-system there, or ${name} if you bundled build-system into a file of your own`,
      { cause: e },
    );
  }
}

/**
 * Finds `name` as the package at `fromDir` would (its node_modules, then up),
 * then from the workspace root, then from build-system's own install. The
 * first hit wins, so a package's own pinned tool version is used when it has one.
 */
export function resolveModule(name: string, searchDirs: readonly string[], reads: ReadLog, opts: { includeOwn?: boolean } = {}): ResolvedModule | undefined {
  const dirs = [...searchDirs];
  if (opts.includeOwn !== false) dirs.push(ownDir);
  for (const from of dirs) {
    const found = resolveFrom(name, from, reads);
    if (!found) continue;
    // An earlier search dir that gains the package would win next time.
    if (reads.recording) {
      // Where Node looked before it found this one: a copy installed there later would win.
      for (const earlier of dirs.slice(0, dirs.indexOf(from))) noteNotInstalled(reads, name, earlier);
      // A vendored copy wins whatever is installed around build-system.
      if (!found.vendored) {
        noteNotInstalled(reads, name, from, found.dir);
        noteLookupPaths(reads, name, from);
      }
    }
    return { dir: found.dir, version: found.version, main: found.main };
  }
  if (reads.recording) for (const from of dirs) noteNotInstalled(reads, name, from);
  return undefined;
}

interface Resolution extends ResolvedModule {
  vendored: boolean;
}

/**
 * Per run (per read log): `name` resolved from a node_modules directory on, by where the
 * lookup from a directory first finds a `node_modules/<name>` entry. A run resolves the same
 * tool for every package (esbuild from 200 package directories); from each of them Node walks
 * the same ancestors, so one resolution per place it is found is enough. Per run, not per
 * process: an install between two runs (watch mode) must be seen.
 */
const resolutions = new WeakMap<ReadLog, Map<string, Resolution | null>>();
/** Per run: the entry names of a directory (empty when it cannot be listed). */
const listings = new WeakMap<ReadLog, Map<string, ReadonlySet<string>>>();
/** Per run: a directory's package.json as Node's self-reference check reads it (null: none there). */
const scopes = new WeakMap<ReadLog, Map<string, { name?: unknown; exports?: unknown } | null>>();

function memoFor<V>(map: WeakMap<ReadLog, Map<string, V>>, reads: ReadLog): Map<string, V> {
  let m = map.get(reads);
  if (!m) map.set(reads, (m = new Map()));
  return m;
}

function listing(dir: string, reads: ReadLog): ReadonlySet<string> {
  const seen = memoFor(listings, reads);
  let names = seen.get(dir);
  if (!names) {
    try {
      names = new Set(readdirSync(dir));
    } catch {
      names = new Set();
    }
    seen.set(dir, names);
  }
  return names;
}

/**
 * The first `node_modules/<name>` Node's lookup from `from` can stop at: the directories it
 * tries are `<d>/node_modules` for `from` and each ancestor `d` not itself named node_modules
 * (Module._nodeModulePaths), and one that holds neither `<name>` nor `<name>` with an extension
 * Node tries resolves nothing. Node's lookup from `from` therefore gives what the lookup from
 * the directory holding that node_modules gives. null when no ancestor has one (global folders
 * and NODE_PATH may still resolve it).
 */
function firstCandidate(name: string, from: string, reads: ReadLog): string | null {
  const segments = name.split('/');
  const base = segments[segments.length - 1]!;
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', ...segments);
      const names = listing(path.dirname(candidate), reads);
      if (names.has(base) || names.has(`${base}.js`) || names.has(`${base}.json`) || names.has(`${base}.node`)) return candidate;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/**
 * Whether Node would resolve `name` from `from` to the package `from` is in (a package
 * resolving its own name through its `exports`): then the lookup is not shared.
 */
function selfReference(name: string, from: string, reads: ReadLog): boolean {
  const seen = memoFor(scopes, reads);
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (dir.endsWith(`${path.sep}node_modules`)) return false;
    let manifest = seen.get(dir);
    if (manifest === undefined) {
      // Through the run's read log: discovery read the workspace packages' package.json already (and
      // which package a lookup starts in decides its outcome, so the record holds it).
      let text: string | undefined;
      try {
        text = reads.readTextOnce(path.join(dir, 'package.json'));
      } catch {
        text = '{}';
      }
      try {
        const parsed = text === undefined ? null : (JSON.parse(text.replace(/^\uFEFF/, '')) as unknown);
        manifest = text === undefined ? null : typeof parsed === 'object' && parsed !== null ? (parsed as { name?: unknown; exports?: unknown }) : {};
      } catch {
        manifest = {};
      }
      seen.set(dir, manifest);
    }
    if (manifest) return manifest.name === name && manifest.exports != null;
    if (path.dirname(dir) === dir) return false;
  }
}

function resolveFrom(name: string, from: string, reads: ReadLog): Resolution | null {
  const vendored = from === ownDir ? vendoredDir(name) : null;
  if (!vendored && selfReference(name, from, reads)) return resolveWithNode(name, from, null, reads);
  const memo = memoFor(resolutions, reads);
  const key = vendored ? `vendored\0${vendored}` : `${name}\0${firstCandidate(name, from, reads) ?? ''}`;
  let found = memo.get(key);
  if (found === undefined) memo.set(key, (found = resolveWithNode(name, from, vendored, reads)));
  return found;
}

function resolveWithNode(name: string, from: string, vendored: string | null, reads: ReadLog): Resolution | null {
  const req = createRequire(path.join(from, 'noop.js'));
  let pkgJsonPath: string;
  try {
    pkgJsonPath = vendored ? path.join(vendored, 'package.json') : req.resolve(`${name}/package.json`);
  } catch {
    // Packages whose exports hide package.json: resolve the main entry and walk up.
    try {
      const main = req.resolve(name);
      let dir = path.dirname(main);
      while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
      pkgJsonPath = path.join(dir, 'package.json');
    } catch {
      return null;
    }
  }
  const pkgText = reads.readText(pkgJsonPath) ?? '{}';
  const pkg = JSON.parse(pkgText) as { version?: string };
  let main: string;
  try {
    main = req.resolve(vendored ?? name);
  } catch {
    main = pkgJsonPath;
  }
  return { dir: path.dirname(pkgJsonPath), version: pkg.version ?? '0.0.0', main, vendored: vendored !== null };
}

/**
 * For the no-op record: every place Node's lookup from `fromDir` tries, past the node_modules of it and
 * its ancestors too (NODE_PATH, the global folders; pnpm's bin shims put `.pnpm/node_modules` there),
 * up to the one it finds `name` in. Absent ones are noted absent. The one found, when it is a link, is
 * noted as a link (its target): switched to another install, it is a change, where the real path's
 * package.json the run read stays as it was. A directory found at its own path needs nothing more: that
 * package.json is its. (Not the found directory's stat: an install moments ago would refuse every record.)
 */
function noteLookupPaths(reads: ReadLog, name: string, fromDir: string): void {
  const segments = name.split('/');
  for (const dir of createRequire(path.join(fromDir, 'noop.js')).resolve.paths(name) ?? []) {
    const candidate = path.join(dir, ...segments);
    if (!listing(path.dirname(candidate), reads).has(segments[segments.length - 1]!)) {
      reads.noteAbsent(candidate);
      continue;
    }
    if (lstatSync(candidate, { throwIfNoEntry: false })?.isSymbolicLink()) reads.readLink(candidate);
    return;
  }
}

/** For the no-op record: `name` is not installed where Node would look from `fromDir` (node_modules of it and every ancestor). */
function noteNotInstalled(reads: ReadLog, name: string, fromDir: string, foundAt?: string): void {
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', ...name.split('/'));
      if (candidate === foundAt) break;
      // Not in its directory's listing (this run's): absent, no stat needed.
      reads.noteFile(candidate, listing(path.dirname(candidate), reads).has(path.basename(candidate)) ? undefined : null);
    }
    if (path.dirname(dir) === dir) break;
  }
}

/**
 * Looks for an executable in node_modules/.bin from `fromDir` upward, then on PATH. Each place
 * looked in and found empty is recorded as absent, and PATH itself as read (unless the caller
 * passes `envPath`): installing the tool in any of them, or a different PATH, changes what a run
 * would choose (adapter `auto` prefers bun), so a no-op record must not be replayed then, and with
 * both recorded it need not be refused (a workspace with one `auto` package and no bun had no
 * no-op replay at all: honojs/middleware, research.md §5).
 */
export function findBinary(name: string, fromDirs: readonly string[], reads: ReadLog, envPath?: string): string | undefined {
  const seen = new Set<string>();
  const looked: string[] = [];
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
        looked.push(candidate);
      }
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  const pathValue = envPath ?? reads.env('PATH') ?? '';
  for (const dir of pathValue.split(path.delimiter)) {
    // An empty entry is the cwd for a shell; it is not looked in here (as before).
    if (!dir) continue;
    const candidate = path.join(path.resolve(dir), name);
    if (existsSync(candidate)) {
      reads.noteFile(candidate);
      return candidate;
    }
    looked.push(candidate);
  }
  // Found nowhere: each place it could appear is watched.
  for (const candidate of looked) reads.noteAbsent(candidate);
  return undefined;
}

/** Loads a resolved module by file path; CommonJS builds expose their exports as named exports or under `default`. */
export async function importModuleFile(file: string): Promise<Record<string, unknown>> {
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const dflt = mod.default;
  return dflt && typeof dflt === 'object' ? { ...(dflt as Record<string, unknown>), ...mod } : mod;
}
