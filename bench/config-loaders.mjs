#!/usr/bin/env node
/**
 * Measures three ways to load a TypeScript `build.config.ts` under Node:
 *   - jiti (transform + require hook, no global hooks)
 *   - esbuild: bundle to ESM in memory, import it from a data: URL (what src/config/bundle.ts does)
 *   - tsx: its scoped `tsImport` API (registers module.register hooks)
 *
 * Each sample is a fresh `node` process (a CLI run loads its config once, cold),
 * timed from spawn to exit; the child also reports how long the load itself took
 * (from importing the loader library to holding the config object). Variants run
 * interleaved so that machine noise hits all of them alike. jiti and tsx keep an
 * on-disk transform cache by default: they are measured without it (what a fresh
 * CI checkout sees) and with it warm (a developer's second run); both caches are
 * kept inside the bench's temp dir.
 *
 * After timing, each loader is checked for the behaviour the product needs
 * (robustness table): import.meta.url/__dirname of the original file, a syntax
 * error with file:line:column, a CommonJS .cts config, and no files left behind.
 *
 * Usage: node bench/config-loaders.mjs [--runs 15]
 * Dev-only: jiti and tsx are devDependencies of the repo, not of build-system.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const runsArg = args.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(args[runsArg + 1]) : 15;
if (!Number.isInteger(RUNS) || RUNS < 10) throw new Error('--runs must be an integer >= 10 (medians of fewer samples are noise)');

const require = createRequire(import.meta.url);
// The loaders are resolved from the repo, the fixture lives outside it (no node_modules
// of the repo above it), exactly like a user's package would for the product.
const mods = {
  jiti: pathToFileURL(require.resolve('jiti')).href.replace(/jiti\.cjs$/, 'jiti.mjs'),
  tsx: pathToFileURL(path.join(path.dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href,
  esbuild: pathToFileURL(createRequire(path.join(import.meta.dirname, '../packages/build-system/package.json')).resolve('esbuild')).href,
};

const root = mkdtempSync(path.join(tmpdir(), 'bs-bench-loaders-'));
const pkgDir = path.join(root, 'pkg');
const cacheDir = path.join(root, 'caches');
mkdirSync(cacheDir, { recursive: true });

function write(rel, text) {
  const abs = path.join(pkgDir, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, text);
}

// A small, realistic config: imports defineConfig from 'build-system' and a local helper .ts.
// 'build-system' is a stub package in the fixture's own node_modules so that all three
// loaders resolve it the same ordinary way (the product aliases it instead, see src/config/bundle.ts).
write('package.json', JSON.stringify({ name: 'bench-pkg', type: 'module', engines: { node: '>=20' } }, null, 2));
write('node_modules/build-system/package.json', JSON.stringify({ name: 'build-system', type: 'module', exports: './index.js' }));
write('node_modules/build-system/index.js', 'export function defineConfig(config) { return config; }\n');
write(
  'config/targets.ts',
  `export type Target = \`node\${number}\`;
export function nodeTarget(major: number): Target {
  return \`node\${major}\`;
}
export const here: string = import.meta.url;
`,
);
write(
  'build.config.ts',
  `import { defineConfig } from 'build-system';
import { nodeTarget, here } from './config/targets.js';

interface Extra { banner: string }
const extra: Extra = { banner: '/* bench */' };

export default defineConfig({
  adapter: 'esbuild',
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  target: nodeTarget(20),
  banner: extra.banner,
  define: { __HELPER_URL__: JSON.stringify(here), __DIR__: JSON.stringify(typeof __dirname === 'string' ? __dirname : null) },
});
`,
);
write('src/index.ts', 'export const x = 1;\n');
// Robustness fixtures.
write('bad/package.json', JSON.stringify({ name: 'bench-bad', type: 'module' }));
write('bad/build.config.ts', `export default {\n  adapter: 'esbuild',\n  minify: true true,\n};\n`);
write(
  'cjs/build.config.cts',
  `const { defineConfig } = require('build-system');\nmodule.exports = defineConfig({ outDir: 'lib', banner: __filename });\n`,
);
write('cjs/package.json', JSON.stringify({ name: 'bench-cjs', type: 'commonjs' }));

const configFile = path.join(pkgDir, 'build.config.ts');

/** Child-process sources: each prints one JSON line {loadMs, config} or {error}. */
const loaders = {
  esbuild: `
