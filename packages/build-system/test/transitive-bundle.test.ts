import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Fixture } from './helpers/fixture.js';
import { cli, scoped, workspaceFixture, type PackageSpec } from './helpers/workspace.js';

/**
 * A package that bundles a workspace dependency bundles what that dependency's output imports too,
 * unless it keeps it external itself: c bundles b, b keeps a external (its dependency), so c's
 * output holds a's code — and c must wait for a, which b does not. Before, c's check could run
 * while a was rebuilding, find a's old output and call it a hit: one build after an edit of a left
 * c with a's old code (the watch kept it until c itself changed). Real CLI and esbuild.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function workspace(): Fixture {
  const spec: Record<string, PackageSpec> = {
    // Slow on purpose (the fixture's delaying plugin): a check of c that does not wait for a runs before a is done.
    a: { delayMs: 600, source: `export const value: string = 'a1';\n` },
    b: { deps: ['a'], plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: `import { value } from '@fx/a';\nexport const b = value;\n` },
    c: { deps: ['b'], depField: 'devDependencies', plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: `import { b } from '@fx/b';\nexport const c = 'c+' + b;\n` },
  };
  const fx = workspaceFixture('npm', spec);
  fixtures.push(fx);
  mkdirSync(fx.path('node_modules/@fx'), { recursive: true });
  for (const key of Object.keys(spec)) symlinkSync(fx.path('packages', key), fx.path('node_modules/@fx', key), 'dir');
  return fx;
}

const build = (fx: Fixture, ...args: string[]) => cli(['build', '--json', '--cache-dir', fx.path('.bs-cache'), ...args], { cwd: fx.root });

describe('a dependency bundled through another', () => {
  it('is waited for: one build after its edit gives the package its new code; the plan says so', () => {
    const fx = workspace();
    const plan = JSON.parse(build(fx, '--dry-run').stdout);
    const c = plan.packages.find((p: { name: string }) => p.name === scoped('c'));
    expect(c.waitsFor.sort()).toEqual([scoped('a'), scoped('b')]);
    expect(plan.packages.find((p: { name: string }) => p.name === scoped('b')).waitsFor).toEqual([]);

    expect(build(fx).code).toBe(0);
    expect(readFileSync(fx.path('packages/c/dist/index.js'), 'utf8')).toContain('a1');
    fx.write({ 'packages/a/src/index.ts': `export const value: string = 'a2';\n` });
    const r = build(fx);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(fx.path('packages/c/dist/index.js'), 'utf8')).toContain('a2');
    const results = JSON.parse(r.stdout).results as { package: { name: string }; cache: { status: string } }[];
    expect(results.find((x) => x.package.name === scoped('c'))!.cache.status).toBe('miss');
  });

  it('whose build fails skips the package, which would bundle its old output', () => {
    const fx = workspace();
    expect(build(fx).code).toBe(0);
    fx.write({ 'packages/a/src/index.ts': `export const value: string = ;\n` });
    const r = build(fx);
    expect(r.code).toBe(1);
    const status = Object.fromEntries((JSON.parse(r.stdout).results as { package: { name: string }; status: string }[]).map((x) => [x.package.name, x.status]));
    // b keeps a external: it builds (a hit). c would inline a's last good output: skipped.
    expect(status).toEqual({ [scoped('a')]: 'failed', [scoped('b')]: 'success', [scoped('c')]: 'skipped' });
  });
});
