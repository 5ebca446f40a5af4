// Builds build-system itself: ESM files (one per source, so lazy imports stay lazy),
// a CJS bundle of the API and declarations. JSON Schemas: scripts/generate-schemas.mjs.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const withDts = !process.argv.includes('--no-dts');

rmSync(dist, { recursive: true, force: true });
const sources = readdirSync(src, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => path.join(src, f));

const common = { platform: 'node', target: 'node20', sourcemap: 'linked', tsconfig: path.join(root, 'tsconfig.json'), logLevel: 'warning' };
await esbuild.build({ ...common, entryPoints: sources, outdir: dist, outbase: src, format: 'esm' });
await esbuild.build({
  ...common,
  entryPoints: [path.join(src, 'index.ts')],
  outfile: path.join(dist, 'index.cjs'),
  bundle: true,
  packages: 'external',
  format: 'cjs',
  // The ESM sources read import.meta.url only where __dirname is missing; silence the CJS warning for it.
  logOverride: { 'empty-import-meta': 'silent' },
});

// The CLI as one file (bin/build-system.js loads it): Node's ESM loader costs ~1 ms per module,
// and a build touches ~60 of ours plus zod's; bundled, it is one file to read and compile
// (research.md §5). Other packages stay external (esbuild, rollup, typescript are the
// user's tools, resolved at run time), except zod and picomatch, which are ours to bundle.
// The Nest side (build.module.js and everything it imports) is not in it: main.ts imports
// it lazily, and from here that resolves to the per-file dist/build.module.js.
const BUNDLED_PACKAGES = /^(zod|picomatch)(\/|$)/;
await esbuild.build({
  ...common,
  entryPoints: { cli: path.join(src, 'main.ts') },
  outdir: dist,
  // Lazy imports stay lazy: each becomes a chunk, so --version and --help read only cli.js.
  splitting: true,
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  format: 'esm',
  // CJS code inside an ESM bundle (picomatch) calls require() for Node builtins.
  banner: { js: "import { createRequire as __bsCreateRequire } from 'node:module'; const require = __bsCreateRequire(import.meta.url);" },
  plugins: [
    {
      name: 'cli-externals',
      setup(build) {
        build.onResolve({ filter: /^\.\/build\.module\.js$/ }, (args) => ({ path: args.path, external: true }));
        build.onResolve({ filter: /^[^./]/ }, (args) => (BUNDLED_PACKAGES.test(args.path) || args.path.startsWith('node:') ? undefined : { path: args.path, external: true }));
      },
    },
  ],
});

if (withDts) {
  const tsc = path.join(root, '../../node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
