import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBuildSystem } from '../src/create.js';
import type { BuildEvent } from '../src/events.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { fakeAdapter } from './helpers/fake-adapter.js';

/**
 * The package pipeline (config → key → lock → hit? → build → publish →
 * record) in-process, through the composition root with the fake adapter
 * (test/helpers/fake-adapter.ts): no tool, no child process. The real tools
 * and the real-process guarantees (locks across processes, crashes) keep
 * their own tests (adapter-*, cache, lock, concurrency, workspace-build).
 */

const cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function pkgFixture(): { fx: Fixture; cacheDir: string } {
  const fx = createFixture({
    'package.json': { name: 'fake-pkg', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'build.config.ts': `export default { adapter: 'esbuild' };\n`,
    'src/index.ts': `import { helper } from './helper.js';\nexport const value = helper();\n`,
    'src/helper.ts': `export const helper = () => 1;\n`,
    'src/unused.ts': `export const unused = 1;\n`,
  });
  cleanups.push(() => fx.cleanup());
  return { fx, cacheDir: tempDir('bs-pipeline-cache-') };
}

describe('the package pipeline with a fake adapter, in-process', () => {
  it('a miss builds and publishes; the same inputs are a hit that runs nothing', async () => {
    const { fx, cacheDir } = pkgFixture();
    const fake = fakeAdapter();
    const system = createBuildSystem({ adapters: [fake] });
    const first = (await system.build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(first.status).toBe('success');
    expect(first.cache.status).toBe('miss');
    expect(first.adapter).toMatchObject({ name: 'esbuild', version: '0.0.0-fake' });
    expect(first.artifacts.map((a) => a.path)).toEqual(['dist/index.js']);
    const out = fx.read('dist/index.js');
    expect(out).toContain('export const helper');
    expect(out).not.toContain('unused');

    const second = (await system.build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(second.cache).toMatchObject({ status: 'hit', restored: false });
    expect(fake.builds).toBe(1);
    expect(fx.read('dist/index.js')).toBe(out);
  });

  it('a change to a file the build read is a miss that names it; a missing outDir is restored from the entry', async () => {
    const { fx, cacheDir } = pkgFixture();
    const fake = fakeAdapter();
    const system = createBuildSystem({ adapters: [fake] });
    await system.build({ cwd: fx.root, cacheDir });
    fx.write({ 'src/helper.ts': `export const helper = () => 2;\n` });
    const changed = (await system.build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(changed.cache.status).toBe('miss');
    expect(JSON.stringify(changed.cache)).toContain('src/helper.ts');
    expect(fx.read('dist/index.js')).toContain('() => 2');
    expect(fake.builds).toBe(2);

    // Restored from the cache when outDir no longer holds it (through staging and the swap).
    rmSync(fx.path('dist'), { recursive: true });
    const restored = (await system.build({ cwd: fx.root, cacheDir })).results[0]!;
    expect(restored.cache).toMatchObject({ status: 'hit', restored: true });
    expect(fx.read('dist/index.js')).toContain('() => 2');
    expect(fake.builds).toBe(2);
  });

  it('a failed build reports its diagnostics and leaves outDir as it was', async () => {
    const { fx, cacheDir } = pkgFixture();
    const system = createBuildSystem({ adapters: [fakeAdapter()] });
    await system.build({ cwd: fx.root, cacheDir });
    const before = fx.read('dist/index.js');
    fx.write({ 'src/helper.ts': `export const helper = () => 1;\n// FAKE_ERROR: helper is broken\n` });
    const run = await system.build({ cwd: fx.root, cacheDir });
    const failed = run.results[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'BUILD_FAILED', message: 'src/helper.ts:2:4: helper is broken' });
    expect(failed.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', file: 'src/helper.ts', line: 2 }));
    expect(fx.read('dist/index.js')).toBe(before);
    // The failure is not cached: fixed, the next build is a hit of the first build's entry.
    fx.write({ 'src/helper.ts': `export const helper = () => 1;\n` });
    expect((await system.build({ cwd: fx.root, cacheDir })).results[0]!.cache.status).toBe('hit');
  });

  it('builds workspace dependencies first, and the reporter hears every package', async () => {
    const fx = createFixture({
      'package.json': { name: 'root', private: true, workspaces: ['packages/*'] },
      // A devDependency is bundled (not external), so app's build reads lib's output and must wait for it
      // (services/dependency-needs.ts); an external dependency would let both start at once, in either order.
      'packages/app/package.json': { name: '@fx/app', version: '1.0.0', type: 'module', exports: './dist/index.js', devDependencies: { '@fx/lib': '1.0.0' } },
      'packages/app/build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'packages/app/src/index.ts': `export const app = 1;\n`,
      'packages/lib/package.json': { name: '@fx/lib', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/lib/build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'packages/lib/src/index.ts': `export const lib = 1;\n`,
    });
    cleanups.push(() => fx.cleanup());
    const fake = fakeAdapter();
    const events: BuildEvent[] = [];
    const system = createBuildSystem({ adapters: [fake], reporter: (e) => events.push(e) });
    const run = await system.build({ cwd: fx.root, cacheDir: tempDir('bs-pipeline-cache-') });
    expect(run.results.map((r) => r.status)).toEqual(['success', 'success']);
    expect(fake.started).toEqual(['@fx/lib', '@fx/app']);
    const done = events.filter((e): e is Extract<BuildEvent, { type: 'package-done' }> => e.type === 'package-done');
    expect(done.map((e) => e.result.package.name).sort()).toEqual(['@fx/app', '@fx/lib']);
  });

  it('a second build of the same package waits for the lock held in this process, then hits what the first built', async () => {
    const { fx, cacheDir } = pkgFixture();
    const fake = fakeAdapter();
    let open!: () => void;
    fake.gate = new Promise((resolve) => (open = resolve));
    const events: BuildEvent[] = [];
    const system = createBuildSystem({ adapters: [fake] });
    const first = system.build({ cwd: fx.root, cacheDir });
    while (fake.builds === 0) await new Promise((r) => setTimeout(r, 5));
    const second = system.build({ cwd: fx.root, cacheDir, onEvent: (e) => events.push(e) });
    while (!events.some((e) => e.type === 'lock-wait')) await new Promise((r) => setTimeout(r, 5));
    expect(existsSync(fx.path('dist'))).toBe(false);
    open();
    const [a, b] = [(await first).results[0]!, (await second).results[0]!];
    expect(a.cache.status).toBe('miss');
    expect(b.cache.status).toBe('hit');
    expect(fake.builds).toBe(1);
    expect(fx.read('dist/index.js')).toContain('export const helper');
  });
});
