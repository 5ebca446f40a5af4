import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * Two workspace packages with one name: pnpm allows it, and real repos have it (unjs/unhead's
 * examples/vite-ssr-vue and examples/vite-ssr-vue-prerender are both vite-vue-typescript-starter,
 * copied from one template). A workspace run leaves them out instead of failing; naming one, or
 * depending on it, is the error it always was, and each still builds from its own directory.
 */

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

const esbuild = `export default { adapter: 'esbuild', entry: 'src/index.ts' };\n`;

function workspace(extra: Record<string, unknown> = {}): Fixture {
  const fx = createFixture(
    {
      'pnpm-workspace.yaml': 'packages:\n  - packages/*\n  - examples/*\n',
      'package.json': { name: 'dup-root', private: true },
      'packages/lib/package.json': { name: '@dup/lib', version: '1.0.0', type: 'module' },
      'packages/lib/src/index.ts': `export const lib = 1;\n`,
      'packages/lib/build.config.ts': esbuild,
      'examples/one/package.json': { name: 'starter', version: '0.0.0', private: true, type: 'module' },
      'examples/one/src/index.ts': `export const one = 1;\n`,
      'examples/one/build.config.ts': esbuild,
      'examples/two/package.json': { name: 'starter', version: '0.0.0', private: true, type: 'module' },
      'examples/two/src/index.ts': `export const two = 2;\n`,
      'examples/two/build.config.ts': esbuild,
      ...extra,
    },
    { linkNodeModules: true },
  );
  fixtures.push(fx);
  return fx;
}

describe('two workspace packages with one name', () => {
  it('a workspace run builds the others and leaves both out', () => {
    const fx = workspace();
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results.map((x: { package: { name: string } }) => x.package.name)).toEqual(['@dup/lib']);
    expect(existsSync(fx.path('examples/one/dist'))).toBe(false);
  });

  it('a workspace run, list and --dry-run say which packages they leave out, every time (such a run is never replayed without the warning)', () => {
    const fx = workspace();
    const warning = 'warning: examples/one and examples/two are both named starter: none of them is built by a workspace run; rename one, or build each by its directory';
    for (const args of [['build'], ['build'], ['build', '--filter', '@dup/*'], ['list'], ['build', '--dry-run']]) {
      const r = cli(args, { cwd: fx.root, env: { BUILD_SYSTEM_DEBUG_NOOP: '1' } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr, args.join(' ')).toContain(warning);
      expect(r.stderr).not.toContain('replayed');
    }
    // Chosen by directory: nothing is left out of what was asked.
    const byDir = cli(['build', './examples/one'], { cwd: fx.root });
    expect(byDir.code, byDir.stderr).toBe(0);
    expect(byDir.stderr).not.toContain('named starter');
  });

  it('naming the name is an error that names both directories', () => {
    const fx = workspace();
    const r = cli(['build', '--json', 'starter'], { cwd: fx.root });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('two workspace packages are named starter: examples/one and examples/two; name one by its directory');
  });

  it('depending on it is an error naming the dependent', () => {
    const fx = workspace({ 'packages/lib/package.json': { name: '@dup/lib', version: '1.0.0', type: 'module', dependencies: { starter: 'workspace:*' } } });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain('two workspace packages are named starter: examples/one and examples/two; @dup/lib depends on it');
  });

  it('each builds from its own directory, by path or as the working directory', () => {
    const fx = workspace();
    const byPath = cli(['build', '--json', './examples/two'], { cwd: fx.root });
    expect(byPath.code, byPath.stderr).toBe(0);
    expect(existsSync(fx.path('examples/two/dist/index.js'))).toBe(true);
    const inside = cli(['build', '--json'], { cwd: fx.path('examples/one') });
    expect(inside.code, inside.stderr).toBe(0);
    expect(existsSync(fx.path('examples/one/dist/index.js'))).toBe(true);
  });
});
