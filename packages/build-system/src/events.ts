import type { BuilderName } from './config/schema.js';
import type { BuildResult } from './result/schema.js';

/**
 * What happens during a run, as a discriminated union. The services emit;
 * loggers (human lines, JSON, a progress view) read. Nothing in the services
 * prints directly.
 */
export type BuildEvent =
  | { type: 'package-start'; package: string; dir: string }
  | { type: 'adapter-chosen'; package: string; adapter: BuilderName; version: string; reason: string }
  | { type: 'lock-wait'; package: string; message: string }
  | { type: 'log'; package: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'package-done'; result: BuildResult }
  /** A problem of the run rather than of one package (the remote cache turned off, uploads that failed); emitted once. */
  | { type: 'warning'; message: string };

export type BuildEventListener = (event: BuildEvent) => void;
