// Long because: packing and receiving one archive format; the receiver's checks mirror the packer's layout line by line and would drift apart in two files.
import { createHash } from 'node:crypto';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { entryKey, type RecordedReads } from '../build-reads.js';
import { fingerprintKey, type Fingerprint } from '../fingerprint.js';
import { restoredFileMode, type CacheManifest, type LogLine, type ManifestDraft, type StoredArtifact } from '../store.js';
import type { Diagnostic } from '../../result/schema.js';
import { ArchiveLimitError, checkEntryPath, createTar, readTar, UnsafeArchiveError, writeEntryFile, type TarEntryHeader, type TarFile } from './tar.js';

/**
 * What goes over the wire for one cache key: a compressed tar of
 *
 *   build-system.json   the entry's manifest (RemoteManifest: no absolute paths, no logs)
 *   logs.jsonl          the original build's tool output, one {stream, line} per line
 *   files/<path>        every artifact, at its package-relative path (dist/index.js → files/dist/index.js)
 *
 * `receiveArtifact` accepts an archive only when it is exactly that, in
 * that order: the manifest describes the requested key (its fingerprint
 * hashes to it), every listed file is present with its size and sha256, and
 * nothing else is in the archive. It reads the archive as it arrives, within
 * byte limits (RemoteCacheConfig.maxArtifactBytes). Anything less is a
 * RemoteArtifactError or UnsafeArchiveError: the caller treats it as a miss.
 */

export const REMOTE_FORMAT = 'build-system-artifact';
export const REMOTE_FORMAT_VERSION = 2;

export interface RemoteManifest {
  format: typeof REMOTE_FORMAT;
  version: typeof REMOTE_FORMAT_VERSION;
  /** The entry key: entryKey(primaryKey, reads). */
  key: string;
  /** The fingerprint's key: what the artifact is stored and looked up under on the server. */
  primaryKey: string;
  createdAt: string;
  /** `dir` relative to the workspace root (posix): absolute paths of the uploading machine stay there. */
  package: { name: string; dir: string };
  outDir: string;
  fingerprint: Fingerprint;
  /** What the build read outside the package (relative paths): checked against this machine's files before use. */
  reads: RecordedReads;
  adapter: CacheManifest['adapter'];
  durationMs: number;
  artifacts: StoredArtifact[];
  diagnostics: Diagnostic[];
}

export class RemoteArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteArtifactError';
  }
}

// --- compression -----------------------------------------------------------------

export type Compression = 'zstd' | 'gzip';

type ZstdZlib = typeof zlib & {
  zstdCompress?: (buf: Buffer, cb: (err: Error | null, out: Buffer) => void) => void;
  createZstdDecompress?: () => Transform;
};
const z = zlib as ZstdZlib;

/**
 * zstd where the runtime's zlib has it (Bun; Node >= 22.15 / 23.8), else gzip
 * (Node 20 has no zstd: checked, research.md R2). Which one a process
 * writes does not matter to readers on the same key: the key holds the
 * runtime name and major version, and a reader detects the format from the
 * magic bytes anyway.
 */
export function compressionForRuntime(): Compression {
  return typeof z.zstdCompress === 'function' && typeof z.createZstdDecompress === 'function' ? 'zstd' : 'gzip';
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

export function detectCompression(body: Buffer): Compression | null {
  if (body.subarray(0, 4).equals(ZSTD_MAGIC)) return 'zstd';
  if (body.subarray(0, 2).equals(GZIP_MAGIC)) return 'gzip';
  return null;
}

async function compress(data: Buffer, how: Compression): Promise<Buffer> {
  // The async forms run in libuv's thread pool: packing an upload never blocks the builds.
  if (how === 'zstd') return promisify(z.zstdCompress!)(data);
  return promisify(zlib.gzip)(data);
}

function runtimeName(): string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  return bun ? `bun ${bun.version}` : `node ${process.versions.node}`;
}

