import path from 'node:path';
import picomatch from 'picomatch';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * A tsup/tsdown `entry` as files of the package: globs in a list, and tsdown's object entry whose
 * key is a pattern, expanded over the package's files (outDir and node_modules left out) the way
 * those tools expand them. init writes the expanded list, so a re-run picks up added files.
 */

/** Files of the package (posix, relative), for entry globs: everything but node_modules, .git and outDir. */
function packageFiles(pkg: PackageInfo, reads: ReadLog, outDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of reads.list(path.join(pkg.dir, rel))) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name === 'node_modules' || e.name === '.git' || child === outDir) continue;
        walk(child);
      } else if (e.isFile()) out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** Expands globs the way tsup/tsdown do (globby: `!` excludes); plain paths stay as written. */
export function expandEntries(list: string[], pkg: PackageInfo, reads: ReadLog, outDir: string): { files: string[]; expanded: boolean } {
  const hasGlob = list.some((e) => /[*?{[]/.test(e) || e.startsWith('!'));
  if (!hasGlob) return { files: list.map((e) => toPosix(e).replace(/^\.\//, '')), expanded: false };
  const include = list.filter((e) => !e.startsWith('!')).map((e) => toPosix(e).replace(/^\.\//, ''));
  const exclude = list.filter((e) => e.startsWith('!')).map((e) => toPosix(e.slice(1)).replace(/^\.\//, ''));
  const isIn = picomatch(include);
  const isOut = exclude.length ? picomatch(exclude) : () => false;
  return { files: packageFiles(pkg, reads, outDir).filter((f) => isIn(f) && !isOut(f)), expanded: true };
}

/**
 * An object entry, as tsdown reads it: a key without `*` names one output; a key with `*` is a
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
    const files = packageFiles(pkg, reads, outDir).filter((f) => isIn(f));
    const excluded = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
    const isOut = excluded.length ? picomatch(excluded) : () => false;
    const matched = files.filter((f) => !isOut(f));
    if (matched.length === 0) problems.push(`entry key "${name}": ${JSON.stringify(target)} matches no file`);
    for (const file of matched) record[name.replaceAll('*', path.posix.relative(base, file).replace(/\.[^./]+$/, ''))] = file;
    expanded = true;
  }
  return { record, expanded, problems };
}
