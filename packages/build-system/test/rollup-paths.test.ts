import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { packagesWorkspace, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * tsconfig `paths` with the rollup adapter: node-resolve knows node_modules only, so an alias
 * (`@app/*` → `./src/*`) stayed unresolved — an external import no user of the package can satisfy.
 * Real CLI, real rollup, the output run by Node; the tsconfig files and the places a target was
 * looked for are inputs.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const build = (fx: Fixture) => {
  const r = cli(['build', '--json', '--cache-dir', fx.path('.bs-cache')], { cwd: fx.root });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout).results[0];
};
const run = (fx: Fixture) => spawnSync(process.execPath, [fx.path('packages/app/dist/index.js')], { encoding: 'utf8' });

describe('rollup and tsconfig paths', () => {
  it('resolves aliases from the tsconfig it extends (wildcard, exact, a .js specifier for .ts, a directory index); the tsconfigs and the places looked at are inputs', () => {
    const fx = packagesWorkspace(
      {
        app: {
          'package.json': { name: '@rp/app', version: '1.0.0', type: 'module', exports: './dist/index.js' },
          'build-system.config.ts': `export default { adapter: 'rollup', format: 'esm', dts: false };\n`,
          // The paths live in a base one level up; the package's own tsconfig only extends it.
          'tsconfig.json': { extends: './tsconfig.base.json', compilerOptions: { strict: true } },
          'tsconfig.base.json': { compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', paths: { '@app/*': ['./src/lib/*'], '~greeting': ['./src/greeting/index.ts'] } } },
          'src/index.ts': `import { twice } from '@app/math.js';\nimport { name } from '@app/name';\nimport { greet } from '~greeting';\nconsole.log(greet(name), twice(21));\n`,
          'src/lib/math.ts': `export const twice = (n: number): number => n * 2;\n`,
          'src/lib/name/index.ts': `export const name: string = 'rollup';\n`,
          'src/greeting/index.ts': `export const greet = (who: string): string => 'hello ' + who;\n`,
        },
      },
      fixtures,
      'rp-root',
    );
    const first = build(fx);
    expect(first.adapter.name).toBe('rollup');
    expect(first.diagnostics.map((d: { message: string }) => d.message).join('\n')).not.toMatch(/unresolved|could not be resolved/i);
    const out = readFileSync(fx.path('packages/app/dist/index.js'), 'utf8');
    expect(out).not.toMatch(/from ['"](@app|~greeting)/);
    expect(run(fx).stdout.trim()).toBe('hello rollup 42');

    // The base tsconfig is an input: pointing the alias elsewhere rebuilds.
    fx.write({
      'packages/app/src/greeting2.ts': `export const greet = (who: string): string => 'hi ' + who;\n`,
      'packages/app/tsconfig.base.json': { compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', paths: { '@app/*': ['./src/lib/*'], '~greeting': ['./src/greeting2.ts'] } } },
    });
    const second = build(fx);
    expect(second.cache.status).toBe('miss');
    expect(run(fx).stdout.trim()).toBe('hi rollup 42');

    // `@app/name` found src/lib/name/index.ts after looking for src/lib/name.ts: a file there is the nearer target.
    fx.write({ 'packages/app/src/lib/name.ts': `export const name: string = 'nearer';\n` });
    const third = build(fx);
    expect(third.cache.status).toBe('miss');
    expect(run(fx).stdout.trim()).toBe('hi nearer 42');
  });

  it("a bundled dependency's own import is not aliased: its `shared` is the npm package, the package's `shared` its source", () => {
    const fx = packagesWorkspace(
      {
        app: {
          'package.json': { name: '@rp/app', version: '1.0.0', type: 'module', exports: './dist/index.js', devDependencies: { dep: '1.0.0' } },
          'build-system.config.ts': `export default { adapter: 'rollup', format: 'esm', dts: false };\n`,
          'tsconfig.json': { compilerOptions: { strict: true, module: 'ESNext', moduleResolution: 'Bundler', paths: { shared: ['./src/shared.ts'] } } },
          'src/index.ts': `import { from } from 'shared';\nimport { depFrom } from 'dep';\nconsole.log(from, depFrom);\n`,
          'src/shared.ts': `export const from: string = 'alias';\n`,
          // Installed beside it (a devDependency, so bundled): its import of `shared` resolves in node_modules.
          'node_modules/dep/package.json': { name: 'dep', version: '1.0.0', type: 'module', main: 'index.js' },
          'node_modules/dep/index.js': `export { from as depFrom } from 'shared';\n`,
          'node_modules/shared/package.json': { name: 'shared', version: '1.0.0', type: 'module', main: 'index.js' },
          'node_modules/shared/index.js': `export const from = 'npm';\n`,
        },
      },
      fixtures,
      'rp-root',
    );
    expect(build(fx).adapter.name).toBe('rollup');
    expect(run(fx).stdout.trim()).toBe('alias npm');
  });

  it('an alias to sources outside the package: a nearer target appearing there is a miss', () => {
    const fx = packagesWorkspace(
      {
        app: {
          'package.json': { name: '@rp/app', version: '1.0.0', type: 'module', exports: './dist/index.js' },
          'build-system.config.ts': `export default { adapter: 'rollup', format: 'esm', dts: false };\n`,
          'tsconfig.json': { compilerOptions: { strict: true, module: 'ESNext', moduleResolution: 'Bundler', paths: { '@shared/*': ['../../shared/*'] } } },
          'src/index.ts': `import { word } from '@shared/words';\nconsole.log(word);\n`,
        },
      },
      fixtures,
      'rp-root',
    );
    fx.write({ 'shared/words/index.ts': `export const word: string = 'from the index';\n` });
    expect(build(fx).cache.status).toBe('miss');
    expect(run(fx).stdout.trim()).toBe('from the index');
    const again = build(fx);
    expect(again.cache.status).toBe('hit');
    // Outside the package, so in no listing the fingerprint walks: the build's recorded reads (the places looked at, the
    // directories `paths` points into, as for esbuild and bun) make it a miss.
    fx.write({ 'shared/words.ts': `export const word: string = 'from the file';\n` });
    const after = build(fx);
    expect(after.cache.status).toBe('miss');
    expect(run(fx).stdout.trim()).toBe('from the file');
  });
});
