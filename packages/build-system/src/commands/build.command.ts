import { Inject } from '@nestjs/common';
import { Command, Option } from 'nest-commander';
import { UsageExitCommand } from './usage-exit.js';
import { ADAPTER_NAMES, type AdapterName } from '../config/schema.js';
import { BuildSystemError } from '../errors.js';
import { WorkspaceBuildService, runError } from '../services/workspace.service.js';
import { LineReporter } from './reporter.js';
import { parseSeconds } from './flags.js';

interface BuildFlags {
  json?: boolean;
  adapter?: string;
  cwd?: string;
  lockTimeout?: string;
}

@Command({
  name: 'build:package',
  aliases: ['build'],
  arguments: '[packages...]',
  argsDescription: { packages: 'package names or directories (default: the package in --cwd, or every configured package at a workspace root)' },
  description: 'Build packages (and the workspace packages they depend on) into their outDir',
})
export class BuildCommand extends UsageExitCommand {
  constructor(@Inject(WorkspaceBuildService) private readonly builds: WorkspaceBuildService) {
    super();
  }

  async run(packages: string[], flags: BuildFlags): Promise<void> {
    const reporter = new LineReporter(Boolean(flags.json));
    const started = Date.now();
    let adapter: AdapterName | undefined;
    let lockTimeoutMs: number | undefined;
    try {
      if (flags.adapter !== undefined) {
        if (!(ADAPTER_NAMES as readonly string[]).includes(flags.adapter)) {
          throw new BuildSystemError('USAGE', `must be one of ${ADAPTER_NAMES.join(', ')} (got ${JSON.stringify(flags.adapter)})`, { field: '--adapter' });
        }
        adapter = flags.adapter as AdapterName;
      }
      if (flags.lockTimeout !== undefined) lockTimeoutMs = parseSeconds('--lock-timeout', flags.lockTimeout) * 1000;
    } catch (e) {
      const run = runError(new Date(started).toISOString(), started, e);
      reporter.printRun(run);
      process.exitCode = run.exitCode;
      return;
    }
    const controller = new AbortController();
    const run = await this.builds.run({
      cwd: flags.cwd,
      packages,
      adapter,
      lockTimeoutMs,
      signal: controller.signal,
      onEvent: reporter.onEvent,
      command: ['build-system', ...process.argv.slice(2)].join(' '),
    });
    reporter.printRun(run);
    process.exitCode = run.exitCode;
  }

  @Option({ flags: '--json', description: 'print one JSON document (every BuildResult) on stdout; logs go to stderr' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--adapter <name>', description: `use this adapter instead of the config's (${ADAPTER_NAMES.join(', ')})` })
  parseAdapter(value: string): string {
    return value;
  }

  @Option({ flags: '--cwd <dir>', description: 'run as if started in <dir>' })
  parseCwd(value: string): string {
    return value;
  }

  @Option({ flags: '--lock-timeout <seconds>', description: "how long to wait for another process's lock on a package (default 300; 0 = fail at once)" })
  parseLockTimeout(value: string): string {
    return value;
  }
}