// --- pack ------------------------------------------------------------------------

/** What an entry records about its build: the same in a local entry and in the remote manifest. */
type BuildRecord = Pick<CacheManifest, 'primaryKey' | 'outDir' | 'fingerprint' | 'reads' | 'adapter' | 'durationMs' | 'artifacts' | 'diagnostics'>;

/** Just those fields (never the package dir, logs or integrity), in manifest order. */
function buildRecord(m: BuildRecord): BuildRecord {
  return {
    primaryKey: m.primaryKey,
    outDir: m.outDir,
    fingerprint: m.fingerprint,
    reads: m.reads,
    adapter: m.adapter,
    durationMs: m.durationMs,
    artifacts: m.artifacts,
    diagnostics: m.diagnostics,
  };
}

export interface PackInput {
  manifest: CacheManifest;
  /** Package directory relative to the workspace root (posix). */
  packageDir: string;
  /** Bytes of one artifact (from the local store); must match its sha256. */
  readArtifact(a: StoredArtifact): Promise<Buffer>;
  compression?: Compression;
}

export async function packArtifact(input: PackInput): Promise<{ body: Buffer; compression: Compression; files: number }> {
  const m = input.manifest;
  const remote: RemoteManifest = {
    format: REMOTE_FORMAT,
    version: REMOTE_FORMAT_VERSION,
    key: m.key,
    createdAt: m.createdAt,
    package: { name: m.package.name, dir: input.packageDir },
    ...buildRecord(m),
  };
  const files: TarFile[] = [
    { path: 'build-system.json', data: Buffer.from(JSON.stringify(remote)), mode: 0o644 },
    { path: 'logs.jsonl', data: Buffer.from(m.logs.map((l) => `${JSON.stringify(l)}\n`).join('')), mode: 0o644 },
  ];
  for (const a of m.artifacts) {
    const data = await input.readArtifact(a);
    // Never upload bytes that do not match the manifest: another machine would only refuse them.
    if (sha256(data) !== a.sha256) throw new RemoteArtifactError(`local cache blob of ${a.path} does not match its sha256`);
    files.push({ path: `files/${a.path}`, data, mode: a.mode & 0o777 });
  }
  const compression = input.compression ?? compressionForRuntime();
  return { body: await compress(createTar(files), compression), compression, files: m.artifacts.length };
}

// --- unpack ----------------------------------------------------------------------

/**
 * Most bytes of build-system.json or logs.jsonl, the two entries read into
 * memory. A manifest is a few KB per hundred inputs and outputs; logs are
 * at most 5000 lines (the local store's cap). Everything else goes to disk
 * as it arrives.
 */
export const MAX_METADATA_BYTES = 8 * 1024 ** 2;

export interface ReceiveLimits {
  /** Most bytes the archive may unpack to (RemoteCacheConfig.maxArtifactBytes). */
  maxArtifactBytes: number;
}

/** A verified artifact: its manifest and logs, and every listed file below `root`/files. */
export interface ReceivedArtifact {
  manifest: RemoteManifest;
  logs: LogLine[];
  compression: Compression;
  /** The directory holding files/<path> for every artifact. */
  root: string;
}

/**
 * Unpacks and verifies an artifact for `key` as its compressed bytes arrive
 * from `source`: decompressed (format from the magic bytes), read entry by
 * entry (readTar: every structural check), and held to the artifact format:
 *
 * - build-system.json comes first (our writer's order), and is verified
 *   before any file is written: it describes `key` (its fingerprint hashes
 *   to it), its artifact paths are plain paths inside outDir, listed once,
 *   and their sizes add up to no more than the limit;
 * - every later entry is logs.jsonl, a listed file with exactly the listed
 *   size (checked from the header, before its bytes are read), or a
 *   directory above a listed file; anything else refuses the archive;
 * - a file's sha256 is computed as it is written and must match;
 * - at the end every listed file was present.
 *
 * Files are written below `root`, which must be a fresh directory of ours;
 * on a refusal (RemoteArtifactError, UnsafeArchiveError) the caller removes
 * it. Memory: one chunk at a time, plus the two metadata entries
 * (≤ MAX_METADATA_BYTES each).
 */
