import { Inject } from '@nestjs/common';
import { Command } from 'nest-commander';
import { CLEAN_COMMAND, type CleanFlags } from '../cli/commands.js';
import { applyFlagOptions, commandMetadata } from './flag-options.js';
import { UsageExitCommand } from './usage-exit.js';
import { CacheService } from '../services/cache.service.js';
import { CleanService } from '../services/clean.service.js';
import { formatSize } from './cache-flags.js';
import { failCommand } from './errors-output.js';

@Command(commandMetadata(CLEAN_COMMAND))
export class CleanCommand extends UsageExitCommand {
  constructor(
    @Inject(CleanService) private readonly cleaner: CleanService,
    @Inject(CacheService) private readonly caches: CacheService,
  ) {
    super();
  }

  async run(packages: string[], flags: CleanFlags): Promise<void> {
    try {
      // --all empties the whole cache, so removing entries package by package first would be wasted work.
      const results = await this.cleaner.clean({
        cwd: flags.cwd,
        packages,
        cache: flags.cache && !flags.all,
        cacheDir: flags.cacheDir,
        onEvent: (e) => {
          if (e.type === 'lock-wait') process.stderr.write(`${e.message}\n`);
        },
      });
      const cache = flags.all ? await this.caches.clear({ cwd: flags.cwd, cacheDir: flags.cacheDir }) : undefined;
      if (flags.json) process.stdout.write(`${JSON.stringify({ packages: results, ...(cache ? { cache } : {}) }, null, 2)}\n`);
      for (const r of results) {
        if (r.error) process.stderr.write(`✖ ${r.name}: ${r.error.message}\n`);
        else if (!flags.json) {
          const entries = r.cache ? `; ${r.cache.entries} cache entries (${formatSize(r.cache.bytes)})` : '';
          process.stdout.write(`${r.name}: removed ${r.removed.length ? r.removed.join(', ') : 'nothing'}${entries}\n`);
        }
      }
      if (cache && !flags.json) process.stdout.write(`cache: removed ${cache.entries} entries (${formatSize(cache.bytes)})\n`);
      process.exitCode = results.some((r) => r.error) ? 2 : 0;
    } catch (e) {
      failCommand(e, flags.json ? { packages: [] } : undefined);
    }
  }
}

// The options: one generated method per row of its flag table (cli/commands.ts).
applyFlagOptions(CleanCommand, CLEAN_COMMAND.flags);
