import type { Stats } from 'node:fs';
import { TOOL_ENV } from '../adapters/tool-env.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { BuilderName } from '../config/schema.js';
import { sha256 } from '../util/hash.js';
import { VERSION } from '../version.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { publishedManifest } from '../workspace/published-manifest.js';
import type { FileDigest, FileHasher } from './file-hasher.js';
import { listInputFiles } from './inputs.js';
import { lockfileFingerprint, type LockfileFingerprint } from './lockfile.js';

/**
 * Everything that decides what a build of one package produces. The cache key
 * is the sha256 of its canonical JSON (`fingerprintKey`), so two builds with
 * equal fingerprints may share outputs, and any difference — one byte of one
 * source, one env var, one tool version — gives a different key. It is stored
 * with every cache entry and per package as "the last build", which is what
 * `explainMiss` compares against to say why a key changed.
 *
 * Documented for users in specs/002-build-package-handler/data-model.md
 * ("Incremental cache").
 *
 * Paths are relative to the package (posix) and no field holds an absolute
 * path, so a checkout moved elsewhere keeps its keys. Bump
 * FINGERPRINT_VERSION whenever the meaning or shape of a field changes: old
 * entries then simply stop matching.
 *
 * 2: `dependencies` holds `external` for a workspace dependency the build does
 *    not read (services/dependency-needs.ts) instead of its output or file
 *    hash: such a package no longer waits for it, so the hash is not known
 *    when its key is computed, and its output does not depend on it anyway.
 * 3: the fingerprint is the first half of the key (build-reads.ts): what the
 *    build read outside the package's own files — other packages' outputs
 *    and sources included — is recorded with the entry and checked on every
 *    lookup. `dependencies` therefore holds only `read` or `external` per
 *    workspace dependency, never an output hash, so a key no longer depends
 *    on which packages a run selected.
 * 4: an entry's diagnostics include the package.json validation
 *    (src/validate), replayed by every hit: `files`, which it checks, is a
 *    fingerprinted field, and entries stored before validation existed (with
 *    no such diagnostics) stop matching.
 * 5: `declarations.isolated`: the version of the package's per-file
 *    declaration emitter (oxc-transform) that replaces TypeScript's program
 *    when the tsconfig sets isolatedDeclarations (adapters/isolated-dts.ts).
 * 6: an entry's recorded reads also list the directories outside the package
 *    that its tsconfig's include, typeRoots and `paths` fallbacks reach, and
 *    the parent of an `index.*` read outside it (build-reads.ts). An entry
 *    recorded before lacks them and would still look valid when a file
 *    appears there, so those entries stop matching.
 * 7: also the package's own directory when an include reaches it (its
 *    compilable names, outDir left out), and what esbuild plugins name in
 *    watchFiles/watchDirs (adapters/esbuild-plugins.ts); the same reason.
 * 8: also every package.json between a file read and its package's root (a
 *    dual package's dist/esm/package.json hid the root's `exports`), bun's
 *    `env` reads (adapters/bun-env.ts), and the tools' absent reads inside the
 *    package (gitignored), and the files of a package reached through a
 *    node_modules link also through the link (cache/link-aliases.ts); the
 *    same reason.
 * 9: the same inputs now give other outputs within one `buildSystem`
 *    version: declaration specifiers naming a module beside the directory of
 *    its name (`../sessions`) or the package index (`import("..")`) were
 *    rewritten wrongly (adapters/declarations-naming.ts). An entry written
 *    before holds those broken .d.ts files and would be a hit.
 */
export const FINGERPRINT_VERSION = 9;

export interface Fingerprint {
  /** Shape/meaning version of this type; part of the key. */
  version: typeof FINGERPRINT_VERSION;
  /** build-system's own version: a new release may build differently. */
  buildSystem: string;
  /** The JS runtime build-system runs in: adapters run in-process or inherit it. */
  runtime: { name: 'node' | 'bun'; major: number; platform: NodeJS.Platform; arch: string };
  /** The adapter that builds, and its tool's version (esbuild, bun, typescript, rollup). */
  adapter: { name: BuilderName; version: string };
  /**
   * TypeScript that emits declarations after a bundling adapter (`dts: true`), else null;
   * `isolated`: the version of the package's oxc-transform (null: none installed), which emits
   * them per file instead when the tsconfig sets isolatedDeclarations (adapters/isolated-dts.ts);
   * which of the two runs follows from keyed inputs (config, tsconfig chain, sources).
   * `bundler`: with `dts.bundle`, the versions of rollup and rollup-plugin-dts that bundle them
   * (absent otherwise, so the keys of other builds are unchanged).
   */
  declarations: { tool: 'typescript'; version: string; isolated: string | null; bundler?: { rollup: string; dts: string } } | null;
  /** The resolved config, with user-facing field names (see normalizedConfig). */
  config: Record<string, unknown>;
  /** The package.json fields that can change build output (see PACKAGE_JSON_FIELDS). */
  packageJson: Record<string, unknown>;
  /** The workspace lockfile's entries for this package's external dependencies; null without a lockfile. */
  lockfile: LockfileFingerprint | null;
  /** Env vars named by config `env`, and those the adapter's tool reads itself (adapters/tool-env.ts) → sha256 of the value (null = unset). Values are never stored in clear. */
  env: Record<string, string | null>;
  /** Input files (posix, relative to the package) → sha256 of their content. */
  files: Record<string, string>;
  /**
   * Workspace packages this one depends on → `read` when the build reads
   * their files (bundled, or their declarations read by TypeScript) or
   * `external` when it keeps them external (services/dependency-needs.ts).
   * What it read of them is in the entry's recorded reads, not here.
   */
  dependencies: Record<string, DependencyUse>;
}

