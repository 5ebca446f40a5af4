import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/**
 * What the read log notes for a file or directory that changes while it is
 * read: the change must leave the noted version older than the one on disk
 * (so a no-op replay or a key checked later looks again), never pair the
 * new version with the old content or names. The change is made right after
 * the read or the listing, through a wrapper around node:fs that the read
 * log's own calls go through.
 */
const after = vi.hoisted(() => ({ read: null as null | (() => void), list: null as null | (() => void) }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const once = (key: 'read' | 'list') => {
    const hook = after[key];
    after[key] = null;
    hook?.();
  };
  const readFileSync = ((...args: Parameters<typeof fs.readFileSync>) => {
    const out = fs.readFileSync(...args);
    once('read');
    return out;
  }) as typeof fs.readFileSync;
  const readdirSync = ((...args: Parameters<typeof fs.readdirSync>) => {
    const out = fs.readdirSync(...args);
    once('list');
    return out;
  }) as typeof fs.readdirSync;
  return { ...fs, default: { ...fs, readFileSync, readdirSync }, readFileSync, readdirSync };
});

const { ReadLog } = await import('../src/util/read-log.js');
const { sha256 } = await import('../src/util/hash.js');

const dir = mkdtempSync(path.join(tmpdir(), 'bs-read-log-order-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const past = new Date(Date.now() - 3600_000);

describe('a change while the run reads', () => {
  it('a file rewritten right after its read is noted with the stat from before (readText)', () => {
    const file = path.join(dir, 'config.json');
    writeFileSync(file, '{"a":1}');
    utimesSync(file, past, past);
    after.read = () => writeFileSync(file, '{"a":2,"b":3}');
    // A log that will be recorded (the hash is for the no-op record's racy check; other logs skip it).
    const reads = new ReadLog(true);
    expect(reads.readText(file)).toBe('{"a":1}');
    const noted = reads.observations().files.get(file)!;
    expect(noted.sha256).toBe(sha256('{"a":1}'));
    // The noted stat is the old file's: the new one differs from it, so a check hashes the file again.
    const now = statSync(file);
    expect(noted.size === now.size && noted.mtimeMs === now.mtimeMs).toBe(false);
  });

  it('a name added right after a listing leaves the noted directory mtime older than the directory (list)', () => {
    const sub = path.join(dir, 'src');
    mkdirSync(sub);
    writeFileSync(path.join(sub, 'a.ts'), '');
    utimesSync(sub, past, past);
    after.list = () => writeFileSync(path.join(sub, 'b.ts'), '');
    const reads = new ReadLog();
    expect(reads.list(sub).map((e) => e.name)).toEqual(['a.ts']);
    const noted = reads.observations().dirs.get(sub)!;
    expect(noted.names).toEqual(['a.ts']);
    expect(noted.mtimeMs).not.toBe(statSync(sub).mtimeMs);
    expect(reads.dirVersion(sub)?.mtimeMs).toBe(noted.mtimeMs);
  });
});
