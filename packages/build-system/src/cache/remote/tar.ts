// Long because: the writer and the reader share the header format, and every rule about what an untrusted archive may write is meant to be read in one place (see below). A split into tar-write/tar-read is possible if the reader grows.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { isStrictlyInside } from '../../util/paths.js';
import { restoredFileMode } from '../store.js';

/**
 * A small ustar (POSIX.1-1988, with pax `x` records for long paths) writer
 * and reader, for remote cache artifacts. Own code instead of the `tar`
 * package: we only ever need regular files and directories, and the reader
 * is where downloaded (untrusted) bytes meet the file system, so every rule
 * about what may be written is here, in one page, rather than in options of
 * a general-purpose library with its own defaults (research.md R3).
 *
 * Reading is streamed (`readTar`): each header is checked as it arrives
 * (checksum, entry type, path, link target), and an entry reaches the
 * caller only once it passed; the first bad one ends the read, and the
 * caller removes the fresh directory it was writing into. Nothing is
 * buffered beyond one header, one pax record and one chunk, and the total
 * is counted as bytes arrive, so a compression bomb stops at the limit.
 * Refused: absolute paths (`/x`, `C:\x`, `\\x`), `..` components,
 * backslashes and NUL in names, links whose target leaves the archive root,
 * links at all (a build-system artifact holds none: a link inside is refused
 * too, just with a different reason), devices, fifos, GNU extensions,
 * duplicate paths, a file that is also a directory, and data after the end.
 * Files are written only below a fresh directory and opened with
 * O_EXCL|O_NOFOLLOW, so even a bug in the checks cannot follow a link or
 * overwrite a file.
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

/** One checked entry as the reader hands it on; a file's bytes follow as a stream. */
export interface TarEntryHeader {
  type: 'file' | 'dir';
  /** Normalized relative posix path. */
  path: string;
  /** Permission bits as the archive states them (callers mask them: restoredFileMode). */
  mode: number;
  /** Bytes of data (0 for a directory). */
  size: number;
}

/** A whole entry in memory (parseTar: tests and small archives). */
export type TarEntry = { type: 'file'; path: string; mode: number; data: Buffer } | { type: 'dir'; path: string; mode: number };

export interface TarReadLimits {
  /** Most bytes of archive (after decompression) read in all; the byte that passes it ends the read. */
  maxBytes: number;
}

/** A limit of the archive reader was passed (too large, too long a header): refused as it happened. */
export class ArchiveLimitError extends UnsafeArchiveError {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveLimitError';
  }
}

/** A pax record holds a long path (a few hundred bytes); nothing we read needs more. */
export const MAX_PAX_BYTES = 64 * 1024;
/** Zero bytes accepted after the end-of-archive block (writers pad to a record: GNU tar's is 10 KiB). */
export const MAX_TRAILING_BYTES = 64 * 1024;