/**
 * package.json fields that steer a build: entry and format derivation
 * (type, main, module, browser, exports, imports, bin, types), the target
 * (engines), externals and bundled code (the dependency maps), sideEffects,
 * and name/version (sources often import them), and `files` (the build's
 * package.json validation checks it; its warnings are stored with the
 * entry). With pnpm, the `publishConfig` fields pnpm publishes in their place
 * (the validation checks those instead; pickPackageJson adds them under
 * `publishConfig`). `scripts`, `description`, other `publishConfig` fields and
 * other metadata do not change outputs or diagnostics and are left out, so editing them keeps
 * the cache. package.json itself is not a
 * file input for the same reason.
 */
export const PACKAGE_JSON_FIELDS = [
  'name',
  'version',
  'type',
  'main',
  'module',
  'browser',
  'types',
  'typings',
  'exports',
  'imports',
  'bin',
  'engines',
  'sideEffects',
  'dependencies',
  'devDependencies',
  'peerDependencies',
  'optionalDependencies',
  'peerDependenciesMeta',
  'files',
] as const;

/** How a build uses one workspace dependency. */
export type DependencyUse = 'read' | 'external';

/** The `dependencies` value of a workspace dependency the build does not read. */
export const EXTERNAL_DEPENDENCY: DependencyUse = 'external';

export interface FingerprintInput {
  pkg: PackageInfo;
  config: ResolvedConfig;
  adapter: { name: BuilderName; version: string };
  declarations: Fingerprint['declarations'];
  /** Every workspace dependency of the package and how the build uses it (whether or not the run builds it). */
  dependencies: Readonly<Record<string, DependencyUse>>;
  /** Names of all workspace packages (lockfile links to them are skipped). */
  workspacePackages?: ReadonlySet<string>;
  hasher: FileHasher;
  env?: NodeJS.ProcessEnv;
  /** Absolute directories never to read as inputs (the cache directory). */
  excludeDirs?: readonly string[];
}

/**
 * JSON with object keys sorted at every level, undefined dropped, and values
 * JSON cannot hold made explicit (a function in adapterOptions, e.g. an
 * esbuild plugin, is keyed by its source text), so equal values always give
 * equal strings.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return { $function: value.toString() };
  if (typeof value === 'symbol') return { $symbol: value.toString() };
  if (value instanceof RegExp) return { $regexp: value.toString() };
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonicalize(v)));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(value as object);
    // Most objects here are built in key order already (file maps, sorted records): sorting copies them anyway.
    if (!inOrder(keys)) keys.sort();
    for (const key of keys) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out;
  }
  return null;
}

/** Whether `keys` is already in the order the default sort gives (UTF-16 code units). */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

export function fingerprintKey(fingerprint: Fingerprint): string {
  return sha256(canonicalJson(fingerprint));
}

/**
 * The resolved config under the names a user writes (entry, format), minus
 * what is not a build setting (the config file's absolute path). Resolved
 * rather than raw values, so `outDir: './dist/'` and `outDir: 'dist'` are one key.
 */
export function normalizedConfig(config: ResolvedConfig): Record<string, unknown> {
  return {
    adapter: config.adapter,
    entry: config.entries,
    outDir: config.outDir,
    format: config.formats,
    // Only when a format has one: a key that stays the same for every config without them.
    ...(config.formatDir.esm !== '' || config.formatDir.cjs !== '' ? { formatDir: config.formatDir } : {}),
    outExtension: config.outExtension,
    // Only when package.json names one: a key that stays the same for every package without.
    ...(Object.keys(config.declaredDts).length > 0 ? { declaredDts: config.declaredDts } : {}),
    emit: config.emit,
    include: config.include ?? null,
    exclude: config.exclude ?? null,
    platform: config.platform,
    target: config.target,
    sourcemap: config.sourcemap,
    minify: config.minify,
    splitting: config.splitting,
    // Only when off: a key that stays the same for every bundled config.
    ...(config.bundle ? {} : { bundle: false }),
    shims: config.shims,
    // As written: true, or the bundle options (a key that stays the same for every config without them).
    dts: config.dtsBundle ? { bundle: true, resolve: config.dtsBundle.resolve } : config.dts,
    external: config.external,
    // Only when set: a key that stays the same for every config without them.
    ...(Object.keys(config.entryOptions).length > 0 ? { entryOptions: config.entryOptions } : {}),
    ...(config.noDtsEntries.length > 0 ? { noDtsEntries: config.noDtsEntries } : {}),
    define: config.define,
    banner: config.banner ?? null,
    clean: config.clean,
    env: config.env,
    inputs: config.inputs,
    adapterOptions: config.adapterOptions,
    bins: config.bins,
  };
}

