#!/usr/bin/env node
/**
 * What the package.json validation after a build costs (src/validate), on a
 * generated monorepo (generate.mjs) built with build-system's esbuild adapter.
 *
 *   node bench/validate.mjs [--packages 50] [--files 20] [--runs 5] [--no-dts] [--public] [--work bench/.work/validate]
 *
 * The generated packages are `"private": true`, which skips the check of
 * what npm would publish; `--public` drops that field to time every check
 * (the root .gitignore leaves dist out, so each package then has warnings).
 *
 * 1. A cold build (`build --json`, fresh cache) gives every package's real
 *    artifacts and validation diagnostics.
 * 2. Miss cost: in a fresh Node process per run (as a build is), the validator
 *    the build calls (dist/validate) runs on every package's package.json and
 *    artifacts, with one read log per run; each call is timed. Reported: the
 *    median per package over all runs, p90, max, and each run's first call
 *    (module warm-up included). Goal: <= 20 ms per package.
 * 3. A hit does no validation work: the cold build and a second build (every
 *    package a cache hit through the build service: `--explain` keeps the
 *    no-op replay out of the way) run under NODE_V8_COVERAGE, and the calls of
 *    the validator are counted from V8's own call counts: one per package on
 *    the miss, none on the hit, which still reports the stored diagnostics.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from './generate.mjs';
import { median } from './lib/measure.mjs';
import { benchDir, buildSystemBin, buildSystemDir, configureBuildSystem, linkWorkspace } from './lib/workspace.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const packages = Number(flag('packages', '50'));
const files = Number(flag('files', '20'));
const runs = Number(flag('runs', '5'));
const dts = !args.includes('--no-dts');
const makePublic = args.includes('--public');
const work = path.resolve(flag('work', path.join(benchDir, '.work', 'validate')));

function build(root, cacheDir, extra, coverageDir) {
  rmSync(coverageDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [buildSystemBin, 'build', '--json', '--cache-dir', cacheDir, ...extra], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, NODE_V8_COVERAGE: coverageDir, BUILD_SYSTEM_DEBUG_NOOP: undefined },
  });
  if (r.status !== 0) throw new Error(`build failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

/** Calls of the validator in every process of a run, from V8's precise coverage (call counts per function). */
function validatorCalls(coverageDir) {
  let calls = 0;
  for (const name of readdirSync(coverageDir)) {
    const { result } = JSON.parse(readFileSync(path.join(coverageDir, name), 'utf8'));
    for (const script of result) {
      for (const fn of script.functions) if (/^validatePackage\d*$/.test(fn.functionName)) calls += fn.ranges[0].count;
    }
  }
  return calls;
}

const validationCodes = (result) => result.diagnostics.filter((d) => d.code?.startsWith('PKG_')).map((d) => `${d.code} ${d.field}`);

/** One miss's worth of validation in a fresh process: the timings of every package, in build order. */
function timedRun(inputFile) {
  const script = `
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { validatePackage } = await import(${JSON.stringify(pathToFileURL(path.join(buildSystemDir, 'dist/validate/index.js')).href)});
    const { ReadLog } = await import(${JSON.stringify(pathToFileURL(path.join(buildSystemDir, 'dist/util/read-log.js')).href)});
    const input = JSON.parse(readFileSync(${JSON.stringify(inputFile)}, 'utf8'));
    const reads = new ReadLog();
    const ms = [];
    for (const p of input.packages) {
      const started = performance.now();
      const manifest = JSON.parse(readFileSync(path.join(p.dir, 'package.json'), 'utf8'));
      const { diagnostics } = validatePackage({
        dir: p.dir, workspaceRoot: input.root, manifest, outDir: p.outDir, artifacts: p.artifacts, reads,
        readArtifact: (rel) => { try { return readFileSync(path.join(p.dir, rel), 'utf8'); } catch { return undefined; } },
      });
      ms.push(performance.now() - started);
      if (diagnostics.length !== p.expected) throw new Error(p.dir + ': ' + diagnostics.length + ' diagnostics, the build had ' + p.expected);
    }
    process.stdout.write(JSON.stringify(ms));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const root = path.join(work, `n${packages}-f${files}`);
const cacheDir = path.join(work, 'cache');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
generate({ packages, files, out: root });
linkWorkspace(root);
configureBuildSystem(root, { adapter: 'esbuild', dts });
if (makePublic) {
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    const file = path.join(root, 'packages', dir, 'package.json');
    const { private: _private, ...manifest } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  }
}

const miss = build(root, cacheDir, [], path.join(work, 'coverage-miss'));
const missCalls = validatorCalls(path.join(work, 'coverage-miss'));
const hit = build(root, cacheDir, ['--explain'], path.join(work, 'coverage-hit'));
const hitCalls = validatorCalls(path.join(work, 'coverage-hit'));
if (!hit.results.every((r) => r.cache.status === 'hit')) throw new Error('the second build was not all cache hits');
const replayed = hit.results.every((r, i) => JSON.stringify(validationCodes(r)) === JSON.stringify(validationCodes(miss.results[i])));

const inputFile = path.join(work, 'validate-input.json');
const input = {
  root,
  packages: miss.results.map((r) => ({ dir: r.package.dir, outDir: r.outDir, artifacts: r.artifacts.map((a) => ({ path: a.path })), expected: validationCodes(r).length })),
};
mkdirSync(path.dirname(inputFile), { recursive: true });
writeFileSync(inputFile, JSON.stringify(input));

const all = [];
const firsts = [];
for (let i = 0; i < runs; i++) {
  const ms = timedRun(inputFile);
  firsts.push(ms[0]);
  all.push(...ms);
}
const sorted = [...all].sort((a, b) => a - b);
const p90 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))];
const fmt = (ms) => `${ms.toFixed(2)} ms`;
const buildMs = median(miss.results.map((r) => r.durationMs));
const artifactsPerPackage = median(miss.results.map((r) => r.artifacts.length));
const codes = new Map();
for (const r of miss.results) for (const c of validationCodes(r)) codes.set(c.split(' ')[0], (codes.get(c.split(' ')[0]) ?? 0) + 1);

const lines = [
  `validation cost: ${packages} packages × ${files} files, esbuild${dts ? ' + dts' : ''}${makePublic ? ', public' : ', private'}, ${artifactsPerPackage} artifacts per package (median), ${runs} runs`,
  `miss: median ${fmt(median(all))} per package, p90 ${fmt(p90)}, max ${fmt(sorted[sorted.length - 1])}; first call of a run (warm-up) median ${fmt(median(firsts))}; goal <= 20 ms`,
  `      (a package's build took ${fmt(buildMs)} (median), validation included)`,
  `      diagnostics found: ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'}`,
  `hit:  validatePackage called ${hitCalls} times (the miss: ${missCalls} for ${packages} packages); stored diagnostics replayed: ${replayed ? 'yes, identical' : 'NO'}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (hitCalls !== 0 || missCalls !== packages || !replayed) process.exitCode = 1;
