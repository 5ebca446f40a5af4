#!/usr/bin/env node
/**
 * Where build-system's CLI start-up goes, and what each remedy buys
 * (specs/002-build-package-handler/research.md §5 quotes its output).
 *
 *   node bench/startup-probe.mjs [--runs 15] [--only name,name]
 *
 * Every variant is a fresh `node` process; variants run interleaved (one of each
 * per round, order rotated) so that machine noise hits all of them alike. For
 * each: median wall time and median CPU time (user + sys, from GNU time), which
 * is far less sensitive to other load on a shared machine than wall time.
 *
 * Variants: `node -e 0`; importing each piece of the CLI's dependency tree alone;
 * the CLI as shipped (`bin/build-system.cjs --version|--help`, and with the
 * fast path off: BUILD_SYSTEM_NO_FAST_PATH=1); and the remedies tried:
 * an esbuild bundle of the whole CLI (CJS, one file), the bundle run through a
 * V8 code cache (vm.Script cachedData: what NODE_COMPILE_CACHE does on Node ≥ 22.1,
 * done by hand because Node 20 has no module.enableCompileCache), and stubbing
 * the nest-commander dependencies the CLI never uses (inquirer, cosmiconfig).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { snapshotBuildSystem } from './lib/workspace.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const srcPkgDir = path.resolve(benchDir, '../packages/build-system');
// A copy of the package as built now: others' `npm test` deletes and rebuilds its dist at any time.
const snapshotRoot = mkdtempSync(path.join(tmpdir(), 'bs-startup-pkg-'));
const bin = snapshotBuildSystem(path.join(snapshotRoot, 'build-system'));
const pkgDir = path.dirname(path.dirname(bin));
const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const RUNS = Number(flag('--runs', '15'));
const ONLY = flag('--only', '')?.split(',').filter(Boolean);

const requireFromPkg = createRequire(path.join(pkgDir, 'package.json'));
const esbuild = requireFromPkg('esbuild');

// --- remedies that need files: a bundle of the CLI, a code-cache loader, stubs -------------
const tmp = mkdtempSync(path.join(tmpdir(), 'bs-startup-'));
const fakePkg = path.join(tmp, 'pkg');
mkdirSync(path.join(fakePkg, 'dist'), { recursive: true });
// src/version.ts reads ../package.json relative to its own file: keep that layout.
copyFileSync(path.join(srcPkgDir, 'package.json'), path.join(fakePkg, 'package.json'));
const entry = path.join(tmp, 'entry.ts');
writeFileSync(entry, `import { main } from ${JSON.stringify(path.join(srcPkgDir, 'src', 'main.ts'))};\nmain();\n`);
const bundle = path.join(fakePkg, 'dist', 'cli.cjs');
await esbuild.build({
  entryPoints: [entry],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  tsconfig: path.join(srcPkgDir, 'tsconfig.json'),
  // Nest's optional peers are required lazily inside try/catch; tools stay installed.
  external: ['@nestjs/microservices', '@nestjs/websockets', '@nestjs/platform-express', 'class-transformer', 'class-validator', '@fastify/*', 'esbuild', 'rollup', '@rollup/*', 'typescript', 'bun'],
  logLevel: 'error',
  logOverride: { 'empty-import-meta': 'silent' },
  nodePaths: [path.join(srcPkgDir, 'node_modules'), path.resolve(srcPkgDir, '../../node_modules')],
});
const bundleBytes = readFileSync(bundle).length;

// The bundle with the two never-used nest-commander dependencies replaced by empty modules.
const stubbed = path.join(fakePkg, 'dist', 'cli-stubbed.cjs');
await esbuild.build({
  entryPoints: [entry],
  outfile: stubbed,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  tsconfig: path.join(srcPkgDir, 'tsconfig.json'),
  external: ['@nestjs/microservices', '@nestjs/websockets', '@nestjs/platform-express', 'class-transformer', 'class-validator', '@fastify/*', 'esbuild', 'rollup', '@rollup/*', 'typescript', 'bun'],
  logLevel: 'error',
  logOverride: { 'empty-import-meta': 'silent' },
  nodePaths: [path.join(srcPkgDir, 'node_modules'), path.resolve(srcPkgDir, '../../node_modules')],
  plugins: [
    {
      name: 'stub-unused',
      setup(b) {
        b.onResolve({ filter: /^(inquirer|cosmiconfig)$/ }, (a) => ({ path: a.path, namespace: 'stub' }));
        b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
      },
    },
  ],
});

// Code cache by hand: compile the bundle with vm.Script + cachedData, write the cache after the first run.
const cachedLoader = path.join(fakePkg, 'dist', 'cached.cjs');
writeFileSync(
  cachedLoader,
  `const fs = require('fs'), vm = require('vm'), Module = require('module'), path = require('path');
const file = path.join(__dirname, process.env.PROBE_BUNDLE || 'cli.cjs');
const cacheFile = file + '.v8cache';
let cachedData;
try { cachedData = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
const m = new Module(file, module);
m.filename = file;
m.paths = Module._nodeModulePaths(path.dirname(file));
const req = (id) => m.require(id);
req.resolve = (id, o) => Module._resolveFilename(id, m, false, o);
req.cache = Module._cache;
script.runInThisContext().call(m.exports, m.exports, req, m, file, path.dirname(file));
if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => { try { fs.writeFileSync(cacheFile, script.createCachedData()); } catch {} });
`,
);

// --- variants ------------------------------------------------------------------------------
const node = process.execPath;
const imp = (spec) => [node, ['--input-type=module', '-e', `import ${JSON.stringify(spec)};`], { cwd: pkgDir }];
const req = (...specs) => [node, ['-e', specs.map((s) => `require(${JSON.stringify(s)})`).join(';')], { cwd: pkgDir }];
const dist = (f) => path.join(pkgDir, 'dist', f);
const noFast = { BUILD_SYSTEM_NO_FAST_PATH: '1' };
const variants = [
  ['node -e 0', [node, ['-e', '0'], {}]],
  ['require commander', req('commander')],
  ['import zod', imp('zod')],
  ['import dist/version.js', imp(dist('version.js'))],
  ['import dist/index.js (Nest-free API)', imp(dist('index.js'))],
  ['import dist/services/workspace.service.js', imp(dist('services/workspace.service.js'))],
  ['require reflect-metadata + @nestjs/common', req('reflect-metadata', '@nestjs/common')],
  ['require reflect-metadata + @nestjs/core', req('reflect-metadata', '@nestjs/core')],
  ['require inquirer', req(requireFromPkg.resolve('inquirer', { paths: [path.dirname(requireFromPkg.resolve('nest-commander'))] }))],
  ['require cosmiconfig', req(requireFromPkg.resolve('cosmiconfig', { paths: [path.dirname(requireFromPkg.resolve('nest-commander'))] }))],
  ['require reflect-metadata + nest-commander', req('reflect-metadata', 'nest-commander')],
  ['import dist/build.module.js', imp(dist('build.module.js'))],
  ['bin --version (Nest path)', [node, [bin, '--version'], { env: noFast }]],
  ['bin --help (Nest path)', [node, [bin, '--help'], { env: noFast }]],
  ['bin --version (as shipped)', [node, [bin, '--version'], {}]],
  ['bin --help (as shipped)', [node, [bin, '--help'], {}]],
  [`bundle --version (1 file, ${Math.round(bundleBytes / 1024)} kB)`, [node, [bundle, '--version'], {}]],
  ['bundle + V8 code cache --version', [node, [cachedLoader, '--version'], {}]],
  ['bundle, inquirer+cosmiconfig stubbed --version', [node, [stubbed, '--version'], {}]],
  ['stubbed bundle + code cache --version', [node, [cachedLoader, '--version'], { env: { PROBE_BUNDLE: 'cli-stubbed.cjs' } }]],
].filter(([name]) => !ONLY?.length || ONLY.some((o) => name.includes(o)));

function once([cmd, argv, opts]) {
  const timeFile = path.join(tmp, 'time');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...argv], { cwd: opts.cwd ?? tmp, env: { ...process.env, ...opts.env }, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr}`);
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, cpu: (u + s) * 1000 };
}

const med = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

for (const [, v] of variants) for (let i = 0; i < 2; i++) once(v); // warm-up (and the code caches get written)
const samples = new Map(variants.map(([name]) => [name, []]));
for (let r = 0; r < RUNS; r++) {
  for (let k = 0; k < variants.length; k++) {
    const [name, v] = variants[(k + r) % variants.length];
    samples.get(name).push(once(v));
  }
}
const base = samples.get('node -e 0');
const baseWall = base ? med(base.map((s) => s.wall)) : null;
const baseCpu = base ? med(base.map((s) => s.cpu)) : null;
console.log(`Node ${process.version}, ${RUNS} interleaved runs, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
console.log('| variant | wall median | ÷ node -e 0 | CPU (user+sys) median | ÷ node -e 0 |');
console.log('| --- | --- | --- | --- | --- |');
for (const [name] of variants) {
  const s = samples.get(name);
  const w = med(s.map((x) => x.wall));
  const c = med(s.map((x) => x.cpu));
  console.log(`| ${name} | ${w.toFixed(0)} ms | ${baseWall ? (w / baseWall).toFixed(2) : '–'}× | ${c.toFixed(0)} ms | ${baseCpu ? (c / baseCpu).toFixed(2) : '–'}× |`);
}
rmSync(tmp, { recursive: true, force: true });
rmSync(snapshotRoot, { recursive: true, force: true });
