import { readFileSync, statSync, utimesSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../src/cache/file-hasher.js';
import { ReadLog } from '../src/util/read-log.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * When a package's stat cache (v1/stats/<id>.json) is written: only when the run learned an entry it
 * can keep. A hit after a dependency rebuilt learns only that dependency's fresh outputs, too recent to
 * trust (RACY_WINDOW_MS): rewriting 139 dependents' files for that was a cost of every hub edit.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);

describe('the stat cache file', () => {
  it('is not rewritten for entries too recent to keep, and is when a trusted one is learned', async () => {
    const fx = createFixture({ 'src/a.ts': 'export const a = 1;\n', 'dep/index.d.ts': 'export declare const d: number;\n' });
    fixtures.push(fx);
    const state = fx.path('stats.json');
    for (const f of ['src/a.ts', 'dep/index.d.ts']) utimesSync(fx.path(f), hoursAgo(1), hoursAgo(1));

    // A first run learns both (trusted: an hour old) and writes them.
    const first = await FileHasher.open(new ReadLog(), state);
    await first.hash(fx.path('src/a.ts'));
    await first.hash(fx.path('dep/index.d.ts'));
    await first.save();
    const written = readFileSync(state, 'utf8');
    expect(Object.keys(JSON.parse(written).entries).sort()).toEqual([fx.path('dep/index.d.ts'), fx.path('src/a.ts')]);
    // An old mtime for the file itself, so a rewrite would show as a newer one.
    utimesSync(state, hoursAgo(2), hoursAgo(2));
    const before = statSync(state).mtimeMs;

    // The dependency rebuilt just now (same bytes, a new file): this run learns it, but too recent to keep.
    fx.write({ 'dep/index.d.ts': 'export declare const d: number;\n' });
    const second = await FileHasher.open(new ReadLog(), state);
    await second.hash(fx.path('src/a.ts'));
    await second.hash(fx.path('dep/index.d.ts'));
    await second.save();
    expect(statSync(state).mtimeMs).toBe(before);
    expect(readFileSync(state, 'utf8')).toBe(written);

    // Later, the same file older than the racy window: learned as trusted, so the file is written, without the stale entry's stat.
    utimesSync(fx.path('dep/index.d.ts'), hoursAgo(0.5), hoursAgo(0.5));
    const third = await FileHasher.open(new ReadLog(), state);
    await third.hash(fx.path('src/a.ts'));
    await third.hash(fx.path('dep/index.d.ts'));
    await third.save();
    expect(statSync(state).mtimeMs).toBeGreaterThan(before);
    const entry = JSON.parse(readFileSync(state, 'utf8')).entries[fx.path('dep/index.d.ts')];
    expect(entry[1]).toBe(statSync(fx.path('dep/index.d.ts')).mtimeMs);
  });
});
