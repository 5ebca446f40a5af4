import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { declarationConfig } from '../../adapters/entry-groups.js';
import type { AdapterContext, AdapterOutput } from '../../adapters/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { formatMarkers } from '../../config/format-dirs.js';
import { selfExternals, withoutBundled } from '../../config/package-defaults.js';
import type { OutputLogsMode } from '../../cache/package-cache.js';
import type { LogLine } from '../../cache/store.js';
import type { Artifact, Diagnostic } from '../../result/schema.js';
import { collectArtifacts } from '../../util/artifacts.js';
import type { PreparedPackage, RunContext } from './context.js';

const LOG_TAIL_LINES = 40;
/** Tool output kept in a cache entry for replay; a runaway tool must not bloat the cache. */
const STORED_LOG_LINES = 5000;

/** The tool output of one build: a tail for the result, the lines a cache entry replays, and the events. */
export interface BuildLog {
  log(stream: 'stdout' | 'stderr', line: string): void;
  tail: string[];
  logs: LogLine[];
  /** errors-only: the output of a build is shown once it is known to have failed. */
  showLogsOfFailure(): void;
}

export function createBuildLog(pkgName: string, mode: OutputLogsMode, ctx: Pick<RunContext, 'emit'>): BuildLog {
  const tail: string[] = [];
  const logs: LogLine[] = [];
  return {
    tail,
    logs,
    log(stream, line) {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      if (logs.length < STORED_LOG_LINES) logs.push({ stream, line });
      if (mode === 'full') ctx.emit({ type: 'log', package: pkgName, stream, line });
    },
    showLogsOfFailure() {
      if (mode === 'errors-only') for (const l of logs) ctx.emit({ type: 'log', package: pkgName, stream: l.stream, line: l.line });
    },
  };
}

/**
 * A bundler's declarations run beside the bundle, not after it: they read only sources and write only
 * .d.ts files (and a generated tsconfig) into staging, and on an edit the declarations job is the long
 * one, so the bundle's time comes off the critical path (research.md §13). Their tool output is held
 * until the bundle is done, so the lines keep the order of a sequential build.
 */
function startDeclarations(ctx: AdapterContext): { output: Promise<{ output: AdapterOutput } | { error: unknown }>; stop(): void; showLogs(): void } {
  const stopper = new AbortController();
  const stopped = AbortSignal.any([ctx.signal, stopper.signal]);
  let held: [stream: 'stdout' | 'stderr', line: string][] | null = [];
  const log = (stream: 'stdout' | 'stderr', line: string) => (held ? held.push([stream, line]) : ctx.log(stream, line));
  // Settled into a value at once: a rejection while the bundle still runs must not go unhandled.
  const output = import('../../adapters/dts.js')
    .then(({ emitDeclarations }) => emitDeclarations({ ...ctx, signal: stopped, log }))
    .then(
      (emitted) => ({ output: emitted }),
      (error: unknown) => ({ error }),
    );
  return {
    output,
    stop: () => stopper.abort(),
    showLogs() {
      for (const [stream, line] of held ?? []) ctx.log(stream, line);
      held = null;
    },
  };
}

/** What the tools produced in staging. */
export interface ToolRun {
  outputs: AdapterOutput[];
  ok: boolean;
  /** The cache's warnings so far, the tools' diagnostics, and any reported file that is not in the output. */
  diagnostics: Diagnostic[];
  /** Empty unless ok. */
  artifacts: Artifact[];
  /** The file system's clock as the tool started: a read file changed since is not trusted (build-reads.ts). */
  toolStartedCtimeMs: number;
}

/**
 * Step "build": the adapter (and, for a bundler with `dts`, the declaration
 * emitter) into the empty staging dir; then the artifacts it reported, and
 * bins made executable.
 */
