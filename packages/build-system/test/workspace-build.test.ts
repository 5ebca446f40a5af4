import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDirFor } from '../src/lock.js';
import { planResultSchema, runResultSchema, type RunResult, type TimelineEntry } from '../src/result/schema.js';
import { repoRoot, snapshotTree, type Fixture } from './helpers/fixture.js';
import { buildCounts, cliAsync, cliRun as cli, scoped, workspaceFixture, type PackageSpec } from './helpers/workspace.js';

/**
 * Whole-workspace builds through the CLI with real esbuild builds. Packages
 * are made slow by an esbuild plugin that waits (see helpers/workspace.ts), so
 * the timeline in the JSON document shows what ran when; assertions compare
 * timeline entries with each other, never with the wall clock. The CLI runs
 * are awaited, not spawnSync'd, so that tests marked concurrent (each on its own
 * workspace, or only reading a shared one) overlap their waits; the describes
 * still run one after another, and the tests whose timelines depend on a delay
 * outlasting another build do not share the machine with other tests of this file.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function fixture(style: 'npm' | 'pnpm', spec: Record<string, PackageSpec>): Fixture {
  const fx = workspaceFixture(style, spec);
  fixtures.push(fx);
  return fx;
}

async function runJson(args: string[], fx: Fixture) {
  const r = await cli([...args, '--json', '--cwd', fx.root]);
  let doc: RunResult;
  try {
    doc = runResultSchema.parse(JSON.parse(r.stdout));
  } catch (e) {
    throw new Error(`no run document (exit ${r.code}): ${(e as Error).message}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { ...r, doc };
}

const entry = (doc: RunResult, key: string): TimelineEntry => {
  const e = doc.timeline?.find((t) => t.package === scoped(key));
  if (!e) throw new Error(`${key} is not in the timeline: ${JSON.stringify(doc.timeline)}`);
  return e;
};
const overlap = (a: TimelineEntry, b: TimelineEntry) => a.startMs < b.endMs && b.startMs < a.endMs;
const result = (doc: RunResult, key: string) => doc.results.find((r) => r.package.name === scoped(key))!;

// diamond: base ← left, right ← top · chain: c1 ← c2 ← c3 · independent: solo
const GRAPH: Record<string, PackageSpec> = {
  base: { delayMs: 900 },
  left: { deps: ['base'], delayMs: 500 },
  right: { deps: ['base'], delayMs: 500 },
  top: { deps: ['left', 'right'] },
  c1: { delayMs: 50 },
  c2: { deps: ['c1'] },
  c3: { deps: ['c2'] },
  solo: { delayMs: 500 },
};
const EDGES: [string, string][] = [
  ['base', 'left'],
  ['base', 'right'],
  ['left', 'top'],
  ['right', 'top'],
  ['c1', 'c2'],
  ['c2', 'c3'],
];

type DiamondRun = { fx: Fixture; run: Awaited<ReturnType<typeof runJson>> };
let diamondRuns: Record<'npm' | 'pnpm', Promise<DiamondRun>> | undefined;
/** Both styles' builds at once (started by whichever describe comes first): most of their time is the fixtures' delays. */
function diamondRun(style: 'npm' | 'pnpm'): Promise<DiamondRun> {
  const start = (s: 'npm' | 'pnpm') => {
    const fx = fixture(s, GRAPH);
    return runJson(['build', '--concurrency', '3', '--summary', fx.path('out/summary.json')], fx).then((run) => ({ fx, run }));
  };
  diamondRuns ??= { npm: start('npm'), pnpm: start('pnpm') };
  return diamondRuns[style];
}

