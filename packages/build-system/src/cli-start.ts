/**
 * The CLI's first code: bin/build-system.cjs loads it as dist/cli-start.cjs,
 * bundled alone as CommonJS with the no-op replay inside (scripts/build.mjs).
 *
 * Why CommonJS: a replayed no-op is answered in ~100 ms, of which Node's own
 * start is ~65 ms, and on Node 20 one CommonJS file starts ~10 ms sooner than
 * the ESM graph (bin → cli.js → its chunks → the replay bundle) that did this
 * before (research.md §5, "3d"). So this file answers what needs no build
 * service: `--version`, and a `build` whose no-op record says nothing it read
 * has changed. Everything else goes to main.ts (dist/cli.js, ESM), told the
 * replay was already tried. Its copies of shared modules hold no state the
 * ESM side needs: a replay that does not answer has only read.
 */
import * as nodeModule from 'node:module';
import { parseBuildArgv } from './commands/build-argv.js';
import { replayNoopBuild } from './commands/build-replay.js';
import { NO_FAST_PATH_ENV } from './cli/fast-path-env.js';
import { VERSION } from './version.js';

export async function start(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  if (process.env[NO_FAST_PATH_ENV] !== '1') {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    const build = parseBuildArgv(argv);
    if (build && !build.watch) {
      enableCompileCache();
      try {
        if (await replayNoopBuild(build)) return;
      } catch (e) {
        // What main.ts does with a build that throws.
        process.stderr.write(`build-system: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
        process.exitCode = 1;
        return;
      }
    }
  }
  // Kept as an import() of the ESM bundle by scripts/build.mjs.
  const { main } = await import('./main.js');
  await main(argv, { replayTried: true });
}

/** As main.ts's: V8's on-disk compile cache where Node has it (>= 22.1); nothing on Node 20 or Bun. */
function enableCompileCache(): void {
  try {
    (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  } catch {
    // A cache directory we cannot write only costs speed.
  }
}
