/**
 * Running a config's code: a config is a program, and build-system must
 * survive what a program can do while it is evaluated, and know what it read.
 *
 * - Env reads are tracked: while a config module evaluates, `process.env` is
 *   a proxy that records every variable name it is asked for (and refuses a
 *   no-op record when the whole environment is listed or changed), so the
 *   CLI's no-op replay checks exactly those variables. A config that keeps a
 *   reference and reads it later (a plugin at build time) is still seen: the
 *   proxy outlives the evaluation and reports late reads as unrecordable.
 * - `process.exit()` during evaluation throws a ConfigExitError instead of
 *   ending the process (it used to end a build with exit 0 and no output).
 * - An evaluation that never settles (a top-level await on a promise nothing
 *   resolves) fails after a timeout instead of leaving a process that exits 0
 *   once its event loop is empty.
 *
 * Evaluations run one at a time (only the module evaluation; bundling stays
 * concurrent): `process.env` and `process.exit` are process-wide, so only one
 * config may see the tracked ones at a time, and what is read belongs to it.
 */

import { ensureEnvTracking, envReadProxy } from '../util/env-reads.js';

/** What one config evaluation read besides its files, and why it cannot be recorded for replay. */
export interface EvaluationSink {
  env: Set<string>;
  refused: string | null;
  /** Called for what the config does after its evaluation ended (a late env read): too late to key anything on. */
  late(reason: string): void;
}

export class ConfigExitError extends Error {
  constructor(readonly code: string | number | null | undefined) {
    super(`called process.exit(${code ?? ''})`);
    this.name = 'ConfigExitError';
  }
}

export class ConfigTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`did not finish evaluating within ${timeoutMs / 1000} s (a top-level await that never settles? a slow one may raise BUILD_SYSTEM_CONFIG_TIMEOUT_MS)`);
    this.name = 'ConfigTimeoutError';
  }
}

/** How long one config may take to evaluate; BUILD_SYSTEM_CONFIG_TIMEOUT_MS overrides. */
export function configTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BUILD_SYSTEM_CONFIG_TIMEOUT_MS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 30_000;
}

let queue: Promise<unknown> = Promise.resolve();

function trackedEnv(real: NodeJS.ProcessEnv, sink: EvaluationSink, isOpen: () => boolean): NodeJS.ProcessEnv {
  const note = (key: string | symbol) => {
    if (typeof key !== 'string') return;
    if (isOpen()) sink.env.add(key);
    else sink.late(`a config read process.env.${key} after it was evaluated`);
  };
  const refuse = (why: string) => {
    if (isOpen()) sink.refused ??= why;
    else sink.late(why);
  };
  return envReadProxy(real, note, {
    ownKeys(target) {
      refuse('a config lists every environment variable');
      return Reflect.ownKeys(target);
    },
    set(target, key, value) {
      refuse(`a config sets process.env.${String(key)}`);
      return Reflect.set(target, key, value);
    },
    deleteProperty(target, key) {
      refuse(`a config deletes process.env.${String(key)}`);
      return Reflect.deleteProperty(target, key);
    },
    defineProperty(target, key, descriptor) {
      refuse(`a config defines process.env.${String(key)}`);
      return Reflect.defineProperty(target, key, descriptor);
    },
  });
}

/**
 * Runs `evaluate` (a config module's import) with env tracking, the exit guard
 * and the timeout, after any evaluation already running.
 */
export function guardedEvaluation<T>(evaluate: () => Promise<T>, sink: EvaluationSink, timeoutMs = configTimeoutMs()): Promise<T> {
  const run = async (): Promise<T> => {
    // Under this evaluation's proxy, so a plugin's env tracking (util/env-reads.ts) is what it puts back.
    ensureEnvTracking();
    const realEnv = process.env;
    const realExit = process.exit;
    let open = true;
    process.env = trackedEnv(realEnv, sink, () => open);
    process.exit = ((code?: string | number | null) => {
      throw new ConfigExitError(code);
    }) as typeof process.exit;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        evaluate(),
        new Promise<never>((_, reject) => {
          // Not unref'd: this timer is what keeps the process alive to report a config that never settles.
          timer = setTimeout(() => reject(new ConfigTimeoutError(timeoutMs)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      open = false;
      process.env = realEnv;
      process.exit = realExit;
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => {});
  return result;
}
