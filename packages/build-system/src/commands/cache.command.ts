import { Inject } from '@nestjs/common';
import { Command, Option, SubCommand } from 'nest-commander';
import { BuildSystemError } from '../errors.js';
import { CacheService } from '../services/cache.service.js';
import { formatSize, parseAge, parseSize } from './cache-flags.js';
import { failCommand } from './errors-output.js';
import { UsageExitCommand } from './usage-exit.js';

interface CacheFlags {
  json?: boolean;
  cwd?: string;
  cacheDir?: string;
}

interface PruneFlags extends CacheFlags {
  maxSize?: string;
  maxAge?: string;
}

/** Errors of a cache command: one line each on stderr, `{ error }` on stdout under --json. */
function fail(e: unknown, json: boolean | undefined): void {
  failCommand(e, json ? {} : undefined);
}

/** Options every cache subcommand has. */
abstract class CacheSubCommand extends UsageExitCommand {
  @Option({ flags: '--json', description: 'print one JSON document on stdout' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--cwd <dir>', description: 'act on the workspace of <dir>' })
  parseCwd(value: string): string {
    return value;
  }

  @Option({ flags: '--cache-dir <dir>', description: 'cache directory (default: $BUILD_SYSTEM_CACHE_DIR, else <workspace>/node_modules/.cache/build-system)' })
  parseCacheDir(value: string): string {
    return value;
  }
}

@SubCommand({ name: 'prune', description: 'Evict cache entries: unused for --max-age, then least recently used down to --max-size' })
export class CachePruneCommand extends CacheSubCommand {
  constructor(@Inject(CacheService) private readonly caches: CacheService) {
    super();
  }

  async run(_args: string[], flags: PruneFlags): Promise<void> {
    try {
      const maxSizeBytes = flags.maxSize !== undefined ? parseSize('--max-size', flags.maxSize) : undefined;
      const maxAgeMs = flags.maxAge !== undefined ? parseAge('--max-age', flags.maxAge) : undefined;
      const report = await this.caches.prune({ cwd: flags.cwd, cacheDir: flags.cacheDir, maxSizeBytes, maxAgeMs });
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const freed = report.removed.reduce((n, e) => n + e.bytes, 0);
        process.stdout.write(`${report.dir}: removed ${report.removed.length} entries (${formatSize(freed)}); ${report.kept} left (${formatSize(report.bytes)})\n`);
      }
      process.exitCode = 0;
    } catch (e) {
      fail(e, flags.json);
    }
  }

  @Option({ flags: '--max-size <size>', description: 'keep at most this much, e.g. 500MB or 2GiB (default 5GiB)' })
  parseMaxSize(value: string): string {
    return value;
  }

  @Option({ flags: '--max-age <age>', description: 'remove entries unused for this long, e.g. 7d or 12h; a plain number is seconds (default 30d)' })
  parseMaxAge(value: string): string {
    return value;
  }
}

@SubCommand({ name: 'info', description: 'Show where the cache is, its size and entries per package' })
export class CacheInfoCommand extends CacheSubCommand {
  constructor(@Inject(CacheService) private readonly caches: CacheService) {
    super();
  }

  async run(_args: string[], flags: CacheFlags): Promise<void> {
    try {
      const info = await this.caches.info({ cwd: flags.cwd, cacheDir: flags.cacheDir });
      if (flags.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else {
        process.stdout.write(`${info.dir}: ${info.entries} entries, ${formatSize(info.bytes)}\n`);
        if (info.oldestUse) process.stdout.write(`last used: oldest ${info.oldestUse}, newest ${info.newestUse}\n`);
        for (const p of info.packages) process.stdout.write(`  ${p.name}: ${p.entries} entries, ${formatSize(p.bytes)}\n`);
      }
      process.exitCode = 0;
    } catch (e) {
      fail(e, flags.json);
    }
  }
}

@Command({
  name: 'cache',
  arguments: '[subcommand]',
  description: 'Inspect or prune the build cache (subcommands: prune, info)',
  subCommands: [CachePruneCommand, CacheInfoCommand],
})
export class CacheCommand extends UsageExitCommand {
  async run(args: string[]): Promise<void> {
    const message = args.length ? `unknown cache subcommand ${JSON.stringify(args[0])}` : 'missing subcommand';
    const e = new BuildSystemError('USAGE', `${message}; use: build-system cache prune [--max-size <size>] [--max-age <age>] | cache info`, { field: 'cache' });
    fail(e, false);
  }
}
