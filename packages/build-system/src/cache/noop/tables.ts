import path from 'node:path';
import type { ObservedFile } from '../../util/read-log.js';
import { NEWEST_FIRST, type NoopRecord } from './record.js';

/** The record's path tables as the writer builds them (write.ts). */

/** Paths as [directory index, basename] over one shared table of directories, stored as a tree. */
export class PathTable {
  readonly dirs: string[] = [];
  readonly tree: NoopRecord['dirTable'] = [];
  private readonly index = new Map<string, number>();
  dir(d: string): number {
    let i = this.index.get(d);
    if (i === undefined) {
      const parent = path.dirname(d);
      const p = parent === d ? -1 : this.dir(parent);
      i = this.dirs.push(d) - 1;
      this.tree.push(p === -1 ? [-1, d] : [p, path.basename(d)]);
      this.index.set(d, i);
    }
    return i;
  }
  /** An absolute, normalized path split at its last separator (path.dirname + basename cost ~0.1 s over 5,000 paths). */
  split(p: string): [number, string] {
    const i = p.lastIndexOf(path.sep);
    // A file in a root directory ("/x", "C:\\x") keeps the separator in its directory, as path.dirname does.
    const dir = i === 0 || p.lastIndexOf(path.sep, i - 1) === -1 ? p.slice(0, i + 1) : p.slice(0, i);
    return [this.dir(dir), p.slice(i + 1)];
  }
}

export function absentColumns(paths: string[], table: PathTable): NoopRecord['absent'] {
  const columns: NoopRecord['absent'] = { dir: [], base: [] };
  for (const p of paths) {
    const [d, base] = table.split(p);
    columns.dir.push(d);
    columns.base.push(base);
  }
  return columns;
}

/**
 * The NEWEST_FIRST most recently changed files (mtime or ctime), newest first, then the rest in the
 * order the run read them. Why: the files edited last are the likeliest to be edited again, and a
 * replay stops at the first path that changed; a leaf edit at 200 packages had its file ~3,200 paths
 * into the record, every one stat'ed before the replay gave up (~13 ms). Not a full sort: that cost
 * the writer as much as it saved the check.
 */
export function newestFirst(files: [string, ObservedFile][]): [string, ObservedFile][] {
  // One pass with the times in an array, no sort: the writer runs once per process, mostly unoptimized.
  const n = files.length;
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = files[i]![1];
    times[i] = f.ctimeMs > f.mtimeMs ? f.ctimeMs : f.mtimeMs;
  }
  const top: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = times[i]!;
    if (top.length === NEWEST_FIRST && t <= floor) continue;
    let at = top.length;
    while (at > 0 && times[top[at - 1]!]! < t) at--;
    top.splice(at, 0, i);
    if (top.length > NEWEST_FIRST) top.pop();
    if (top.length === NEWEST_FIRST) floor = times[top[NEWEST_FIRST - 1]!]!;
  }
  const taken = new Uint8Array(n);
  const ordered: [string, ObservedFile][] = [];
  for (const i of top) {
    taken[i] = 1;
    ordered.push(files[i]!);
  }
  for (let i = 0; i < n; i++) if (taken[i] === 0) ordered.push(files[i]!);
  return ordered;
}

