import { z } from 'zod';
import { BUILDER_NAMES } from '../config/schema.js';

/**
 * The structured result of building one package. Every entry point (CLI
 * `--json`, programmatic API) returns exactly this shape; the JSON Schema in
 * `schema/build-result.schema.json` is generated from it.
 */

export const RESULT_SCHEMA_VERSION = 1;

export const diagnosticSchema = z.strictObject({
  severity: z.enum(['error', 'warning', 'info']),
  message: z.string(),
  file: z.string().optional().describe('Relative to the package directory when inside it.'),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  code: z.string().optional().describe("The tool's own code, e.g. TS2322."),
});

export const artifactSchema = z.strictObject({
  path: z.string().describe('Relative to the package directory, forward slashes.'),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  kind: z.enum(['js', 'dts', 'map', 'other']),
});

export const cacheInfoSchema = z.strictObject({
  status: z.enum(['disabled', 'hit', 'miss', 'skipped']),
  key: z.string().nullable(),
  source: z.enum(['local', 'remote']).optional(),
  restored: z.boolean().optional(),
  reason: z.string().optional().describe('Why the cache missed (or was not used), for people.'),
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

/** One CLI/API run over one or more packages: what `--json` prints. */
export const runResultSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    ok: z.boolean(),
    exitCode: z.number().int(),
    startedAt: z.string(),
    durationMs: z.number().nonnegative(),
    results: z.array(buildResultSchema),
    error: errorInfoSchema
      .extend({ issues: z.array(z.strictObject({ message: z.string(), file: z.string().optional(), field: z.string().optional(), package: z.string().optional(), line: z.number().optional(), column: z.number().optional() })).optional() })
      .optional()
      .describe('A usage or workspace error that stopped the run before any package was built.'),
  })
  .describe('build-system run: every BuildResult of one invocation');

export type RunResult = z.infer<typeof runResultSchema>;
