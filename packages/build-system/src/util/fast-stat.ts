import { constants, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The fields of a stat that the caches compare, without building an fs.Stats.
 *
 * Why: a replayed no-op at 200 packages stats ~4,800 paths, and on Node 20 `fs.statSync` spends
 * more time making each Stats (twenty fields and four Dates) than the system call takes: the
 * same calls through the binding `statSync` itself calls took −14 ms wall / −25 ms CPU of a
 * ~160 ms replay (research.md §8.v). `process.binding` is deprecated and not a public API, so it
 * is used only where it proves itself: on its first use the binding's answer for a file must equal
 * `fs.statSync`'s field by field, or this falls back to `fs.statSync` for the life of the process.
 * Never used under Bun, Node's permission model (the binding bypasses it), or a pending-deprecation
 * flag (the call would print a warning).
 */
export interface StatFields {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  isDirectory: boolean;
  isFile: boolean;
}

type StatBinding = (path: string, bigint: false, req: undefined, throwIfNoEntry: false) => ArrayLike<number> | undefined;

/** undefined until first use; null when fs.statSync is used. */
let bindingStat: StatBinding | null | undefined;

/**
 * Like `statSync(p, { throwIfNoEntry: false })`: undefined when the path does not exist, throws on other errors.
 * With `into`, the fields are written there and it is returned: a loop over thousands of paths (the
 * replay's check) then makes no object per path, and a replay's young generation fills less often.
 */
export function statFields(p: string, into?: StatFields): StatFields | undefined {
  if (bindingStat === undefined) bindingStat = provenBinding();
  // A NUL byte makes fs.statSync throw; the binding would stat the path cut at it.
  if (bindingStat === null || p.includes('\0')) return fromStats(p, into);
  // As fs.statSync passes it (long paths on Windows; the same string elsewhere).
  const v = bindingStat(path.toNamespacedPath(p), false, undefined, false);
  if (v === undefined) return undefined;
  // The order of fs.Stats' fields in the binding's array, and Node's own ms arithmetic (checked in provenBinding).
  const type = v[1]! & constants.S_IFMT;
  return fill(into, v[8]!, v[12]! * 1e3 + v[13]! / 1e6, v[14]! * 1e3 + v[15]! / 1e6, v[7]!, type === constants.S_IFDIR, type === constants.S_IFREG);
}

function fromStats(p: string, into?: StatFields): StatFields | undefined {
  const st = statSync(p, { throwIfNoEntry: false });
  return st && fill(into, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.isDirectory(), st.isFile());
}

function fill(into: StatFields | undefined, size: number, mtimeMs: number, ctimeMs: number, ino: number, isDirectory: boolean, isFile: boolean): StatFields {
  if (!into) return { size, mtimeMs, ctimeMs, ino, isDirectory, isFile };
  into.size = size;
  into.mtimeMs = mtimeMs;
  into.ctimeMs = ctimeMs;
  into.ino = ino;
  into.isDirectory = isDirectory;
  into.isFile = isFile;
  return into;
}

function provenBinding(): StatBinding | null {
  try {
    const proc = process as NodeJS.Process & { binding?: (name: string) => unknown; permission?: unknown };
    if (process.versions.bun || proc.permission || typeof proc.binding !== 'function') return null;
    if (process.env.NODE_PENDING_DEPRECATION === '1' || [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('pending-deprecation'))) return null;
    const fs = proc.binding('fs') as { stat?: StatBinding } | undefined;
    if (typeof fs?.stat !== 'function') return null;
    const stat: StatBinding = fs.stat.bind(fs);
    bindingStat = stat;
    // A file and a directory that exist wherever this runs.
    const same = [process.execPath, path.dirname(process.execPath)].every((probe) => {
      const a = statFields(probe);
      const b = fromStats(probe);
      return a !== undefined && b !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.isDirectory === b.isDirectory && a.isFile === b.isFile;
    });
    return same ? stat : null;
  } catch {
    return null;
  }
}

/** Which way statFields answers in this process (decided on first use): for tests and --debug output. */
export function statFieldsSource(): 'binding' | 'fs' {
  if (bindingStat === undefined) bindingStat = provenBinding();
  return bindingStat === null ? 'fs' : 'binding';
}
