import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { build, type BuildEvent, type BuildOptions, type BuildResult, type CacheChange, type RunResult } from '../src/index.js';
import { LocalCacheStore } from '../src/cache/store.js';
import { cliPath, createFixture, repoBin, repoRoot, snapshotTree, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * The incremental cache end to end, with the real esbuild (and tsc for the
 * tool-version case). Every package gets its own cache directory outside the
 * package. "Did the adapter run?" is counted by an esbuild plugin that
 * appends to a marker file outside the package (so the marker is no input).
 */

const fixtures: Fixture[] = [];
const tempDirs: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

interface CachePackage {
  fx: Fixture;
  cacheDir: string;
  marker: string;
  /** How many times the adapter ran. */
  runs(): number;
  build(options?: BuildOptions): Promise<BuildResult>;
  setConfig(fields: string): void;
}

function configSource(marker: string, fields: string): string {
  return [
    "import { appendFileSync } from 'node:fs';",
    'export default {',
    "  adapter: 'esbuild',",
    `  ${fields}`,
    '  adapterOptions: {',
    '    esbuild: {',
    `      plugins: [{ name: 'count-runs', setup() { appendFileSync(${JSON.stringify(marker)}, 'x'); } }],`,
    '    },',
    '  },',
    '};',
    '',
  ].join('\n');
}

/** A package built with esbuild, with a .gitignore, a docs dir and a file nobody imports. */
function cachePackage(opts: { fields?: string; files?: FileTree } = {}): CachePackage {
  const side = tempDir('bs-cache-side-');
  const marker = path.join(side, 'adapter-runs');
  writeFileSync(marker, '');
  const cacheDir = path.join(side, 'cache');
  const fx = createFixture({
    'package.json': { name: 'fx-cache', version: '1.0.0', type: 'module', main: 'dist/index.js' },
    'build.config.ts': configSource(marker, opts.fields ?? ''),
    'src/index.ts': "import { double } from './util';\nexport const answer: number = double(21);\n",
    'src/util.ts': 'export function double(n: number): number {\n  return n * 2;\n}\n',
    'src/unused.ts': 'export const unused = 1;\n',
    'docs/guide.md': '# guide\n',
    'notes.local.md': 'scratch\n',
    '.gitignore': 'notes.local.md\ngenerated/\n',
    ...opts.files,
  });
  fixtures.push(fx);
  const pkg: CachePackage = {
    fx,
    cacheDir,
    marker,
    runs: () => readFileSync(marker, 'utf8').length,
    async build(options = {}) {
      const run = (await build({ cwd: fx.root, cacheDir, ...options })) as RunResult;
      expect(run.results).toHaveLength(1);
      return run.results[0]!;
    },
    setConfig(fields) {
      fx.write({ 'build.config.ts': configSource(marker, fields) });
    },
  };
  return pkg;
}

function kinds(r: BuildResult): string[] {
  return (r.cache.changes ?? []).map((c) => c.kind);
}

function change<K extends CacheChange['kind']>(r: BuildResult, kind: K): Extract<CacheChange, { kind: K }> {
  const c = (r.cache.changes ?? []).find((x) => x.kind === kind);
  expect(c, `expected a ${kind} change in ${JSON.stringify(r.cache)}`).toBeDefined();
  return c as Extract<CacheChange, { kind: K }>;
}

function mtimes(dir: string): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const name of readdirSync(dir, { recursive: true }).map(String)) {
    const st = statSync(path.join(dir, name));
    if (st.isFile()) out[name] = [st.mtimeMs, st.ino];
  }
  return out;
}

/** An entry's manifest: the entry itself (cache/store.ts). */
function manifestOf(cacheDir: string, key: string): string {
  return path.join(cacheDir, 'v1', 'entries', `${key}.json`);
}

/** The shared blob holding the bytes of an entry's dist/index.js. */
function indexBlobOf(cacheDir: string, key: string): string {
  const manifest = JSON.parse(readFileSync(manifestOf(cacheDir, key), 'utf8')) as { artifacts: { path: string; sha256: string }[] };
  return path.join(cacheDir, 'v1', 'blobs', manifest.artifacts.find((a) => a.path === 'dist/index.js')!.sha256);
}

