import type { BuildResult } from './schema.js';

/**
 * Hints that are about the workspace rather than one package: each package's
 * result carries its own (an `info` diagnostic, so --json and the cache keep
 * it per package), and a person is told once per run, with the packages named,
 * instead of once per package. Its own module, free of imports: the replayed
 * no-op prints these too (commands/reporter.ts) and loads no adapter code.
 */

/** isolatedDeclarations on, oxc-transform not installed (adapters/isolated-dts.ts). */
export const ISOLATED_EMITTER_MISSING = 'DTS_OXC_TRANSFORM_MISSING';

const RUN_HINT_CODES: ReadonlySet<string> = new Set([ISOLATED_EMITTER_MISSING]);

/** Packages named in a hint's line before "and N more". */
const NAMED = 3;

/** One line per distinct hint of the run: `<message> (<packages>)`, in the order first met. */
export function runHints(results: readonly BuildResult[]): string[] {
  const packages = new Map<string, string[]>();
  for (const r of results) {
    for (const d of r.diagnostics) {
      if (d.severity !== 'info' || d.code === undefined || !RUN_HINT_CODES.has(d.code)) continue;
      const names = packages.get(d.message) ?? [];
      if (!names.includes(r.package.name)) names.push(r.package.name);
      packages.set(d.message, names);
    }
  }
  return [...packages].map(([message, names]) => {
    const shown = names.slice(0, NAMED).join(', ');
    return `${message} (${names.length > NAMED ? `${shown} and ${names.length - NAMED} more` : shown})`;
  });
}
