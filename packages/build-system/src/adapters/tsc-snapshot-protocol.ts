import type { TscWorkerRequest } from './tsc-worker.js';

/**
 * What tsc-snapshot.ts (the main thread) and tsc-snapshot-entry.ts (the
 * snapshot's process) say to each other. Its own module because neither side
 * may import the other: the entry is bundled alone into the snapshot, and the
 * main thread must not load the worker entry the entry imports.
 */

/** Starts the stdout line that carries a snapshot process's reply (JSON TscWorkerReply). */
export const REPLY_PREFIX = '\u0000build-system-tsc-snapshot-reply ';

/**
 * The last argument of a process started before its job is known (a prewarmed one): it reads the
 * request (JSON TscWorkerRequest) from stdin, moves to the request's cwd, and compiles it; an empty
 * stdin means it was not needed and it exits.
 */
// No leading dash: a process started with --snapshot-blob has no script argument, so Node would read a
// trailing '--flag' as one of its own options and refuse to start (exit 9, "bad option").
export const STDIN_ARG = 'request-on-stdin';

/** What the builder is told (environment variable BUILD_SYSTEM_TSC_SNAPSHOT_WARM, JSON). */
export interface SnapshotWarmRequest {
  tsFile: string;
  /** The first job's command line: compiled without emit to parse and bind its declaration files. */
  request: TscWorkerRequest;
  /** Where the builder writes the cached files' names and stamps (JSON [name, stamp][]). */
  filesOut: string;
}
