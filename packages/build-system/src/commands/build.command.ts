import { Inject } from '@nestjs/common';
import { Command } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import type { BuildFlags } from '../cli/flag-table.js';
import { BUILD_COMMAND, WATCH_COMMAND } from '../cli/commands.js';
import { applyFlagOptions, commandMetadata } from './flag-options.js';
import { WorkspaceBuildService } from '../services/workspace.service.js';
import { WatchService } from '../services/watch.service.js';
import { runBuildCommand } from './build-run.js';
import { runWatchCommand } from './watch-run.js';

@Command(commandMetadata(BUILD_COMMAND))
export class BuildCommand extends UsageExitCommand {
  constructor(@Inject(WorkspaceBuildService) private readonly builds: WorkspaceBuildService) {
    super();
  }

  async run(packages: string[], flags: BuildFlags): Promise<void> {
    if (flags.watch) await runWatchCommand(new WatchService(this.builds), packages, flags);
    else await runBuildCommand(this.builds, packages, flags);
  }
}

// The options: one generated method per flag table row (cli/flag-table.ts).
applyFlagOptions(BuildCommand, BUILD_COMMAND.flags);

/**
 * `watch`: `build --watch` under its own name. It takes every flag of `build`
 * (inherited); those that do not fit a watch (--dry-run, --force, --bail,
 * --summary, --explain) are usage errors (commands/watch-run.ts).
 */
@Command(commandMetadata(WATCH_COMMAND))
export class WatchCommand extends BuildCommand {
  override async run(packages: string[], flags: BuildFlags): Promise<void> {
    await super.run(packages, { ...flags, watch: true });
  }
}
