import { statSync, type Stats } from 'node:fs';
import { sha256 } from '../../util/hash.js';

/**
 * What a run read, for the no-op record (see record.ts): every file and
 * directory whose state decided the outcome — workspace discovery, package.json
 * files, configs, input files, tool installs, the lockfile — as it was when it
 * was read. A later run whose every observed path is unchanged would compute
 * the same result, so the CLI can replay it without loading configs or tools.
 *
 * The modules that read these things report here; it costs nothing unless
 * the CLI switched observation on (the programmatic API never does).
 * Anything that makes a result depend on something not observable as a path
 * (a config that reads env vars or the clock, a git-ref filter) calls
 * `refuseNoopRecord` and the run writes no record.
 */

export interface ObservedFile {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  /** Content hash when the reader had one (input files): lets a recent ("racy") file be checked by content. */
  sha256?: string;
}

export interface ObservedDir {
  mtimeMs: number;
  ino: number;
  /** Entry names as listed, when the reader listed it. */
  names?: string[];
}

interface Observations {
  files: Map<string, ObservedFile>;
  dirs: Map<string, ObservedDir>;
  absent: Set<string>;
  env: Set<string>;
  refused: string | null;
}

let current: Observations | null = null;

/** Starts observing (the CLI, before a run it may record). */
export function startObserving(): void {
  current = { files: new Map(), dirs: new Map(), absent: new Set(), env: new Set(), refused: null };
}

export function isObserving(): boolean {
  return current !== null;
}

/** Stops observing and hands over what was seen. */
export function takeObservations(): Observations | null {
  const taken = current;
  current = null;
  return taken;
}

/** A file whose content or existence was used. The first observation of a path wins: it is what the run saw. */
export function observeFile(abs: string, st?: Stats | null, sha256?: string): void {
  if (!current) return;
  const known = current.files.get(abs);
  if (known) {
    if (sha256 && !known.sha256 && st && st.size === known.size && st.mtimeMs === known.mtimeMs && st.ino === known.ino) known.sha256 = sha256;
    return;
  }
  // null: the caller already knows it is absent; undefined: not looked at yet.
  const s = st === undefined ? statSync(abs, { throwIfNoEntry: false }) : st;
  if (!s) {
    current.absent.add(abs);
    return;
  }
  current.files.set(abs, { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, ...(sha256 ? { sha256 } : {}) });
}

/**
 * A file whose content was read (`content` is what was read): recorded with its
 * hash, so a file modified moments before the record can still be checked by
 * content. The stat is taken after the read: if the file changed in between,
 * the newer stat goes with the older hash, and the record never matches — safe.
 */
export function observeRead(abs: string, content: string | Uint8Array): void {
  if (!current) return;
  const st = statSync(abs, { throwIfNoEntry: false });
  if (!st) return;
  observeFile(abs, st, sha256(content));
}

/** A directory whose listing was used (pass the names when they were read). */
export function observeDir(abs: string, names?: readonly string[]): void {
  if (!current || current.dirs.has(abs)) return;
  const s = statSync(abs, { throwIfNoEntry: false });
  if (!s) {
    current.absent.add(abs);
    return;
  }
  current.dirs.set(abs, { mtimeMs: s.mtimeMs, ino: s.ino, ...(names ? { names: [...names].sort() } : {}) });
}

/** A path whose absence was used (a tool that is not installed, a config name not taken). */
export function observeAbsent(abs: string): void {
  current?.absent.add(abs);
}

/** An env var whose value was used. */
export function observeEnv(name: string): void {
  current?.env.add(name);
}

/** The run depends on something that is not a path: no record for it. */
export function refuseNoopRecord(reason: string): void {
  if (current && current.refused === null) current.refused = reason;
}
