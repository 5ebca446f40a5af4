import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/fixture.js';

/**
 * The bench's real-repo shape (bench/generate-real.mjs) end to end: one run of the
 * smallest real workspace (12 packages, 1 file per library) with build-system (its
 * configs as generated), turbo + tsup (dts) and `tsc -b`, in the three scenarios the
 * shape is reported on. Both contenders' tools are the repo's own (bench/lib/workspace.mjs
 * findTool falls back to the root node_modules), so bench/'s devDependencies (turbo, tsup, nx:
 * ~200 MB) are not installed for it: a clean clone's `npm test` would fetch them for nothing.
 */
const benchDir = path.join(repoRoot, 'bench');
const importBench = (rel: string) => import(pathToFileURL(path.join(benchDir, rel)).href);
// turbo + tsup (dts) is left to the bench itself: its real12 builds cost ~60 s of suite time (the suite
// stays under 10 minutes); the generator, pairing, checks and report are the same code for every contender.
const CONTENDERS = ['bs-real', 'tsc5-b'];
const SCENARIOS = ['cold', 'noop', 'edit-core'];

interface Sample {
  scenario: string;
  contender: string;
  ok: boolean;
  ms: number;
  rebuilt: number | null;
  pair?: string;
  pairLoad?: number;
  settleMs?: number;
  error?: string;
}
interface Meta {
  depth: number;
  kinds: Record<string, number>;
  core: { name: string; file: string };
  packages: { name: string; dir: string; kind: string; deps: string[]; expect: { package: string[]; tsc: string[] } }[];
}

