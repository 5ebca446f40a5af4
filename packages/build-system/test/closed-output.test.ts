import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, createFixture, type Fixture } from './helpers/fixture.js';

/**
 * A reader that closes its end of the CLI's output (`build-system build | head -1`) must not kill the
 * run (src/cli/closed-output.ts): the build finishes, its exit code is the build's, and no EPIPE stack
 * is printed. Both streams are closed before the CLI writes anything, on a real build and on a
 * replayed no-op (each entry point guards its streams).
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

/** The CLI with stdout (and stderr, unless kept) read by nobody: both pipes are destroyed at once. */
function runWithClosedOutput(cwd: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const env = { ...process.env, BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined };
  const child = spawn(process.execPath, [cliPath, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.destroy();
  child.stderr!.destroy();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
}

describe('closed output', () => {
  it('a build whose stdout and stderr readers went away still builds and exits 0; so does the replayed no-op after it', async () => {
    const fx = createFixture({
      'package.json': { name: 'closed-ws', private: true, workspaces: ['packages/*'] },
      'packages/a/package.json': { name: '@co/a', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/a/build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'packages/a/src/index.ts': `export const a: number = 1;\n`,
      'packages/b/package.json': { name: '@co/b', version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: { '@co/a': '1.0.0' } },
      'packages/b/build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'packages/b/src/index.ts': `import { a } from '@co/a';\nexport const b: number = a + 1;\n`,
    });
    fixtures.push(fx);
    for (const args of [['build'], ['build', '--json'], ['build', '--json']]) {
      const run = await runWithClosedOutput(fx.root, args);
      expect({ args, ...run }).toEqual({ args, code: 0, signal: null });
    }
    expect(existsSync(fx.path('packages/a/dist/index.js'))).toBe(true);
    expect(existsSync(fx.path('packages/b/dist/index.js'))).toBe(true);
    // Nothing was left half done: no lock and no staging directory.
    expect(existsSync(fx.path('packages/b/node_modules/.cache/build-system/lock'))).toBe(false);
  }, 60_000);
});
