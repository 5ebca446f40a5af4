import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build, type BuildResult, type RunResult } from '../src/index.js';
import { LocalCacheStore } from '../src/cache/store.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * A package's last build (what a miss is explained against) is kept in its
 * stat-cache file, not in a file of its own: a cold build creates one record
 * file per package instead of two (research.md §8, session 16). Explanations
 * still work, and `cache clean` of a package still keeps the last build.
 */

const fixtures: Fixture[] = [];
const temps: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function setup() {
  const cacheDir = path.join(mkdtempSync(path.join(tmpdir(), 'bs-last-')), 'cache');
  temps.push(path.dirname(cacheDir));
  const fx = createFixture({
    'package.json': { name: 'fx-last', version: '1.0.0', type: 'module', main: 'dist/index.js' },
    'build.config.json': { adapter: 'esbuild' },
    'src/index.ts': 'export const answer: number = 42;\n',
  });
  fixtures.push(fx);
  const run = async (): Promise<BuildResult> => ((await build({ cwd: fx.root, cacheDir })) as RunResult).results[0]!;
  const statsDir = path.join(cacheDir, 'v1', 'stats');
  const record = () => {
    const files = readdirSync(statsDir);
    expect(files).toHaveLength(1);
    return JSON.parse(readFileSync(path.join(statsDir, files[0]!), 'utf8')) as { attachedKey?: string; entries: Record<string, unknown> };
  };
  return { fx, cacheDir, run, record };
}

const kinds = (r: BuildResult) => (r.cache.changes ?? []).map((c) => c.kind);

describe('the last build travels in the stat-cache file', () => {
  it('one record file per package; a later miss is explained against it, also after cache clean of the package', async () => {
    const { fx, cacheDir, run, record } = setup();
    const first = await run();
    expect(first.cache).toMatchObject({ status: 'miss', reason: 'first build' });
    expect(existsSync(path.join(cacheDir, 'v1', 'last'))).toBe(false);
    expect(record().attachedKey).toBe(first.cache.key);

    fx.write({ 'src/index.ts': 'export const answer: number = 43;\n' });
    const second = await run();
    expect(second.cache.status).toBe('miss');
    expect(kinds(second)).toEqual(['files-changed']);
    expect(record().attachedKey).toBe(second.cache.key);

    // cache clean of the package: entries and stat cache go, the last build stays.
    expect((await new LocalCacheStore(cacheDir).removePackage(fx.root)).entries).toBe(2);
    expect(record()).toMatchObject({ attachedKey: second.cache.key, entries: {} });
    fx.write({ 'src/index.ts': 'export const answer: number = 44;\n' });
    const third = await run();
    expect(kinds(third)).toEqual(['files-changed']);
  });
});
