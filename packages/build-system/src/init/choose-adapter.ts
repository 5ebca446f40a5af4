import path from 'node:path';
import { commonDir } from '../config/entry-placement.js';
import { declaredFormatDirs } from '../config/package-defaults.js';
import { TARGET_PATTERN, type AdapterName } from '../config/schema.js';
import { toPosix } from '../util/paths.js';
import { nearestTsconfig } from '../util/tsconfig-chain.js';
import type { ReadLog } from '../util/read-log.js';
import { parseFlags, scriptCommands, type ScriptCommand } from './build-script.js';
import { readTsconfigOptions, type PackageFacts } from './package-facts.js';
import type { ToolConfig } from './tool-config.js';
import { scriptOptions } from './script-options.js';
import { toolConfigOptions } from './config-array.js';
import { addDevDependencies, type Choice, type MappedOptions } from './tool-options.js';
import { withoutWorkspaceFlags } from './tsdown-run.js';

/**
 * Which adapter reproduces a package's build, from facts only, first match wins:
 *
 * 1. a tsup config (tsup.config.*, package.json `tsup`) or `tsup` in the build
 *    script → esbuild: tsup is esbuild with defaults;
 * 2. a tsdown config or `tsdown` in the build script → esbuild, or rollup when
 *    it has plugins: tsdown bundles with Rolldown; without plugins its options
 *    map one to one onto esbuild's, which is the faster builder; its plugins
 *    are Rollup-style hooks only the rollup adapter can run; with
 *    `unbundle` (`--unbundle`, `bundle: false`) → tsc, which writes one file
 *    per source as tsdown then does, where tsc can write what package.json
 *    names, else esbuild with bundle: false (see `unbundled`);
 * 3. `rollup -c` (or any rollup) in the build script → rollup;
 * 4. `bun build` → bun; `esbuild` → esbuild;
 * 5. `tsc` (`-p <tsconfig>`, `-b`) → tsc, with outDir, declarations and maps
 *    from that tsconfig, `emit: false` for `tsc --noEmit`;
 * 6. package.json names declarations and no JS (a types-only package) → tsc
 *    with `--emitDeclarationOnly`: nothing but the .d.ts it promises;
 * 7. a tsconfig.build.json, and no build script other than build-system's
 *    → tsc (the layout of `tsc -p tsconfig.build.json`, which the tsc adapter
 *    compiles by default);
 * 8. otherwise 'auto' (bun when installed, else esbuild).
 */

export interface AdapterDecision {
  adapter: AdapterName;
  because: string;
  /** Options from the tool config or the build script's flags. */
  options: MappedOptions;
  /** tsc adapter: the tsconfig to compile when the adapter's own lookup would pick another. */
  tscProject?: Choice<string>;
  tscArgs?: Choice<string[]>;
  emit?: Choice<boolean>;
  /** Files the decision read besides package.json (posix, relative to the package). */
  sources: string[];
  warnings: string[];
}

const empty = (): MappedOptions => ({ notReproduced: [], ignored: [] });

