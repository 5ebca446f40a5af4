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
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EDIT_MARKER, generate } from './generate.mjs';
import { benchDir, buildSystemBin, configureBuildSystem, linkWorkspace, readMeta } from './lib/workspace.mjs';

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

let counter = 0;
function edit(rel) {
  const file = path.join(root, rel);
  const token = `w${process.pid}x${counter++}`;
  const re = new RegExp(`const stamp = '[^']*'; ${EDIT_MARKER.replace(/[/]/g, '\\/')}`);
  writeFileSync(file, readFileSync(file, 'utf8').replace(re, `const stamp = '${token}'; ${EDIT_MARKER}`));
  return token;
}
const distHas = (dir, token) => {
  try {
    return readFileSync(path.join(root, dir, 'dist', 'index.js'), 'utf8').includes(token);
  } catch {
    return false;
  }
};

const first = spawnSync(process.execPath, [buildSystemBin, 'build'], { cwd: root, encoding: 'utf8' });
if (first.status !== 0) throw new Error(`first build failed: ${first.stderr}`);

const watcher = spawn(process.execPath, [buildSystemBin, 'watch', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
const rounds = [];
let partial = '';
watcher.stdout.setEncoding('utf8').on('data', (d) => {
  const lines = (partial + d).split('\n');
  partial = lines.pop();
  for (const line of lines) if (line.startsWith('{')) rounds.push({ at: performance.now(), doc: JSON.parse(line) });
});
const startedAt = performance.now();
while (rounds.length === 0) await sleep(2);
const startupMs = rounds[0].at - startedAt;

const results = {};
for (const [scenario, target] of [['leaf', meta.leaf], ['core', meta.core]]) {
  const toDist = [];
  const toRound = [];
  const sizes = [];
  for (let i = 0; i < edits; i++) {
    await sleep(300);
    const seen = rounds.length;
    const t0 = performance.now();
    const token = edit(target.file);
    while (!distHas(target.dir, token)) await sleep(1);
    toDist.push(performance.now() - t0);
    while (!rounds.slice(seen).some((r) => r.doc.trigger.files.includes(target.file))) await sleep(1);
    // The round that took the edit; later rounds of the same burst (none expected) would add to it.
    const round = rounds.slice(seen).find((r) => r.doc.trigger.files.includes(target.file));
    toRound.push(round.at - t0);
    sizes.push(`${round.doc.packages.length}p/${round.doc.rebuilt.length}r/${round.doc.hits}h`);
  }
  results[scenario] = { editToDistMs: median(toDist), editToRoundMs: median(toRound), round: sizes[sizes.length - 1] };
}
watcher.kill('SIGINT');
await new Promise((r) => watcher.on('close', r));

const oneShot = [];
for (let i = 0; i < edits; i++) {
  edit(meta.leaf.file);
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
  watchStartupMs: Math.round(startupMs),
  watching: rounds[0].doc.watching,
  leaf: results.leaf,
  core: results.core,
  oneShotLeafMs: median(oneShot),
  ratioLeafWatchToOneShot: Math.round((results.leaf.editToDistMs / median(oneShot)) * 100) / 100,
};
console.log(JSON.stringify(out, (k, v) => (typeof v === 'number' && k !== 'ratioLeafWatchToOneShot' ? Math.round(v * 10) / 10 : v), 2));
