import type { TscWorkerRequest } from './tsc-worker.js';

/**
 * What tsc-snapshot.ts (the main thread) and tsc-snapshot-entry.ts (the
 * snapshot's process) say to each other. Its own module because neither side
 * may import the other: the entry is bundled alone into the snapshot, and the
 * main thread must not load the worker entry the entry imports.
 */

/** Starts the stdout line that carries a snapshot process's reply (JSON TscWorkerReply). */
export const REPLY_PREFIX = '\u0000build-system-tsc-snapshot-reply ';

/** What the builder is told (environment variable BUILD_SYSTEM_TSC_SNAPSHOT_WARM, JSON). */
export interface SnapshotWarmRequest {
  tsFile: string;
  /** The first job's command line: compiled without emit to parse and bind its declaration files. */
  request: TscWorkerRequest;
  /** Where the builder writes the cached files' names and stamps (JSON [name, stamp][]). */
  filesOut: string;
}