import { pathToFileURL } from 'node:url';
import { isBuiltin } from 'node:module';
import path from 'node:path';
const t0 = performance.now();
const esbuild = await import(${JSON.stringify(mods.esbuild)});
async function load(file) {
  // Per-file import.meta/__dirname/__filename, bare imports left to Node (as absolute URLs,
  // since a data: module cannot resolve bare specifiers), TypeScript bundled.
  const plugin = { name: 'cfg', setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (a) => {
      if (a.path.startsWith('node:') || isBuiltin(a.path)) return { external: true };
      if (a.pluginData === 'inner') return undefined;
      const r = await build.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, importer: a.importer, pluginData: 'inner' });
      if (r.errors.length) return undefined;
      if (/\\.[cm]?tsx?$/.test(r.path)) return { path: r.path };
      return { path: a.kind === 'require-call' ? r.path : pathToFileURL(r.path).href, external: true };
    });
    build.onLoad({ filter: /\\.[cm]?[jt]sx?$/ }, async (a) => {
      const fs = await import('node:fs');
      const text = fs.readFileSync(a.path, 'utf8');
      const loader = /\\.[cm]?tsx?$/.test(a.path) ? 'ts' : 'js';
      const prefix = 'const __bs_meta = { url: ' + JSON.stringify(pathToFileURL(a.path).href) + ', filename: ' + JSON.stringify(a.path) + ', dirname: ' + JSON.stringify(path.dirname(a.path)) + ' };';
      return { contents: prefix + text, loader };
    });
  } };
  // esbuild gives structured locations (column 0-based): report them 1-based like the product.
  const out = await esbuild.build({
    entryPoints: [file], bundle: true, write: false, format: 'esm', platform: 'node', target: 'node20',
    outfile: file + '.bundled.mjs', logLevel: 'silent', plugins: [plugin],
    define: { 'import.meta': '__bs_meta', __dirname: '__bs_meta.dirname', __filename: '__bs_meta.filename' },
    banner: { js: 'import { createRequire as __bsCreateRequire } from "node:module"; const require = __bsCreateRequire(' + JSON.stringify(pathToFileURL(file).href) + ');' },
  }).catch((e) => {
    const l = e.errors?.[0]?.location;
    throw l ? new Error(l.file + ':' + l.line + ':' + (l.column + 1) + ': ' + e.errors[0].text) : e;
  });
  const code = out.outputFiles[0].text;
  const mod = await import('data:text/javascript;base64,' + Buffer.from(code).toString('base64'));
  return mod.default;
}
`,
  jiti: (fsCache) => `
const t0 = performance.now();
const { createJiti } = await import(${JSON.stringify(mods.jiti)});
const jiti = createJiti(import.meta.url, { fsCache: ${JSON.stringify(fsCache)}, moduleCache: false });
async function load(file) {
  return await jiti.import(file, { default: true });
}
`,
  tsx: `
const t0 = performance.now();
const { tsImport } = await import(${JSON.stringify(mods.tsx)});
async function load(file) {
  const mod = await tsImport(file, import.meta.url);
  return mod.default && typeof mod.default === 'object' && 'default' in mod.default && Object.keys(mod.default).length === 1 ? mod.default.default : mod.default;
}
`,
};

function runnerSource(loaderSrc, file) {
  return `${loaderSrc}
