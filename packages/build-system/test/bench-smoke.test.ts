import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/fixture.js';

/**
 * A tiny run of the benchmark (bench/run.mjs): N=3 packages × F=3 files, only the
 * contenders installed at the repo root (build-system, raw esbuild), two runs.
 * It proves the harness end to end — generate, link, build, verify, measure,
 * report — without turbo or nx (those are bench/ devDependencies, not the repo's).
 */
const benchDir = path.join(repoRoot, 'bench');
const importBench = (rel: string) => import(pathToFileURL(path.join(benchDir, rel)).href);

interface Sample {
  run: number;
  scenario: string;
  contender: string;
  ok: boolean;
  ms: number;
  rssKb: number | null;
  rebuilt: number | null;
  pair?: string;
  load1?: number;
  error?: string;
}
interface Results {
  sizes: { key: string; samples: Sample[]; verified: Record<string, true | string>; roots: Record<string, string> }[];
  startup: { samples: { command: string; ok: boolean; ms: number }[] };
  targets: { id: string; rows: { label: string; ratio: { median: number } | null }[] }[];
  unavailable: Record<string, string>;
}

function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const abs = path.join(d, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else h.update(`${path.relative(dir, abs)}\0`).update(readFileSync(abs));
    }
  };
  walk(dir);
  return h.digest('hex');
}