describe('cache: hits', () => {
  it('second run with no change: hit, the adapter does not run, outputs untouched (mtimes and inodes kept)', async () => {
    const p = cachePackage();
    const first = await p.build();
    expect(first.status).toBe('success');
    expect(first.cache).toMatchObject({ status: 'miss', reason: 'first build' });
    expect(kinds(first)).toEqual(['first-build']);
    expect(first.cache.key).toMatch(/^[0-9a-f]{64}$/);
    expect(p.runs()).toBe(1);
    const before = mtimes(p.fx.path('dist'));
    const bytesBefore = snapshotTree(p.fx.path('dist'));

    const second = await p.build();
    expect(second.status).toBe('success');
    expect(second.cache).toEqual({ status: 'hit', key: first.cache.key, fingerprintKey: first.cache.fingerprintKey, source: 'local', restored: false });
    expect(p.runs()).toBe(1);
    expect(mtimes(p.fx.path('dist'))).toEqual(before);
    expect(snapshotTree(p.fx.path('dist'))).toEqual(bytesBefore);
    expect(second.artifacts).toEqual(first.artifacts);
  });

  it('outDir deleted: hit with restore, byte-identical files, adapter not run', async () => {
    const p = cachePackage();
    const first = await p.build();
    const original = snapshotTree(p.fx.path('dist'));
    expect(Object.keys(original)).toContain('index.js');
    rmSync(p.fx.path('dist'), { recursive: true });

    const second = await p.build();
    expect(second.cache).toMatchObject({ status: 'hit', key: first.cache.key, restored: true });
    expect(p.runs()).toBe(1);
    expect(snapshotTree(p.fx.path('dist'))).toEqual(original);

    // A partly damaged outDir (one file edited, a stray file added) is put right the same way.
    writeFileSync(p.fx.path('dist/index.js'), '// tampered\n');
    writeFileSync(p.fx.path('dist/stray.js'), 'stray\n');
    const third = await p.build();
    expect(third.cache).toMatchObject({ status: 'hit', restored: true });
    expect(snapshotTree(p.fx.path('dist'))).toEqual(original);
    expect(p.runs()).toBe(1);
  });

  it('edits to files outside the inputs hit: a gitignored file and one excluded by a negated inputs glob', async () => {
    const p = cachePackage({ fields: "inputs: ['!docs/**'],", files: { 'generated/out.txt': 'gen\n' } });
    const first = await p.build();
    writeFileSync(p.fx.path('notes.local.md'), 'scratch, edited\n');
    writeFileSync(p.fx.path('generated/out.txt'), 'gen, edited\n');
    writeFileSync(p.fx.path('docs/guide.md'), '# guide, edited\n');
    writeFileSync(p.fx.path('docs/new.md'), '# new\n');
    const second = await p.build();
    expect(second.cache).toMatchObject({ status: 'hit', key: first.cache.key });
    expect(p.runs()).toBe(1);

    // Control: the same kind of edit to a file that is an input misses (so the hit above means something).
    writeFileSync(p.fx.path('README.md'), 'readme\n');
    const third = await p.build();
    expect(third.cache.status).toBe('miss');
    expect(change(third, 'files-added').files).toEqual(['README.md']);
  });

  it('a positive inputs glob adds a gitignored file, and editing it misses', async () => {
    const p = cachePackage({ fields: "inputs: ['generated/**'],", files: { 'generated/schema.json': '{}\n' } });
    await p.build();
    writeFileSync(p.fx.path('generated/schema.json'), '{"v":2}\n');
    const second = await p.build();
    expect(second.cache.status).toBe('miss');
    expect(change(second, 'files-changed').files).toEqual(['generated/schema.json']);
  });
});

