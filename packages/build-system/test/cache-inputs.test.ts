import { afterAll, describe, expect, it } from 'vitest';
import { describeChanges, diffFingerprints, explainMiss } from '../src/cache/explain.js';
import { FileHasher } from '../src/cache/file-hasher.js';
import { canonicalJson, FINGERPRINT_VERSION, fingerprintKey, type Fingerprint } from '../src/cache/fingerprint.js';
import { listInputFiles } from '../src/cache/inputs.js';
import { lockfileFingerprint } from '../src/cache/lockfile.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { ReadLog } from '../src/util/read-log.js';

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function inputsOf(fx: Fixture, pkgRel: string, opts: { outDir?: string; inputs?: string[] } = {}): string[] {
  return listInputFiles(fx.path(pkgRel), { workspaceRoot: fx.root, outDir: opts.outDir ?? 'dist', inputs: opts.inputs ?? [], reads: new ReadLog() }).map((f) => f.rel);
}

describe('input files', () => {
  it('follow the gitignore rules of the workspace root, the directories between, the package and its subdirectories', () => {
    const fx = createFixture({
      '.gitignore': '*.snap\n/pkgs/a/rootonly.txt\n',
      'pkgs/.gitignore': 'between.txt\n',
      'pkgs/a/package.json': '{}',
      'pkgs/a/.gitignore': ['# comment', '*.log', '!keep.log', '/build', 'tmp/', 'docs/*.md', '\\#hash.txt', 'trailing.txt   ', ''].join('\n'),
      'pkgs/a/src/index.ts': '',
      'pkgs/a/src/x.snap': '',
      'pkgs/a/src/deep/debug.log': '',
      'pkgs/a/keep.log': '',
      'pkgs/a/build/out.js': '',
      'pkgs/a/src/build/kept.ts': '',
      'pkgs/a/tmp/ignored.txt': '',
      'pkgs/a/src/tmp': 'a file named tmp is not a directory',
      'pkgs/a/docs/a.md': '',
      'pkgs/a/docs/sub/b.md': '',
      'pkgs/a/#hash.txt': '',
      'pkgs/a/trailing.txt': '',
      'pkgs/a/rootonly.txt': '',
      'pkgs/a/between.txt': '',
      'pkgs/a/src/.gitignore': 'secret.ts\n',
      'pkgs/a/src/secret.ts': '',
    });
    fixtures.push(fx);
    expect(inputsOf(fx, 'pkgs/a')).toEqual([
      '.gitignore',
      'docs/sub/b.md',
      'keep.log',
      'src/.gitignore',
      'src/build/kept.ts',
      'src/index.ts',
      'src/tmp',
    ]);
  });

  it("leave out outDir, node_modules, .git, build-system's own files, tool caches and package.json; inputs globs add and remove", () => {
    const fx = createFixture({
      'shared/tsconfig.base.json': '{}',
      'shared/other.json': '{}',
      'pkgs/a/package.json': '{}',
      'pkgs/a/package-lock.json': '{}',
      'pkgs/a/src/index.ts': '',
      'pkgs/a/src/index.test.ts': '',
      'pkgs/a/out/lib/index.js': '',
      'pkgs/a/out/keep.txt': 'outDir is out/lib, so out/ itself is a source directory',
      'pkgs/a/node_modules/x/index.js': '',
      'pkgs/a/.git/HEAD': '',
      'pkgs/a/out/.build-system-staging-lib-0123456789ab/index.js': '',
      'pkgs/a/.build-system-lock/owner.json': '',
      'pkgs/a/.cache/x': '',
      'pkgs/a/tsconfig.tsbuildinfo': '',
      'pkgs/a/.gitignore': 'gen/\n',
      'pkgs/a/gen/types.ts': '',
    });
    fixtures.push(fx);
    expect(inputsOf(fx, 'pkgs/a', { outDir: 'out/lib' })).toEqual(['.gitignore', 'out/keep.txt', 'src/index.test.ts', 'src/index.ts']);
    expect(inputsOf(fx, 'pkgs/a', { outDir: 'out/lib', inputs: ['gen/**', '../../shared/tsconfig.base.json', '!src/**/*.test.ts', '!out/**'] })).toEqual([
      '../../shared/tsconfig.base.json',
      '.gitignore',
      'gen/types.ts',
      'src/index.ts',
    ]);
  });
});

