import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluationFile, evaluationKey, type ConfigCacheLocation } from '../src/config/evaluation-cache.js';
import { clearConfigCache, loadPackageConfig } from '../src/config/load.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * Evaluated configs kept on disk for the next process (config/evaluation-cache.ts). A new
 * process is stood in for by clearConfigCache() (it forgets every in-process evaluation).
 * Whether a config was evaluated or taken from the cache is told by planting another value
 * in its entry: the planted value comes back only when the entry was used.
 */

const fixtures: Fixture[] = [];
function fixture(files: FileTree): Fixture {
  const fx = createFixture({ 'package.json': { name: 'cfg-cache', version: '1.0.0', type: 'module' }, ...files });
  fixtures.push(fx);
  return fx;
}
const ENV = 'BS_TEST_CONFIG_CACHE_OUT';
const savedEnv = process.env[ENV];
beforeEach(() => clearConfigCache());
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
  if (savedEnv === undefined) delete process.env[ENV];
  else process.env[ENV] = savedEnv;
  clearConfigCache();
});

const SHAREABLE = "import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'esbuild', outDir: 'evaluated' });\n";

function cacheAt(fx: Fixture, opts: Partial<ConfigCacheLocation> = {}): ConfigCacheLocation {
  return { dir: fx.path('.cache'), read: true, write: true, ...opts };
}

/** Loads the package's config the way a new process would (nothing evaluated in this one yet), and keeps it as a build does once the config proved usable. */
async function loadFresh(fx: Fixture, cache: ConfigCacheLocation, dir = '.') {
  clearConfigCache();
  const root = fx.path(dir);
  const loaded = await loadPackageConfig(loadPackageInfo(root, new ReadLog()), new ReadLog(), cache);
  await loaded.keep?.();
  return loaded.config;
}

