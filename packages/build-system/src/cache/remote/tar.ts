import { constants as fsConstants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { isStrictlyInside } from '../../util/paths.js';

/**
 * A small ustar (POSIX.1-1988, with pax `x` records for long paths) writer
 * and reader, for remote cache artifacts. Own code instead of the `tar`
 * package: we only ever need regular files and directories, in memory,
 * and the reader is where downloaded (untrusted) bytes meet the file system,
 * so every rule about what may be written is here, in one page, rather than
 * in options of a general-purpose library with its own defaults
 * (research-remote.md, "Tar").
 *
 * Reading is two-phase: `parseTar` checks the whole archive (header checksums,
 * entry types, every path and link target) before `extractTar` writes
 * anything, so a bad entry anywhere refuses the archive with nothing written.
 * Refused: absolute paths (`/x`, `C:\x`, `\\x`), `..` components,
 * backslashes and NUL in names, links whose target leaves the archive root,
 * links at all (a build-system artifact holds none: a link inside is refused
 * too, just with a different reason), devices, fifos, GNU extensions, and
 * duplicate paths. Extraction writes only below a fresh directory and opens
 * files with O_EXCL|O_NOFOLLOW, so even a bug in the checks above cannot
 * follow a link or overwrite a file.
 */

export interface TarFile {
  /** Relative posix path. */
  path: string;
  data: Buffer;
  /** Permission bits. */
  mode: number;
}

export class UnsafeArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeArchiveError';
  }
}

const BLOCK = 512;
const NAME_MAX = 100;
const PREFIX_MAX = 155;
/** Octal size field: 11 digits. */
const MAX_ENTRY_BYTES = 0o77777777777;

// --- writing -------------------------------------------------------------------

/** A deterministic archive: fixed mtime, uid, gid and owner names, entries in the given order. */
export function createTar(files: readonly TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const p = checkEntryPath(f.path, 'file');
    if (f.data.byteLength > MAX_ENTRY_BYTES) throw new Error(`${p} is too large for a tar entry`);
    const split = splitName(p);
    if (!split) {
      // Too long for name+prefix: a pax extended header carries the full path.
      const record = paxRecord('path', p);
      blocks.push(header({ name: `PaxHeader/${p.slice(-80)}`, prefix: '', mode: 0o644, size: record.byteLength, type: 'x' }), pad(record));
    }
    const { name, prefix } = split ?? { name: p.slice(-NAME_MAX), prefix: '' };
    blocks.push(header({ name, prefix, mode: f.mode & 0o7777, size: f.data.byteLength, type: '0' }), pad(f.data));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

function splitName(p: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(p) <= NAME_MAX) return { name: p, prefix: '' };
  for (let i = p.indexOf('/'); i !== -1; i = p.indexOf('/', i + 1)) {
    const prefix = p.slice(0, i);
    const name = p.slice(i + 1);
    if (Buffer.byteLength(prefix) <= PREFIX_MAX && Buffer.byteLength(name) <= NAME_MAX && name !== '') return { name, prefix };
  }
  return null;
}

function paxRecord(key: string, value: string): Buffer {
  // "<len> key=value\n" where len counts itself: settle the digit count by iterating.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

function pad(data: Buffer): Buffer {
  const rest = data.byteLength % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

function header(h: { name: string; prefix: string; mode: number; size: number; type: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, NAME_MAX, 'utf8');
  writeOctal(b, 100, 8, h.mode);
  writeOctal(b, 108, 8, 0);
  writeOctal(b, 116, 8, 0);
  writeOctal(b, 124, 12, h.size);
  writeOctal(b, 136, 12, 0);
  b.write(h.type, 156, 1, 'ascii');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  b.write(h.prefix, 345, PREFIX_MAX, 'utf8');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

function writeOctal(b: Buffer, offset: number, width: number, value: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

// --- reading -------------------------------------------------------------------

export type TarEntry = { type: 'file'; path: string; mode: number; data: Buffer } | { type: 'dir'; path: string; mode: number };

/**
 * Every entry of an archive, checked. Throws UnsafeArchiveError for anything
 * that could write outside the extraction root or that an artifact never holds.
 */
export function parseTar(archive: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const seen = new Set<string>();
  let pax: Record<string, string> = {};
  let offset = 0;
  let ended = false;
  while (offset + BLOCK <= archive.byteLength) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((byte) => byte === 0)) {
      ended = true;
      break;
    }
    verifyChecksum(h, offset);
    const type = String.fromCharCode(h[156]!);
    const size = readOctal(h, 124, 12, 'size', offset);
    const dataStart = offset + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > archive.byteLength) throw new UnsafeArchiveError(`entry at byte ${offset} claims ${size} bytes but the archive ends first`);
    const data = archive.subarray(dataStart, dataEnd);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (type === 'g') continue; // global pax defaults: nothing in them matters to us
    const rawName = pax.path ?? joinName(readString(h, 345, PREFIX_MAX), readString(h, 0, NAME_MAX));
    const linkTarget = pax.linkpath ?? readString(h, 157, NAME_MAX);
    pax = {};
    const mode = readOctal(h, 100, 8, 'mode', offset) & 0o7777;

    if (type === '1' || type === '2') {
      const p = checkEntryPath(rawName, 'link');
      checkLinkTarget(p, linkTarget, type === '1');
      throw new UnsafeArchiveError(`${p} is a ${type === '1' ? 'hard' : 'symbolic'} link; build-system artifacts hold only regular files`);
    }
    if (type !== '0' && type !== '\0' && type !== '5' && type !== '7') {
      throw new UnsafeArchiveError(`${JSON.stringify(rawName)} has entry type ${JSON.stringify(type)}; only files and directories are allowed`);
    }
    const p = checkEntryPath(rawName, type === '5' ? 'dir' : 'file');
    if (p === '') continue; // "./": the root itself
    if (seen.has(p)) throw new UnsafeArchiveError(`${p} appears twice in the archive`);
    seen.add(p);
    entries.push(type === '5' ? { type: 'dir', path: p, mode } : { type: 'file', path: p, mode, data });
  }
  if (!ended) throw new UnsafeArchiveError('archive is truncated (no end-of-archive marker)');
  // A file must not also be a directory another entry writes into ("a" then "a/b").
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (entries.some((o) => o.type === 'file' && o.path === parent)) throw new UnsafeArchiveError(`${e.path} is below ${parent}, which is a file`);
    }
  }
  return entries;
}

