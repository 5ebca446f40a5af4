import { statSync } from 'node:fs';
import path from 'node:path';
import type * as Esbuild from 'esbuild';

/**
 * What a config's esbuild plugins say they read. A plugin that loads a
 * virtual module (`virtual:routes`, a namespace of its own) from files it
 * opens itself is invisible to the metafile: its inputs list the virtual
 * path, not the files. esbuild's own contract for this is the
 * `watchFiles`/`watchDirs` of an onResolve or onLoad result (what its watch
 * mode rebuilds on), so those are the plugin's reads here too: a file is
 * keyed on its content, a directory on its names, a path that does not
 * exist on staying absent. A plugin that opens files without naming them
 * is as stale here as in esbuild's watch mode (research §16).
 */
export interface PluginReads {
  /** Files that exist (absolute). */
  files: Set<string>;
  /** Directories that exist (absolute): keyed on their names. */
  dirs: Set<string>;
  /** Paths a plugin named that do not exist: keyed on staying absent. */
  absent: Set<string>;
}

type Callback<A, R> = (args: A) => R | null | undefined | Promise<R | null | undefined>;

/**
 * The plugins, each with its `setup` given a build whose onResolve/onLoad
 * callbacks report what their results name. Everything else the plugin
 * does with the build is passed through untouched.
 */
export function observePlugins(plugins: readonly Esbuild.Plugin[], workDir: string, sink: PluginReads): Esbuild.Plugin[] {
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
      const result = callback(args);
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
      };
      return plugin.setup(wrapped);
    },
  }));
}