describe('lockfile entries', () => {
  function lockFixture(lock: object): Fixture {
    const fx = createFixture({
      'package.json': { name: 'root', private: true, workspaces: ['pkgs/*'] },
      'package-lock.json': lock,
      'pkgs/a/package.json': { name: 'a', dependencies: { dep: '^1.0.0', b: '*' } },
      'pkgs/b/package.json': { name: 'b' },
    });
    fixtures.push(fx);
    return fx;
  }
  const lock = (depVersion: string, leafVersion: string, otherVersion: string) => ({
    lockfileVersion: 3,
    packages: {
      '': { name: 'root' },
      'node_modules/a': { resolved: 'pkgs/a', link: true },
      'node_modules/b': { resolved: 'pkgs/b', link: true },
      'node_modules/dep': { version: depVersion, integrity: `sha512-dep${depVersion}`, dependencies: { leaf: '^2' } },
      'node_modules/leaf': { version: '1.0.0', integrity: 'sha512-wrong-leaf' },
      'node_modules/dep/node_modules/leaf': { version: leafVersion, integrity: `sha512-leaf${leafVersion}` },
      'node_modules/other': { version: otherVersion, integrity: `sha512-other${otherVersion}` },
    },
  });
  const digest = async (l: object) => {
    const fx = lockFixture(l);
    return lockfileFingerprint(loadPackageInfo(fx.path('pkgs/a'), new ReadLog(), fx.root), new FileHasher(new ReadLog()), new Set(['a', 'b']));
  };

  it("cover the package's external dependencies and what they pull in, resolved as Node does, and nothing else", async () => {
    const base = await digest(lock('1.0.0', '2.0.0', '1.0.0'));
    expect(base).toMatchObject({ file: 'package-lock.json', mode: 'entries', direct: { dep: '1.0.0' } });
    // Another package's dependency changing does not touch this key.
    expect((await digest(lock('1.0.0', '2.0.0', '9.9.9')))!.sha256).toBe(base!.sha256);
    // The nested leaf is the one dep resolves to; the hoisted one is not reachable from here.
    const leaf = await digest(lock('1.0.0', '2.0.1', '1.0.0'));
    expect(leaf!.sha256).not.toBe(base!.sha256);
    expect(leaf!.direct).toEqual(base!.direct);
    const direct = await digest(lock('1.1.0', '2.0.0', '1.0.0'));
    expect(direct!.direct).toEqual({ dep: '1.1.0' });
  });

  it('other lockfiles are hashed whole', async () => {
    const fx = createFixture({ 'package.json': { name: 'p', dependencies: { x: '1' } }, 'pnpm-lock.yaml': 'lockfileVersion: 9\n' });
    fixtures.push(fx);
    const r = await lockfileFingerprint(loadPackageInfo(fx.root, new ReadLog()), new FileHasher(new ReadLog()), new Set());
    expect(r).toMatchObject({ file: 'pnpm-lock.yaml', mode: 'whole-file' });
  });
});

