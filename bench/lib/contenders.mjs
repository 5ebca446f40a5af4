/**
 * The contenders: how each one builds a generated workspace, what "clean" means
 * for it (outputs and its cache), and how many packages it rebuilt (from its own
 * output). Each contender works in its own copy of the workspace, so caches and
 * outputs never leak between them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { benchDir, buildSystemBin, configureBuildSystem, findTool } from './workspace.mjs';

/** Telemetry, update checks, cloud and daemons off: every tool runs offline and in the foreground. */
export const benchEnv = {
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
  NX_NO_CLOUD: 'true',
  NX_DAEMON: 'false',
  NX_TUI: 'false',
  NX_SKIP_NX_CACHE: 'false',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
};

const packageDirs = (root) => readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d));

/** Deletes every package's dist (for tsc -b that includes its .tsbuildinfo). */
export function removeOutputs(root) {
  for (const dir of packageDirs(root)) rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
}

/**
 * The `ci` scenario's setup: what a CI job meets after its checkout, its install and a cache restore
 * step. The workspace is copied anew to the same path (every file rewritten with the same bytes: new
 * inodes, mtimes and ctimes, as a clone gives) with what the clone and the install give and the tools'
 * caches (`node_modules/.cache`, `.turbo`, `.nx` at the root) as the restore step puts them back; left
 * out is what neither gives: the packages' `dist` (not committed) and the tools' per-package state
 * (turbo's `<pkg>/.turbo` logs, build-system's `<pkg>/node_modules/.cache` where its locks live, and a
 * `<pkg>/node_modules` holding nothing else, which an install would not create). Then git's index is
 * refreshed: a fresh clone's index matches its files, and turbo hashes through it.
 */
export function freshCheckout(root) {
  const next = `${root}.checkout`;
  const packagesDir = path.join(root, 'packages');
  const perPackageState = (src) => {
    if (path.dirname(path.dirname(src)) !== packagesDir) return false;
    const name = path.basename(src);
    if (name === 'dist' || name === '.turbo') return true;
    if (name !== 'node_modules') return false;
    const names = readdirSync(src);
    return names.length === 1 && names[0] === '.cache';
  };
  const packageCache = (src) => path.basename(src) === '.cache' && path.basename(path.dirname(src)) === 'node_modules' && path.dirname(path.dirname(path.dirname(src))) === packagesDir;
  rmSync(next, { recursive: true, force: true });
  cpSync(root, next, { recursive: true, verbatimSymlinks: true, filter: (src) => !perPackageState(src) && !packageCache(src) });
  rmSync(root, { recursive: true, force: true });
  renameSync(next, root);
  spawnSync('git', ['update-index', '-q', '--refresh'], { cwd: root, stdio: 'ignore' });
}

const node = process.execPath;

/** Absolute path of an installed tool's bin (from its package.json). */
export function toolBin(name, binName = name, preferRepo = false) {
  const tool = findTool(name, { preferRepo });
  if (!tool) return null;
  const rel = typeof tool.bin === 'string' ? tool.bin : tool.bin?.[binName];
  return rel ? path.join(tool.dir, rel) : null;
}
const bin = (root, name) => path.join(root, 'node_modules', '.bin', name);

function turbo(id, label, task, dts) {
  return {
    id,
    label,
    family: 'turbo',
    // The real shape's packages are built with declarations, so only the dts task runs there.
    shapes: dts ? ['synthetic', 'real'] : ['synthetic'],
    dts,
    cached: true,
    needs: ['turbo', 'tsup', ...(dts ? ['typescript'] : [])],
    command: (root) => ({ cmd: bin(root, 'turbo'), args: ['run', task, '--ui=stream'] }),
    clean(root) {
      removeOutputs(root);
      rmSync(path.join(root, '.turbo'), { recursive: true, force: true });
      for (const dir of packageDirs(root)) rmSync(path.join(dir, '.turbo'), { recursive: true, force: true });
    },
    // " Cached:    3 cached, 10 total"
    rebuilt(out) {
      const m = /Cached:\s+(\d+) cached, (\d+) total/.exec(out.stdout);
      return m ? Number(m[2]) - Number(m[1]) : null;
    },
  };
}

