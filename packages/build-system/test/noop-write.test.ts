import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNoopRecord, type RecordInput } from '../src/cache/noop/write.js';
import type { RunResult } from '../src/result/schema.js';
import { ReadLog } from '../src/util/read-log.js';

/**
 * Writing the no-op record (src/cache/noop/write.ts): a path the run found absent must still be
 * absent when the record is written. The writer answers that from the listing of an unchanged
 * directory when it can (no stat per absent name); a directory that changed since it was listed
 * must not be trusted for it.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const root = mkdtempSync(path.join(tmpdir(), 'bs-noop-write-'));
  dirs.push(root);
  const pkg = path.join(root, 'pkg');
  mkdirSync(pkg);
  writeFileSync(path.join(pkg, 'build.config.ts'), 'export default {};\n');
  // Older than the racy window: its mtime vouches for its listing.
  const old = new Date(Date.now() - 3600_000);
  utimesSync(pkg, old, old);
  const reads = new ReadLog(true);
  reads.list(pkg);
  expect(reads.stat(path.join(pkg, 'build.config.mts'))).toBeUndefined();
  const input = (): RecordInput => ({
    cacheDir: path.join(root, 'cache'),
    key: 'k',
    root,
    graph: [],
    run: { schemaVersion: 1, results: [] } as unknown as RunResult,
    logs: new Map(),
    observed: reads.observations(),
    outputs: [],
  });
  return { pkg, input };
}

describe('writing the no-op record: absent paths', () => {
  it('is written when a path found absent in an unchanged, listed directory is still absent', async () => {
    const { input } = setup();
    expect(await writeNoopRecord(input())).toBeNull();
  });

  it('is refused when the path appeared in that directory after the run looked', async () => {
    const { pkg, input } = setup();
    writeFileSync(path.join(pkg, 'build.config.mts'), 'export default {};\n');
    expect(await writeNoopRecord(input())).not.toBeNull();
  });

  it('is refused when a name build-system itself may create appeared: the listing no longer vouches for absences', async () => {
    // node_modules (the lock's parent) may appear in a package directory during a run without making
    // the directory "changed"; its mtime did change, so a path found absent there is stat'ed again.
    const { pkg, input } = setup();
    const reads = input().observed;
    expect(reads.absent.has(path.join(pkg, 'build.config.mts'))).toBe(true);
    const nm = path.join(pkg, 'node_modules');
    reads.absent.add(nm);
    mkdirSync(nm);
    // Another old mtime (not the listed one, and outside the racy window): only the mtime tells.
    const older = new Date(Date.now() - 1800_000);
    utimesSync(pkg, older, older);
    expect(await writeNoopRecord(input())).toMatch(/node_modules exists/);
  });
});

describe('writing the no-op record: outputs a build read', () => {
  it('is refused when a build read another package output that was rewritten after it read it (a package that did not wait for its writer)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'bs-noop-write-'));
    dirs.push(root);
    const pkg = path.join(root, 'a');
    const artifact = path.join(pkg, 'dist', 'index.js');
    mkdirSync(path.dirname(artifact), { recursive: true });
    writeFileSync(artifact, 'export const v = 1;\n');
    const manifest = path.join(root, 'cache', 'entry.json');
    mkdirSync(path.dirname(manifest), { recursive: true });
    writeFileSync(manifest, '{}');
    const input = (): RecordInput => {
      const bytes = readFileSync(artifact).length;
      return {
        cacheDir: path.join(root, 'cache'),
        key: 'k',
        root,
        graph: [],
        run: { schemaVersion: 1, results: [{ package: { name: 'a', dir: pkg }, outDir: 'dist', artifacts: [{ path: 'dist/index.js', bytes, sha256: 'x' }], cache: { status: 'miss', key: 'e' }, diagnostics: [] }] } as unknown as RunResult,
        logs: new Map(),
        observed: new ReadLog(true).observations(),
        outputs: [{ pkgDir: pkg, outDir: path.join(pkg, 'dist'), manifest, lockDir: path.join(pkg, 'node_modules', '.lock') }],
      };
    };
    // Another package's build read a's output (a relative import of ../a/dist/index.js); while it is still the file
    // that build read, the record is written.
    const past = new Date(Date.now() - 60_000);
    utimesSync(artifact, past, past);
    const fresh = new ReadLog(true);
    fresh.noteFile(artifact);
    expect(await writeNoopRecord({ ...input(), observed: fresh.observations() })).toBeNull();
    // a's build then rewrote it (a new file swapped in): that build's result came from the old file.
    rmSync(artifact);
    writeFileSync(artifact, 'export const v = 22;\n');
    expect(await writeNoopRecord({ ...input(), observed: fresh.observations() })).toMatch(/index\.js was rewritten after a build read it/);
  });
});