export async function buildStep(
  prepared: PreparedPackage,
  input: { staging: string; signal: AbortSignal; log: BuildLog; ctx: RunContext; cacheWarnings: readonly Diagnostic[]; cacheDir: string },
): Promise<ToolRun> {
  const { pkg, config, choice } = prepared;
  const { staging, signal } = input;
  const adapterCtx: AdapterContext = { pkg, config, outDir: staging, tool: choice.tool, signal, log: input.log.log, reads: input.ctx.reads, cacheDir: input.cacheDir };
  // A bundler keeps the package's own entry points external (package-defaults.ts selfExternals); the
  // tsconfigs whose `paths` decided are reads of this build, so a change to them is a miss.
  const self = choice.adapter.name === 'tsc' ? null : selfExternals(pkg, input.ctx.reads);
  const bundlerCtx: AdapterContext = self && self.specs.length > 0 ? { ...adapterCtx, config: withSelfExternals(config, self.specs) } : adapterCtx;
  // statSync: one stat of a directory just made, per build; the promise API's round trip cost more than the call.
  const toolStartedCtimeMs = statSync(staging).ctimeMs;
  // For the entries that get declarations, in their formats (adapters/entry-groups.ts).
  const dtsConfig = choice.adapter.name !== 'tsc' ? declarationConfig(config) : null;
  const declarations = dtsConfig ? startDeclarations({ ...adapterCtx, config: dtsConfig }) : undefined;
  let bundled: AdapterOutput;
  try {
    bundled = await choice.adapter.build(bundlerCtx);
    if (self && bundled.reads) bundled = { ...bundled, reads: [...bundled.reads, ...self.tsconfigs], absentReads: [...(bundled.absentReads ?? []), ...self.absent] };
  } catch (e) {
    // Nothing may write into staging once this step is over: a bundler that threw stops the declarations and waits for them.
    declarations?.stop();
    await declarations?.output;
    throw e;
  }
  const outputs: AdapterOutput[] = [bundled];
  if (declarations) {
    if (!bundled.ok) declarations.stop();
    declarations.showLogs();
    const emitted = await declarations.output;
    if ('error' in emitted) throw emitted.error;
    if (bundled.ok && !signal.aborted) outputs.push(emitted.output);
  }
  const diagnostics: Diagnostic[] = [...input.cacheWarnings, ...outputs.flatMap((o) => o.diagnostics)];
  const ok = outputs.every((o) => o.ok) && !signal.aborted;
  const markers = ok ? writeFormatMarkers(config, staging) : [];
  const { artifacts, missing } = ok ? await collectArtifacts([...outputs.flatMap((o) => o.files), ...markers], staging, config.outDir) : { artifacts: [], missing: [] };
  for (const m of missing) diagnostics.push({ severity: 'warning', message: `the ${choice.adapter.name} adapter reported ${m} but it is not a file in the output` });
  if (ok) await makeBinsExecutable(config, staging);
  return { outputs, ok, diagnostics, artifacts, toolStartedCtimeMs };
}

/** The config with `specs` external too, for the package and each entry of its own, unless noExternal bundles them. */
function withSelfExternals(config: ResolvedConfig, specs: readonly string[]): ResolvedConfig {
  const noExternal = config.raw.noExternal ?? [];
  const add = (external: readonly string[]) => withoutBundled([...new Set([...external, ...specs])], noExternal);
  const entryOptions = Object.fromEntries(Object.entries(config.entryOptions).map(([name, o]) => [name, { ...o, external: add(o.external) }]));
  return { ...config, external: add(config.external), entryOptions };
}

/** Each format directory's package.json (config/format-dirs.ts), written into staging; their absolute paths. */
function writeFormatMarkers(config: ResolvedConfig, staging: string): string[] {
  if (!config.emit) return [];
  return formatMarkers(config.formatDir, config.formats).map(({ file, text }) => {
    const abs = path.join(staging, file);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    return abs;
  });
}

/** package.json `bin` targets that this build produced get the executable bit before the swap. */
async function makeBinsExecutable(config: ResolvedConfig, staging: string): Promise<void> {
  // emit: false wrote no bins (nor anything else).
  if (!config.emit) return;
  for (const bin of config.bins) {
    if (!bin.startsWith(`${config.outDir}/`)) continue;
    const inStaging = path.join(staging, bin.slice(config.outDir.length + 1));
    await chmod(inStaging, 0o755).catch(() => {});
  }
}
