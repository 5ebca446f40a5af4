import { BuildSystemError } from '../errors.js';
import type { WatchRound } from '../result/watch-schema.js';
import { runError } from '../services/workspace.service.js';
import { NO_CACHE_WITH_WATCH, type WatchService } from '../services/watch.service.js';
import { redactArgv } from '../cache/remote/config.js';
import { failureLines, runHintLines } from './reporter.js';
import { printError } from './errors-output.js';
import type { BuildFlags } from '../cli/flag-table.js';
import { flagsToRequest } from '../cli/flags-to-request.js';
import { createRunOutput } from './run-output.js';
import { counted, formatDuration, type Style } from './terminal.js';
import { guardRun } from './run-guard.js';

/** 128 + the signal's number, as a shell reports a process that signal ended. */
const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGPIPE: 141 };

/** Flags of `build` that make no sense for a watch (each round decides what to build and prints its own line). */
const NOT_WITH_WATCH: readonly (keyof BuildFlags)[] = ['dryRun', 'summary', 'force', 'bail', 'explain'];
const FLAG_NAMES: Partial<Record<keyof BuildFlags, string>> = { dryRun: '--dry-run', summary: '--summary', force: '--force', bail: '--bail', explain: '--explain' };

/**
 * `build-system watch` (and `build --watch`): round 0 builds the selection,
 * then one line per rebuild round — or with --json one WatchRound document per
 * line (schema/watch-round.schema.json) — until Ctrl-C or SIGTERM, which
 * cancel a running round (locks released, staging removed, outDirs whole)
 * and exit 130 / 143. A failed build is reported with file:line:column and
 * the watch goes on. A reader that closes stdout ends it the same way (exit 141).
 * Called by the Nest command and by src/main.ts without Nest.
 */
export async function runWatchCommand(service: WatchService, packages: string[], flags: BuildFlags): Promise<void> {
  const guard = guardRun();
  const { json, style } = createRunOutput(flags);
  let options;
  try {
    const bad = NOT_WITH_WATCH.find((k) => flags[k] !== undefined && flags[k] !== false);
    if (bad) throw new BuildSystemError('USAGE', 'cannot be used with watch', { field: FLAG_NAMES[bad] });
    if (flags.cache === false) throw new BuildSystemError('USAGE', NO_CACHE_WITH_WATCH, { field: '--no-cache' });
    options = flagsToRequest(packages, flags).request;
  } catch (e) {
    const started = Date.now();
    const run = runError(new Date(started).toISOString(), started, e);
    printError(run.error!, json ? { ...run } : undefined);
    process.exitCode = run.exitCode;
    guard.finish();
    return;
  }
  const session = service.watch({
    ...options,
    command: ['build-system', ...redactArgv(process.argv.slice(2))].join(' '),
    onEvent: (event) => {
      if (event.type === 'warning') process.stderr.write(`build-system: warning: ${event.message}\n`);
    },
  });
  let stopping: NodeJS.Signals | null = null;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: do not wait for the round (the locks' exit hooks still release them).
      guard.finish();
      process.exit(EXIT_CODES[signal] ?? 130);
    }
    stopping = signal;
    if (!json) process.stderr.write('build-system: stopping watch…\n');
    void session.close();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  // The reader of the rounds went away (`watch --json | head -3`): nobody can see another round, so
  // the watch ends as a SIGPIPE would end it (exit 141), cleanly (cli/closed-output.ts keeps the
  // failed write itself from killing the process mid-round).
  const onClosed = (e: NodeJS.ErrnoException) => {
    // Once: writes already queued fail the same way, and a second stop() would exit without waiting for the round.
    if (e.code === 'EPIPE' && !stopping) stop('SIGPIPE');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.stdout.on('error', onClosed);
  try {
    for await (const round of session) {
      if (json) process.stdout.write(`${JSON.stringify(round)}\n`);
      else printRound(round, style);
      if (stopping) break;
    }
  } finally {
    await session.close();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.stdout.off('error', onClosed);
    guard.finish();
  }
  process.exitCode = EXIT_CODES[stopping ?? 'SIGINT'] ?? 130;
  // Everything is released; a tool's leftover timer must not keep a stopped watch alive.
  setTimeout(() => process.exit(Number(process.exitCode)), 500).unref();
}

/** One line per round, then the failures with file:line:column, then what it waits for. */
function printRound(round: WatchRound, style: Style): void {
  const { run } = round;
  const what = round.round === 0 ? 'initial build' : `round ${round.round}`;
  const why = round.trigger.files.length ? ` (${round.trigger.files.slice(0, 3).join(', ')}${round.trigger.count > 3 ? `, +${round.trigger.count - 3}` : ''})` : '';
  const parts = [counted(round.packages.length, 'package'), `${round.rebuilt.length} rebuilt`, counted(round.hits, 'hit')];
  if (round.failed.length) parts.push(style.red(`${round.failed.length} failed`));
  if (round.skipped.length) parts.push(style.yellow(`${round.skipped.length} skipped`));
  const mark = run.ok ? style.green('✔') : style.red('✖');
  process.stdout.write(`${mark} ${what}${why}: ${parts.join(', ')} in ${formatDuration(round.durationMs)}\n`);
  if (run.error) printError(run.error);
  for (const r of run.results) if (r.status === 'failed') for (const line of failureLines(r, style)) process.stderr.write(`${line}\n`);
  // Workspace-wide hints once, after the initial build: every round after it would repeat them.
  if (round.round === 0) for (const line of runHintLines(run, style)) process.stderr.write(`${line}\n`);
  process.stdout.write(style.dim(`watching ${round.watching} directories for changes (Ctrl-C to stop)\n`));
}
