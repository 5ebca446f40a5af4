import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../src/config/schema.js';
import { createBuildSystem } from '../src/create.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * Entry globs in the config (`entry: ['src/*.ts', '!src/*.test.ts']`), as tsup
 * and tsdown take them: expanded when the config is resolved, over the
 * directories below each pattern's base, whose listings are inputs, so a file
 * added there is built by the next run without touching the config.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function pkgFixture(files: Record<string, string | object> = {}): Fixture {
  const fx = createFixture({
    'package.json': { name: 'fx-globs', version: '1.0.0', type: 'module' },
    'src/index.ts': 'export const index = 1;\n',
    'src/extra.ts': 'export const extra = 1;\n',
    'src/index.test.ts': 'export {};\n',
    'src/nested/deep.ts': 'export const deep = 1;\n',
    ...files,
  });
  fixtures.push(fx);
  return fx;
}
const resolveFor = (dir: string, input: BuildConfigInput) => resolveConfig(loadPackageInfo(dir, new ReadLog()), buildConfigSchema.parse(input), null);

describe('entry globs', () => {
  it('expand over the package\'s files, named below their common directory; ! excludes; a literal file with glob characters is that file', () => {
    const fx = pkgFixture({ 'src/[id].ts': 'export const id = 1;\n', 'src/.hidden/x.ts': 'export {};\n', 'dist/stale.ts': 'export {};\n', 'src/node_modules/m/index.ts': 'export {};\n' });
    expect(resolveFor(fx.root, { entry: ['src/*.ts', '!src/*.test.ts'] }).entries).toEqual({ '[id]': 'src/[id].ts', extra: 'src/extra.ts', index: 'src/index.ts' });
    // ** reaches below; node_modules, dot directories and outDir are never walked.
    expect(Object.keys(resolveFor(fx.root, { entry: ['**/*.ts', '!**/*.test.ts'] }).entries).sort()).toEqual(['[id]', 'extra', 'index', 'nested/deep']);
    expect(resolveFor(fx.root, { entry: ['src/[id].ts'] }).entries).toEqual({ '[id]': 'src/[id].ts' });
    // A string entry may be a glob too.
    expect(resolveFor(fx.root, { entry: 'src/nested/*.ts' }).entries).toEqual({ deep: 'src/nested/deep.ts' });
    expect(() => resolveFor(fx.root, { entry: ['lib/*.ts'] })).toThrow(/\["lib\/\*\.ts"\] matches no file in the package/);
    // A record names one file per output: a pattern there says where globs go.
    expect(() => resolveFor(fx.root, { entry: { all: 'src/*.ts' } })).toThrow(/a record entry names one file \(got the pattern "src\/\*\.ts"\); put globs in a list/);
    expect(resolveFor(fx.root, { entry: { id: 'src/[id].ts' } }).entries).toEqual({ id: 'src/[id].ts' });
  });

  it('a file added where a glob reaches is built by the next run (a miss naming it); the config is untouched', async () => {
    const fx = createFixture(
      {
        'package.json': { name: 'globs-ws', private: true, workspaces: ['packages/*'] },
        'packages/g/package.json': { name: '@gl/g', version: '1.0.0', type: 'module' },
        'packages/g/build.config.ts': `export default { adapter: 'esbuild', format: 'esm', entry: ['src/*.ts', '!src/*.test.ts'] };\n`,
        'packages/g/src/index.ts': 'export const index = 1;\n',
        'packages/g/src/index.test.ts': 'export {};\n',
      },
      { linkNodeModules: true },
    );
    fixtures.push(fx);
    const system = createBuildSystem();
    const build = async () => (await system.build({ cwd: fx.root, cacheDir: fx.path('.cache') })).results[0]!;
    const first = await build();
    expect(first.status).toBe('success');
    expect(first.artifacts.map((a) => a.path)).toEqual(['dist/index.js']);
    expect((await build()).cache.status).toBe('hit');
    mkdirSync(fx.path('packages/g/src/more'), { recursive: true });
    fx.write({ 'packages/g/src/more/not-matched.ts': 'export {};\n', 'packages/g/src/added.ts': 'export const added = 1;\n' });
    const next = await build();
    expect(next.cache.status).toBe('miss');
    expect(next.artifacts.map((a) => a.path).sort()).toEqual(['dist/added.js', 'dist/index.js']);
    expect(existsSync(fx.path('packages/g/dist/added.js'))).toBe(true);
    expect((await build()).cache.status).toBe('hit');
  });
});
