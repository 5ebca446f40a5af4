import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { KeyState } from '../../cache/package-cache.js';
import { CacheCorruptError, type CacheManifest } from '../../cache/store.js';
import { lockDirFor } from '../../lock.js';
import type { BuildResult } from '../../result/schema.js';
import { createStagingDir, discardStaging, JOURNAL_PREFIX, swapInStaging } from '../../util/atomic-dir.js';
import { applyStrict } from '../../validate/index.js';
import type { CacheCheck, CacheMiss } from './context.js';
import { cacheWarning } from './diagnostics.js';
import { keyStep, workspaceDirs } from './key.js';

/**
 * Step "hit?" before the lock (the lock-free fast path): a hit whose files
 * are already in outDir. `result` is null when anything would have to be
 * written; `key` is the fingerprint it computed (or was given in `check.key`), for the check under the lock.
 */
export async function hitInPlaceStep(check: CacheCheck): Promise<{ result: BuildResult | null; key?: KeyState } | null> {
  const { cache, prepared, options } = check;
  // An interrupted swap is finished by the next lock holder; until then outDir is not to be trusted.
  const parent = path.dirname(path.resolve(prepared.pkg.dir, prepared.config.outDir));
  // Sync: one small listing per package costs a third of the CPU of fs/promises' round trip here (research.md "No record at all").
  const pending = listNames(parent).some((n) => n.startsWith(JOURNAL_PREFIX));
  if (pending) return null;
  const current = check.key ?? (await keyStep(cache, prepared, options));
  // A lock directory means a build is publishing, or one crashed and left it: go through the lock,
  // which waits for the first and takes over (and removes) the second. Left in place, a crashed
  // build's lock would also keep every later no-op from being recorded (cache/noop).
  if (existsSync(lockDirFor(prepared.pkg.dir))) return { result: null, key: current };
  const found = await cache.find(current.primaryKey);
  if (found.status !== 'hit' || !(await cache.outDirHolds(found.hit.manifest, prepared.config))) return { result: null, key: current };
  return { result: (await strictRefusal(check, found.hit.manifest, 'local')) ?? (await finishHit(check, current, found.hit.manifest, false)) };
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Step "hit?" under the lock: the fingerprint, then a hit (an entry built
 * from it whose recorded reads still hold; outDir already right, or restored
 * through staging + swap with every sha256 verified) or a miss with its
 * explanation. A corrupt entry is a miss with a warning, and is replaced.
 */
export async function hitUnderLockStep(
  check: CacheCheck,
  /** Throws unless the package lock is still ours; called right before a restore is published. */
  assertLockHeld: () => Promise<void>,
): Promise<{ result: BuildResult } | { miss: CacheMiss }> {
  const { cache, prepared, options, warnings } = check;
  const { pkg, config } = prepared;
  const current = check.key ?? (await keyStep(cache, prepared, options));
  if (!cache.read) return { miss: { cache, current, changes: [{ kind: 'forced' }], replace: false } };
  const found = await cache.find(current.primaryKey);
  let problem: string | null = null;
  let corruptKey: string | null = null;
  if (found.status === 'corrupt') {
    problem = found.problem;
    corruptKey = found.key;
  } else if (found.status === 'hit') {
    const { manifest } = found.hit;
    const refused = await strictRefusal(check, manifest, 'local');
    if (refused) return { result: refused };
    if (await cache.outDirHolds(manifest, config)) return { result: await finishHit(check, current, manifest, false) };
    const restoreProblem = await restoreThroughStaging(pkg.dir, config.outDir, !config.clean, found.hit.restore, assertLockHeld);
    if (restoreProblem === null) {
      await cache.rememberOutputs(config.outDir, manifest.artifacts);
      return { result: await finishHit(check, current, manifest, true) };
    }
    problem = restoreProblem;
    corruptKey = manifest.key;
  }
  const corrupt = problem === null ? null : cacheWarning(`cache entry ${corruptKey!.slice(0, 12)} is corrupt (${problem}): rebuilding and replacing it`);
  if (corrupt) warnings.push(corrupt);
  // Nothing usable locally: the remote cache, when the run has one. Its hit replaces a corrupt local entry.
  const remote = await remoteHit(check, current, problem !== null, assertLockHeld);
  if (remote) {
    // The result holds this very object: say what really happened to the corrupt entry.
    if (corrupt) corrupt.message = `cache entry ${corruptKey!.slice(0, 12)} was corrupt (${problem}): replaced by the remote cache's`;
    return { result: remote };
  }
  if (problem === null) return { miss: { cache, current, changes: await cache.explain(current, workspaceDirs(options)), replace: false } };
  return { miss: { cache, current, changes: [{ kind: 'entry-corrupt', problem }], replace: true } };
}

/**
 * A local miss looked up in the run's remote cache, by fingerprint key. A
 * verified artifact is written to the local store first, then found there
 * exactly like a local entry (its recorded reads checked against this
 * machine's files, every sha256 checked again on restore, staging + swap
 * under the lock), so there is one restore path. A refused artifact is a
 * warning and a miss.
 */
async function remoteHit(check: CacheCheck, current: KeyState, replace: boolean, assertLockHeld: () => Promise<void>): Promise<BuildResult | null> {
  const { cache, prepared, options, warnings } = check;
  const remote = options.remoteSession;
  if (!remote?.canRead) return null;
  const { pkg, config } = prepared;
  const fetched = await remote.fetchInto(current.primaryKey, cache, { replace, signal: options.signal });
  if (fetched.status !== 'miss' && fetched.warning) warnings.push(cacheWarning(fetched.warning));
  if (fetched.status !== 'hit') return null;
  const found = await cache.find(current.primaryKey);
  if (found.status !== 'hit') {
    // Stored, but built from other files than this machine has (or unreadable): build here.
    if (found.status === 'corrupt') warnings.push(cacheWarning(`remote cache artifact for ${current.primaryKey.slice(0, 12)} was stored locally but does not read back (${found.problem}); building locally`));
    return null;
  }
  const { manifest } = found.hit;
  const refused = await strictRefusal(check, manifest, 'remote');
  if (refused) return refused;
  let restored = false;
  if (!(await cache.outDirHolds(manifest, config))) {
    const restoreProblem = await restoreThroughStaging(pkg.dir, config.outDir, !config.clean, found.hit.restore, assertLockHeld);
    if (restoreProblem !== null) {
      warnings.push(cacheWarning(`remote cache artifact ${manifest.key.slice(0, 12)} could not be restored (${restoreProblem}); building locally`));
      return null;
    }
    restored = true;
    await cache.rememberOutputs(config.outDir, manifest.artifacts);
  }
  return finishHit(check, current, manifest, restored, 'remote');
}

/**
 * `--strict` and a hit whose stored diagnostics hold validation warnings:
 * the build fails as the one it replays would have, and nothing is
 * restored (outDir stays as it is). Null otherwise.
 */
async function strictRefusal(check: CacheCheck, manifest: CacheManifest, source: 'local' | 'remote'): Promise<BuildResult | null> {
  const strict = check.options.strict ? applyStrict(manifest.diagnostics) : null;
  if (!strict) return null;
  const problem = await check.cache.finish(null);
  if (problem) check.warnings.push(cacheWarning(problem));
  return {
    ...check.base,
    status: 'failed',
    durationMs: check.ctx.now() - check.started,
    cache: { status: 'hit', key: manifest.key, fingerprintKey: manifest.primaryKey, source, restored: false },
    artifacts: [],
    diagnostics: [...check.warnings, ...strict.diagnostics],
    error: strict.error,
  };
}

/** A hit whose files are in outDir: recorded as used (a problem doing so is only a warning), then its result. */
async function finishHit(check: CacheCheck, current: KeyState, manifest: CacheManifest, restored: boolean, source: 'local' | 'remote' = 'local'): Promise<BuildResult> {
  const problem = await check.cache.finish({ key: manifest.key, fingerprint: current.fingerprint, reads: manifest.reads });
  if (problem) check.warnings.push(cacheWarning(problem));
  check.options.onReads?.(check.prepared, manifest.reads, manifest.key, current);
  const { options, base, started, warnings, ctx } = check;
  // A hit replays what the original build printed: it stands in for that build.
  if ((options.outputLogs ?? 'full') === 'full') {
    for (const l of manifest.logs) ctx.emit({ type: 'log', package: base.package.name, stream: l.stream, line: l.line });
  }
  return {
    ...base,
    status: 'success',
    durationMs: ctx.now() - started,
    cache: { status: 'hit', key: manifest.key, fingerprintKey: manifest.primaryKey, source, restored },
    artifacts: manifest.artifacts.map(({ mode: _mode, ...a }) => a),
    diagnostics: [...warnings, ...manifest.diagnostics],
  };
}

/**
 * Restores an entry the way a build publishes: into a staging dir, then the
 * same atomic swap. Returns the problem when the entry turned out corrupt
 * (outDir untouched), null on success. Also the partial run's restore
 * (services/partial-restore.ts).
 */
export async function restoreThroughStaging(
  pkgDir: string,
  outDir: string,
  keepStale: boolean,
  restore: (target: string) => Promise<void>,
  assertLockHeld: () => Promise<void>,
): Promise<string | null> {
  const staging = await createStagingDir(pkgDir, outDir);
  try {
    await restore(staging);
  } catch (e) {
    await discardStaging(staging).catch(() => {});
    if (e instanceof CacheCorruptError) return e.problem;
    throw e;
  }
  try {
    // LOCK-INTEGRATION: as for a build, publish only while the lock is still ours.
    await assertLockHeld();
    await swapInStaging(pkgDir, outDir, staging, { keepStale });
  } catch (e) {
    await discardStaging(staging).catch(() => {});
    throw e;
  }
  return null;
}
