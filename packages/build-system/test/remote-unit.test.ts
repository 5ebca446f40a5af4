import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compressionForRuntime, detectCompression, localDraft, packArtifact, receiveArtifact, unpackArtifact } from '../src/cache/remote/artifact.js';
import { redact, redactArgv, resolveRemoteCacheConfig, Secret } from '../src/cache/remote/config.js';
import { MAX_SMALL_ANSWER_BYTES, RemoteHttpClient, type RemoteTransportError } from '../src/cache/remote/http.js';
import { artifactTag, checkArtifactTag } from '../src/cache/remote/signature.js';
import { ArchiveLimitError, createTar, extractTar, parseTar, readTar, UnsafeArchiveError } from '../src/cache/remote/tar.js';
import { entryKey } from '../src/cache/build-reads.js';
import { fingerprintKey, type Fingerprint } from '../src/cache/fingerprint.js';
import type { CacheManifest } from '../src/cache/store.js';
import { packageRoot, repoRoot } from './helpers/fixture.js';

/**
 * The remote cache's pure parts: the ustar writer/reader and its refusals,
 * signatures (against openssl, an independent HMAC), configuration and
 * secret handling, and the artifact format. The end-to-end behaviour against
 * the real server is in remote-cache.test.ts.
 */

const temp: string[] = [];
afterAll(() => temp.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'bs-remote-unit-'));
  temp.push(d);
  return d;
}

