import * as z from 'zod';
import { RESULT_SCHEMA_VERSION, runResultSchema } from './schema.js';

/**
 * One rebuild round of `build-system watch` / `watch()`: what `watch --json`
 * prints, one line each. The JSON Schema in schema/watch-round.schema.json is
 * generated from this.
 */
export const watchRoundSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    type: z.literal('round'),
    round: z.number().int().nonnegative().describe('0: the first build of the selection; then one per batch of changes.'),
    trigger: z
      .strictObject({
        files: z.array(z.string()).describe('Up to 10 changed paths that started this round, relative to the workspace root.'),
        count: z.number().int().nonnegative().describe('How many changed paths in all (changes made during the previous round included).'),
      })
      .describe('Empty for round 0.'),
    reloaded: z.boolean().describe('The selection was computed again (a package.json, build.config.*, workspace file or directory changed, or round 0).'),
    packages: z.array(z.string()).describe('Packages this round built or checked, in build order: the changed ones, their dependents, and the ones that failed or were skipped last time.'),
    rebuilt: z.array(z.string()).describe('Packages whose build ran (cache miss).'),
    hits: z.number().int().nonnegative().describe('Packages whose outputs were already right or came from the cache (the kept ones included).'),
    kept: z
      .array(z.string())
      .describe(
        "Packages kept as they were without a check: their own files (and the files of others they read) did not change, and every dependency they wait for came out of this round with the same artifacts. Counted in hits.",
      ),
    failed: z.array(z.string()),
    skipped: z.array(z.string()).describe('Not built because a dependency they read failed; retried next round.'),
    durationMs: z.number().nonnegative(),
    watching: z.number().int().nonnegative().describe('Directories watched after this round.'),
    run: runResultSchema.describe('The run of this round, exactly as `build --json` prints it.'),
  })
  .describe('build-system watch: one rebuild round');

export type WatchRound = z.infer<typeof watchRoundSchema>;
