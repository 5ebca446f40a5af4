/**
 * CLI bootstrap: nest-commander over BuildSystemModule. Usage errors from
 * commander (unknown command or option) exit 2; --help and --version exit 0.
 */
import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { BuildSystemModule } from './build.module.js';
import { VERSION } from './version.js';

export async function main(): Promise<void> {
  await CommandFactory.run(BuildSystemModule, {
    logger: false,
    cliName: 'build-system',
    version: VERSION,
    errorHandler: (err: Error & { exitCode?: number; code?: string }) => {
      // commander signals help/version with exitCode 0; everything else it reports (unknown
      // command or option, missing argument) is a usage error. It has already printed the message.
      process.exit(err.exitCode === 0 ? 0 : 2);
    },
    serviceErrorHandler: (err: Error) => {
      process.stderr.write(`build-system: internal error: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  });
}
