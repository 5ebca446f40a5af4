import path from 'node:path';
import { configFileInStack } from '../config/bundle-url.js';
import { toPosix } from '../util/paths.js';

/**
 * A CLI build must never end silently. Config code runs in this process, and
 * what it schedules outlives its evaluation: a `process.exit(0)` from a timer
 * used to end the run with exit 0 and nothing printed, and an error thrown
 * from a timer or a rejected promise crashed it with a bare stack. While a run
 * is guarded:
 * - an exit before the run finished is reported, and exits 2 (a usage/config
 *   failure), never 0;
 * - an uncaught error is reported in one line naming the config it came from
 *   (exit 2), or as an internal error (exit 1). Locks are released by their
 *   own exit hooks (lock.ts).
 */
export function guardRun(): { finish(): void } {
  let finished = false;
  // The real one: while a config evaluates, process.exit throws (config/guarded-evaluation.ts).
  const exit = process.exit.bind(process);
  const where = (stack: string) => {
    const file = configFileInStack(stack);
    return file ? toPosix(path.relative(process.cwd(), file)) || file : null;
  };
  const onExit = (code: number) => {
    if (finished) return;
    finished = true;
    process.stderr.write(`build-system: error CONFIG_LOAD: the process was ended (process.exit(${code})) before the build finished; a config or a plugin must not exit the process\n`);
    if (!code) process.exitCode = 2;
  };
  const onCrash = (error: unknown) => {
    if (finished) return;
    finished = true;
    const err = error instanceof Error ? error : new Error(String(error));
    const config = where(err.stack ?? '');
    if (config) {
      const what = err.name === 'ConfigExitError' ? err.message : `threw ${err.name}: ${err.message}`;
      process.stderr.write(`build-system: error CONFIG_LOAD: ${config}: the config ${what} from a timer or a promise; a config must only compute and export its settings\n`);
      exit(2);
    }
    process.stderr.write(`build-system: internal error: ${err.stack ?? err.message}\n`);
    exit(1);
  };
  process.on('exit', onExit);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return {
    finish() {
      finished = true;
      process.off('exit', onExit);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    },
  };
}
