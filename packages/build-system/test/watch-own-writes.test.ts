import { mkdirSync, symlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { OwnWrites } from '../src/services/watch-own-writes.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/** What a watch never watches nor starts a round for: its own outDirs and cache, by path and through node_modules links. */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

describe('OwnWrites', () => {
  it('holds an outDir, everything below it, and nothing beside it (dist2, a sibling source)', () => {
    const own = new OwnWrites();
    own.addOutDirs(['/ws/packages/a/dist', '/ws/packages/b/lib']);
    expect(own.holds('/ws/packages/a/dist')).toBe(true);
    expect(own.holds('/ws/packages/a/dist/esm/index.js')).toBe(true);
    expect(own.holds('/ws/packages/b/lib/x.d.ts')).toBe(true);
    expect(own.holds('/ws/packages/a/dist2/index.js')).toBe(false);
    expect(own.holds('/ws/packages/a/src/index.ts')).toBe(false);
    expect(own.holds('/ws/packages/a')).toBe(false);
    expect(own.holds('/ws')).toBe(false);
  });

  it('the cache directory is held until it is replaced by another', () => {
    const own = new OwnWrites();
    own.setCacheDir('/ws/node_modules/.cache/build-system');
    expect(own.holds('/ws/node_modules/.cache/build-system/v1/entries/k.json')).toBe(true);
    own.setCacheDir('/elsewhere/cache');
    expect(own.holds('/ws/node_modules/.cache/build-system/v1/entries/k.json')).toBe(false);
    expect(own.holds('/elsewhere/cache/v1')).toBe(true);
    own.setCacheDir(null);
    expect(own.holds('/elsewhere/cache/v1')).toBe(false);
  });

  it('a path through node_modules is judged by its real path: a linked workspace package\'s outDir is held, its sources are not', () => {
    const fx = createFixture({ 'packages/a/src/index.ts': 'export {};', 'packages/a/dist/index.js': 'export {};' });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules/@fx'), { recursive: true });
    symlinkSync(fx.path('packages/a'), fx.path('node_modules/@fx/a'), 'dir');
    const own = new OwnWrites();
    own.addOutDirs([fx.path('packages/a/dist')]);
    const realpaths = new Map<string, string>();
    expect(own.holds(fx.path('node_modules/@fx/a/dist/index.js'), realpaths)).toBe(true);
    expect(own.holds(fx.path('node_modules/@fx/a/src/index.ts'), realpaths)).toBe(false);
    // A path not there yet is judged by its nearest existing directory's real path.
    expect(own.holds(fx.path('node_modules/@fx/a/dist/new/file.js'), realpaths)).toBe(true);
    expect(realpaths.size).toBe(3);
  });
});