function verifyChecksum(h: Buffer, offset: number): void {
  const stored = readOctal(h, 148, 8, 'checksum', offset);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (sum !== stored) throw new UnsafeArchiveError(`header at byte ${offset} has a bad checksum (damaged archive)`);
}

function readString(h: Buffer, offset: number, width: number): string {
  const field = h.subarray(offset, offset + width);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? width : end).toString('utf8');
}

function readOctal(h: Buffer, offset: number, width: number, what: string, at: number): number {
  const text = h.subarray(offset, offset + width).toString('ascii').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  // Base-256 (GNU) sizes start with 0x80: never written by us, and only needed beyond 8 GiB.
  if (!/^[0-7]*$/.test(text)) throw new UnsafeArchiveError(`header at byte ${at} has a malformed ${what} field`);
  return text === '' ? 0 : parseInt(text, 8);
}

function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.byteLength) {
    const space = data.indexOf(0x20, i);
    if (space === -1) break;
    const len = Number(data.subarray(i, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.byteLength) throw new UnsafeArchiveError('malformed pax header');
    const record = data.subarray(space + 1, i + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * The normalized relative path of an entry ("./a//b/" → "a/b"), or
 * UnsafeArchiveError. Shared by the writer, so we never produce what we refuse.
 */
export function checkEntryPath(raw: string, what: 'file' | 'dir' | 'link'): string {
  const show = JSON.stringify(raw);
  if (raw.includes('\0')) throw new UnsafeArchiveError(`${show}: NUL in a path`);
  if (raw.includes('\\')) throw new UnsafeArchiveError(`${show}: backslash in a path (a separator on Windows)`);
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) throw new UnsafeArchiveError(`${show}: absolute path`);
  const parts = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`${show}: ".." in a path`);
  if (parts.length === 0 && what !== 'dir') throw new UnsafeArchiveError(`${show}: empty path`);
  return parts.join('/');
}

/** A link target must stay inside the archive root: relative to the link's directory (symlink) or to the root (hard link). */
function checkLinkTarget(linkPath: string, target: string, hard: boolean): void {
  const show = `${linkPath} -> ${JSON.stringify(target)}`;
  if (target === '' || target.includes('\0')) throw new UnsafeArchiveError(`${show}: empty link target`);
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target) || target.startsWith('\\')) throw new UnsafeArchiveError(`${show}: link points outside the package (absolute target)`);
  const resolved = path.posix.normalize(path.posix.join(hard ? '' : path.posix.dirname(linkPath), target));
  if (resolved === '..' || resolved.startsWith('../') || resolved.startsWith('/')) throw new UnsafeArchiveError(`${show}: link points outside the package`);
}

/**
 * Writes checked entries below `root` (an existing, empty directory we
 * created). Files are created exclusively and never through a link.
 */
export async function extractTar(entries: readonly TarEntry[], root: string): Promise<void> {
  const absRoot = path.resolve(root);
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (fsConstants.O_NOFOLLOW ?? 0);
  for (const e of entries) {
    const dest = path.join(absRoot, ...e.path.split('/'));
    // parseTar already refused anything that could escape; this guards against a future caller skipping it.
    if (!isStrictlyInside(absRoot, dest)) throw new UnsafeArchiveError(`${e.path}: outside the extraction root`);
    if (e.type === 'dir') {
      await mkdir(dest, { recursive: true });
      continue;
    }
    await mkdir(path.dirname(dest), { recursive: true });
    const handle = await open(dest, flags, 0o600);
    try {
      await handle.writeFile(e.data);
      await handle.chmod(e.mode & 0o777);
    } finally {
      await handle.close();
    }
  }
}
