import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { chooseAdapter } from '../adapters/registry.js';
import type { AdapterContext, AdapterOutput } from '../adapters/types.js';
import { loadPackageConfig } from '../config/load.js';
import { resolveConfig, type ResolvedConfig } from '../config/resolve.js';
import type { AdapterName } from '../config/schema.js';
import { BuildSystemError, isBuildSystemError } from '../errors.js';
import type { BuildEventListener } from '../events.js';
import { acquirePackageLock } from '../lock.js';
import { RESULT_SCHEMA_VERSION, type BuildResult, type Diagnostic } from '../result/schema.js';
import { collectArtifacts } from '../util/artifacts.js';
import { createStagingDir, discardStaging, removeLeftovers, swapInStaging } from '../util/atomic-dir.js';
import { toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

export interface PackageBuildOptions {
  /** Overrides the config's adapter (CLI `--adapter`). */
  adapter?: AdapterName;
  /** How long to wait for another process's lock; 0 = fail at once. */
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: BuildEventListener;
  /** Command line recorded in the lock owner record. */
  command?: string;
}

const LOG_TAIL_LINES = 40;

/** A package with its config loaded, checked and its adapter chosen: everything decided before anything is written. */
export interface PreparedPackage {
  pkg: PackageInfo;
  config: ResolvedConfig;
  choice: Awaited<ReturnType<typeof chooseAdapter>>;
}

/**
 * Builds one package: config → adapter → lock → staging → adapter → declarations
 * → artifacts → swap. Every way it can end is a BuildResult; it throws only
 * for programming errors.
 */
export class PackageBuildService {
  /** Loads and checks config and tools. Throws BuildSystemError (config/usage) before any write. */
  async prepare(pkg: PackageInfo, options: Pick<PackageBuildOptions, 'adapter'> = {}): Promise<PreparedPackage> {
    const { config, file } = await loadPackageConfig(pkg);
    const raw = options.adapter ? { ...config, adapter: options.adapter } : config;
    const resolved = resolveConfig(pkg, raw, file);
    const origin = options.adapter ? '--adapter' : file ? toPosix(path.relative(pkg.dir, file)) : 'default';
    const relFile = file ? toPosix(path.relative(process.cwd(), file)) : undefined;
    const choice = await chooseAdapter(pkg, resolved.adapter, origin, relFile);
    if (choice.adapter.name === 'tsc') {
      // tsc cannot emit every format/entry naming a bundler can; refuse before anything is written.
      const { assertTscCanBuild } = await import('../adapters/tsc.js');
      assertTscCanBuild(pkg, resolved);
    }
    if (resolved.dts && choice.adapter.name !== 'tsc') {
      const { checkDeclarationTool } = await import('../adapters/dts.js');
      const dtsTool = await checkDeclarationTool(pkg);
      if (!dtsTool.available) {
        throw new BuildSystemError('ADAPTER_UNAVAILABLE', `dts: true needs TypeScript: ${dtsTool.reason}; install it with: ${dtsTool.installHint}`, {
          package: pkg.name,
          file: relFile,
          field: 'dts',
        });
      }
    }
    return { pkg, config: resolved, choice };
  }

  async build(pkg: PackageInfo, options: PackageBuildOptions = {}): Promise<BuildResult> {
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const emit = options.onEvent ?? (() => {});
    emit({ type: 'package-start', package: pkg.name, dir: pkg.dir });

    let prepared: PreparedPackage;
    try {
      prepared = await this.prepare(pkg, options);
    } catch (e) {
      return this.finish(emit, errorResult(pkg, startedAt, started, e));
    }
    const { config, choice } = prepared;
    emit({ type: 'adapter-chosen', package: pkg.name, adapter: choice.adapter.name, version: choice.tool.version, reason: choice.reason });
    const base = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      package: { name: pkg.name, dir: pkg.dir },
      adapter: { name: choice.adapter.name, version: choice.tool.version, reason: choice.reason },
      startedAt,
      cache: { status: 'disabled' as const, key: null },
      outDir: config.outDir,
    };

    const signal = options.signal ?? new AbortController().signal;
    let lock: Awaited<ReturnType<typeof acquirePackageLock>>;
    try {
      lock = await acquirePackageLock(pkg, {
        timeoutMs: options.lockTimeoutMs,
        command: options.command,
        signal,
        onWait: (message) => emit({ type: 'lock-wait', package: pkg.name, message }),
      });
    } catch (e) {
      return this.finish(emit, { ...errorResult(pkg, startedAt, started, e), adapter: base.adapter, outDir: config.outDir });
    }

    const tail: string[] = [];
    const log = (stream: 'stdout' | 'stderr', line: string) => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      emit({ type: 'log', package: pkg.name, stream, line });
    };

    let staging: string | undefined;
    try {
      await removeLeftovers(pkg.dir, config.outDir);
      staging = await createStagingDir(pkg.dir, config.outDir);
      const ctx: AdapterContext = { pkg, config, outDir: staging, tool: choice.tool, signal, log };
      const outputs: AdapterOutput[] = [await choice.adapter.build(ctx)];
      if (outputs[0]!.ok && config.dts && choice.adapter.name !== 'tsc' && !signal.aborted) {
        const { emitDeclarations } = await import('../adapters/dts.js');
        outputs.push(await emitDeclarations(ctx));
      }
      const diagnostics: Diagnostic[] = outputs.flatMap((o) => o.diagnostics);
      const ok = outputs.every((o) => o.ok) && !signal.aborted;
      const { artifacts, missing } = ok ? await collectArtifacts(outputs.flatMap((o) => o.files), staging, config.outDir) : { artifacts: [], missing: [] };
      for (const m of missing) diagnostics.push({ severity: 'warning', message: `the ${choice.adapter.name} adapter reported ${m} but it is not a file in the output` });

      if (!ok) {
        await discardStaging(staging);
        staging = undefined;
        const message = signal.aborted ? 'build cancelled' : `${choice.adapter.name} failed`;
        return this.finish(emit, {
          ...base,
          status: 'failed',
          durationMs: Date.now() - started,
          artifacts: [],
          diagnostics,
          logTail: tail,
          error: { code: 'BUILD_FAILED', message: firstError(diagnostics) ?? message },
        });
      }
      await makeBinsExecutable(config, staging);
      await swapInStaging(pkg.dir, config.outDir, staging, { keepStale: !config.clean });
      staging = undefined;
      return this.finish(emit, { ...base, status: 'success', durationMs: Date.now() - started, artifacts, diagnostics });
    } catch (e) {
      if (staging) await discardStaging(staging).catch(() => {});
      return this.finish(emit, { ...errorResult(pkg, startedAt, started, e), adapter: base.adapter, outDir: config.outDir, logTail: tail });
    } finally {
      await lock.release();
    }
  }

  private finish(emit: BuildEventListener, result: BuildResult): BuildResult {
    emit({ type: 'package-done', result });
    return result;
  }
}

