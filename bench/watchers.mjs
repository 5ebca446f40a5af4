/**
 * Watcher candidates for watch mode at N packages (research.md §12), one per process:
 *   node bench/generate.mjs --packages 200 --files 10 --out /tmp/ws200
 *   node bench/watchers.mjs <fs-dirs|fs-recursive|chokidar|parcel> /tmp/ws200
 * Prints { readyMs, startCpuMs, idleCpuMs (over 1 s), latencyMs (median of 5 edits), rssMB }.
 * fs-dirs: one non-recursive fs.watch per directory (each package and its src), what watch mode does.
 */
// fs-recursive watches packages/ only (at the root it would also walk node_modules).
import { watch as fsWatch, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
// chokidar and @parcel/watcher are not bench dependencies: install them beside it to compare
//   npm install --no-save --prefix bench chokidar@4.0.3 @parcel/watcher@2.6.0
const require = createRequire(path.join(process.env.WATCHER_LIBS ?? path.dirname(fileURLToPath(import.meta.url)), 'package.json'));
const [cand, root] = process.argv.slice(2);
const pkgs = readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d));
const dirs = pkgs.flatMap((p) => [p, path.join(p, 'src')]);
const target = path.join(pkgs[pkgs.length - 1], 'src', 'index.ts');
let onEvent = () => {};
const seen = (file) => onEvent(file);
const t0 = performance.now(); const c0 = process.cpuUsage();
let close;
if (cand === 'fs-dirs') {
  const ws = dirs.map((d) => fsWatch(d, (ev, name) => seen(path.join(d, String(name)))));
  close = () => ws.forEach((w) => w.close());
} else if (cand === 'fs-recursive') {
  const w = fsWatch(path.join(root, 'packages'), { recursive: true }, (ev, name) => seen(path.join(root, 'packages', String(name))));
  close = () => w.close();
} else if (cand === 'chokidar') {
  const chokidar = (await import(require.resolve('chokidar'))).default;
  const w = chokidar.watch(pkgs, { ignoreInitial: true, ignored: (p) => /node_modules|\/dist(\/|$)/.test(p) });
  await new Promise((r) => w.on('ready', r));
  w.on('all', (ev, p) => seen(p));
  close = () => w.close();
} else if (cand === 'parcel') {
  const parcel = require('@parcel/watcher');
  const sub = await parcel.subscribe(root, (err, events) => events.forEach((e) => seen(e.path)), { ignore: ['node_modules', '**/node_modules', '**/dist'] });
  close = () => sub.unsubscribe();
}
const readyMs = performance.now() - t0; const c1 = process.cpuUsage(c0);
// idle CPU over 1 s
const ci = process.cpuUsage(); await new Promise((r) => setTimeout(r, 1000)); const idle = process.cpuUsage(ci);
// edit latency, 5 edits
const lat = [];
const orig = readFileSync(target, 'utf8');
for (let i = 0; i < 5; i++) {
  const got = new Promise((r) => { onEvent = (f) => { if (f === target) r(); }; });
  const s = performance.now(); writeFileSync(target, orig + `\n// ${i}\n`); await got; lat.push(performance.now() - s);
  await new Promise((r) => setTimeout(r, 100));
}
writeFileSync(target, orig);
await close();
lat.sort((a, b) => a - b);
console.log(JSON.stringify({ cand, readyMs: +readyMs.toFixed(1), startCpuMs: +((c1.user + c1.system) / 1000).toFixed(1), idleCpuMs: +((idle.user + idle.system) / 1000).toFixed(1), latencyMs: +lat[2].toFixed(1), rssMB: Math.round(process.memoryUsage().rss / 1e6) }));
process.exit(0);