export function chooseAdapter(facts: PackageFacts, toolConfig: ToolConfig | undefined, reads: ReadLog): AdapterDecision {
  const { pkg } = facts;
  // tsdown's workspace flags choose packages and the config (tsdown-run.ts), not options of this one's build.
  const commands = scriptCommands(facts.scripts, 'build', 0, facts.rootScripts).map(withoutWorkspaceFlags);
  // build-system in the script is what the config is for: neither a builder to map nor a command left out.
  const builders = commands.filter((c) => c.tool !== 'other' && c.tool !== 'build-system');
  const others = commands.filter((c) => c.tool === 'other');
  const finish = (d: Omit<AdapterDecision, 'warnings'> & { warnings?: string[] }, command?: ScriptCommand): AdapterDecision => {
    // Commands of the build script that build-system does not run (copying assets, a second builder). A second run of
    // the same tool (`tsdown && tsdown --config tsdown.config.rsc.ts`) builds something the config is not written from.
    for (const c of others) d.options.notReproduced.push({ option: 'scripts.build', value: c.text, why: 'a command build-system does not run; keep it in the script or drop it' });
    for (const b of builders) {
      if (b === command || b.text === command?.text) continue;
      const why = command && b.tool === command.tool
        ? `a second ${b.tool} run: the config is written from the first (\`${command.text}\`) only; add what this one builds to it (entries, per-entry options), or keep this command in the script`
        : 'a command build-system does not run; keep it in the script or drop it';
      d.options.notReproduced.push({ option: 'scripts.build', value: b.text, why });
    }
    return { warnings: [], ...d };
  };

  if (toolConfig) {
    const options = toolConfigOptions(toolConfig, pkg, reads);
    const command = builders.find((c) => c.tool === toolConfig.tool);
    // Flags on the command line add to the config file, as the tools merge them.
    if (command && command.args.length) mergeInto(options, scriptOptions(command, pkg, reads));
    toolDefaultFormat(facts, toolConfig.tool, options);
    if (toolConfig.tool === 'tsup') tsupDefaults(facts, options, command, reads);
    const sources = (toolConfig.files ?? [toolConfig.file]).filter((f) => !f.startsWith('package.json'));
    if (toolConfig.tool === 'tsup') return finish({ ...(unbundled(facts, options) ?? { adapter: 'esbuild', because: `${toolConfig.file}: tsup bundles with esbuild` }), options, sources }, command);
    return finish(cjsChunks(facts, { ...(unbundled(facts, options) ?? tsdownAdapter(toolConfig.file, options)), options, sources }), command);
  }

  const first = builders[0];
  if (first) {
    const where = `build script \`${first.text}\``;
    switch (first.tool) {
      case 'tsup': {
        const options = tsupDefaults(facts, toolDefaultFormat(facts, 'tsup', scriptOptions(first, pkg, reads)), first, reads);
        return finish({ adapter: 'esbuild', because: `${where}: tsup bundles with esbuild`, options, sources: [] }, first);
      }
      case 'tsdown': {
        const options = toolDefaultFormat(facts, 'tsdown', scriptOptions(first, pkg, reads));
        return finish(cjsChunks(facts, { ...(unbundled(facts, options) ?? tsdownAdapter(where, options)), options, sources: [] }), first);
      }
      case 'rollup': {
        const options = empty();
        options.notReproduced.push({ option: 'rollup config', value: first.text, why: 'its input, output and plugins are not read; entries and formats come from package.json' });
        return finish({ adapter: 'rollup', because: `${where} runs rollup`, options, sources: [] }, first);
      }
      case 'bun':
        return finish({ adapter: 'bun', because: `${where} runs bun build`, options: scriptOptions(first, pkg, reads), sources: [] }, first);
      case 'esbuild':
        return finish({ adapter: 'esbuild', because: `${where} runs esbuild`, options: scriptOptions(first, pkg, reads), sources: [] }, first);
      case 'tsc':
        return finish(formatDirsOverTsc(facts, tscDecision(facts, first, reads)), first);
    }
  }

  if (facts.js.length === 0 && facts.types.length > 0) {
    const d = tscDecision(facts, undefined, reads);
    return finish({
      ...d,
      because: 'package.json names declarations and no JS (a types-only package): tsc writes them',
      tscArgs: { value: ['--emitDeclarationOnly'], because: 'only the declarations package.json names, no JS beside them' },
    });
  }
  // Only without a build script of its own: a script that runs something else is what builds the package.
  if (facts.tsconfigs.includes('tsconfig.build.json') && others.length === 0) {
    const d = tscDecision(facts, undefined, reads);
    return finish(formatDirsOverTsc(facts, { ...d, because: 'tsconfig.build.json and no bundler in scripts or config files: the layout of `tsc -p tsconfig.build.json`' }));
  }
  return finish({
    adapter: 'auto',
    because: facts.buildScript ? `the build script names no builder build-system knows (\`${facts.buildScript}\`)` : 'no build script or bundler config names a builder',
    options: empty(),
    sources: [],
  });
}

/**
 * The format tsup (cjs) or tsdown (esm) writes when nothing sets one. It only
 * matters when package.json names no JS file: otherwise build-system derives
 * the formats from the files package.json names, which are what the package publishes.
 */
function toolDefaultFormat(facts: PackageFacts, tool: 'tsup' | 'tsdown', options: MappedOptions): MappedOptions {
  if (!options.format && facts.js.length === 0) options.format = { value: [tool === 'tsup' ? 'cjs' : 'esm'], because: `${tool}'s default format (nothing sets one, and package.json names no JS file)` };
  return options;
}

