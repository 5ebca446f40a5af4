// Long because: one adapter with two ways to run Bun (in-process Bun.build when running under Bun, the bun CLI otherwise) that must produce the same outputs, plus the output fixes (source map paths, shebangs) both need.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Format } from '../config/schema.js';
import { formatPrefix } from '../config/format-dirs.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Diagnostic } from '../result/schema.js';
import { isStrictlyInside, toPosix } from '../util/paths.js';
import { findBinary } from '../util/resolve-module.js';
import { spawnLines } from '../util/spawn.js';
import type { ReadLog } from '../util/read-log.js';
import { installCommand, type PackageInfo } from '../workspace/package-info.js';
import { dedupeDiagnostics, diagnosticFile, ensureShebangFirst, failedOutput, JS_FILE, readShebang, severityOf } from './output.js';
import { metafileInputs } from '../util/metafile.js';
import { bunCwdReads } from './bun-env.js';
import type { AdapterContext, AdapterOutput, BuilderAdapter, ToolAvailability } from './types.js';

/** The part of the Bun runtime API this adapter uses (no @types/bun dependency). */
interface BunBuildMessage {
  level: string;
  message: string;
  position: { file: string; line: number; column: number } | null;
}
interface BunBuildOutput {
  success: boolean;
  outputs: { path: string; kind: string }[];
  logs: BunBuildMessage[];
  /** With `metafile: true`, in Bun versions that have it: esbuild's shape. */
  metafile?: { inputs?: Record<string, unknown> };
}
interface BunRuntime {
  version: string;
  build(options: Record<string, unknown>): Promise<BunBuildOutput>;
}

function runningBun(): BunRuntime | undefined {
  return (globalThis as { Bun?: BunRuntime }).Bun;
}

type VersionProbe = { ok: true; version: string } | { ok: false; reason: string };

const versionByBinary = new Map<string, Promise<VersionProbe>>();

