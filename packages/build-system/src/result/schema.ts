import * as z from 'zod';
import { ADAPTER_NAMES, BUILDER_NAMES } from '../config/schema.js';

/**
 * The structured result of building one package. Every entry point (CLI
 * `--json`, programmatic API) returns exactly this shape; the JSON Schema in
 * `schema/build-result.schema.json` is generated from it.
 */

// In its own module so code that only stamps results does not evaluate the zod schemas below.
import { RESULT_SCHEMA_VERSION } from './version.js';
export { RESULT_SCHEMA_VERSION };

export const diagnosticSchema = z.strictObject({
  severity: z.enum(['error', 'warning', 'info']),
  message: z.string(),
  file: z.string().optional().describe('Relative to the package directory when inside it.'),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  code: z.string().optional().describe("The tool's own code, e.g. TS2322, or build-system's, e.g. PKG_TYPES_MASQUERADE."),
  field: z.string().optional().describe('The field inside `file` the problem is about, e.g. exports["./utils"].require.types.'),
});

export const artifactSchema = z.strictObject({
  path: z.string().describe('Relative to the package directory, forward slashes.'),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  kind: z.enum(['js', 'dts', 'map', 'other']),
});

const listed = { files: z.array(z.string()).describe('Up to 10 paths, relative to the package.'), count: z.number().int().nonnegative().describe('How many in all.') };

/** One reason a cache key differs from the package's last build (or why the cache was not used). */
export const cacheChangeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('first-build') }),
  z.strictObject({ kind: z.literal('forced') }),
  z.strictObject({ kind: z.literal('entry-missing') }).describe('Inputs equal the last build, but its entry was evicted or cleaned.'),
  z.strictObject({ kind: z.literal('entry-corrupt'), problem: z.string() }),
  z.strictObject({ kind: z.literal('fingerprint-format-changed') }),
  z.strictObject({
    kind: z.literal('tool-changed'),
    tools: z.array(z.strictObject({ name: z.string().describe('adapter | declarations | build-system | runtime'), from: z.string().nullable(), to: z.string().nullable() })),
  }),
  z.strictObject({ kind: z.literal('config-changed'), fields: z.array(z.string()).describe('Dotted config field paths.') }),
  z.strictObject({ kind: z.literal('package-json-changed'), fields: z.array(z.string()) }),
  z.strictObject({ kind: z.literal('lockfile-changed'), packages: z.array(z.string()).describe('Direct dependencies whose locked version changed; empty when only transitive entries did.') }),
  z.strictObject({ kind: z.literal('env-changed'), names: z.array(z.string()).describe('Names only, never values.') }),
  z.strictObject({ kind: z.literal('dependency-changed'), packages: z.array(z.string()).describe('Workspace packages whose outputs changed.') }),
  z.strictObject({ kind: z.literal('files-changed'), ...listed }),
  z.strictObject({ kind: z.literal('files-added'), ...listed }),
  z.strictObject({ kind: z.literal('files-removed'), ...listed }),
]);

export const cacheInfoSchema = z.strictObject({
  status: z.enum(['disabled', 'hit', 'miss', 'skipped']),
  key: z
    .string()
    .nullable()
    .describe(
      "The cache entry's key: the fingerprint's key together with what the build read outside the package (see data-model: cache key). Before an entry exists (a failed build), the fingerprint's key.",
    ),
  fingerprintKey: z.string().optional().describe('sha256 of the fingerprint alone: what the build could know before it ran, and what a remote cache stores the entry under.'),
  source: z.enum(['local', 'remote']).optional(),
  restored: z.boolean().optional().describe('On a hit: true when outputs were copied from the cache, false when outDir already held them.'),
  reason: z.string().optional().describe('Why the cache missed (or was not used), for people.'),
  changes: z.array(cacheChangeSchema).optional().describe('The same reason, structured: what differs from the last build of this package.'),
});

export const errorInfoSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  file: z.string().optional(),
  field: z.string().optional(),
});

export const buildResultSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    package: z.strictObject({ name: z.string(), dir: z.string() }),
    status: z.enum(['success', 'failed', 'skipped']),
    adapter: z.strictObject({
      name: z.enum(BUILDER_NAMES).nullable(),
      version: z.string().nullable(),
      reason: z.string().describe('Why this adapter was chosen.'),
    }),
    startedAt: z.string().describe('ISO 8601'),
    durationMs: z.number().nonnegative(),
    cache: cacheInfoSchema,
    outDir: z.string().optional().describe('Relative to the package directory.'),
    artifacts: z.array(artifactSchema),
    diagnostics: z.array(diagnosticSchema),
    logTail: z.array(z.string()).optional().describe('Last lines of the tool output, on failure.'),
    error: errorInfoSchema.optional(),
  })
  .describe('build-system result for one package');

export type BuildResult = z.infer<typeof buildResultSchema>;
export type Diagnostic = z.infer<typeof diagnosticSchema>;
export type Artifact = z.infer<typeof artifactSchema>;
export type CacheInfo = z.infer<typeof cacheInfoSchema>;
export type CacheChange = z.infer<typeof cacheChangeSchema>;
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

