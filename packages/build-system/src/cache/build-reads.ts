import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { BuilderName } from '../config/schema.js';
import { sha256 } from '../util/hash.js';
import { isInside, toPosix } from '../util/paths.js';
import { extendsChain } from '../adapters/tsconfig-layers.js';
import { nearestTsconfig, tsconfigChain } from '../util/tsconfig-chain.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { FileHasher } from './file-hasher.js';
import { canonicalJson } from './fingerprint.js';
import { compilableHash, envValueHash, manifestHash, manifestPackageName, namesHash } from './read-hashes.js';
import { linkAlias } from './link-aliases.js';
import { includeDirs, pathFallbacksOutside, typeRootsOutside, type IncludeDirs } from './tsconfig-dirs.js';

/**
 * What a build read beyond the package's own files, as the second half of
 * its cache key.
 *
 * The fingerprint (fingerprint.ts) is computed before a build from what can
 * be known up front: the package's files, config, package.json, lockfile
 * entries, env, tools. Whatever else the build reads — a root
 * `tsconfig.base.json` its tsconfig extends, a file outside the package
 * imported by a relative path or through an alias, a gitignored generated
 * source, files behind a symlinked directory, a bundled file in node_modules,
 * another workspace package's declarations — is only known once the tool has
 * run, from the tool itself (AdapterOutput.reads). Those files are recorded
 * with their content hashes in the cache entry, and an entry is a hit only
 * while every one of them is unchanged. So inputs are complete by
 * construction: nothing the tool reported reading can change without the
 * entry going stale, and no list of inputs is kept by hand.
 *
 * What the tools read without reporting it is added here by rule:
 * - the tsconfig chain: every `tsconfig*.json` a tool reported (the tsc
 *   adapter reports the project it compiled) with everything it `extends`
 *   and `references`; for bundlers that look tsconfig up themselves (esbuild,
 *   bun), the nearest tsconfig/jsconfig of every directory they read from,
 *   and the places looked at on the way (a tsconfig added there would apply);
 * - the nearest package.json of every file the tools read: the fields that
 *   steer how a file is resolved and compiled (MANIFEST_FIELDS: `type`,
 *   `exports`, `sideEffects`…), not `version` or `scripts`, so a release or a
 *   new script in a dependency does not rebuild its dependents; not the
 *   package's own, whose build-relevant fields the fingerprint holds;
 * - the names in each directory a file outside the package's own inputs was
 *   read from (a file added beside it can change what an import resolves to),
 *   shared chunks aside (SHARED_CHUNK);
 * - for TypeScript (tsc adapter, `dts: true`), the `node_modules/@types`
 *   directories it scans by default, the directories its own tsconfig's (or
 *   the config's) `include` reaches, inside the package too (a gitignored
 *   declaration generated there is no input of the fingerprint), and the
 *   `typeRoots` outside the package; and (bundlers
 *   too) the earlier targets of `paths` fallbacks (tsconfig-dirs.ts);
 * - beside an `index.*` read outside the package, its directory's parent: a
 *   `mod.ts` appearing there wins over `mod/index.ts` for `import './mod'`.
 * Files of the tool's own install are left out by the adapters: the tool's
 * version is in the fingerprint.
 *
 * Paths are stored relative to the package (posix) when inside the workspace
 * root, so a moved checkout keeps its keys, and absolute otherwise.
 */

export interface RecordedReads {
  /** Path → sha256 of the content, or null for a path that must stay absent. */
  files: Record<string, string | null>;
  /** Directory → sha256 of its sorted entry names, or of its compilable names (read-hashes.ts). */
  dirs: Record<string, string>;
  /** package.json → sha256 of its MANIFEST_FIELDS (canonical JSON). */
  manifests: Record<string, string>;
  /** Env var a plugin read during the build → envValueHash of its value (null: unset). */
  env?: Record<string, string | null>;
}

/** A cache entry's key: the fingerprint's key together with the build's recorded reads. */
export function entryKey(primaryKey: string, reads: RecordedReads): string {
  return sha256(canonicalJson({ fingerprint: primaryKey, reads }));
}