/** `bun --version`, run once per binary path for the life of the process. */
function bunVersion(binary: string): Promise<VersionProbe> {
  let probe = versionByBinary.get(binary);
  if (!probe) {
    probe = spawnLines(binary, ['--version'], { cwd: path.dirname(binary) }).then(
      (r): VersionProbe => {
        const version = r.stdout.trim().split(/\s+/)[0] ?? '';
        if (r.code === 0 && /^\d+\.\d+/.test(version)) return { ok: true, version };
        const said = (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
        return { ok: false, reason: `\`${binary} --version\` exited with ${r.code ?? r.signal}${said ? `: ${said}` : ''}` };
      },
      (e: NodeJS.ErrnoException): VersionProbe => ({ ok: false, reason: `${binary} cannot be run (${e.code ?? e.message})` }),
    );
    versionByBinary.set(binary, probe);
  }
  return probe;
}

/**
 * One `bun build` run: entries whose output names bun can derive from their
 * source paths share a run (`[dir]/[name]` under `root`); an entry whose name
 * differs from its source path gets a run of its own with a literal name.
 */
interface Invocation {
  format: Format;
  sources: string[];
  root: string;
  entryNaming: string;
  /** Shared chunks' naming when this run splits (ESM with splitting on), else undefined. */
  chunkNaming: string | undefined;
}

function stripExtension(p: string): string {
  return p.replace(/\.[^./]+$/, '');
}

function planInvocations(pkgDir: string, config: ResolvedConfig): Invocation[] {
  const root = path.resolve(pkgDir, config.sourceRoot);
  const derivable: string[] = [];
  const named: { name: string; source: string }[] = [];
  for (const [name, source] of Object.entries(config.entries)) {
    const abs = path.resolve(pkgDir, source);
    if (stripExtension(toPosix(path.relative(root, abs))) === name) derivable.push(abs);
    else named.push({ name, source: abs });
  }
  const runs: Invocation[] = [];
  for (const format of config.formats) {
    const ext = config.outExtension[format];
    // A format with a directory of its own (config formatDir) is named into it.
    const dir = formatPrefix(config.formatDir, format);
    // bun splits ESM only. Entries in different runs share nothing: only a run's own entries share chunks.
    const chunkNaming = format === 'esm' && config.splitting ? `${dir}chunk-[hash]${ext}` : undefined;
    if (derivable.length > 0) runs.push({ format, sources: derivable, root, entryNaming: `${dir}[dir]/[name]${ext}`, chunkNaming });
    for (const { name, source } of named) {
      runs.push({ format, sources: [source], root: path.dirname(source), entryNaming: `${dir}${name}${ext}`, chunkNaming });
    }
  }
  return runs;
}

function bunTarget(platform: ResolvedConfig['platform']): 'node' | 'browser' {
  // bun has no 'neutral': 'browser' at least does not assume node builtins exist.
  return platform === 'node' ? 'node' : 'browser';
}

function bunSourcemap(sourcemap: ResolvedConfig['sourcemap']): 'linked' | 'inline' | 'none' {
  // 'linked' is what esbuild's `sourcemap: true` does: a .map file plus the
  // sourceMappingURL comment. bun's own 'external' writes the file without the comment.
  return sourcemap === 'external' ? 'linked' : sourcemap === 'inline' ? 'inline' : 'none';
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * adapterOptions.bun as `bun build` flags when bun is spawned:
 * `{ splitting: true, keepNames: true, conditions: ['a', 'b'] }` →
 * `--splitting --keep-names --conditions=a --conditions=b`. Under Bun the same
 * object is spread into the Bun.build options instead; keys that are spelled
 * the same in both (splitting, minify, conditions, ...) work either way.
 */
function passThroughFlags(options: Record<string, unknown> | undefined): string[] {
  const flags: string[] = [];
  for (const [key, value] of Object.entries(options ?? {})) {
    const flag = `--${kebab(key)}`;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === true) flags.push(flag);
      else if (v === false || v === undefined || v === null) continue;
      else flags.push(`${flag}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    }
  }
  return flags;
}

function cliArgs(run: Invocation, config: ResolvedConfig, outDir: string, metafile: string): string[] {
  const args = [
    'build',
    ...run.sources,
    `--outdir=${outDir}`,
    `--root=${run.root}`,
    `--entry-naming=${run.entryNaming}`,
    ...(run.chunkNaming ? ['--splitting', `--chunk-naming=${run.chunkNaming}`] : []),
    `--target=${bunTarget(config.platform)}`,
    `--format=${run.format}`,
    `--sourcemap=${bunSourcemap(config.sourcemap)}`,
    `--metafile=${metafile}`,
  ];
  if (config.minify) args.push('--minify');
  for (const name of config.external) args.push(`--external=${name}`);
  for (const [key, value] of Object.entries(config.define)) args.push(`--define=${key}:${value}`);
  if (config.banner !== undefined) args.push(`--banner=${config.banner}`);
  args.push(...passThroughFlags(config.adapterOptions.bun));
  return args;
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/**
 * bun prints each problem as an optional code frame, then
 * `error: <message>` (or `warn: ...`), then `    at <file>:<line>:<column>`
 * with a 1-based line and a 1-based character column.
 */
export function parseBunOutput(text: string, pkgDir: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  let last: Diagnostic | undefined;
  // Only the first `at` line after a message is its location.
  let located = true;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(ANSI, '');
    const head = /^(error|warn|warning): (.*)$/.exec(line);
    if (head) {
      last = { severity: head[1] === 'error' ? 'error' : 'warning', message: head[2]! };
      diagnostics.push(last);
      located = false;
      continue;
    }
    const at = /^\s+at (.+):(\d+):(\d+)$/.exec(line);
    if (at && last && !located) {
      located = true;
      if (existsSync(path.resolve(pkgDir, at[1]!))) {
        last.file = diagnosticFile(pkgDir, at[1]!);
        last.line = Number(at[2]);
        last.column = Number(at[3]);
      } else {
        // Not a file on disk: one of bun's virtual inputs (a bad --define is reported
        // "at defines.json:1:3"). Keep the place in the text rather than invent a path.
        last.message += ` (at ${at[1]}:${at[2]}:${at[3]})`;
      }
      continue;
    }
    // bun ends some failures with a bare "SyntaxError: ..." summary line; it is
    // only news when nothing before it was reported.
    const thrown = /^([A-Z][A-Za-z]*Error): (.*)$/.exec(line);
    if (thrown && !diagnostics.some((d) => d.severity === 'error')) {
      last = { severity: 'error', message: thrown[2]!, code: thrown[1]! };
      diagnostics.push(last);
      located = false;
    }
  }
  return diagnostics;
}

interface SourceMapJson {
  sources?: (string | null)[];
  [key: string]: unknown;
}

/**
 * bun 1.4 writes a map's `sources` relative to outdir rather than to the map
 * file (oven-sh/bun#3332), which is wrong for every output in a subdirectory.
 * A source is rewritten only when the spec reading points at nothing and the
 * outdir reading points at a file, so a bun that gets it right is left alone.
 */
function fixMapSources(map: SourceMapJson, mapDir: string, outDir: string): boolean {
  if (!Array.isArray(map.sources) || path.resolve(mapDir) === path.resolve(outDir)) return false;
  let changed = false;
  map.sources = map.sources.map((source) => {
    if (typeof source !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(source) || path.isAbsolute(source)) return source;
    if (existsSync(path.resolve(mapDir, source))) return source;
    const intended = path.resolve(outDir, source);
    if (!existsSync(intended)) return source;
    changed = true;
    return toPosix(path.relative(mapDir, intended));
  });
  return changed;
}

const INLINE_MAP = /^\/\/# sourceMappingURL=data:application\/json;(?:charset=utf-8;)?base64,([A-Za-z0-9+/=]+)\s*$/m;

function fixSourceMaps(files: string[], outDir: string): void {
  for (const file of files) {
    try {
      if (file.endsWith('.map')) {
        const map = JSON.parse(readFileSync(file, 'utf8')) as SourceMapJson;
        if (fixMapSources(map, path.dirname(file), outDir)) writeFileSync(file, JSON.stringify(map));
      } else if (JS_FILE.test(file)) {
        const code = readFileSync(file, 'utf8');
        const inline = INLINE_MAP.exec(code);
        if (!inline) continue;
        const map = JSON.parse(Buffer.from(inline[1]!, 'base64').toString('utf8')) as SourceMapJson;
        if (!fixMapSources(map, path.dirname(file), outDir)) continue;
        const encoded = Buffer.from(JSON.stringify(map)).toString('base64');
        writeFileSync(file, code.replace(INLINE_MAP, `//# sourceMappingURL=data:application/json;base64,${encoded}`));
      }
    } catch {
      // A map we cannot parse is left as bun wrote it; the code is what must run.
    }
  }
}

