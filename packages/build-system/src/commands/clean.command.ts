import { Inject } from '@nestjs/common';
import { Command, Option } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import { isBuildSystemError } from '../errors.js';
import { CleanService } from '../services/clean.service.js';

interface CleanFlags {
  json?: boolean;
  cwd?: string;
}

@Command({
  name: 'build:clean',
  aliases: ['clean'],
  arguments: '[packages...]',
  description: "Remove packages' outDir and tsbuildinfo (never anything outside the package)",
})
export class CleanCommand extends UsageExitCommand {
  constructor(@Inject(CleanService) private readonly cleaner: CleanService) {
    super();
  }

  async run(packages: string[], flags: CleanFlags): Promise<void> {
    try {
      const results = await this.cleaner.clean({ cwd: flags.cwd, packages });
      if (flags.json) process.stdout.write(`${JSON.stringify({ packages: results }, null, 2)}\n`);
      for (const r of results) {
        if (r.error) process.stderr.write(`✖ ${r.name}: ${r.error.message}\n`);
        else if (!flags.json) process.stdout.write(`${r.name}: removed ${r.removed.length ? r.removed.join(', ') : 'nothing'}\n`);
      }
      process.exitCode = results.some((r) => r.error) ? 2 : 0;
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
