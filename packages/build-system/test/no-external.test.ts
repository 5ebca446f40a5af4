import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../src/index.js';
import type { RunResult } from '../src/result/schema.js';
import { createFixture, repoBin, repoRoot, type Fixture } from './helpers/fixture.js';

/**
 * `noExternal` (tsup's and tsdown's option, tsdown's deps.alwaysBundle): a dependency package.json lists is
 * bundled all the same. Each adapter builds a package whose `dependencies` name an installed ESM package;
 * with noExternal the output runs after that package is gone, without it the output imports it.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function workspace(adapter: string, noExternal: string[] | undefined): Fixture {
  const fx = createFixture({
    'package.json': { name: 'noext', private: true, workspaces: ['packages/*'] },
    'node_modules/@dep/pad/package.json': { name: '@dep/pad', version: '1.0.0', type: 'module', exports: { '.': './index.js', './wide': './wide.js' } },
    'node_modules/@dep/pad/index.js': "export const pad = (s) => '[' + s + ']';\n",
    'node_modules/@dep/pad/wide.js': "export const wide = (s) => '[ ' + s + ' ]';\n",
    'packages/app/package.json': { name: '@noext/app', version: '1.0.0', type: 'module', exports: './dist/index.js', files: ['dist'], dependencies: { '@dep/pad': '1.0.0' } },
    'packages/app/build.config.ts': `export default { adapter: '${adapter}', dts: false${noExternal ? `, noExternal: ${JSON.stringify(noExternal)}` : ''} };\n`,
    'packages/app/src/index.ts': "import { pad } from '@dep/pad';\nimport { wide } from '@dep/pad/wide';\nexport const out = pad('x') + wide('y');\n",
  });
  fixtures.push(fx);
  const link = (target: string, at: string) => {
    mkdirSync(path.dirname(fx.path(at)), { recursive: true });
    symlinkSync(target, fx.path(at));
  };
  for (const tool of ['rollup', '@rollup/plugin-node-resolve']) link(path.join(repoRoot, 'node_modules', tool), `node_modules/${tool}`);
  link(path.join(repoBin, 'bun'), 'node_modules/.bin/bun');
  return fx;
}

async function buildApp(fx: Fixture): Promise<string> {
  const run = (await build({ cwd: fx.root })) as RunResult;
  const r = run.results[0]!;
  expect(r.status, JSON.stringify(r.diagnostics)).toBe('success');
  return readFileSync(fx.path('packages/app/dist/index.js'), 'utf8');
}

const runOutput = (fx: Fixture) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', `import('${fx.path('packages/app/dist/index.js')}').then((m) => console.log(m.out))`], { encoding: 'utf8' });

describe('noExternal', () => {
  it.each(['esbuild', 'rollup', 'bun'])('%s: a listed dependency is bundled, subpaths too, and runs without its install; unlisted, it stays an import', async (adapter) => {
    const bundled = workspace(adapter, ['@dep/pad']);
    const js = await buildApp(bundled);
    expect(js).not.toMatch(/from\s*["']@dep\/pad/);
    rmSync(bundled.path('node_modules/@dep'), { recursive: true });
    expect(runOutput(bundled).stdout.trim()).toBe('[x][ y ]');

    // A scope pattern bundles every package of the scope.
    expect(await buildApp(workspace(adapter, ['@dep/*']))).not.toMatch(/from\s*["']@dep\/pad/);

    const external = workspace(adapter, undefined);
    expect(await buildApp(external)).toMatch(/from\s*["']@dep\/pad["']/);
  });
});