function fixShebangs(config: ResolvedConfig, run: Invocation, outDir: string, outputs: string[]): void {
  for (const source of run.sources) {
    const shebang = readShebang(source);
    if (!shebang) continue;
    const file = path.resolve(outDir, expectedOutput(run, source));
    if (JS_FILE.test(file) && outputs.includes(file)) ensureShebangFirst(file, shebang, config.banner);
  }
}

/** The path (relative to outdir) bun gives an entry under this run's naming. */
function expectedOutput(run: Invocation, source: string): string {
  const derived = '[dir]/[name]';
  if (!run.entryNaming.startsWith(derived)) return run.entryNaming;
  return `${stripExtension(path.relative(run.root, source))}${run.entryNaming.slice(derived.length)}`;
}

interface RunOutcome {
  ok: boolean;
  aborted: boolean;
  files: string[];
  diagnostics: Diagnostic[];
  /** Files bun read (metafile inputs), absolute; null when this bun cannot say. */
  reads: string[] | null;
}

async function runCli(binary: string, ctx: AdapterContext, run: Invocation): Promise<RunOutcome> {
  const { pkg, config } = ctx;
  // The metafile must not land in the staging dir: that holds exactly the outputs.
  const metaDir = await mkdtemp(path.join(tmpdir(), 'build-system-bun-meta-'));
  const metafile = path.join(metaDir, 'meta.json');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const result = await spawnLines(binary, cliArgs(run, config, ctx.outDir, metafile), {
      cwd: pkg.dir,
      env,
      signal: ctx.signal,
      onLine: (stream, line) => ctx.log(stream, line),
    });
    if (result.aborted) return { ok: false, aborted: true, files: [], diagnostics: [], reads: null };
    const diagnostics = parseBunOutput(result.stderr, pkg.dir);
    if (result.code !== 0) {
      if (!diagnostics.some((d) => d.severity === 'error')) {
        const tail = result.stderr.trim().split('\n').slice(-1)[0]?.replace(ANSI, '');
        diagnostics.push({ severity: 'error', message: `bun build exited with ${result.code ?? result.signal}${tail ? `: ${tail}` : ''}` });
      }
      return { ok: false, aborted: false, files: [], diagnostics, reads: null };
    }
    let meta: { outputs?: Record<string, unknown>; inputs?: Record<string, unknown> };
    try {
      meta = JSON.parse(await readFile(metafile, 'utf8')) as { outputs?: Record<string, unknown>; inputs?: Record<string, unknown> };
    } catch (e) {
      diagnostics.push({ severity: 'error', message: `bun build succeeded but its --metafile could not be read: ${(e as Error).message}` });
      return { ok: false, aborted: false, files: [], diagnostics, reads: null };
    }
    // bun's metafile names outputs relative to outdir and leaves source maps out.
    const outputs = Object.keys(meta.outputs ?? {}).map((rel) => path.resolve(ctx.outDir, rel));
    const maps = config.sourcemap === 'external' ? outputs.map((f) => `${f}.map`).filter((f) => existsSync(f)) : [];
    const files = [...outputs, ...maps];
    // Inputs are named relative to bun's cwd (the package), like esbuild's.
    return { ok: true, aborted: false, files, diagnostics, reads: meta.inputs ? metafileInputs(pkg.dir, meta.inputs) : null };
  } finally {
    await rm(metaDir, { recursive: true, force: true });
  }
}