describe.each(['npm', 'pnpm'] as const)('%s-style workspace: diamond, chain and an independent package', (style) => {
  let fx: Fixture;
  let run: DiamondRun['run'];
  beforeAll(async () => {
    ({ fx, run } = await diamondRun(style));
  });

  it('builds everything, exit 0, results in dependency order', async () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.doc.results.every((r) => r.status === 'success')).toBe(true);
    const order = run.doc.results.map((r) => r.package.name);
    expect(order.sort()).toEqual(Object.keys(GRAPH).map(scoped).sort());
    const listed = run.doc.results.map((r) => r.package.name);
    for (const [dep, dependent] of EDGES) expect(listed.indexOf(scoped(dep))).toBeLessThan(listed.indexOf(scoped(dependent)));
    for (const key of Object.keys(GRAPH)) expect(existsSync(fx.path(`packages/${key}/dist/index.js`)), key).toBe(true);
    // The negated glob of the pnpm workspace keeps packages/ignored out.
    expect(existsSync(fx.path('packages/ignored/dist'))).toBe(false);
  });

  it('every package starts only after its dependencies ended', async () => {
    for (const [dep, dependent] of EDGES) {
      expect(entry(run.doc, dep).endMs, `${dep} ends before ${dependent} starts`).toBeLessThanOrEqual(entry(run.doc, dependent).startMs);
    }
  });

  it('the diamond root is built once', async () => {
    expect(buildCounts(fx)[scoped('base')]).toBe(1);
    expect(run.doc.timeline!.filter((t) => t.package === scoped('base'))).toHaveLength(1);
    expect(run.doc.results.filter((r) => r.package.name === scoped('base'))).toHaveLength(1);
  });

  it('independent packages overlap in time', async () => {
    expect(overlap(entry(run.doc, 'left'), entry(run.doc, 'right'))).toBe(true);
    expect(overlap(entry(run.doc, 'solo'), entry(run.doc, 'base'))).toBe(true);
  });

  it('a package starts when its own dependencies are done, not when a whole level is', async () => {
    // c2 needs only c1 (fast); base (slow) is in the same level as c1.
    expect(entry(run.doc, 'c2').startMs).toBeLessThan(entry(run.doc, 'base').endMs);
    expect(entry(run.doc, 'c3').startMs).toBeLessThan(entry(run.doc, 'base').endMs);
  });

  it('never more than --concurrency packages at once', async () => {
    expect(run.doc.concurrency).toBe(3);
    const timeline = run.doc.timeline!;
    for (const t of timeline) {
      const atStart = timeline.filter((o) => o.startMs <= t.startMs && t.startMs < o.endMs);
      expect(atStart.length).toBeLessThanOrEqual(3);
    }
  });

  it('the document carries the run: start, end, concurrency, critical path', async () => {
    expect(Date.parse(run.doc.endedAt!)).toBeGreaterThanOrEqual(Date.parse(run.doc.startedAt));
    const cp = run.doc.criticalPath!;
    expect(cp.packages[0]).toBe(scoped('base'));
    expect([scoped('left'), scoped('right')]).toContain(cp.packages[1]);
    expect(cp.packages[2]).toBe(scoped('top'));
    const durations = cp.packages.map((p) => run.doc.timeline!.find((t) => t.package === p)!).reduce((n, t) => n + t.endMs - t.startMs, 0);
    expect(cp.durationMs).toBeCloseTo(durations, 0);
  });

  it('--summary writes the same document to a file', async () => {
    const summary = JSON.parse(readFileSync(fx.path('out/summary.json'), 'utf8'));
    expect(summary).toEqual(JSON.parse(run.stdout));
  });
});

