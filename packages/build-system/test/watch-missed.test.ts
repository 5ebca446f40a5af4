import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missedChanges } from '../src/services/watch-missed.js';
import { ReadLog } from '../src/util/read-log.js';

/**
 * What changed between a round's reads and the watches set up after it. A path looked for and
 * absent that exists by then was lost before: a new package directory starts a round before its
 * package.json is written, discovery finds none, and the file appears before the directory is watched
 * (the watch test "a new package joins the graph" timed out so under load).
 */
const dir = mkdtempSync(path.join(tmpdir(), 'bs-missed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('missedChanges', () => {
  it('a path read as absent that exists now is a change; one still absent, or a file as read, is not', () => {
    const reads = new ReadLog();
    writeFileSync(path.join(dir, 'kept.txt'), 'x');
    expect(reads.readText(path.join(dir, 'kept.txt'))).toBe('x');
    expect(reads.readText(path.join(dir, 'package.json'))).toBeUndefined();
    expect(reads.readText(path.join(dir, 'still-absent.json'))).toBeUndefined();
    expect(missedChanges(reads.observations())).toEqual([]);
    writeFileSync(path.join(dir, 'package.json'), '{}');
    expect(missedChanges(reads.observations())).toEqual([path.join(dir, 'package.json')]);
  });
});