async function runInProcess(bun: BunRuntime, ctx: AdapterContext, run: Invocation): Promise<RunOutcome> {
  const { pkg, config } = ctx;
  const options: Record<string, unknown> = {
    entrypoints: run.sources,
    outdir: ctx.outDir,
    root: run.root,
    naming: { entry: run.entryNaming, ...(run.chunkNaming ? { chunk: run.chunkNaming } : {}) },
    ...(run.chunkNaming ? { splitting: true } : {}),
    target: bunTarget(config.platform),
    format: run.format,
    sourcemap: bunSourcemap(config.sourcemap),
    minify: config.minify,
    external: config.external,
    define: config.define,
    ...(config.banner !== undefined ? { banner: config.banner } : {}),
    ...config.adapterOptions.bun,
    // What the build read keys its cache entry; a Bun without it gets no entry (reads: null).
    metafile: true,
    throw: false,
  };
  // Bun.build cannot be cancelled: on abort the caller is released at once and
  // the build finishes in the background (into a staging dir that is discarded).
  let onAbort = () => {};
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (ctx.signal.aborted) onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
  let result: BunBuildOutput | 'aborted';
  try {
    result = await Promise.race([bun.build(options), aborted]);
  } catch (error) {
    // Bun versions without `throw: false` throw an AggregateError of BuildMessages instead of returning logs.
    const logs = (error as { errors?: BunBuildMessage[] }).errors;
    result = { success: false, outputs: [], logs: Array.isArray(logs) ? logs : [{ level: 'error', message: String((error as Error).message ?? error), position: null }] };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  if (result === 'aborted') return { ok: false, aborted: true, files: [], diagnostics: [], reads: null };
  const diagnostics = result.logs.map((log): Diagnostic => {
    const d: Diagnostic = {
      severity: severityOf(log.level),
      message: log.message,
    };
    if (log.position?.file) {
      d.file = diagnosticFile(pkg.dir, log.position.file);
      d.line = log.position.line;
      // Measured with bun 1.4.5: Bun.build positions are 1-based characters, like the CLI.
      d.column = log.position.column;
    }
    return d;
  });
  if (!result.success) return { ok: false, aborted: false, files: [], diagnostics, reads: null };
  const inputs = result.metafile?.inputs;
  return { ok: true, aborted: false, files: result.outputs.map((o) => path.resolve(o.path)), diagnostics, reads: inputs ? metafileInputs(pkg.dir, inputs) : null };
}

const ENTITY_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

/**
 * bun 1.4.5 reads a define value it cannot parse loosely instead of failing:
 * `1 + 1` becomes `1` and `foo bar` the string "foo bar" (CLI and Bun.build
 * alike). esbuild rejects such values; so does this adapter, with the same
 * rule (a JSON literal or a dotted name), so a config means the same on both.
 */
function defineProblems(define: Record<string, string>): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const [key, value] of Object.entries(define)) {
    if (ENTITY_NAME.test(value)) continue;
    try {
      JSON.parse(value);
      continue;
    } catch {
      problems.push({ severity: 'error', message: `invalid define value for ${key}: ${JSON.stringify(value)} (must be a JSON literal or a dotted name such as process.env.NODE_ENV)` });
    }
  }
  return problems;
}