export async function receiveArtifact(source: AsyncIterable<Buffer>, key: string, root: string, limits: ReceiveLimits): Promise<ReceivedArtifact> {
  const { compression, chunks } = await sniffCompression(source);
  const decompressor = createDecompressor(compression);
  let decompressError: Error | null = null;
  decompressor.once('error', (e) => (decompressError ??= e));

  let manifest: RemoteManifest | null = null;
  let listed = new Map<string, StoredArtifact>();
  /** Directories a listed file lies in (files/dist, files/dist/sub, ...): the only directory entries accepted. */
  let listedDirs = new Set<string>();
  const written = new Set<string>();
  let logs: LogLine[] = [];

  const visit = async (entry: TarEntryHeader, data: AsyncIterable<Buffer>): Promise<void> => {
    if (manifest === null) {
      if (entry.path !== 'build-system.json' || entry.type !== 'file') throw new RemoteArtifactError(`artifact does not start with build-system.json (it starts with ${entry.path}; not written by build-system?)`);
      manifest = checkManifest(await readMetadata(entry, data), key, limits);
      listed = new Map(manifest.artifacts.map((a) => [a.path, a]));
      listedDirs = new Set(['files', ...manifest.artifacts.flatMap((a) => ancestors(`files/${a.path}`))]);
      return;
    }
    if (entry.type === 'dir') {
      if (!listedDirs.has(entry.path)) throw new RemoteArtifactError(`artifact holds the directory ${entry.path}, which its manifest does not list`);
      return;
    }
    if (entry.path === 'logs.jsonl') {
      logs = parseLogs(await readMetadata(entry, data));
      return;
    }
    const artifact = entry.path.startsWith('files/') ? listed.get(entry.path.slice('files/'.length)) : undefined;
    if (!artifact) throw new RemoteArtifactError(`artifact holds ${entry.path}, which its manifest does not list`);
    if (entry.size !== artifact.bytes) throw new RemoteArtifactError(`${artifact.path} has ${entry.size} bytes, the manifest says ${artifact.bytes}`);
    const hash = createHash('sha256');
    await writeEntryFile(root, entry.path, data, (piece) => hash.update(piece));
    if (hash.digest('hex') !== artifact.sha256) throw new RemoteArtifactError(`${artifact.path} does not match its sha256`);
    written.add(artifact.path);
  };

  try {
    await pipeline(chunks, decompressor, async (tar: AsyncIterable<Buffer>) => {
      await readTar(tar, visit, { maxBytes: limits.maxArtifactBytes }, () => {
        // Checked at the end-of-archive block, before any padding is read: an archive of zeros stops here.
        if (manifest === null) throw new RemoteArtifactError('artifact has no build-system.json (not written by build-system?)');
      });
    });
  } catch (e) {
    if (decompressError !== null && e === decompressError) throw new RemoteArtifactError(`artifact does not decompress (${compression}): ${(e as Error).message}`);
    throw e;
  }
  if (manifest === null) throw new RemoteArtifactError('artifact has no build-system.json (not written by build-system?)');
  for (const a of listed.values()) if (!written.has(a.path)) throw new RemoteArtifactError(`artifact lacks ${a.path}`);
  return { manifest, logs, compression, root };
}

/** An in-memory body through receiveArtifact (tests, small artifacts). */
export function unpackArtifact(body: Buffer, key: string, root: string, limits: ReceiveLimits): Promise<ReceivedArtifact> {
  return receiveArtifact(
    (async function* () {
      yield body;
    })(),
    key,
    root,
    limits,
  );
}