function firstError(diagnostics: Diagnostic[]): string | undefined {
  const d = diagnostics.find((x) => x.severity === 'error');
  if (!d) return undefined;
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  return `${where}${d.message}`;
}

/** package.json `bin` targets that this build produced get the executable bit before the swap. */
async function makeBinsExecutable(config: ResolvedConfig, staging: string): Promise<void> {
  for (const bin of config.bins) {
    if (!bin.startsWith(`${config.outDir}/`)) continue;
    const inStaging = path.join(staging, bin.slice(config.outDir.length + 1));
    await chmod(inStaging, 0o755).catch(() => {});
  }
}

/** A result for a package that failed before or outside the adapter (config, lock, I/O). */
export function errorResult(pkg: PackageInfo, startedAt: string, started: number, e: unknown): BuildResult {
  const err = isBuildSystemError(e) ? e : new BuildSystemError('INTERNAL', (e as Error)?.message ?? String(e), { package: pkg.name, cause: e });
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    package: { name: pkg.name, dir: pkg.dir },
    status: 'failed',
    adapter: { name: null, version: null, reason: 'not chosen: the build stopped before' },
    startedAt,
    durationMs: Date.now() - started,
    cache: { status: 'disabled', key: null },
    artifacts: [],
    diagnostics: err.issues.map((i) => ({ severity: 'error' as const, message: i.field ? `${i.field}: ${i.message}` : i.message, file: i.file, line: i.line, column: i.column })),
    error: { code: err.code, message: err.lines()[0] ?? err.message, file: err.file, field: err.field },
  };
}