describe('a failing package', () => {
  const SPEC: Record<string, PackageSpec> = {
    base: {},
    bad: { deps: ['base'], broken: true },
    'after-bad': { deps: ['bad'] },
    'after-after': { deps: ['after-bad'] },
    other: { deps: ['base'], delayMs: 300 },
    solo: { delayMs: 300 },
  };

  it.concurrent('dependents are skipped with the reason, independent packages are built, exit 1', async () => {
    const fx = fixture('npm', SPEC);
    const { code, doc } = await runJson(['build', '--concurrency', '2'], fx);
    expect(code).toBe(1);
    expect(result(doc, 'bad')).toMatchObject({ status: 'failed', error: { code: 'BUILD_FAILED' } });
    expect(result(doc, 'bad').diagnostics[0]).toMatchObject({ severity: 'error', file: 'src/index.ts', line: 1 });
    expect(result(doc, 'after-bad')).toMatchObject({ status: 'skipped', cache: { reason: 'dependency @fx/bad failed' } });
    expect(result(doc, 'after-after')).toMatchObject({ status: 'skipped', cache: { reason: 'dependency @fx/bad failed, via @fx/after-bad' } });
    for (const ok of ['base', 'other', 'solo']) expect(result(doc, ok).status, ok).toBe('success');
    expect(buildCounts(fx)[scoped('after-bad')]).toBeUndefined();
    expect(existsSync(fx.path('packages/after-bad/dist'))).toBe(false);
  });

  it.concurrent('plain output: prefixed lines for the failure and the skips', async () => {
    const fx = fixture('npm', SPEC);
    const r = await cli(['build', '--concurrency', '2', '--cwd', fx.root], { env: { CI: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/@fx\/bad: ✖ \S*packages\/bad\/src\/index\.ts:1:/);
    expect(r.stdout).toContain('@fx/after-bad: - skipped (dependency @fx/bad failed)');
    expect(r.stdout).toContain('@fx/solo: ✔ built with esbuild');
    expect(r.stdout).toMatch(/6 packages: 3 built, 1 failed, 2 skipped in /);
    // CI with no colour request: no escape codes.
    expect(r.stdout + r.stderr).not.toContain('\u001b[');
  });
});

describe('a package waits only for the dependencies whose outputs its build reads', () => {
  // Plain esbuild configs (no plugin, which could resolve past `external`): the build reads
  // exactly what `external` leaves in. Each imports @fx/<dep>; `typed` only declares it.
  const plain = "{ adapter: 'esbuild' }";
  const importing = (dep: string) => `import { name as dep } from ${JSON.stringify(scoped(dep))};\nexport const name: string = 'uses ' + dep;\n`;
  const spec = (dep: string, extra: Record<string, PackageSpec> = {}): Record<string, PackageSpec> => ({
    // runtime dependency: external for esbuild, imported at run time
    app: { deps: [dep], plainConfig: plain, source: importing(dep) },
    // devDependency: bundled from the dependency's built output
    bundles: { deps: [dep], depField: 'devDependencies', plainConfig: plain, source: importing(dep) },
    // dts: true: TypeScript reads the dependencies' declarations
    typed: { deps: [dep], plainConfig: "{ adapter: 'esbuild', dts: true }" },
    ...extra,
  });
  const link = (fx: Fixture, dep: string) => {
    // As a package manager would: the dependency linked by name, TypeScript for `typed`'s declarations.
    mkdirSync(fx.path('node_modules/@fx'), { recursive: true });
    symlinkSync(`../../packages/${dep}`, fx.path('node_modules/@fx', dep), 'dir');
    symlinkSync(path.join(repoRoot, 'node_modules'), fx.path('packages/typed/node_modules'), 'dir');
  };

  it('an external dependency builds alongside; a bundled one and dts: true wait (timeline, output, critical path, plan)', async () => {
    const fx = fixture('npm', spec('slow', { slow: { delayMs: 1500 } }));
    link(fx, 'slow');
    const plan = planResultSchema.parse(JSON.parse((await cli(['build', '--dry-run', '--json', '--cwd', fx.root])).stdout));
    const waits = Object.fromEntries(plan.packages.map((p) => [p.name, [p.dependencies, p.waitsFor]]));
    expect(waits).toEqual({
      [scoped('slow')]: [[], []],
      [scoped('app')]: [[scoped('slow')], []],
      [scoped('bundles')]: [[scoped('slow')], [scoped('slow')]],
      [scoped('typed')]: [[scoped('slow')], [scoped('slow')]],
    });
    // The plan still lists in build order.
    expect(plan.packages[0]!.name).toBe(scoped('slow'));
    // For people: the table marks what is not waited for.
    const table = (await cli(['build', '--dry-run', '--cwd', fx.root])).stdout;
    expect(table).toMatch(new RegExp(`${scoped('app')}\\s+esbuild \\S+\\s+${scoped('slow')} \\(external\\)`));
    expect(table).not.toMatch(new RegExp(`${scoped('bundles')}.*\\(external\\)`));

    const { code, doc, stderr } = await runJson(['build', '--concurrency', '4'], fx);
    expect(code, stderr + JSON.stringify(doc.results.map((r) => [r.package.name, r.status, r.error, r.diagnostics]))).toBe(0);
    const slow = entry(doc, 'slow');
    expect(entry(doc, 'app').startMs).toBeLessThan(slow.endMs);
    expect(entry(doc, 'app').endMs, 'app was built while slow was still building').toBeLessThanOrEqual(slow.endMs);
    expect(readFileSync(fx.path('packages/app/dist/index.js'), 'utf8')).toContain('from "@fx/slow"');
    for (const waiter of ['bundles', 'typed']) expect(entry(doc, waiter).startMs, waiter).toBeGreaterThanOrEqual(slow.endMs);
    // bundles really read slow's output: its name constant is inlined.
    expect(readFileSync(fx.path('packages/bundles/dist/index.js'), 'utf8')).toContain('"@fx/slow"');
    expect(doc.criticalPath!.packages[0]).toBe(scoped('slow'));
    expect(doc.criticalPath!.packages).toHaveLength(2);
    expect(doc.criticalPath!.packages).not.toContain(scoped('app'));
    // Results stay in build order.
    expect(doc.results.map((r) => r.package.name)).toEqual(plan.packages.map((p) => p.name));
  });

  it('a failed dependency skips the packages that read its outputs, not one that imports it as external', async () => {
    const fx = fixture('npm', spec('bad', { bad: { broken: true, plainConfig: plain } }));
    link(fx, 'bad');
    const { code, doc } = await runJson(['build', '--concurrency', '4'], fx);
    expect(code).toBe(1);
    expect(result(doc, 'bad')).toMatchObject({ status: 'failed', error: { code: 'BUILD_FAILED' } });
    expect(result(doc, 'app').status).toBe('success');
    expect(entry(doc, 'app').startMs).toBeLessThan(entry(doc, 'bad').endMs);
    expect(result(doc, 'bundles')).toMatchObject({ status: 'skipped', cache: { reason: 'dependency @fx/bad failed' } });
    expect(result(doc, 'typed')).toMatchObject({ status: 'skipped', cache: { reason: 'dependency @fx/bad failed' } });
    expect(existsSync(fx.path('packages/bundles/dist'))).toBe(false);
  });
});

describe('concurrency', () => {
  it.concurrent('defaults to 10 packages at once (or one per core when there are more), the same for plans', async () => {
    const { build } = await import('../src/index.js');
    const fx = fixture('npm', { one: { plainConfig: "{ adapter: 'esbuild' }" } });
    const expected = Math.max(10, os.availableParallelism());
    const run = await build({ cwd: fx.root, noCache: true });
    expect(run.concurrency).toBe(expected);
    expect((await build({ cwd: fx.root, dryRun: true })).concurrency).toBe(expected);
  });

  it.concurrent('many packages at once: no listener-leak warning from the run signal every build listens on', async () => {
    const spec = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`p${i}`, { plainConfig: "{ adapter: 'esbuild', format: ['esm', 'cjs'] }" } as PackageSpec]));
    const fx = fixture('npm', spec);
    const { code, doc, stderr } = await runJson(['build', '--concurrency', '14'], fx);
    expect(code, stderr).toBe(0);
    expect(doc.results).toHaveLength(14);
    expect(stderr).not.toMatch(/MaxListenersExceeded|memory leak/);
  });
});

