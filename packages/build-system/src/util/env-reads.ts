import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which env vars code reads while it runs on a package's behalf: a plugin's
 * `setup` and callbacks, which run during the build, long after the config
 * that holds them was evaluated (config/guarded-evaluation.ts tracks that
 * evaluation only). A plugin that inlines `process.env.API_URL` into a
 * virtual module makes the output depend on it, and nothing else says so.
 *
 * `process.env` is replaced once, for the life of the process, by a proxy
 * that passes everything through and, inside a `withEnvReads` scope, notes
 * the names asked for. The scope is an AsyncLocalStorage, so packages
 * building at once in this process each get their own reads, continuations
 * included. Installed before a config evaluation swaps in its own proxy
 * (which wraps this one and puts it back), so neither loses the other.
 */

const scope = new AsyncLocalStorage<Set<string>>();
let installed: NodeJS.ProcessEnv | undefined;

function note(key: string | symbol): void {
  if (typeof key === 'string') scope.getStore()?.add(key);
}

/** Puts the tracking proxy in place (once; again if someone replaced process.env since). */
export function ensureEnvTracking(): void {
  if (installed !== undefined && process.env === installed) return;
  installed = new Proxy(process.env, {
    get(target, key) {
      note(key);
      return Reflect.get(target, key);
    },
    has(target, key) {
      note(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      note(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    // Listing the environment (`{ ...process.env }`) reads every variable: each name is noted.
    ownKeys(target) {
      const keys = Reflect.ownKeys(target);
      for (const key of keys) note(key);
      return keys;
    },
    // Writes go to the real object itself (receiver included): Node's env accepts only whole data
    // descriptors, and the default [[Set]] through a proxy defines a partial one on the receiver.
    set(target, key, value) {
      return Reflect.set(target, key, value);
    },
  });
  process.env = installed;
}

/** Runs `fn` (and whatever it schedules) with the env vars it reads noted in `sink`. */
export function withEnvReads<T>(sink: Set<string>, fn: () => T): T {
  ensureEnvTracking();
  return scope.run(sink, fn);
}