const tmp = mkdtempSync(path.join(tmpdir(), 'bs-bench-real-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bench real-repo shape generator', () => {
  it('is seeded, at least 7 deep, and has every kind of package the shape promises', async () => {
    const { generateReal } = await importBench('generate-real.mjs');
    const out = (name: string) => path.join(tmp, 'gen', name);
    const meta: Meta = generateReal({ packages: 20, files: 2, seed: 3, out: out('a') });
    generateReal({ packages: 20, files: 2, seed: 3, out: out('b') });
    expect(readFileSync(path.join(out('a'), 'bench-meta.json'), 'utf8')).toBe(readFileSync(path.join(out('b'), 'bench-meta.json'), 'utf8'));
    expect(meta.depth).toBeGreaterThanOrEqual(7);
    expect(meta.kinds.types).toBe(1);
    expect(meta.kinds.cli).toBe(1);
    expect(meta.kinds.dual).toBeGreaterThanOrEqual(2);
    expect(meta.kinds.lib).toBeGreaterThan(meta.kinds.dual! + 2);
    // Dual packages of both layouts (.mjs/.d.mts and .cjs/.d.cts), and subpath exports.
    const expected = meta.packages.flatMap((p) => p.expect.package);
    for (const ext of ['.mjs', '.cjs', '.d.mts', '.d.cts']) expect(expected.some((f) => f.endsWith(ext)), ext).toBe(true);
    expect(expected.filter((f) => /dist\/(utils|client)\.js$/.test(f)).length).toBeGreaterThanOrEqual(2);
    for (const p of meta.packages) {
      const tsconfig = JSON.parse(readFileSync(path.join(out('a'), p.dir, 'tsconfig.json'), 'utf8'));
      expect(tsconfig.extends, p.name).toBe('../../tsconfig.base.json');
      const config = readFileSync(path.join(out('a'), p.dir, 'build.config.ts'), 'utf8');
      expect(config, p.name).toContain(p.kind === 'types' || p.kind === 'lib' ? "adapter: 'tsc'" : "adapter: 'esbuild'");
    }
    const cli = JSON.parse(readFileSync(path.join(out('a'), meta.packages.find((p) => p.kind === 'cli')!.dir, 'package.json'), 'utf8'));
    expect(Object.values(cli.bin)).toEqual(['./dist/cli.js']);
    expect(Object.keys(cli.devDependencies ?? {}).length).toBeGreaterThan(0);
    // The hub is the most depended-on library, and its edit line is there.
    expect(readFileSync(path.join(out('a'), meta.core.file), 'utf8')).toContain('// bench:edit');
  });
});

describe('bench real-shape run (real12x1; build-system and tsc -b; 1 run)', () => {
  let run: ReturnType<typeof spawnSync>;
  let results: { sizes: { key: string; shape: string; meta: Meta; samples: Sample[]; verified: Record<string, true | string>; validation: Record<string, string[]> }[]; unavailable: Record<string, string> };
  let report: string;

  beforeAll(() => {
    const out = path.join(tmp, 'RESULTS.md');
    const json = path.join(tmp, 'results.json');
    run = spawnSync(
      process.execPath,
      [
        path.join(benchDir, 'run.mjs'),
        // --max-load 1000: the suite keeps the load high; this run checks the mechanics, not ratios.
        ...['--sizes', 'real12x1', '--runs', '1', '--warmup', '0', '--no-profile', '--max-load', '1000'],
        ...['--contenders', CONTENDERS.join(','), '--scenarios', SCENARIOS.join(',')],
        ...['--work', path.join(tmp, 'work'), '--out', out, '--json', json],
      ],
      { cwd: repoRoot, encoding: 'utf8', timeout: 1_500_000 },
    );
    if (run.status !== 0) console.error(run.stderr);
    results = JSON.parse(readFileSync(json, 'utf8'));
    report = readFileSync(out, 'utf8');
  }, 2_100_000);

  it('every contender produced a successful sample in every scenario, its outputs ran, and the pairs were adjacent', () => {
    expect(run.status, String(run.stderr)).toBe(0);
    expect(results.unavailable).toEqual({});
    const [size] = results.sizes;
    expect(size!.shape).toBe('real');
    expect(size!.key).toBe('real12x1');
    expect(size!.meta.depth).toBeGreaterThanOrEqual(7);
    for (const scenario of SCENARIOS) {
      for (const contender of CONTENDERS) {
        const samples = size!.samples.filter((s) => s.scenario === scenario && s.contender === contender);
        expect(samples, `${scenario} ${contender}`).toHaveLength(1);
        expect(samples[0]!.ok, `${scenario} ${contender}: ${samples[0]!.error}`).toBe(true);
        expect(samples[0]!.ms).toBeGreaterThan(0);
      }
      // build-system was measured right between its two references, with the settle recorded.
      const bs = size!.samples.find((s) => s.scenario === scenario && s.contender === 'bs-real')!;
      expect(bs.pair).toBeTruthy();
      expect(size!.samples.filter((s) => s.pair === bs.pair).map((s) => s.contender).sort()).toEqual([...CONTENDERS].sort());
      expect(typeof bs.settleMs).toBe('number');
      expect(typeof bs.pairLoad).toBe('number');
    }
    // The hub edit rebuilt something in build-system (a tool that rebuilt nothing did not see it).
    for (const id of ['bs-real']) {
      const edit = size!.samples.find((s) => s.scenario === 'edit-core' && s.contender === id)!;
      expect(edit.rebuilt, id).toBeGreaterThanOrEqual(1);
    }
    // Each contender's outputs were imported and run under Node (the CLI's bin too, for the package builders).
    expect(size!.verified).toEqual(Object.fromEntries(CONTENDERS.map((id) => [id, true])));
    // build-system's own package validation found nothing to warn about in what it built.
    expect(size!.validation['bs-real']).toEqual([]);
  });

  it('reports the real shape with ratios against tsc -b', () => {
    expect(report).toContain('## Real-repo shape: 12 packages, 1 file per library (`real12x1`)');
    expect(report).toContain('bs-real no PKG_* warning');
    expect(report).toMatch(/\| build-system \| ÷ `tsc5-b` \|/);
    expect(report).toMatch(/\| `bs-real` \| \*\*\d+\.\d\d×\*\* \(\d+\.\d\d–\d+\.\d\d\) \|/);
  });
});
