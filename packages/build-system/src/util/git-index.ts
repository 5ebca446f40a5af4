/**
 * Git's index (`.git/index`) as a witness of what a file holds. Git records, for every tracked file, the
 * stat it had when git last hashed it and the blob id of its bytes; while the file's stat is still that
 * one, `git status` takes the blob id without reading the file. A fresh clone writes it for every file it
 * checks out, so a CI job's checkout is described by it before anything reads a byte.
 *
 * Only an entry git itself would trust by stat is used: a regular file (not a link, a submodule or a
 * sparse directory), stage 0, not marked assume-unchanged, skip-worktree or intent-to-add, and not racily
 * clean (modified at or after the moment the index was written, when a later write within the same
 * timestamp tick could have gone unseen). The comparison is stricter than git's defaults: modification and
 * change times to the nanosecond, inode number and size must all be the file's now. Since the change time
 * is set by the kernel on every write and cannot be set back, a file whose stat is an entry's has the
 * bytes of that entry's blob.
 *
 * Anything unusual answers null (nothing is vouched for, the caller reads the files): `GIT_DIR` and its
 * kin set, a `core.worktree`, a split index, an index whose checksum does not match, versions other than
 * 2–4, SHA-256 repositories.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { nodeCrypto } from './lazy-crypto.js';
import path from 'node:path';

export interface GitStat {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export interface GitIndex {
  /** Where each entry git trusts by stat starts in `bytes`, by absolute path (its fields are read on lookup). */
  readonly entries: ReadonlyMap<string, number>;
  readonly bytes: Buffer;
  /** When the index was written (its mtime): no entry modified at or after it is among `entries`. */
  readonly writtenMs: number;
}

const OID_BYTES = 20; // SHA-1; SHA-256 repositories are refused (findIndexFile)
const U32 = 2 ** 32;

/**
 * The blob id git's index gives for `file` when `st` (the file's stat now, or the stat a record took) is
 * the entry's, else null.
 */
export function blobIdAt(index: GitIndex, file: string, st: GitStat): string | null {
  const at = index.entries.get(file);
  if (at === undefined) return null;
  const b = index.bytes;
  // The same arithmetic as fs.Stats (and fast-stat.ts), so equal times compare equal.
  const ctimeMs = b.readUInt32BE(at) * 1e3 + b.readUInt32BE(at + 4) / 1e6;
  const mtimeMs = b.readUInt32BE(at + 8) * 1e3 + b.readUInt32BE(at + 12) / 1e6;
  // The index keeps the low 32 bits of the inode number and of the size.
  const same = mtimeMs === st.mtimeMs && ctimeMs === st.ctimeMs && b.readUInt32BE(at + 20) === st.ino % U32 && b.readUInt32BE(at + 36) === st.size % U32;
  return same ? b.toString('hex', at + 40, at + 40 + OID_BYTES) : null;
}

/** Where the index of the work tree holding a directory is, and when it was written (its mtime then). */
export interface GitIndexFile {
  indexFile: string;
  workTree: string;
  writtenMs: number;
}

/** The index of the work tree holding `dir` (or the one `findGitIndex` found), or null (none, or one not read as described above). Never throws. */
export function readGitIndex(from: string | GitIndexFile): GitIndex | null {
  try {
    const found = typeof from === 'string' ? findGitIndex(from) : from;
    return found ? parseIndex(found.indexFile, found.workTree) : null;
  } catch {
    return null;
  }
}

/** The index file of the work tree holding `dir`, without reading it; null as readGitIndex. Never throws. */
export function findGitIndex(dir: string): GitIndexFile | null {
  try {
    const found = findIndexFile(dir);
    const st = found && statSync(found.indexFile, { throwIfNoEntry: false });
    return found && st ? { ...found, writtenMs: st.mtimeMs } : null;
  } catch {
    return null;
  }
}