describe('--bail', () => {
  // bad fails at once; busy is running then and finishes; later would start after the failure
  // (with two slots, bad and busy start first: bad has a dependent, busy comes before later by directory).
  const SPEC: Record<string, PackageSpec> = {
    bad: { broken: true },
    'after-bad': { deps: ['bad'] },
    busy: { delayMs: 1500 },
    later: {},
  };

  it.concurrent('nothing new starts after the first failure; what runs finishes; exit 1', async () => {
    const fx = fixture('npm', SPEC);
    const { code, doc } = await runJson(['build', '--concurrency', '2', '--bail'], fx);
    expect(code).toBe(1);
    const failedAt = entry(doc, 'bad').endMs;
    for (const t of doc.timeline!) expect(t.startMs, `${t.package} started before the failure`).toBeLessThanOrEqual(failedAt);
    expect(doc.timeline!.map((t) => t.package).sort()).toEqual([scoped('bad'), scoped('busy')]);
    expect(result(doc, 'busy').status).toBe('success');
    expect(result(doc, 'later')).toMatchObject({ status: 'skipped', cache: { reason: 'not started: --bail after @fx/bad failed' } });
    expect(result(doc, 'after-bad')).toMatchObject({ status: 'skipped', cache: { reason: 'dependency @fx/bad failed' } });
    expect(doc.bail).toBe(true);
  });

  it.concurrent('without --bail the same workspace builds `later` after the failure', async () => {
    const fx = fixture('npm', SPEC);
    const { code, doc } = await runJson(['build', '--concurrency', '2'], fx);
    expect(code).toBe(1);
    expect(result(doc, 'later').status).toBe('success');
    expect(entry(doc, 'later').startMs).toBeGreaterThanOrEqual(entry(doc, 'bad').endMs);
  });
});

