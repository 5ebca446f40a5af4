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

/**
 * A proxy of `env` that calls `onRead` with each name read (get, `in`, a descriptor), and passes the rest
 * through unless `traps` says otherwise. Writes go to the real object itself (receiver included): Node's env
 * accepts only whole data descriptors, and the default [[Set]] through a proxy defines a partial one.
 */
export function envReadProxy(env: NodeJS.ProcessEnv, onRead: (key: string | symbol) => void, traps: ProxyHandler<NodeJS.ProcessEnv> = {}): NodeJS.ProcessEnv {
  return new Proxy(env, {
    get(target, key) {
      onRead(key);
      return Reflect.get(target, key);
    },
    has(target, key) {
      onRead(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      onRead(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    set: (target, key, value) => Reflect.set(target, key, value),
    ...traps,
  });
}

/** Puts the tracking proxy in place (once; again if someone replaced process.env since). */
export function ensureEnvTracking(): void {
  if (installed !== undefined && process.env === installed) return;
  installed = envReadProxy(process.env, note, {
    // Listing the environment (`{ ...process.env }`) reads every variable: each name is noted.
    ownKeys(target) {
      const keys = Reflect.ownKeys(target);
      for (const key of keys) note(key);
      return keys;
    },
  });
  process.env = installed;
}

/** Runs `fn` (and whatever it schedules) with the env vars it reads noted in `sink`. */
export function withEnvReads<T>(sink: Set<string>, fn: () => T): T {
  ensureEnvTracking();
  return scope.run(sink, fn);
}
