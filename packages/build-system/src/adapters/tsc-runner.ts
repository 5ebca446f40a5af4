// Long because: the one place that finds TypeScript, builds tsc's command line and reads its output, for both the tsc adapter and declaration emit; the command line and the output reader depend on each other's flags.
import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import { resolveModule } from '../util/resolve-module.js';
import { spawnLines } from '../util/spawn.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { diagnosticFile, failedOutput, severityOf } from './output.js';
import { withHints } from './tsc-hints.js';
import { checkTypeScript, findTypeScript, tscCommand, type TypeScriptInstall } from './declaration-tools.js';
import { locateTsconfig, planProgram, tscOptions, type ProgramPlan } from './tsc-project.js';
import { emitReferencedDeclarations, missesReferenceOutputs, withRealReferences, type ReferencedProject } from './tsc-references.js';
import type { ReadLog } from '../util/read-log.js';
import type { AdapterOutput, ToolAvailability } from './types.js';

/**
 * The one place that finds a package's TypeScript, builds a tsc command line
 * and reads tsc's output. Used by the tsc adapter (full emit) and by
 * declaration emit after a bundler (dts.ts).
 *
 * Facts this relies on, checked with TypeScript 5.9.3 and 7.0.2 (native):
 * - both print `TSFILE: <absolute path>` for --listEmittedFiles and
 *   `file(line,col): error TS1234: message` (continuation lines indented by
 *   two spaces per level) for --pretty false; global errors have no location;
 * - both exit 0 (clean), 1 (errors, nothing emitted) or 2 (errors, emitted).
 * For TypeScript < 7 the same command line normally runs in a worker thread
 * instead (tsc-pool.ts, tsc-worker.ts), which answers with those same lines
 * and exit code, so both ways are read by the same code.
 */

const LOCATED = /^(.+?)\((\d+),(\d+)\): (error|warning|message) (TS\d+): (.*)$/;
const GLOBAL = /^(error|warning|message) (TS\d+): (.*)$/;
const EMITTED = /^TSFILE: (.+)$/;

/**
 * Reads tsc's --pretty false output line by line. Exported for tests of the
 * format; the adapters use it through runTsc.
 */
export class TscOutputParser {
  readonly emitted: string[] = [];
  readonly diagnostics: Diagnostic[] = [];
  /** Files of the program, from --listFiles (one absolute path per line). */
  readonly listed: string[] = [];
  private last: Diagnostic | undefined;

  constructor(private readonly pkgDir: string) {}

  /**
   * Reads one line and says what it was: `report` for tsc's reports to us
   * (emitted and listed files), `diagnostic` for a diagnostic or its
   * elaboration (they reach people as the result's diagnostics), `text` for
   * anything else tsc printed.
   */
  line(text: string): 'report' | 'diagnostic' | 'text' {
    const line = text.replace(/\r$/, '');
    const emitted = EMITTED.exec(line);
    if (emitted) {
      this.emitted.push(path.resolve(this.pkgDir, emitted[1]!.trim()));
      this.last = undefined;
      return 'report';
    }
    const located = LOCATED.exec(line);
    if (located) {
      this.push({
        severity: severityOf(located[4]!),
        message: located[6]!,
        file: toPosix(diagnosticFile(this.pkgDir, located[1]!)),
        line: Number(located[2]),
        column: Number(located[3]),
        code: located[5]!,
      });
      return 'diagnostic';
    }
    const global = GLOBAL.exec(line);
    if (global) {
      this.push({ severity: severityOf(global[1]!), message: global[3]!, code: global[2]! });
      return 'diagnostic';
    }
    // Elaboration of the previous diagnostic ("  Type 'x' is not assignable…").
    if (this.last && /^\s+\S/.test(line)) {
      this.last.message += `\n${line}`;
      return 'diagnostic';
    }
    // --listFiles: a bare absolute path (diagnostics always carry "(line,col):" or "error TS").
    if (path.isAbsolute(line) && line.trim() === line) {
      this.listed.push(line);
      this.last = undefined;
      return 'report';
    }
    return 'text';
  }

