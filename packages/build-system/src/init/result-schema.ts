import * as z from 'zod';
import { ADAPTER_NAMES } from '../config/schema.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';

/**
 * What `build-system init --json` prints and `init()` returns. The JSON Schema
 * in `schema/init-result.schema.json` is generated from it.
 */

const issueSchema = z.strictObject({
  package: z.string().optional(),
  file: z.string().optional(),
  field: z.string().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  message: z.string(),
});

const errorSchema = z.strictObject({
  code: z.string(),
  message: z.string(),
  package: z.string().optional(),
  file: z.string().optional(),
  field: z.string().optional(),
  line: z.number().int().optional(),
  column: z.number().int().optional(),
  issues: z.array(issueSchema),
});

export const initPackageResultSchema = z.strictObject({
  name: z.string(),
  dir: z.string().describe('Absolute package directory.'),
  status: z
    .enum(['written', 'would-write', 'skipped', 'failed'])
    .describe('written: the config was written; would-write: --dry-run; skipped: see reason; failed: see error.'),
  reason: z.string().optional().describe('Why the package was skipped (it has a config, or nothing to build).'),
  file: z.string().nullable().describe('The config file written (or that would be), relative to the package.'),
  replaced: z.array(z.string()).describe('Other build config files removed by --force.'),
  adapter: z.strictObject({ name: z.enum(ADAPTER_NAMES), reason: z.string() }).nullable(),
  sources: z.array(z.string()).describe('Files read besides package.json (tool config, tsconfig), relative to the package.'),
  config: z.record(z.string(), z.unknown()).nullable().describe('The fields written, as written.'),
  comments: z.record(z.string(), z.string()).describe('Field → where its value came from (the comment above it).'),
  content: z.string().nullable().describe('The text of the config file.'),
  notReproduced: z
    .array(z.strictObject({ option: z.string(), value: z.string(), why: z.string() }))
    .describe('Options of the original setup the config does not reproduce (also in the file, as `// not reproduced:` lines).'),
  ignored: z.array(z.string()).describe('Options of the original setup that do not change the files written.'),
  warnings: z.array(z.string()),
  verified: z
    .boolean()
    .describe('The written text, loaded by the config loader and resolved, equals the config init meant (same entries, formats, extensions, dts, outDir, target, adapter, …).'),
  error: errorSchema.optional(),
});

export const initResultSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    ok: z.boolean(),
    exitCode: z.number().int().describe('0: every selected package written, would be written or skipped; 2: a package failed or a usage error.'),
    dryRun: z.boolean(),
    packages: z.array(initPackageResultSchema),
    error: errorSchema.optional().describe('A usage or workspace error that stopped init before any package.'),
  })
  .describe('build-system init result');

export type InitPackageResult = z.infer<typeof initPackageResultSchema>;
export type InitResult = z.infer<typeof initResultSchema>;
