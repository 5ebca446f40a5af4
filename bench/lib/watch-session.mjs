/**
 * One `build-system watch --json` process over a generated workspace, and the
 * edit → output timings the watch scenarios measure (bench/watch.mjs and the
 * watch-leaf / watch-core scenarios of bench/run.mjs share it).
 *
 * An edit rewrites the `bench:edit` line of a package's source (editSource) and
 * is timed twice: until the edited package's dist/index.js holds the new stamp
 * (polled every millisecond: what a dev server would see), and until the JSON
 * line of the round that took the edit arrives (every dependent rebuilt or found
 * a hit). The first JSON line is the initial round: its arrival is the start-up.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSystemBin, editSource } from './workspace.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every ms until it is truthy, or throws after `timeoutMs` saying `what`. */
async function until(check, what, timeoutMs) {
  const started = performance.now();
  for (;;) {
    const v = check();
    if (v) return v;
    if (performance.now() - started > timeoutMs) throw new Error(`watch: no ${what} within ${timeoutMs} ms`);
    await sleep(1);
  }
}

/**
 * Starts the watcher in `root` (already built once: the initial round is then all hits)
 * and resolves once its initial round is out. `timeoutMs` bounds every wait.
 */
export async function startWatchSession(root, { env = process.env, timeoutMs = 120_000 } = {}) {
  const child = spawn(process.execPath, [buildSystemBin, 'watch', '--json'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const rounds = [];
  let partial = '';
  let stderr = '';
  let exited = null;
  child.stdout.setEncoding('utf8').on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const line of lines) if (line.startsWith('{')) rounds.push({ at: performance.now(), doc: JSON.parse(line) });
  });
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const closed = new Promise((resolve) => child.on('close', (code, signal) => resolve((exited = { code, signal }))));
  const alive = (what) => {
    if (exited) throw new Error(`watch exited (${exited.code ?? exited.signal}) while waiting for ${what}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  };
  const startedAt = performance.now();
  await until(() => (alive('the initial round'), rounds.length > 0), 'initial round', timeoutMs);

  const distHas = (dir, token) => {
    try {
      return readFileSync(path.join(root, dir, 'dist', 'index.js'), 'utf8').includes(token);
    } catch {
      return false;
    }
  };

  return {
    startupMs: rounds[0].at - startedAt,
    /** Directories the watcher watches (from its initial round). */
    watching: rounds[0].doc.watching,
    rounds,
    /**
     * Edits `target` ({ dir, file } of readMeta's leaf or core) and waits for both ends.
     * Returns { toDistMs, toRoundMs, round: { packages, rebuilt, hits } } of the round that took the edit.
     */
    async edit(target) {
      const seen = rounds.length;
      const t0 = performance.now();
      const token = editSource(root, target.file);
      await until(() => (alive('the edit'), distHas(target.dir, token)), `${target.dir}/dist/index.js with the edit`, timeoutMs);
      const toDistMs = performance.now() - t0;
      const took = (r) => r.doc.trigger.files.includes(target.file);
      const round = await until(() => (alive('the round'), rounds.slice(seen).find(took)), 'round naming the edited file', timeoutMs);
      return { toDistMs, toRoundMs: round.at - t0, round: { packages: round.doc.packages.length, rebuilt: round.doc.rebuilt.length, hits: round.doc.hits } };
    },
    /** Ctrl-C, as a user would stop it; resolves with its exit once it has exited. */
    async close() {
      if (!exited) child.kill('SIGINT');
      return closed;
    },
  };
}
