#!/usr/bin/env node
/**
 * The floor for JS output: one Node process, esbuild's JS API, every package of
 * the workspace at once (esbuild parallelises internally). Per package it does
 * the least a real tool must: read package.json for the externals (dependencies
 * and their subpaths, as tsup and build-system do), empty dist, bundle
 * src/index.ts to dist/index.js (ESM, node20). No cache, no declarations.
 *
 *   node bench/lib/raw-esbuild.mjs <workspace root>
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
// esbuild as the workspace sees it (node_modules/esbuild, linked by the harness).
const esbuild = createRequire(path.join(root, 'package.json'))('esbuild');

const dirs = readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d));
const results = await Promise.all(
  dirs.map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
    rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
    return esbuild
      .build({
        entryPoints: [path.join(dir, 'src', 'index.ts')],
        outfile: path.join(dir, 'dist', 'index.js'),
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        external: deps.flatMap((d) => [d, `${d}/*`]),
        logLevel: 'silent',
      })
      .then(
        () => null,
        (e) => `${pkg.name}: ${e.message}`,
      );
  }),
);
const failures = results.filter(Boolean);
for (const f of failures) process.stderr.write(`${f}\n`);
process.stdout.write(`raw esbuild: ${dirs.length - failures.length}/${dirs.length} packages built\n`);
process.exitCode = failures.length ? 1 : 0;
