import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RecordedReads } from '../src/cache/build-reads.js';
import type { BuildResult } from '../src/result/schema.js';
import { RESULT_SCHEMA_VERSION } from '../src/result/version.js';
import { RoundReuse } from '../src/services/watch-reuse.js';
import { CrossPackageReads } from '../src/services/watch-readers.js';
import type { PackageInfo } from '../src/workspace/package-info.js';

/**
 * Which packages a watch round keeps unchecked (services/watch-reuse.ts), decided from the last
 * results and what each package's last build read of other packages' outputs. The end-to-end case
 * (real processes and builds) is in watch.test.ts; these pin each rule on its own.
 */
const ROOT = path.resolve('/ws');
const dirOf = (name: string) => path.join(ROOT, 'packages', name);
const pkg = (name: string) => ({ name, dir: dirOf(name) }) as PackageInfo;

function result(name: string, artifacts: Record<string, string>, status: BuildResult['status'] = 'success'): BuildResult {
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    package: { name, dir: dirOf(name) },
    status,
    adapter: { name: 'esbuild', version: '0.28.2', reason: 'test' },
    startedAt: new Date(0).toISOString(),
    durationMs: 1,
    cache: { status: 'miss', key: `key-${name}`, reason: 'first build', changes: [{ kind: 'first-build' }] },
    outDir: 'dist',
    artifacts: Object.entries(artifacts).map(([p, sha256]) => ({ path: p, bytes: 1, sha256, kind: p.endsWith('.d.ts') ? 'dts' : 'js' })),
    diagnostics: [],
  } as BuildResult;
}

const reads = (files: string[], dirs: string[] = []): RecordedReads => ({ files: Object.fromEntries(files.map((f) => [f, 'x'])), dirs: Object.fromEntries(dirs.map((d) => [d, 'x'])), manifests: {} });

/** hub → d (d read `read` of hub's outputs, paths relative to d); the hub's artifacts before and after the round. */
function round(read: RecordedReads, before: Record<string, string>, after: Record<string, string> | null, dirty: string[] = ['hub'], status: BuildResult['status'] = 'success') {
  const last = new Map([
    ['hub', result('hub', before)],
    ['d', result('d', { 'dist/index.js': 'd1' })],
  ]);
  const cross = new CrossPackageReads();
  cross.set(pkg('d'), read, 'key-d');
  const outDirs = new Map([
    [path.join(dirOf('hub'), 'dist'), 'hub'],
    [path.join(dirOf('d'), 'dist'), 'd'],
  ]);
  const reuse = new RoundReuse(last, new Set(dirty), ['hub', 'd'], cross, outDirs);
  if (after) reuse.finished(result('hub', after, status));
  return reuse.take('d');
}

const BEFORE = { 'dist/index.js': 'js1', 'dist/index.d.ts': 'dts1' };
const BODY_EDIT = { 'dist/index.js': 'js2', 'dist/index.d.ts': 'dts1' };

describe('RoundReuse', () => {
  it('keeps a package that read only the unchanged declarations of a rebuilt dependency, as a hit of its last result', () => {
    const kept = round(reads(['../hub/dist/index.d.ts']), BEFORE, BODY_EDIT);
    expect(kept).toMatchObject({ status: 'success', cache: { status: 'hit', key: 'key-d', restored: false }, durationMs: 0 });
    expect(kept!.artifacts).toEqual([{ path: 'dist/index.js', bytes: 1, sha256: 'd1', kind: 'js' }]);
  });

  it('checks one that read a file whose bytes changed', () => {
    expect(round(reads(['../hub/dist/index.js']), BEFORE, BODY_EDIT)).toBeUndefined();
  });

  it('keeps one that listed the outDir when the same files exist there, and checks it when a file came or went', () => {
    expect(round(reads([], ['../hub/dist']), BEFORE, BODY_EDIT)).toBeDefined();
    expect(round(reads([], ['../hub/dist']), BEFORE, { ...BODY_EDIT, 'dist/extra.js': 'e' })).toBeUndefined();
    // A name it looked for and did not find: still absent when the same files exist.
    expect(round(reads(['../hub/dist/index.mjs']), BEFORE, BODY_EDIT)).toBeDefined();
    expect(round(reads(['../hub/dist/index.mjs']), BEFORE, { ...BODY_EDIT, 'dist/index.mjs': 'm' })).toBeUndefined();
  });

  it('checks one whose dependency is still building, or failed', () => {
    expect(round(reads(['../hub/dist/index.d.ts']), BEFORE, null)).toBeUndefined();
    expect(round(reads(['../hub/dist/index.d.ts']), BEFORE, BEFORE, ['hub'], 'failed')).toBeUndefined();
  });

  it('checks one that changed itself, or has no cache key, or whose reads are unknown', () => {
    expect(round(reads(['../hub/dist/index.d.ts']), BEFORE, BODY_EDIT, ['hub', 'd'])).toBeUndefined();
    const last = new Map([['d', { ...result('d', {}), cache: { status: 'disabled', key: null } } as BuildResult]]);
    expect(new RoundReuse(last, new Set(), ['d'], new CrossPackageReads(), new Map()).take('d')).toBeUndefined();
    const unknown = new Map([['d', result('d', {})]]);
    expect(new RoundReuse(unknown, new Set(), ['d'], new CrossPackageReads(), new Map()).take('d')).toBeUndefined();
  });

  it('keeps one whose read outputs belong to a package outside the round', () => {
    const last = new Map([['d', result('d', {})]]);
    const cross = new CrossPackageReads();
    cross.set(pkg('d'), reads(['../hub/dist/index.js']), 'key-d');
    const outDirs = new Map([[path.join(dirOf('hub'), 'dist'), 'hub']]);
    expect(new RoundReuse(last, new Set(), ['d'], cross, outDirs).take('d')).toBeDefined();
  });
});
