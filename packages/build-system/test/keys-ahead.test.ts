import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../src/index.js';
import { PackageCache } from '../src/cache/package-cache.js';
import { PackageBuildService } from '../src/services/build.service.js';
import { KeysAhead } from '../src/services/keys-ahead.js';
import { keyStep } from '../src/services/package-build/key.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import type { RunResult } from '../src/result/schema.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * A package's key is computed while it waits for its dependencies
 * (services/keys-ahead.ts). Here a dependency's build writes into the waiting
 * package's sources while it waits (an esbuild plugin that holds its build,
 * then writes): the key computed before the write must not be the one used.
 * Each case fails when the check it names is taken out of keys-ahead.ts.
 */
const fixtures: Fixture[] = [];
const temp: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temp.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** `base` holds its build 700 ms, then runs the statements in `write.js` at the root (the test rewrites them per run). */
function workspace(appConfig = `{ adapter: 'esbuild', format: 'esm' }`): Fixture {
  const fx = createFixture({
    'package.json': { name: 'ka-root', private: true, workspaces: ['packages/*'] },
    'write.cjs': `module.exports = () => {};\n`,
    'packages/base/package.json': { name: '@ka/base', version: '1.0.0', type: 'module', exports: './dist/index.js' },
    'packages/base/src/index.ts': `export const base = 1;\n`,
    'packages/base/build.config.ts': `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
export default {
  adapter: 'esbuild',
  format: 'esm',
  adapterOptions: { esbuild: { plugins: [{ name: 'writes-into-app', setup(build) {
    build.onStart(async () => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      const file = require.resolve('../../write.cjs');
      delete require.cache[file];
      require(file)();
    });
  } }] } },
};
`,
    // app reads base (its dependency, bundled in) so it waits for base's build.
    'packages/app/package.json': { name: '@ka/app', version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: { '@ka/base': '1.0.0' } },
    'packages/app/src/index.ts': `import { base } from '@ka/base';\nimport { gen } from './gen.js';\nexport const app = [base, gen];\n`,
    'packages/app/src/gen.ts': `export const gen = 'first';\n`,
    'packages/app/build.config.ts': `export default { ...${appConfig}, noExternal: ['@ka/base'] };\n`,
  });
  mkdirSync(fx.path('node_modules/@ka'), { recursive: true });
  symlinkSync('../../packages/base', fx.path('node_modules/@ka/base'), 'dir');
  fixtures.push(fx);
  return fx;
}

async function run(fx: Fixture, cacheDir: string, baseSource: string, write: string): Promise<RunResult> {
  writeFileSync(fx.path('packages/base/src/index.ts'), baseSource);
  writeFileSync(fx.path('write.cjs'), `const fs = require('node:fs');\nmodule.exports = () => {\n${write}\n};\n`);
  const result = await build({ cwd: fx.root, all: true, cacheDir });
  expect(result.ok, JSON.stringify(result.results.map((r) => r.error ?? null))).toBe(true);
  return result;
}

const app = (result: RunResult) => result.results.find((r) => r.package.name === '@ka/app')!;

/**
 * A first build, then a second in which base's source is `baseSource` and base's plugin, while app
 * waits, writes `content` to `file` (relative to the root). Returns the workspace and the second run.
 */
async function writeWhileWaiting(fx: Fixture, baseSource: string, file: string, content: string) {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'bs-keys-ahead-'));
  temp.push(cacheDir);
  await run(fx, cacheDir, `export const base = 1;\n`, '');
  return run(fx, cacheDir, baseSource, `fs.writeFileSync(${JSON.stringify(fx.path(file))}, ${JSON.stringify(content)});`);
}

describe('a key computed while the package waits', () => {
  it('is dropped when a file it hashed changed before the package’s turn (the file check)', async () => {
    const fx = workspace();
    // A comment: base rebuilds to the same output, so nothing but gen.ts can make app miss.
    const second = await writeWhileWaiting(fx, `export const base = 1; // edited\n`, 'packages/app/src/gen.ts', "export const gen = 'second';\n");
    expect(app(second).cache.status).toBe('miss');
    expect(readFileSync(fx.path('packages/app/dist/index.js'), 'utf8')).toContain('second');
  });

  it('is dropped when a file appeared in a directory its walk listed (the directory check)', async () => {
    const second = await writeWhileWaiting(workspace(), `export const base = 2;\n`, 'packages/app/src/extra.ts', 'export const extra = 1;\n');
    // Not imported, so only the key tells: a new input file is a new fingerprint.
    expect(app(second).cache.status).toBe('miss');
    expect(app(second).cache.reason).toContain('src/extra.ts');
  });

  it('is not computed for a package with config inputs (a gitignored generated file its walk does not list)', async () => {
    const fx = workspace(`{ adapter: 'esbuild', format: 'esm', inputs: ['generated/**'] }`);
    fx.write({ '.gitignore': 'generated/\n', 'packages/app/generated/keep.txt': 'kept\n' });
    const second = await writeWhileWaiting(fx, `export const base = 2;\n`, 'packages/app/generated/new.txt', 'new\n');
    expect(app(second).cache.status).toBe('miss');
    expect(app(second).cache.reason).toContain('generated/new.txt');
  });
});

describe('KeysAhead', () => {
  async function setup() {
    const fx = workspace();
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'bs-keys-ahead-'));
    temp.push(cacheDir);
    await build({ cwd: fx.root, all: true, cacheDir });
    const reads = new ReadLog();
    const pkg = loadPackageInfo(fx.path('packages/app'), reads, fx.root);
    const options = { reads, cacheDir, workspaceDependencies: [{ name: '@ka/base', dir: fx.path('packages/base') }] };
    const prepared = await new PackageBuildService().prepare(pkg, options);
    return { fx, cacheDir, reads, pkg, options, prepared };
  }
  // The queue starts a job from setImmediate: one queued after it runs after the job has started (no timing involved).
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('hands a package its turn the key its turn would compute, with the entry read ahead', async () => {
    const { reads, pkg, options, prepared } = await setup();
    const ahead = new KeysAhead();
    ahead.add('@ka/app', prepared, options);
    await settle();
    const taken = await ahead.take('@ka/app');
    expect(taken).toBeDefined();
    const fresh = await keyStep(await PackageCache.open(pkg, options, reads), prepared, options);
    expect(taken!.key.primaryKey).toBe(fresh.primaryKey);
    expect((await taken!.cache.find(taken!.key.primaryKey, { touch: false })).status).toBe('hit');
    await ahead.close();
  });

  it('a job not started by its turn never starts, and nothing starts after close()', async () => {
    const { options, prepared } = await setup();
    const ahead = new KeysAhead();
    ahead.add('@ka/app', prepared, options);
    expect(await ahead.take('@ka/app')).toBeUndefined();
    await ahead.close();
    ahead.add('@ka/app', prepared, options);
    await settle();
    expect(await ahead.take('@ka/app')).toBeUndefined();
  });
});