describe('cache: each miss says why', () => {
  it('source edit → files changed', async () => {
    const p = cachePackage();
    await p.build();
    writeFileSync(p.fx.path('src/util.ts'), 'export function double(n: number): number {\n  return n + n;\n}\n');
    const r = await p.build();
    expect(r.cache.status).toBe('miss');
    expect(kinds(r)).toEqual(['files-changed']);
    expect(change(r, 'files-changed')).toEqual({ kind: 'files-changed', files: ['src/util.ts'], count: 1 });
    expect(r.cache.reason).toBe('files changed: src/util.ts');
    expect(p.runs()).toBe(2);
  });

  it('file added → files added; file deleted → files removed', async () => {
    const p = cachePackage();
    await p.build();
    writeFileSync(p.fx.path('src/extra.ts'), 'export const extra = 2;\n');
    const added = await p.build();
    expect(kinds(added)).toEqual(['files-added']);
    expect(added.cache.reason).toBe('files added: src/extra.ts');

    unlinkSync(p.fx.path('src/unused.ts'));
    const removed = await p.build();
    expect(kinds(removed)).toEqual(['files-removed']);
    expect(removed.cache.reason).toBe('files removed: src/unused.ts');
    expect(p.runs()).toBe(3);
  });

  it('a long list is cut at 10 and counted', async () => {
    const p = cachePackage();
    await p.build();
    for (let i = 0; i < 13; i++) writeFileSync(p.fx.path(`src/gen${String(i).padStart(2, '0')}.ts`), `export const g${i} = ${i};\n`);
    const r = await p.build();
    const c = change(r, 'files-added');
    expect(c.count).toBe(13);
    expect(c.files).toHaveLength(10);
    expect(r.cache.reason).toMatch(/files added: src\/gen00\.ts, .* and 3 more$/);
  });

  it('config field change → config changed, naming the field', async () => {
    const p = cachePackage();
    await p.build();
    p.setConfig('minify: true,');
    const r = await p.build();
    expect(r.cache.status).toBe('miss');
    expect(change(r, 'config-changed').fields).toEqual(['minify']);
    expect(r.cache.reason).toContain('config changed: minify');

    p.setConfig("minify: true, define: { 'process.env.MODE': '\"x\"' },");
    const nested = await p.build();
    expect(change(nested, 'config-changed').fields).toEqual(['define.process.env.MODE']);
  });

  it('declared env var change → env changed, by name only; the value is never stored in clear', async () => {
    const secretA = 'value-a-7f3e1c';
    const secretB = 'value-b-9d2a4b';
    const p = cachePackage({ fields: "env: ['BS_CACHE_TEST_FLAVOUR'],", files: {} });
    process.env.BS_CACHE_TEST_FLAVOUR = secretA;
    try {
      const first = await p.build();
      expect(first.cache.status).toBe('miss');
      const hit = await p.build();
      expect(hit.cache.status).toBe('hit');
      process.env.BS_CACHE_TEST_FLAVOUR = secretB;
      const r = await p.build();
      expect(kinds(r)).toEqual(['env-changed']);
      expect(change(r, 'env-changed').names).toEqual(['BS_CACHE_TEST_FLAVOUR']);
      expect(r.cache.reason).toBe('env changed: BS_CACHE_TEST_FLAVOUR');
      expect(JSON.stringify(r)).not.toContain(secretB);
      // Nothing in the cache directory holds either value.
      for (const file of readdirSync(p.cacheDir, { recursive: true }).map(String)) {
        const abs = path.join(p.cacheDir, file);
        if (!statSync(abs).isFile()) continue;
        const text = readFileSync(abs, 'utf8');
        expect(text, file).not.toContain(secretA);
        expect(text, file).not.toContain(secretB);
      }
      // An env var the config does not name changes nothing.
      process.env.BS_CACHE_TEST_OTHER = 'x';
      expect((await p.build()).cache.status).toBe('hit');
    } finally {
      delete process.env.BS_CACHE_TEST_FLAVOUR;
      delete process.env.BS_CACHE_TEST_OTHER;
    }
  });

  it.each([
    ['the tsconfig\'s include', { include: ['src'] }, 'src/'],
    ['tsc\'s default include (none written: everything below the tsconfig)', { exclude: ['build.config.ts', 'dist'] }, 'types/'],
    // The package's own directory: listed without its outDir, which each build swaps in.
    ['tsc\'s default include, in the package\'s own directory,', { exclude: ['build.config.ts', 'dist'] }, ''],
  ])('tsc: in a directory %s reaches, a gitignored declaration appearing is a change; a gitignored log or JavaScript file (no allowJs) is not', async (_, include, where) => {
    const fx = createFixture({
      'package.json': { name: 'fx-include', version: '1.0.0', type: 'module', types: './dist/index.d.ts', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } }, files: ['dist'] },
      'build.config.ts': "export default { adapter: 'tsc', dts: true };\n",
      'tsconfig.json': { compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [], outDir: 'dist' }, ...include },
      '.gitignore': 'dist\n*.gen.d.ts\n*.log\n*.bundle.js\n',
      'src/options.d.ts': 'interface IncOptions { a: string }\n',
      'types/README.md': 'generated declarations go here\n',
      'src/index.ts': 'export function make(o: IncOptions) {\n  return { ...o };\n}\n',
    }, { linkNodeModules: true });
    fixtures.push(fx);
    const cacheDir = path.join(tempDir('bs-cache-include-'), 'cache');
    const run = async () => ((await build({ cwd: fx.root, cacheDir })) as RunResult).results[0]!;
    const first = await run();
    expect(first.status, JSON.stringify(first.diagnostics)).toBe('success');
    expect(first.cache.status).toBe('miss');
    fx.write({ [`${where}build.log`]: 'a log line\n' });
    expect((await run()).cache.status).toBe('hit');
    // JavaScript is no source of a tsconfig without allowJs.
    fx.write({ [`${where}app.bundle.js`]: 'console.log(1);\n' });
    expect((await run()).cache.status).toBe('hit');
    fx.write({ [`${where}extra.gen.d.ts`]: 'interface IncOptions { b?: number }\n' });
    const r = await run();
    expect(r.cache.reason).toBe(`files changed: ${where || './'}`);
    expect(readFileSync(fx.path('dist/index.d.ts'), 'utf8')).toContain('b?: number;');
  });

  /**
   * A package built by the bun adapter (the repo's bun linked into its node_modules/.bin), with a cache of its
   * own; `run` builds it through the API with env vars set (undefined: unset) for that build only.
   */
  function bunPackage(files: Record<string, string>) {
    const fx = createFixture({ 'package.json': { name: 'fx-bun', version: '1.0.0', type: 'module', main: 'dist/index.js' }, ...files });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules/.bin'), { recursive: true });
    symlinkSync(path.join(repoBin, 'bun'), fx.path('node_modules/.bin/bun'));
    const cacheDir = path.join(tempDir('bs-cache-bun-'), 'cache');
    const run = async (env: Record<string, string | undefined>) => {
      const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
      const set = (values: Record<string, string | undefined>) => {
        for (const [k, v] of Object.entries(values)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      };
      set(env);
      try {
        const r = ((await build({ cwd: fx.root, cacheDir })) as RunResult).results[0]!;
        expect(r.status, JSON.stringify(r.diagnostics)).toBe('success');
        return { r, js: readFileSync(fx.path('dist/index.js'), 'utf8') };
      } finally {
        set(saved);
      }
    };
    return { fx, run };
  }

  it("bun: NODE_ENV, which bun inlines as it finds it, is keyed though the config does not name it", async () => {
    const { run } = bunPackage({
      'build.config.ts': "export default { adapter: 'bun', platform: 'browser' };\n",
      'src/index.ts': 'export const mode = process.env.NODE_ENV;\n',
    });
    const prod = await run({ NODE_ENV: 'production' });
    expect(prod.r.cache.status).toBe('miss');
    expect(prod.js).toContain('"production"');
    expect((await run({ NODE_ENV: 'production' })).r.cache.status).toBe('hit');
    const test = await run({ NODE_ENV: 'test' });
    expect(test.r.cache.reason).toBe('env changed: NODE_ENV');
    expect(test.js).toContain('"test"');
    const unset = await run({ NODE_ENV: undefined });
    expect(unset.r.cache.status).toBe('miss');
    expect(unset.js).toContain('"development"');
    // Back to a value built before: its entry is restored, with that value inlined.
    const again = await run({ NODE_ENV: 'production' });
    expect(again.r.cache.status).toBe('hit');
    expect(again.js).toContain('"production"');
  });

  it('bun: NODE_PATH, where bun resolves a bare import that node_modules lacks, is keyed though the config does not name it', async () => {
    const { fx, run } = bunPackage({
      'build.config.ts': "export default { adapter: 'bun' };\n",
      'src/index.ts': "export { v } from 'np-lib';\n",
      'paths-one/np-lib/index.js': "export const v = 'from one';\n",
      'paths-two/np-lib/index.js': "export const v = 'from two';\n",
    });
    const one = await run({ NODE_PATH: fx.path('paths-one') });
    expect(one.js).toContain('from one');
    expect((await run({ NODE_PATH: fx.path('paths-one') })).r.cache.status).toBe('hit');
    const two = await run({ NODE_PATH: fx.path('paths-two') });
    expect(two.r.cache.reason).toBe('env changed: NODE_PATH');
    expect(two.js).toContain('from two');
  });

  it('package.json: a field that affects builds misses, one that does not (scripts) hits', async () => {
    const p = cachePackage();
    await p.build();
    const manifest = JSON.parse(p.fx.read('package.json'));
    p.fx.write({ 'package.json': { ...manifest, scripts: { test: 'echo' }, description: 'd' } });
    expect((await p.build()).cache.status).toBe('hit');
    p.fx.write({ 'package.json': { ...manifest, engines: { node: '>=22' } } });
    const r = await p.build();
    expect(r.cache.status).toBe('miss');
    expect(change(r, 'package-json-changed').fields).toEqual(['engines']);
    // engines.node sets the default target, so the resolved config changed too.
    expect(change(r, 'config-changed').fields).toEqual(['target']);
  });

  it('--force: builds without reading, still writes; --no-cache: neither', async () => {
    const p = cachePackage();
    const first = await p.build();
    const forced = await p.build({ force: true });
    expect(forced.cache).toMatchObject({ status: 'miss', key: first.cache.key, reason: 'forced (--force): the cache was not read' });
    expect(p.runs()).toBe(2);
    expect((await p.build()).cache.status).toBe('hit');

    const other = cachePackage();
    const off = await other.build({ noCache: true });
    expect(off.status).toBe('success');
    expect(off.cache).toEqual({ status: 'disabled', key: null, reason: 'cache disabled (--no-cache)' });
    expect(existsSync(other.cacheDir)).toBe(false);
    expect((await other.build({ noCache: true })).cache.status).toBe('disabled');
    expect(other.runs()).toBe(2);
  });

  it('inputs unchanged but the entry removed → says so instead of "first build"', async () => {
    const p = cachePackage();
    const first = await p.build();
    rmSync(manifestOf(p.cacheDir, first.cache.key!));
    rmSync(p.fx.path('dist'), { recursive: true });
    const r = await p.build();
    expect(kinds(r)).toEqual(['entry-missing']);
    expect(r.cache.reason).toMatch(/cache entry is gone/);
  });
});

