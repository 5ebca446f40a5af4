import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tscPoolStats } from '../src/adapters/tsc-pool.js';
import { createBuildSystem } from '../src/create.js';
import type { BuildEvent } from '../src/events.js';
import { createFixture, repoRoot, type Fixture } from './helpers/fixture.js';

/**
 * A bundler's declarations run beside the bundle (services/package-build/build-step.ts), with real
 * esbuild and TypeScript through the composition root. What must hold whatever finishes first: a
 * bundle that fails fails the build even when its declarations succeed, and nothing of either is
 * published or left in staging; a bundle that succeeds with failing declarations fails too; and
 * the build returns only once the declarations job is over, so nothing writes into staging later.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));
const system = createBuildSystem();

const TSCONFIG = { compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: true, types: [] }, include: ['src'] };

function pkg(files: Record<string, string>): Fixture {
  const fx = createFixture({
    'package.json': { name: 'beside', version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } },
    'tsconfig.json': TSCONFIG,
    'build.config.ts': "export default { adapter: 'esbuild', format: 'esm', dts: true };\n",
    ...files,
  });
  fixtures.push(fx);
  mkdirSync(fx.path('node_modules'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/typescript'), fx.path('node_modules/typescript'), 'dir');
  return fx;
}

async function run(fx: Fixture): Promise<{ result: Awaited<ReturnType<typeof system.build>>['results'][number]; logs: BuildEvent[] }> {
  const logs: BuildEvent[] = [];
  const r = await system.build({ cwd: fx.root, cacheDir: fx.path('.cache'), onEvent: (e) => void (e.type === 'log' && logs.push(e)), outputLogs: 'full' });
  return { result: r.results[0]!, logs };
}

const leftovers = (fx: Fixture) => readdirSync(fx.root).filter((n) => n.startsWith('.build-system-staging'));

describe('declarations beside the bundle', () => {
  it('a bundle that fails (a module only TypeScript can see) fails the build; its declarations are not published', async () => {
    // TypeScript resolves ./generated.js to generated.d.ts; esbuild has no file to bundle.
    const fx = pkg({
      'src/index.ts': "import { seed } from './generated.js';\nexport const doubled: number = seed * 2;\n",
      'src/generated.d.ts': 'export declare const seed: number;\n',
    });
    const { result } = await run(fx);
    // The declarations job was stopped and waited for before the build returned: no TypeScript worker still compiles into staging.
    expect(tscPoolStats().busy).toBe(0);
    expect(result.status).toBe('failed');
    expect(result.diagnostics).toEqual([expect.objectContaining({ severity: 'error', file: 'src/index.ts', line: 1 })]);
    expect(result.diagnostics[0]!.message).toMatch(/Could not resolve/);
    expect(existsSync(fx.path('dist'))).toBe(false);
    expect(leftovers(fx)).toEqual([]);
    // Nor later: a declarations job still running would write its .d.ts files into the discarded staging dir
    // (recreating it) within the time one compile takes here.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(leftovers(fx)).toEqual([]);
    expect(tscPoolStats().busy).toBe(0);
  });

  it('a bundle that succeeds with declarations that fail fails the build, with the type error', async () => {
    const fx = pkg({ 'src/index.ts': 'export const n: number = "not a number";\n' });
    const { result } = await run(fx);
    expect(result.status).toBe('failed');
    expect(result.diagnostics).toEqual([expect.objectContaining({ code: 'TS2322', file: 'src/index.ts', line: 1 })]);
    // Once, with what tsdown does instead (it writes declarations without checking).
    expect(result.diagnostics[0]!.message).toContain("hint: declarations are written by TypeScript, which stops on a type error; tsdown and `tsc --noCheck` write them anyway: adapterOptions: { tsc: { args: ['--noCheck'] } }");
    expect(existsSync(fx.path('dist'))).toBe(false);
    expect(leftovers(fx)).toEqual([]);
  });

  it('both succeed: the bundle and its declarations are published together', async () => {
    const fx = pkg({ 'src/index.ts': "export { greet } from './greet.js';\n", 'src/greet.ts': 'export function greet(name: string): string {\n  return `hi ${name}`;\n}\n' });
    const { result } = await run(fx);
    expect(result.status).toBe('success');
    expect(result.artifacts.map((a) => a.path).sort()).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/greet.d.ts']));
    expect(readFileSync(fx.path('dist/greet.d.ts'), 'utf8')).toContain('export declare function greet(name: string): string;');
    expect(leftovers(fx)).toEqual([]);
  });
});
