import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Inject } from '@nestjs/common';
import { Command, Option } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import { ADAPTER_NAMES, type AdapterName } from '../config/schema.js';
import { BuildSystemError } from '../errors.js';
import { WorkspaceBuildService, defaultConcurrency, runError } from '../services/workspace.service.js';
import { planTable, ProgressView } from './progress.js';
import { printError } from './errors-output.js';
import { LineReporter, type Reporter } from './reporter.js';
import { parseSeconds } from './flags.js';
import { explainLines, parseOutputLogs } from './cache-flags.js';
import type { OutputLogsMode } from '../cache/package-cache.js';
import { createStyle, terminalInfo, wantsColor } from './terminal.js';
import { redactArgv, type RemoteCacheOptions } from '../cache/remote/config.js';

interface BuildFlags {
  json?: boolean;
  adapter?: string;
  cwd?: string;
  lockTimeout?: string;
  filter?: string[];
  concurrency?: string;
  bail?: boolean;
  dryRun?: boolean;
  summary?: string;
  color?: boolean;
  all?: boolean;
  force?: boolean;
  /** false with --no-cache (commander's negatable option). */
  cache?: boolean;
  cacheDir?: string;
  outputLogs?: string;
  explain?: boolean;
  remoteCacheUrl?: string;
  remoteCacheToken?: string;
  remoteCacheTeam?: string;
  remoteCacheReadOnly?: boolean;
  remoteCacheSignatureKey?: string;
  remoteCacheTimeout?: string;
  remoteCacheConnectTimeout?: string;
  /** false with --no-remote-cache. */
  remoteCache?: boolean;
}

/**
 * The remote cache flags as options; unset ones fall back to env in the
 * service. `false` for --no-remote-cache (env ignored).
 */
export function remoteCacheFlags(flags: BuildFlags): RemoteCacheOptions | false {
  if (flags.remoteCache === false) return false;
  const seconds = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const s = parseSeconds(flag, v);
    if (s === 0) throw new BuildSystemError('USAGE', `must be a number of seconds > 0 (got ${JSON.stringify(v)})`, { field: flag });
    return s * 1000;
  };
  return {
    url: flags.remoteCacheUrl,
    token: flags.remoteCacheToken,
    team: flags.remoteCacheTeam,
    readOnly: flags.remoteCacheReadOnly,
    signatureKey: flags.remoteCacheSignatureKey,
    requestTimeoutMs: seconds('--remote-cache-timeout', flags.remoteCacheTimeout),
    connectTimeoutMs: seconds('--remote-cache-connect-timeout', flags.remoteCacheConnectTimeout),
  };
}

/** `--concurrency 4` or, as turbo accepts, a share of the cores: `--concurrency 50%`. */
export function parseConcurrency(value: string, cores = defaultConcurrency()): number {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  if (pct) {
    const share = Number(pct[1]);
    if (share > 0) return Math.max(1, Math.floor((cores * share) / 100));
  } else if (/^\d+$/.test(value.trim()) && Number(value) >= 1) {
    return Number(value);
  }
  throw new BuildSystemError('USAGE', `--concurrency must be a whole number >= 1 or a percentage of the cores like 50% (got ${JSON.stringify(value)})`, { field: '--concurrency' });
}

/** --summary <file>: the --json document, also written to a file (directories created). */
function writeSummary(file: string, doc: unknown): void {
  const abs = path.resolve(file);
  try {
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, `${JSON.stringify(doc, null, 2)}\n`);
  } catch (e) {
    throw new BuildSystemError('USAGE', `--summary: cannot write ${file}: ${(e as Error).message}`, { field: '--summary' });
  }
}

@Command({
  name: 'build:package',
  aliases: ['build'],
  arguments: '[packages...]',
  argsDescription: { packages: 'package names or directories (default: the package in --cwd, or every configured package at a workspace root)' },
  description: 'Build packages (and the workspace packages they depend on) into their outDir',
})
export class BuildCommand extends UsageExitCommand {
  constructor(@Inject(WorkspaceBuildService) private readonly builds: WorkspaceBuildService) {
    super();
  }