/** Reads the first bytes to tell the compression, and hands back a stream that still starts with them. */
async function sniffCompression(source: AsyncIterable<Buffer>): Promise<{ compression: Compression; chunks: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headBytes = 0;
  let ended = false;
  while (headBytes < ZSTD_MAGIC.byteLength) {
    const step = await it.next();
    if (step.done) {
      ended = true;
      break;
    }
    head.push(step.value);
    headBytes += step.value.byteLength;
  }
  const first = Buffer.concat(head);
  const compression = detectCompression(first);
  if (compression === null) {
    await it.return?.();
    throw new RemoteArtifactError(first.byteLength === 0 ? 'artifact is empty' : 'artifact is neither gzip nor zstd');
  }
  if (compression === 'zstd' && typeof z.createZstdDecompress !== 'function') {
    await it.return?.();
    throw new RemoteArtifactError(`artifact is zstd-compressed, which this runtime (${runtimeName()}) cannot read`);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    let finished = ended;
    try {
      yield first;
      if (finished) return;
      for (;;) {
        const step = await it.next();
        if (step.done) break;
        yield step.value;
      }
      finished = true;
    } finally {
      // Stopped early (a refused archive): the producer (the HTTP body) must stop too.
      if (!finished) await it.return?.();
    }
  }
  return { compression, chunks: rest() };
}

function createDecompressor(how: Compression): Transform {
  // Streams, not the one-shot forms: output is handed on in small chunks as the reader takes them.
  return how === 'zstd' ? z.createZstdDecompress!() : zlib.createGunzip();
}

async function readMetadata(entry: TarEntryHeader, data: AsyncIterable<Buffer>): Promise<Buffer> {
  if (entry.size > MAX_METADATA_BYTES) throw new RemoteArtifactError(`${entry.path} has ${entry.size} bytes; at most ${MAX_METADATA_BYTES} are read`);
  const parts: Buffer[] = [];
  for await (const piece of data) parts.push(piece);
  return Buffer.concat(parts);
}

/** The manifest, checked against the key and the limits before any file of the archive is written. */
function checkManifest(text: Buffer, key: string, limits: ReceiveLimits): RemoteManifest {
  let manifest: RemoteManifest;
  try {
    manifest = JSON.parse(text.toString('utf8')) as RemoteManifest;
  } catch {
    throw new RemoteArtifactError('build-system.json is not valid JSON');
  }
  if (manifest?.format !== REMOTE_FORMAT || manifest.version !== REMOTE_FORMAT_VERSION) {
    throw new RemoteArtifactError(`artifact format ${JSON.stringify(manifest?.format)} v${JSON.stringify(manifest?.version)} is not ${REMOTE_FORMAT} v${REMOTE_FORMAT_VERSION}`);
  }
  // Stored under the fingerprint's key: an artifact whose fingerprint does not hash to it describes another build.
  if (manifest.primaryKey !== key) throw new RemoteArtifactError(`artifact is for key ${String(manifest.primaryKey).slice(0, 12)}, not ${key.slice(0, 12)}`);
  if (typeof manifest.fingerprint !== 'object' || manifest.fingerprint === null || fingerprintKey(manifest.fingerprint) !== key) {
    throw new RemoteArtifactError('artifact fingerprint does not hash to its key');
  }
  if (!isRecordedReads(manifest.reads)) throw new RemoteArtifactError('artifact reads are malformed or name files by absolute paths');
  if (entryKey(key, manifest.reads) !== manifest.key) throw new RemoteArtifactError('artifact reads do not hash to its entry key');
  if (typeof manifest.outDir !== 'string' || !Array.isArray(manifest.artifacts) || !Array.isArray(manifest.diagnostics)) {
    throw new RemoteArtifactError('build-system.json lacks outDir, artifacts or diagnostics');
  }
  if (typeof manifest.package?.name !== 'string' || typeof manifest.adapter?.name !== 'string' || typeof manifest.durationMs !== 'number') {
    throw new RemoteArtifactError('build-system.json lacks package, adapter or durationMs');
  }
  const paths = new Set<string>();
  let total = 0;
  for (const a of manifest.artifacts) {
    if (typeof a?.path !== 'string' || typeof a.sha256 !== 'string' || !Number.isSafeInteger(a.bytes) || a.bytes < 0 || !Number.isInteger(a.mode)) {
      throw new RemoteArtifactError('build-system.json has a malformed artifact');
    }
    let normalized: string;
    try {
      normalized = checkEntryPath(a.path, 'file');
    } catch (e) {
      throw new RemoteArtifactError(`artifact path refused: ${(e as Error).message}`);
    }
    if (normalized !== a.path || !a.path.startsWith(`${manifest.outDir}/`)) throw new RemoteArtifactError(`artifact path ${a.path} is not a plain path inside outDir ${manifest.outDir}`);
    if (paths.has(a.path)) throw new RemoteArtifactError(`artifact path ${a.path} is listed twice`);
    paths.add(a.path);
    total += a.bytes;
  }
  if (total > limits.maxArtifactBytes) throw new ArchiveLimitError(`its files add up to ${total} bytes, more than the ${limits.maxArtifactBytes} allowed`);
  return manifest;
}

