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
      // commander signals help/version with exitCode 0; everything else it reports is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      throw err;
    },
    serviceErrorHandler: (err: Error) => {
      process.stderr.write(`build-system: internal error: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  }).catch((err: Error & { exitCode?: number }) => {
    if (typeof err.exitCode === 'number') return;
    process.stderr.write(`build-system: ${err.message}\n`);
    process.exitCode = 1;
  });
}
