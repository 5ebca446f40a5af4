import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { entryKey, type RecordedReads } from '../build-reads.js';
import { fingerprintKey, type Fingerprint } from '../fingerprint.js';
import type { CacheManifest, LogLine, ManifestDraft, StoredArtifact } from '../store.js';
import type { Diagnostic } from '../../result/schema.js';
import { checkEntryPath, createTar, parseTar, UnsafeArchiveError, type TarEntry, type TarFile } from './tar.js';

/**
 * What goes over the wire for one cache key: a compressed tar of
 *
 *   build-system.json   the entry's manifest (RemoteManifest: no absolute paths, no logs)
 *   logs.jsonl          the original build's tool output, one {stream, line} per line
 *   files/<path>        every artifact, at its package-relative path (dist/index.js → files/dist/index.js)
 *
 * `unpackArtifact` accepts an archive only when it is exactly that: the
 * manifest describes the requested key (its fingerprint hashes to it), every
 * listed file is present with its size and sha256, and nothing else is in
 * the archive. Anything less is a RemoteArtifactError: the caller treats it
 * as a miss.
 */

export const REMOTE_FORMAT = 'build-system-artifact';
export const REMOTE_FORMAT_VERSION = 2;
/** Most bytes an archive may unpack to; a compressed bomb stops here. */
export const MAX_UNPACKED_BYTES = 1024 ** 3;

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
  zstdDecompress?: (buf: Buffer, opts: { maxOutputLength: number }, cb: (err: Error | null, out: Buffer) => void) => void;
};
const z = zlib as ZstdZlib;

/**
 * zstd where the runtime's zlib has it (Bun; Node >= 22.15 / 23.8), else gzip
 * (Node 20 has no zstd: checked, research-remote.md). Which one a process
 * writes does not matter to readers on the same key: the key holds the
 * runtime name and major version, and a reader detects the format from the
 * magic bytes anyway.
 */
export function compressionForRuntime(): Compression {
  return typeof z.zstdCompress === 'function' && typeof z.zstdDecompress === 'function' ? 'zstd' : 'gzip';
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

async function decompress(body: Buffer): Promise<Buffer> {
  const how = detectCompression(body);
  if (how === null) throw new RemoteArtifactError('artifact is neither gzip nor zstd');
  if (how === 'zstd' && typeof z.zstdDecompress !== 'function') {
    throw new RemoteArtifactError(`artifact is zstd-compressed, which this runtime (${runtimeName()}) cannot read`);
  }
  try {
    if (how === 'zstd') {
      return await new Promise<Buffer>((resolve, reject) => z.zstdDecompress!(body, { maxOutputLength: MAX_UNPACKED_BYTES }, (err, out) => (err ? reject(err) : resolve(out))));
    }
    return await promisify(zlib.gunzip)(body, { maxOutputLength: MAX_UNPACKED_BYTES } as zlib.ZlibOptions);
  } catch (e) {
    throw new RemoteArtifactError(`artifact does not decompress (${how}): ${(e as Error).message}`);
  }
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

export interface UnpackedArtifact {
  manifest: RemoteManifest;
  logs: LogLine[];
  /** Verified file entries, by artifact path. */
  files: Map<string, TarEntry & { type: 'file' }>;
  compression: Compression;
}

/**
 * Decompresses, parses (refusing unsafe entries) and verifies an artifact
 * for `key`, in memory. Nothing is written: the caller extracts the checked
 * entries. Throws RemoteArtifactError / UnsafeArchiveError.
 */
export async function unpackArtifact(body: Buffer, key: string): Promise<UnpackedArtifact> {
  const compression = detectCompression(body);
  const entries = parseTar(await decompress(body));
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const manifestEntry = byPath.get('build-system.json');
  if (!manifestEntry || manifestEntry.type !== 'file') throw new RemoteArtifactError('artifact has no build-system.json (not written by build-system?)');
  let manifest: RemoteManifest;
  try {
    manifest = JSON.parse(manifestEntry.data.toString('utf8')) as RemoteManifest;
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

  const files = new Map<string, TarEntry & { type: 'file' }>();
  for (const a of manifest.artifacts) {
    if (typeof a?.path !== 'string' || typeof a.sha256 !== 'string' || typeof a.bytes !== 'number' || typeof a.mode !== 'number') {
      throw new RemoteArtifactError('build-system.json has a malformed artifact');
    }
    let normalized: string;
    try {
      normalized = checkEntryPath(a.path, 'file');
    } catch (e) {
      throw new RemoteArtifactError(`artifact path refused: ${(e as Error).message}`);
    }
    if (normalized !== a.path || !a.path.startsWith(`${manifest.outDir}/`)) throw new RemoteArtifactError(`artifact path ${a.path} is not a plain path inside outDir ${manifest.outDir}`);
    const entry = byPath.get(`files/${a.path}`);
    if (!entry || entry.type !== 'file') throw new RemoteArtifactError(`artifact lacks ${a.path}`);
    if (entry.data.byteLength !== a.bytes) throw new RemoteArtifactError(`${a.path} has ${entry.data.byteLength} bytes, the manifest says ${a.bytes}`);
    if (sha256(entry.data) !== a.sha256) throw new RemoteArtifactError(`${a.path} does not match its sha256`);
    files.set(a.path, entry);
  }
  for (const e of entries) {
    if (e.type === 'dir' || e.path === 'build-system.json' || e.path === 'logs.jsonl') continue;
    if (!e.path.startsWith('files/') || !files.has(e.path.slice('files/'.length))) throw new RemoteArtifactError(`artifact holds ${e.path}, which its manifest does not list`);
  }

  const logs: LogLine[] = [];
  const logEntry = byPath.get('logs.jsonl');
  if (logEntry?.type === 'file') {
    for (const line of logEntry.data.toString('utf8').split('\n')) {
      if (line === '') continue;
      try {
        const l = JSON.parse(line) as LogLine;
        if ((l.stream === 'stdout' || l.stream === 'stderr') && typeof l.line === 'string') logs.push({ stream: l.stream, line: l.line });
      } catch {
        throw new RemoteArtifactError('logs.jsonl is malformed');
      }
    }
  }
  return { manifest, logs, files, compression: compression! };
}

/** The local cache entry a verified remote artifact becomes (this machine's package dir). */
export function localDraft(unpacked: UnpackedArtifact, packageDirAbs: string): ManifestDraft {
  const m = unpacked.manifest;
  return {
    key: m.key,
    package: { name: m.package.name, dir: packageDirAbs },
    ...buildRecord(m),
    logs: unpacked.logs,
  };
}

export { UnsafeArchiveError };

function isRecordedReads(v: unknown): v is RecordedReads {
  if (typeof v !== 'object' || v === null) return false;
  const { files, dirs } = v as { files?: unknown; dirs?: unknown };
  const record = (x: unknown, nullable: boolean) =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every((h) => (nullable && h === null) || (typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)));
  // Only files relative to the package are shared: an absolute one is a file of the uploading machine. A path that
  // must be absent (a tsconfig looked for above the workspace) may be absolute: checking it is one stat.
  const absolute = (p: string) => p.startsWith('/') || /^[A-Za-z]:/.test(p);
  return (
    record(files, true) &&
    record(dirs, false) &&
    Object.entries(files as Record<string, string | null>).every(([p, h]) => h === null || !absolute(p)) &&
    Object.keys(dirs as object).every((p) => !absolute(p))
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