describe('cache: workspace dependencies', () => {
  /**
   * @fx/app imports @fx/core. As a devDependency core is bundled into app (read from its
   * built output, linked in node_modules as a package manager would); as a runtime
   * dependency it stays an external import that app's build never reads.
   */
  function workspace(field: 'devDependencies' | 'dependencies' = 'devDependencies'): {
    fx: Fixture;
    cacheDir: string;
    build(): Promise<Map<string, BuildResult>>;
    /** The fingerprint stored with a result's cache entry. */
    fingerprint(r: BuildResult): { dependencies: Record<string, string> };
    /** What the build read outside the package, as stored with its entry. */
    reads(r: BuildResult): { files: Record<string, string | null> };
  } {
    const cacheDir = path.join(tempDir('bs-cache-ws-'), 'cache');
    const fx = createFixture({
      'package.json': { name: 'fx-ws', private: true, workspaces: ['packages/*'] },
      'packages/core/package.json': { name: '@fx/core', version: '1.0.0', type: 'module', main: 'dist/index.js' },
      'packages/core/build.config.ts': "export default { adapter: 'esbuild' };\n",
      'packages/core/src/index.ts': 'export const base: number = 40;\n',
      'packages/app/package.json': { name: '@fx/app', version: '1.0.0', type: 'module', main: 'dist/index.js', [field]: { '@fx/core': '*' } },
      'packages/app/build.config.ts': "export default { adapter: 'esbuild' };\n",
      'packages/app/src/index.ts': "import { base } from '@fx/core';\nexport const answer: number = base + 2;\n",
    });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules/@fx'), { recursive: true });
    symlinkSync('../../packages/core', fx.path('node_modules/@fx/core'), 'dir');
    return {
      fx,
      cacheDir,
      async build() {
        const run = (await build({ cwd: fx.root, cacheDir, concurrency: 1 })) as RunResult;
        expect(run.ok).toBe(true);
        return new Map(run.results.map((r) => [r.package.name, r]));
      },
      fingerprint: (r) => JSON.parse(readFileSync(manifestOf(cacheDir, r.cache.key!), 'utf8')).fingerprint,
      reads: (r) => JSON.parse(readFileSync(manifestOf(cacheDir, r.cache.key!), 'utf8')).reads,
    };
  }

  it("a bundled dependency's output change misses its dependents, naming the dependency; a change that leaves the output alone does not", async () => {
    const ws = workspace('devDependencies');
    const first = await ws.build();
    // The fingerprint says app reads core; what it read — core's built output — is recorded with the entry.
    expect(ws.fingerprint(first.get('@fx/app')!).dependencies['@fx/core']).toBe('read');
    expect(ws.reads(first.get('@fx/app')!).files['../core/dist/index.js']).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(ws.reads(first.get('@fx/app')!).files).filter((f) => f.startsWith('../core/src'))).toEqual([]);
    expect(readFileSync(ws.fx.path('packages/app/dist/index.js'), 'utf8')).toMatch(/base = 40/);
    expect(first.get('@fx/core')!.cache.status).toBe('miss');
    expect(first.get('@fx/app')!.cache.status).toBe('miss');
    const again = await ws.build();
    expect([...again.values()].map((r) => r.cache.status)).toEqual(['hit', 'hit']);

    ws.fx.write({ 'packages/core/src/index.ts': 'export const base: number = 41;\n' });
    const changed = await ws.build();
    expect(kinds(changed.get('@fx/core')!)).toEqual(['files-changed']);
    const app = changed.get('@fx/app')!;
    expect(app.cache.status).toBe('miss');
    expect(kinds(app)).toEqual(['dependency-changed']);
    expect(change(app, 'dependency-changed').packages).toEqual(['@fx/core']);
    expect(app.cache.reason).toBe('dependency output changed: @fx/core');

    // A comment: core's source changes, its bundle does not, so app stays cached.
    ws.fx.write({ 'packages/core/src/index.ts': '// a comment esbuild drops\nexport const base: number = 41;\n' });
    const comment = await ws.build();
    expect(comment.get('@fx/core')!.cache.status).toBe('miss');
    expect(comment.get('@fx/app')!.cache.status).toBe('hit');

    // A release of core (its version, a script): core rebuilds, app reads the same bundle and the same
    // resolution fields of core's package.json, so it stays cached. A field that steers resolution does not.
    const coreManifest = JSON.parse(ws.fx.read('packages/core/package.json'));
    ws.fx.write({ 'packages/core/package.json': { ...coreManifest, version: '1.0.1', scripts: { release: 'x' } } });
    const release = await ws.build();
    expect(release.get('@fx/core')!.cache.status).toBe('miss');
    expect(release.get('@fx/app')!.cache.status).toBe('hit');
    ws.fx.write({ 'packages/core/package.json': { ...coreManifest, version: '1.0.1', sideEffects: false } });
    const sideEffects = (await ws.build()).get('@fx/app')!;
    expect(sideEffects.cache.status).toBe('miss');
    expect(change(sideEffects, 'dependency-changed').packages).toEqual(['@fx/core']);
  });

  it('an external dependency is keyed as `external`: editing it rebuilds it, not the packages that only import it', async () => {
    const ws = workspace('dependencies');
    const first = await ws.build();
    expect([...first.values()].map((r) => r.cache.status)).toEqual(['miss', 'miss']);
    expect(ws.fingerprint(first.get('@fx/app')!).dependencies).toEqual({ '@fx/core': 'external' });
    expect(readFileSync(ws.fx.path('packages/app/dist/index.js'), 'utf8')).toMatch(/from "@fx\/core"/);

    ws.fx.write({ 'packages/core/src/index.ts': 'export const base: number = 41;\n' });
    const changed = await ws.build();
    expect(kinds(changed.get('@fx/core')!)).toEqual(['files-changed']);
    expect(changed.get('@fx/app')!.cache).toMatchObject({ status: 'hit', key: first.get('@fx/app')!.cache.key });

    // Moving it to devDependencies bundles it: now app reads core, and the miss says why.
    const manifest = JSON.parse(ws.fx.read('packages/app/package.json'));
    ws.fx.write({ 'packages/app/package.json': { ...manifest, dependencies: undefined, devDependencies: { '@fx/core': '*' } } });
    const bundled = (await ws.build()).get('@fx/app')!;
    expect(bundled.cache.status).toBe('miss');
    expect(kinds(bundled)).toEqual(['config-changed', 'package-json-changed']);
    expect(ws.fingerprint(bundled).dependencies['@fx/core']).toBe('read');
    expect(ws.reads(bundled).files['../core/dist/index.js']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a workspace dependency build-system does not build (source, linked in node_modules) counts by the files the bundler read', async () => {
    const cacheDir = path.join(tempDir('bs-cache-ws-src-'), 'cache');
    const fx = createFixture({
      'package.json': { name: 'fx-ws-src', private: true, workspaces: ['packages/*'] },
      'packages/lib/package.json': { name: '@fx/lib', version: '1.0.0', type: 'module', main: 'index.ts' },
      'packages/lib/index.ts': 'export const v: number = 1;\n',
      'packages/app/package.json': { name: '@fx/app', version: '1.0.0', type: 'module', main: 'dist/index.js', devDependencies: { '@fx/lib': '*' } },
      'packages/app/build.config.ts': "export default { adapter: 'esbuild' };\n",
      'packages/app/src/index.ts': "import { v } from '@fx/lib';\nexport const answer: number = v + 1;\n",
    });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules/@fx'), { recursive: true });
    symlinkSync('../../packages/lib', fx.path('node_modules/@fx/lib'), 'dir');
    const run = async () => ((await build({ cwd: fx.path('packages/app'), cacheDir })) as RunResult).results.find((r) => r.package.name === '@fx/app')!;
    expect((await run()).cache.status).toBe('miss');
    expect((await run()).cache.status).toBe('hit');
    fx.write({ 'packages/lib/index.ts': 'export const v: number = 2;\n' });
    const r = await run();
    expect(r.cache.status).toBe('miss');
    expect(change(r, 'dependency-changed').packages).toEqual(['@fx/lib']);
    // The bundle really changed: the dependency was inlined.
    expect(readFileSync(fx.path('packages/app/dist/index.js'), 'utf8')).toMatch(/v = 2/);
  });

  it('dry run predicts hits and misses without writing', async () => {
    const ws = workspace('devDependencies');
    await ws.build();
    const plan = await build({ cwd: ws.fx.root, cacheDir: ws.cacheDir, dryRun: true });
    expect(plan.packages.map((p) => p.cache.wouldHit)).toEqual([true, true]);
    ws.fx.write({ 'packages/core/src/index.ts': 'export const base: number = 1;\n' });
    const after = await build({ cwd: ws.fx.root, cacheDir: ws.cacheDir, dryRun: true });
    expect(after.packages.map((p) => [p.name, p.cache.wouldHit])).toEqual([
      ['@fx/core', false],
      ['@fx/app', false],
    ]);
    // app bundles core's next output, which cannot be known before core is built.
    expect(after.packages[1]!.cache.key).toBeNull();
  });

  it('the key does not depend on the selection: a filtered run hits what a full run stored, and the reverse', async () => {
    for (const field of ['devDependencies', 'dependencies'] as const) {
      const ws = workspace(field);
      const full = await ws.build();
      // Only app, without its dependency (turbo-style filter): what the full run stored is found.
      const onlyApp = (await build({ cwd: ws.fx.root, cacheDir: ws.cacheDir, filter: ['@fx/app'] })) as RunResult;
      expect(onlyApp.results.map((r) => r.package.name)).toEqual(['@fx/app']);
      expect(onlyApp.results[0]!.cache, field).toMatchObject({ status: 'hit', key: full.get('@fx/app')!.cache.key });
      // An edit, built by a filtered run: the full run after it finds that entry.
      ws.fx.write({ 'packages/app/src/index.ts': "import { base } from '@fx/core';\nexport const answer: number = base + 3;\n" });
      const filtered = (await build({ cwd: ws.fx.root, cacheDir: ws.cacheDir, filter: ['@fx/app'] })) as RunResult;
      expect(filtered.results[0]!.cache.status).toBe('miss');
      expect(kinds(filtered.results[0]!)).toEqual(['files-changed']);
      const after = await ws.build();
      expect([...after.values()].map((r) => r.cache.status)).toEqual(['hit', 'hit']);
      expect(after.get('@fx/app')!.cache.key).toBe(filtered.results[0]!.cache.key);
    }
  });

  it('dry run: a package importing a rebuilt dependency as external would still hit, with the key the build uses', async () => {
    const ws = workspace('dependencies');
    const built = await ws.build();
    ws.fx.write({ 'packages/core/src/index.ts': 'export const base: number = 1;\n' });
    const after = await build({ cwd: ws.fx.root, cacheDir: ws.cacheDir, dryRun: true });
    expect(after.packages.map((p) => [p.name, p.cache.wouldHit, p.waitsFor])).toEqual([
      ['@fx/core', false, []],
      ['@fx/app', true, []],
    ]);
    expect(after.packages[1]!.cache.key).toBe(built.get('@fx/app')!.cache.key);
  });
});

