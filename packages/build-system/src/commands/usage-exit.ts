import type { Command } from 'commander';
import { CommandRunner } from 'nest-commander';

/**
 * nest-commander builds each subcommand with `new Command()`, which does not
 * inherit the root's exitOverride; without this, an unknown option on a
 * subcommand would exit 1 (the code for a failed build) instead of 2.
 */
export abstract class UsageExitCommand extends CommandRunner {
  override setCommand(command: Command): this {
    command.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
    return super.setCommand(command);
  }
}
