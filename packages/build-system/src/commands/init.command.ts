import path from 'node:path';
import { Command } from 'nest-commander';
import { INIT_COMMAND, type InitFlags } from '../cli/commands.js';
import { formatIssue } from '../errors.js';
import { runInit } from '../init/init.service.js';
import type { InitPackageResult, InitResult } from '../init/result-schema.js';
import { toPosix } from '../util/paths.js';
import { UsageExitCommand } from './usage-exit.js';
import { applyFlagOptions, commandMetadata } from './flag-options.js';

function shown(dir: string, file: string): string {
  return toPosix(path.relative(process.cwd(), path.join(dir, file))) || file;
}

/** What a person reads: one line per package on stdout, the configs themselves with --dry-run, warnings and errors on stderr. */
export function printInitResult(result: InitResult, json: boolean): void {
  // A warning several packages share (a workspace root config's, the same build script everywhere) is printed once, naming them.
  const lines = (r: InitPackageResult) => [...r.notReproduced.map((n) => `not reproduced: ${n.option} ${n.value} (${n.why})`), ...r.warnings];
  const sharedBy = new Map<string, string[]>();
  for (const r of result.packages) for (const text of new Set(lines(r))) sharedBy.set(text, [...(sharedBy.get(text) ?? []), r.name]);
  for (const [text, names] of sharedBy) {
    if (names.length > 1) process.stderr.write(`build-system: warning: ${names.length} packages (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}): ${text}\n`);
  }
  const warn = (r: InitPackageResult, text: string) => {
    if (sharedBy.get(text)!.length === 1) process.stderr.write(`build-system: warning: ${r.name}: ${text}\n`);
  };
  if (result.error) for (const issue of result.error.issues) process.stderr.write(`${formatIssue(issue)}\n`);
  for (const r of result.packages) {
    for (const text of lines(r)) warn(r, text);
    if (r.error) for (const issue of r.error.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    if (json) continue;
    const adapter = r.adapter ? ` (adapter ${r.adapter.name}: ${r.adapter.reason})` : '';
    if (r.status === 'would-write') process.stdout.write(`--- ${shown(r.dir, r.file!)}${adapter}\n${r.content}\n`);
    else if (r.status === 'written') process.stdout.write(`${r.name}: wrote ${shown(r.dir, r.file!)}${r.replaced.length ? `, removed ${r.replaced.join(', ')}` : ''}${adapter}\n`);
    else if (r.status === 'skipped') process.stdout.write(`${r.name}: skipped: ${r.reason}\n`);
    else process.stdout.write(`${r.name}: failed\n`);
  }
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

@Command(commandMetadata(INIT_COMMAND))
export class InitCommand extends UsageExitCommand {
  async run(packages: string[], flags: InitFlags): Promise<void> {
    const result = await runInit({ cwd: flags.cwd, packages, filter: flags.filter, dryRun: flags.dryRun, force: flags.force });
    printInitResult(result, flags.json === true);
    process.exitCode = result.exitCode;
  }
}

// The options: one generated method per row of its flag table (cli/commands.ts).
applyFlagOptions(InitCommand, INIT_COMMAND.flags);