  async run(packages: string[], flags: BuildFlags): Promise<void> {
    const json = Boolean(flags.json);
    const term = terminalInfo(process.stdout, flags.color);
    // Under --json people read stderr, so its colour follows stderr.
    const style = createStyle(json ? wantsColor(process.stderr, flags.color) : term.color);
    const lines = new LineReporter(json, process.stdout, process.stderr, style);
    const started = Date.now();
    let adapter: AdapterName | undefined;
    let lockTimeoutMs: number | undefined;
    let concurrency: number | undefined;
    let outputLogs: OutputLogsMode | undefined;
    let remoteCache: RemoteCacheOptions | false;
    try {
      remoteCache = remoteCacheFlags(flags);
      if (flags.outputLogs !== undefined) outputLogs = parseOutputLogs(flags.outputLogs);
      if (flags.adapter !== undefined) {
        if (!(ADAPTER_NAMES as readonly string[]).includes(flags.adapter)) {
          throw new BuildSystemError('USAGE', `must be one of ${ADAPTER_NAMES.join(', ')} (got ${JSON.stringify(flags.adapter)})`, { field: '--adapter' });
        }
        adapter = flags.adapter as AdapterName;
      }
      if (flags.lockTimeout !== undefined) lockTimeoutMs = parseSeconds('--lock-timeout', flags.lockTimeout) * 1000;
      if (flags.concurrency !== undefined) concurrency = parseConcurrency(flags.concurrency);
    } catch (e) {
      const run = runError(new Date(started).toISOString(), started, e);
      lines.printRun(run);
      process.exitCode = run.exitCode;
      return;
    }
    const cacheOptions = { force: flags.force, noCache: flags.cache === false, cacheDir: flags.cacheDir, outputLogs, remoteCache };
    const common = { cwd: flags.cwd, packages, filter: flags.filter, all: flags.all, adapter, concurrency, bail: flags.bail, ...cacheOptions };

    if (flags.dryRun) {
      const plan = await this.builds.plan(common);
      try {
        if (flags.summary) writeSummary(flags.summary, plan);
      } catch (e) {
        printError(e as BuildSystemError);
        process.exitCode = 2;
        return;
      }
      if (json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
      else if (plan.error) printError(plan.error);
      else {
        process.stdout.write(`${planTable(plan, style).join('\n')}\n`);
        process.stdout.write(`dry run: ${plan.packages.length} packages, concurrency ${plan.concurrency}; nothing was built\n`);
      }
      process.exitCode = plan.exitCode;
      return;
    }

    const reporter: Reporter = json || !term.interactive ? lines : new ProgressView(process.stdout, style);
    // Ctrl-C: abort the run (adapters stop, locks are released, outDirs stay as they were);
    // a second Ctrl-C exits at once.
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      reporter.notice('build-system: cancelling (Ctrl-C again to exit now)…');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    let run;
    try {
      run = await this.builds.run({
        ...common,
        lockTimeoutMs,
        signal: controller.signal,
        onPlan: (plan) => reporter.onPlan(plan),
        onEvent: (event) => reporter.onEvent(event),
        // The lock owner record keeps this line: secret flag values must not land on disk.
        command: ['build-system', ...redactArgv(process.argv.slice(2))].join(' '),
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
    reporter.printRun(run);
    // For people: why each package was (or was not) rebuilt; --json carries the same in cache.reason/changes.
    if (flags.explain) for (const line of explainLines(run, style)) (json ? process.stderr : process.stdout).write(`${line}\n`);
    process.exitCode = run.cancelled ? 130 : run.exitCode;
    try {
      if (flags.summary) writeSummary(flags.summary, run);
    } catch (e) {
      printError(e as BuildSystemError);
      process.exitCode = Math.max(Number(process.exitCode ?? 0), 2);
    }
    if (run.cancelled) {
      // Everything is released and reported; a tool that ignores the abort (a hung plugin's
      // timer, a child that outlives SIGTERM) must not keep a cancelled CLI alive.
      setTimeout(() => process.exit(130), 500).unref();
    }
  }

  @Option({ flags: '--json', description: 'print one JSON document (every BuildResult) on stdout; logs go to stderr' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--adapter <name>', description: `use this adapter instead of the config's (${ADAPTER_NAMES.join(', ')})` })
  parseAdapter(value: string): string {
    return value;
  }

  @Option({ flags: '--cwd <dir>', description: 'run as if started in <dir>' })
  parseCwd(value: string): string {
    return value;
  }

  @Option({ flags: '--lock-timeout <seconds>', description: "how long to wait for another process's lock on a package (default 300; 0 = fail at once)" })
  parseLockTimeout(value: string): string {
    return value;
  }

  @Option({ flags: '--filter <filter>', description: 'select packages (repeatable): name, @scope/*, ./dir, [git-ref], name... (with dependencies), ...name (with dependents), !filter' })
  parseFilter(value: string, previous: string[] = []): string[] {
    return [...previous, value];
  }

  @Option({ flags: '--all', description: 'also build packages without a build.config.* when an entry can be inferred from package.json' })
  parseAll(): boolean {
    return true;
  }

  @Option({ flags: '--concurrency <n>', description: 'most packages built at once, e.g. 4 or 50% (default: number of cores)' })
  parseConcurrencyFlag(value: string): string {
    return value;
  }

  @Option({ flags: '--bail', description: 'after the first failure start nothing new (running builds finish)' })
  parseBail(): boolean {
    return true;
  }

  @Option({ flags: '--dry-run', description: 'print the plan (order, adapter, dependencies, cache) without building; with --json as a document' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--summary <file>', description: 'also write the --json document to <file> (relative to the current directory, not --cwd)' })
  parseSummary(value: string): string {
    return value;
  }

  @Option({ flags: '--color', description: 'force colour (default: on for a terminal unless NO_COLOR is set)' })
  parseColor(): boolean {
    return true;
  }

  @Option({ flags: '--force', description: 'build even when the cache has this result (the new result is still stored)' })
  parseForce(): boolean {
    return true;
  }

  @Option({ flags: '--no-cache', description: 'neither read nor write the build cache' })
  parseNoCache(): boolean {
    return false;
  }

  @Option({ flags: '--cache-dir <dir>', description: 'cache directory (default: $BUILD_SYSTEM_CACHE_DIR, else <workspace>/node_modules/.cache/build-system)' })
  parseCacheDir(value: string): string {
    return value;
  }

  @Option({ flags: '--output-logs <mode>', description: 'tool output to show, live or replayed from the cache: full (default), errors-only, none' })
  parseOutputLogs(value: string): string {
    return value;
  }

  @Option({ flags: '--explain', description: 'print why each package was rebuilt or taken from the cache' })
  parseExplain(): boolean {
    return true;
  }

  @Option({ flags: '--remote-cache-url <url>', description: 'Turborepo-compatible remote cache server (env BUILD_SYSTEM_REMOTE_CACHE_URL, then TURBO_API)' })
  parseRemoteCacheUrl(value: string): string {
    return value;
  }

  @Option({ flags: '--remote-cache-token <token>', description: 'bearer token for the remote cache; prefer env BUILD_SYSTEM_REMOTE_CACHE_TOKEN (or TURBO_TOKEN): flags show in process lists' })
  parseRemoteCacheToken(value: string): string {
    return value;
  }

  @Option({ flags: '--remote-cache-team <team>', description: 'team: sent as teamId when it starts with team_, else as slug (env BUILD_SYSTEM_REMOTE_CACHE_TEAM, then TURBO_TEAM)' })
  parseRemoteCacheTeam(value: string): string {
    return value;
  }

  @Option({ flags: '--remote-cache-read-only', description: 'use remote hits but never upload (e.g. CI for pull requests; env BUILD_SYSTEM_REMOTE_CACHE_READ_ONLY=1)' })
  parseRemoteCacheReadOnly(): boolean {
    return true;
  }

  @Option({ flags: '--remote-cache-signature-key <key>', description: 'sign uploads (x-artifact-tag) and refuse unsigned or badly signed downloads (env BUILD_SYSTEM_REMOTE_CACHE_SIGNATURE_KEY)' })
  parseRemoteCacheSignatureKey(value: string): string {
    return value;
  }

  @Option({ flags: '--remote-cache-timeout <seconds>', description: 'most time for one remote cache request, body included (default 30; tried twice at most)' })
  parseRemoteCacheTimeout(value: string): string {
    return value;
  }

  @Option({ flags: '--remote-cache-connect-timeout <seconds>', description: 'most time to connect to the remote cache (default 5)' })
  parseRemoteCacheConnectTimeout(value: string): string {
    return value;
  }

  @Option({ flags: '--no-remote-cache', description: 'do not use a remote cache, even when env configures one' })
  parseNoRemoteCache(): boolean {
    return false;
  }

  @Option({ flags: '--no-color', description: 'no colour' })
  parseNoColor(): boolean {
    return false;
  }
}