export interface BuildReadsInput {
  pkg: PackageInfo;
  /** The adapter that built: decides which lookups the tool did on its own. */
  adapter: BuilderName;
  /** TypeScript ran too (`dts: true` after a bundler). */
  declarations: boolean;
  /** What the tools reported reading (absolute). */
  toolReads: readonly string[];
  /** What the tools reported looking for and not finding (absolute). */
  toolAbsent?: readonly string[];
  /** Directories whose names the tools reported depending on (absolute); their parents are not listed. */
  toolDirs?: readonly string[];
  /** Env vars the build's own code read (plugins). */
  toolEnv?: readonly string[];
  /** The fingerprint's own input files (absolute path → the stat they were hashed at). */
  staticInputs: ReadonlyMap<string, Stats>;
  /** Directories never recorded (the cache directory, the staging directory). */
  excludeDirs: readonly string[];
  /** The package's outDir (absolute): never part of what an include reaches. */
  outDir: string;
  /** The config's `include` (relative to the package), which replaces the tsconfig's. */
  configInclude?: readonly string[];
  hasher: FileHasher;
  /**
   * The ctime of a directory created just before the tool started (the
   * staging dir): the file system's own clock at that moment. A file whose
   * ctime is not older may have changed after the tool read it. Date.now()
   * would not do: file timestamps may come from a coarser kernel clock that
   * lags it by a tick; ctime, unlike mtime, cannot be set back by anyone.
   */
  startedCtimeMs: number;
  /**
   * Paths the build's own checks looked at outside what the tools read (the
   * package.json validation, src/validate: ignore files, targets outside
   * outDir), whose content or absence decided diagnostics stored with the
   * entry: recorded as they are, without their directories.
   */
  checked?: { present: readonly string[]; absent: readonly string[] };
}

export { MANIFEST_FIELDS, SHARED_CHUNK } from './read-hashes.js';

export type BuildReadsOutcome = { reads: RecordedReads } | { problem: string };

/** Bundlers that apply the nearest tsconfig of each source (esbuild and bun themselves; rollup for `paths`, adapters/tsconfig-paths.ts). */
const BUNDLERS_WITH_TSCONFIG_LOOKUP: ReadonlySet<BuilderName> = new Set(['esbuild', 'bun', 'rollup']);
/** tsconfig.json, tsconfig.build.json, app.tsconfig.json, jsconfig.json… (any name an adapter reports as its project). */
const TSCONFIG_NAME = /[tj]sconfig[^/]*\.json$/;
const isNodeModules = (abs: string) => abs.split(path.sep).includes('node_modules');
/** A file a directory import resolves to (index.ts, index.js, index.d.ts…). */
const INDEX_FILE = /^index\.[^/]+$/;

/** The key of a package's recorded reads as stored (see the module comment for the path rule). */
export function readsPath(pkg: PackageInfo, abs: string): string {
  return isInside(pkg.workspaceRoot, abs) ? toPosix(path.relative(pkg.dir, abs)) || '.' : toPosix(abs);
}

/**
 * The recorded reads of a finished build, or why it must not be cached
 * (an input changed while it ran, a file it read is gone, a tsconfig chain
 * that cannot be followed).
 */