/**
 * Reads an archive from `source` as its bytes arrive, and calls `visit` for
 * every file and directory entry once its header passed every check above;
 * `data` yields exactly the entry's bytes, and whatever `visit` leaves unread
 * is skipped. Nothing is buffered but one header, one pax record
 * (≤ MAX_PAX_BYTES) and the chunk being read, and `limits.maxBytes` is
 * checked per chunk, so a compression bomb stops at the limit. `onEnd` runs
 * at the end-of-archive block, before the trailing padding is read.
 * Throws UnsafeArchiveError (ArchiveLimitError for a limit).
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  visit: (entry: TarEntryHeader, data: AsyncIterable<Buffer>) => Promise<void>,
  limits: TarReadLimits,
  onEnd?: () => void,
): Promise<void> {
  const r = new ByteReader(source[Symbol.asyncIterator](), limits.maxBytes);
  const files = new Set<string>();
  /** Every path an entry made a directory of: its own (a dir entry) and every ancestor. */
  const dirs = new Set<string>();
  const dirEntries = new Set<string>();
  let pax: Record<string, string> = {};
  try {
    for (;;) {
      const offset = r.offset;
      const h = await r.exact(BLOCK);
      if (h === null) throw new UnsafeArchiveError(r.pendingBytes === 0 ? 'archive is truncated (no end-of-archive marker)' : `header at byte ${offset} is truncated`);
      if (h.every((byte) => byte === 0)) {
        onEnd?.();
        await r.expectOnlyZeros(MAX_TRAILING_BYTES);
        return;
      }
      verifyChecksum(h, offset);
      const type = String.fromCharCode(h[156]!);
      const size = readOctal(h, 124, 12, 'size', offset);
      const padding = (BLOCK - (size % BLOCK)) % BLOCK;

      if (type === 'x') {
        if (size > MAX_PAX_BYTES) throw new ArchiveLimitError(`pax header at byte ${offset} has ${size} bytes; at most ${MAX_PAX_BYTES} are read`);
        const data = await r.exact(size);
        if (data === null) throw new UnsafeArchiveError(`entry at byte ${offset} claims ${size} bytes but the archive ends first`);
        pax = parsePax(data);
        await r.skip(padding);
        continue;
      }
      if (type === 'g') {
        // Global pax defaults: nothing in them matters to us.
        await r.skip(size + padding);
        continue;
      }
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
      const isDir = type === '5';
      const p = checkEntryPath(rawName, isDir ? 'dir' : 'file');
      if (p === '') {
        // "./": the root itself.
        await r.skip(size + padding);
        continue;
      }
      if (files.has(p) || dirEntries.has(p)) throw new UnsafeArchiveError(`${p} appears twice in the archive`);
      // A file must not also be a directory another entry writes into ("a" and "a/b", in either order).
      const parts = p.split('/');
      for (let i = 1; i < parts.length; i++) {
        const parent = parts.slice(0, i).join('/');
        if (files.has(parent)) throw new UnsafeArchiveError(`${p} is below ${parent}, which is a file`);
      }
      if (!isDir && dirs.has(p)) throw new UnsafeArchiveError(`an entry is below ${p}, which is a file`);
      for (let i = 1; i <= parts.length; i++) if (isDir || i < parts.length) dirs.add(parts.slice(0, i).join('/'));
      if (isDir) {
        dirEntries.add(p);
        await visit({ type: 'dir', path: p, mode, size: 0 }, empty());
        await r.skip(size + padding);
        continue;
      }
      files.add(p);
      const left = { bytes: size };
      await visit({ type: 'file', path: p, mode, size }, r.take(left, `${p} (entry at byte ${offset}) claims ${size} bytes`));
      await r.skip(left.bytes + padding);
    }
  } finally {
    await r.close();
  }
}

/** The archive's bytes as they come, with a count against the limit. */
class ByteReader {
  /** Received and not handed on yet (a part of the last chunk). */
  private pending: Buffer = Buffer.alloc(0);
  private received = 0;
  private done = false;

  constructor(
    private readonly chunks: AsyncIterator<Buffer>,
    private readonly maxBytes: number,
  ) {}

  /** Position in the archive of the next byte handed on. */
  get offset(): number {
    return this.received - this.pending.byteLength;
  }

  get pendingBytes(): number {
    return this.pending.byteLength;
  }

  /** One more chunk into `pending`; false at the end of the stream. */
  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const step = await this.chunks.next();
    if (step.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(step.value) ? step.value : Buffer.from(step.value);
    this.received += chunk.byteLength;
    if (this.received > this.maxBytes) throw new ArchiveLimitError(`archive unpacks to more than ${this.maxBytes} bytes (the limit)`);
    this.pending = this.pending.byteLength === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    return true;
  }

