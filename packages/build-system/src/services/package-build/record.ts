import { statSync } from 'node:fs';
import path from 'node:path';
import { entryKey, recordBuildReads, type RecordedReads } from '../../cache/build-reads.js';
import type { LogLine } from '../../cache/store.js';
import type { RemoteCacheSession } from '../../cache/remote/session.js';
import type { Artifact, CacheInfo, Diagnostic } from '../../result/schema.js';
import type { CacheMiss, PreparedPackage, ResultBase } from './context.js';
import { CACHE_DIAGNOSTIC, cacheWarning } from './diagnostics.js';
import type { ToolRun } from './build-step.js';

/** A miss's entry once the build's reads are recorded: its full key (fingerprint + reads). */
export interface NewEntry {
  miss: CacheMiss;
  key: string;
  reads: RecordedReads;
}

/**
 * Step "store" (the first half of "record"): the second half of the key
 * (what the tools read beyond the fingerprint's files, checked for changes
 * during the build), then the entry stored from staging before the swap,
 * while nothing but this build writes there. Null (and the miss finished)
 * when the build cannot be cached; problems are cache warnings in
 * `run.diagnostics`. Returns the result's cache info as it now stands.
 */
export async function storeEntryStep(input: {
  prepared: PreparedPackage;
  miss: CacheMiss;
  run: ToolRun;
  staging: string;
  /** Files validation looked at: they are reads of the build too. */
  checked: { present: readonly string[]; absent: readonly string[] };
  base: ResultBase;
  logs: LogLine[];
  durationMs: () => number;
}): Promise<{ entry: NewEntry | null; cacheInfo: CacheInfo }> {
  const { prepared, miss, run, staging, base } = input;
  const { pkg, config, choice } = prepared;
  const toolReads = run.outputs.map((o) => o.reads);
  const recorded = toolReads.some((r) => r === null)
    ? { problem: `${choice.adapter.name} ${choice.tool.version} did not report which files it read` }
    : await recordBuildReads({
        pkg,
        adapter: choice.adapter.name,
        declarations: config.dts && choice.adapter.name !== 'tsc',
        toolReads: toolReads.flatMap((r) => r!),
        toolAbsent: run.outputs.flatMap((o) => o.absentReads ?? []),
        toolDirs: run.outputs.flatMap((o) => o.dirReads ?? []),
        toolEnv: run.outputs.flatMap((o) => o.envReads ?? []),
        staticInputs: miss.current.inputFiles,
        excludeDirs: [miss.cache.store.dir, staging],
        outDir: path.resolve(pkg.dir, config.outDir),
        configInclude: config.include,
        hasher: miss.cache.hasher,
        startedCtimeMs: run.toolStartedCtimeMs,
        // Read by a fixed name, like the files validation looked at: by content, not by directory.
        checked: { present: [...input.checked.present, ...run.outputs.flatMap((o) => o.fixedReads ?? [])], absent: input.checked.absent },
      });
  if ('problem' in recorded) {
    run.diagnostics.push(cacheWarning(`not cached: ${recorded.problem}`));
    await miss.cache.finish(null);
    return { entry: null, cacheInfo: { ...base.cache, key: null } };
  }
  const entry: NewEntry = { miss, key: entryKey(miss.current.primaryKey, recorded.reads), reads: recorded.reads };
  const problem = await miss.cache.save(
    {
      key: entry.key,
      primaryKey: miss.current.primaryKey,
      package: { name: pkg.name, dir: pkg.dir },
      outDir: config.outDir,
      fingerprint: miss.current.fingerprint,
      reads: entry.reads,
      adapter: { name: choice.adapter.name, version: choice.tool.version, reason: choice.reason },
      durationMs: input.durationMs(),
      artifacts: await withModes(run.artifacts, config.outDir, staging),
      diagnostics: run.diagnostics.filter((d) => d.code !== CACHE_DIAGNOSTIC),
      logs: input.logs,
    },
    staging,
    { replace: miss.replace },
  );
  if (problem) run.diagnostics.push(cacheWarning(problem));
  return { entry, cacheInfo: { ...base.cache, key: entry.key } };
}

/**
 * Step "record" (after the swap): the outputs remembered for the next run's
 * in-place hit, the entry recorded as the package's latest (its history),
 * and queued for upload. Not awaited: the upload runs while other packages
 * build; the run waits for it before it ends.
 */
export async function recordStep(
  entry: NewEntry,
  input: { outDir: string; emitted: boolean; artifacts: readonly Artifact[]; diagnostics: Diagnostic[]; remoteSession?: RemoteCacheSession },
): Promise<void> {
  const { miss } = entry;
  if (input.emitted) await miss.cache.rememberOutputs(input.outDir, input.artifacts);
  const problem = await miss.cache.finish({ key: entry.key, fingerprint: miss.current.fingerprint, reads: entry.reads });
  if (problem) input.diagnostics.push(cacheWarning(problem));
  input.remoteSession?.enqueueUpload({ key: entry.key, cache: miss.cache });
}

/** Artifacts with their file modes in staging (bins are executable), as a cache entry records them. */
async function withModes(artifacts: readonly Artifact[], outDir: string, staging: string): Promise<(Artifact & { mode: number })[]> {
  return Promise.all(
    artifacts.map(async (a) => {
      // statSync: one tiny call per artifact, where the promise API's per-call cost is most of the work.
      const st = statSync(path.join(staging, ...a.path.slice(outDir.length + 1).split('/')));
      return { ...a, mode: st.mode & 0o777 };
    }),
  );
}
