import * as z from 'zod';
import { ADAPTER_NAMES } from './config/schema.js';
import { describeZodIssues, isPlainObject } from './config/validate.js';
import { OUTPUT_LOGS_MODES } from './cache/output-logs.js';
import type { RemoteCacheOptions } from './cache/remote/config.js';
import { BuildSystemError, type ErrorIssue } from './errors.js';

/**
 * What a build (or plan, or watch) is asked to do: the one shape the CLI
 * (cli/flags-to-request.ts, from the flag table), the programmatic API
 * (create.ts checks every call's input with `checkRequest`) and the watch
 * service all produce, and the services take (services/plan.ts RunOptions is
 * a BuildRequest with its hooks beside it). Data only: callbacks, the abort
 * signal and the read log travel beside it, not in it, so a request can be
 * parsed, compared and logged. The field names are the public API's
 * (index.ts BuildOptions, the README's API section).
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
  /** Package names or directories; default: what cwd implies. Each comes with the workspace packages it depends on. */
  packages: z.array(z.string()).readonly().optional(),
  /** turbo-style filters, e.g. ['@demo/*', '...[origin/main]', '!@demo/cli'] (the CLI's --filter). */
  filter: z.array(z.string()).readonly().optional(),
  /** Also build packages without a build.config.* when an entry can be inferred from package.json. */
  all: z.boolean().optional(),
  /** Most packages built at once, spawned tools included (default: 10, or the number of cores if more). */
  concurrency: z.number().int().positive().optional(),
  /** After the first failure start nothing new (running builds finish). */
  bail: z.boolean().optional(),
  /** Return the plan (order, adapter, cache) instead of building. */
  dryRun: z.boolean().optional(),
  /** Use this adapter instead of the config's (CLI --adapter). */
  adapter: z.enum(ADAPTER_NAMES).optional(),
  /** Wait at most this long for another process's lock (ms); 0 fails at once. Default 5 minutes. */
  lockTimeoutMs: z.number().nonnegative().optional(),
  /** How long a lock's heartbeat may be silent before a waiter takes the lock over (ms; lock.ts staleMs; CLI --stale-timeout). */
  staleLockMs: z.number().positive().optional(),
  /** Build even when the cache holds the result; the new result is still stored (CLI --force). */
  force: z.boolean().optional(),
  /**
   * package.json validation warnings (codes PKG_*: a missing export target,
   * condition order, types of the wrong module kind, `files` not covering a
   * target) fail the build and nothing is swapped in (CLI --strict).
   */
  strict: z.boolean().optional(),
  /** Neither read nor write the build cache, remote included (CLI --no-cache). */
  noCache: z.boolean().optional(),
  /** Cache directory. Default: $BUILD_SYSTEM_CACHE_DIR, else <workspace root>/node_modules/.cache/build-system. */
  cacheDir: z.string().optional(),
  /** Tool output as `log` events: all of it (default), only of failed builds, or none; a cache hit replays the original build's. */
  outputLogs: z.enum(OUTPUT_LOGS_MODES).optional(),
  /** Eviction after each cache write: size cap (default 5 GiB) and age (default 30 days). */
  cacheLimits: z.strictObject({ maxSizeBytes: z.number().nonnegative().optional(), maxAgeMs: z.number().nonnegative().optional() }).optional(),
  /**
   * Remote cache over the Turborepo HTTP API (v8): consulted after a local miss, fed by uploads
   * after each build. Unset: configured from env (BUILD_SYSTEM_REMOTE_CACHE_URL / _TOKEN / _TEAM /
   * _READ_ONLY / _SIGNATURE_KEY, falling back to TURBO_API / TURBO_TOKEN / TURBO_TEAM), and off
   * without a URL. `false`: off whatever the env says. A remote failure never fails a build.
   */
  remoteCache: z.union([remoteCacheSchema, z.literal(false)]).optional(),
});

export type BuildRequest = z.infer<typeof buildRequestSchema>;

// The schema's remote options and the remote client's type must not drift apart (a compile error if they do).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const remoteOptionsMatch: Same<z.infer<typeof remoteCacheSchema>, RemoteCacheOptions> = true;
void remoteOptionsMatch;

/**
 * An API call's options checked: every key that is not one of `beside` (the
 * call's callbacks, signal and the like) must be a valid BuildRequest field.
 * A bad one is a USAGE error naming the option (one issue per problem), as a
 * bad CLI flag is; the options come back unchanged.
 */
export function checkRequest<T extends object>(options: T, beside: readonly string[]): T {
  if (!isPlainObject(options)) throw new BuildSystemError('USAGE', `options must be an object (got ${options === null ? 'null' : typeof options})`);
  const skip = new Set(beside);
  const data = Object.fromEntries(Object.entries(options).filter(([k]) => !skip.has(k)));
  const parsed = buildRequestSchema.safeParse(data);
  if (parsed.success) return options;
  // The config's own describer: field path, the value got, the name a typo meant.
  const issues: ErrorIssue[] = describeZodIssues(parsed.error.issues, data, { schema: buildRequestSchema, noun: 'option', alsoKnown: beside });
  throw new BuildSystemError('USAGE', issues[0]!.message, { field: issues[0]!.field, issues });
}
