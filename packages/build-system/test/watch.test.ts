import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import { lockDirFor } from '../src/lock.js';
import { watchRoundSchema, type WatchRound } from '../src/result/watch-schema.js';
import { cliPath, snapshotTree, type Fixture } from './helpers/fixture.js';
import { startProcess, type Proc } from './helpers/procs.js';
import { buildCounts, cliAsync, scoped, workspaceFixture, type PackageSpec } from './helpers/workspace.js';

/**
 * `build-system watch` as a real process on temp workspaces with real esbuild
 * builds. Every wait polls for a state (a round, a file's content) with a
 * generous limit; nothing asserts how long anything took. The tests run
 * concurrently: each has its own workspace and processes, and most of their
 * time is spent waiting on those processes (and on the fixtures' build delays).
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

/** A process of this test, killed when the test ends (its own hook: the tests run concurrently). */
function owned(t: TestContext, p: Proc): Proc {
  t.onTestFinished(async () => {
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      await p.exited;
    }
  });
  return p;
}

/** With its workspace dependencies in devDependencies (not kept external), esbuild bundles them: its build reads their outputs. */
const BUNDLING = `{ adapter: 'esbuild', format: 'esm' }`;

function fixture(spec: Record<string, PackageSpec>): Fixture {
  const fx = workspaceFixture('npm', spec);
  // Workspace packages resolvable by name, as an install would link them.
  mkdirSync(fx.path('node_modules/@fx'), { recursive: true });
  for (const key of Object.keys(spec)) symlinkSync(fx.path('packages', key), fx.path('node_modules/@fx', key), 'dir');
  fixtures.push(fx);
  return fx;
}

function startWatch(t: TestContext, fx: Fixture, args: string[] = ['--json']): Proc {
  return owned(t, startProcess(process.execPath, [cliPath, 'watch', ...args], { cwd: fx.root, env: { FORCE_COLOR: undefined, NO_COLOR: '1' } }));
}