/**
 * What tsup does when its options say nothing, where build-system's default differs: the target is the
 * tsconfig's compilerOptions.target (tsup's `options.target || tsconfig target || 'node16'`; build-system
 * takes engines.node), and `tsup-node` keeps every node_modules import external, devDependencies too.
 */
function tsupDefaults(facts: PackageFacts, options: MappedOptions, command: ScriptCommand | undefined, reads: ReadLog): MappedOptions {
  const { pkg } = facts;
  if (command?.nodeModulesExternal) addDevDependencies(options, pkg, `build script \`${command.text}\` (tsup-node)`);
  if (!options.target) {
    const file = options.tsconfig ? path.resolve(pkg.dir, options.tsconfig.value) : nearestTsconfig(pkg.dir, reads).file;
    const target = file ? readTsconfigOptions(pkg, file, reads)?.target?.toLowerCase() : undefined;
    if (target && TARGET_PATTERN.test(target)) {
      const shown = toPosix(path.relative(pkg.dir, file!));
      options.target = { value: target, because: `${shown} compilerOptions.target (tsup's target when its options set none)` };
    } else if (target) {
      options.notReproduced.push({ option: 'target', value: target, why: `tsup takes ${toPosix(path.relative(pkg.dir, file!))}'s compilerOptions.target, which esbuild has no equivalent for` });
    }
  }
  return options;
}

/**
 * tsdown (Rolldown) shares what several CommonJS entries import in chunk files, one copy of each module
 * per package; esbuild cannot split CommonJS, so each CommonJS entry bundles its own copy (trpc: 12 copies
 * of TRPCError, and `instanceof` across subpaths false). Said where it applies: esbuild, CommonJS, more
 * than one entry (the config's, else the CommonJS files package.json names).
 */