describe('cache: tool version', () => {
  it('switching the package TypeScript from 5.9.3 to 7.0.2 misses with "tool version changed" (tsc adapter)', async () => {
    const cacheDir = path.join(tempDir('bs-cache-tsc-'), 'cache');
    const fx = createFixture({
      'package.json': { name: 'fx-tsc-cache', version: '1.0.0', type: 'module', main: 'dist/index.js' },
      'build.config.ts': "export default { adapter: 'tsc', dts: false };\n",
      'src/index.ts': 'export const answer: number = 42;\n',
    });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules'));
    const link = fx.path('node_modules/typescript');
    symlinkSync(path.join(repoRoot, 'node_modules/typescript'), link, 'dir');
    // One CLI process per build, as a user switching versions runs it: Node memoizes module resolution per process.
    const run = async () => {
      const out = spawnSync(process.execPath, [cliPath, 'build', '--json', '--cache-dir', cacheDir], { cwd: fx.root, encoding: 'utf8' });
      expect(out.status, out.stderr).toBe(0);
      return (JSON.parse(out.stdout) as RunResult).results[0]!;
    };

    const first = await run();
    expect(first.status).toBe('success');
    expect(first.adapter).toMatchObject({ name: 'tsc', version: '5.9.3' });
    expect((await run()).cache.status).toBe('hit');

    unlinkSync(link);
    symlinkSync(path.join(repoRoot, 'node_modules/typescript7'), link, 'dir');
    const second = await run();
    expect(second.status).toBe('success');
    expect(second.adapter.version).toBe('7.0.2');
    expect(second.cache.status).toBe('miss');
    expect(kinds(second)).toEqual(['tool-changed']);
    expect(change(second, 'tool-changed').tools).toEqual([{ name: 'adapter', from: 'tsc 5.9.3', to: 'tsc 7.0.2' }]);
    expect(second.cache.reason).toBe('tool version changed: adapter tsc 5.9.3 → tsc 7.0.2');

    // And back: the 5.9.3 entry is still there (both compilers emit the same bytes here, so outDir already matches it).
    unlinkSync(link);
    symlinkSync(path.join(repoRoot, 'node_modules/typescript'), link, 'dir');
    expect((await run()).cache).toMatchObject({ status: 'hit', key: first.cache.key });
  });
});

