import { Inject } from '@nestjs/common';
import { Command, SubCommand } from 'nest-commander';
import { CACHE_COMMAND, CACHE_INFO_COMMAND, CACHE_PRUNE_COMMAND, type CacheInfoFlags, type CachePruneFlags } from '../cli/commands.js';
import { applyFlagOptions, commandMetadata } from './flag-options.js';
import { BuildSystemError } from '../errors.js';
import { CacheService } from '../services/cache.service.js';
import { formatSize, parseAge, parseSize } from './cache-flags.js';
import { failCommand } from './errors-output.js';
import { UsageExitCommand } from './usage-exit.js';

/** Errors of a cache command: one line each on stderr, `{ error }` on stdout under --json. */
function fail(e: unknown, json: boolean | undefined): void {
  failCommand(e, json ? {} : undefined);
}

/** "2 no-op records, 1 TypeScript snapshot file": what kinds of other files a prune removed. */
function otherKinds(files: readonly { kind: string }[]): string {
  const names: Record<string, string> = { 'noop-record': 'no-op record files', 'config-evaluation': 'config evaluations', 'tsc-snapshot': 'TypeScript snapshot files' };
  const counts = new Map<string, number>();
  for (const f of files) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${names[kind] ?? kind}`).join(', ');
}

@SubCommand(commandMetadata(CACHE_PRUNE_COMMAND))
export class CachePruneCommand extends UsageExitCommand {
  constructor(@Inject(CacheService) private readonly caches: CacheService) {
    super();
  }

  async run(_args: string[], flags: CachePruneFlags): Promise<void> {
    try {
      const maxSizeBytes = flags.maxSize !== undefined ? parseSize('--max-size', flags.maxSize) : undefined;
      const maxAgeMs = flags.maxAge !== undefined ? parseAge('--max-age', flags.maxAge) : undefined;
      const report = await this.caches.prune({ cwd: flags.cwd, cacheDir: flags.cacheDir, maxSizeBytes, maxAgeMs });
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        const freed = report.removed.reduce((n, e) => n + e.bytes, 0);
        process.stdout.write(`${report.dir}: removed ${report.removed.length} entries (${formatSize(freed)}); ${report.kept} left (${formatSize(report.bytes)})\n`);
        if (report.removedOther.length > 0) {
          const otherFreed = report.removedOther.reduce((n, f) => n + f.bytes, 0);
          process.stdout.write(`also removed ${report.removedOther.length} other files (${formatSize(otherFreed)}): ${otherKinds(report.removedOther)}\n`);
        }
      }
      process.exitCode = 0;
    } catch (e) {
      fail(e, flags.json);
    }
  }
}

@SubCommand(commandMetadata(CACHE_INFO_COMMAND))
export class CacheInfoCommand extends UsageExitCommand {
  constructor(@Inject(CacheService) private readonly caches: CacheService) {
    super();
  }

  async run(_args: string[], flags: CacheInfoFlags): Promise<void> {
    try {
      const info = await this.caches.info({ cwd: flags.cwd, cacheDir: flags.cacheDir });
      if (flags.json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      else {
        process.stdout.write(`${info.dir}: ${info.entries} entries, ${formatSize(info.bytes)}\n`);
        if (info.oldestUse) process.stdout.write(`last used: oldest ${info.oldestUse}, newest ${info.newestUse}\n`);
        for (const p of info.packages) process.stdout.write(`  ${p.name}: ${p.entries} entries, ${formatSize(p.bytes)}\n`);
        const { noopRecords: n, configEvaluations: c, tscSnapshots: t } = info.other;
        process.stdout.write(`besides entries: no-op records ${n.files} files (${formatSize(n.bytes)}), config evaluations ${c.files} (${formatSize(c.bytes)}), TypeScript snapshots ${t.files} (${formatSize(t.bytes)})\n`);
      }
      process.exitCode = 0;
    } catch (e) {
      fail(e, flags.json);
    }
  }
}

@Command({ ...commandMetadata(CACHE_COMMAND), subCommands: [CachePruneCommand, CacheInfoCommand] })
export class CacheCommand extends UsageExitCommand {
  async run(args: string[]): Promise<void> {
    const message = args.length ? `unknown cache subcommand ${JSON.stringify(args[0])}` : 'missing subcommand';
    const e = new BuildSystemError('USAGE', `${message}; use: build-system cache prune [--max-size <size>] [--max-age <age>] | cache info`, { field: 'cache' });
    fail(e, false);
  }
}

// The options: one generated method per row of each subcommand's flag table (cli/commands.ts).
applyFlagOptions(CachePruneCommand, CACHE_PRUNE_COMMAND.flags);
applyFlagOptions(CacheInfoCommand, CACHE_INFO_COMMAND.flags);
