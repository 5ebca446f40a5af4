#!/usr/bin/env node
/**
 * What a dual package's second declaration set costs (src/adapters/declarations-naming.ts).
 * tsc emits one `.d.ts` per source; for `format: ['esm', 'cjs']` the CJS side gets a `.d.cts`
 * copy of each with its relative specifiers rewritten (`./m1.js` -> `./m1.cjs`). The
 * alternative, a second TypeScript program per format, costs a whole declaration emit.
 *
 *   node bench/declarations.mjs [--files 20,200] [--runs 15]
 *
 * Each run writes N declaration files that import each other plus an index re-exporting all,
 * into a fresh temp dir, and times placeDeclarations on them (median, min, max).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { files: { type: 'string', default: '20,200' }, runs: { type: 'string', default: '15' } } });
const sizes = values.files.split(',').map(Number);
const runs = Number(values.runs);
const dist = path.resolve(import.meta.dirname, '../packages/build-system/dist/adapters/declarations-naming.js');
const { placeDeclarations } = await import(pathToFileURL(dist).href);

function writeDeclarations(outDir, n) {
  const emitted = [];
  for (let i = 0; i < n; i++) {
    const file = path.join(outDir, `m${i}.d.ts`);
    writeFileSync(file, `import type { T${(i + 1) % n} } from './m${(i + 1) % n}.js';\nexport declare function f${i}(x: T${(i + 1) % n}): string;\nexport type T${i} = { a: number };\n`);
    emitted.push(file);
  }
  const index = path.join(outDir, 'index.d.ts');
  writeFileSync(index, `${Array.from({ length: n }, (_, i) => `export * from './m${i}.js';`).join('\n')}\n`);
  return [...emitted, index];
}

const config = {
  entries: { index: 'src/index.ts' },
  sourceRoot: 'src',
  formats: ['esm', 'cjs'],
  outExtension: { esm: '.js', cjs: '.cjs' },
  dtsExtension: { esm: '.d.ts', cjs: '.d.cts' },
  outsideEntries: [],
};

console.log(`declarations for esm + cjs (.d.ts + .d.cts), ${runs} runs, load average ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
for (const n of sizes) {
  const times = [];
  let produced = 0;
  for (let run = 0; run < runs; run++) {
    const outDir = mkdtempSync(path.join(tmpdir(), 'bs-bench-dts-'));
    const emitted = writeDeclarations(outDir, n);
    const started = performance.now();
    const placed = placeDeclarations({ config, pkgDir: path.dirname(outDir), outDir, rootDir: path.join(path.dirname(outDir), 'src'), emitted });
    times.push(performance.now() - started);
    produced = placed.files.length;
    if (placed.diagnostics.length) throw new Error(`unexpected diagnostics: ${JSON.stringify(placed.diagnostics)}`);
    rmSync(outDir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  const mid = times[Math.floor(times.length / 2)];
  console.log(`${String(n).padStart(4)} sources -> ${produced} declaration files: median ${mid.toFixed(2)} ms (min ${times[0].toFixed(2)}, max ${times.at(-1).toFixed(2)})`);
}