describe('explain', () => {
  const fp = (over: Partial<Fingerprint> = {}): Fingerprint => ({
    version: FINGERPRINT_VERSION,
    buildSystem: '0.1.0',
    runtime: { name: 'node', major: 20, platform: 'linux', arch: 'x64' },
    adapter: { name: 'esbuild', version: '0.28.2' },
    declarations: null,
    config: { minify: false, define: {} },
    packageJson: { name: 'p', type: 'module' },
    lockfile: null,
    env: { A: 'h1' },
    files: { 'src/a.ts': '1', 'src/b.ts': '2' },
    dependencies: { '@x/core': 'read' },
    ...over,
  });

  it('names every kind of change, most fundamental first', () => {
    const before = fp();
    const after = fp({
      adapter: { name: 'esbuild', version: '0.29.0' },
      config: { minify: true, define: { X: '1' } },
      env: { A: 'h2' },
      files: { 'src/a.ts': '1b', 'src/c.ts': '3' },
    });
    const changes = diffFingerprints(before, after);
    expect(changes.map((c) => c.kind)).toEqual(['tool-changed', 'config-changed', 'env-changed', 'files-changed', 'files-added', 'files-removed']);
    expect(describeChanges(changes)).toBe(
      'tool version changed: adapter esbuild 0.28.2 → esbuild 0.29.0; config changed: define.X, minify; env changed: A; files changed: src/a.ts; files added: src/c.ts; files removed: src/b.ts',
    );
  });

  it('the same fingerprint with changed reads names the dependency they belong to, and any other file outside the package', () => {
    const current = { fingerprint: fp(), primaryKey: fingerprintKey(fp()) };
    const where = { pkgDir: '/w/pkgs/app', workspacePackages: new Map([['@x/core', '/w/pkgs/core'], ['@x/app', '/w/pkgs/app']]) };
    const changes = explainMiss({ fingerprint: fp() }, current, ['../core/dist/index.d.ts', '../../tsconfig.base.json', 'src/generated.ts'], where);
    expect(changes).toEqual([
      { kind: 'dependency-changed', packages: ['@x/core'] },
      { kind: 'files-changed', files: ['../../tsconfig.base.json', 'src/generated.ts'], count: 2 },
    ]);
    expect(describeChanges(changes)).toBe('dependency output changed: @x/core; files changed: ../../tsconfig.base.json, src/generated.ts');
  });

  it('a dependency that became external is explained by what made it so, not as "output changed"', () => {
    const bundled = fp({ packageJson: { name: 'p', devDependencies: { '@x/core': '*' } }, dependencies: { '@x/core': 'read', '@x/util': 'read' } });
    const external = fp({ packageJson: { name: 'p', dependencies: { '@x/core': '*' } }, dependencies: { '@x/core': 'external', '@x/util': 'read' } });
    expect(diffFingerprints(bundled, external)).toEqual([{ kind: 'package-json-changed', fields: ['dependencies', 'devDependencies'] }]);
    // With nothing else to name, the switch itself is listed rather than an unexplained miss.
    expect(diffFingerprints(fp(), fp({ dependencies: { '@x/core': 'external' } }))).toEqual([{ kind: 'dependency-changed', packages: ['@x/core'] }]);
  });

  it('first build, and an entry gone while the inputs stayed', () => {
    const current = { fingerprint: fp(), primaryKey: fingerprintKey(fp()) };
    expect(explainMiss(null, current)).toEqual([{ kind: 'first-build' }]);
    expect(explainMiss(current, current)).toEqual([{ kind: 'entry-missing' }]);
  });

  it('the key is the sha256 of canonical JSON: key order does not matter, values do', () => {
    const a = fp({ config: { minify: false, define: { A: '1', B: '2' } } });
    const b = fp({ config: { define: { B: '2', A: '1' }, minify: false } });
    expect(fingerprintKey(a)).toBe(fingerprintKey(b));
    expect(fingerprintKey(fp({ config: { minify: true, define: {} } }))).not.toBe(fingerprintKey(fp()));
    // Values JSON would drop or mangle are keyed explicitly: an inline esbuild plugin's code is part of the key.
    const plugin = () => 'v1';
    expect(JSON.parse(canonicalJson({ f: plugin, u: undefined, n: NaN }))).toEqual({ f: { $function: plugin.toString() }, n: 'NaN' });
  });
});

