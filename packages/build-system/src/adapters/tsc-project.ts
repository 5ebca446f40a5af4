import { mkdtempSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { isInside, staysInside, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { configInvalid } from './config-error.js';
import { declarationProgram, pathsWithoutSiblingSources } from './declarations-program.js';
import { writeGeneratedTsconfig } from './generated-tsconfig.js';
import { extendsChain, ownReferences, relocatedFields, withConfigDir, type ChainLayer } from './tsconfig-layers.js';

/**
 * Which tsconfig a package's tsc runs with, and which files it compiles.
 *
 * Lookup order (the first that exists):
 * 1. `adapterOptions.tsc.project`: any file inside the workspace root;
 * 2. `<package>/tsconfig.build.json` (the usual "emit only src" config beside
 *    a tsconfig.json that also type-checks tests);
 * 3. `<package>/tsconfig.json`;
 * 4. the nearest `tsconfig.json` above the package, up to and including the
 *    workspace root, so a package without its own uses the root's options;
 * 5. none: the entries on the command line with explicit options (tsc-runner).
 *
 * The program is the tsconfig's files/include/exclude, except:
 * - config `include`/`exclude` replace the tsconfig's (each on its own);
 * - a tsconfig outside the package (4, or 1 pointing elsewhere) is somebody
 *   else's file list: its include would make tsc compile other packages. The
 *   program is restricted to this package: config include when given; else
 *   the entries (tsc follows their imports) when there is no config exclude;
 *   else the entries' directory (the package's without entries) minus config
 *   exclude. outDir, node_modules and the build config are never sources.
 * tsc has no flag for files/include/exclude, so these cases run with a
 * tsconfig generated in a fresh temp dir (never in the package) that
 * `extends` the real one by absolute path and lists absolute patterns. The
 * real tsconfig is what is reported as read (the cache follows its chain);
 * the generated one, whose path is random, never enters a key.
 *
 * A generated tsconfig lives elsewhere than the real one, and TypeScript
 * derives two defaults from the location of the tsconfig it was given, so
 * both are set explicitly to what they are for the real one: `typeRoots`
 * (every `node_modules/@types` from the tsconfig's directory up; from the
 * package's directory for a tsconfig outside the package, so the package's
 * own @types count) unless the chain sets it, and the default `rootDir`
 * (TS >= 6 or composite: the tsconfig's directory). Likewise `${configDir}`
 * means the directory of the tsconfig tsc is given: every option and file
 * list of the chain that uses it is restated with the real one's directory
 * (relocatedFields, shared with tsc-references.ts).
 *
 * Project references are the package tsconfig's own (they are not inherited
 * through extends; a foreign tsconfig's are not followed). A run that failed
 * because a referenced project's outputs are not where its tsconfig says is
 * repeated with a generated tsconfig referencing stand-ins whose declarations
 * were just emitted (tsc-references.ts says why).
 */

export interface TscOptions {
  /** tsconfig to use instead of the looked-up one (relative to the package). */
  project?: string;
  /** Extra command-line arguments, appended last. */
  args: string[];
}

/** `adapterOptions.tsc` is a free record in the schema; the two keys we read are checked here. */
export function tscOptions(pkg: PackageInfo, config: ResolvedConfig): TscOptions {
  const raw = config.adapterOptions.tsc ?? {};
  const fail = configInvalid(pkg, config);
  for (const key of Object.keys(raw)) {
    if (key !== 'project' && key !== 'args') fail(`adapterOptions.tsc.${key}`, 'unknown option (expected project or args)');
  }
  const { project, args } = raw as { project?: unknown; args?: unknown };
  if (project !== undefined) {
    if (typeof project !== 'string' || project === '') fail('adapterOptions.tsc.project', `must be a path to a tsconfig file (got ${JSON.stringify(project)})`);
    const abs = path.resolve(pkg.dir, project as string);
    if (!staysInside(pkg.workspaceRoot, abs)) fail('adapterOptions.tsc.project', `must stay inside the workspace root ${toPosix(pkg.workspaceRoot)} (got ${JSON.stringify(project)})`);
    if (!existsFile(abs)) fail('adapterOptions.tsc.project', `file does not exist (got ${JSON.stringify(project)})`);
  }
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
    fail('adapterOptions.tsc.args', `must be an array of strings (got ${JSON.stringify(args)})`);
  }
  return { project: project as string | undefined, args: (args as string[] | undefined) ?? [] };
}

function existsFile(abs: string): boolean {
  return statSyncSafe(abs)?.isFile() ?? false;
}

function statSyncSafe(abs: string) {
  try {
    return statSync(abs, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

export interface FoundTsconfig {
  /** Absolute path of the tsconfig, or undefined when there is none. */
  file: string | undefined;
  /** Outside the package directory (an ancestor's, or a project option pointing elsewhere). */
  foreign: boolean;
}

/** The lookup order of the module comment. Reads go through `reads` when given (the run's read log). */
export function locateTsconfig(pkg: PackageInfo, config: ResolvedConfig, reads?: ReadLog): FoundTsconfig {
  const isFile = (abs: string) => (reads ? reads.stat(abs)?.isFile() : statSyncSafe(abs)?.isFile()) ?? false;
  const { project } = tscOptions(pkg, config);
  if (project) {
    const file = path.resolve(pkg.dir, project);
    return { file, foreign: !isInside(pkg.dir, file) };
  }
  for (const name of ['tsconfig.build.json', 'tsconfig.json']) {
    const candidate = path.join(pkg.dir, name);
    if (isFile(candidate)) return { file: candidate, foreign: false };
  }
  // The directories passed over are recorded by the cache (cache/build-reads.ts, rule 2b): one appearing there would be used instead.
  if (!isInside(pkg.workspaceRoot, pkg.dir)) return { file: undefined, foreign: false };
  for (let dir = pkg.dir; dir !== pkg.workspaceRoot; ) {
    dir = path.dirname(dir);
    const candidate = path.join(dir, 'tsconfig.json');
    if (isFile(candidate)) return { file: candidate, foreign: true };
    if (path.dirname(dir) === dir) break;
  }
  return { file: undefined, foreign: false };
}

export interface ProgramPlan {
  /** The real tsconfig (reported as read), or undefined: the entries go on the command line. */
  tsconfig: string | undefined;
  /** What `-p` gets: the real tsconfig, or the generated one. */
  project: string | undefined;
  /** `--rootDir` to pass, or undefined: the tsconfig's own, else tsc's default. */
  rootDir: string | undefined;
  /** The generated tsconfig, when there is one (its path is replaced by `generatedLabel` in messages). */
  generated: string | undefined;
  generatedLabel: string;
  /**
   * The tsconfigs the program's project references name (absolute files), which tsc replaces by
   * their outputs; none for a foreign tsconfig, whose references are not followed.
   */
  references: string[];
  /** Removes the generated tsconfig. */
  dispose(): Promise<void>;
}

const abs = (pkg: PackageInfo, pattern: string) => toPosix(path.resolve(pkg.dir, pattern));

/**
 * Decides the tsconfig, the program and the root directory for one tsc run,
 * writing the generated tsconfig when one is needed. `tsMajor`: the
 * TypeScript major version (from 6 on, rootDir defaults to the tsconfig's
 * directory). `redirect`: referenced tsconfig → the one to reference instead
 * (tsc-references.ts); given, the run always has a generated tsconfig.
 */
export async function planProgram(
  pkg: PackageInfo,
  config: ResolvedConfig,
  reads: ReadLog,
  tsMajor: number,
  mode: 'build' | 'check' | 'declarations',
  redirect?: ReadonlyMap<string, string>,
): Promise<ProgramPlan> {
  const found = locateTsconfig(pkg, config, reads);
  const hasEntries = Object.keys(config.entries).length > 0;
  // A bundled package's declarations: its entries and what they import, not the tsconfig's whole file list (declarations-program.ts).
  const followEntries = mode === 'declarations' && hasEntries && config.include === undefined;
  const plan: ProgramPlan = {
    tsconfig: found.file,
    project: found.file,
    rootDir: hasEntries ? path.resolve(pkg.dir, config.sourceRoot) : undefined,
    generated: undefined,
    generatedLabel: '',
    references: [],
    dispose: async () => {},
  };
  if (!found.file) return plan;
  const own = !found.foreign;
  if (own) plan.references = ownReferences(found.file, reads);
  if (own && !followEntries && config.include === undefined && config.exclude === undefined && !redirect) return plan;
  const chain = extendsChain(found.file, reads);

  // Never sources: the build's own product, installed packages, and the build config (build.config.ts is TypeScript too).
  const alwaysExcluded = [abs(pkg, config.outDir), abs(pkg, 'node_modules'), ...(config.configFile ? [toPosix(config.configFile)] : [])];
  const program: { files?: string[]; include?: string[]; exclude?: string[] } = {};
  if (config.include !== undefined) {
    program.files = [];
    program.include = config.include.map((p) => abs(pkg, p));
  } else if (own && followEntries) {
    // `${configDir}` means the directory of the tsconfig tsc was given: the real one's, not the generated one's.
    const configDir = toPosix(path.dirname(found.file));
    const resolve = (layer: ChainLayer, p: string) => toPosix(path.resolve(layer.dir, withConfigDir(p, configDir) as string));
    const scope = declarationProgram(chain, Object.values(config.entries).map((s) => abs(pkg, s)), resolve);
    program.files = scope.files;
    program.include = scope.include;
    program.exclude = [...scope.exclude, ...alwaysExcluded];
  } else if (!own) {
    if (config.exclude === undefined && hasEntries) {
      // The entries, and what they import: the same program as without a tsconfig.
      program.files = Object.values(config.entries).map((s) => abs(pkg, s));
      program.include = [];
    } else {
      // The sources' directory (the package's when there are no entries), minus config exclude.
      program.files = [];
      program.include = [abs(pkg, config.sourceRoot)];
    }
  }
  if (config.exclude !== undefined) program.exclude = [...config.exclude.map((p) => abs(pkg, p)), ...alwaysExcluded];
  else if (!own) program.exclude = alwaysExcluded;

  const moved = relocatedFields(found.file, reads, tsMajor, own ? path.dirname(found.file) : pkg.dir);
  for (const field of ['files', 'include', 'exclude'] as const) {
    if (program[field] === undefined && moved.top[field] !== undefined) program[field] = moved.top[field];
  }
  // A composite project must list every file it compiles (TS6307), which a program of entries does not: composite
  // only adds what the run sets anyway (declaration, an explicit rootDir, a tsbuildinfo, which commonArgs makes throw-away).
  if (own && followEntries && chain.find((l) => l.compilerOptions.composite !== undefined)?.compilerOptions.composite === true) moved.compilerOptions.composite = false;
  if (followEntries) {
    const paths = pathsWithoutSiblingSources(chain, moved.compilerOptions.paths, pkg.dir, pkg.workspaceRoot);
    if (paths) moved.compilerOptions.paths = paths;
  }
  if (!plan.rootDir) {
    // A foreign tsconfig's rootDir is relative to another package's layout: this package's own directory instead.
    if (!own) plan.rootDir = pkg.dir;
    else plan.rootDir = moved.defaultRootDir;
  }
  // A foreign tsconfig's references are not restated (a solution-style root tsconfig references every package, this one included).
  const references = own ? plan.references.map((ref) => ({ path: toPosix(redirect?.get(ref) ?? ref) })) : [];

  // Sync, as the writes around it: on a hub edit this is on the path to the declarations job, and a
  // promise's turn came only after every other package's pending work (research.md §8.w).
  const dir = mkdtempSync(path.join(tmpdir(), 'build-system-tsconfig-'));
  const generated = path.join(dir, 'tsconfig.json');
  writeGeneratedTsconfig(generated, found.file, { compilerOptions: moved.compilerOptions, ...program, ...(references.length > 0 ? { references } : {}) });
  plan.project = generated;
  plan.generated = generated;
  const realName = toPosix(path.relative(pkg.dir, found.file)) || found.file;
  const changed =
    config.include !== undefined || config.exclude !== undefined
      ? "the build config's include/exclude"
      : !own
        ? "the build config's files of this package"
        : followEntries
          ? `the entries and the declaration files it includes${redirect ? ', and its project references built by build-system' : ''}`
          : 'its project references built by build-system';
  plan.generatedLabel = `${realName} (with ${changed})`;
  plan.dispose = () => rm(dir, { recursive: true, force: true });
  return plan;
}
