import { z } from 'zod';
import { ADAPTER_NAMES } from './config/schema.js';
import { OUTPUT_LOGS_MODES } from './cache/output-logs.js';

/**
 * What a build (or plan, or watch) is asked to do: the one shape the CLI
 * (commands/build-run.ts, from the flag table), the programmatic API (index.ts
 * build()/watch()) and the watch service all produce, and the services take.
 * Data only: callbacks and the abort signal travel beside it, not in it, so a
 * request can be parsed, compared and logged.
 */
const remoteCacheSchema = z.strictObject({
  url: z.string().optional(),
  token: z.string().optional(),
  team: z.string().optional(),
  readOnly: z.boolean().optional(),
  signatureKey: z.string().optional(),
  connectTimeoutMs: z.number().positive().optional(),
  idleTimeoutMs: z.number().positive().optional(),
  requestTimeoutMs: z.number().positive().optional(),
  maxArtifactBytes: z.number().positive().optional(),
});

export const buildRequestSchema = z.strictObject({
  /** Directory to act from: a package, or a workspace root (default process.cwd()). */
  cwd: z.string().optional(),
  /** Package names or directories; default: what cwd implies. */
  packages: z.array(z.string()).optional(),
  /** turbo-style filters (the CLI's --filter). */
  filter: z.array(z.string()).optional(),
  all: z.boolean().optional(),
  concurrency: z.number().int().positive().optional(),
  bail: z.boolean().optional(),
  dryRun: z.boolean().optional(),
  adapter: z.enum(ADAPTER_NAMES).optional(),
  /** Wait at most this long for another process's lock (ms); 0 fails at once. */
  lockTimeoutMs: z.number().nonnegative().optional(),
  /** How long a lock's heartbeat may be silent before a waiter takes the lock over (ms; lock.ts staleMs). */
  staleLockMs: z.number().positive().optional(),
  force: z.boolean().optional(),
  strict: z.boolean().optional(),
  noCache: z.boolean().optional(),
  cacheDir: z.string().optional(),
  outputLogs: z.enum(OUTPUT_LOGS_MODES).optional(),
  cacheLimits: z.strictObject({ maxSizeBytes: z.number().nonnegative().optional(), maxAgeMs: z.number().nonnegative().optional() }).optional(),
  /** Unset: from env; false: off whatever env says. */
  remoteCache: z.union([remoteCacheSchema, z.literal(false)]).optional(),
});

export type BuildRequest = z.infer<typeof buildRequestSchema>;