/** A read log that counts the stats of each path (what a run looks at, and how often). */
class CountingReadLog extends ReadLog {
  readonly stats = new Map<string, number>();
  override stat(abs: string) {
    this.stats.set(abs, (this.stats.get(abs) ?? 0) + 1);
    return super.stat(abs);
  }
}

describe('what every package shares is looked at once per run', () => {
  const workspace = () => {
    const fx = createFixture({
      'package.json': { name: 'root', private: true, workspaces: ['pkgs/*'] },
      '.gitignore': 'generated.ts\n',
      'pkgs/a/package.json': { name: 'a' },
      'pkgs/a/src/index.ts': 'export const a = 1;\n',
      'pkgs/a/src/generated.ts': 'export const g = 1;\n',
      'pkgs/b/package.json': { name: 'b' },
      'pkgs/b/src/index.ts': 'export const b = 1;\n',
      'pkgs/b/src/generated.ts': 'export const g = 1;\n',
    });
    fixtures.push(fx);
    return fx;
  };

  it("the workspace root's lockfile: one look per run, and a lockfile added is seen by the next run", async () => {
    const fx = workspace();
    const reads = new CountingReadLog();
    const hasher = new FileHasher(reads);
    // Package infos from another log: discovery's package-manager check looks at lockfiles too.
    const pkgs = ['pkgs/a', 'pkgs/b'].map((p) => loadPackageInfo(fx.path(p), new ReadLog(), fx.root));
    for (const pkg of pkgs) expect(await lockfileFingerprint(pkg, hasher, new Set(['a', 'b']))).toBeNull();
    for (const name of ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lockb']) expect(reads.stats.get(fx.path(name))).toBe(1);
    fx.write({ 'pnpm-lock.yaml': 'lockfileVersion: 9\n' });
    const next = new ReadLog();
    expect(await lockfileFingerprint(loadPackageInfo(fx.path('pkgs/a'), next, fx.root), new FileHasher(next), new Set(['a', 'b']))).toMatchObject({ file: 'pnpm-lock.yaml', mode: 'whole-file' });
  });

  it("the workspace root's .gitignore: one look per run, its rules applied in every package", () => {
    const fx = workspace();
    const reads = new CountingReadLog();
    for (const p of ['pkgs/a', 'pkgs/b']) {
      const files = listInputFiles(fx.path(p), { workspaceRoot: fx.root, outDir: 'dist', inputs: [], reads }).map((f) => f.rel);
      expect(files).toEqual(['src/index.ts']);
    }
    expect(reads.stats.get(fx.path('.gitignore'))).toBe(1);
    expect(reads.stats.get(fx.path('pkgs/.gitignore'))).toBe(1);
    fx.write({ '.gitignore': '' });
    expect(listInputFiles(fx.path('pkgs/a'), { workspaceRoot: fx.root, outDir: 'dist', inputs: [], reads: new ReadLog() }).map((f) => f.rel)).toEqual(['src/generated.ts', 'src/index.ts']);
  });
});

describe('canonicalJson', () => {
  /** The definition: every object's keys sorted, at every level (as JSON.stringify then orders them). */
  const reference = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : reference(x)));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) if ((v as Record<string, unknown>)[k] !== undefined) out[k] = reference((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };

  it('orders keys at every level, whether or not they came in order', () => {
    const values = [
      { b: 1, a: 2 },
      { a: 1, b: { d: [{ z: 1, y: 2 }], c: null }, c: 'x' },
      { 'src/b.ts': 'h2', 'src/a.ts': 'h1', 'src/A.ts': 'h0', 'src/ä.ts': 'h3' },
      { '10': 'ten', '9': 'nine', x: 1, '-1': 'minus' },
      { z: { y: { x: { w: 1, v: 2 } } } },
      { a: undefined, b: [undefined, { d: 1, c: 2 }] },
    ];
    for (const v of values) expect(canonicalJson(v)).toBe(JSON.stringify(reference(v)));
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
  });
});