describe('selection errors exit 2 with a clear message and build nothing', () => {
  let fx: Fixture;
  let cyclic: Fixture;
  beforeAll(() => {
    fx = fixture('npm', { a: {}, b: { deps: ['a'] } });
    cyclic = fixture('pnpm', { x: { deps: ['y'] }, y: { deps: ['x'] } });
  });

  const nothingBuilt = (f: Fixture) => {
    expect(buildCounts(f)).toEqual({});
    for (const dir of readdirSync(f.path('packages'))) expect(existsSync(f.path('packages', dir, 'dist')), dir).toBe(false);
  };

  it.concurrent.each([
    ['a cycle', () => ['build', '--cwd', cyclic.root], /dependency cycle: @fx\/(x → @fx\/y → @fx\/x|y → @fx\/x → @fx\/y)/],
    ['an unknown package name', () => ['build', '@fx/nope', '--cwd', fx.root], /unknown package "@fx\/nope"/],
    ['an unknown name in --filter', () => ['build', '--filter', '@fx/nope', '--cwd', fx.root], /--filter "@fx\/nope": unknown package "@fx\/nope" \(known: @fx\/a, @fx\/b\)/],
    ['an unknown filter syntax', () => ['build', '--filter', '@fx/a..', '--cwd', fx.root], /--filter "@fx\/a\.\.": .* is not a package name, glob or directory/],
    ['an empty selection', () => ['build', '--filter', '@other/*', '--cwd', fx.root], /nothing to build: no package matches --filter @other\/\*/],
    ['a bad --concurrency', () => ['build', '--concurrency', '0', '--cwd', fx.root], /--concurrency must be a whole number >= 1/],
  ])('%s', async (_what, args, message) => {
    const r = await cli(args());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    nothingBuilt(fx);
    nothingBuilt(cyclic);
    const json = await cli([...args(), '--json']);
    expect(json.code).toBe(2);
    const doc = runResultSchema.parse(JSON.parse(json.stdout));
    expect(doc.error?.message).toMatch(message);
    expect(doc.results).toEqual([]);
  });
});

