/**
 * Where the time goes: reads a V8 .cpuprofile (node --cpu-prof) and sums self
 * time by "bucket" — a package under node_modules, a build-system source file,
 * Node's module loader, GC, idle (waiting for child processes or I/O).
 */
import { readFileSync } from 'node:fs';

/** The bucket a profile node's own time is charged to. */
export function bucketOf(callFrame) {
  const { url = '', functionName = '' } = callFrame;
  if (!url) {
    if (functionName === '(idle)') return 'idle (waiting for child processes / I/O)';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return 'V8 (compile, native)';
    if (functionName === '(root)') return '(root)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  if (url.startsWith('node:internal/modules') || url.startsWith('node:internal/vm')) return 'node: module loader';
  if (url.startsWith('node:')) return 'node: other internals';
  if (url.startsWith('data:')) return 'build.config.ts evaluation (data: modules)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  // The package in place (packages/build-system) or the bench's snapshot of it (<work>/build-system).
  const bs = /\/build-system\/(?:dist|src|bin)\/(.*)$/.exec(url);
  if (bs) return `build-system: ${bs[1]}`;
  return url.replace(/^file:\/\//, '');
}

/**
 * @returns {{ totalMs: number, buckets: { name: string, ms: number, share: number }[], functions: { name: string, ms: number }[] }}
 */
export function summarizeProfile(file, { top = 12 } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < prof.samples.length; i++) selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  // Idle time is always reported (it is where a build waits for tsc or bun), even when small.
  const buckets = new Map([['idle (waiting for child processes / I/O)', 0]]);
  const functions = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const b = bucketOf(n.callFrame);
    buckets.set(b, (buckets.get(b) ?? 0) + us);
    const fn = `${n.callFrame.functionName || '(anonymous)'} — ${b}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total / 1000,
    buckets: sorted(buckets).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000, share: us / total })),
    functions: sorted(functions).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000 })),
  };
}
