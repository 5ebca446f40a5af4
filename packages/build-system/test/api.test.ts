import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFixture, packageRoot, repoRoot, type Fixture } from './helpers/fixture.js';

const distIndex = path.join(packageRoot, 'dist/index.js');

function fixturePackage(): Fixture {
  return createFixture({
    'package.json': { name: 'api-fixture', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'build.config.ts': `import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'esbuild' });\n`,
    'src/index.ts': `export const answer: number = 42;\n`,
  });
}

/** Lists the @nestjs modules a fresh node process has loaded after running `code`. */
function nestModulesLoadedBy(code: string, type: 'module' | 'commonjs'): string[] {
  const probe = `
    const { createRequire } = require('node:module');
    const loaded = () => Object.keys(require.cache).filter((k) => k.includes('@nestjs'));
    Promise.resolve().then(async () => { ${code} }).then(() => console.log(JSON.stringify(loaded())));
  `;
  const wrapped = type === 'module' ? `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${probe.replace("const { createRequire } = require('node:module');", '')}` : probe;
  const out = execFileSync(process.execPath, [...(type === 'module' ? ['--input-type=module'] : []), '-e', wrapped], { cwd: repoRoot, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('programmatic API', () => {
  const fixtures: Fixture[] = [];
  afterAll(() => fixtures.forEach((f) => f.cleanup()));

  it('builds from ESM and returns BuildResult objects that match the schema', async () => {
    const fx = fixturePackage();
    fixtures.push(fx);
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import { build, runResultSchema } from 'build-system'; const run = await build({ cwd: ${JSON.stringify(fx.root)} }); runResultSchema.parse(run); console.log(JSON.stringify(run));`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    const run = JSON.parse(out);
    expect(run.exitCode).toBe(0);
    expect(run.results[0].status).toBe('success');
    expect(run.results[0].artifacts.map((a: { path: string }) => a.path)).toEqual(['dist/index.js']);
    const mod = await import(path.join(fx.root, 'dist/index.js'));
    expect(mod.answer).toBe(42);
  });

  it('works from CommonJS (require) with the same result shape', () => {
    const fx = fixturePackage();
    fixtures.push(fx);
    const out = execFileSync(
      process.execPath,
      ['-e', `const { build, list, buildResultSchema } = require('build-system'); build({ cwd: ${JSON.stringify(fx.root)} }).then(async (run) => { buildResultSchema.parse(run.results[0]); const l = await list({ cwd: ${JSON.stringify(fx.root)} }); console.log(JSON.stringify({ status: run.results[0].status, adapter: l[0].chosen })); });`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ status: 'success', adapter: 'esbuild' });
  });

  it('does not load @nestjs/* (ESM import + a build), while the CLI module does', () => {
    const fx = fixturePackage();
    fixtures.push(fx);
    const apiLoads = nestModulesLoadedBy(`const api = await import(${JSON.stringify(distIndex)}); await api.build({ cwd: ${JSON.stringify(fx.root)} }); await api.list({ cwd: ${JSON.stringify(fx.root)} });`, 'module');
    expect(apiLoads).toEqual([]);
    const cjsLoads = nestModulesLoadedBy(`const api = require(${JSON.stringify(path.join(packageRoot, 'dist/index.cjs'))}); await api.build({ cwd: ${JSON.stringify(fx.root)} });`, 'commonjs');
    expect(cjsLoads).toEqual([]);
    // The same probe sees Nest when the Nest entry is imported: the check can fail.
    const nestLoads = nestModulesLoadedBy(`await import(${JSON.stringify(path.join(packageRoot, 'dist/nest.js'))});`, 'module');
    expect(nestLoads.some((m) => m.includes('@nestjs/core'))).toBe(true);
  });

  it('imports from `node -e`, where a global __dirname exists that is not build-system\'s', () => {
    const fx = fixturePackage();
    fixtures.push(fx);
    // CommonJS eval: __dirname is '.', __filename '[eval]'; build-system's ESM files must not take them for their own.
    const out = execFileSync(
      process.execPath,
      ['-e', `import('build-system').then(async (api) => { const run = await api.build({ cwd: ${JSON.stringify(fx.root)} }); console.log(JSON.stringify([run.ok, run.results[0].status])); });`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([true, 'success']);
  });

  it('checks its options as a BuildRequest: a bad one is a USAGE error naming it (in the result of build/plan, thrown by list/watch), and nothing is built', async () => {
    const api = await import(distIndex);
    const fx = fixturePackage();
    fixtures.push(fx);
    const zero = await api.build({ cwd: fx.root, concurrency: 0 });
    expect(zero).toMatchObject({ ok: false, exitCode: 2, results: [], error: { code: 'USAGE', field: 'concurrency' } });
    api.runResultSchema.parse(zero);
    // The CLI's flag name where the API's is lockTimeoutMs: named, with the right one offered.
    const typo = await api.build({ cwd: fx.root, lockTimeout: 5 });
    expect(typo.error).toMatchObject({ code: 'USAGE', field: 'lockTimeout', message: 'lockTimeout: unknown option (did you mean "lockTimeoutMs"?)' });
    const plan = await api.build({ cwd: fx.root, dryRun: true, adapter: 'webpack' });
    expect(plan).toMatchObject({ dryRun: true, ok: false, exitCode: 2, packages: [], error: { code: 'USAGE', field: 'adapter' } });
    api.planResultSchema.parse(plan);
    await expect(api.list({ cwd: fx.root, all: 'yes' })).rejects.toMatchObject({ name: 'BuildSystemError', code: 'USAGE', field: 'all' });
    expect(() => api.watch({ cwd: fx.root, filter: '@demo/*' })).toThrow(expect.objectContaining({ name: 'BuildSystemError', code: 'USAGE', field: 'filter' }));
    expect(existsSync(fx.path('dist'))).toBe(false);
    // Hooks beside the request are not request fields and pass: the same build with them succeeds.
    const events: string[] = [];
    const ok = await api.build({ cwd: fx.root, onEvent: (e: { type: string }) => events.push(e.type), signal: new AbortController().signal });
    expect(ok.ok).toBe(true);
    expect(events).toContain('package-done');
  });

  it('defineConfig is the identity and the config schema rejects unknown keys', async () => {
    const api = await import(distIndex);
    const cfg = { adapter: 'esbuild', dts: true };
    expect(api.defineConfig(cfg)).toBe(cfg);
    expect(api.buildConfigSchema.safeParse({ outdir: 'x' }).success).toBe(false);
  });
});