describe('plans without building', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = fixture('pnpm', { base: {}, left: { deps: ['base'] }, top: { deps: ['left'] }, solo: {} });
  });

  it.concurrent('--dry-run --json: the plan in build order with adapter, dependencies and cache; nothing written', async () => {
    const r = await cli(['build', '--dry-run', '--json', '--filter', '@fx/top...', '--concurrency', '2', '--cwd', fx.root]);
    expect(r.code, r.stderr).toBe(0);
    const plan = planResultSchema.parse(JSON.parse(r.stdout));
    expect(plan.packages.map((p) => p.name)).toEqual([scoped('base'), scoped('left'), scoped('top')]);
    expect(plan.packages[2]).toMatchObject({ chosen: 'esbuild', available: true, dependencies: [scoped('left')], configFile: 'build.config.ts' });
    expect(plan.packages[0]!.cache.status).toBeDefined();
    expect(plan.concurrency).toBe(2);
    expect(buildCounts(fx)).toEqual({});
    expect(existsSync(fx.path('packages/base/dist'))).toBe(false);
  });

  it.concurrent('--dry-run for people: a table, and a config error exits 2', async () => {
    const r = await cli(['build', '--dry-run', '--cwd', fx.root]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/#\s+package\s+adapter\s+depends on\s+cache/);
    expect(r.stdout).toMatch(/@fx\/top\s+esbuild \S+\s+@fx\/left/);
    expect(r.stdout).toContain('nothing was built');
    const broken = fixture('npm', { ok: {}, badconf: {} });
    broken.write({ 'packages/badconf/build.config.ts': `export default { adapter: 'esbuild', outDir: '../../escape' };\n` });
    const bad = await cli(['build', '--dry-run', '--cwd', broken.root]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/@fx\/badconf: ✖ .*outDir: must stay inside the package/);
  });

  it.concurrent('build:list: build order, adapter, dependencies, cache state; --filter works there too', async () => {
    const r = await cli(['list', '--json', '--filter', '...@fx/left', '--cwd', fx.root]);
    expect(r.code, r.stderr).toBe(0);
    const { packages } = JSON.parse(r.stdout);
    expect(packages.map((p: { name: string }) => p.name)).toEqual([scoped('left'), scoped('top')]);
    expect(packages[1]).toMatchObject({ chosen: 'esbuild', available: true, dependencies: [scoped('left')], cache: { status: expect.any(String) } });
    const text = await cli(['list', '--cwd', fx.root]);
    expect(text.stdout.split('\n').findIndex((l) => l.includes('@fx/base'))).toBeLessThan(text.stdout.split('\n').findIndex((l) => l.includes('@fx/top')));
  });

  it.concurrent('build:graph: dot (default), json and mermaid; a bad format exits 2', async () => {
    const dot = await cli(['graph', '--cwd', fx.root]);
    expect(dot.code).toBe(0);
    expect(dot.stdout).toContain('"@fx/base" -> "@fx/left"');
    expect(dot.stdout).toContain('"@fx/left" -> "@fx/top"');
    const json = JSON.parse((await cli(['graph', '--format', 'json', '--filter', '@fx/top...', '--cwd', fx.root])).stdout);
    expect(json.edges).toEqual([
      { from: scoped('base'), to: scoped('left') },
      { from: scoped('left'), to: scoped('top') },
    ]);
    expect((await cli(['graph', '--format', 'mermaid', '--cwd', fx.root])).stdout).toMatch(/^graph LR\n/);
    const bad = await cli(['graph', '--format', 'svg', '--cwd', fx.root]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--format: must be one of dot, json, mermaid');
    const cycle = fixture('npm', { x: { deps: ['y'] }, y: { deps: ['x'] } });
    const c = await cli(['graph', '--cwd', cycle.root]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('dependency cycle');
  });
});

describe('Ctrl-C', () => {
  it('cancels the running build, starts nothing more, releases the lock and leaves outDirs as they were (exit 130)', async () => {
    const fx = fixture('npm', { slow: { delayMs: 10 }, waiting: { deps: ['slow'] } });
    expect((await cli(['build', '--cwd', fx.root])).code).toBe(0);
    const before = { slow: snapshotTree(fx.path('packages/slow/dist')), waiting: snapshotTree(fx.path('packages/waiting/dist')) };
    expect(Object.keys(before.slow)).toContain('index.js');
    // A new source and a slow build, so the second run really builds (no cache hit) and is busy when interrupted.
    const slowDir = fx.path('packages/slow');
    fx.write({
      'packages/slow/src/index.ts': `export const name: string = 'slow v2';\n`,
      'packages/slow/build.config.ts': fx.read('packages/slow/build.config.ts').replace('setTimeout(resolve, 10)', 'setTimeout(resolve, 20000)'),
    });
    const { child, done } = cliAsync(['build', '--json', '--cwd', fx.root]);
    // Interrupt once the slow package's build has started (its plugin logged the second build).
    const startedAt = Date.now();
    while ((buildCounts(fx)[scoped('slow')] ?? 0) < 2) {
      if (Date.now() - startedAt > 30_000) throw new Error('the slow build never started');
      // eslint-disable-next-line no-await-in-loop
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    const doc = runResultSchema.parse(JSON.parse(r.stdout));
    expect(doc.cancelled).toBe(true);
    expect(result(doc, 'slow')).toMatchObject({ status: 'failed' });
    expect(result(doc, 'slow').error?.message).toMatch(/cancel|abort/i);
    expect(result(doc, 'waiting')).toMatchObject({ status: 'skipped' });
    expect(buildCounts(fx)[scoped('waiting')]).toBe(1);
    expect(existsSync(lockDirFor(slowDir))).toBe(false);
    expect(snapshotTree(fx.path('packages/slow/dist'))).toEqual(before.slow);
    expect(snapshotTree(fx.path('packages/waiting/dist'))).toEqual(before.waiting);
    // No staging directory or other leftover next to outDir.
    expect(readdirSync(slowDir).sort()).toEqual(['build.config.ts', 'dist', 'node_modules', 'package.json', 'src'].filter((n) => existsSync(fx.path('packages/slow', n))).sort());
  });
});

describe('the programmatic API', () => {
  it('build({ filter, concurrency }) runs the scheduler; dryRun returns the plan; an AbortSignal cancels', async () => {
    const { build, list } = await import('../src/index.js');
    const fx = fixture('npm', { base: {}, left: { deps: ['base'] }, solo: { delayMs: 200 } });
    const plan = await build({ cwd: fx.root, filter: ['@fx/left...'], dryRun: true });
    expect(plan.dryRun).toBe(true);
    expect(plan.packages.map((p) => p.name)).toEqual([scoped('base'), scoped('left')]);
    expect(buildCounts(fx)).toEqual({});

    const events: string[] = [];
    const run = await build({ cwd: fx.root, filter: ['@fx/left...'], concurrency: 1, onEvent: (e) => e.type === 'package-done' && events.push(e.result.package.name) });
    expect(run.exitCode).toBe(0);
    expect(run.concurrency).toBe(1);
    expect(run.results.map((r) => r.package.name)).toEqual([scoped('base'), scoped('left')]);
    expect(events).toEqual([scoped('base'), scoped('left')]);
    expect((await list({ cwd: fx.root, filter: ['...@fx/base'] })).map((e) => e.name)).toEqual([scoped('base'), scoped('left')]);

    const controller = new AbortController();
    controller.abort();
    const cancelled = await build({ cwd: fx.root, filter: ['@fx/solo'], signal: controller.signal });
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.results[0]).toMatchObject({ status: 'skipped', cache: { reason: 'run cancelled' } });
  });
});