const runErrorSchema = errorInfoSchema
  .extend({ issues: z.array(z.strictObject({ message: z.string(), file: z.string().optional(), field: z.string().optional(), package: z.string().optional(), line: z.number().optional(), column: z.number().optional() })).optional() })
  .describe('A usage or workspace error that stopped the run before any package was built.');

/** When one package ran, relative to the run's startedAt (monotonic clock, so entries compare exactly). */
export const timelineEntrySchema = z.strictObject({
  package: z.string(),
  status: z.enum(['success', 'failed', 'skipped']),
  startMs: z.number().nonnegative(),
  endMs: z.number().nonnegative(),
});

export const criticalPathSchema = z
  .strictObject({
    packages: z.array(z.string()).describe('Dependency chain, first built first.'),
    durationMs: z.number().nonnegative().describe('Sum of their build durations: the least wall time any concurrency could reach.'),
  })
  .describe('The chain of dependent packages that took longest.');

/** What the caches did in a run: hits by source, and the remote cache's side of it when one is configured. */
export const runCacheSummarySchema = z
  .strictObject({
    hits: z.strictObject({
      local: z.number().int().nonnegative().describe('Packages whose outputs came from (or already matched) the local cache.'),
      remote: z.number().int().nonnegative().describe('Packages whose outputs came from the remote cache.'),
    }),
    misses: z.number().int().nonnegative().describe('Packages that were built (cache status miss).'),
    remote: z
      .strictObject({
        url: z.string().describe('Base URL, without credentials.'),
        readOnly: z.boolean(),
        signed: z.boolean().describe('A signature key was set: uploads carry x-artifact-tag, downloads must.'),
        status: z.enum(['enabled', 'disabled', 'not-contacted']).describe('At the end of the run; not-contacted: every package was a local hit.'),
        reason: z.string().optional().describe('Why it was disabled for this run.'),
        downloads: z.strictObject({
          hits: z.number().int().nonnegative(),
          misses: z.number().int().nonnegative(),
          rejected: z.number().int().nonnegative().describe('Artifacts refused (signature, verification, unsafe archive): built locally.'),
        }),
        uploads: z.strictObject({
          done: z.number().int().nonnegative(),
          failed: z.number().int().nonnegative(),
          skipped: z.number().int().nonnegative().describe('Not attempted: read-only, remote disabled, or abandoned at the end of the run.'),
        }),
        warnings: z.array(z.string()).describe('Run-level warnings (each printed once); per-package ones are in that result.'),
      })
      .optional()
      .describe('Present when a remote cache is configured.'),
  })
  .describe('Cache hits by source, for the run summary.');

/** One CLI/API run over one or more packages: what `--json` prints. */
export const runResultSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    ok: z.boolean(),
    exitCode: z.number().int(),
    startedAt: z.string(),
    endedAt: z.string().optional(),
    durationMs: z.number().nonnegative(),
    concurrency: z.number().int().positive().optional().describe('Most packages allowed to build at once.'),
    bail: z.boolean().optional().describe('Whether the run stopped starting packages after the first failure.'),
    cancelled: z.boolean().optional().describe('The run was aborted (Ctrl-C / AbortSignal).'),
    results: z.array(buildResultSchema).describe('One per selected package, in build order.'),
    timeline: z.array(timelineEntrySchema).optional().describe('Packages that started, in start order.'),
    criticalPath: criticalPathSchema.optional(),
    cache: runCacheSummarySchema.optional(),
    error: runErrorSchema.optional(),
  })
  .describe('build-system run: every BuildResult of one invocation');

export type RunResult = z.infer<typeof runResultSchema>;
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;
export type RunCacheSummary = z.infer<typeof runCacheSummarySchema>;

/** One package of a plan (`build --dry-run`, `build:list`): what a build would do, decided without writing anything. */
export const planEntrySchema = z.strictObject({
  name: z.string(),
  dir: z.string(),
  configFile: z.string().nullable().describe('Relative to the package; null when it builds with defaults.'),
  adapter: z.enum(ADAPTER_NAMES).nullable().describe('What the config (or --adapter) asks for.'),
  chosen: z.enum(BUILDER_NAMES).nullable().describe('What would run.'),
  version: z.string().nullable(),
  available: z.boolean(),
  reason: z.string().describe('Why this adapter, or why the package cannot build.'),
  dependencies: z.array(z.string()).describe('Selected workspace packages it depends on (looking through unselected ones): the build order.'),
  waitsFor: z
    .array(z.string())
    .describe(
      'The dependencies it starts after: those whose outputs its build reads (all with dts, the tsc adapter, or a config that cannot be read). The others it only imports as external; their failure does not skip it.',
    ),
  cache: z.strictObject({
    status: z.enum(['disabled', 'hit', 'miss']),
    key: z.string().nullable(),
    wouldHit: z.boolean().nullable().describe('null while the cache is disabled.'),
  }),
  error: errorInfoSchema.optional(),
});

export const planResultSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    dryRun: z.literal(true),
    ok: z.boolean(),
    exitCode: z.number().int(),
    startedAt: z.string(),
    concurrency: z.number().int().positive(),
    packages: z.array(planEntrySchema).describe('In build order.'),
    error: runErrorSchema.optional(),
  })
  .describe('build-system plan: what a build would do, without building');

export type PlanEntry = z.infer<typeof planEntrySchema>;
export type PlanResult = z.infer<typeof planResultSchema>;
