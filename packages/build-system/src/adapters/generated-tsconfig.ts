import { writeFileSync } from 'node:fs';
import { toPosix } from '../util/paths.js';

/**
 * The one way a run writes a tsconfig of its own: it `extends` the package's
 * real tsconfig by absolute path (so every option and the cache's read chain
 * stay the real file's) and restates only the fields the run must change
 * (files/include/exclude, and what depends on the tsconfig's location).
 * Used by the program plan of every tsc run (tsc-project.ts: include/exclude,
 * foreign tsconfigs, and a bundled package's declarations, which follow its
 * entries) and referenced projects emitted first (tsc-references.ts, which
 * moves their declarationDir).
 */
export interface GeneratedTsconfigFields {
  compilerOptions?: Record<string, unknown>;
  files?: string[];
  include?: string[];
  exclude?: string[];
  references?: { path: string }[];
}

export function writeGeneratedTsconfig(file: string, realTsconfig: string, fields: GeneratedTsconfigFields): void {
  writeFileSync(file, `${JSON.stringify({ extends: toPosix(realTsconfig), ...fields }, null, 2)}\n`);
}