/** A raw ustar header written here, independently of tar.ts, for archives our writer refuses to make. */
function rawHeader(name: string, opts: { type?: string; size?: number; link?: string; mode?: number; badChecksum?: boolean } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write(`${(opts.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b.write(`${(opts.size ?? 0).toString(8).padStart(11, '0')}\0`, 124);
  b.write('00000000000\0', 136);
  b.write(opts.type ?? '0', 156);
  if (opts.link) b.write(opts.link, 157, 100, 'utf8');
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  if (opts.badChecksum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

/** `data` as a stream of `size`-byte chunks, the way a download arrives; `pulled` counts the chunks taken. */
function chunked(data: Buffer, size = 16 * 1024, pulled = { chunks: 0 }): AsyncGenerator<Buffer> {
  return (async function* () {
    for (let at = 0; at < data.byteLength; at += size) {
      pulled.chunks++;
      yield data.subarray(at, at + size);
    }
  })();
}

/** Relative paths of every file below dir. */
function listTree(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) => {
    const r = rel ? `${rel}/${d.name}` : d.name;
    return d.isDirectory() ? listTree(dir, r) : [r];
  });
}

/** A pax extended header carrying one record (`key=value`), then its padding. */
function paxEntry(record: string): Buffer {
  const body = ` ${record}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  const data = Buffer.from(`${len}${body}`);
  return Buffer.concat([rawHeader('PaxHeader/x', { type: 'x', size: data.byteLength }), data, Buffer.alloc((512 - (data.byteLength % 512)) % 512)]);
}

function rawTar(entries: { name: string; data?: string; type?: string; link?: string; badChecksum?: boolean }[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    parts.push(rawHeader(e.name, { type: e.type, size: data.byteLength, link: e.link, badChecksum: e.badChecksum }));
    if (data.byteLength) parts.push(Buffer.concat([data, Buffer.alloc((512 - (data.byteLength % 512)) % 512)]));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

describe('tar writer and reader', () => {
  const files = [
    { path: 'build-system.json', data: Buffer.from('{"a":1}'), mode: 0o644 },
    { path: 'files/dist/bin.js', data: Buffer.from('#!/usr/bin/env node\n'), mode: 0o755 },
    { path: 'files/dist/empty.js', data: Buffer.alloc(0), mode: 0o644 },
    // 100 < length <= 255: ustar prefix + name.
    { path: `files/${'d'.repeat(90)}/${'f'.repeat(60)}.js`, data: Buffer.from('x'.repeat(1000)), mode: 0o644 },
    // Longer than ustar can hold: pax path record.
    { path: `files/${'p'.repeat(200)}/${'q'.repeat(120)}.js`, data: Buffer.from('long'), mode: 0o644 },
  ];

  it('round-trips paths, bytes and modes, and is deterministic', async () => {
    const tar = createTar(files);
    expect(tar.byteLength % 512).toBe(0);
    expect(createTar(files).equals(tar)).toBe(true);
    const entries = await parseTar(tar);
    expect(entries.map((e) => e.path)).toEqual(files.map((f) => f.path));
    for (const [i, e] of entries.entries()) {
      expect(e.type).toBe('file');
      if (e.type === 'file') {
        expect(e.data.equals(files[i]!.data)).toBe(true);
        expect(e.mode).toBe(files[i]!.mode);
      }
    }
  });

  it('writes archives GNU tar reads, and reads archives GNU tar writes', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'ours.tar'), createTar(files));
    mkdirSync(path.join(dir, 'out'));
    const x = spawnSync('tar', ['-xf', path.join(dir, 'ours.tar'), '-C', path.join(dir, 'out')], { encoding: 'utf8' });
    expect(x.status, x.stderr).toBe(0);
    for (const f of files) expect(readFileSync(path.join(dir, 'out', f.path)).equals(f.data)).toBe(true);

    // GNU tar's own ustar output (with a directory entry) through our reader.
    const c = spawnSync('tar', ['--format=ustar', '-cf', path.join(dir, 'theirs.tar'), '-C', path.join(dir, 'out'), 'files/dist'], { encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    // GNU tar pads to a 10 KiB record: zeros after the end marker are fine.
    const theirs = await parseTar(readFileSync(path.join(dir, 'theirs.tar')));
    expect(theirs.filter((e) => e.type === 'file').map((e) => e.path).sort()).toEqual(['files/dist/bin.js', 'files/dist/empty.js']);
    expect(theirs.some((e) => e.type === 'dir' && e.path === 'files/dist')).toBe(true);
  });

  const refused: [string, Buffer, RegExp][] = [
    ['a ../ entry', rawTar([{ name: 'ok.txt', data: 'fine' }, { name: '../escape.txt', data: 'evil' }]), /"\.\." in a path/],
    ['a ../ deeper in the path', rawTar([{ name: 'files/dist/../../../escape.txt', data: 'evil' }]), /"\.\." in a path/],
    ['an absolute path', rawTar([{ name: '/tmp/escape.txt', data: 'evil' }]), /absolute path/],
    ['a Windows drive path', rawTar([{ name: 'C:/escape.txt', data: 'evil' }]), /absolute path/],
    ['a backslash path', rawTar([{ name: '..\\escape.txt', data: 'evil' }]), /backslash/],
    ['a symlink pointing outside', rawTar([{ name: 'files/dist/link', type: '2', link: '../../../../etc' }]), /points outside the package/],
    ['an absolute symlink', rawTar([{ name: 'files/link', type: '2', link: '/etc/passwd' }]), /points outside the package \(absolute/],
    ['a hard link pointing outside', rawTar([{ name: 'files/hard', type: '1', link: '../outside' }]), /points outside the package/],
    ['a symlink inside (artifacts hold none)', rawTar([{ name: 'files/a.js', data: 'x' }, { name: 'files/b.js', type: '2', link: 'a.js' }]), /only regular files/],
    ['a character device', rawTar([{ name: 'files/dev', type: '3' }]), /entry type "3"/],
    ['a GNU long name', rawTar([{ name: '././@LongLink', type: 'L', data: '../../escape.txt' }]), /entry type "L"/],
    ['a damaged header', rawTar([{ name: 'files/a.js', data: 'x', badChecksum: true }]), /bad checksum/],
    ['a truncated archive', rawTar([{ name: 'files/a.js', data: 'x'.repeat(2000) }], false).subarray(0, 1024), /claims 2000 bytes|truncated/],
    ['no end marker', rawTar([{ name: 'files/a.js', data: 'x' }], false), /truncated/],
    ['a duplicate path', rawTar([{ name: 'files/a.js', data: 'x' }, { name: './files//a.js', data: 'y' }]), /appears twice/],
    ['a file used as a directory', rawTar([{ name: 'files/a', data: 'x' }, { name: 'files/a/b', data: 'y' }]), /which is a file/],
    ['a directory used as a file', rawTar([{ name: 'files/a/b', data: 'y' }, { name: 'files/a', data: 'x' }]), /which is a file/],
    ['a hard link inside (artifacts hold none)', rawTar([{ name: 'files/a.js', data: 'x' }, { name: 'files/b.js', type: '1', link: 'files/a.js' }]), /hard link; .*only regular files/],
    ['an absolute hard link', rawTar([{ name: 'files/hard', type: '1', link: '/etc/shadow' }]), /points outside the package \(absolute/],
    ['a block device', rawTar([{ name: 'files/sda', type: '4' }]), /entry type "4"/],
    ['a fifo', rawTar([{ name: 'files/pipe', type: '6' }]), /entry type "6"/],
    ['a pax path that climbs out', Buffer.concat([paxEntry(`path=files/../../escape.txt`), rawTar([{ name: 'files/innocent.txt', data: 'evil' }])]), /"\.\." in a path/],
    ['a pax header larger than any path', Buffer.concat([paxEntry(`comment=${'x'.repeat(70 * 1024)}`), rawTar([{ name: 'files/a.js', data: 'x' }])]), /pax header .* at most 65536/],
    ['data after the end of the archive', Buffer.concat([rawTar([{ name: 'files/a.js', data: 'x' }]), Buffer.from('more')]), /data after the end of the archive/],
    ['more padding after the end than any writer adds', Buffer.concat([rawTar([{ name: 'files/a.js', data: 'x' }]), Buffer.alloc(80 * 1024)]), /more than 65536 bytes of padding/],
  ];
  for (const [what, tar, reason] of refused) {
    it(`refuses ${what}, writing nothing outside the extraction root`, async () => {
      const sandbox = tempDir();
      const root = path.join(sandbox, 'a', 'b', 'root');
      mkdirSync(root, { recursive: true });
      // As every caller extracts: entry by entry as the bytes arrive, the first bad one ending it.
      await expect(extractTar(chunked(tar, 100), root, { maxBytes: 1024 ** 2 })).rejects.toThrow(reason);
      // Entries before the refused one may stand below root (the caller removes it); nothing anywhere else.
      expect(readdirSync(sandbox)).toEqual(['a']);
      expect(readdirSync(path.join(sandbox, 'a'))).toEqual(['b']);
      expect(readdirSync(path.join(sandbox, 'a', 'b'))).toEqual(['root']);
      expect(listTree(root).every((f) => ['ok.txt', 'files/a.js', 'files/a', 'files/a/b'].includes(f)), listTree(root).join(', ')).toBe(true);
      expect(existsSync('/tmp/escape.txt')).toBe(false);
    });
  }

  it('extraction never follows a link already in the target, nor overwrites a file', async () => {
    const sandbox = tempDir();
    const root = path.join(sandbox, 'root');
    mkdirSync(root);
    const outside = path.join(sandbox, 'outside.txt');
    writeFileSync(outside, 'original');
    symlinkSync(outside, path.join(root, 'victim.txt'));
    await expect(extractTar(chunked(createTar([{ path: 'victim.txt', data: Buffer.from('evil'), mode: 0o644 }])), root, { maxBytes: 1024 ** 2 })).rejects.toThrow(/EEXIST|ELOOP/);
    expect(readFileSync(outside, 'utf8')).toBe('original');
  });

  it('the writer refuses what the reader refuses', () => {
    expect(() => createTar([{ path: '../x', data: Buffer.from(''), mode: 0o644 }])).toThrow(UnsafeArchiveError);
    expect(() => createTar([{ path: '/abs', data: Buffer.from(''), mode: 0o644 }])).toThrow(UnsafeArchiveError);
  });
});

describe('signatures (x-artifact-tag)', () => {
  const key = new Secret('sig-key-for-tests');
  const hash = 'a'.repeat(64);
  const body = Buffer.from('the artifact body as bytes');

  it('is base64 HMAC-SHA256 over {"hash","teamId"} JSON then the body, as openssl computes it', () => {
    const input = Buffer.concat([Buffer.from(`{"hash":"${hash}","teamId":"team_abc"}`), body]);
    const dir = tempDir();
    writeFileSync(path.join(dir, 'input'), input);
    const r = spawnSync('openssl', ['dgst', '-sha256', '-hmac', 'sig-key-for-tests', '-binary', path.join(dir, 'input')]);
    expect(r.status).toBe(0);
    const expected = r.stdout.toString('base64').replace(/=+$/, '');
    expect(artifactTag(key, hash, 'team_abc', body)).toBe(expected);
  });

  it('accepts the right tag (padded or not) and names what is wrong otherwise', () => {
    const tag = artifactTag(key, hash, 'slug', body);
    expect(checkArtifactTag(key, hash, 'slug', body, tag)).toBeNull();
    expect(checkArtifactTag(key, hash, 'slug', body, `${tag}=`)).toBeNull();
    expect(checkArtifactTag(key, hash, 'slug', body, undefined)).toMatch(/no x-artifact-tag/);
    expect(checkArtifactTag(key, hash, 'slug', Buffer.concat([body, Buffer.from('!')]), tag)).toMatch(/does not match/);
    expect(checkArtifactTag(key, 'b'.repeat(64), 'slug', body, tag)).toMatch(/does not match/);
    expect(checkArtifactTag(key, hash, 'other-team', body, tag)).toMatch(/does not match/);
    expect(checkArtifactTag(new Secret('another-key'), hash, 'slug', body, tag)).toMatch(/does not match/);
  });
});

describe('configuration and secrets', () => {
  it('flags win over BUILD_SYSTEM_* env, which win over TURBO_*; no URL means no remote', () => {
    const env = { TURBO_API: 'http://turbo.example:1', TURBO_TOKEN: 'turbo-token', TURBO_TEAM: 'team_123' };
    const fromTurbo = resolveRemoteCacheConfig(undefined, env)!;
    expect(fromTurbo.baseUrl).toBe('http://turbo.example:1');
    expect(fromTurbo.token!.reveal()).toBe('turbo-token');
    expect(fromTurbo.team).toEqual({ param: 'teamId', value: 'team_123' });
    const ours = resolveRemoteCacheConfig(undefined, { ...env, BUILD_SYSTEM_REMOTE_CACHE_URL: 'https://ours.example/api/', BUILD_SYSTEM_REMOTE_CACHE_TEAM: 'my-slug' })!;
    expect(ours.baseUrl).toBe('https://ours.example/api');
    expect(ours.team).toEqual({ param: 'slug', value: 'my-slug' });
    const flags = resolveRemoteCacheConfig({ url: 'http://flag.example', token: 'flag-token', readOnly: true, requestTimeoutMs: 1500 }, env)!;
    expect(flags.baseUrl).toBe('http://flag.example');
    expect(flags.token!.reveal()).toBe('flag-token');
    expect(flags.readOnly).toBe(true);
    expect(flags.requestTimeoutMs).toBe(1500);
    expect(resolveRemoteCacheConfig(undefined, { TURBO_TOKEN: 'x' })).toBeNull();
    expect(resolveRemoteCacheConfig(false, env)).toBeNull();
    expect(() => resolveRemoteCacheConfig({ url: 'not a url' }, {})).toThrow(/not a URL/);
    expect(() => resolveRemoteCacheConfig({ url: 'ftp://x' }, {})).toThrow(/http/);
  });

  it('secrets never print, and are scrubbed from text and argv', () => {
    const c = resolveRemoteCacheConfig({ url: 'http://user:pw@host.example/', token: 'tok-SECRET-123', signatureKey: 'key-SECRET-456' }, {})!;
    expect(c.displayUrl).toBe('http://host.example');
    const printed = [JSON.stringify(c), inspect(c, { depth: 5 }), String(c.token), `${c.signatureKey}`].join('\n');
    expect(printed).not.toContain('SECRET');
    expect(redact('Bearer tok-SECRET-123 / tok-SECRET-123 / key-SECRET-456', c.secrets)).toBe('Bearer [redacted] / [redacted] / [redacted]');
    expect(redactArgv(['build', '--remote-cache-token', 'tok', '--remote-cache-signature-key=k', '--json'])).toEqual([
      'build',
      '--remote-cache-token',
      '[redacted]',
      '--remote-cache-signature-key=[redacted]',
      '--json',
    ]);
  });
});

describe('artifact format', () => {
  const fingerprint = { version: 1, note: 'any object hashes to a key' } as unknown as Fingerprint;
  // Artifacts are stored under the fingerprint's key; the entry key adds what the build read.
  const key = fingerprintKey(fingerprint);
  // Directories in each recorded form (read-hashes.ts): all names, compilable names, the package's own without its outDir.
  const reads = { files: { '../../tsconfig.base.json': 'a'.repeat(64) }, dirs: { src: 'b'.repeat(64), types: `ts:${'c'.repeat(64)}`, '.': `js:-dist:${'d'.repeat(64)}` }, manifests: {}, env: { BS_SET: 'e'.repeat(64), BS_UNSET: null } };
  const js = Buffer.from('export const a = 1;\n');
  const manifest: CacheManifest = {
    manifestVersion: 2,
    key: entryKey(key, reads),
    primaryKey: key,
    reads,
    createdAt: '2026-01-01T00:00:00.000Z',
    package: { name: '@x/a', dir: '/machine/a/packages/a' },
    outDir: 'dist',
    fingerprint,
    adapter: { name: 'esbuild', version: '0.0.0', reason: 'test' },
    durationMs: 12,
    artifacts: [{ path: 'dist/index.js', bytes: js.byteLength, sha256: createHash('sha256').update(js).digest('hex'), kind: 'js', mode: 0o644 }],
    diagnostics: [],
    logs: [{ stream: 'stdout', line: 'built' }],
    integrity: 'not checked here',
  };
  const pack = () => packArtifact({ manifest, packageDir: 'packages/a', readArtifact: async () => js, compression: 'gzip' });

  const limits = { maxArtifactBytes: 1024 ** 2 };
  const unpack = (body: Buffer, k = key, l = limits) => unpackArtifact(body, k, tempDir(), l);
  /** The archive's files in order, to rebuild it altered. */
  const filesOf = async (body: Buffer) =>
    (await parseTar(gunzipSync(body))).flatMap((e) => (e.type === 'file' ? [{ path: e.path, data: Buffer.from(e.data), mode: e.mode }] : []));

  it('packs outputs, manifest and logs; unpacking verifies them against the key and writes the files', async () => {
    const { body } = await pack();
    expect(detectCompression(body)).toBe('gzip');
    const un = await unpack(body);
    expect(un.manifest.package).toEqual({ name: '@x/a', dir: 'packages/a' });
    expect(JSON.stringify(un.manifest)).not.toContain('/machine/');
    expect(un.logs).toEqual([{ stream: 'stdout', line: 'built' }]);
    expect(readFileSync(path.join(un.root, 'files/dist/index.js')).equals(js)).toBe(true);
    // Written owner-only: the mode a restore gives it comes from the manifest, masked (restoredFileMode).
    expect(statSync(path.join(un.root, 'files/dist/index.js')).mode & 0o777).toBe(0o600);
    await expect(unpack(body, 'f'.repeat(64))).rejects.toThrow(/is for key/);
  });

  it('refuses an archive whose files do not match the manifest, that holds extra files, or is out of order', async () => {
    const { body } = await pack();
    const files = await filesOf(body);
    const tamper = (change: (f: typeof files) => void) => {
      const copy = files.map((f) => ({ ...f, data: Buffer.from(f.data) }));
      change(copy);
      return gzipSync(createTar(copy));
    };
    await expect(unpack(tamper((f) => (f[2]!.data = Buffer.from('export const a = 2;\n'))))).rejects.toThrow(/does not match its sha256/);
    await expect(unpack(tamper((f) => (f[2]!.data = Buffer.from('export const a = 22;\n'))))).rejects.toThrow(/has 21 bytes, the manifest says 20/);
    await expect(unpack(tamper((f) => f.push({ path: 'files/dist/extra.js', data: Buffer.from(''), mode: 0o644 })))).rejects.toThrow(/does not list/);
    await expect(unpack(tamper((f) => f.splice(2, 1)))).rejects.toThrow(/lacks dist\/index.js/);
    await expect(unpack(tamper((f) => f.reverse()))).rejects.toThrow(/does not start with build-system.json/);
    await expect(unpack(body.subarray(0, body.byteLength - 20))).rejects.toThrow(/does not decompress/);
    await expect(unpack(Buffer.from('<html>not an artifact</html>'))).rejects.toThrow(/neither gzip nor zstd/);
    await expect(unpack(Buffer.alloc(0))).rejects.toThrow(/artifact is empty/);
    // The recorded reads are part of the entry key: changed reads, or reads naming files by absolute paths, are refused.
    const withManifest = (change: (m: Record<string, unknown>) => void) =>
      tamper((f) => {
        const m = JSON.parse(f[0]!.data.toString('utf8')) as Record<string, unknown>;
        change(m);
        f[0]!.data = Buffer.from(JSON.stringify(m));
      });
    await expect(unpack(withManifest((m) => (m.reads = { files: {}, dirs: {}, manifests: {} })))).rejects.toThrow(/reads do not hash to its entry key/);
    await expect(
      unpack(
        withManifest((m) => {
          m.reads = { files: { '/etc/hostname': 'a'.repeat(64) }, dirs: {}, manifests: {} };
          m.key = entryKey(key, m.reads as never);
        }),
      ),
    ).rejects.toThrow(/malformed or name files by absolute paths/);
    // Env values are recorded as hashes only (a value may be a secret): anything else is no entry any build writes.
    await expect(
      unpack(
        withManifest((m) => {
          m.reads = { ...reads, env: { BS_SET: 'plain value' } };
          m.key = entryKey(key, m.reads as never);
        }),
      ),
    ).rejects.toThrow(/malformed or name files by absolute paths/);
  });

  it('keeps no setuid, setgid, sticky or world-writable bit of a remote manifest', async () => {
    const { body } = await pack();
    const files = await filesOf(body);
    const remote = JSON.parse(files[0]!.data.toString()) as { artifacts: { mode: number }[] };
    remote.artifacts[0]!.mode = 0o7777;
    files[0]!.data = Buffer.from(JSON.stringify(remote));
    files[2]!.mode = 0o7777;
    const un = await unpack(gzipSync(createTar(files)));
    expect(localDraft(un, '/here/packages/a').artifacts[0]!.mode).toBe(0o775);
    // The file as unpacked: owner-only, whatever the header said.
    expect(statSync(path.join(un.root, 'files/dist/index.js')).mode & 0o7777).toBe(0o600);
  });

  it('enforces the limits as bytes arrive: declared sizes, unpacked bytes, metadata', async () => {
    const { body } = await pack();
    const files = await filesOf(body);
    // Declared sizes over the limit: refused at the manifest, before any file.
    const remote = JSON.parse(files[0]!.data.toString()) as { artifacts: { bytes: number }[] };
    remote.artifacts[0]!.bytes = 2 * 1024 ** 2;
    await expect(unpack(gzipSync(createTar([{ ...files[0]!, data: Buffer.from(JSON.stringify(remote)) }, ...files.slice(1)])))).rejects.toThrow(ArchiveLimitError);

    // Logs of 3 MiB against a 1 MiB limit: the byte count stops the read long before the end.
    const logs = Buffer.from(`${JSON.stringify({ stream: 'stdout', line: 'x'.repeat(1000) })}\n`.repeat(3 * 1024));
    const big = gzipSync(createTar([files[0]!, { path: 'logs.jsonl', data: logs, mode: 0o644 }, files[2]!]), { level: 1 });
    const pulled = { chunks: 0 };
    await expect(receiveArtifact(chunked(big, 1024, pulled), key, tempDir(), limits)).rejects.toThrow(/archive unpacks to more than 1048576 bytes/);
    // The compressed body is ~1/100 of the logs: far from all of it was taken when the limit stopped the read.
    expect(pulled.chunks).toBeLessThan(Math.ceil(big.byteLength / 1024));

    // Metadata larger than MAX_METADATA_BYTES is not read into memory at all.
    const huge = gzipSync(createTar([{ path: 'build-system.json', data: Buffer.alloc(9 * 1024 ** 2, 0x20), mode: 0o644 }]), { level: 1 });
    await expect(unpack(huge, key, { maxArtifactBytes: 64 * 1024 ** 2 })).rejects.toThrow(/build-system.json has 9437184 bytes; at most 8388608 are read/);
  });

  it('a gzip bomb (2 MB expanding to 2 GiB of zeros) is refused after its first block, taking a few KB of it', async () => {
    const member = gzipSync(Buffer.alloc(1024 ** 2), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 2048 }, () => member));
    expect(bomb.byteLength).toBeGreaterThan(2_000_000);
    const pulled = { chunks: 0 };
    await expect(receiveArtifactOf(chunked(bomb, 16 * 1024, pulled))).rejects.toThrow(/has no build-system.json/);
    // Refused after its first block: at most two chunks of 16 KB were ever pulled.
    expect(pulled.chunks).toBeLessThanOrEqual(2);

    // The same zeros after a valid archive: padding, refused past MAX_TRAILING_BYTES.
    const { body } = await pack();
    const tail = Buffer.concat([gzipSync(gunzipSync(body)), bomb]);
    const pulledTail = { chunks: 0 };
    await expect(receiveArtifactOf(chunked(tail, 16 * 1024, pulledTail))).rejects.toThrow(/more than 65536 bytes of padding/);
    expect(pulledTail.chunks).toBeLessThanOrEqual(3);
  });

  function receiveArtifactOf(source: AsyncIterable<Buffer>) {
    return receiveArtifact(source, key, tempDir(), { maxArtifactBytes: 256 * 1024 ** 2 });
  }

  it('Node 20 has no zstd, so it writes gzip; Bun writes zstd and reads it as a stream, and an unreadable format is a clear error', async () => {
    const node = process.versions.node.split('.').map(Number) as [number, number];
    const nodeHasZstd = node[0] > 23 || (node[0] === 23 && node[1] >= 8) || (node[0] === 22 && node[1] >= 15);
    expect(compressionForRuntime()).toBe(nodeHasZstd ? 'zstd' : 'gzip');
    const bun = path.join(repoRoot, 'node_modules/.bin/bun');
    const script = `
      const { compressionForRuntime, packArtifact, unpackArtifact } = await import(${JSON.stringify(path.join(packageRoot, 'dist/cache/remote/artifact.js'))});
      const { mkdtempSync, readFileSync } = await import('node:fs');
      const m = JSON.parse(process.env.MANIFEST);
      const js = Buffer.from('export const a = 1;\\n');
      const { body, compression } = await packArtifact({ manifest: m, packageDir: 'packages/a', readArtifact: async () => js });
      const un = await unpackArtifact(body, m.primaryKey, mkdtempSync(process.env.TMPDIR_FOR_BUN + '/bun-'), { maxArtifactBytes: 1024 * 1024 });
      const back = readFileSync(un.root + '/files/dist/index.js', 'utf8');
      process.stdout.write(JSON.stringify({ runtime: compressionForRuntime(), compression, back, body: body.toString('base64') }));
    `;
    const r = spawnSync(bun, ['-e', script], { encoding: 'utf8', env: { ...process.env, MANIFEST: JSON.stringify(manifest), TMPDIR_FOR_BUN: tempDir() } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { runtime: string; compression: string; back: string; body: string };
    expect(out).toMatchObject({ runtime: 'zstd', compression: 'zstd', back: js.toString() });
    const body = Buffer.from(out.body, 'base64');
    expect(detectCompression(body)).toBe('zstd');
    if (!nodeHasZstd) return expect(unpack(body)).rejects.toThrow(/zstd-compressed, which this runtime .* cannot read/);
    return expect(unpack(body)).resolves.toBeTruthy();
  });
});

describe('archive reader limits', () => {
  it('stops reading the moment the archive passes maxBytes, not at its end', async () => {
    const tar = createTar([{ path: 'big.bin', data: Buffer.alloc(1024 ** 2, 7), mode: 0o644 }]);
    const pulled = { chunks: 0 };
    const seen: number[] = [];
    await expect(
      readTar(
        chunked(tar, 16 * 1024, pulled),
        async (_e, data) => {
          for await (const piece of data) seen.push(piece.byteLength);
        },
        { maxBytes: 256 * 1024 },
      ),
    ).rejects.toThrow(ArchiveLimitError);
    expect(pulled.chunks).toBe(17);
    expect(seen.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(256 * 1024);
  });
});

describe('HTTP client bounds (node:http servers on 127.0.0.1)', () => {
  const servers: http.Server[] = [];
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });
  async function serve(handler: http.RequestListener): Promise<string> {
    const s = http.createServer(handler);
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }
  const client = (url: string, o: Parameters<typeof resolveRemoteCacheConfig>[0] = {}) => new RemoteHttpClient(resolveRemoteCacheConfig({ url, ...o }, {})!);
  /** Writes `chunk` for as long as the client reads; `pushed` counts what went into the socket. */
  const endless = (res: http.ServerResponse, chunk: Buffer, pushed: { bytes: number }) => {
    const pump = () => {
      for (;;) {
        if (res.destroyed) return;
        pushed.bytes += chunk.byteLength;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    pump();
  };

  it('reads at most MAX_SMALL_ANSWER_BYTES of an answer that is not streamed, and says it stopped', async () => {
    const pushed = { bytes: 0 };
    const url = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      endless(res, Buffer.alloc(64 * 1024, 0x3c), pushed);
    });
    const c = client(url);
    const res = await c.request({ method: 'POST', path: '/v8/artifacts/events' });
    c.close();
    expect(res).toMatchObject({ status: 500, truncated: true });
    expect(res.body.byteLength).toBe(MAX_SMALL_ANSWER_BYTES);
    expect(pushed.bytes).toBeLessThan(64 * 1024 ** 2);
  });

  it('a streamed body without a Content-Length stops at maxBytes as the bytes arrive', async () => {
    const pushed = { bytes: 0 };
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      endless(res, randomBytes(64 * 1024), pushed);
    });
    const c = client(url);
    let read = 0;
    const outcome = c.download(
      { method: 'GET', path: '/v8/artifacts/x' },
      {
        maxBytes: 1024 ** 2,
        read: async ({ body }) => {
          for await (const chunk of body) read += chunk.byteLength;
        },
      },
    );
    await expect(outcome).rejects.toMatchObject({ kind: 'too-large', message: expect.stringMatching(/answer is larger than the 1048576 bytes allowed/) });
    c.close();
    // The reader never saw the byte past the limit; the server was cut off near it (plus what loopback buffers hold).
    expect(read).toBeLessThanOrEqual(1024 ** 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(pushed.bytes).toBeLessThan(64 * 1024 ** 2);
  });

  it('the first timeout opens the breaker: running requests end at once, later ones are not sent', async () => {
    let seen = 0;
    const url = await serve(() => {
      seen++; // never answered
    });
    const c = client(url, { idleTimeoutMs: 300, requestTimeoutMs: 60_000 });
    const first = c.request({ method: 'GET', path: '/v8/artifacts/status' }).catch((e: RemoteTransportError) => ({ e }));
    // A second request a moment later: it would time out 100 ms after the first, but the breaker ends it with the first.
    await new Promise((r) => setTimeout(r, 100));
    const second = c.request({ method: 'GET', path: '/v8/artifacts/a' }).catch((e: RemoteTransportError) => ({ e }));
    const [a, b] = (await Promise.all([first, second])) as { e: RemoteTransportError }[];
    expect(a!.e).toMatchObject({ kind: 'timeout', message: 'GET /v8/artifacts/status: no answer within 300 ms' });
    expect(b!.e).toMatchObject({ kind: 'circuit-open' });
    // Ended by the first one's timeout (its cause), not by a timeout of its own.
    expect(b!.e.cause).toBe(a!.e);
    await expect(c.request({ method: 'PUT', path: '/v8/artifacts/b', body: Buffer.from('x') })).rejects.toMatchObject({ kind: 'circuit-open' });
    c.close();
    expect(seen).toBe(2);
  });
});
