#!/usr/bin/env node
/**
 * What a no-op cache key costs, per input file.
 *
 * Builds synthetic packages of N source files (nested directories, ~2 KB each,
 * a .gitignore, some ignored files, mtimes set a minute back so the stat cache
 * trusts them) and times `computeFingerprint` from build-system's dist:
 *
 *   cold      no stat cache: every file is read and hashed (first build on a machine)
 *   warm      a new FileHasher loading the persisted stat cache, as a new CLI
 *             process does: the walk, one stat per file, no reads
 *   memo      the same hasher again in the same run (the re-check under the lock)
 *   walk      listInputFiles alone (readdir + gitignore + stat), the floor of warm
 *   no-op     build() through the API, second run (config load, key, lookup,
 *             outDir check), for scale: what a user waits for, minus process start
 *
 * Each figure is the median of --runs samples (default 15), in ms, and per file
 * in µs. Run `npm run build -w packages/build-system` first.
 *
 * Usage: node bench/cache-key.mjs [--runs 15] [--sizes 100,1000,5000]
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(opt('--runs', '15'));
const SIZES = opt('--sizes', '100,1000,5000').split(',').map(Number);
if (!Number.isInteger(RUNS) || RUNS < 5) throw new Error('--runs must be an integer >= 5');

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(repo, 'packages/build-system/dist');
const load = (rel) => import(pathToFileURL(path.join(dist, rel)).href);
const { computeFingerprint } = await load('cache/fingerprint.js');
const { FileHasher } = await load('cache/file-hasher.js');
const { listInputFiles } = await load('cache/inputs.js');
const { resolveConfig } = await load('config/resolve.js');
const { buildConfigSchema } = await load('config/schema.js');
const { loadPackageInfo } = await load('workspace/package-info.js');
const { build } = await load('index.js');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function makePackage(root, files) {
  const old = (Date.now() - 60_000) / 1000;
  const write = (rel, text) => {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    utimesSync(abs, old, old);
  };
  write('package.json', JSON.stringify({ name: 'bench-pkg', version: '1.0.0', type: 'module', main: 'dist/index.js' }));
  write('build.config.json', JSON.stringify({ adapter: 'esbuild', entry: 'src/index.ts' }));
  write('.gitignore', '*.log\ncoverage/\n');
  const body = `export const value = 1;\n${'// filler line for a realistic file size\n'.repeat(48)}`;
  for (let i = 0; i < files - 4; i++) write(`src/d${i % 20}/s${Math.floor(i / 20) % 10}/f${i}.ts`, `${body}export const n${i} = ${i};\n`);
  write('src/index.ts', 'export const answer = 42;\n');
  // Ignored files: walked past, never hashed.
  for (let i = 0; i < 20; i++) write(`coverage/c${i}.json`, '{}');
  write('debug.log', 'x');
}

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const rows = [];
for (const n of SIZES) {
  const work = mkdtempSync(path.join(tmpdir(), 'bs-bench-key-'));
  const root = path.join(work, 'pkg');
  makePackage(root, n);
  const pkg = loadPackageInfo(root);
  const config = resolveConfig(pkg, buildConfigSchema.parse({ adapter: 'esbuild', entry: 'src/index.ts' }), null);
  const input = (hasher) => ({ pkg, config, adapter: { name: 'esbuild', version: '0.28.2' }, declarations: null, hasher });
  const stateFile = path.join(work, 'stats.json');
  const counted = listInputFiles(root, { workspaceRoot: root, outDir: 'dist', inputs: [] }).length;

  const cold = [];
  const warm = [];
  const memo = [];
  const walk = [];
  let reads = -1;
  for (let r = 0; r < RUNS; r++) {
    rmSync(stateFile, { force: true });
    const coldHasher = await FileHasher.open(stateFile);
    cold.push(await time(() => computeFingerprint(input(coldHasher))));
    await coldHasher.save();

    let hasher;
    warm.push(
      await time(async () => {
        hasher = await FileHasher.open(stateFile);
        await computeFingerprint(input(hasher));
      }),
    );
    reads = hasher.stats.reads;
    memo.push(await time(() => computeFingerprint(input(hasher))));
    walk.push(await time(() => listInputFiles(root, { workspaceRoot: root, outDir: 'dist', inputs: [] })));
  }

  // End to end through the API: build once, then time no-op builds.
  const cacheDir = path.join(work, 'cache');
  await build({ cwd: root, cacheDir });
  const noop = [];
  let status;
  for (let r = 0; r < RUNS; r++) {
    noop.push(
      await time(async () => {
        const run = await build({ cwd: root, cacheDir });
        status = run.results[0].cache.status;
      }),
    );
  }
  rows.push({ files: counted, cold: median(cold), warm: median(warm), memo: median(memo), walk: median(walk), noop: median(noop), warmReads: reads, noopStatus: status });
  rmSync(work, { recursive: true, force: true });
}

const us = (ms, n) => ((ms * 1000) / n).toFixed(1);
console.log(`node ${process.version} ${process.platform}-${process.arch}, median of ${RUNS} runs\n`);
console.log('files | cold ms (µs/file) | warm ms (µs/file) | memo ms (µs/file) | walk ms (µs/file) | no-op build() ms | warm reads | no-op cache');
console.log('----: | ---: | ---: | ---: | ---: | ---: | ---: | ---');
for (const r of rows) {
  console.log(
    `${r.files} | ${r.cold.toFixed(1)} (${us(r.cold, r.files)}) | ${r.warm.toFixed(1)} (${us(r.warm, r.files)}) | ${r.memo.toFixed(1)} (${us(r.memo, r.files)}) | ${r.walk.toFixed(1)} (${us(r.walk, r.files)}) | ${r.noop.toFixed(1)} | ${r.warmReads} | ${r.noopStatus}`,
  );
}
