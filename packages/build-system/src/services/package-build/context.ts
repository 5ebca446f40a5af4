import { getAdapter, type AdapterChoice, type AdapterRegistry } from '../../adapters/registry.js';
import type { BuildRequest } from '../../request.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import type { BuildEventListener } from '../../events.js';
import type { RecordedReads } from '../../cache/build-reads.js';
import type { CacheOptions, KeyState, PackageCache } from '../../cache/package-cache.js';
import type { RemoteCacheSession } from '../../cache/remote/session.js';
import type { BuildResult, CacheChange, Diagnostic } from '../../result/schema.js';
import type { ReadLog } from '../../util/read-log.js';
import type { PackageInfo } from '../../workspace/package-info.js';
import type { WorkspaceDependencyRef } from '../dependency-needs.js';

/**
 * What a build system instance is wired with (src/create.ts): where adapters
 * come from and the clock. Passed down instead of reached for, so a test can
 * run the pipeline with a fake adapter and nothing process-wide decides what
 * a run does. (The reporter is joined to each run's `onEvent` by create.ts,
 * so workspace-level events reach it too.)
 */
export interface SystemContext {
  adapters: AdapterRegistry;
  /** Milliseconds since the epoch; durations and `startedAt` come from it. */
  now(): number;
}

export const defaultSystemContext: SystemContext = { adapters: getAdapter, now: Date.now };

/** One package build's context: the system's, plus what belongs to this run (its read log, its listener). */
export interface RunContext extends SystemContext {
  reads: ReadLog;
  emit: BuildEventListener;
}

export function runContext(system: SystemContext, reads: ReadLog, onEvent: BuildEventListener | undefined): RunContext {
  return { ...system, reads, emit: onEvent ?? (() => {}) };
}

/**
 * What one package's build is given: the request's fields that bear on a
 * single package (their docs are in request.ts), and the run's own parts.
 */
export interface PackageBuildOptions extends CacheOptions, Pick<BuildRequest, 'adapter' | 'lockTimeoutMs' | 'staleLockMs' | 'strict'> {
  /**
   * The run's read log (util/read-log.ts): every input is read and hashed
   * through it, once per run, and the CLI's no-op record is derived from it.
   */
  reads: ReadLog;
  /**
   * Every workspace package this one depends on (whether or not this run
   * builds it): the fingerprint says which of them the build reads, and a
   * miss names the one whose files changed. Unknown when omitted.
   */
  workspaceDependencies?: readonly WorkspaceDependencyRef[];
  signal?: AbortSignal;
  onEvent?: BuildEventListener;
  /**
   * The recorded reads of the package's build once it ends as a hit or as a stored miss (the
   * cache entry's: complete by construction, cache/build-reads.ts), with its key's own inputs (the
   * files and directories the fingerprint hashed and listed, config `inputs` globs included) and
   * what its config's evaluation read (`prepared.configInputs`). A watch learns from them which
   * packages read files inside another package (a tsconfig `paths` alias to its sources, a config
   * importing a sibling's file, an `inputs` glob reaching into another package).
   */
  onReads?: (prepared: PreparedPackage, reads: RecordedReads, entryKey: string, key: KeyState) => void;
  /** Command line recorded in the lock owner record. */
  command?: string;
  /**
   * The run's remote cache (the workspace service opens one per run from its
   * `remoteCache` options): consulted after a local miss, and given every
   * newly stored entry to upload.
   */
  remoteSession?: RemoteCacheSession;
}

/** A package with its config loaded, checked and its adapter chosen: everything decided before anything is written. */
export interface PreparedPackage {
  pkg: PackageInfo;
  config: ResolvedConfig;
  choice: AdapterChoice;
  /** The files its config's evaluation read (the config file and what it imports), absolute. */
  configInputs: readonly string[];
}

/** A cache miss on its way to becoming a stored entry. */
export interface CacheMiss {
  cache: PackageCache;
  current: KeyState;
  changes: CacheChange[];
  /** An entry for this fingerprint was found corrupt: a new one with its key overwrites it. */
  replace: boolean;
}

export type ResultBase = Pick<BuildResult, 'schemaVersion' | 'package' | 'adapter' | 'startedAt' | 'cache' | 'outDir'>;

/** What the cache steps of one package build share; cache warnings collect in `warnings` and end up in the result. */
export interface CacheCheck {
  ctx: RunContext;
  cache: PackageCache;
  prepared: PreparedPackage;
  options: PackageBuildOptions;
  base: ResultBase;
  started: number;
  warnings: Diagnostic[];
  /** A fingerprint already computed for this build (hitInPlace's, reused under the lock): one fingerprint per package per run. */
  key: KeyState | undefined;
}
