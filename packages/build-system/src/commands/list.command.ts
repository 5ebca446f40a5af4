import { Inject } from '@nestjs/common';
import { Command } from 'nest-commander';
import { LIST_COMMAND, type ListFlags } from '../cli/commands.js';
import { applyFlagOptions, commandMetadata } from './flag-options.js';
import { UsageExitCommand } from './usage-exit.js';
import { WorkspaceBuildService } from '../services/workspace.service.js';
import { planTable } from './progress.js';
import { printError, printWarningEvent } from './errors-output.js';
import { createStyle, wantsColor } from './terminal.js';

@Command(commandMetadata(LIST_COMMAND))
export class ListCommand extends UsageExitCommand {
  constructor(@Inject(WorkspaceBuildService) private readonly builds: WorkspaceBuildService) {
    super();
  }

  async run(packages: string[], flags: ListFlags): Promise<void> {
    // The same plan `build --dry-run` prints: one place decides order, adapter and cache state.
    const plan = await this.builds.plan({ cwd: flags.cwd, packages, filter: flags.filter, all: flags.all, onEvent: printWarningEvent });
    if (plan.error) {
      printError(plan.error, flags.json ? { packages: [] } : undefined);
    } else if (flags.json) {
      process.stdout.write(`${JSON.stringify({ packages: plan.packages }, null, 2)}\n`);
    } else {
      const style = createStyle(wantsColor(process.stdout, flags.color));
      process.stdout.write(`${planTable(plan, style, { reasons: true }).join('\n')}\n`);
    }
    process.exitCode = plan.exitCode;
  }
}

// The options: one generated method per row of its flag table (cli/commands.ts).
applyFlagOptions(ListCommand, LIST_COMMAND.flags);
