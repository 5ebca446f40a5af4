import { statSync } from 'node:fs';
import path from 'node:path';
import type * as Esbuild from 'esbuild';
import type { Plugin as RollupPlugin } from 'rollup';
import { withEnvReads } from '../util/env-reads.js';
import type { AdapterOutput } from './types.js';

/**
 * What a config's plugins read on their own. A plugin that loads a virtual
 * module (`virtual:routes`, a namespace of its own) from files it opens
 * itself is invisible to the metafile: its inputs list the virtual path,
 * not the files. esbuild's own contract for this is the
 * `watchFiles`/`watchDirs` of an onResolve or onLoad result (what its watch
 * mode rebuilds on), so those are the plugin's reads here too: a file is
 * keyed on its content, a directory on its names, a path that does not
 * exist on staying absent. (rollup's `addWatchFile` lands in the bundle's
 * watchFiles, which the rollup adapter reports.) A plugin that opens files
 * without naming them is as stale here as in esbuild's watch mode (research
 * §16).
 *
 * Env vars are different: nobody declares them, so every env var a plugin's
 * code reads while it runs (esbuild: `setup` and its callbacks; rollup: its
 * hooks) is noted (util/env-reads.ts) and keyed on its value.
 */
export interface PluginReads {
  /** Files that exist (absolute). */
  files: Set<string>;
  /** Directories that exist (absolute): keyed on their names. */
  dirs: Set<string>;
  /** Paths a plugin named that do not exist: keyed on staying absent. */
  absent: Set<string>;
  /** Env vars plugin code read. */
  env: Set<string>;
}

export const newPluginReads = (): PluginReads => ({ files: new Set(), dirs: new Set(), absent: new Set(), env: new Set() });

/** What plugins read, as an adapter reports it (its `reads` take the files). */
export function pluginOutput(all: readonly PluginReads[]): Pick<AdapterOutput, 'dirReads' | 'absentReads' | 'envReads'> {
  const merged = (pick: (r: PluginReads) => Set<string>) => [...new Set(all.flatMap((r) => [...pick(r)]))];
  return { dirReads: merged((r) => r.dirs), absentReads: merged((r) => r.absent), envReads: merged((r) => r.env) };
}

type Callback<A, R> = (args: A) => R | null | undefined | Promise<R | null | undefined>;

/**
 * The esbuild plugins, each with its `setup` given a build whose
 * onResolve/onLoad callbacks report what their results name, and whose
 * callbacks (onStart and onEnd too) run, as setup does, with their env reads
 * noted. Everything else the plugin does
 * with the build is passed through untouched.
 */
export function observeEsbuildPlugins(plugins: readonly Esbuild.Plugin[], workDir: string, sink: PluginReads): Esbuild.Plugin[] {
  const note = (result: { watchFiles?: string[]; watchDirs?: string[] } | null | undefined) => {
    if (!result) return;
    for (const p of [...(result.watchFiles ?? []), ...(result.watchDirs ?? [])]) {
      if (typeof p !== 'string' || p === '') continue;
      const abs = path.resolve(workDir, p);
      const st = statSync(abs, { throwIfNoEntry: false });
      (st ? (st.isDirectory() ? sink.dirs : sink.files) : sink.absent).add(abs);
    }
  };
  const observed = <A, R extends { watchFiles?: string[]; watchDirs?: string[] }>(callback: Callback<A, R>): Callback<A, R> => {
    return (args) => {
      const result = withEnvReads(sink.env, () => callback(args));
      if (result instanceof Promise) return result.then((r) => (note(r), r));
      note(result);
      return result;
    };
  };
  return plugins.map((plugin) => ({
    ...plugin,
    setup(build) {
      const wrapped: Esbuild.PluginBuild = {
        ...build,
        onResolve: (options, callback) => build.onResolve(options, observed(callback)),
        onLoad: (options, callback) => build.onLoad(options, observed(callback)),
        // What onStart reads may reach the output through a later callback (a value kept in the closure).
        onStart: (callback) => build.onStart(() => withEnvReads(sink.env, callback)),
        onEnd: (callback) => build.onEnd((result) => withEnvReads(sink.env, () => callback(result))),
      };
      return withEnvReads(sink.env, () => plugin.setup(wrapped));
    },
  }));
}

/**
 * The rollup plugins, each hook (a function, or an object hook's `handler`)
 * run with its env reads noted; `this` and the arguments pass through.
 * `api`, which other plugins call, is left as it is.
 */
export function observeRollupPlugins(plugins: readonly RollupPlugin[], sink: PluginReads): RollupPlugin[] {
  const wrap = (fn: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      return withEnvReads(sink.env, () => fn.apply(this, args));
    };
  return plugins.map((plugin) => {
    const out: Record<string, unknown> = { ...plugin };
    for (const [key, hook] of Object.entries(plugin)) {
      if (key === 'api') continue;
      if (typeof hook === 'function') out[key] = wrap(hook as (...args: unknown[]) => unknown);
      else if (typeof hook === 'object' && hook !== null && typeof (hook as { handler?: unknown }).handler === 'function') {
        out[key] = { ...hook, handler: wrap((hook as { handler: (...args: unknown[]) => unknown }).handler) };
      }
    }
    return out as unknown as RollupPlugin;
  });
}
