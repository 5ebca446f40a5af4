#!/usr/bin/env node
/**
 * Watch-mode bench: how long an edit takes to reach dist under `build-system watch`,
 * against the one-shot CLI after the same edit.
 *
 *   node bench/watch.mjs [--packages 200] [--files 10] [--edits 7]
 *
 * Generates the workspace (generate.mjs, esbuild, no declarations), builds it once,
 * starts `build-system watch --json`, then per scenario edits the `bench:edit` line
 * of the leaf / the most depended-on package `--edits` times, one at a time, and
 * records: edit → the edited package's dist/index.js holds the new stamp (polled),
 * and edit → the round's JSON line (every dependent rebuilt or found a hit). Then the
 * same leaf edit with `build-system build` (process start included). Prints medians
 * and the load average; numbers on a shared machine are only comparable within one run.
 * The watch session (start, edit, timings) is lib/watch-session.mjs, shared with run.mjs's
 * watch-leaf / watch-core scenarios.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from './generate.mjs';
import { startWatchSession } from './lib/watch-session.mjs';
import { benchDir, buildSystemBin, configureBuildSystem, editSource, linkWorkspace, readMeta } from './lib/workspace.mjs';

const { values } = parseArgs({ options: { packages: { type: 'string', default: '200' }, files: { type: 'string', default: '10' }, edits: { type: 'string', default: '7' } } });
const n = Number(values.packages);
const edits = Number(values.edits);
const root = path.join(benchDir, '.work', `watch-n${n}-f${values.files}`);
rmSync(root, { recursive: true, force: true });
generate({ packages: n, files: Number(values.files), out: root });
linkWorkspace(root);
// JS only (the watch target): esbuild, no declarations.
configureBuildSystem(root, { adapter: 'esbuild', dts: false });
const meta = readMeta(root);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const first = spawnSync(process.execPath, [buildSystemBin, 'build'], { cwd: root, encoding: 'utf8' });
if (first.status !== 0) throw new Error(`first build failed: ${first.stderr}`);

const session = await startWatchSession(root);
const results = {};
for (const [scenario, target] of [['leaf', meta.leaf], ['core', meta.core]]) {
  const toDist = [];
  const toRound = [];
  const sizes = [];
  for (let i = 0; i < edits; i++) {
    await sleep(300);
    const e = await session.edit(target);
    toDist.push(e.toDistMs);
    toRound.push(e.toRoundMs);
    sizes.push(`${e.round.packages}p/${e.round.rebuilt}r/${e.round.hits}h`);
  }
  results[scenario] = { editToDistMs: median(toDist), editToRoundMs: median(toRound), round: sizes[sizes.length - 1] };
}
await session.close();

const oneShot = [];
for (let i = 0; i < edits; i++) {
  editSource(root, meta.leaf.file);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [buildSystemBin, 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  oneShot.push(performance.now() - t0);
}
const out = {
  packages: n,
  files: Number(values.files),
  edits,
  load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  watchStartupMs: Math.round(session.startupMs),
  watching: session.watching,
  leaf: results.leaf,
  core: results.core,
  oneShotLeafMs: median(oneShot),
  ratioLeafWatchToOneShot: Math.round((results.leaf.editToDistMs / median(oneShot)) * 100) / 100,
};
console.log(JSON.stringify(out, (k, v) => (typeof v === 'number' && k !== 'ratioLeafWatchToOneShot' ? Math.round(v * 10) / 10 : v), 2));