  private push(d: Diagnostic): void {
    this.diagnostics.push(d);
    this.last = d;
  }
}

export interface TscRunContext {
  pkg: PackageInfo;
  config: ResolvedConfig;
  /** Staging directory: every file tsc writes must land here. */
  outDir: string;
  signal: AbortSignal;
  reads: ReadLog;
  /** The run's cache dir (AdapterContext.cacheDir): where the TypeScript 5 snapshot lives. */
  cacheDir: string;
  log(stream: 'stdout' | 'stderr', line: string): void;
}

/** build: the tsc adapter's emit; check: the tsc adapter with emit: false (--noEmit); declarations: .d.ts after a bundler. */
export type TscMode = 'build' | 'check' | 'declarations';

export function majorVersion(version: string): number {
  return Number(/^(\d+)/.exec(version)?.[1] ?? 0);
}

/** ResolvedConfig.target (node20, es2022, chrome120…) as a tsc --target. Only used without a tsconfig. */
export function tscTarget(target: string | string[]): string {
  // Several targets all hold: the lowest language level among them.
  if (Array.isArray(target)) return target.map(tscTarget).sort((a, b) => esLevel(a) - esLevel(b))[0] ?? 'es2020';
  const t = target.toLowerCase();
  if (/^es(next|20\d\d)$/.test(t)) return t;
  if (t === 'es6') return 'es2015';
  if (t === 'es5') return 'es5';
  const node = /^node(\d+)/.exec(t);
  if (node) {
    // What each Node line fully supports (the @tsconfig/nodeNN bases agree).
    const major = Number(node[1]);
    if (major >= 18) return 'es2022';
    if (major >= 16) return 'es2021';
    if (major >= 14) return 'es2020';
    return 'es2019';
  }
  return 'es2020';
}

/** An ES level tsc takes, as a number to compare (es5 < es2015 < … < esnext). */
function esLevel(target: string): number {
  if (target === 'esnext') return Number.MAX_SAFE_INTEGER;
  if (target === 'es5') return 5;
  return Number(/^es(\d+)$/.exec(target)?.[1] ?? 2020);
}

/**
 * Everything tsc needs apart from the mode-specific emit flags.
 *
 * With a tsconfig (which one, and which files: tsc-project.ts): `-p` it, and
 * override only where the build contract must win: output location
 * (--outDir, and --rootDir = config.sourceRoot when there are entries, so
 * src/index.ts becomes <outDir>/index.js; without entries the tsconfig's
 * rootDir or tsc's default), machine-readable output, and emit switched on
 * even when the tsconfig is a type-check-only one (noEmit) — or off for
 * `emit: false`.
 *
 * tsbuildinfo: outputs always go to a fresh staging dir, but an incremental or
 * composite project whose .tsbuildinfo says "up to date" makes tsc emit
 * nothing. `--incremental false` is refused for composite projects (TS6379,
 * both 5.x and 7.x), so instead every run is made incremental with its
 * tsbuildinfo in a fresh temp dir: tsc never sees an old one, never writes one
 * into the package or the artifacts, and the flags are valid for every config.
 *
 * Without a tsconfig: the entry files on the command line (tsc follows their
 * imports) and explicit options, so TS 5 and TS 7 (whose defaults differ:
 * strict, types, target) compile the same way.
 */
