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

if (withDts) {
  const tsc = path.join(root, '../../node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
