import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { list } from '../src/index.js';
import { cliPath, createFixture, type Fixture } from './helpers/fixture.js';

/**
 * CLI `list --json` and API `list()` are one algorithm (services/plan.ts): on
 * the same workspace and options they return the same entries, field by field.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function cliList(fx: Fixture, args: string[]): { code: number | null; packages: unknown[] } {
  const r = spawnSync(process.execPath, [cliPath, 'list', '--json', '--cwd', fx.root, ...args], { encoding: 'utf8', env: { ...process.env, BUILD_SYSTEM_CACHE_DIR: undefined } });
  expect(r.stdout, r.stderr).not.toBe('');
  return { code: r.status, packages: (JSON.parse(r.stdout) as { packages: unknown[] }).packages };
}

describe('list() is the plan', () => {
  // A chain app → mid (no config, depends on core) → core; `loose` has no config but an inferable entry.
  const fx = createFixture({
    'package.json': { name: 'list-ws', private: true, workspaces: ['packages/*'] },
    'packages/core/package.json': { name: '@lp/core', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/core/build.config.json': { adapter: 'esbuild' },
    'packages/core/src/index.ts': `export const core = 1;\n`,
    'packages/mid/package.json': { name: '@lp/mid', version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: { '@lp/core': '1.0.0' } },
    'packages/mid/src/index.ts': `import { core } from '@lp/core';\nexport const mid = core + 1;\n`,
    'packages/app/package.json': { name: '@lp/app', version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: { '@lp/mid': '1.0.0' } },
    'packages/app/build.config.json': { adapter: 'esbuild' },
    'packages/app/src/index.ts': `import { mid } from '@lp/mid';\nexport const app = mid + 1;\n`,
    'packages/loose/package.json': { name: '@lp/loose', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/loose/src/index.ts': `export const loose = 1;\n`,
  });
  fixtures.push(fx);

  const cases: [string, string[], { packages?: string[]; filter?: string[]; all?: boolean }, string[]][] = [
    ['the workspace, packages without a config left out', [], {}, ['@lp/core', '@lp/app']],
    ['the workspace with --all', ['--all'], { all: true }, ['@lp/core', '@lp/loose', '@lp/mid', '@lp/app']],
    ['a filter with its dependencies', ['--filter', '@lp/app...'], { filter: ['@lp/app...'] }, ['@lp/core', '@lp/app']],
    ['a filter with --all', ['--filter', '@lp/app...', '--all'], { filter: ['@lp/app...'], all: true }, ['@lp/core', '@lp/mid', '@lp/app']],
    ['a named package without a config', ['@lp/mid'], { packages: ['@lp/mid'] }, ['@lp/core', '@lp/mid']],
  ];
  for (const [what, args, options, names] of cases) {
    it(`agrees with list --json on ${what}`, async () => {
      const cli = cliList(fx, args);
      const api = await list({ cwd: fx.root, ...options });
      expect(api.map((e) => e.name).sort(), what).toEqual([...names].sort());
      expect(JSON.parse(JSON.stringify(api)), what).toEqual(cli.packages);
      expect(cli.code, what).toBe(0);
    });
  }

  it('throws the selection error the CLI prints', async () => {
    const r = spawnSync(process.execPath, [cliPath, 'list', '--json', '--cwd', fx.root, '--filter', '@lp/nothing'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    const printed = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    const thrown = await list({ cwd: fx.root, filter: ['@lp/nothing'] }).then(() => null, (e: unknown) => e as { code: string; lines(): string[] });
    expect(thrown?.code).toBe(printed.code);
    expect(thrown?.lines()[0]).toBe(printed.message);
  });
});