function commonArgs(ctx: TscRunContext, ts: TypeScriptInstall, plan: ProgramPlan, mode: TscMode, buildInfoFile: string): string[] {
  const { pkg, config } = ctx;
  const args: string[] = [];
  if (plan.project) {
    args.push('-p', plan.project, '--incremental', '--tsBuildInfoFile', buildInfoFile);
  } else {
    const sources = Object.values(config.entries).map((s) => path.resolve(pkg.dir, s));
    // TS >= 6 looks for a tsconfig.json upward from the cwd and refuses files on
    // the command line when it finds one (TS5112), e.g. the workspace root's;
    // TS 5 ignores it silently and does not know --ignoreConfig (TS5023).
    if (majorVersion(ts.version) >= 6) args.push('--ignoreConfig');
    args.push(...sources, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', tscTarget(config.target), '--strict', '--skipLibCheck');
    if (sources.some((s) => /\.(c|m)?jsx?$/.test(s))) args.push('--allowJs');
    if (sources.some((s) => /\.(t|j)sx$/.test(s))) args.push('--jsx', 'react-jsx');
    // TS 7 no longer loads every @types package by default; Node code needs @types/node.
    if (config.platform === 'node' && resolveModule('@types/node', [pkg.dir, pkg.workspaceRoot], ctx.reads, { includeOwn: false })) args.push('--types', 'node');
  }
  args.push('--outDir', ctx.outDir);
  if (plan.rootDir) args.push('--rootDir', plan.rootDir);
  // emit: false is --noEmit whatever the tsconfig says; emitDeclarationOnly would conflict with it (TS5053).
  if (mode === 'check') args.push('--noEmit', '--emitDeclarationOnly', 'false');
  // --noEmitOnError: a failed build's outputs are dropped anyway, and tsc writes a file outside
  // rootDir (TS6059: tests a tsconfig includes) at <outDir>/../<its path>, i.e. beside the sources.
  else args.push('--noEmit', 'false', '--noEmitOnError');
  args.push('--listEmittedFiles', '--pretty', 'false');
  return args;
}

/** Sourcemap flags: forced both ways, so a tsconfig's sourceMap cannot add .map files the config did not ask for. */
function sourcemapArgs(config: ResolvedConfig): string[] {
  return [
    '--sourceMap',
    config.sourcemap === 'external' ? 'true' : 'false',
    '--inlineSourceMap',
    config.sourcemap === 'inline' ? 'true' : 'false',
    '--inlineSources',
    config.sourcemap === 'inline' ? 'true' : 'false',
  ];
}

/**
 * Flags for one mode. --declaration is only ever switched on: a composite
 * project refuses `--declaration false` (TS6304), so when its tsconfig asks
 * for declarations they are emitted even with dts: false. --declarationDir
 * is set whenever declarations are asked for, so a tsconfig declarationDir
 * cannot send them outside the staging dir.
 */
export function tscArgs(ctx: TscRunContext, ts: TypeScriptInstall, mode: TscMode, buildInfoFile: string, plan: ProgramPlan): string[] {
  const args = commonArgs(ctx, ts, plan, mode, buildInfoFile);
  if (mode === 'declarations') {
    args.push('--declaration', '--emitDeclarationOnly', '--declarationDir', ctx.outDir);
  } else if (mode === 'build') {
    args.push('--emitDeclarationOnly', 'false', ...sourcemapArgs(ctx.config));
    if (ctx.config.dts) args.push('--declaration', '--declarationDir', ctx.outDir);
  }
  args.push(...tscOptions(ctx.pkg, ctx.config).args);
  return args;
}

/** How a tsc run ended, with all it printed (quoted when it fails without a diagnostic). */
interface TscRunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Reads one tsc run, spawned or in-process alike: lines go to the parser, and
 * to the log only when they are neither a diagnostic (the result carries
 * those, and the CLI prints them once from there) nor one of tsc's reports to
 * us (TSFILE lines become artifacts, --listFiles paths inputs); `output`
 * turns them into the adapter's result.
 */
function tscOutputReader(ctx: TscRunContext, mode: TscMode, plan: ProgramPlan) {
  const parser = new TscOutputParser(ctx.pkg.dir);
  // The file list is shown only when the config's own tsc args ask for it.
  const showListed = tscOptions(ctx.pkg, ctx.config).args.includes('--listFiles');
  return {
    onLine(stream: 'stdout' | 'stderr', line: string): void {
      const kind = parser.line(line);
      if (kind === 'text' || (kind === 'report' && showListed && !line.startsWith('TSFILE: '))) ctx.log(stream, line);
    },
    /**
     * Outputs are the TSFILE lines inside ctx.outDir; a file tsc wrote
     * anywhere else (e.g. a tsconfig `outFile`) is an error, since only the
     * staging dir is swapped in.
     */
    output(result: TscRunResult, toolDirs: readonly string[], buildInfoFile?: string, programFiles: readonly string[] = parser.listed): AdapterOutput {
      // The generated tsconfig's path is random: messages name the real one (a failed build's diagnostics are shown, not keyed).
      const diagnostics = withHints(
        parser.diagnostics.map((d) => (plan.generated ? inRealTsconfig(d, plan, ctx.pkg.dir) : d)),
        ctx.pkg,
        mode,
      );
      const files: string[] = [];
      for (const file of parser.emitted) {
        if (file === buildInfoFile) continue;
        if (isInside(ctx.outDir, file)) files.push(file);
        else diagnostics.push({ severity: 'error', message: `tsc wrote ${toPosix(file)} outside the output directory; remove outFile/declarationDir-style output paths from the tsconfig` });
      }
      const ok = result.code === 0 && !diagnostics.some((d) => d.severity === 'error');
      if (!ok && !diagnostics.some((d) => d.severity === 'error')) {
        const tail = (result.stderr || result.stdout).trim().split(/\r?\n/).slice(-5).join('\n');
        diagnostics.push({ severity: 'error', message: `tsc exited with ${result.code ?? result.signal}${tail ? `: ${tail}` : ''}` });
      }
      // TypeScript's own lib files are fixed by its version, which the cache key holds already. The
      // real tsconfig (never the generated one) is reported so its extends chain is followed
      // (cache/build-reads.ts, which also records that no tsconfig.json appeared in the directories the lookup passed over).
      // A tsconfig a caller generated in the staging dir (dts.ts) is no input either: the caller reports the real one.
      const reads = [
        ...(plan.tsconfig && !isInside(ctx.outDir, plan.tsconfig) ? [plan.tsconfig] : []),
        ...programFiles.filter((f) => !toolDirs.some((dir) => isInside(dir, f)) && f !== plan.generated),
      ];
      return { ok, files, diagnostics, reads };
    },
  };
}

/**
 * A diagnostic of a run with a generated tsconfig, as the user's files give
 * it: the generated file's path (random, in a temp dir) becomes the real
 * tsconfig's name in messages, and a diagnostic located in the generated file
 * (an option it inherits that conflicts with build-system's flags) is the real
 * tsconfig's, without a line: the generated file's lines are not the user's.
 */
function inRealTsconfig(d: Diagnostic, plan: ProgramPlan, pkgDir: string): Diagnostic {
  const message = d.message.replaceAll(plan.generated!, plan.generatedLabel);
  if (d.file === undefined || plan.tsconfig === undefined || path.resolve(pkgDir, d.file) !== plan.generated) return { ...d, message };
  const { line: _line, column: _column, ...rest } = d;
  return { ...rest, message, file: toPosix(diagnosticFile(pkgDir, plan.tsconfig)) };
}

/**
 * The in-process path (tsc-pool.ts) is for compilers shipped as JavaScript
 * (TypeScript < 7: lib/typescript.js). TypeScript 7 is a native binary
 * (lib/getExePath.js) and is always spawned. BUILD_SYSTEM_TSC_SPAWN=1 spawns
 * every tsc, as before the pool existed: the tests build with both paths and
 * compare, and it is the way out should the in-process path misbehave.
 */
function runsInProcess(ts: TypeScriptInstall): boolean {
  if (process.env.BUILD_SYSTEM_TSC_SPAWN === '1') return false;
  return !existsSync(path.join(ts.dir, 'lib', 'getExePath.js')) && existsSync(path.join(ts.dir, 'lib', 'typescript.js'));
}

// The in-process program is not incremental, so this tsbuildinfo (required by tscArgs' command line) is never written.
const UNUSED_BUILD_INFO_FILE = path.join(tmpdir(), 'build-system-in-process.tsbuildinfo');

/**
 * Runs the package's tsc in `mode` and reports what it wrote (see
 * tscOutputReader). With TypeScript < 7 it runs in a pooled worker thread;
 * when that cannot be done (a command line only tsc itself runs, an
 * unloadable compiler, a crashed worker) the package's tsc is spawned as it
 * always was. On abort the worker or child is stopped and `ok: false` is
 * returned with no files.
 */
export async function runTsc(ctx: TscRunContext, ts: TypeScriptInstall, mode: TscMode): Promise<AdapterOutput> {
  if (ctx.signal.aborted) return { ok: false, files: [], diagnostics: [], reads: null };
  const tsMajor = majorVersion(ts.version);
  const plan = await planProgram(ctx.pkg, ctx.config, ctx.reads, tsMajor, mode);
  let out: AdapterOutput;
  try {
    if (!plan.project && Object.keys(ctx.config.entries).length === 0) {
      return failedOutput(`nothing to compile: ${ctx.pkg.name} has no entry and no tsconfig (looked in the package and up to the workspace root); set entry in the build config or add a tsconfig.json`);
    }
    out = await runPlanned(ctx, ts, mode, plan);
  } finally {
    await plan.dispose();
  }
  // Referenced projects whose outputs are not where their tsconfigs say: emitted first, as tsc -b would (tsc-references.ts).
  if (plan.references.length === 0 || !missesReferenceOutputs(out) || ctx.signal.aborted) return out;
  return runWithReferencesEmitted(ctx, ts, mode, plan.references, tsMajor);
}

/** runTsc's retry: the referenced projects' declarations into a temp dir, then the package's run referencing them there. */
async function runWithReferencesEmitted(ctx: TscRunContext, ts: TypeScriptInstall, mode: TscMode, references: string[], tsMajor: number): Promise<AdapterOutput> {
  // The referenced runs are not this package's: its extra tsc args (adapterOptions.tsc.args) are not theirs.
  const { tsc: _ownTscOptions, ...otherOptions } = ctx.config.adapterOptions;
  const runReference = (project: ReferencedProject, outDir: string) => {
    const plan: ProgramPlan = {
      tsconfig: undefined,
      project: project.generated,
      rootDir: undefined,
      generated: project.generated,
      generatedLabel: toPosix(path.relative(ctx.pkg.dir, project.real)),
      references: [],
      dispose: async () => {},
    };
    return runPlanned({ ...ctx, outDir, config: { ...ctx.config, adapterOptions: otherOptions } }, ts, 'declarations', plan);
  };
  const emitted = await emitReferencedDeclarations(references, ctx.pkg.dir, ctx.reads, tsMajor, runReference);
  try {
    if (ctx.signal.aborted) return { ok: false, files: [], diagnostics: [], reads: null };
    if (!emitted.ok) return { ok: false, files: [], diagnostics: emitted.diagnostics, reads: emitted.reads };
    const plan = await planProgram(ctx.pkg, ctx.config, ctx.reads, tsMajor, mode, emitted.redirect);
    try {
      const out = await runPlanned(ctx, ts, mode, plan);
      const diagnostics = out.diagnostics.map((d) => withRealReferences(d, emitted.redirect));
      // The emitted declarations are temp files; the sources they came from are the inputs.
      return { ...out, diagnostics, reads: out.reads && emitted.reads && [...out.reads.filter((file) => !isInside(emitted.dir, file)), ...emitted.reads] };
    } finally {
      await plan.dispose();
    }
  } finally {
    await emitted.dispose();
  }
}

/** One tsc run of a planned program, in a pooled worker or spawned (see runTsc). */
async function runPlanned(ctx: TscRunContext, ts: TypeScriptInstall, mode: TscMode, plan: ProgramPlan): Promise<AdapterOutput> {
  if (runsInProcess(ts)) {
    const { runInTscWorker } = await import('./tsc-pool.js');
    const reader = tscOutputReader(ctx, mode, plan);
    const job = { tsDir: ts.dir, args: tscArgs(ctx, ts, mode, UNUSED_BUILD_INFO_FILE, plan), cwd: ctx.pkg.dir, outDir: ctx.outDir };
    const onLine = (stream: 'stdout' | 'stderr', line: string) => reader.onLine(stream, line);
    // A one-shot run's first TypeScript 5 job, whatever it emits (the tsc adapter's files, declarations after
    // a bundler, a type check): from a snapshot with the libs parsed and bound, when there is one (tsc-snapshot.ts).
    const fromSnapshot = await (await import('./tsc-snapshot.js')).runFromSnapshot(job, ctx.cacheDir, ctx.signal, onLine);
    const outcome = fromSnapshot ?? (await runInTscWorker(job, ctx.signal, onLine));
    if (outcome.kind === 'aborted') return { ok: false, files: [], diagnostics: [], reads: null };
    if (outcome.kind === 'done') {
      for (const line of outcome.lines) reader.onLine('stdout', line);
      return reader.output({ code: outcome.exitCode, signal: null, stdout: outcome.lines.join('\n'), stderr: '' }, [ts.dir], undefined, outcome.reads);
    }
    if (outcome.unexpected) ctx.log('stderr', `build-system: ${outcome.reason.split('\n')[0]}; running tsc as a child process instead`);
  }
  return spawnTsc(ctx, ts, mode, plan);
}

/** The package's tsc as a child process, with a throw-away tsbuildinfo (see commonArgs). */
async function spawnTsc(ctx: TscRunContext, ts: TypeScriptInstall, mode: TscMode, plan: ProgramPlan): Promise<AdapterOutput> {
  const buildInfoDir = mkdtempSync(path.join(tmpdir(), 'build-system-tsbuildinfo-')); // sync: see tsc-project.ts planProgram
  const buildInfoFile = path.join(buildInfoDir, 'build.tsbuildinfo');
  try {
    const { command, args: prefix } = await tscCommand(ts);
    // --listFiles: the program's files, which key the cache entry (the in-process path reports them itself).
    const args = [...prefix, ...tscArgs(ctx, ts, mode, buildInfoFile, plan), '--listFiles'];
    const reader = tscOutputReader(ctx, mode, plan);
    // TypeScript 7's native tsc ignores SIGTERM and SIGINT and compiles to its end (measured with 7.0.2:
    // SIGTERM 20 ms into a 200 ms build, and all 402 files were still written), so an abort would wait
    // for the whole build or the 2 s SIGKILL. It writes only into our staging dir and a throw-away
    // tsbuildinfo, so killing it outright loses nothing.
    const abortWith = command === process.execPath ? 'SIGTERM' : 'SIGKILL';
    const result = await spawnLines(command, args, { cwd: ctx.pkg.dir, signal: ctx.signal, onLine: reader.onLine, abortWith });
    if (result.aborted) return { ok: false, files: [], diagnostics: [], reads: null };
    // TypeScript 7's libs ship in its native package (…/@typescript/typescript-<platform>/lib), beside the binary.
    const toolDirs = command === process.execPath ? [ts.dir] : [ts.dir, path.dirname(path.dirname(command))];
    return reader.output(result, toolDirs, buildInfoFile);
  } finally {
    await rm(buildInfoDir, { recursive: true, force: true });
  }
}

/**
 * runTsc with the package's own TypeScript, looked up again (it may have gone
 * since check()). Without it: a failed output whose error is `missing` (what
 * needed TypeScript) plus the install command.
 */
export async function runPackageTsc(ctx: TscRunContext, mode: TscMode, missing: string): Promise<AdapterOutput> {
  const ts = findTypeScript(ctx.pkg, ctx.reads);
  if (!ts) {
    const tool = checkTypeScript(ctx.pkg, ctx.reads);
    const hint = tool.available ? '' : `; install it with: ${tool.installHint}`;
    return failedOutput(`${missing}${hint}`);
  }
  return runTsc(ctx, ts, mode);
}
