// Builds build-system itself: ESM files (one per source, so lazy imports stay lazy),
// a CJS bundle of the API, declarations, and the JSON Schemas generated from the zod schemas.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

// JSON Schemas for editors and consumers, generated from the one zod truth.
const { z } = await import('zod');
const { buildConfigSchema } = await import(pathToFileURL(path.join(dist, 'config/schema.js')).href);
const { buildResultSchema, runResultSchema } = await import(pathToFileURL(path.join(dist, 'result/schema.js')).href);
const schemaDir = path.join(root, 'schema');
mkdirSync(schemaDir, { recursive: true });
const write = (name, schema, io) => {
  const json = z.toJSONSchema(schema, { io, target: 'draft-2020-12' });
  writeFileSync(path.join(schemaDir, name), `${JSON.stringify(json, null, 2)}\n`);
};
write('build-config.schema.json', buildConfigSchema, 'input');
write('build-result.schema.json', buildResultSchema, 'output');
write('run-result.schema.json', runResultSchema, 'output');

if (withDts) {
  const tsc = path.join(root, '../../node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
}