function parseLogs(text: Buffer): LogLine[] {
  const logs: LogLine[] = [];
  for (const line of text.toString('utf8').split('\n')) {
    if (line === '') continue;
    try {
      const l = JSON.parse(line) as LogLine;
      if ((l.stream === 'stdout' || l.stream === 'stderr') && typeof l.line === 'string') logs.push({ stream: l.stream, line: l.line });
    } catch {
      throw new RemoteArtifactError('logs.jsonl is malformed');
    }
  }
  return logs;
}

/** "files/dist/a/b.js" → ["files", "files/dist", "files/dist/a"]. */
function ancestors(p: string): string[] {
  const parts = p.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * The local cache entry a verified remote artifact becomes (this machine's
 * package dir). Modes keep only what restoredFileMode keeps: no setuid,
 * setgid, sticky or world-writable bit reaches the store.
 */
export function localDraft(received: ReceivedArtifact, packageDirAbs: string): ManifestDraft {
  const m = received.manifest;
  const record = buildRecord(m);
  return {
    key: m.key,
    package: { name: m.package.name, dir: packageDirAbs },
    ...record,
    artifacts: record.artifacts.map((a) => ({ ...a, mode: restoredFileMode(a.mode) })),
    logs: received.logs,
  };
}

export { ArchiveLimitError, UnsafeArchiveError };

function isRecordedReads(v: unknown): v is RecordedReads {
  if (typeof v !== 'object' || v === null) return false;
  const { files, dirs, manifests, env } = v as { files?: unknown; dirs?: unknown; manifests?: unknown; env?: unknown };
  // A directory may be recorded by its compilable names only (`ts:`/`js:`, `-<name>:` for one left out, + hash: read-hashes.ts).
  const record = (x: unknown, nullable: boolean, hash = /^[0-9a-f]{64}$/) =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every((h) => (nullable && h === null) || (typeof h === 'string' && hash.test(h)));
  // Only files relative to the package are shared: an absolute one is a file of the uploading machine. A path that
  // must be absent (a tsconfig looked for above the workspace) may be absolute: checking it is one stat.
  const absolute = (p: string) => p.startsWith('/') || /^[A-Za-z]:/.test(p);
  return (
    record(files, true) &&
    record(dirs, false, /^([tj]s:(-[^:/]*:)?)?[0-9a-f]{64}$/) &&
    record(manifests, false) &&
    (env === undefined || record(env, true)) &&
    Object.entries(files as Record<string, string | null>).every(([p, h]) => h === null || !absolute(p)) &&
    Object.keys(dirs as object).every((p) => !absolute(p)) &&
    Object.keys(manifests as object).every((p) => !absolute(p))
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