function cjsChunks<D extends { adapter: AdapterName; options: MappedOptions }>(facts: PackageFacts, d: D): D {
  if (d.adapter !== 'esbuild' || d.options.bundle?.value === false) return d;
  const formats = d.options.format?.value ?? [...new Set(facts.js.map((o) => o.format))];
  if (!formats.includes('cjs')) return d;
  const entry = d.options.entry?.value;
  const entries = entry === undefined ? new Set(facts.js.filter((o) => o.format === 'cjs').map((o) => o.path)).size : typeof entry === 'string' ? (/[*?{]/.test(entry) ? 2 : 1) : Array.isArray(entry) ? entry.filter((e) => !e.startsWith('!')).length + (entry.some((e) => /[*?{]/.test(e)) ? 1 : 0) : Object.keys(entry).length;
  if (entries < 2) return d;
  d.options.notReproduced.push({
    option: 'format cjs',
    value: 'shared chunks',
    why: "tsdown puts what several CommonJS entries import in shared chunks (one copy of each module); esbuild bundles each CommonJS entry whole, so each has its own copy (a class's `instanceof` across subpaths, module state); the rollup adapter shares chunks in CommonJS too",
  });
  return d;
}

function tsdownAdapter(where: string, options: MappedOptions): { adapter: AdapterName; because: string } {
  if (options.hasPlugins) return { adapter: 'rollup', because: `${where}: tsdown bundles with Rolldown, and its plugins are Rollup-style hooks only the rollup adapter runs` };
  return { adapter: 'esbuild', because: `${where}: tsdown bundles with Rolldown; with no plugins its options map one to one onto esbuild, the faster builder` };
}

/**
 * Unbundled output (tsdown `--unbundle`/`unbundle: true`, `bundle: false`):
 * one JS file per source, relative imports kept, which is what tsc writes. tsc is
 * chosen where it can write what package.json names: TypeScript entries,
 * the package's own format alone (tsc writes one), no option only a bundler
 * applies (minify, define, banner), no plugins. Otherwise esbuild with
 * `bundle: false` (adapters/unbundled.ts: one file per module the entries
 * reach, in every format); with tsdown's plugins (Rollup-style hooks esbuild
 * cannot run) the bundler stays, and the option is listed as not reproduced.
 */
function unbundled(facts: PackageFacts, options: MappedOptions): { adapter: AdapterName; because: string } | undefined {
  const flag = options.unbundle;
  if (!flag) return undefined;
  delete options.unbundle;
  const native = facts.pkg.type === 'module' ? 'esm' : 'cjs';
  const formats = options.format?.value ?? [...new Set(facts.js.map((o) => o.format))];
  const entries = options.entry?.files ?? options.entry?.value;
  const sources = entries === undefined ? [] : typeof entries === 'string' ? [entries] : Array.isArray(entries) ? entries : Object.values(entries).map((e) => (typeof e === 'string' ? e : e.source));
  const blockers = [
    ...(options.hasPlugins ? ['plugins'] : []),
    ...(formats.length > 1 || formats.some((f) => f !== native) ? [`format ${formats.join(' + ')} (tsc writes the package's own, ${native}, only)`] : []),
    ...(options.minify?.value ? ['minify'] : []),
    ...(options.define && Object.keys(options.define.value).length ? ['define'] : []),
    ...(options.banner ? ['banner'] : []),
    ...(options.shims?.value ? ['shims'] : []),
    ...(entries !== undefined && !Array.isArray(entries) && typeof entries === 'object' ? ['a record entry (tsc names outputs after their sources)'] : []),
    ...(sources.some((s) => !/\.(ts|tsx|mts|cts)$/.test(s)) ? ['entries that are not TypeScript'] : []),
  ];
  if (blockers.length === 0) return { adapter: 'tsc', because: `${flag.because}: one file per source with its imports kept, which is what the tsc adapter writes (a bundler would merge the sources into one file per entry)` };
  options.bundle = { value: false, because: flag.because };
  if (!options.hasPlugins) {
    return { adapter: 'esbuild', because: `${flag.because}: one file per source module, which esbuild writes with bundle: false (tsc cannot reproduce ${blockers.join(', ')})` };
  }
  // Rollup-style plugins: only the rollup adapter runs them, and it writes one file per module too (preserveModules).
  return { adapter: 'rollup', because: `${flag.because}: one file per source module, which rollup writes with bundle: false; tsdown's plugins are Rollup-style hooks only the rollup adapter runs` };
}

/**
 * package.json publishing each format in a directory of its own (`./dist/esm/index.js` under
 * `import`, `./dist/cjs/index.js` under `require`: apollo-server runs tsc once per tsconfig, tshy
 * once per dialect) is what the tsc adapter cannot write: it emits the package's own format into
 * outDir. A bundler writes both, each into its directory (config formatDir, derived from package.json
 * by resolve), one file per entry: the decision becomes esbuild, and the file layout is listed as not
 * reproduced. Any other tsc decision is returned as it is.
 */
function formatDirsOverTsc(facts: PackageFacts, d: Omit<AdapterDecision, 'warnings'> & { warnings: string[] }): Omit<AdapterDecision, 'warnings'> & { warnings: string[] } {
  if (d.adapter !== 'tsc' || d.emit?.value === false) return d;
  const outDir = commonDir(facts.js.map((o) => o.path));
  const dirs = outDir ? declaredFormatDirs(facts.pkg, outDir) : {};
  if (dirs.esm === undefined || dirs.cjs === undefined) return d;
  const { options } = d;
  const tscOutDir = options.outDir?.value;
  // tsc's own limits no longer apply.
  options.notReproduced = options.notReproduced.filter((n) => n.option !== 'tsc --build');
  const where = (f: 'esm' | 'cjs') => `${outDir}${dirs[f] ? `/${dirs[f]}` : ''}`;
  options.outDir = { value: outDir, because: `package.json publishes esm in ${where('esm')}, cjs in ${where('cjs')}` };
  options.notReproduced.push({
    option: 'tsc',
    value: d.because.split(' runs tsc')[0] ?? 'tsc',
    why: `one file per source: the tsc adapter writes the package's own format only, and package.json publishes both, each in a directory of its own; esbuild writes one file per entry into each (with declarations beside them)`,
  });
  // tsc's outDir no longer applies, nor the warning that package.json names files outside it.
  const warnings = d.warnings.filter((w) => !w.endsWith(`outside tsc's outDir ${tscOutDir}`));
  return { adapter: 'esbuild', because: `package.json publishes esm in ${where('esm')} and cjs in ${where('cjs')}, which tsc cannot write in one build; esbuild writes each into its directory`, options, sources: d.sources, warnings };
}

function mergeInto(target: MappedOptions, extra: MappedOptions): void {
  for (const [key, value] of Object.entries(extra)) {
    if (key === 'notReproduced') target.notReproduced.push(...extra.notReproduced);
    else if (key === 'ignored') target.ignored.push(...extra.ignored);
    else (target as unknown as Record<string, unknown>)[key] = value;
  }
}

/** The tsconfig the tsc adapter picks by itself: tsconfig.build.json, else tsconfig.json, else none in the package. */
function adapterDefaultTsconfig(facts: PackageFacts): string | undefined {
  return ['tsconfig.build.json', 'tsconfig.json'].find((n) => facts.tsconfigs.includes(n));
}

function tscDecision(facts: PackageFacts, command: ScriptCommand | undefined, reads: ReadLog): Omit<AdapterDecision, 'warnings'> & { warnings: string[] } {
  const { pkg } = facts;
  const options = empty();
  const warnings: string[] = [];
  const parsed = command ? parseFlags(command.args, new Set(['-p', '--project', '--outDir', '--rootDir'])) : { positional: [], flags: new Map<string, string[]>() };
  const flag = (name: string) => parsed.flags.get(name)?.at(-1);
  const build = parsed.flags.has('-b') || parsed.flags.has('--build');
  let project = flag('-p') ?? flag('--project') ?? (build ? parsed.positional[0] : undefined);
  if (project && !project.endsWith('.json')) project = path.posix.join(project, 'tsconfig.json');
  const scriptNamesProject = project !== undefined || command !== undefined;
  project = project ? toPosix(path.normalize(project)) : command ? 'tsconfig.json' : adapterDefaultTsconfig(facts);
  const where = command ? `build script \`${command.text}\`` : 'package.json';
  const d: Omit<AdapterDecision, 'warnings'> & { warnings: string[] } = {
    adapter: 'tsc',
    because: `${where} runs tsc, which writes one file per source`,
    options,
    sources: [],
    warnings,
  };
  if (build) options.notReproduced.push({ option: 'tsc --build', value: command!.text, why: 'project references are not followed; the package is compiled as one project' });
  if (project && facts.tsconfigs.includes(project.split('/').pop()!) && !project.includes('/')) {
    d.sources.push(project);
    if (scriptNamesProject && project !== adapterDefaultTsconfig(facts)) {
      d.tscProject = { value: project, because: `${where} compiles ${project}; the tsc adapter would pick ${adapterDefaultTsconfig(facts) ?? 'none'} by itself` };
    }
    const ts = readTsconfigOptions(pkg, path.join(pkg.dir, project), reads);
    if (ts?.outDir !== undefined) options.outDir = { value: ts.outDir, because: `${project} compilerOptions.outDir` };
    if (ts?.declaration !== undefined || ts?.emitDeclarationOnly) options.dts = { value: ts.declaration === true || ts.emitDeclarationOnly === true, because: `${project} compilerOptions.declaration` };
    if (ts?.sourceMap === true) options.sourcemap = { value: true, because: `${project} compilerOptions.sourceMap` };
    if (ts?.noEmit === true) d.emit = { value: false, because: `${project} compilerOptions.noEmit: tsc only type-checks` };
    if (ts?.emitDeclarationOnly === true) d.tscArgs = { value: ['--emitDeclarationOnly'], because: `${project} compilerOptions.emitDeclarationOnly` };
  } else if (project && command) {
    warnings.push(`${where}: ${project} is not in the package; the tsc adapter looks up its own tsconfig`);
  }
  const outDirFlag = flag('--outDir');
  if (outDirFlag) options.outDir = { value: toPosix(outDirFlag).replace(/^\.\//, '').replace(/\/+$/, ''), because: `${where} --outDir` };
  if (parsed.flags.has('--declaration')) options.dts = { value: true, because: `${where} --declaration` };
  if (parsed.flags.has('--sourceMap')) options.sourcemap = { value: true, because: `${where} --sourceMap` };
  if (parsed.flags.has('--noEmit')) d.emit = { value: false, because: `${where} --noEmit: tsc only type-checks` };
  if (parsed.flags.has('--emitDeclarationOnly')) d.tscArgs = { value: ['--emitDeclarationOnly'], because: `${where} --emitDeclarationOnly` };
  if (d.emit?.value === false) {
    // Type-check only: nothing is written, so where and what tsc would write does not matter.
    delete options.outDir;
    delete options.dts;
    delete options.sourcemap;
  }
  const outDir = options.outDir?.value;
  if (outDir !== undefined) {
    const outside = [...facts.js, ...facts.types].filter((o) => !o.path.startsWith(`${outDir}/`));
    if (outside.length) warnings.push(`package.json names ${outside.map((o) => o.path).join(', ')} outside tsc's outDir ${outDir}`);
  }
  return d;
}
