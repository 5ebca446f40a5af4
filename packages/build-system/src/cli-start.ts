/**
 * The CLI's first code: bin/build-system.cjs loads it as dist/cli-start.cjs,
 * bundled alone as CommonJS with the no-op replay inside (scripts/build.mjs).
 *
 * Why CommonJS: a replayed no-op is answered in ~100 ms, of which Node's own
 * start is ~65 ms, and on Node 20 one CommonJS file starts ~10 ms sooner than
 * the ESM graph (bin → cli.js → its chunks → the replay bundle) that did this
 * before (research.md §5, "3d"). So this file answers what needs no build
 * service: `--version`, and a `build` whose no-op record says nothing it read
 * has changed (when it has, it prewarms TypeScript for the run). Everything else goes to main.ts (dist/cli.js, ESM), told the
 * replay was already tried. Its copies of shared modules hold no state the
 * ESM side needs: a replay that does not answer has only read.
 */
import { existsSync } from 'node:fs';
import * as nodeModule from 'node:module';
import path from 'node:path';
import { readSnapshotHint, snapshotDir } from './adapters/tsc-snapshot-hint.js';
import { parseBuildArgv } from './commands/build-argv.js';
import { replayNoopBuild, type ReplaySeen } from './commands/build-replay.js';
import type { PreviousRun } from './cache/noop/check.js';
import { ignoreClosedOutput } from './cli/closed-output.js';
import { NO_FAST_PATH_ENV } from './cli/fast-path-env.js';
import { VERSION } from './version.js';

export async function start(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A record the replay could not answer from: the run builds only what changed (services/partial-run.ts).
  let previous: PreviousRun | undefined;
  // Not before the replay: it writes with fs.writeSync and never makes the process streams (build-replay.ts).
  if (process.env[NO_FAST_PATH_ENV] !== '1') {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      ignoreClosedOutput();
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    const build = parseBuildArgv(argv);
    if (build && !build.watch) {
      enableCompileCache();
      try {
        const seen: ReplaySeen = {};
        if (await replayNoopBuild(build, seen)) return;
        if (seen.cacheDir) await prewarmTypeScript(seen.cacheDir);
        previous = seen.previous;
      } catch (e) {
        // What main.ts does with a build that throws.
        ignoreClosedOutput();
        process.stderr.write(`build-system: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
        process.exitCode = 1;
        return;
      }
    }
  }
  ignoreClosedOutput();
  // Kept as an import() of the ESM bundle by scripts/build.mjs.
  const { main } = await import('./main.js');
  await main(argv, { replayTried: true, previous });
}

/**
 * A run is coming: if the cache dir names a TypeScript 5 snapshot its last TypeScript 5 job used,
 * a process starts from it now, ~0.1 s before the run could start one itself (it still has to load
 * cli.js and discover the workspace), so its ~0.25 s of start overlaps that. The run takes it over
 * (adapters/tsc-snapshot-prewarm.ts), checks the snapshot when a job needs it, and kills it if none
 * does; an unused one also ends on its stdin's EOF when this process exits.
 */
async function prewarmTypeScript(cacheDir: string): Promise<void> {
  if (process.env.BUILD_SYSTEM_TSC_SNAPSHOT === '0') return;
  const hint = readSnapshotHint(cacheDir);
  if (!hint) return;
  const blob = path.join(snapshotDir(cacheDir), `${hint.key}.blob`);
  if (!existsSync(blob)) return;
  // Loaded only here: node:child_process costs a replay ~3 ms it never needs.
  const { leavePrewarmedProcess, startPrewarmedProcess } = await import('./adapters/tsc-snapshot-prewarm.js');
  leavePrewarmedProcess(startPrewarmedProcess(blob, hint.key, cacheDir));
}

/** As main.ts's: V8's on-disk compile cache where Node has it (>= 22.1); nothing on Node 20 or Bun. */
function enableCompileCache(): void {
  try {
    (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  } catch {
    // A cache directory we cannot write only costs speed.
  }
}