function nx(id, label, task, dts) {
  return {
    id,
    label,
    family: 'nx',
    dts,
    cached: true,
    needs: ['nx', 'tsup', ...(dts ? ['typescript'] : [])],
    command: (root) => ({ cmd: bin(root, 'nx'), args: ['run-many', '-t', task, '--outputStyle=static'] }),
    clean(root) {
      removeOutputs(root);
      rmSync(path.join(root, '.nx'), { recursive: true, force: true });
    },
    // "  Cache:             3/10 hit (30%)", or "Nx read the output from the cache instead of running the command for 3 out of 10 tasks."
    rebuilt(out) {
      const text = out.stdout + out.stderr;
      const a = /Cache:\s+(\d+)\/(\d+) hit/.exec(text);
      if (a) return Number(a[2]) - Number(a[1]);
      const b = /for (\d+) out of (\d+) tasks/.exec(text);
      if (b) return Number(b[2]) - Number(b[1]);
      const c = /Successfully ran target \S+ for (\d+) projects?/.exec(text);
      return c ? Number(c[1]) : null;
    },
  };
}

function tscBuild(id, label, tsPackage) {
  return {
    id,
    label,
    family: 'tsc',
    shapes: ['synthetic', 'real'],
    dts: true,
    cached: true, // incremental through .tsbuildinfo (kept in dist: deleting dist is a full rebuild)
    needs: [tsPackage],
    tool: tsPackage,
    command: (root) => {
      const ts = findTool(tsPackage);
      return { cmd: node, args: [path.join(ts.dir, 'bin', 'tsc'), '-b', 'tsconfig.tsb.json'] };
    },
    clean: removeOutputs,
    rebuilt: () => null,
  };
}

function buildSystem(id, label, adapter, dts, typescript = 'typescript', { isolatedDeclarations = false } = {}) {
  return {
    id,
    label,
    family: 'bs',
    adapter,
    dts,
    cached: true,
    typescript,
    needs: [adapter === 'rollup' ? 'rollup' : adapter === 'bun' ? 'bun' : 'esbuild', ...(dts ? [typescript] : []), ...(isolatedDeclarations ? ['oxc-transform'] : [])],
    prepare: (root) => configureBuildSystem(root, { adapter, dts, isolatedDeclarations }),
    command: () => ({ cmd: node, args: [buildSystemBin, 'build', '--json'] }),
    clean(root) {
      removeOutputs(root);
      rmSync(path.join(root, 'node_modules', '.cache', 'build-system'), { recursive: true, force: true });
    },
    /** Packages not served by the cache; every package while the cache is disabled. */
    rebuilt(out) {
      try {
        const doc = JSON.parse(out.stdout);
        return doc.results.filter((r) => r.status !== 'skipped' && r.cache?.status !== 'hit').length;
      } catch {
        return null;
      }
    },
  };
}

/**
 * build-system on the real shape (generate-real.mjs): the configs as generated (tsc adapter with
 * declarations for most packages, esbuild for the dual packages and the bundled CLI), TypeScript 5.
 */
function buildSystemAsGenerated(id, label) {
  return { ...buildSystem(id, label, 'tsc', true), shapes: ['real'], needs: ['esbuild', 'typescript'], prepare: undefined };
}