async function until<T>(check: () => T | undefined | false, what: string, p?: Proc, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${p ? `\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}` : ''}`);
    if (p && p.child.exitCode !== null) throw new Error(`watch exited (${p.child.exitCode}) before ${what}\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rounds = (p: Proc): WatchRound[] => p.events.filter((e) => e.type === 'round').map((e) => watchRoundSchema.parse(e));
const round = (p: Proc, n: number) => until(() => rounds(p).find((r) => r.round === n), `round ${n}`, p);
const source = (value: string) => `export const value: string = ${JSON.stringify(value)};\n`;
const dist = (fx: Fixture, key: string) => {
  try {
    return readFileSync(fx.path('packages', key, 'dist/index.js'), 'utf8');
  } catch {
    return '';
  }
};
/** b reads a's source through a paths alias without depending on it: a's edit is a round (not reloaded) that rebuilds both, b with the new value. */
async function expectAliasReaderRebuilt(p: Proc, fx: Fixture): Promise<WatchRound> {
  expect(dist(fx, 'b')).toContain('"a1"');
  fx.write({ 'packages/a/src/index.ts': source('a2') });
  const r = await until(() => rounds(p).find((x) => x.round >= 1 && x.trigger.files.includes('packages/a/src/index.ts')), 'the round of the edit', p);
  expect(r.reloaded).toBe(false);
  expect(r.rebuilt.sort()).toEqual([scoped('a'), scoped('b')]);
  expect(dist(fx, 'b')).toContain('"a2"');
  return r;
}

/** build-system's own leftovers in a package directory: lock, staging, journal. */
const leftovers = (fx: Fixture, key: string) => readdirSync(fx.path('packages', key)).filter((n) => n.startsWith('.build-system'));

describe.concurrent('build-system watch', () => {
  it('an edit rebuilds the package, then its dependents in graph order; a dependent that does not read it is a hit', async (t) => {
    const fx = fixture({
      a: { plainConfig: BUNDLING, source: source('a1') },
      b: { deps: ['a'], depField: 'devDependencies', plainConfig: BUNDLING, source: `import { value } from '@fx/a';\nexport const b = 'b+' + value;\n` },
      // Keeps @fx/a external (the default): its build never opens a's files.
      c: { deps: ['a'], plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: `import { value } from '@fx/a';\nexport const c = value;\n` },
    });
    const p = startWatch(t, fx);
    const first = await round(p, 0);
    expect(first.run.ok).toBe(true);
    expect(first.rebuilt.sort()).toEqual([scoped('a'), scoped('b'), scoped('c')]);
    expect(first.watching).toBeGreaterThan(0);
    expect(dist(fx, 'b')).toContain('"a1"');

    fx.write({ 'packages/a/src/index.ts': source('a2') });
    const r = await until(() => rounds(p).find((x) => x.round >= 1 && dist(fx, 'b').includes('"a2"') && x.rebuilt.includes(scoped('b'))), 'b rebuilt with a2', p);
    expect(r.trigger.files).toContain('packages/a/src/index.ts');
    expect(r.reloaded).toBe(false);
    // Graph order: a before its dependents; c took part and was a hit (its inputs did not change).
    expect(r.packages.indexOf(scoped('a'))).toBeLessThan(r.packages.indexOf(scoped('b')));
    expect(r.packages).toContain(scoped('c'));
    expect(r.run.results.find((x) => x.package.name === scoped('c'))!.cache.status).toBe('hit');
    expect(r.hits).toBeGreaterThanOrEqual(1);
    expect(dist(fx, 'a')).toContain('"a2"');

    // An edit in a leaf touches only the leaf. Saved as `sed -i` and many editors do: a temp file beside it, renamed over it,
    // which came and went within the batch and is no change of its own.
    writeFileSync(fx.path('packages/b/src/sedX1y2Z3'), `import { value } from '@fx/a';\nexport const b = 'B+' + value;\n`);
    renameSync(fx.path('packages/b/src/sedX1y2Z3'), fx.path('packages/b/src/index.ts'));
    const leaf = await until(() => rounds(p).find((x) => x.round > r.round && x.trigger.files.includes('packages/b/src/index.ts')), 'the leaf round', p);
    expect(leaf.trigger.files).toEqual(['packages/b/src/index.ts']);
    expect(dist(fx, 'b')).toContain('B+');
    expect(leaf.packages, JSON.stringify(rounds(p).map((x) => [x.round, x.trigger, x.reloaded, x.packages]))).toEqual([scoped('b')]);
  });

  it('changes made while a round runs are coalesced into the next round; none is lost', async (t) => {
    const fx = fixture({ slow: { delayMs: 1500, source: source('s1') }, other: { source: source('o1') } });
    const p = startWatch(t, fx);
    await round(p, 0);
    const before = buildCounts(fx)[scoped('slow')] ?? 0;
    fx.write({ 'packages/slow/src/index.ts': source('s2') });
    // Round 1 is running slow's build (its plugin has started): now edit both packages, twice.
    await until(() => (buildCounts(fx)[scoped('slow')] ?? 0) > before, 'slow building', p);
    fx.write({ 'packages/other/src/index.ts': source('o2') });
    fx.write({ 'packages/slow/src/index.ts': source('s3') });
    fx.write({ 'packages/other/src/index.ts': source('o3') });
    await until(() => dist(fx, 'slow').includes('"s3"') && dist(fx, 'other').includes('"o3"'), 'the last edits in dist', p);
    // A round's line comes once its outputs are in place: wait for it too.
    const during = await until(() => rounds(p).find((x) => x.trigger.files.includes('packages/other/src/index.ts')), 'the round of the edits made during round 1', p);
    // The batch that came in during round 1 is one round holding both packages.
    expect(during!.round).toBeGreaterThanOrEqual(2);
    expect(during!.trigger.files).toEqual(expect.arrayContaining(['packages/other/src/index.ts', 'packages/slow/src/index.ts']));
    expect(during!.packages.sort()).toEqual([scoped('other'), scoped('slow')]);
  });

  it('an edit made during round 0, before anything is watched, is not lost', async (t) => {
    const fx = fixture({ slow: { delayMs: 1500, source: source('s1') } });
    const p = startWatch(t, fx);
    // The config is loaded, the build is waiting in its plugin: edit the config now.
    await until(() => (buildCounts(fx)[scoped('slow')] ?? 0) >= 1, 'round 0 building', p);
    fx.write({ 'packages/slow/build.config.ts': fx.read('packages/slow/build.config.ts').replace("format: 'esm',", "format: 'esm',\n  banner: '/* late */',") });
    const first = await round(p, 0);
    expect(first.run.ok).toBe(true);
    const next = await round(p, 1);
    expect(next.trigger.files).toContain('packages/slow/build.config.ts');
    expect(dist(fx, 'slow')).toContain('/* late */');
  });

  it('a build.config.* edit reloads the config; a new package joins the graph', async (t) => {
    const fx = fixture({ a: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: source('a1') } });
    const p = startWatch(t, fx);
    await round(p, 0);
    expect(dist(fx, 'a')).not.toContain('/* reloaded */');
    fx.write({ 'packages/a/build.config.ts': `export default { adapter: 'esbuild', format: 'esm', banner: '/* reloaded */' };\n` });
    const r = await until(() => rounds(p).find((x) => x.round >= 1 && dist(fx, 'a').includes('/* reloaded */')), 'the banner', p);
    expect(r.reloaded).toBe(true);
    expect(r.trigger.files).toContain('packages/a/build.config.ts');

    fx.write({
      'packages/n/package.json': { name: scoped('n'), version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'packages/n/build.config.ts': `export default { adapter: 'esbuild', format: 'esm' };\n`,
      'packages/n/src/index.ts': source('n1'),
    });
    const joined = await until(() => rounds(p).find((x) => x.packages.includes(scoped('n')) && dist(fx, 'n').includes('"n1"')), 'the new package built', p);
    expect(joined.reloaded).toBe(true);
    // And it is watched from then on.
    fx.write({ 'packages/n/src/index.ts': source('n2') });
    await until(() => dist(fx, 'n').includes('"n2"'), 'the new package rebuilt', p);
  });

  for (const linked of [false, true]) {
    it(`a package that bundles another's sources through a tsconfig paths alias, without depending on it, is rebuilt when they change (${linked ? 'packages linked into node_modules' : 'no links'})`, async (t) => {
      const spec: Record<string, PackageSpec> = {
        a: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: source('a1') },
        // No dependency on @fx/a: the alias makes esbuild read (and inline) a's source.
        b: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: `import { value } from '@alias/a';\nexport const b = 'b+' + value;\n` },
      };
      // Linked as an install links them, a's files are also seen through node_modules/@fx/a: still a's, not outside every package.
      const fx = linked ? fixture(spec) : workspaceFixture('npm', spec);
      if (!linked) fixtures.push(fx);
      fx.write({ 'packages/b/tsconfig.json': { compilerOptions: { strict: true, module: 'ESNext', moduleResolution: 'Bundler', paths: { '@alias/a': ['../a/src/index.ts'] } } } });
      const p = startWatch(t, fx);
      await round(p, 0);
      // Not a full round: b takes part because its recorded reads name a's source (a one-shot build catches it the same way).
      const r = await expectAliasReaderRebuilt(p, fx);
      // b's own edit does not pull a in.
      fx.write({ 'packages/b/src/index.ts': `import { value } from '@alias/a';\nexport const b = 'B+' + value;\n` });
      const leaf = await until(() => rounds(p).find((x) => x.round > r.round && x.trigger.files.includes('packages/b/src/index.ts')), 'the leaf round', p);
      // Only a's own late event (a save can be two writes, the second after the round began) brings a in too.
      const aLate = leaf.trigger.files.some((f) => f.startsWith('packages/a/'));
      expect(leaf.packages, JSON.stringify(leaf.trigger)).toEqual(aLate ? [scoped('a'), scoped('b')] : [scoped('b')]);
    });
  }

  it('a package whose build was not cached (what it read is unknown) takes part in every round: an alias reader is not left stale; --no-cache is refused', async (t) => {
    const fx = fixture({
      a: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: source('a1') },
      b: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: `import { value } from '@alias/a';\nexport const b = 'b+' + value;\n` },
    });
    // esbuild follows the alias but cannot follow the chain: b's build is "not cached", its reads unknown.
    fx.write({ 'packages/b/tsconfig.json': { extends: './missing.json', compilerOptions: { paths: { '@alias/a': ['../a/src/index.ts'] } } } });
    const p = startWatch(t, fx);
    const first = await round(p, 0);
    expect(first.run.results.find((x) => x.package.name === scoped('b'))!.diagnostics.map((d) => d.message).join('\n')).toContain('not cached');
    await expectAliasReaderRebuilt(p, fx);

    // Without a cache nothing would say what to watch: refused, before anything is built.
    const refused = cliAsync(['watch', '--no-cache'], { cwd: fx.root });
    const done = await refused.done;
    expect(done.code).toBe(2);
    expect(done.stderr).toContain('--no-cache: cannot be used with watch');
  });

  it('a dependent is kept unchecked when what it read of the round came out the same; one that bundles a changed output, directly or through another, is rebuilt', async (t) => {
    const fx = fixture({
      a: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: source('a1') },
      // Keeps @fx/a external: it does not wait for a, and nothing of it changes.
      b: { deps: ['a'], plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: `import { value } from '@fx/a';\nexport const b = value;\n` },
      // Bundles b, and with it b's import of a (not c's dependency): it reads a's output without waiting for a.
      c: { deps: ['b'], depField: 'devDependencies', plainConfig: BUNDLING, source: `import { b } from '@fx/b';\nexport const c = 'c+' + b;\n` },
      // Bundles a: waits for a, whose JS changes.
      d: { deps: ['a'], depField: 'devDependencies', plainConfig: BUNDLING, source: `import { value } from '@fx/a';\nexport const d = 'd+' + value;\n` },
    });
    const p = startWatch(t, fx);
    await round(p, 0);
    fx.write({ 'packages/a/src/index.ts': source('a2') });
    const r = await until(() => rounds(p).find((x) => x.round >= 1 && x.trigger.files.includes('packages/a/src/index.ts')), 'the round of the edit', p);
    expect(r.rebuilt.sort()).toEqual([scoped('a'), scoped('c'), scoped('d')]);
    expect(r.kept).toEqual([scoped('b')]);
    expect(r.hits).toBe(1);
    expect(dist(fx, 'c')).toContain('"a2"');
    expect(dist(fx, 'd')).toContain('"a2"');
    // A kept result is the last one, as a hit: the same artifacts, a key, nothing restored.
    const b = r.run.results.find((x) => x.package.name === scoped('b'))!;
    expect(b.cache).toMatchObject({ status: 'hit', restored: false });
    expect(b.artifacts.map((a) => a.path)).toEqual(['dist/index.js']);

    // A comment: a is built again (its source changed) into the same bytes, so c and d, which bundle it, are kept too.
    fx.write({ 'packages/a/src/index.ts': `// a comment esbuild drops\n${source('a2')}` });
    const comment = await until(() => rounds(p).find((x) => x.round > r.round && x.trigger.files.includes('packages/a/src/index.ts')), 'the comment round', p);
    expect(comment.rebuilt).toEqual([scoped('a')]);
    expect(comment.kept.sort()).toEqual([scoped('b'), scoped('c'), scoped('d')]);

    // And the same outputs a --force build writes.
    const before = ['a', 'b', 'c', 'd'].map((k) => dist(fx, k));
    const forced = cliAsync(['build', '--force'], { cwd: fx.root });
    expect((await forced.done).code).toBe(0);
    expect(['a', 'b', 'c', 'd'].map((k) => dist(fx, k))).toEqual(before);
  });

  it("a config `inputs` glob reaching into another package: a change there rebuilds the package, never keeps it", async (t) => {
    const fx = fixture({
      a: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: source('a1') },
      // Depends on a (so a's round includes it) but keeps it external: only its key reads a's file, through `inputs`.
      d: { deps: ['a'], plainConfig: `{ adapter: 'esbuild', format: 'esm', inputs: ['../a/assets/*.txt'] }`, source: `import { value } from '@fx/a';\nexport const d = value;\n` },
      // Not a's dependent at all: only the glob ties it to a's file.
      e: { plainConfig: `{ adapter: 'esbuild', format: 'esm', inputs: ['../a/assets/*.txt'] }`, source: source('e1') },
    });
    fx.write({ 'packages/a/assets/banner.txt': 'one\n' });
    const p = startWatch(t, fx);
    await round(p, 0);
    fx.write({ 'packages/a/assets/banner.txt': 'two\n' });
    const r = await until(() => rounds(p).find((x) => x.round >= 1 && x.trigger.files.includes('packages/a/assets/banner.txt')), 'the round of the edit', p);
    expect(r.reloaded).toBe(false);
    expect(r.kept).toEqual([]);
    expect(r.rebuilt.sort()).toEqual([scoped('a'), scoped('d'), scoped('e')]);
  });

  it('outputs deleted or rewritten by something else are put back in a round of their own; the rounds\' own writes start none', async (t) => {
    const fx = fixture({
      a: { plainConfig: `{ adapter: 'esbuild', format: 'esm', sourcemap: true }`, source: source('a1') },
      // Bundles a: reads a's dist, so a's restored output must come out the same for b to be kept.
      b: { deps: ['a'], depField: 'devDependencies', plainConfig: BUNDLING, source: `import { value } from '@fx/a';\nexport const b = 'b+' + value;\n` },
    });
    const p = startWatch(t, fx);
    await round(p, 0);
    const published = { js: dist(fx, 'a'), map: fx.read('packages/a/dist/index.js.map') };
    // The events of round 0's own writes (outDirs swapped in, watched from now on) have come and gone: no round.
    fx.write({ 'packages/b/src/index.ts': `import { value } from '@fx/a';\nexport const b = 'B+' + value;\n` });
    const edit = await until(() => rounds(p).find((x) => x.trigger.files.includes('packages/b/src/index.ts')), 'the edit round', p);
    await new Promise((r) => setTimeout(r, 400));
    expect(rounds(p).map((x) => x.round)).toEqual([0, edit.round]);
    expect(edit.round).toBe(1);

    // The whole outDir removed (rm -rf dist): a's cache hit restores it; b read the same files and is kept.
    rmSync(fx.path('packages/a/dist'), { recursive: true, force: true });
    const removed = await until(() => rounds(p).find((x) => x.round > edit.round), 'the round after dist was removed', p);
    expect(removed.trigger.files).toContain('packages/a/dist');
    expect(removed.reloaded).toBe(false);
    const a = removed.run.results.find((x) => x.package.name === scoped('a'))!;
    expect(a.cache).toMatchObject({ status: 'hit', restored: true });
    expect(removed.kept).toEqual([scoped('b')]);
    expect(dist(fx, 'a')).toBe(published.js);
    expect(fx.read('packages/a/dist/index.js.map')).toBe(published.map);

    // One file rewritten in place by another tool, and one removed: put back too, in one round.
    writeFileSync(fx.path('packages/a/dist/index.js'), 'export const value = "not built by build-system";\n');
    rmSync(fx.path('packages/a/dist/index.js.map'));
    const rewritten = await until(() => rounds(p).find((x) => x.round > removed.round), 'the round after a dist file was rewritten', p);
    // Named by the files or, when the event of the dist directory itself comes late (rm -rf's last event), by it.
    expect(rewritten.trigger.files.length).toBeGreaterThan(0);
    expect(rewritten.trigger.files.every((f) => f.startsWith('packages/a/dist')), JSON.stringify(rewritten.trigger)).toBe(true);
    expect(rewritten.run.results.find((x) => x.package.name === scoped('a'))!.cache).toMatchObject({ status: 'hit', restored: true });
    await until(() => dist(fx, 'a') === published.js && existsSync(fx.path('packages/a/dist/index.js.map')), 'a restored again', p);
    // Putting them back is the watch's own write: no round after it.
    await new Promise((r) => setTimeout(r, 400));
    expect(rounds(p).at(-1)!.round).toBe(rewritten.round);
  });

  it('a failed build is reported with file:line:column and the watch goes on; fixing it rebuilds it and the dependents it skipped', async (t) => {
    const fx = fixture({
      a: { source: source('a1') },
      b: { deps: ['a'], depField: 'devDependencies', plainConfig: BUNDLING, source: `import { value } from '@fx/a';\nexport const b = value;\n` },
    });
    const p = startWatch(t, fx, []);
    await until(() => p.stdout().includes('initial build'), 'the initial build line', p);
    fx.write({ 'packages/a/src/index.ts': `export const value: string = ;\n` });
    await until(() => p.stderr().includes('src/index.ts:1:'), 'the error with its position', p);
    expect(p.stderr()).toMatch(/@fx\/a: .*src\/index\.ts:1:\d+: /);
    expect(p.stdout()).toMatch(/✖ round \d+ \(.+\): 2 packages, .*1 failed, 1 skipped/);
    // outDirs keep the last good build.
    expect(dist(fx, 'a')).toContain('"a1"');
    expect(p.child.exitCode).toBeNull();

    fx.write({ 'packages/a/src/index.ts': source('a3') });
    await until(() => dist(fx, 'b').includes('"a3"') && /✔ round \d+ \(packages/.test(p.stdout()), 'b rebuilt after the fix', p, 15_000);
    expect(p.stdout()).toMatch(/✔ round \d+ \(.+\): 2 packages, 2 rebuilt/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a round cancels it: exit ${signal === 'SIGINT' ? 130 : 143}, no lock and no staging directory left`, async (t) => {
      const fx = fixture({ slow: { delayMs: 30_000, source: source('s1') } });
      // Round 0 without the delay: start with outputs built.
      const slowConfig = fx.read('packages/slow/build.config.ts');
      writeFileSync(fx.path('packages/slow/build.config.ts'), `export default { adapter: 'esbuild', format: 'esm' };\n`);
      const p = startWatch(t, fx);
      await round(p, 0);
      const good = dist(fx, 'slow');
      // Now the slow config: round 1 hangs in the build, holding the lock with its staging directory.
      fx.write({ 'packages/slow/build.config.ts': slowConfig });
      await until(() => (buildCounts(fx)[scoped('slow')] ?? 0) >= 1 && existsSync(lockDirFor(fx.path('packages/slow'))) && leftovers(fx, 'slow').some((n) => n.includes('staging')), 'the round holding the lock', p);
      p.child.kill(signal);
      const { code } = await p.exited;
      expect(code).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(existsSync(lockDirFor(fx.path('packages/slow')))).toBe(false);
      expect(leftovers(fx, 'slow')).toEqual([]);
      expect(dist(fx, 'slow')).toBe(good);
    });
  }

  it('a reader that closes stdout ends the watch as SIGPIPE would (exit 141), outputs whole: no lock, no staging', async (t) => {
    const fx = fixture({ a: { source: source('a1') } });
    const p = startWatch(t, fx);
    await round(p, 0);
    p.child.stdout!.destroy();
    // The next round's line is the first write nobody reads.
    fx.write({ 'packages/a/src/index.ts': source('a2') });
    const { code } = await p.exited;
    expect(code).toBe(141);
    // Whole: the last good output or the new one, depending on which round's line met the closed pipe
    // (a round raised by round 0's own aftermath can be the first write nobody reads).
    expect(dist(fx, 'a')).toMatch(/^\/\/ src\/index\.ts\nvar value = "a[12]";\nexport \{\n {2}value\n\};\n$/);
    expect(existsSync(lockDirFor(fx.path('packages/a')))).toBe(false);
    expect(leftovers(fx, 'a')).toEqual([]);
  });

  it('many rapid edits across packages while a reader reads every output: no missing or half-written read; the end state equals a --force build', async (t) => {
    const keys = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
    const spec: Record<string, PackageSpec> = {};
    keys.forEach((k, i) => {
      const deps = i === 0 ? [] : [keys[Math.floor((i - 1) / 2)]!];
      const imports = deps.map((d) => `import { value as dep } from '@fx/${d}';\n`).join('');
      spec[k] = { deps, depField: 'devDependencies', plainConfig: BUNDLING, source: `${imports}export const value: string = ${deps.length ? `dep + ` : ''}'${k}-0';\nexport const end = 'END';\n` };
    });
    const fx = fixture(spec);
    const p = startWatch(t, fx);
    await round(p, 0);
    const outputs = keys.map((k) => fx.path('packages', k, 'dist/index.js'));
    // The reader: every output, over and over; a read is bad when the file is missing or does not end as esbuild ends a module.
    const readerScript = `
      const fs = require('node:fs');
      const files = JSON.parse(process.argv[1]);
      let reads = 0, bad = [];
      const stop = () => { process.stdout.write(JSON.stringify({ type: 'reader', reads, bad: bad.slice(0, 5), badCount: bad.length }) + '\\n'); process.exit(0); };
      process.on('SIGTERM', stop);
      (function loop() {
        for (let i = 0; i < 20; i++) for (const f of files) {
          reads++;
          let text;
          try { text = fs.readFileSync(f, 'utf8'); } catch (e) { bad.push(f + ': ' + e.code); continue; }
          if (!/export \\{[^}]*\\};\\n$/.test(text) || !text.includes('"END"')) bad.push(f + ': half-written (' + text.length + ' bytes)');
        }
        setImmediate(loop);
      })();`;
    const reader = owned(t, startProcess(process.execPath, ['-e', readerScript, JSON.stringify(outputs)]));

    // 200 edits across the packages (issue 14), ~10 ms apart: many land while a round runs.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    const last: Record<string, number> = {};
    for (let i = 1; i <= 200; i++) {
      const k = keys[next() % keys.length]!;
      last[k] = i;
      const s = spec[k]!;
      // Written whole (temp file + rename, as most editors save): every state a build can read is a complete
      // source, so an output that is not complete can only be a half-written read.
      const file = fx.path('packages', k, 'src/index.ts');
      writeFileSync(`${file}.tmp`, s.source!.replace(/'p\d-\d+'/, `'${k}-${i}'`));
      renameSync(`${file}.tmp`, file);
      await new Promise((r) => setTimeout(r, 10));
    }
    // Settled: every output holds its package's last edit (and, by bundling, its dependencies' last ones).
    const want = (k: string) => `${k}-${last[k] ?? 0}`;
    const chain = (i: number): string[] => (i === 0 ? [keys[0]!] : [keys[i]!, ...chain(Math.floor((i - 1) / 2))]);
    await until(() => keys.every((k, i) => chain(i).every((j) => dist(fx, k).includes(want(j)))), 'the last edits in every output', p);
    const settledRounds = rounds(p).length;
    reader.child.kill('SIGTERM');
    const result = (await until(() => reader.events.find((e) => e.type === 'reader'), 'the reader report', reader)) as { reads: number; badCount: number; bad: string[] };
    p.child.kill('SIGINT');
    expect((await p.exited).code).toBe(130);
    expect(result.reads).toBeGreaterThan(0);
    expect(result.bad).toEqual([]);
    expect(result.badCount).toBe(0);
    expect(settledRounds).toBeGreaterThan(1);

    const watched = Object.fromEntries(keys.map((k) => [k, snapshotTree(fx.path('packages', k, 'dist'))]));
    // Not spawnSync: the other tests' watch processes are read by this process meanwhile.
    const forced = await cliAsync(['build', '--force', '--cwd', fx.root]).done;
    expect(forced.code, forced.stderr).toBe(0);
    const fresh = Object.fromEntries(keys.map((k) => [k, snapshotTree(fx.path('packages', k, 'dist'))]));
    expect(watched).toEqual(fresh);
    for (const k of keys) expect(leftovers(fx, k)).toEqual([]);
  });
});

describe('watch() (programmatic)', () => {
  it('yields round results and stops with close()', async () => {
    const { watch } = await import('../src/index.js');
    const fx = fixture({ a: { plainConfig: `{ adapter: 'esbuild', format: 'esm' }`, source: source('a1') } });
    const session = watch({ cwd: fx.root });
    const seen: WatchRound[] = [];
    for await (const r of session) {
      seen.push(watchRoundSchema.parse(r));
      if (r.round === 0) fx.write({ 'packages/a/src/index.ts': source('a2') });
      if (dist(fx, 'a').includes('"a2"')) break;
    }
    await session.close();
    expect(seen[0]!.rebuilt).toEqual([scoped('a')]);
    expect(seen.at(-1)!.trigger.files).toContain(path.posix.join('packages/a/src/index.ts'));
    expect(existsSync(lockDirFor(fx.path('packages/a')))).toBe(false);
  });
});
