import path from 'node:path';
import picomatch from 'picomatch';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { expandEntries } from '../config/entry-globs.js';

export { expandEntries } from '../config/entry-globs.js';

/**
 * An object entry, as tsdown reads it (a list of globs is config/entry-globs.ts's, which builds
 * expand too; init writes this record expanded, so a re-run picks up added files): a key without `*` names one output; a key with `*` is a
 * pattern (tsdown >= 0.15: `{ '*': 'src/providers/*\/index.ts' }`) whose value globs (one or a
 * list, `!` excludes) are expanded, each file named by the key with every `*` replaced by its path
 * below the globs' common base, extension dropped (src/providers/github/index.ts -> github/index).
 */
export function expandObjectEntry(value: Record<string, unknown>, pkg: PackageInfo, reads: ReadLog, outDir: string): { record: Record<string, string>; expanded: boolean; problems: string[] } {
  const record: Record<string, string> = {};
  const problems: string[] = [];
  let expanded = false;
  for (const [name, target] of Object.entries(value)) {
    if (!name.includes('*')) {
      if (typeof target === 'string') record[name] = target;
      continue;
    }
    const patterns = (typeof target === 'string' ? [target] : Array.isArray(target) ? target : []).filter((v): v is string => typeof v === 'string').map((v) => toPosix(v).replace(/^\.\//, ''));
    const bases = new Set(patterns.filter((p) => !p.startsWith('!')).map((p) => picomatch.scan(p).base));
    if (bases.size !== 1) {
      problems.push(`entry key "${name}": its globs must share one base directory`);
      continue;
    }
    const base = [...bases][0]!;
    const isIn = picomatch(patterns.filter((p) => !p.startsWith('!')));
    const files = expandEntries(patterns.filter((p) => !p.startsWith('!')), pkg, reads, outDir).files.filter((f) => isIn(f));
    const excluded = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
    const isOut = excluded.length ? picomatch(excluded) : () => false;
    const matched = files.filter((f) => !isOut(f));
    if (matched.length === 0) problems.push(`entry key "${name}": ${JSON.stringify(target)} matches no file`);
    for (const file of matched) record[name.replaceAll('*', path.posix.relative(base, file).replace(/\.[^./]+$/, ''))] = file;
    expanded = true;
  }
  return { record, expanded, problems };
}