/** Every contender, in report order. Ids are what --contenders takes (globs like bs-* too). */
export const CONTENDERS = [
  turbo('turbo-tsup', 'turbo + tsup', 'build', false),
  turbo('turbo-tsup-dts', 'turbo + tsup (dts)', 'build:dts', true),
  nx('nx-tsup', 'nx + tsup', 'build', false),
  nx('nx-tsup-dts', 'nx + tsup (dts)', 'build:dts', true),
  {
    id: 'esbuild-raw',
    label: 'raw esbuild (JS API, one process)',
    family: 'esbuild',
    dts: false,
    cached: false,
    needs: ['esbuild'],
    command: (root) => ({ cmd: node, args: [path.join(benchDir, 'lib', 'raw-esbuild.mjs'), root] }),
    clean: removeOutputs,
    rebuilt: () => null,
  },
  tscBuild('tsc5-b', 'tsc -b (TypeScript 5)', 'typescript'),
  tscBuild('tsc7-b', 'tsc -b (TypeScript 7, native)', 'typescript7'),
  buildSystem('bs-esbuild', 'build-system esbuild', 'esbuild', false),
  buildSystem('bs-esbuild-dts', 'build-system esbuild + dts (TS 5)', 'esbuild', true),
  buildSystem('bs-esbuild-dts-ts7', 'build-system esbuild + dts (TS 7)', 'esbuild', true, 'typescript7'),
  // The same sources with isolatedDeclarations in every tsconfig.json: declarations per file, no TypeScript program (issue 14).
  buildSystem('bs-esbuild-dts-iso', 'build-system esbuild + dts (isolatedDeclarations)', 'esbuild', true, 'typescript', { isolatedDeclarations: true }),
  buildSystem('bs-bun', 'build-system bun', 'bun', false),
  buildSystem('bs-bun-dts', 'build-system bun + dts (TS 5)', 'bun', true),
  buildSystem('bs-rollup', 'build-system rollup', 'rollup', false),
  buildSystem('bs-rollup-dts', 'build-system rollup + dts (TS 5)', 'rollup', true),
  buildSystemAsGenerated('bs-real', 'build-system, configs as generated (tsc + dts; esbuild for dual and CLI; TS 5)'),
];

/** The shapes of workspace a contender runs on (bench/README.md, "Real-repo shape"). */
export const shapesOf = (c) => c.shapes ?? ['synthetic'];

/** Contenders that are not build-system: the baselines ratios are computed against. */
export const isBaseline = (c) => c.family !== 'bs';

/** `a,b,bs-*` → contenders (unknown ids are an error). */
export function selectContenders(spec) {
  if (!spec || spec === 'all') return [...CONTENDERS];
  // nx + tsup with declarations repeats turbo + tsup (dts)'s work at nx's pace: opt-in (all, or by id).
  // bs-esbuild-dts-iso measures one more emitter on the dts scenarios: opt-in too.
  if (spec === 'default') return CONTENDERS.filter((c) => c.id !== 'nx-tsup-dts' && c.id !== 'bs-esbuild-dts-iso');
  const picked = new Set();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const re = new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    const hits = CONTENDERS.filter((c) => re.test(c.id));
    if (hits.length === 0) throw new Error(`unknown contender "${part}" (known: ${CONTENDERS.map((c) => c.id).join(', ')})`);
    for (const h of hits) picked.add(h);
  }
  return CONTENDERS.filter((c) => picked.has(c));
}

/**
 * Can this contender run here? Every tool it needs is installed and starts.
 * Returns null when it can, else the reason (reported in RESULTS.md).
 */
export function unavailableReason(contender, cwd = benchDir) {
  for (const name of contender.needs) {
    const tool = findTool(name, { preferRepo: name === 'bun' || name === 'rollup' });
    if (!tool) return `${name} is not installed (run \`npm install --prefix bench\`)`;
  }
  const probes = {
    turbo: () => [toolBin('turbo'), ['--version']],
    nx: () => [toolBin('nx'), ['--version']],
    tsup: () => [toolBin('tsup'), ['--version']],
    bun: () => [toolBin('bun', 'bun', true), ['--version']],
  };
  for (const name of contender.needs) {
    const probe = probes[name];
    if (!probe) continue;
    const [cmd, args] = probe();
    if (!cmd || !existsSync(cmd)) return `${name}: its bin is missing`;
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...benchEnv }, cwd, timeout: 60_000 });
    if (r.status !== 0) return `${name} does not start here: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' ')}`;
  }
  return null;
}