  /** Exactly `n` bytes (small: a header, a pax record), or null when the stream ends first. */
  async exact(n: number): Promise<Buffer | null> {
    while (this.pending.byteLength < n) if (!(await this.pull())) return null;
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  /** The next `left.bytes` bytes, piece by piece as they arrive; `left` counts down what is still unread. */
  async *take(left: { bytes: number }, what: string): AsyncGenerator<Buffer> {
    while (left.bytes > 0) {
      if (this.pending.byteLength === 0 && !(await this.pull())) throw new UnsafeArchiveError(`archive is truncated: ${what} but the archive ends first`);
      const piece = this.pending.subarray(0, left.bytes);
      this.pending = this.pending.subarray(piece.byteLength);
      left.bytes -= piece.byteLength;
      yield piece;
    }
  }

  async skip(n: number): Promise<void> {
    const left = { bytes: n };
    for await (const _ of this.take(left, `an entry's data or padding`));
  }

  /** What follows the end-of-archive block: zeros only, at most `max` of them. */
  async expectOnlyZeros(max: number): Promise<void> {
    let seen = 0;
    for (;;) {
      seen += this.pending.byteLength;
      if (this.pending.some((byte) => byte !== 0)) throw new UnsafeArchiveError('data after the end of the archive');
      if (seen > max) throw new ArchiveLimitError(`more than ${max} bytes of padding after the end of the archive`);
      this.pending = Buffer.alloc(0);
      if (!(await this.pull())) return;
    }
  }

  /** Stops the source early (a refused archive): its producer stops fetching. */
  async close(): Promise<void> {
    if (!this.done) await this.chunks.return?.();
  }
}

async function* empty(): AsyncGenerator<Buffer> {}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/** Every entry of an archive in memory, checked as readTar checks them (tests; small archives). */
export async function parseTar(archive: Buffer, limits: TarReadLimits = { maxBytes: Number.MAX_SAFE_INTEGER }): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  await readTar(
    once(archive),
    async (e, data) => {
      if (e.type === 'dir') {
        entries.push({ type: 'dir', path: e.path, mode: e.mode });
        return;
      }
      const parts: Buffer[] = [];
      for await (const piece of data) parts.push(piece);
      entries.push({ type: 'file', path: e.path, mode: e.mode, data: Buffer.concat(parts) });
    },
    limits,
  );
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

// --- extracting ----------------------------------------------------------------

const CREATE_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (fsConstants.O_NOFOLLOW ?? 0);

/**
 * Writes one file entry's bytes to `root/<entryPath>` (root: an existing
 * directory we created): created exclusively and never through a link, with
 * `mode` (under the umask; default owner-only, for files whose final mode is
 * decided where they are restored). `onChunk` sees every piece (a hash).
 * Returns the byte count.
 */
export async function writeEntryFile(root: string, entryPath: string, data: AsyncIterable<Buffer>, onChunk?: (piece: Buffer) => void, mode = 0o600): Promise<number> {
  const absRoot = path.resolve(root);
  const dest = path.join(absRoot, ...entryPath.split('/'));
  // readTar already refused anything that could escape; this guards against a caller that skipped it.
  if (!isStrictlyInside(absRoot, dest)) throw new UnsafeArchiveError(`${entryPath}: outside the extraction root`);
  await mkdir(path.dirname(dest), { recursive: true });
  const handle = await open(dest, CREATE_FLAGS, mode);
  let bytes = 0;
  try {
    for await (const piece of data) {
      onChunk?.(piece);
      bytes += piece.byteLength;
      await handle.write(piece);
    }
  } finally {
    await handle.close();
  }
  return bytes;
}

/**
 * Extracts an archive arriving from `source` below `root` (an existing,
 * empty directory we created), entry by entry as readTar passes them, files
 * with restoredFileMode of their mode. A refused archive stops at the
 * refused entry: what was written before it stays below `root`, which the
 * caller removes.
 */
export async function extractTar(source: AsyncIterable<Buffer>, root: string, limits: TarReadLimits): Promise<void> {
  await readTar(
    source,
    async (e, data) => {
      if (e.type === 'dir') return;
      await writeEntryFile(root, e.path, data, undefined, restoredFileMode(e.mode));
    },
    limits,
  );
}
