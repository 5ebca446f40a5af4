import { Inject } from '@nestjs/common';
import { Command, Option } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import { isBuildSystemError } from '../errors.js';
import { ListService } from '../services/list.service.js';

interface ListFlags {
  json?: boolean;
  cwd?: string;
}

@Command({
  name: 'build:list',
  aliases: ['list'],
  arguments: '[packages...]',
  description: 'List packages in build order with the adapter each would use and whether it is installed',
})
export class ListCommand extends UsageExitCommand {
  constructor(@Inject(ListService) private readonly lister: ListService) {
    super();
  }

  async run(packages: string[], flags: ListFlags): Promise<void> {
    try {
      const entries = await this.lister.list({ cwd: flags.cwd, packages });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ packages: entries }, null, 2)}\n`);
      } else {
        for (const e of entries) {
          const adapter = e.available ? `${e.chosen} ${e.version}` : `unavailable`;
          const deps = e.dependencies.length ? `  deps: ${e.dependencies.join(', ')}` : '';
          process.stdout.write(`${e.name}  ${adapter}  (${e.reason})${deps}\n`);
        }
      }
      process.exitCode = entries.every((e) => e.available) ? 0 : 2;
    } catch (e) {
      if (!isBuildSystemError(e)) throw e;
      for (const line of e.lines()) process.stderr.write(`${line}\n`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ packages: [], error: e.toJSON() }, null, 2)}\n`);
      process.exitCode = e.exitCode;
    }
  }

  @Option({ flags: '--json', description: 'print one JSON document on stdout' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--cwd <dir>', description: 'run as if started in <dir>' })
  parseCwd(value: string): string {
    return value;
  }
}