export function currentRuntime(): Fingerprint['runtime'] {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const version = bun ? bun.version : process.versions.node;
  return { name: bun ? 'bun' : 'node', major: Number(version.split('.')[0]), platform: process.platform, arch: process.arch };
}

function pickPackageJson(pkg: PackageInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of PACKAGE_JSON_FIELDS) if (pkg.manifest[field] !== undefined) out[field] = pkg.manifest[field];
  // What pnpm publishes instead (workspace/published-manifest.ts): the build's validation checks it, and its
  // warnings are stored with the entry. Present only where pnpm replaces a field, so no other key changes.
  const { manifest, replaced } = publishedManifest(pkg);
  if (replaced.length > 0) out.publishConfig = Object.fromEntries(replaced.map((f) => [f, (manifest as Record<string, unknown>)[f]]));
  return out;
}

/** The package's input files with their hashes (posix rel → sha256), and the stat each was hashed at. */
async function hashFiles(pkgDir: string, options: Parameters<typeof listInputFiles>[1], hasher: FileHasher): Promise<{ hashes: Record<string, string>; stats: Map<string, Stats>; dirs: string[] }> {
  const dirs: string[] = [];
  options = { ...options, listedDirs: dirs };
  const files = listInputFiles(pkgDir, options);
  // Most files' hashes are vouched for by the stat cache, synchronously: only the others become promises
  // (one per input file was a measurable share of a no-op run's CPU and garbage, research.md §8 "8.u").
  const digests: (FileDigest | null)[] = files.map((f) => (f.link !== undefined ? { sha256: `symlink:${f.link}`, bytes: 0 } : (hasher.vouched(f.abs, f.stat) ?? null)));
  const reading: Promise<void>[] = [];
  files.forEach((f, i) => {
    if (digests[i] !== null) return;
    reading.push(
      hasher.hash(f.abs, f.stat).then(
        (d) => void (digests[i] = d),
        // A file deleted between the listing and the read (an editor's temp file) is simply not an input.
        (e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        },
      ),
    );
  });
  await Promise.all(reading);
  const hashes: Record<string, string> = {};
  const stats = new Map<string, Stats>();
  files.forEach((f, i) => {
    const digest = digests[i];
    if (!digest) return;
    hashes[f.rel] = digest.sha256;
    if (f.link === undefined) stats.set(f.abs, f.stat);
  });
  return { hashes, stats, dirs };
}

/**
 * The fingerprint and its key (the first half of a cache key: see
 * build-reads.ts), the input files with the stat each was hashed at, which
 * the build checks again once it has run, and the package's directories the
 * walk listed (a key computed ahead checks them: services/keys-ahead.ts).
 */
export async function computeFingerprint(input: FingerprintInput): Promise<{ fingerprint: Fingerprint; key: string; inputFiles: Map<string, Stats>; inputDirs: string[] }> {
  const { pkg, config, hasher } = input;
  const env = input.env ?? process.env;
  const excludeDirs = input.excludeDirs ?? [];

  const [files, lockfile] = await Promise.all([
    hashFiles(pkg.dir, { workspaceRoot: pkg.workspaceRoot, outDir: config.outDir, inputs: config.inputs, excludeDirs, reads: hasher.reads }, hasher),
    lockfileFingerprint(pkg, hasher, input.workspacePackages ?? new Set()),
  ]);

  const envHashes: Record<string, string | null> = {};
  // The builder's own (adapters/tool-env.ts) are keyed like declared ones: bun inlines NODE_ENV as it finds it.
  for (const name of [...new Set([...config.env, ...TOOL_ENV[input.adapter.name]])].sort()) {
    const value = hasher.reads.env(name, env);
    envHashes[name] = value === undefined ? null : sha256(`${name}=${value}`);
  }

  const dependencies: Record<string, DependencyUse> = {};
  for (const name of Object.keys(input.dependencies).sort()) dependencies[name] = input.dependencies[name]!;

  const fingerprint: Fingerprint = {
    version: FINGERPRINT_VERSION,
    buildSystem: VERSION,
    runtime: currentRuntime(),
    adapter: input.adapter,
    declarations: input.declarations,
    // Canonical (plain JSON) already, so a fingerprint read back from a manifest is equal to the one computed.
    config: JSON.parse(canonicalJson(normalizedConfig(config))) as Record<string, unknown>,
    packageJson: pickPackageJson(pkg),
    lockfile,
    env: envHashes,
    files: files.hashes,
    dependencies,
  };
  return { fingerprint, key: fingerprintKey(fingerprint), inputFiles: files.stats, inputDirs: files.dirs };
}
