import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BuildSystemError } from '../errors.js';
import { runError, type WorkspaceBuildService } from '../services/workspace.service.js';
import { planTable } from './progress.js';
import { printError, printWarningEvent } from './errors-output.js';
import { explainLines } from './cache-flags.js';
import { createRunOutput, noopRecordOptions } from './run-output.js';
import { redactArgv } from '../cache/remote/config.js';
import type { BuildFlags } from '../cli/flag-table.js';
import { flagsToRequest, type CliRequest } from '../cli/flags-to-request.js';
import { ReadLog } from '../util/read-log.js';
import type { PreviousRun } from '../cache/noop/check.js';
import { guardRun } from './run-guard.js';
import { counted } from './terminal.js';

export type { BuildFlags } from '../cli/flag-table.js';

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

/**
 * What `build` / `build:package` does once its flags are parsed, framework-free.
 * Two front ends call it: the Nest command (BuildCommand, which defines the
 * flags, their help and usage errors) and src/main.ts, which parses the same
 * flags itself (commands/build-argv.ts) so a build never waits for Nest's
 * ~300 ms start-up. One function, so both print and exit exactly alike.
 */
export async function runBuildCommand(builds: WorkspaceBuildService, packages: string[], flags: BuildFlags, previous?: PreviousRun): Promise<void> {
  const guard = guardRun();
  try {
    await runGuarded(builds, packages, flags, guard, previous);
  } finally {
    guard.finish();
  }
}

async function runGuarded(builds: WorkspaceBuildService, packages: string[], flags: BuildFlags, guard: { finish(): void }, previous: PreviousRun | undefined): Promise<void> {
  const { json, style, lines, reporterFor } = createRunOutput(flags);
  const started = Date.now();
  let parsed: CliRequest;
  try {
    parsed = flagsToRequest(packages, flags);
  } catch (e) {
    const run = runError(new Date(started).toISOString(), started, e);
    lines.printRun(run);
    process.exitCode = run.exitCode;
    return;
  }
  const { request, view } = parsed;

  if (request.dryRun) {
    const plan = await builds.plan({ ...request, onEvent: printWarningEvent });
    try {
      if (view.summary) writeSummary(view.summary, plan);
    } catch (e) {
      printError(e as BuildSystemError);
      process.exitCode = 2;
      return;
    }
    if (json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    else if (plan.error) printError(plan.error);
    else {
      process.stdout.write(`${planTable(plan, style).join('\n')}\n`);
      process.stdout.write(`dry run: ${counted(plan.packages.length, 'package')}, concurrency ${plan.concurrency}; nothing was built\n`);
    }
    process.exitCode = plan.exitCode;
    return;
  }

  const reporter = await reporterFor();
  // Ctrl-C: abort the run (adapters stop, locks are released, outDirs stay as they were);
  // a second Ctrl-C exits at once.
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) {
      guard.finish();
      process.exit(130);
    }
    reporter.notice('build-system: cancelling (Ctrl-C again to exit now)…');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  // A run that may be replayed next time is recorded from its read log (cache/noop); see noopRecordOptions.
  const recordOptions = noopRecordOptions(flags, 'record');
  const reads = new ReadLog(recordOptions !== null);
  const recording = recordOptions ? await startRecording(reads) : null;
  // Only a run that records can start from the last record: the record it writes covers what it kept.
  const partialFrom = recording ? previous : undefined;
  let run;
  try {
    run = await builds.run({
      ...request,
      reads,
      previous: partialFrom,
      signal: controller.signal,
      onSelected: (selection) => recording?.onSelected(selection),
      onPartial: () => recording?.onPartial(partialFrom!),
      onReads: recording ? (prepared, read, entry, key) => recording.onReads(prepared, read, entry, key) : undefined,
      onPlan: (plan) => reporter.onPlan(plan),
      onEvent: (event) => {
        recording?.onEvent(event);
        reporter.onEvent(event);
      },
      // The lock owner record keeps this line: secret flag values must not land on disk.
      command: ['build-system', ...redactArgv(process.argv.slice(2))].join(' '),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  reporter.printRun(run);
  // For people: why each package was (or was not) rebuilt; --json carries the same in cache.reason/changes.
  if (view.explain) for (const line of explainLines(run, style)) (json ? process.stderr : process.stdout).write(`${line}\n`);
  process.exitCode = run.cancelled ? 130 : run.exitCode;
  try {
    if (view.summary) writeSummary(view.summary, run);
  } catch (e) {
    printError(e as BuildSystemError);
    process.exitCode = Math.max(Number(process.exitCode ?? 0), 2);
  }
  if (run.cancelled) {
    // Everything is released and reported; a tool that ignores the abort (a hung plugin's
    // timer, a child that outlives SIGTERM) must not keep a cancelled CLI alive.
    setTimeout(() => {
      guard.finish();
      process.exit(130);
    }, 500).unref();
  }
  // The selection input as build-replay.ts resolves it: a replay of this same invocation takes the stored answer.
  const selection = { cwd: path.resolve(request.cwd ?? process.cwd()), names: [...(request.packages ?? [])], filters: request.filter ?? [] };
  if (recording && recordOptions) await recording.finish(run, { options: recordOptions, cacheDir: request.cacheDir }, selection);
}

async function startRecording(reads: ReadLog) {
  const { NoopRecording } = await import('../services/noop-recording.js');
  return new NoopRecording(reads);
}