describe('cache: corrupt entries are reported, rebuilt and repaired', () => {
  // (A manifest removed is no entry at all: a plain miss, "inputs unchanged but the entry removed" above.)
  const corruptions: [string, (cacheDir: string, key: string) => void, RegExp][] = [
    [
      'truncated artifact',
      (cacheDir, key) => {
        const blob = indexBlobOf(cacheDir, key);
        truncateSync(blob, Math.floor(statSync(blob).size / 2));
      },
      /blob of dist\/index\.js does not match its sha256/,
    ],
    [
      'flipped byte',
      (cacheDir, key) => {
        const blob = indexBlobOf(cacheDir, key);
        const data = readFileSync(blob);
        data[Math.floor(data.length / 2)]! ^= 0x01;
        writeFileSync(blob, data);
      },
      /blob of dist\/index\.js does not match its sha256/,
    ],
    ['emptied manifest', (cacheDir, key) => truncateSync(manifestOf(cacheDir, key), 0), /manifest is not valid JSON/],
    ['missing blob', (cacheDir, key) => unlinkSync(indexBlobOf(cacheDir, key)), /blob of dist\/index\.js unreadable \(ENOENT/],
    [
      'edited manifest',
      (cacheDir, key) => {
        const file = manifestOf(cacheDir, key);
        writeFileSync(file, readFileSync(file, 'utf8').replace('"durationMs":', '"durationMs":1'));
      },
      /manifest checksum mismatch/,
    ],
  ];

  for (const [name, corrupt, problem] of corruptions) {
    it(`${name}: warning, miss, rebuild, entry repaired`, async () => {
      const p = cachePackage();
      const first = await p.build();
      const key = first.cache.key!;
      const original = snapshotTree(p.fx.path('dist'));
      corrupt(p.cacheDir, key);
      // Without outDir the entry has to be restored, which is when its bytes are read.
      rmSync(p.fx.path('dist'), { recursive: true });

      const r = await p.build();
      expect(r.status).toBe('success');
      expect(r.cache.status).toBe('miss');
      expect(r.cache.key).toBe(key);
      const c = change(r, 'entry-corrupt');
      expect(c.problem).toMatch(problem);
      const warning = r.diagnostics.find((d) => d.code === 'CACHE');
      expect(warning?.severity).toBe('warning');
      expect(warning?.message).toMatch(/is corrupt .*rebuilding and replacing it/);
      expect(p.runs()).toBe(2);
      expect(snapshotTree(p.fx.path('dist'))).toEqual(original);

      // Repaired: valid again, and the next run restores from it without building.
      const lookup = await new LocalCacheStore(p.cacheDir).get(key);
      expect(lookup.status).toBe('hit');
      rmSync(p.fx.path('dist'), { recursive: true });
      const healed = await p.build();
      expect(healed.cache).toMatchObject({ status: 'hit', restored: true });
      expect(healed.diagnostics).toEqual([]);
      expect(p.runs()).toBe(2);
      expect(snapshotTree(p.fx.path('dist'))).toEqual(original);
    });
  }
});

describe('cache: a damaged entry is found when its bytes are needed', () => {
  it('a missing blob with outDir in place: a hit that writes nothing; once outDir is gone, corrupt, rebuilt and repaired', async () => {
    const p = cachePackage();
    const first = await p.build();
    const original = snapshotTree(p.fx.path('dist'));
    unlinkSync(indexBlobOf(p.cacheDir, first.cache.key!));
    // Nothing to restore: outDir already holds the entry's files, so no blob is looked at.
    const kept = await p.build();
    expect(kept.cache).toMatchObject({ status: 'hit', restored: false });
    expect(p.runs()).toBe(1);
    rmSync(p.fx.path('dist'), { recursive: true });
    const rebuilt = await p.build();
    expect(change(rebuilt, 'entry-corrupt').problem).toMatch(/blob of dist\/index\.js unreadable/);
    expect(p.runs()).toBe(2);
    expect(snapshotTree(p.fx.path('dist'))).toEqual(original);
  });
});

describe('cache: logs', () => {
  it('a hit replays the original build output (full), shows none with errors-only or none', async () => {
    // The tool's own output, not diagnostics (those are in the result, printed once by the reporter):
    // bun's CLI prints what it bundled, esbuild's in-process API prints nothing.
    const p = cachePackage();
    p.fx.write({ 'build.config.ts': "export default { adapter: 'bun' };\n" });
    const logsOf = async (options: BuildOptions) => {
      const lines: string[] = [];
      const r = await p.build({ ...options, onEvent: (e: BuildEvent) => e.type === 'log' && lines.push(e.line) });
      return { r, lines };
    };
    const first = await logsOf({});
    expect(first.r.cache.status).toBe('miss');
    expect(first.lines.join('\n')).toMatch(/index\.js/);
    const replay = await logsOf({});
    expect(replay.r.cache.status).toBe('hit');
    expect(replay.lines).toEqual(first.lines);
    expect(replay.r.diagnostics.map((d) => d.message)).toEqual(first.r.diagnostics.map((d) => d.message));
    expect((await logsOf({ outputLogs: 'none' })).lines).toEqual([]);
    expect((await logsOf({ outputLogs: 'errors-only' })).lines).toEqual([]);
    // errors-only still shows the output of a build that fails.
    writeFileSync(p.fx.path('src/index.ts'), 'export const = ;\n');
    const failed = await logsOf({ outputLogs: 'errors-only' });
    expect(failed.r.status).toBe('failed');
    expect(failed.lines.length).toBeGreaterThan(0);
  });
});

describe('cache: eviction', () => {
  it('honours a tiny size cap, least recently used first', async () => {
    const p = cachePackage();
    const store = new LocalCacheStore(p.cacheDir);
    const variant = (n: number) => writeFileSync(p.fx.path('src/index.ts'), `export const answer: number = ${n};\n`);

    variant(1);
    const a = await p.build();
    const entryBytes = (await store.list())[0]!.bytes;
    // Room for two entries, not three.
    const cap = Math.floor(entryBytes * 2.5);
    const limits = { cacheLimits: { maxSizeBytes: cap } };
    variant(2);
    const b = await p.build(limits);
    variant(1);
    expect((await p.build(limits)).cache).toMatchObject({ status: 'hit', key: a.cache.key });
    variant(3);
    const c = await p.build(limits);

    const left = await store.list();
    expect(left.reduce((n, e) => n + e.bytes, 0)).toBeLessThanOrEqual(cap);
    // b was the least recently used (a was hit after it): b goes.
    expect(left.map((e) => e.key).sort()).toEqual([a.cache.key, c.cache.key].sort());
    expect(left.map((e) => e.key)).not.toContain(b.cache.key);

    // A cap smaller than any entry leaves none, even the one just written.
    variant(4);
    await p.build({ cacheLimits: { maxSizeBytes: 1 } });
    expect(await store.list()).toEqual([]);
  });
});

describe('cache: failures of the cache itself', () => {
  it('an unusable cache directory costs the cache, never the build', async () => {
    const p = cachePackage();
    writeFileSync(p.cacheDir, 'a file where the cache directory should be');
    const r = await p.build();
    expect(r.status).toBe('success');
    expect(existsSync(p.fx.path('dist/index.js'))).toBe(true);
    const warning = r.diagnostics.find((d) => d.code === 'CACHE');
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toMatch(/could not write the cache entry/);
  });
});

describe('cache: location', () => {
  const saved = process.env.BUILD_SYSTEM_CACHE_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.BUILD_SYSTEM_CACHE_DIR;
    else process.env.BUILD_SYSTEM_CACHE_DIR = saved;
  });

  it('defaults to <workspace root>/node_modules/.cache/build-system; BUILD_SYSTEM_CACHE_DIR overrides', async () => {
    delete process.env.BUILD_SYSTEM_CACHE_DIR;
    const fx = createFixture({
      'package.json': { name: 'fx-cache-loc', version: '1.0.0', type: 'module', main: 'dist/index.js' },
      'build.config.ts': "export default { adapter: 'esbuild' };\n",
      'src/index.ts': 'export const x = 1;\n',
    });
    fixtures.push(fx);
    const r = ((await build({ cwd: fx.root })) as RunResult).results[0]!;
    expect(existsSync(manifestOf(path.join(fx.root, 'node_modules/.cache/build-system'), r.cache.key!))).toBe(true);

    const envDir = path.join(tempDir('bs-cache-env-'), 'c');
    process.env.BUILD_SYSTEM_CACHE_DIR = envDir;
    rmSync(fx.path('dist'), { recursive: true });
    const viaEnv = ((await build({ cwd: fx.root })) as RunResult).results[0]!;
    // Another cache directory: nothing to restore from, so the entry is missing there.
    expect(viaEnv.cache.status).toBe('miss');
    expect(existsSync(manifestOf(envDir, r.cache.key!))).toBe(true);
  });
});
