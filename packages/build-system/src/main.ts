/**
 * CLI bootstrap. Every command, option and help text is defined once, as data
 * in src/cli (commands.ts, flag-table.ts); src/commands turns them into
 * nest-commander commands over BuildSystemModule. Usage errors from
 * commander (unknown command or option) exit 2; --help and --version exit 0.
 *
 * Importing Nest + nest-commander costs ~300 ms here (specs/002-build-package-handler/
 * research.md §5), several times Node's own start-up. So this file imports
 * nothing heavy at the top, and three invocations whose answer does not need
 * Nest to be computed are answered without loading it:
 *
 * 1. `--version` / `-V` alone: the package version (exactly what commander prints).
 * 2. `--help` / `-h` alone, or after a command or `cache` subcommand: rendered
 *    from the command list and flag tables (cli/help.ts), laid out as commander
 *    lays out the Nest command's help; the top-level help also lists every
 *    command's options. Nothing is written anywhere.
 * 3. `build` / `build:package` / `watch` whose flags commands/build-argv.ts understands
 *    (every flag the Nest command defines, in the forms commander accepts):
 *    runBuildCommand, the very function the Nest command runs, without Nest.
 *    Other commands, and any flag or form the parser is unsure about
 *    go to Nest, which prints commander's own usage error. A no-op whose
 *    record says nothing it read has changed is replayed from that record
 *    (commands/build-replay.ts, cache/noop/record.ts) without loading the
 *    build services at all; through the bin, that is tried before this file
 *    is loaded (cli-start.ts, CommonJS), and main() is told so.
 *
 * BUILD_SYSTEM_NO_FAST_PATH=1 sends everything through Nest.
 */
import { NO_FAST_PATH_ENV } from './cli/fast-path-env.js';
import { parseBuildArgv, type ParsedBuildArgv } from './commands/build-argv.js';
import { ignoreClosedOutput } from './cli/closed-output.js';
import { VERSION } from './version.js';
import type { PreviousRun } from './cache/noop/check.js';

export { NO_FAST_PATH_ENV };

/** `replayTried`: cli-start.ts (the bin's first code) already tried the no-op replay and it did not answer. */
export async function main(argv: readonly string[] = process.argv.slice(2), options: { replayTried?: boolean; previous?: PreviousRun } = {}): Promise<void> {
  ignoreClosedOutput();
  if (process.env[NO_FAST_PATH_ENV] !== '1') {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    // The help renderer reads every command's table: loaded only when help is asked for.
    if (argv.at(-1) === '--help' || argv.at(-1) === '-h') {
      const { helpFor, helpWidth } = await import('./cli/help.js');
      const help = helpFor(argv, helpWidth());
      if (help !== null) {
        process.stdout.write(help);
        return;
      }
    }
    const build = parseBuildArgv(argv);
    if (build) {
      await enableCompileCache();
      try {
        if (build.watch) {
          await runWatchWithoutNest(build);
          return;
        }
        const seen: { previous?: PreviousRun } = { previous: options.previous };
        if (!options.replayTried && (await (await import('./commands/build-replay.js')).replayNoopBuild(build, seen))) return;
        await runBuildWithoutNest(build, seen.previous);
      } catch (e) {
        // What the Nest CLI's serviceErrorHandler does with a command that throws.
        process.stderr.write(`build-system: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
        process.exitCode = 1;
      }
      return;
    }
  }
  await runNest();
}

/**
 * V8's on-disk compile cache for everything imported after this call (Node >= 22.1;
 * measured −20 % for the Nest start-up on Node 24). Node 20 and Bun have no such API:
 * nothing happens there. NODE_DISABLE_COMPILE_CACHE=1 turns it off (Node's own switch).
 */
async function enableCompileCache(): Promise<void> {
  const mod = (await import('node:module')) as { enableCompileCache?: () => unknown };
  try {
    mod.enableCompileCache?.();
  } catch {
    // A cache directory we cannot write only costs speed.
  }
}

async function runNest(): Promise<void> {
  await enableCompileCache();
  const { CommandFactory, BuildSystemModule } = await import('./nest-cli.js');
  await CommandFactory.run(BuildSystemModule, {
    logger: false,
    cliName: 'build-system',
    version: VERSION,
    errorHandler: (err: Error & { exitCode?: number; code?: string }) => {
      // commander signals help/version with exitCode 0; everything else it reports (unknown
      // command or option, missing argument) is a usage error. It has already printed the message.
      process.exit(err.exitCode === 0 ? 0 : 2);
    },
    serviceErrorHandler: (err: Error) => {
      process.stderr.write(`build-system: internal error: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  });
}

// ---------------------------------------------------------------------------
// `build`: the same runBuildCommand the Nest command calls, without Nest.

async function runBuildWithoutNest(parsed: ParsedBuildArgv, previous: PreviousRun | undefined): Promise<void> {
  const [{ WorkspaceBuildService }, { runBuildCommand }] = await Promise.all([import('./services/workspace.service.js'), import('./commands/build-run.js')]);
  await runBuildCommand(new WorkspaceBuildService(), parsed.packages, parsed.flags, previous);
}

async function runWatchWithoutNest(parsed: ParsedBuildArgv): Promise<void> {
  const [{ WatchService }, { runWatchCommand }] = await Promise.all([import('./services/watch.service.js'), import('./commands/watch-run.js')]);
  await runWatchCommand(new WatchService(), parsed.packages, parsed.flags);
}
