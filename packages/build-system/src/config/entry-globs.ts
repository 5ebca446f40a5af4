import path from 'node:path';
import picomatch from 'picomatch';
import { toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * Entry globs, as tsup and tsdown expand them (globby: `!` excludes):
 * `entry: ['src/*.ts', '!src/*.test.ts']` is the package's files that match,
 * found at build time, so an added file is built without touching the
 * config. Only the directories below each pattern's base are listed, through
 * the read log: their listings are inputs, so a file added there is a miss
 * and nothing else in the package is keyed. node_modules, `.git`, dot
 * directories (build-system's staging and lock) and outDir are never walked.
 */

/** Does this entry need expanding (a wildcard, a brace or class, or a `!` exclusion)? */
export function isEntryGlob(entry: string): boolean {
  return /[*?{[]/.test(entry) || entry.startsWith('!');
}

/** The package's files below `base` (posix, relative to the package), sorted. */
function filesBelow(pkg: PackageInfo, reads: ReadLog, base: string, outDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of reads.list(path.join(pkg.dir, rel))) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name === 'node_modules' || e.name.startsWith('.') || child === outDir) continue;
        walk(child);
      } else if (e.isFile()) out.push(child);
    }
  };
  walk(base === '.' ? '' : base);
  return out;
}

/** A list of entries with its globs expanded over the package's files; a list without globs is returned as written. */
export function expandEntries(list: readonly string[], pkg: PackageInfo, reads: ReadLog, outDir: string): { files: string[]; expanded: boolean } {
  const clean = (e: string) => toPosix(e).replace(/^\.\//, '');
  if (!list.some(isEntryGlob)) return { files: list.map(clean), expanded: false };
  const include = list.filter((e) => !e.startsWith('!')).map(clean);
  const exclude = list.filter((e) => e.startsWith('!')).map((e) => clean(e.slice(1)));
  const isOut = exclude.length ? picomatch(exclude) : () => false;
  const files = new Set<string>();
  for (const pattern of include) {
    // A file whose name only looks like a glob (`src/[id].ts`) is that file.
    if (!isEntryGlob(pattern) || reads.stat(path.join(pkg.dir, pattern))?.isFile()) {
      if (!isOut(pattern)) files.add(pattern);
      continue;
    }
    const { base } = picomatch.scan(pattern);
    // A base outside the package is not walked: an entry from elsewhere is named as a path, not a glob.
    if (base.split('/').includes('..')) continue;
    const isIn = picomatch(pattern);
    for (const file of filesBelow(pkg, reads, base || '.', outDir).sort()) if (isIn(file) && !isOut(file)) files.add(file);
  }
  return { files: [...files], expanded: true };
}
