import type { Dirent } from 'node:fs';
import { sha256 } from '../util/hash.js';
import type { ReadLog } from '../util/read-log.js';
import { canonicalJson } from './fingerprint.js';
import { compilableNames } from './tsconfig-dirs.js';

/**
 * How an entry's recorded reads hash what is not a file's content
 * (build-reads.ts): a directory's names, and a package.json's fields that
 * steer resolution. Recording and checking hash with the same functions.
 */

/** What of a package.json steers how the files below it are resolved and compiled. */
export const MANIFEST_FIELDS = ['name', 'type', 'main', 'module', 'browser', 'exports', 'imports', 'sideEffects', 'types', 'typings', 'typesVersions'] as const;

/**
 * A shared chunk, as every adapter names them (`chunk-<hash><ext>`, and its
 * map). Left out of directory listings: a chunk's name changes with its
 * content, so with it a body edit in a package with several entries would
 * change the listing of its outDir and rebuild every dependent that reads
 * only its declarations there. No specifier anyone writes resolves to a name
 * carrying a content hash; only the package's own JS imports it, and JS that
 * is read is hashed where it is read.
 */
export const SHARED_CHUNK = /^chunk-[A-Za-z0-9_-]+\.[cm]?js(\.map)?$/;

export function namesHash(names: readonly string[]): string {
  return sha256(JSON.stringify(names.filter((name) => !SHARED_CHUNK.test(name)).sort()));
}

/**
 * The prefixes of a directory recorded by its compilable names only (an
 * include reached it and no file was read from it: tsconfig-dirs.ts), not all
 * of them: `ts:` TypeScript files, `js:` JavaScript too (allowJs).
 */
export const COMPILABLE_LISTING = { ts: 'ts:', js: 'js:' } as const;

/**
 * `except`: a subdirectory left out of the names, written into the hash's prefix (`ts:-dist:<sha>`) so a
 * check computes the same: the package's own root, whose outDir comes and goes with every build.
 */
export function compilableHash(entries: readonly Dirent[], allowJs: boolean, except?: string): string {
  const names = compilableNames(entries, allowJs).filter((n) => except === undefined || n !== `${except}/`);
  const prefix = allowJs ? COMPILABLE_LISTING.js : COMPILABLE_LISTING.ts;
  return `${prefix}${except === undefined ? '' : `-${encodeURIComponent(except)}:`}${sha256(JSON.stringify(names.sort()))}`;
}

/** A recorded directory hash computed again over `entries`, the way it was recorded (compilable names or all names). */
export function dirHashLike(expected: string, entries: readonly Dirent[]): string {
  const compilable = /^([tj]s):(?:-([^:]*):)?/.exec(expected);
  if (!compilable) return namesHash(entries.map((e) => e.name));
  return compilableHash(entries, compilable[1] === 'js', compilable[2] === undefined ? undefined : decodeURIComponent(compilable[2]));
}

/** sha256 of a package.json's MANIFEST_FIELDS; of its whole text when it is not a JSON object; null when it cannot be read. */
export function manifestHash(abs: string, reads: ReadLog): string | null {
  let text: string | undefined;
  try {
    text = reads.readText(abs);
  } catch {
    return null;
  }
  if (text === undefined) return null;
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    json = undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return `text:${sha256(text)}`;
  const picked: Record<string, unknown> = {};
  for (const field of MANIFEST_FIELDS) if ((json as Record<string, unknown>)[field] !== undefined) picked[field] = (json as Record<string, unknown>)[field];
  return sha256(canonicalJson(picked));
}

/**
 * The package a package.json names (its string `name`): a package's root, where its `exports` and
 * `main` are. One without (`{"type":"module"}` in a dual package's dist/esm/) only scopes the files
 * below it; resolution read the root above it too. Unreadable or not JSON: null (keep walking up).
 */
export function manifestPackageName(abs: string, reads: ReadLog): string | null {
  try {
    const json = JSON.parse((reads.readText(abs) ?? '').replace(/^\uFEFF/, '')) as unknown;
    const name = typeof json === 'object' && json !== null ? (json as { name?: unknown }).name : undefined;
    return typeof name === 'string' && name !== '' ? name : null;
  } catch {
    return null;
  }
}

/** An env var's value as recorded (sha256 of `name=value`; null: unset): the value itself may be a secret. */
export const envValueHash = (name: string, value: string | undefined): string | null => (value === undefined ? null : sha256(`${name}=${value}`));

/** How changedReads names a changed env var among changed paths (no path holds a NUL). */
export const ENV_READ = '\0env:';