try {
  const config = await load(${JSON.stringify(file)});
  const loadMs = performance.now() - t0;
  process.stdout.write(JSON.stringify({ loadMs, config }) + '\\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e && e.stack || e) }) + '\\n');
}
`;
}

const productLoad = path.join(import.meta.dirname, '../packages/build-system/dist/config/load.js');
const productInfo = path.join(import.meta.dirname, '../packages/build-system/dist/workspace/package-info.js');
// The product's own loader (esbuild + zod validation), when build-system has been built.
loaders.product = `
const t0 = performance.now();
const { loadConfigFile } = await import(${JSON.stringify(pathToFileURL(productLoad).href)});
const { loadPackageInfo } = await import(${JSON.stringify(pathToFileURL(productInfo).href)});
async function load(file) {
  try {
    return await loadConfigFile(file, loadPackageInfo(path.dirname(file)));
  } catch (e) {
    throw new Error(e.lines ? e.lines().join('\\n') : String(e));
  }
}
import path from 'node:path';
`;

const variants = [
  { name: 'node (empty process, baseline)', src: null },
  { name: 'esbuild bundle -> data: URL', src: loaders.esbuild },
  { name: 'jiti (no disk cache)', src: loaders.jiti(false) },
  { name: 'jiti (disk cache warm)', src: loaders.jiti(path.join(cacheDir, 'jiti')) },
  { name: 'tsx tsImport (no disk cache)', src: loaders.tsx, env: { TSX_DISABLE_CACHE: '1' } },
  { name: 'tsx tsImport (disk cache warm)', src: loaders.tsx, env: { TMPDIR: cacheDir } },
];
if (existsSync(productLoad)) variants.push({ name: 'build-system loadConfigFile (dist, + zod)', src: loaders.product });

function runChild(src, env, cwd = pkgDir) {
  const argv = src === null ? ['-e', '0'] : ['--input-type=module', '-e', src];
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (src === null) return { wallMs };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let parsed;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = { error: `no result (exit ${r.status}): ${r.stderr.slice(0, 500)}` };
  }
  return { wallMs, ...parsed, stderr: r.stderr };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => (n === undefined ? '-' : n.toFixed(1));

// Warm the disk caches once (and check every loader returns the right config).
for (const v of variants) {
  if (!v.src) continue;
  const r = runChild(runnerSource(v.src, configFile), v.env);
  if (r.error) throw new Error(`${v.name} failed to load the config:\n${r.error}`);
  if (r.config.target !== 'node20' || !String(r.config.define.__HELPER_URL__).includes('config/targets.ts')) {
    throw new Error(`${v.name} returned an unexpected config: ${JSON.stringify(r.config)}`);
  }
  v.sample = r.config;
}

const samples = new Map(variants.map((v) => [v.name, { wall: [], load: [] }]));
for (let i = 0; i < RUNS; i++) {
  for (const v of variants) {
    const r = runChild(v.src === null ? null : runnerSource(v.src, configFile), v.env);
    if (r.error) throw new Error(`${v.name} failed on run ${i}: ${r.error}`);
    samples.get(v.name).wall.push(r.wallMs);
    if (r.loadMs !== undefined) samples.get(v.name).load.push(r.loadMs);
  }
}

const rows = variants.map((v) => {
  const s = samples.get(v.name);
  return {
    loader: v.name,
    'wall median ms': fmt(median(s.wall)),
    'wall min ms': fmt(Math.min(...s.wall)),
    'wall max ms': fmt(Math.max(...s.wall)),
    'load median ms': s.load.length ? fmt(median(s.load)) : '-',
  };
});

// Robustness: one run each of the bad config, the CJS config, and a look for leftover files.
function treeOf(dir) {
  const out = [];
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const abs = path.join(d, n);
      if (statSync(abs).isDirectory()) {
        if (n !== 'node_modules') walk(abs);
      } else out.push(path.relative(dir, abs));
    }
  };
  walk(dir);
  return out.sort().join('\n');
}
const robust = [];
for (const v of variants) {
  if (!v.src) continue;
  const before = treeOf(pkgDir);
  const bad = runChild(runnerSource(v.src, path.join(pkgDir, 'bad/build.config.ts')), v.env);
  const loc = /bad\/build\.config\.ts:(\d+):(\d+)/.exec(bad.error ?? '') ?? /build\.config\.ts[^\n]*?\((\d+):(\d+)\)/.exec(bad.error ?? '');
  const cjs = runChild(runnerSource(v.src, path.join(pkgDir, 'cjs/build.config.cts')), v.env, path.join(pkgDir, 'cjs'));
  robust.push({
    loader: v.name,
    'import.meta.url of helper': String(v.sample.define.__HELPER_URL__).includes('config/targets.ts') ? 'original' : 'WRONG',
    '__dirname in ESM config': v.sample.define.__DIR__ === JSON.stringify(pkgDir) ? 'original' : v.sample.define.__DIR__ === 'null' ? 'undefined' : 'WRONG',
    'syntax error at (1-based: 3:16)': loc ? `${loc[1]}:${loc[2]}` : 'none',
    '.cts module.exports': cjs.config?.outDir === 'lib' && cjs.config.banner === path.join(pkgDir, 'cjs/build.config.cts') ? 'ok' : `FAIL ${String(cjs.error ?? JSON.stringify(cjs.config)).split('\n')[0]}`,
    'files left in package': before === treeOf(pkgDir) ? 'none' : 'YES',
  });
}

console.log(`Config loaders, cold: one fresh \`node\` process per sample, ${RUNS} samples each, interleaved.`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}; fixture ${configFile}`);
console.table(rows);
console.table(robust);
console.log('jiti and tsx put the location only in the message text, with a 0-based column (3:15 = line 3, 16th character).');
rmSync(root, { recursive: true, force: true });
