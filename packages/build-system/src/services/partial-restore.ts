import path from 'node:path';
import type { RecordedPackage } from '../cache/noop/record.js';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { listFiles } from '../cache/package-cache.js';
import { LocalCacheStore } from '../cache/store.js';
import { acquirePackageLock, type PackageLock } from '../lock.js';
import type { BuildResult } from '../result/schema.js';
import { removeLeftovers } from '../util/atomic-dir.js';
import { monotonicMs } from '../util/clock.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { PartialPlan } from './partial-run.js';
import type { RunOptions } from './plan.js';
import { emitRecorded } from './recorded-events.js';
import { restoreThroughStaging } from './package-build/hit.js';
import { buildLockOptions } from './build.service.js';

/**
 * A partial run's packages whose only changes are their own outputs (PartialPlan.restorable): `rm -rf
 * dist`, a CI job that restored the cache but not the outputs, a hand edit of a built file. Nothing they
 * read changed (the record's check proved every other path), so the cache entry their recorded result
 * names is still the one a build would find: it is put back as a hit restores one (under the package
 * lock, any interrupted swap finished first, every blob's sha256 verified into a staging directory, the
 * same atomic swap), without loading the config, walking the inputs or computing the key.
 *
 * A package is restored only when its outDir holds nothing but files of that entry (else the normal
 * path decides what to keep), the entry is there and intact, and its artifacts are the recorded ones.
 * Otherwise it joins the plan's dirty packages and is built as any changed package, which also makes
 * the packages that read its outputs check them (watch-reuse.ts).
 */
export async function restoreRecordedOutputs(
  plan: PartialPlan,
  packages: ReadonlyMap<string, PackageInfo>,
  options: RunOptions,
  concurrency: number,
  origin: number,
): Promise<{ restored: Map<string, BuildResult>; timeline: { name: string; startMs: number; endMs: number }[] }> {
  const done = new Map<string, { result: BuildResult; recorded: RecordedPackage; startMs: number; endMs: number }>();
  const queue = [...plan.restorable];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [name, recorded] = next;
      const startMs = monotonicMs() - origin;
      const result = await restoreOne(packages.get(name)!, recorded, options).catch(() => null);
      if (result) done.set(name, { result, recorded, startMs, endMs: monotonicMs() - origin });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  // One that could not be restored is built; whatever it reaches that was restored is checked after it, as any
  // package a changed one reaches (its restored outputs were made from the recorded build of that one).
  const failed = [...plan.restorable.keys()].filter((name) => !done.has(name));
  for (const name of [...failed, ...[...plan.reachedFrom(failed)].filter((n) => done.has(n))]) {
    done.delete(name);
    plan.dirty.add(name);
  }
  const restored = new Map<string, BuildResult>();
  const timeline: { name: string; startMs: number; endMs: number }[] = [];
  const logs = (options.outputLogs ?? 'full') === 'full';
  for (const [name, { result, recorded, startMs, endMs }] of done) {
    plan.affected.delete(name);
    const emitted = emitRecorded({ result, logs: recorded.logs }, (e) => options.onEvent?.(e), logs, () => monotonicMs() - origin);
    emitted.durationMs = Math.round(endMs - startMs);
    restored.set(name, emitted);
    timeline.push({ name, startMs, endMs });
  }
  return { restored, timeline };
}

/** One package's recorded outputs put back from its cache entry; null when that cannot be done as described above. */
async function restoreOne(pkg: PackageInfo, recorded: RecordedPackage, options: RunOptions): Promise<BuildResult | null> {
  const { result } = recorded;
  const key = result.cache.key;
  if (!result.outDir || typeof key !== 'string' || options.signal?.aborted) return null;
  const store = new LocalCacheStore(resolveCacheDir(pkg.workspaceRoot, options.cacheDir));
  const lookup = await store.get(key);
  if (lookup.status !== 'hit') return null;
  const { manifest, restore } = lookup.hit;
  const artifacts = (list: readonly { path: string; sha256: string; bytes: number }[]) =>
    list
      .map((a) => `${a.path}\0${a.sha256}\0${a.bytes}`)
      .sort()
      .join('\n');
  if (manifest.outDir !== result.outDir || artifacts(manifest.artifacts) !== artifacts(result.artifacts)) return null;

  let lock: PackageLock;
  try {
    lock = await acquirePackageLock(pkg, { ...buildLockOptions(options, options.signal), brief: true });
  } catch {
    // Busy past the timeout, or cancelled: the normal path waits, reports or skips it as it always does.
    return null;
  }
  try {
    await removeLeftovers(pkg.dir, result.outDir);
    const expected = new Set(result.artifacts.map((a) => a.path));
    const present = listFiles(path.resolve(pkg.dir, result.outDir)) ?? [];
    if (present.some((rel) => !expected.has(`${result.outDir}/${rel}`))) return null;
    // Nothing but the entry's files is there: nothing stale to keep or drop. A corrupt entry: built instead.
    if ((await restoreThroughStaging(pkg.dir, result.outDir, true, restore, () => lock.assertHeld())) !== null) return null;
  } finally {
    await lock.release();
  }
  // Its directory's listing as it is now, for the record this run writes (its outDir came back).
  options.reads?.list(pkg.dir);
  return { ...result, cache: { ...result.cache, status: 'hit', source: 'local', restored: true } };
}