function findIndexFile(start: string): { indexFile: string; workTree: string } | null {
  if (['GIT_DIR', 'GIT_INDEX_FILE', 'GIT_WORK_TREE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY'].some((v) => process.env[v])) return null;
  for (let dir = path.resolve(start); ; ) {
    const dotGit = path.join(dir, '.git');
    const st = statSync(dotGit, { throwIfNoEntry: false });
    if (st) {
      let gitDir = dotGit;
      if (st.isFile()) {
        // A linked worktree or a submodule: `gitdir: <path>`.
        const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
        if (!m) return null;
        gitDir = path.resolve(dir, m[1]!.trim());
      } else if (!st.isDirectory()) return null;
      let common = gitDir;
      const commonFile = path.join(gitDir, 'commondir');
      if (statSync(commonFile, { throwIfNoEntry: false })) common = path.resolve(gitDir, readFileSync(commonFile, 'utf8').trim());
      const config = readFileSync(path.join(common, 'config'), 'utf8');
      // Another work tree than the directory holding .git, or another object format: not read.
      if (/^\s*worktree\s*=/im.test(config) || /^\s*objectformat\s*=\s*(?!sha1\b)/im.test(config)) return null;
      return { indexFile: path.join(gitDir, 'index'), workTree: dir };
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function parseIndex(indexFile: string, workTree: string): GitIndex | null {
  // One open file: its stat and its bytes are the same version (git replaces the index by a rename).
  const fd = openSync(indexFile, 'r');
  let buf: Buffer;
  let writtenNs: bigint;
  let writtenMs: number;
  try {
    const st = fstatSync(fd, { bigint: true });
    writtenNs = st.mtimeNs;
    writtenMs = Number(st.mtimeMs);
    buf = Buffer.allocUnsafe(Number(st.size));
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, at);
      if (n === 0) return null;
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  if (buf.length < 12 + OID_BYTES || buf.toString('latin1', 0, 4) !== 'DIRC') return null;
  const trailer = buf.subarray(buf.length - OID_BYTES);
  // index.skipHash writes zeros there; otherwise a mismatch is a torn or damaged file.
  if (trailer.some((b) => b !== 0) && !nodeCrypto().createHash('sha1').update(buf.subarray(0, buf.length - OID_BYTES)).digest().equals(trailer)) return null;
  const version = buf.readUInt32BE(4);
  if (version < 2 || version > 4) return null;
  const count = buf.readUInt32BE(8);
  const end = buf.length - OID_BYTES;
  const writtenS = Number(writtenNs / 1_000_000_000n);
  const writtenN = Number(writtenNs % 1_000_000_000n);
  const entries = new Map<string, number>();
  const prefix = workTree.endsWith(path.sep) ? workTree : workTree + path.sep;
  let at = 12;
  let previous: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  for (let i = 0; i < count; i++) {
    const start = at;
    if (start + 40 + OID_BYTES + 2 > end) return null;
    const mtimeS = buf.readUInt32BE(start + 8);
    const mtimeN = buf.readUInt32BE(start + 12);
    const mode = buf.readUInt32BE(start + 24);
    const flags = buf.readUInt16BE(start + 40 + OID_BYTES);
    at = start + 40 + OID_BYTES + 2;
    let extended = 0;
    if (flags & 0x4000) {
      if (version < 3) return null;
      extended = buf.readUInt16BE(at);
      at += 2;
    }
    let name: Buffer<ArrayBufferLike>;
    if (version === 4) {
      // The previous entry's name less `strip` bytes, then this entry's NUL-terminated rest.
      let c = buf[at++]!;
      let strip = c & 0x7f;
      while (c & 0x80) {
        c = buf[at++]!;
        strip = ((strip + 1) << 7) | (c & 0x7f);
      }
      const nul = buf.indexOf(0, at);
      if (nul === -1 || nul >= end || strip > previous.length) return null;
      name = Buffer.concat([previous.subarray(0, previous.length - strip), buf.subarray(at, nul)]);
      at = nul + 1;
    } else {
      const nul = buf.indexOf(0, at);
      if (nul === -1 || nul >= end) return null;
      name = buf.subarray(at, nul);
      // Padded with 1–8 NULs to a multiple of 8 bytes from the entry's start.
      at = start + ((at - start + name.length + 8) & ~7);
    }
    previous = name;
    const regular = (mode & 0o170000) === 0o100000;
    const stage = (flags >> 12) & 3;
    const trusted = regular && stage === 0 && !(flags & 0x8000) && !(extended & 0x6000);
    // Racily clean: git itself would read the file again.
    const racy = mtimeS > writtenS || (mtimeS === writtenS && mtimeN >= writtenN);
    if (!trusted || racy) continue;
    const rel = name.toString('utf8');
    entries.set(prefix + (path.sep === '/' ? rel : rel.split('/').join(path.sep)), start);
  }
  // Extensions: a split index keeps most entries in another file, not read here.
  while (at + 8 <= end) {
    if (buf.toString('latin1', at, at + 4) === 'link') return null;
    at += 8 + buf.readUInt32BE(at + 4);
  }
  return { entries, bytes: buf, writtenMs };
}