function entries(cache: ConfigCacheLocation): string[] {
  const dir = path.join(cache.dir, 'v1', 'configs');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Replaces the value in the only entry (keeping it valid otherwise). */
function plant(cache: ConfigCacheLocation, value: Record<string, unknown>): void {
  const [name] = entries(cache);
  expect(name).toBeDefined();
  const file = path.join(cache.dir, 'v1', 'configs', name!);
  const entry = JSON.parse(readFileSync(file, 'utf8')) as { value: unknown };
  entry.value = value;
  writeFileSync(file, JSON.stringify(entry));
}

describe('evaluated configs kept for the next process', () => {
  it('a shareable config is stored once and the entry is used by the next process', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    const cache = cacheAt(fx);
    expect((await loadFresh(fx, cache)).outDir).toBe('evaluated');
    expect(entries(cache)).toHaveLength(1);
    plant(cache, { adapter: 'esbuild', outDir: 'from-the-cache' });
    expect((await loadFresh(fx, cache)).outDir).toBe('from-the-cache');
  });

  it('the validated form is kept with the value and used for that value only (no second validation, no zod)', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    const cache = cacheAt(fx);
    const first = await loadFresh(fx, cache);
    const file = path.join(cache.dir, 'v1', 'configs', entries(cache)[0]!);
    const entry = JSON.parse(readFileSync(file, 'utf8')) as { value: unknown; checked: { value: string; config: Record<string, unknown> } };
    expect(entry.checked.config).toStrictEqual(first);
    expect(await loadFresh(fx, cache)).toStrictEqual(first);
    // Planted in the validated form only: it comes back, so the next process did not validate again.
    entry.checked.config = { ...entry.checked.config, outDir: 'validated-form' };
    writeFileSync(file, JSON.stringify(entry));
    expect((await loadFresh(fx, cache)).outDir).toBe('validated-form');
    // Another value beside it: the validated form is not that value's, so the value is validated.
    plant(cache, { adapter: 'esbuild', outDir: 'other-value' });
    expect((await loadFresh(fx, cache)).outDir).toBe('other-value');
  });

  it('the config is still logged in the run read log as its own file', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    const cache = cacheAt(fx);
    await loadFresh(fx, cache);
    clearConfigCache();
    const reads = new ReadLog(true);
    await loadPackageConfig(loadPackageInfo(fx.root, new ReadLog()), reads, cache);
    const seen = reads.observations().files.get(fx.path('build.config.ts'));
    expect(seen?.sha256).toBe(createHash('sha256').update(readFileSync(fx.path('build.config.ts'))).digest('hex'));
    expect(reads.refused).toBeNull();
  });

  it('a changed config text is evaluated again', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    const cache = cacheAt(fx);
    await loadFresh(fx, cache);
    plant(cache, { adapter: 'esbuild', outDir: 'from-the-cache' });
    writeFileSync(fx.path('build.config.ts'), SHAREABLE.replace("'evaluated'", "'edited'"));
    expect((await loadFresh(fx, cache)).outDir).toBe('edited');
    expect(entries(cache)).toHaveLength(2);
  });

  it('a changed value of an env var the config read is evaluated again, and the entry then holds the new value', async () => {
    const fx = fixture({ 'build.config.ts': `export default { adapter: 'esbuild', outDir: process.env.${ENV} ?? 'unset' };\n` });
    const cache = cacheAt(fx);
    process.env[ENV] = 'first';
    expect((await loadFresh(fx, cache)).outDir).toBe('first');
    plant(cache, { adapter: 'esbuild', outDir: 'from-the-cache' });
    expect((await loadFresh(fx, cache)).outDir).toBe('from-the-cache');
    process.env[ENV] = 'second';
    expect((await loadFresh(fx, cache)).outDir).toBe('second');
    delete process.env[ENV];
    expect((await loadFresh(fx, cache)).outDir).toBe('unset');
    // The entry was rewritten for the values of the last evaluation.
    plant(cache, { adapter: 'esbuild', outDir: 'planted-again' });
    expect((await loadFresh(fx, cache)).outDir).toBe('planted-again');
  });

  it('a config that imports a file is never stored: a change of that file is seen', async () => {
    const fx = fixture({
      'out.ts': "export const out = 'one';\n",
      'build.config.ts': "import { out } from './out.js';\nexport default { adapter: 'esbuild', outDir: out };\n",
    });
    const cache = cacheAt(fx);
    expect((await loadFresh(fx, cache)).outDir).toBe('one');
    expect(entries(cache)).toEqual([]);
    writeFileSync(fx.path('out.ts'), "export const out = 'two';\n");
    expect((await loadFresh(fx, cache)).outDir).toBe('two');
  });

  it('nothing is stored until the caller says the config is usable', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    const cache = cacheAt(fx);
    const loaded = await loadPackageConfig(loadPackageInfo(fx.root, new ReadLog()), new ReadLog(), cache);
    expect(loaded.config.outDir).toBe('evaluated');
    expect(entries(cache)).toEqual([]);
    await loaded.keep!();
    expect(entries(cache)).toHaveLength(1);
  });

  it('a config that names its own location is never stored', async () => {
    const fx = fixture({ 'build.config.ts': "export default { adapter: 'esbuild', outDir: import.meta.dirname ? 'here' : 'nowhere' };\n" });
    const cache = cacheAt(fx);
    expect((await loadFresh(fx, cache)).outDir).toBe('here');
    expect(entries(cache)).toEqual([]);
  });

  it('a damaged entry is evaluated again and replaced', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    const cache = cacheAt(fx);
    await loadFresh(fx, cache);
    const [name] = entries(cache);
    const file = path.join(cache.dir, 'v1', 'configs', name!);
    for (const damage of ['{"format":1,"key":', '', 'null', JSON.stringify({ format: 1, key: 'other', value: { outDir: 'x' }, env: [] })]) {
      writeFileSync(file, damage);
      expect((await loadFresh(fx, cache)).outDir).toBe('evaluated');
      expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ value: { outDir: 'evaluated' } });
    }
  });

  it('read: false (--force) evaluates again; write: false stores nothing', async () => {
    const fx = fixture({ 'build.config.ts': SHAREABLE });
    expect((await loadFresh(fx, cacheAt(fx, { write: false }))).outDir).toBe('evaluated');
    expect(entries(cacheAt(fx))).toEqual([]);
    await loadFresh(fx, cacheAt(fx));
    plant(cacheAt(fx), { adapter: 'esbuild', outDir: 'from-the-cache' });
    expect((await loadFresh(fx, cacheAt(fx, { read: false }))).outDir).toBe('evaluated');
  });

  it('an entry made by another build-system, runtime, cwd or option env is another key', () => {
    const base = { version: '1.0.0', program: '/x/cli.js:100:1', runtime: 'node v20 linux x64', cwd: '/w', env: {} };
    const key = evaluationKey(SHAREABLE, '.ts', base);
    expect(evaluationKey(SHAREABLE, '.ts', base)).toBe(key);
    for (const changed of [
      { version: '1.0.1' },
      { program: '/x/cli.js:100:2' },
      { runtime: 'node v22 linux x64' },
      { cwd: '/v' },
      { env: { NODE_OPTIONS: '--conditions=dev' } },
      { env: { BUILD_SYSTEM_CONFIG_TIMEOUT_MS: '1' } },
    ]) {
      expect(evaluationKey(SHAREABLE, '.ts', { ...base, ...changed })).not.toBe(key);
    }
    expect(evaluationKey(SHAREABLE, '.mts', base)).not.toBe(key);
    expect(evaluationKey(`${SHAREABLE} `, '.ts', base)).not.toBe(key);
    expect(evaluationFile('/c', key)).toBe(path.join('/c', 'v1', 'configs', `${key}.json`));
  });
});
