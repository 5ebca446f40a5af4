import { lstatSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE_NAME } from '../config/find.js';
import { isInside, resolvedPath, toPosix } from '../util/paths.js';
import type { OutputGuard } from './watch-outputs.js';
import type { CrossPackageReads } from './watch-readers.js';
import type { Selection } from './workspace.service.js';

/** What a batch of changed paths asks for. */
export interface Classified {
  /** Select again and check every package: a config, a package.json or something outside the selected packages changed. */
  full: boolean;
  /** Selected packages whose own inputs changed, or whose published outputs are not as published. */
  dirty: Set<string>;
  /** The changed paths that count, relative to the workspace root. */
  files: string[];
  /** The packages among `dirty` only because their outputs were deleted or rewritten by something else. */
  restore: Set<string>;
}

/** What the watch knows when a batch comes in: the selection, what the last rounds read, and who reads or writes what. */
export interface WatchKnowledge {
  selection: Selection | null;
  cwd: string;
  /** Every path the builds read, stat'd or looked for. */
  known: ReadonlySet<string>;
  /** Directories whose listing the builds used, with the names they held. */
  listed: ReadonlyMap<string, ReadonlySet<string>>;
  crossReads: CrossPackageReads;
  outputs: OutputGuard;
}

/**
 * One batch of changed paths, judged. Known paths count, and new entries of a
 * listed directory still there (a new source file, a new package); not a file
 * nobody read (a log), nor one that came and went in the batch (the temp file
 * `sed -i` renames over a source). A path below a published outDir counts only
 * when that package's outputs are not as the watch left them (watch-outputs.ts):
 * the rounds' own writes raise events there too.
 */
export function classifyBatch(files: readonly string[], k: WatchKnowledge): Classified {
  const dirty = new Set<string>();
  let full = k.selection === null;
  const counts = (f: string) => k.known.has(f) || (k.listed.get(path.dirname(f))?.has(path.basename(f)) === false && lstatSync(f, { throwIfNoEntry: false }) !== undefined);
  const root = k.selection?.workspace.root ?? k.cwd;
  // Events below an outDir, by the package that published it; the rest are inputs.
  const outputEvents = new Map<string, string[]>();
  const inputEvents: string[] = [];
  for (const f of files) {
    const owner = k.outputs.owner(f);
    if (owner === undefined) inputEvents.push(f);
    else outputEvents.set(owner, [...(outputEvents.get(owner) ?? []), f]);
  }
  // Only the package itself: its hit puts back the published files, so what its dependents read comes out the same (and
  // they are kept, watch-reuse.ts); were they dirty, they would be checked for nothing.
  const restore = new Set([...outputEvents.keys()].filter((name) => k.outputs.changed(name)));
  for (const name of restore) dirty.add(name);
  const counted = [...restore].flatMap((name) => outputEvents.get(name)!);
  for (const file of inputEvents) {
    if (!counts(file)) continue;
    counted.push(file);
    const owned = k.selection ? ownerOf(k.selection, file) : undefined;
    if (!owned) {
      full = true;
      continue;
    }
    const [owner, real] = owned;
    const rel = path.relative(owner.dir, real);
    // Its config or package.json: load it again, and with it the graph (dependencies may have changed).
    if (rel === 'package.json' || CONFIG_FILE_NAME.test(rel) || rel === '') full = true;
    dirty.add(owner.name);
    for (const reader of k.crossReads.readersOf(real)) dirty.add(reader);
  }
  // A package whose last build did not tell what it read may read any of these: it takes part.
  if (counted.length > 0) for (const name of k.crossReads.unknownReaders) dirty.add(name);
  return { full, dirty, files: counted.map((f) => toPosix(path.relative(root, f)) || '.'), restore };
}

/**
 * The selected package a path belongs to (the deepest directory holding it), with the path as inside it; a package's file
 * seen through its node_modules link (a dependency resolved by name) is that package's, not outside every one.
 */
function ownerOf(selection: Selection, file: string): [Selection['packages'][number], string] | undefined {
  let best: Selection['packages'][number] | undefined;
  for (const p of selection.packages) {
    if (isInside(p.dir, file) && (!best || p.dir.length > best.dir.length)) best = p;
  }
  if (best) return [best, file];
  if (!file.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
  const real = resolvedPath(file);
  return real === file ? undefined : ownerOf(selection, real);
}
