import { Inject } from '@nestjs/common';
import { Command, Option } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import { WorkspaceBuildService } from '../services/workspace.service.js';
import { planTable } from './progress.js';
import { printError } from './errors-output.js';
import { createStyle, wantsColor } from './terminal.js';

interface ListFlags {
  json?: boolean;
  cwd?: string;
  filter?: string[];
  all?: boolean;
  color?: boolean;
}

@Command({
  name: 'build:list',
  aliases: ['list'],
  arguments: '[packages...]',
  description: 'List packages in build order with the adapter each would use, whether it is installed, their dependencies and cache state',
})
export class ListCommand extends UsageExitCommand {
  constructor(@Inject(WorkspaceBuildService) private readonly builds: WorkspaceBuildService) {
    super();
  }

  async run(packages: string[], flags: ListFlags): Promise<void> {
    // The same plan `build --dry-run` prints: one place decides order, adapter and cache state.
    const plan = await this.builds.plan({ cwd: flags.cwd, packages, filter: flags.filter, all: flags.all });
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

  @Option({ flags: '--json', description: 'print one JSON document on stdout' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--cwd <dir>', description: 'run as if started in <dir>' })
  parseCwd(value: string): string {
    return value;
  }

  @Option({ flags: '--filter <filter>', description: 'select packages (repeatable), as for build' })
  parseFilter(value: string, previous: string[] = []): string[] {
    return [...previous, value];
  }

  @Option({ flags: '--all', description: 'include packages without a build.config.* when an entry can be inferred' })
  parseAll(): boolean {
    return true;
  }

  @Option({ flags: '--color', description: 'force colour' })
  parseColor(): boolean {
    return true;
  }

  @Option({ flags: '--no-color', description: 'no colour' })
  parseNoColor(): boolean {
    return false;
  }
}