export const bunAdapter: BuilderAdapter = {
  name: 'bun',

  async check(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability> {
    const runtime = runningBun();
    if (runtime) return { available: true, version: runtime.version, location: process.execPath };
    const installHint = installCommand(pkg, ['bun']);
    const binary = findBinary('bun', [pkg.dir, pkg.workspaceRoot], reads);
    if (!binary) {
      return { available: false, reason: `bun was not found in node_modules/.bin (from ${pkg.dir} upward) or on PATH`, installHint };
    }
    const probe = await bunVersion(binary);
    if (!probe.ok) return { available: false, reason: probe.reason, installHint };
    return { available: true, version: probe.version, location: binary };
  },

  async build(ctx: AdapterContext): Promise<AdapterOutput> {
    const abortedResult = () => failedOutput('build aborted: bun build was stopped');
    const invalid = defineProblems(ctx.config.define);
    if (invalid.length > 0) return { ok: false, files: [], diagnostics: invalid, reads: null };
    const runtime = runningBun();
    const diagnostics: Diagnostic[] = [];
    const files: string[] = [];
    let reads: string[] | null = [];
    let ok = true;
    for (const run of planInvocations(ctx.pkg.dir, ctx.config)) {
      if (ctx.signal.aborted) return abortedResult();
      let outcome: RunOutcome;
      try {
        outcome = runtime ? await runInProcess(runtime, ctx, run) : await runCli(ctx.tool.location, ctx, run);
      } catch (error) {
        // spawnLines rejects only when bun cannot be started at all.
        outcome = { ok: false, aborted: false, files: [], diagnostics: [{ severity: 'error', message: `could not run ${ctx.tool.location}: ${(error as Error).message}` }], reads: null };
      }
      if (outcome.aborted) return abortedResult();
      diagnostics.push(...outcome.diagnostics);
      reads = reads && outcome.reads ? [...reads, ...outcome.reads] : null;
      if (!outcome.ok) {
        ok = false;
        continue;
      }
      const inside = outcome.files.filter((f) => isStrictlyInside(ctx.outDir, f));
      fixSourceMaps(inside, ctx.outDir);
      fixShebangs(ctx.config, run, ctx.outDir, inside);
      files.push(...inside);
    }
    if (ctx.signal.aborted) return abortedResult();
    const read = reads && [...new Set(reads)];
    if (!read) return { ok, files: [...new Set(files)], diagnostics: dedupeDiagnostics(diagnostics), reads: null };
    // bunfig.toml, and under `env` the inlined env vars and .env files: keyed as reads (bun-env.ts).
    const cwd = bunCwdReads(ctx.config.adapterOptions.bun?.env, ctx.pkg.dir, read, existsSync);
    return { ok, files: [...new Set(files)], diagnostics: dedupeDiagnostics(diagnostics), reads: read, fixedReads: cwd.files, absentReads: cwd.absent, envReads: cwd.envReads };
  },
};
