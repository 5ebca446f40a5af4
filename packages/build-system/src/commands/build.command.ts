import { Inject } from '@nestjs/common';
import { Command, Option } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import { ADAPTER_NAMES } from '../config/schema.js';
import { WorkspaceBuildService } from '../services/workspace.service.js';
import { WatchService } from '../services/watch.service.js';
import { runBuildCommand, type BuildFlags } from './build-run.js';
import { runWatchCommand } from './watch-run.js';

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
    if (flags.watch) await runWatchCommand(new WatchService(this.builds), packages, flags);
    else await runBuildCommand(this.builds, packages, flags);
  }

  @Option({ flags: '--watch', description: 'keep running: rebuild what a change affects (same as the watch command)' })
  parseWatch(): boolean {
    return true;
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

  @Option({ flags: '--concurrency <n>', description: 'most packages built at once, e.g. 4 or 50% of the cores (default: 10, or the number of cores if more)' })
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

  @Option({ flags: '--strict', description: 'package.json problems found after a build (missing export targets, condition order, types of the wrong module kind, files) fail it' })
  parseStrict(): boolean {
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

  @Option({ flags: '--remote-cache-timeout <seconds>', description: 'most time for one remote cache request, body included (default 30); any timeout turns the remote off for the run' })
  parseRemoteCacheTimeout(value: string): string {
    return value;
  }

  @Option({ flags: '--remote-cache-connect-timeout <seconds>', description: 'most time to connect to the remote cache (default 2)' })
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

/**
 * `watch`: `build --watch` under its own name. It takes every flag of `build`
 * (inherited); those that do not fit a watch (--dry-run, --force, --bail,
 * --summary, --explain) are usage errors (commands/watch-run.ts).
 */
@Command({
  name: 'watch',
  arguments: '[packages...]',
  argsDescription: { packages: 'package names or directories (default: as for build)' },
  description: 'Build, then rebuild what each change affects (dependents in graph order, cache hits for the rest) until Ctrl-C',
})
export class WatchCommand extends BuildCommand {
  override async run(packages: string[], flags: BuildFlags): Promise<void> {
    await super.run(packages, { ...flags, watch: true });
  }
}