export async function recordBuildReads(input: BuildReadsInput): Promise<BuildReadsOutcome> {
  const { pkg, hasher } = input;
  const reads = hasher.reads;
  // 1. The package's own inputs: still exactly as they were hashed, or the output may come from other content.
  for (const [abs, before] of input.staticInputs) {
    const now = statSync(abs, { throwIfNoEntry: false });
    if (!now || now.size !== before.size || now.mtimeMs !== before.mtimeMs || now.ctimeMs !== before.ctimeMs || now.ino !== before.ino) {
      return { problem: `${toPosix(path.relative(pkg.dir, abs))} changed while the build ran` };
    }
  }

  const excluded = (abs: string) => input.excludeDirs.some((d) => isInside(d, abs));
  const ownManifest = path.join(pkg.dir, 'package.json');
  const toolFiles = new Set<string>();
  for (const f of input.toolReads) {
    const abs = path.resolve(f);
    if (!input.staticInputs.has(abs) && abs !== ownManifest && !excluded(abs)) toolFiles.add(abs);
  }
  /** Files read by rule (tsconfig chains): present → hashed; absent → must stay absent. */
  const ruleFiles = new Set<string>();
  const manifests = new Set<string>();
  /** Files read below a linked package, as the link reaches them (link-aliases.ts): hashed like tool reads. */
  const aliasFiles = new Set<string>();
  const mustBeAbsent = new Set<string>();
  const dirs = new Set<string>(input.toolDirs);

  // 2. tsconfig chains.
  // From everything the tool reported: the package's own tsconfig is one of its inputs already, but what it extends is not.
  const chainStarts = new Set<string>(input.toolReads.map((f) => path.resolve(f)).filter((f) => TSCONFIG_NAME.test(path.basename(f))));
  if (BUNDLERS_WITH_TSCONFIG_LOOKUP.has(input.adapter)) {
    const sourceDirs = new Set([pkg.dir, ...[...toolFiles, ...input.staticInputs.keys()].filter((f) => !isNodeModules(f)).map((f) => path.dirname(f))]);
    const nearestByDir = new Map<string, string | null>();
    for (const dir of sourceDirs) {
      if (nearestByDir.has(dir)) continue;
      const found = nearestTsconfig(dir, reads);
      nearestByDir.set(dir, found.file);
      for (const a of found.absent) mustBeAbsent.add(a);
      if (found.file) chainStarts.add(found.file);
    }
  }
  const typescript = input.adapter === 'tsc' || input.declarations;
  const reached: IncludeDirs[] = [];
  /** Reached by an include: recorded by their compilable names, unless a file was read there too (then all names). */
  const includedDirs = new Map<string, boolean>();
  /** The package's own directory, reached by an include: undefined, not reached; else whether allowJs. */
  let includedRoot: boolean | undefined;
  const addIncluded = (included: IncludeDirs) => {
    if (included.root) includedRoot = (includedRoot ?? false) || included.allowJs === true;
    for (const d of included.dirs) includedDirs.set(d, (includedDirs.get(d) ?? false) || included.allowJs === true);
    for (const a of included.absent) mustBeAbsent.add(a);
  };
  let ownTsconfigSeen = false;
  for (const start of chainStarts) {
    const chain = tsconfigChain(start, reads);
    if (chain.problem) return { problem: `the tsconfig chain of ${readsPath(pkg, start)} cannot be followed: ${chain.problem}` };
    for (const f of chain.files) ruleFiles.add(f);
    for (const a of chain.absent) mustBeAbsent.add(a);
    // 2a. What the package's own tsconfig (or config) includes, its typeRoots outside the package, and the earlier
    // targets of `paths` fallbacks: a file appearing there joins the build, though nobody read it (tsconfig-dirs.ts). A tsconfig outside the package is not
    // followed: the program of a package using it is restricted to the package (adapters/tsc-project.ts).
    const own = isInside(pkg.dir, start);
    if (own) ownTsconfigSeen = true;
    // `paths` applies from whichever tsconfig the tool used, the package's or one above it.
    const paths = typescript || BUNDLERS_WITH_TSCONFIG_LOOKUP.has(input.adapter);
    if (!(typescript && own) && !paths) continue;
    const layers = extendsChain(start, reads);
    if (typescript && own) {
      addIncluded(includeDirs(layers, pkg.dir, input.outDir, reads, input.configInclude));
      reached.push(typeRootsOutside(layers, pkg.dir, reads));
    }
    if (paths) reached.push(pathFallbacksOutside(layers, pkg.dir, reads));
  }
  // The config's include applies with a tsconfig outside the package too (adapters/tsc-project.ts).
  if (typescript && !ownTsconfigSeen && input.configInclude?.length) addIncluded(includeDirs([], pkg.dir, input.outDir, reads, input.configInclude));
  for (const { dirs: listed, absent } of reached) {
    for (const d of listed) dirs.add(d);
    for (const a of absent) mustBeAbsent.add(a);
  }

  // 2b. The tsc adapter's (and declaration emit's) own lookup (adapters/tsc-project.ts): without a tsconfig of
  // its own, a package uses the nearest tsconfig.json up to the workspace root, so one appearing in a directory
  // passed over would be used instead. Its absence is recorded, not the directory's listing: a new package or
  // file beside it changes nothing this build read.
  const ownTsconfig = ['tsconfig.build.json', 'tsconfig.json'].some((name) => reads.stat(path.join(pkg.dir, name))?.isFile());
  if ((input.adapter === 'tsc' || input.declarations) && !ownTsconfig && isInside(pkg.workspaceRoot, pkg.dir)) {
    for (let dir = path.dirname(pkg.dir); ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'tsconfig.json');
      if (reads.stat(candidate)?.isFile()) break;
      mustBeAbsent.add(candidate);
      if (dir === pkg.workspaceRoot || path.dirname(dir) === dir) break;
    }
  }

  // 3. The nearest package.json of every file the tools read outside the package's own inputs.
  const manifestByDir = new Map<string, string | null>();
  const nearestManifest = (dir: string): string | null => {
    const known = manifestByDir.get(dir);
    if (known !== undefined) return known;
    const candidate = path.join(dir, 'package.json');
    let found: string | null;
    if (reads.stat(candidate)?.isFile()) found = candidate;
    else {
      mustBeAbsent.add(candidate);
      const parent = path.dirname(dir);
      found = parent === dir ? null : nearestManifest(parent);
    }
    manifestByDir.set(dir, found);
    return found;
  };
  /** Package root outside node_modules → the node_modules link a bare import reached it through (link-aliases.ts). */
  const aliasByRoot = new Map<string, string | null>();
  for (const f of toolFiles) {
    // Up to the package's root: a nearer package.json without a name (dist/esm/package.json) is not where the
    // resolver read `exports` or `main`; pointing them at another existing file changes the output.
    for (let manifest = nearestManifest(path.dirname(f)); manifest; ) {
      if (manifest !== ownManifest && !input.staticInputs.has(manifest)) manifests.add(manifest);
      const dir = path.dirname(manifest);
      if (manifest === ownManifest || dir === pkg.workspaceRoot || path.basename(path.dirname(dir)) === 'node_modules') break;
      const name = manifestPackageName(manifest, reads);
      if (name !== null) {
        if (!aliasByRoot.has(dir) && !isNodeModules(dir)) {
          const found = linkAlias(pkg.dir, pkg.workspaceRoot, name, dir, reads);
          aliasByRoot.set(dir, found.link);
          for (const a of found.absent) mustBeAbsent.add(a);
        }
        const link = aliasByRoot.get(dir);
        if (link) aliasFiles.add(path.join(link, path.relative(dir, f)));
        break;
      }
      manifest = path.dirname(dir) === dir ? null : nearestManifest(path.dirname(dir));
    }
    // A file added beside one read outside the package's own inputs could change what an import resolves to.
    // Not beside a tsconfig: nothing resolves against its siblings, and its own include never applies to a
    // package outside its directory (adapters/tsc-project.ts restricts the program), so a new file at the
    // workspace root does not rebuild every package that extends the root tsconfig.
    if (!isNodeModules(f) && !TSCONFIG_NAME.test(path.basename(f))) {
      dirs.add(path.dirname(f));
      // `import '../x/mod'` read mod/index.ts: a mod.ts added beside the directory would win. Not for a package's
      // own root (a dependency's dist/index.js is reached through its package.json, never by probing).
      const parent = path.dirname(path.dirname(f));
      if (INDEX_FILE.test(path.basename(f)) && !isInside(pkg.dir, parent) && !reads.stat(path.join(parent, 'package.json'))) dirs.add(parent);
    }
  }
  const checkedFiles = new Set<string>();
  for (const abs of input.checked?.present ?? []) if (!input.staticInputs.has(abs) && abs !== ownManifest && !excluded(abs)) checkedFiles.add(abs);
  for (const abs of input.checked?.absent ?? []) if (!excluded(abs)) mustBeAbsent.add(abs);
  // A file appearing in a directory the fingerprint walked changes the fingerprint already: no need to record its absence.
  // Unless the walk skips it (gitignored): a tool's own absent reads (a plugin's optional file, bun's `.env.local`) stay.
  const walkedDirs = new Set<string>();
  for (const f of input.staticInputs.keys()) {
    for (let d = path.dirname(f); isInside(pkg.dir, d) && !walkedDirs.has(d); d = path.dirname(d)) walkedDirs.add(d);
  }
  for (const a of mustBeAbsent) if (walkedDirs.has(path.dirname(a))) mustBeAbsent.delete(a);
  for (const abs of input.toolAbsent ?? []) if (!excluded(abs)) mustBeAbsent.add(abs);

  // 4. TypeScript's default type roots.
  if (input.adapter === 'tsc' || input.declarations) {
    for (let dir = pkg.dir; ; dir = path.dirname(dir)) {
      const types = path.join(dir, 'node_modules', '@types');
      if (reads.stat(types)?.isDirectory()) dirs.add(types);
      else mustBeAbsent.add(types);
      if (path.dirname(dir) === dir) break;
    }
  }

  // 5. Hash everything (once per run per file, through the read log); a file changed during the build is not trusted.
  const recorded: RecordedReads = { files: {}, dirs: {}, manifests: {} };
  // Through the run's log: the no-op record checks them too. Values as this process has them: the build's own.
  if (input.toolEnv?.length) recorded.env = Object.fromEntries([...input.toolEnv].sort().map((name) => [name, envValueHash(name, reads.env(name))]));
  for (const abs of [...new Set([...toolFiles, ...ruleFiles, ...checkedFiles, ...aliasFiles])].sort()) {
    if (input.staticInputs.has(abs) || abs === ownManifest || manifests.has(abs)) continue;
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) return { problem: `${readsPath(pkg, abs)} was read by the build but is gone` };
    if (st.isDirectory()) {
      dirs.add(abs);
      continue;
    }
    if (st.ctimeMs >= input.startedCtimeMs) return { problem: `${readsPath(pkg, abs)} changed while the build ran` };
    recorded.files[readsPath(pkg, abs)] = (await hasher.hash(abs, st)).sha256;
  }
  for (const abs of [...manifests].sort()) {
    const st = statSync(abs, { throwIfNoEntry: false });
    const hash = st && st.ctimeMs < input.startedCtimeMs ? manifestHash(abs, reads) : null;
    if (!hash) return { problem: `${readsPath(pkg, abs)} changed while the build ran, or cannot be read` };
    recorded.manifests[readsPath(pkg, abs)] = hash;
  }
  for (const abs of mustBeAbsent) {
    if (ruleFiles.has(abs) || toolFiles.has(abs) || checkedFiles.has(abs) || manifests.has(abs)) continue;
    if (reads.stat(abs)) return { problem: `${readsPath(pkg, abs)} appeared while the build ran` };
    recorded.files[readsPath(pkg, abs)] = null;
  }
  for (const dir of [...dirs].sort()) {
    if (excluded(dir)) continue;
    recorded.dirs[readsPath(pkg, dir)] = namesHash(reads.list(dir).map((e) => e.name));
  }
  for (const [dir, allowJs] of [...includedDirs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (excluded(dir) || dirs.has(dir)) continue;
    recorded.dirs[readsPath(pkg, dir)] = compilableHash(reads.list(dir), allowJs);
  }
  // A gitignored declaration generated into the package's root: listed without its outDir (an outDir that is the root: not listed).
  const outDirTop = path.relative(pkg.dir, input.outDir).split(path.sep)[0]!;
  if (includedRoot !== undefined && isInside(pkg.dir, input.outDir) && outDirTop !== '' && !dirs.has(pkg.dir)) {
    recorded.dirs[readsPath(pkg, pkg.dir)] = compilableHash(reads.list(pkg.dir), includedRoot, outDirTop);
  }
  return { reads: recorded };
}
