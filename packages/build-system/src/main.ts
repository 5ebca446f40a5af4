/**
 * CLI bootstrap. Every command, option and help text is defined once, in
 * src/commands: nest-commander over BuildSystemModule. Usage errors from
 * commander (unknown command or option) exit 2; --help and --version exit 0.
 *
 * Importing Nest + nest-commander costs ~300 ms here (specs/002-build-package-handler/
 * research.md §5), several times Node's own start-up. So this file imports
 * nothing heavy at the top, and three invocations whose answer does not need
 * Nest to be computed are answered without loading it:
 *
 * 1. `--version` / `-V` alone: the package version (exactly what commander prints).
 * 2. `--help` / `-h` alone: the Nest CLI's own help output, replayed. The first
 *    such run goes through Nest and records what it printed, keyed by this
 *    install, its built command modules (size + mtime) and the output width;
 *    any change to them is a new key, so nothing stale is ever replayed.
 * 3. `build` / `build:package` / `watch` whose flags commands/build-argv.ts understands
 *    (every flag the Nest command defines, in the forms commander accepts):
 *    runBuildCommand, the very function the Nest command runs, without Nest.
 *    Help, other commands, and any flag or form the parser is unsure about
 *    go to Nest, which prints commander's own usage error. A no-op whose
 *    record says nothing it read has changed is replayed from that record
 *    (commands/build-replay.ts, cache/noop/record.ts) without loading the
 *    build services at all.
 *
 * BUILD_SYSTEM_NO_FAST_PATH=1 sends everything through Nest.
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBuildArgv, type ParsedBuildArgv } from './commands/build-argv.js';
import { moduleFile } from './util/module-file.js';
import { VERSION } from './version.js';

export const NO_FAST_PATH_ENV = 'BUILD_SYSTEM_NO_FAST_PATH';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let helpMemo: string | null = null;
  if (process.env[NO_FAST_PATH_ENV] !== '1') {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
      helpMemo = await helpMemoFile();
      if (helpMemo && replay(helpMemo)) return;
    } else {
      const build = parseBuildArgv(argv);
      if (build) {
        await enableCompileCache();
        try {
          if (build.watch) {
            await runWatchWithoutNest(build);
            return;
          }
          if (await (await import('./commands/build-replay.js')).replayNoopBuild(build)) return;
          await runBuildWithoutNest(build);
        } catch (e) {
          // What the Nest CLI's serviceErrorHandler does with a command that throws.
          process.stderr.write(`build-system: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
          process.exitCode = 1;
        }
        return;
      }
    }
  }
  if (helpMemo) recordHelp(helpMemo);
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
// --help: replay what the Nest CLI printed for the same program and width.

// This file, as loaded: dist/cli.js (the CLI bundle) or dist/main.js.
const self = moduleFile(import.meta.url);
const here = path.dirname(self);

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** The memo file for `--help` in this install and terminal width, or null when there is nowhere to keep it. */
async function helpMemoFile(): Promise<string | null> {
  const home = process.env.XDG_CACHE_HOME || (os.homedir() ? path.join(os.homedir(), '.cache') : '');
  if (!home) return null;
  try {
    // The files that define the program: this bootstrap, the module and every command. In the CLI
    // bundle those are in its chunks with the bundled Nest; their names carry a hash of their
    // content, so the listing stands for them without a stat each.
    const commandsDir = path.join(here, 'commands');
    const files = [self, ...['build.module.js', 'build.module.ts'].map((f) => path.join(here, f)), ...listDir(commandsDir).map((f) => path.join(commandsDir, f))];
    const chunks = listDir(path.join(here, 'cli-chunks'));
    const stats = files.flatMap((f) => {
      try {
        const st = statSync(f);
        return [`${path.basename(f)}:${st.size}:${st.mtimeMs}`];
      } catch {
        return [];
      }
    });
    // commander wraps help to the terminal's width, or 80 columns when stdout is not a terminal.
    const width = process.stdout.isTTY ? String(process.stdout.columns) : 'pipe';
    const { createHash } = await import('node:crypto');
    const key = createHash('sha256').update(JSON.stringify([VERSION, realpathSync(here), width, stats, chunks])).digest('hex').slice(0, 32);
    return path.join(home, 'build-system', `help-${key}.txt`);
  } catch {
    return null;
  }
}

function replay(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  if (text === '') return false;
  process.stdout.write(text);
  return true;
}

/** Tees stdout while Nest prints the help; keeps it when the process ends with exit code 0. */
function recordHelp(file: string): void {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  process.once('exit', (code) => {
    if (code !== 0 || chunks.length === 0) return;
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, chunks.join(''));
      renameSync(tmp, file);
      // Every rebuild of the CLI is a new key: forget memos nobody has written for a week.
      const dir = path.dirname(file);
      const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
      for (const name of readdirSync(dir)) {
        if (!name.startsWith('help-')) continue;
        const other = path.join(dir, name);
        if (statSync(other).mtimeMs < weekAgo) rmSync(other, { force: true });
      }
    } catch {
      // A read-only home only costs the next --help the Nest start-up.
    }
  });
}

// ---------------------------------------------------------------------------
// `build`: the same runBuildCommand the Nest command calls, without Nest.

async function runBuildWithoutNest(parsed: ParsedBuildArgv): Promise<void> {
  const [{ WorkspaceBuildService }, { runBuildCommand }] = await Promise.all([import('./services/workspace.service.js'), import('./commands/build-run.js')]);
  await runBuildCommand(new WorkspaceBuildService(), parsed.packages, parsed.flags);
}

async function runWatchWithoutNest(parsed: ParsedBuildArgv): Promise<void> {
  const [{ WatchService }, { runWatchCommand }] = await Promise.all([import('./services/watch.service.js'), import('./commands/watch-run.js')]);
  await runWatchCommand(new WatchService(), parsed.packages, parsed.flags);
}
