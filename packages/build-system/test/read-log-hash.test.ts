import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectArtifacts } from '../src/util/artifacts.js';
import { ReadLog } from '../src/util/read-log.js';

/**
 * ReadLog.hash and collectArtifacts read small files synchronously and large ones through the
 * thread pool (research.md §8, session 10): both paths must give the same answers.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'bs-read-log-hash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
// One below and one far above the 256 KiB the synchronous path takes.
const sizes = { small: 3000, large: 700 * 1024 };

describe.each(Object.entries(sizes))('a %s file', (name, bytes) => {
  it('hashes to the sha256 of its bytes, read once per version, and is logged with that hash', async () => {
    const file = path.join(dir, `${name}.bin`);
    const data = Buffer.alloc(bytes, name === 'small' ? 7 : 9);
    data.write(name);
    writeFileSync(file, data);
    const reads = new ReadLog();
    const digest = await reads.hash(file);
    expect(digest).toEqual({ sha256: sha(data), bytes });
    expect(reads.observations().files.get(file)?.sha256).toBe(sha(data));
    expect(reads.refused).toBeNull();
    const { artifacts, missing } = await collectArtifacts([`${name}.bin`], dir, 'dist');
    expect(missing).toEqual([]);
    expect(artifacts).toEqual([{ path: `dist/${name}.bin`, bytes, sha256: sha(data), kind: 'other' }]);
  });

  it('that changed size after its stat is hashed as read but not vouched for, and refuses a no-op record', async () => {
    const file = path.join(dir, `${name}-changed.bin`);
    writeFileSync(file, Buffer.alloc(bytes, 1));
    const st = statSync(file);
    const now = Buffer.alloc(bytes + 10, 2);
    writeFileSync(file, now);
    const reads = new ReadLog();
    expect(await reads.hash(file, st)).toEqual({ sha256: sha(now), bytes: bytes + 10 });
    expect(reads.observations().files.get(file)?.sha256).toBeUndefined();
    expect(reads.refused).toMatch(/changed while it was read/);
  });

  it('that is gone rejects with ENOENT, and is read again once it is back', async () => {
    const file = path.join(dir, `${name}-gone.bin`);
    writeFileSync(file, Buffer.alloc(bytes, 3));
    const st = statSync(file);
    rmSync(file);
    const reads = new ReadLog();
    await expect(reads.hash(file, st)).rejects.toMatchObject({ code: 'ENOENT' });
    const back = Buffer.alloc(bytes, 3);
    writeFileSync(file, back);
    expect(await reads.hash(file, statSync(file))).toEqual({ sha256: sha(back), bytes });
  });
});