const tmp = mkdtempSync(path.join(tmpdir(), 'bs-bench-smoke-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench generator', () => {
  it('is seeded: same seed, same tree; another seed, another tree', async () => {
    const { generate } = await importBench('generate.mjs');
    const out = (name: string) => path.join(tmp, 'gen', name);
    generate({ packages: 6, files: 4, seed: 7, out: out('a') });
    generate({ packages: 6, files: 4, seed: 7, out: out('b') });
    generate({ packages: 6, files: 4, seed: 8, out: out('c') });
    expect(treeHash(out('a'))).toBe(treeHash(out('b')));
    expect(treeHash(out('a'))).not.toBe(treeHash(out('c')));
  });

  it('makes a DAG on lower packages (0–3 each) and picks the most depended-on package and a leaf', async () => {
    const { generate } = await importBench('generate.mjs');
    const meta = generate({ packages: 40, files: 2, seed: 3, out: path.join(tmp, 'gen', 'dag') });
    const index = new Map<string, number>(meta.packages.map((p: { name: string }, i: number) => [p.name, i]));
    for (const [i, p] of meta.packages.entries() as IterableIterator<[number, { deps: string[] }]>) {
      expect(p.deps.length).toBeLessThanOrEqual(3);
      for (const d of p.deps) expect(index.get(d)!).toBeLessThan(i);
    }
    const most = Math.max(...meta.packages.map((p: { dependents: number }) => p.dependents));
    expect(meta.core.dependents).toBe(most);
    expect(meta.core.dependents).toBeGreaterThan(0);
    expect(meta.packages.find((p: { name: string }) => p.name === meta.leaf.name).dependents).toBe(0);
    expect(readFileSync(path.join(tmp, 'gen', 'dag', meta.core.file), 'utf8')).toContain('// bench:edit');
  });

  it('an edit rewrites the marked line with a new value each time', async () => {
    const { generate } = await importBench('generate.mjs');
    const { editSource } = await importBench('run.mjs');
    const root = path.join(tmp, 'gen', 'edit');
    const meta = generate({ packages: 2, files: 2, seed: 1, out: root });
    const before = readFileSync(path.join(root, meta.leaf.file), 'utf8');
    editSource(root, meta.leaf.file);
    const once = readFileSync(path.join(root, meta.leaf.file), 'utf8');
    editSource(root, meta.leaf.file);
    const twice = readFileSync(path.join(root, meta.leaf.file), 'utf8');
    expect(new Set([before, once, twice]).size).toBe(3);
    expect(once.split('\n').length).toBe(before.split('\n').length);
  });
});

describe('bench smoke run (N=3, F=3; build-system + raw esbuild)', () => {
  let results: Results;
  let report: string;
  let run: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    const out = path.join(tmp, 'RESULTS.md');
    const json = path.join(tmp, 'results.json');
    run = spawnSync(
      process.execPath,
      [
        path.join(benchDir, 'run.mjs'),
        // --max-load: the suite itself keeps the load above the cores; this run checks the mechanics, not the verdicts.
        ...['--sizes', '3x3', '--runs', '2', '--startup-runs', '2', '--warmup', '0', '--no-profile', '--max-load', '1000'],
        ...['--contenders', 'bs-esbuild,esbuild-raw', '--scenarios', 'cold,noop,edit-core,startup'],
        ...['--work', path.join(tmp, 'work'), '--out', out, '--json', json],
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 },
    );
    if (run.status !== 0) console.error(run.stderr);
    results = JSON.parse(readFileSync(json, 'utf8'));
    report = readFileSync(out, 'utf8');
  });

  it('exits 0 and measures every contender in every scenario it applies to', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(results.unavailable).toEqual({});
    const [size] = results.sizes;
    expect(size!.key).toBe('n3-f3');
    const cell = (scenario: string, contender: string) => size!.samples.filter((s) => s.scenario === scenario && s.contender === contender);
    for (const [scenario, contender] of [
      ['cold', 'bs-esbuild'],
      ['cold', 'esbuild-raw'],
      ['noop', 'bs-esbuild'],
      ['edit-core', 'bs-esbuild'],
    ] as const) {
      const samples = cell(scenario, contender);
      expect(samples.map((s) => s.run), `${scenario} ${contender}`).toEqual([1, 2]);
      for (const s of samples) {
        expect(s.ok, `${scenario} ${contender}: ${s.error}`).toBe(true);
        expect(s.ms).toBeGreaterThan(0);
      }
    }
    // raw esbuild has no cache: it is not run in the cached scenarios.
    expect(cell('noop', 'esbuild-raw')).toEqual([]);
    // build-system builds all three packages cold, and reports how many it rebuilt.
    expect(cell('cold', 'bs-esbuild').map((s) => s.rebuilt)).toEqual([3, 3]);
    for (const id of ['node-e0', 'bs-version', 'bs-help']) {
      const s = results.startup.samples.filter((x) => x.command === id);
      expect(s, id).toHaveLength(2);
      expect(s.every((x) => x.ok && x.ms > 0), id).toBe(true);
    }
  });

  it('writes RESULTS.md with numbers, ratios and the target verdicts', () => {
    expect(report).toContain('## 3 packages × 3 files (`n3-f3`)');
    expect(report).toMatch(/\| build-system esbuild `bs-esbuild` \| \d+ ms \| \d+ ms–\d+ ms \| 2\/2 \|/);
    expect(report).toMatch(/\| raw esbuild \(JS API, one process\) `esbuild-raw` \| \d+ ms \|/);
    expect(report).toMatch(/\| `bs-esbuild` \| \*\*\d+\.\d\d×\*\* \(\d+\.\d\d–\d+\.\d\d\) \|/);
    expect(report).toMatch(/\| `build-system --version` \| \d+ ms \|/);
    expect(report).toMatch(/Cold full build, JS only \(esbuild adapter\): ≤ 1\.5× the raw esbuild floor, every size \| ≤ 1\.5× \| (✅ met|❌ not met|— not measured) \| bs-esbuild \/ esbuild-raw \(n3-f3\): (\d+\.\d\d×|n\/a)/);
    // Each cold bs-esbuild sample shares a pair id with one esbuild-raw sample of the same run, and every sample records the load.
    const cold = results.sizes[0]!.samples.filter((s) => s.scenario === 'cold');
    for (const s of cold.filter((x) => x.contender === 'bs-esbuild')) {
      expect(s.pair, `run ${s.run}`).toBeTruthy();
      expect(cold.filter((x) => x.pair === s.pair).map((x) => x.contender).sort()).toEqual(['bs-esbuild', 'esbuild-raw']);
    }
    for (const s of results.sizes[0]!.samples) expect(typeof s.load1).toBe('number');
    const coldJs = results.targets.find((t) => t.id === 'cold-js')!;
    expect(coldJs.rows[0]!.ratio!.median).toBeGreaterThan(0);
  });

  it("build-system's outputs run under node", () => {
    const [size] = results.sizes;
    expect(size!.verified['bs-esbuild']).toBe(true);
    // And independently of the harness: import every package of build-system's copy through node_modules.
    const root = size!.roots['bs-esbuild']!;
    const meta = JSON.parse(readFileSync(path.join(root, 'bench-meta.json'), 'utf8')) as { packages: { name: string; dir: string }[] };
    expect(meta.packages).toHaveLength(3);
    for (const p of meta.packages) expect(existsSync(path.join(root, p.dir, 'dist', 'index.js'))).toBe(true);
    const script = `const out = []; for (const n of ${JSON.stringify(meta.packages.map((p) => p.name))}) { const m = await import(n); const f = Object.values(m).find((v) => typeof v === 'function' && v.name.endsWith('Summary')); out.push(f().name); } console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(meta.packages.map((p) => p.name));
  });
});
