#!/usr/bin/env node
/**
 * The benchmark harness: generates the monorepos, builds them with every
 * contender in every scenario, interleaving contenders within each run, and
 * writes bench/RESULTS.md (plus the raw samples as JSON).
 *
 *   node bench/run.mjs                      # the full run (sizes 10x20, 50x20, 200x10; 5 runs)
 *   node bench/run.mjs --quick              # sizes 10x20, 3 runs, start-up 10 runs: a few minutes
 *   node bench/run.mjs --sizes 10x20 --runs 5 --contenders 'bs-esbuild*,turbo-*' --scenarios cold,noop
 *
 * Every option also reads an env var (flag wins): BENCH_SIZES, BENCH_RUNS, BENCH_STARTUP_RUNS,
 * BENCH_CONTENDERS, BENCH_SCENARIOS, BENCH_OUT, BENCH_JSON, BENCH_WORK, BENCH_SEED,
 * BENCH_WARMUP, BENCH_PROFILE, BENCH_TIMEOUT_MIN, BENCH_MAX_LOAD, BENCH_SETTLE_MAX_WAIT. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchEnv, CONTENDERS, freshCheckout, removeOutputs, selectContenders, shapesOf, toolBin, unavailableReason } from './lib/contenders.mjs';
import { hasGnuTime, measure } from './lib/measure.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { renderReport } from './lib/report.mjs';
import { settle, SETTLE_MAX_WAIT_S } from './lib/settle.mjs';
import { evaluateTargets, pairReferences, REAL_SCENARIOS } from './lib/targets.mjs';
import { benchDir, buildSystemBin, buildSystemDir, copyTemplate, editSource, findTool, initGitRepo, linkWorkspace, readMeta, repoRoot, setBuildSystemBin, snapshotBuildSystem } from './lib/workspace.mjs';
import { startWatchSession } from './lib/watch-session.mjs';
import { generate } from './generate.mjs';
import { generateReal, REAL_DEFAULT_FILES } from './generate-real.mjs';

export const SCENARIOS = ['cold', 'noop', 'restore', 'ci', 'edit-leaf', 'edit-core', 'watch-leaf', 'watch-core', 'startup'];
/** Scenarios timed under one `build-system watch` per contender and size (lib/watch-session.mjs), after the others. */
export const WATCH_SCENARIOS = ['watch-leaf', 'watch-core'];
export const SCENARIO_LABELS = {
  cold: 'cold full build (no outputs, no cache)',
  noop: 'fully cached no-op (nothing changed)',
  restore: 'cached, outDirs deleted (restore)',
  ci: 'a fresh checkout with the cache restored (every file new, outDirs absent)',
  'edit-leaf': 'one file edited in a leaf package',
  'edit-core': 'one file edited in the most depended-on package',
  'watch-leaf': 'under build-system watch: a leaf edit until its dist holds it (build-system only)',
  'watch-core': 'under build-system watch: a hub edit until its dist holds it (build-system only)',
  startup: 'CLI start-up',
};

const DEFAULTS = { sizes: '10x20,50x20,200x10', runs: 5, startupRuns: 20, contenders: 'default', scenarios: SCENARIOS.join(','), seed: 1, warmup: 1, profile: true, snapshot: true, timeoutMin: 30, maxLoad: os.cpus().length, settleMaxWait: SETTLE_MAX_WAIT_S };
const QUICK = { sizes: '10x20', runs: 3, startupRuns: 10 };

export function parseOptions(argv, env = process.env) {
  const o = {
    sizes: env.BENCH_SIZES,
    runs: env.BENCH_RUNS,
    startupRuns: env.BENCH_STARTUP_RUNS,
    contenders: env.BENCH_CONTENDERS,
    scenarios: env.BENCH_SCENARIOS,
    out: env.BENCH_OUT,
    json: env.BENCH_JSON,
    work: env.BENCH_WORK,
    seed: env.BENCH_SEED,
    warmup: env.BENCH_WARMUP,
    profile: env.BENCH_PROFILE === undefined ? undefined : env.BENCH_PROFILE !== '0',
    snapshot: env.BENCH_SNAPSHOT === undefined ? undefined : env.BENCH_SNAPSHOT !== '0',
    timeoutMin: env.BENCH_TIMEOUT_MIN,
    sizeContendersSpec: env.BENCH_SIZE_CONTENDERS,
    maxLoad: env.BENCH_MAX_LOAD,
    sizeScenariosSpec: env.BENCH_SIZE_SCENARIOS,
    settleMaxWait: env.BENCH_SETTLE_MAX_WAIT,
    quick: false,
  };
  const names = { '--sizes': 'sizes', '--runs': 'runs', '--startup-runs': 'startupRuns', '--contenders': 'contenders', '--scenarios': 'scenarios', '--out': 'out', '--json': 'json', '--work': 'work', '--seed': 'seed', '--warmup': 'warmup', '--timeout-min': 'timeoutMin', '--size-contenders': 'sizeContendersSpec', '--max-load': 'maxLoad', '--size-scenarios': 'sizeScenariosSpec', '--settle-max-wait': 'settleMaxWait' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (flag === '--quick') o.quick = true;
    else if (flag === '--no-profile') o.profile = false;
    else if (flag === '--profile') o.profile = true;
    else if (flag === '--no-snapshot') o.snapshot = false;
    else if (flag === '--help' || flag === '-h') o.help = true;
    else if (names[flag]) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      o[names[flag]] = v;
    } else throw new Error(`unknown option ${argv[i]} (see --help)`);
  }
  const base = { ...DEFAULTS, ...(o.quick ? QUICK : {}) };
  for (const k of Object.keys(base)) if (o[k] === undefined) o[k] = base[k];
  o.runs = Number(o.runs);
  o.startupRuns = Number(o.startupRuns);
  o.seed = Number(o.seed);
  o.warmup = Number(o.warmup);
  o.timeoutMin = Number(o.timeoutMin);
  o.maxLoad = Number(o.maxLoad);
  if (!(o.maxLoad > 0)) throw new Error('--max-load must be a number > 0');
  o.settleMaxWait = Number(o.settleMaxWait);
  if (!(o.settleMaxWait >= 0)) throw new Error('--settle-max-wait must be a number of seconds >= 0');
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a whole number >= 1');
  if (!Number.isInteger(o.startupRuns) || o.startupRuns < 1) throw new Error('--startup-runs must be a whole number >= 1');
  o.sizes = String(o.sizes)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const size = parseSize(s);
      if (!size) throw new Error(`bad size "${s}": use <packages>x<files> (e.g. 10x20) or real<packages>[x<files>] (e.g. real60)`);
      return size;
    });
  o.scenarios = String(o.scenarios).split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of o.scenarios) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario "${s}" (known: ${SCENARIOS.join(', ')})`);
  o.contenderList = selectContenders(o.contenders);
  // `200x10=turbo-*,bs-esbuild*;50x20=…`: fewer contenders at a size (the slowest ones take hours at 200 packages).
  o.sizeContenders = new Map();
  for (const part of String(o.sizeContendersSpec ?? '').split(';').map((x) => x.trim()).filter(Boolean)) {
    const [size, list] = part.split('=', 2);
    const parsed = parseSize(size?.trim() ?? '');
    if (!parsed || !list) throw new Error(`bad --size-contenders part "${part}": use <size>=<ids or globs>`);
    o.sizeContenders.set(parsed.key, new Set(selectContenders(list).map((c) => c.id)));
  }
  // `200x10=noop`: fewer scenarios at a size (a cold turbo build of 200 packages takes minutes).
  o.sizeScenarios = new Map();
  for (const part of String(o.sizeScenariosSpec ?? '').split(';').map((x) => x.trim()).filter(Boolean)) {
    const [size, list] = part.split('=', 2);
    const parsed = parseSize(size?.trim() ?? '');
    if (!parsed || !list) throw new Error(`bad --size-scenarios part "${part}": use <size>=<scenarios>`);
    const wanted = list.split(',').map((x) => x.trim()).filter(Boolean);
    for (const x of wanted) if (!o.scenarios.includes(x)) throw new Error(`--size-scenarios: "${x}" is not among --scenarios`);
    o.sizeScenarios.set(parsed.key, wanted);
  }
  o.work = path.resolve(o.work ?? path.join(benchDir, '.work'));
  o.out = path.resolve(o.out ?? path.join(benchDir, 'RESULTS.md'));
  o.json = path.resolve(o.json ?? path.join(o.work, 'results.json'));
  return o;
}

/**
 * A size: `<packages>x<files>` (the synthetic shape, generate.mjs) or `real<packages>[x<files>]`
 * (the real-repo shape, generate-real.mjs; files per library default REAL_DEFAULT_FILES, 8). null if neither.
 */
export function parseSize(text) {
  const m = /^(\d+)x(\d+)$/.exec(text);
  if (m) return { shape: 'synthetic', packages: Number(m[1]), files: Number(m[2]), key: `n${m[1]}-f${m[2]}` };
  const r = /^real(\d+)(?:x(\d+))?$/.exec(text);
  if (!r) return null;
  const files = r[2] === undefined ? REAL_DEFAULT_FILES : Number(r[2]);
  return { shape: 'real', packages: Number(r[1]), files, key: r[2] === undefined ? `real${r[1]}` : `real${r[1]}x${r[2]}` };
}

const HELP = `usage: node bench/run.mjs [options]   (npm run bench at the repo root)
  --quick                 sizes 10x20, 3 runs, 10 start-up runs
  --sizes 10x20,50x20     monorepo sizes as <packages>x<files>, or real<packages>[x<files>] for the real-repo shape (BENCH_SIZES, default ${DEFAULTS.sizes})
  --runs 5                timed runs per scenario and contender       (BENCH_RUNS)
  --startup-runs 20       runs of each start-up command               (BENCH_STARTUP_RUNS)
  --contenders ids|globs  e.g. 'bs-esbuild*,turbo-tsup,esbuild-raw'   (BENCH_CONTENDERS; default: all but nx-tsup-dts and bs-esbuild-dts-iso; 'all'; ids: ${CONTENDERS.map((c) => c.id).join(', ')})
  --scenarios list        ${SCENARIOS.join(',')}  (BENCH_SCENARIOS)
  --warmup 1              untimed builds per contender before the first size (BENCH_WARMUP)
  --no-profile            skip the CPU profiles of build-system for targets not met (BENCH_PROFILE=0)
  --no-snapshot           run packages/build-system in place instead of a copy of it made at the start (BENCH_SNAPSHOT=0)
  --size-contenders spec  fewer contenders at one size: '200x10=turbo-tsup*,esbuild-raw,bs-esbuild*' (BENCH_SIZE_CONTENDERS; ';' between sizes)
  --size-scenarios spec   fewer scenarios at one size: '200x10=noop' (BENCH_SIZE_SCENARIOS; ';' between sizes)
  --max-load 2            before each pair, wait until the 1-minute load average is at most this; pairs that start above it are left out of verdicts (BENCH_MAX_LOAD; default: the number of cores, ${DEFAULTS.maxLoad} here)
  --settle-max-wait 300   longest wait (seconds) for the load before a pair; then the pair runs, marked loaded (BENCH_SETTLE_MAX_WAIT; 0: never wait)
  --out bench/RESULTS.md  --json <work>/results.json  --work bench/.work  --seed 1  --timeout-min 30
  --render <results.json> write the report again from saved samples (measures nothing)`;

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export { editSource };

const rotate = (list, k) => list.map((_, i) => list[(i + k) % list.length]);

/**
 * The units of one scenario at one size, in schedule order before rotation. A
 * build-system contender paired with references (targets.mjs, pairReferences)
 * is measured back to back with them. Synthetic shape, one reference: a unit
 * holds the reference and up to two build-system contenders, so each of them is
 * adjacent to one reference sample (b1 ref b2); a third gets a unit, and a
 * reference sample, of its own. Real shape, two references: a unit holds both
 * and one build-system contender between them (r1 b r2). Everything else is a
 * unit of one. A unit is { refs: [...], members: [...] }.
 */
export function scheduleUnits(contenders, scenario, shape = 'synthetic') {
  const inScenario = contenders.filter((c) => scenario === 'cold' || c.cached);
  const ids = new Set(inScenario.map((c) => c.id));
  const refsOf = (c) => pairReferences(c, scenario, shape, ids).filter((r) => ids.has(r));
  // Paired members grouped by their reference list, emitted where the first reference stands.
  const groups = new Map();
  for (const c of inScenario) {
    const refs = refsOf(c);
    if (refs.length === 0) continue;
    const key = refs.join('+');
    if (!groups.has(key)) groups.set(key, { refs: refs.map((r) => inScenario.find((x) => x.id === r)), members: [] });
    groups.get(key).members.push(c);
  }
  const asRef = new Set([...groups.values()].flatMap((g) => g.refs.map((r) => r.id)));
  const units = [];
  for (const c of inScenario) {
    for (const [key, g] of groups) {
      if (g.refs[0] !== c) continue;
      const per = g.refs.length === 1 ? 2 : 1;
      for (let i = 0; i < g.members.length; i += per) units.push({ refs: g.refs, members: g.members.slice(i, i + per) });
      groups.delete(key);
    }
    if (!asRef.has(c.id) && refsOf(c).length === 0) units.push({ refs: [], members: [c] });
  }
  return units;
}

/**
 * A unit's contenders in measuring order for one run: within a pair the order
 * alternates by run (b1 ref b2 / b2 ref b1, b ref / ref b, r1 b r2 / r2 b r1).
 */
export function unitOrder(unit, run) {
  const odd = run % 2 === 1;
  if (unit.refs.length === 0) return unit.members;
  if (unit.refs.length === 1) {
    const [ref] = unit.refs;
    const [a, b] = odd ? unit.members : [...unit.members].reverse();
    return b ? [a, ref, b] : odd ? [a, ref] : [ref, a];
  }
  const [r1, r2] = odd ? unit.refs : [...unit.refs].reverse();
  return [r1, unit.members[0], r2];
}

/**
 * Every package's dist/index.js (and index.d.ts when the contender emits declarations) exists. Real
 * shape: every file its package.json names (`expect.package`), or for tsc -b what tsc emits (`expect.tsc`).
 */
function outputsPresent(root, meta, contender) {
  if (meta.shape === 'real') {
    for (const p of meta.packages) {
      for (const f of p.expect[contender.family === 'tsc' ? 'tsc' : 'package']) if (!existsSync(path.join(root, p.dir, f))) return `${p.name}: ${f} missing`;
    }
    return null;
  }
  for (const p of meta.packages) {
    if (!existsSync(path.join(root, p.dir, 'dist', 'index.js'))) return `${p.name}: dist/index.js missing`;
    if (contender.dts && !existsSync(path.join(root, p.dir, 'dist', 'index.d.ts'))) return `${p.name}: dist/index.d.ts missing`;
  }
  return null;
}

/**
 * Imports every package's built output under Node (through node_modules, as a consumer would) and
 * calls it. Real shape (`contender` given): the libraries; for the tools that follow package.json
 * (not tsc -b, which emits .js/.d.ts whatever the package names) also each dual package through
 * `require` and `import`, and the CLI's bin, which must print what it bundled.
 */
export function runOutputs(root, meta, contender) {
  if (meta.shape === 'real') return runRealOutputs(root, meta, contender);
  const script = `
    const names = ${JSON.stringify(meta.packages.map((p) => p.name))};
    let ok = 0;
    for (const name of names) {
      const mod = await import(name);
      const fn = Object.entries(mod).find(([k, v]) => k.endsWith('Summary') && typeof v === 'function');
      if (!fn) throw new Error(name + ': no Summary export');
      const s = fn[1]();
      if (s.name !== name || typeof s.score !== 'number') throw new Error(name + ': unexpected summary ' + JSON.stringify(s));
      ok++;
    }
    console.log(JSON.stringify({ ok }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return `node could not run the outputs: ${r.stderr.trim().split('\n').slice(0, 3).join(' ')}`;
  return JSON.parse(r.stdout).ok === meta.packages.length ? null : 'not every package ran';
}

function runRealOutputs(root, meta, contender) {
  const packaged = contender.family !== 'tsc';
  const libs = meta.packages.filter((p) => p.kind === 'lib' || (packaged && p.kind === 'dual')).map((p) => p.name);
  const duals = packaged ? meta.packages.filter((p) => p.kind === 'dual').map((p) => p.name) : [];
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/package.json');
    const summary = (mod, name) => {
      const fn = Object.entries(mod).find(([k, v]) => k.endsWith('Summary') && typeof v === 'function');
      if (!fn) throw new Error(name + ': no Summary export');
      const s = fn[1]();
      if (s.name !== name || typeof s.score !== 'number') throw new Error(name + ': unexpected summary ' + JSON.stringify(s));
    };
    let ok = 0;
    for (const name of ${JSON.stringify(libs)}) { summary(await import(name), name); ok++; }
    for (const name of ${JSON.stringify(duals)}) { summary(require(name), name); ok++; }
    console.log(JSON.stringify({ ok }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return `node could not run the outputs: ${r.stderr.trim().split('\n').slice(0, 3).join(' ')}`;
  if (JSON.parse(r.stdout).ok !== libs.length + duals.length) return 'not every package ran';
  if (!packaged) return null;
  const cli = meta.packages.find((p) => p.kind === 'cli');
  const bin = path.join(root, cli.dir, 'dist', 'cli.js');
  if (!readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')) return `${cli.name}: dist/cli.js has no shebang`;
  const out = spawnSync(process.execPath, [bin, 'x'], { cwd: root, encoding: 'utf8' });
  if (out.status !== 0) return `${cli.name}: the bin failed: ${out.stderr.trim().split('\n')[0]}`;
  const printed = JSON.parse(out.stdout);
  const bundled = meta.packages.filter((p) => cli.devDeps.includes(p.name) && p.kind === 'lib').map((p) => p.name);
  if (printed.cli !== cli.name || JSON.stringify(printed.bundled) !== JSON.stringify(bundled)) return `${cli.name}: the bin printed ${out.stdout.trim().slice(0, 200)}`;
  return null;
}

/** build-system's package validation warnings (PKG_*) in a --json result: ["<package>: <code> <field>"]. */
function packageWarnings(r) {
  try {
    return JSON.parse(r.stdout).results.flatMap((x) => x.diagnostics.filter((d) => /^PKG_/.test(d.code)).map((d) => `${x.package.name}: ${d.code} ${d.field ?? ''}`.trim()));
  } catch {
    return ['result not readable'];
  }
}

function machineInfo() {
  const cpus = os.cpus();
  const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout?.trim();
  const git = (args) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    npm,
    gnuTime: hasGnuTime,
    loadAvgStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    commit: git(['rev-parse', '--short', 'HEAD']),
    dirty: git(['status', '--porcelain', '--', 'packages/build-system']).length > 0,
  };
}

function toolVersions() {
  const v = {};
  for (const name of ['turbo', 'tsup', 'nx', 'esbuild', 'typescript', 'typescript7']) v[name] = findTool(name)?.version ?? null;
  for (const name of ['rollup', 'bun']) v[name] = findTool(name, { preferRepo: true })?.version ?? null;
  v['build-system'] = JSON.parse(readFileSync(path.join(buildSystemDir, 'package.json'), 'utf8')).version;
  return v;
}

/** Sets up one contender's copy of a size's template. */
function prepareCopy(template, root, contender) {
  copyTemplate(template, root);
  linkWorkspace(root, { typescript: contender.typescript ?? 'typescript' });
  contender.prepare?.(root);
}

async function runBuild(contender, root, opts) {
  const { cmd, args } = contender.command(root);
  const env = { ...process.env, ...benchEnv };
  return measure({ cmd, args, cwd: root, env }, { timeoutMs: opts.timeoutMin * 60_000 });
}

function failureText(r) {
  if (r.timedOut) return 'timed out';
  const tail = `${r.stderr}\n${r.stdout}`.trim().split('\n').filter(Boolean).slice(-4).join(' | ');
  return `exit ${r.code ?? r.signal}: ${tail.slice(0, 400)}`;
}

async function benchSize(size, contenders, opts, state) {
  const dir = path.join(opts.work, size.key);
  const template = path.join(dir, 'template');
  const make = size.shape === 'real' ? generateReal : generate;
  make({ packages: size.packages, files: size.files, seed: opts.seed, out: template, npmVersion: state.machine.npm || '10.0.0' });
  initGitRepo(template);
  linkWorkspace(template);
  const meta = readMeta(template);
  const shapeMeta = size.shape === 'real' ? { depth: meta.depth, kinds: meta.kinds } : {};
  const record = { ...size, meta: { core: meta.core, leaf: meta.leaf, edges: meta.edges, coreDirectDependents: meta.packages.filter((p) => p.deps.includes(meta.core.name)).length, ...shapeMeta }, samples: [], verified: {}, validation: {} };
  const roots = new Map(contenders.map((c) => [c.id, path.join(dir, c.id)]));
  for (const c of contenders) prepareCopy(template, roots.get(c.id), c);
  const warm = new Map();

  // Untimed warm-up (first size only): tools' files into the page cache, JITs and lazy installs settled.
  if (state.warmupLeft > 0) {
    for (let w = 0; w < state.warmupLeft; w++) {
      for (const c of contenders) {
        const root = roots.get(c.id);
        c.clean(root);
        log(`${size.key}: warm-up ${c.id}`);
        const r = await runBuild(c, root, opts);
        if (r.code !== 0) log(`${size.key}: warm-up of ${c.id} failed: ${failureText(r)}`);
        warm.set(c.id, r.code === 0);
      }
    }
    state.warmupLeft = 0;
  }

  const defaultScenarios = size.shape === 'real' ? opts.scenarios.filter((s) => REAL_SCENARIOS.includes(s)) : opts.scenarios;
  const wanted = opts.sizeScenarios.get(size.key) ?? defaultScenarios;
  const buildScenarios = wanted.filter((s) => s !== 'startup' && !WATCH_SCENARIOS.includes(s));
  const unitsOf = new Map(buildScenarios.map((s) => [s, scheduleUnits(contenders, s, size.shape)]));
  for (let run = 1; run <= opts.runs; run++) {
    for (const scenario of buildScenarios) {
      for (const unit of rotate(unitsOf.get(scenario), run - 1)) {
        const pair = unit.refs.length ? `${scenario}/${run}/${unit.refs.map((r) => r.id).join('+')}/${unit.members.map((m) => m.id).join('+')}` : undefined;
        let tag = pair ? { pair } : {};
        // Preconditions of every contender of the unit first (untimed; each works in its own copy), so
        // that nothing but the timed builds runs between the samples of a pair.
        const ready = [];
        for (const c of unitOrder(unit, run)) {
          const root = roots.get(c.id);
          if (scenario !== 'cold' && !warm.get(c.id)) {
            const r = await runBuild(c, root, opts);
            warm.set(c.id, r.code === 0);
            if (r.code !== 0) {
              record.samples.push({ run, scenario, contender: c.id, ...tag, ok: false, error: `could not reach a warm state: ${failureText(r)}` });
              continue;
            }
          }
          if (scenario === 'cold') c.clean(root);
          if (scenario === 'restore') removeOutputs(root);
          if (scenario === 'ci') freshCheckout(root);
          if (scenario === 'edit-leaf') editSource(root, meta.leaf.file);
          if (scenario === 'edit-core') editSource(root, meta.core.file);
          ready.push(c);
        }
        // Settle (README, "Load"): wait for the load left by earlier builds to decay before the pair.
        if (pair && ready.length > 1) {
          const s = await settle({ maxLoad: opts.maxLoad, maxWaitMs: opts.settleMaxWait * 1000 });
          tag = { ...tag, pairLoad: s.load1, settleMs: s.waitedMs, ...(s.loaded ? { loaded: true } : {}) };
          const waited = `${(s.waitedMs / 1000).toFixed(0)} s`;
          if (s.loaded) log(`${size.key} run ${run} ${scenario}: load ${s.load1.toFixed(2)} still above ${opts.maxLoad} after ${waited}: pair marked loaded`);
          else if (s.waitedMs > 0) log(`${size.key} run ${run} ${scenario}: settled after ${waited} at load ${s.load1.toFixed(2)}`);
        }
        // The timed builds, back to back.
        const timed = [];
        for (const c of ready) {
          // The 1-minute load average just before the timed build (README, "Load").
          const load1 = Math.round(os.loadavg()[0] * 100) / 100;
          timed.push({ c, load1, r: await runBuild(c, roots.get(c.id), opts) });
        }
        // Checks after the unit: they take time, and must not sit between the samples of a pair.
        for (const { c, load1, r } of timed) {
          const root = roots.get(c.id);
          let error = r.code === 0 ? outputsPresent(root, meta, c) : failureText(r);
          if (!error && scenario === 'cold' && record.verified[c.id] === undefined) {
            error = runOutputs(root, meta, c);
            record.verified[c.id] = error ?? true;
          }
          // build-system checks its outputs against package.json: keep what it warned on the first cold build.
          if (!error && scenario === 'cold' && c.family === 'bs' && record.validation[c.id] === undefined) record.validation[c.id] = packageWarnings(r);
          // A tool that rebuilds nothing after an edit did not see the edit: that is no measurement.
          const rebuilt = error ? null : c.rebuilt(r);
          if (!error && scenario.startsWith('edit-') && rebuilt === 0) error = 'rebuilt no package after an edit: the tool did not see the change';
          warm.set(c.id, !error);
          const others = r.othersCores === null ? null : Math.round(r.othersCores * 100) / 100;
          const sample = { run, scenario, contender: c.id, ...tag, load1, othersCores: others, ok: !error, ms: Math.round(r.ms * 10) / 10, cpuMs: r.cpuMs, rssKb: r.rssKb, rebuilt: error ? null : rebuilt, ...(error ? { error } : {}) };
          record.samples.push(sample);
          log(`${size.key} run ${run}/${opts.runs} ${scenario.padEnd(9)} ${c.id.padEnd(19)} ${error ? `FAILED ${error.slice(0, 160)}` : `${sample.ms.toFixed(0).padStart(7)} ms  rebuilt ${sample.rebuilt ?? '-'}  rss ${r.rssKb ?? '-'} kB`}  load ${load1.toFixed(2)} others ${others ?? '-'}${pair ? '  (pair)' : ''}`);
        }
      }
    }
  }
  const watchScenarios = wanted.filter((s) => WATCH_SCENARIOS.includes(s));
  if (watchScenarios.length) await benchWatch(size, meta, contenders, roots, warm, watchScenarios, record, opts);
  record.roots = Object.fromEntries(roots);
  return record;
}

/**
 * The watch scenarios of one size: per build-system contender one `build-system watch --json`
 * (started after the other scenarios, on a warm workspace, so its initial round is all hits),
 * then per run and scenario one edit, timed edit → the edited package's dist holds it (`ms`)
 * and edit → the round's JSON line (`roundMs`). Each sample waits for the load first (the
 * settle rule, lib/settle.mjs) and records it like a pair does (`pairLoad`, `settleMs`,
 * `loaded`); targets.mjs compares watch-leaf with the same run's edit-leaf sample of the
 * contender. Other contenders have no watch mode here: "n/a" (`record.watchNa`).
 */
async function benchWatch(size, meta, contenders, roots, warm, scenarios, record, opts) {
  const targetOf = { 'watch-leaf': meta.leaf, 'watch-core': meta.core };
  record.watchNa = contenders.filter((c) => c.family !== 'bs').map((c) => c.id);
  if (record.watchNa.length) log(`${size.key} ${scenarios.join(', ')}: n/a for ${record.watchNa.join(', ')} (no build-system watch)`);
  const env = { ...process.env, ...benchEnv };
  for (const c of contenders.filter((x) => x.family === 'bs')) {
    const root = roots.get(c.id);
    const fail = (error) => {
      for (let run = 1; run <= opts.runs; run++) for (const scenario of scenarios) record.samples.push({ run, scenario, contender: c.id, ok: false, error });
      log(`${size.key} ${c.id} watch: FAILED ${error.slice(0, 160)}`);
    };
    if (!warm.get(c.id)) {
      const r = await runBuild(c, root, opts);
      warm.set(c.id, r.code === 0);
      if (r.code !== 0) {
        fail(`could not reach a warm state: ${failureText(r)}`);
        continue;
      }
    }
    let session;
    try {
      session = await startWatchSession(root, { env });
    } catch (e) {
      fail(e.message);
      continue;
    }
    log(`${size.key} ${c.id}: watch started in ${session.startupMs.toFixed(0)} ms, ${session.watching} directories`);
    record.watchStartup = { ...record.watchStartup, [c.id]: { ms: Math.round(session.startupMs), watching: session.watching } };
    try {
      for (let run = 1; run <= opts.runs; run++) {
        for (const scenario of scenarios) {
          const s = await settle({ maxLoad: opts.maxLoad, maxWaitMs: opts.settleMaxWait * 1000 });
          // The watcher coalesces what arrives during a round: let the previous round's last writes pass.
          await new Promise((resolve) => setTimeout(resolve, 300));
          const load1 = Math.round(os.loadavg()[0] * 100) / 100;
          const tag = { pairLoad: s.load1, settleMs: s.waitedMs, ...(s.loaded ? { loaded: true } : {}) };
          let sample;
          try {
            const e = await session.edit(targetOf[scenario]);
            sample = { run, scenario, contender: c.id, ...tag, load1, ok: true, ms: Math.round(e.toDistMs * 10) / 10, roundMs: Math.round(e.toRoundMs * 10) / 10, rebuilt: e.round.rebuilt, roundPackages: e.round.packages, hits: e.round.hits };
          } catch (e) {
            sample = { run, scenario, contender: c.id, ...tag, load1, ok: false, error: e.message };
          }
          record.samples.push(sample);
          log(`${size.key} run ${run}/${opts.runs} ${scenario.padEnd(10)} ${c.id.padEnd(19)} ${sample.ok ? `${sample.ms.toFixed(0).padStart(7)} ms to dist, ${sample.roundMs.toFixed(0)} ms to round  rebuilt ${sample.rebuilt}/${sample.roundPackages}` : `FAILED ${sample.error.slice(0, 160)}`}  load ${load1.toFixed(2)}`);
        }
      }
    } finally {
      await session.close();
    }
  }
}

/** CLI start-up: build-system's --version/--help against `node -e 0` and the other tools' bins. */
async function benchStartup(opts, cwd, contenders) {
  const node = process.execPath;
  const commands = [
    { id: 'node-e0', label: '`node -e 0`', cmd: node, args: ['-e', '0'] },
    { id: 'bs-version', label: '`build-system --version`', cmd: node, args: [buildSystemBin, '--version'] },
    { id: 'bs-help', label: '`build-system --help`', cmd: node, args: [buildSystemBin, '--help'] },
  ];
  const families = new Set(contenders.map((c) => c.family));
  const turbo = toolBin('turbo');
  const nx = toolBin('nx');
  const tsup = toolBin('tsup');
  if (turbo && families.has('turbo')) commands.push({ id: 'turbo-version', label: '`turbo --version` (npm bin)', cmd: turbo, args: ['--version'] });
  if (nx && families.has('nx')) commands.push({ id: 'nx-version', label: '`nx --version`', cmd: nx, args: ['--version'] });
  if (tsup && (families.has('turbo') || families.has('nx'))) commands.push({ id: 'tsup-version', label: '`tsup --version`', cmd: tsup, args: ['--version'] });
  const env = { ...process.env, ...benchEnv };
  // Two untimed runs each, then interleaved timed runs.
  for (const c of commands) for (let i = 0; i < 2; i++) await measure({ ...c, cwd, env }, { rss: false });
  const samples = [];
  for (let run = 1; run <= opts.startupRuns; run++) {
    for (const c of rotate(commands, run - 1)) {
      const r = await measure({ ...c, cwd, env }, { rss: false });
      samples.push({ run, command: c.id, ok: r.code === 0, ms: Math.round(r.ms * 10) / 10, ...(r.code === 0 ? {} : { error: failureText(r) }) });
    }
  }
  log(`startup: ${commands.map((c) => c.id).join(', ')} × ${opts.startupRuns}`);
  return { commands: commands.map(({ id, label }) => ({ id, label })), samples };
}

/** A CPU profile of one build-system run of a scenario (setup as in the timed runs). */
async function profileBuild(size, contenderId, scenario, opts) {
  const c = CONTENDERS.find((x) => x.id === contenderId);
  const root = size.roots?.[contenderId];
  if (!c || !root || !existsSync(root)) return null;
  const meta = readMeta(root);
  const profDir = path.join(opts.work, 'profiles', `${size.key}-${contenderId}-${scenario}`);
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const env = { ...process.env, ...benchEnv };
  const { cmd, args } = c.command(root);
  const plain = () => measure({ cmd, args, cwd: root, env }, { rss: false });
  if (scenario === 'cold') c.clean(root);
  else {
    await plain();
    if (scenario === 'restore') removeOutputs(root);
    if (scenario === 'ci') freshCheckout(root);
    if (scenario === 'edit-leaf') editSource(root, meta.leaf.file);
    if (scenario === 'edit-core') editSource(root, meta.core.file);
  }
  const r = await measure({ cmd, args: [`--cpu-prof`, `--cpu-prof-dir=${profDir}`, ...args], cwd: root, env });
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return null;
  const summary = summarizeProfile(path.join(profDir, file));
  // The run as build-system reports it: how much of the wall time is the run itself (the rest is
  // start-up: imports, Nest) and which chain of packages bounds it.
  let run = null;
  try {
    const doc = JSON.parse(r.stdout);
    run = {
      durationMs: doc.durationMs,
      concurrency: doc.concurrency,
      packageMs: Math.round(doc.results.reduce((n, x) => n + (x.durationMs ?? 0), 0)),
      criticalPath: doc.criticalPath ? { packages: doc.criticalPath.packages.length, durationMs: doc.criticalPath.durationMs } : null,
      cache: doc.results.reduce((m, x) => ({ ...m, [x.cache?.status ?? 'none']: (m[x.cache?.status ?? 'none'] ?? 0) + 1 }), {}),
    };
  } catch {
    run = null;
  }
  const idle = summary.buckets.find((b) => b.name.startsWith('idle'))?.ms ?? 0;
  const mainCpuMs = summary.totalMs - idle;
  return { size: size.key, contender: contenderId, scenario, wallMs: r.ms, treeCpuMs: r.cpuMs, mainCpuMs, childCpuMs: r.cpuMs === null ? null : Math.max(0, r.cpuMs - mainCpuMs), run, file: path.relative(benchDir, path.join(profDir, file)), ...summary };
}

async function profileStartup(which, opts, cwd) {
  const profDir = path.join(opts.work, 'profiles', `startup-${which}`);
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const r = await measure({ cmd: process.execPath, args: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, buildSystemBin, `--${which}`], cwd, env: process.env }, { rss: false });
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return null;
  return { size: null, contender: `build-system --${which}`, scenario: 'startup', wallMs: r.ms, file: path.relative(benchDir, path.join(profDir, file)), ...summarizeProfile(path.join(profDir, file)) };
}

/**
 * `--render <results.json>`: writes the report again from saved samples (targets
 * re-evaluated, profiles re-summarised from their .cpuprofile files when they are
 * still there), e.g. after a change to the report itself. Measures nothing.
 */
function rerender(jsonFile, opts) {
  const results = JSON.parse(readFileSync(jsonFile, 'utf8'));
  if (process.env.BENCH_NOTE) results.meta.note = process.env.BENCH_NOTE;
  results.targets = evaluateTargets(results);
  for (const p of results.profiles ?? []) {
    const file = path.join(benchDir, p.file);
    if (existsSync(file)) Object.assign(p, summarizeProfile(file));
  }
  writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(opts.out, renderReport(results, { jsonPath: path.relative(path.dirname(opts.out), jsonFile) }));
  log(`re-rendered ${path.relative(process.cwd(), opts.out)} from ${path.relative(process.cwd(), jsonFile)}`);
  return 0;
}

export async function main(argv = process.argv.slice(2)) {
  const renderAt = argv.indexOf('--render');
  const renderFrom = renderAt >= 0 ? argv[renderAt + 1] : undefined;
  const opts = parseOptions(renderAt >= 0 ? argv.filter((_, i) => i !== renderAt && i !== renderAt + 1) : argv);
  if (opts.help) {
    console.log(HELP);
    return 0;
  }
  if (renderAt >= 0) {
    if (!renderFrom) throw new Error('--render needs the results.json to render');
    return rerender(path.resolve(renderFrom), opts);
  }
  if (!existsSync(path.join(buildSystemDir, 'dist', 'main.js'))) throw new Error('packages/build-system is not built: run `npm run build --workspace packages/build-system` first');
  mkdirSync(opts.work, { recursive: true });
  if (opts.snapshot) setBuildSystemBin(snapshotBuildSystem(path.join(opts.work, 'build-system')));
  const started = new Date();
  const state = { machine: machineInfo(), warmupLeft: opts.warmup };
  log(`machine: ${state.machine.cpu}, ${state.machine.cores} cores, load ${state.machine.loadAvgStart}`);

  // Availability is probed inside a generated workspace (nx looks for one).
  const probeRoot = path.join(opts.work, 'probe');
  generate({ packages: 1, files: 1, seed: opts.seed, out: probeRoot, npmVersion: state.machine.npm || '10.0.0' });
  linkWorkspace(probeRoot);
  const unavailable = {};
  const contenders = [];
  for (const c of opts.contenderList) {
    const why = unavailableReason(c, probeRoot);
    if (why) {
      unavailable[c.id] = why;
      log(`${c.id}: not run: ${why}`);
    } else contenders.push(c);
  }

  const sizes = [];
  const results = {
    meta: { startedAt: started.toISOString(), endedAt: null, machine: state.machine, tools: toolVersions(), options: { sizeContenders: Object.fromEntries([...opts.sizeContenders].map(([k, v]) => [k, [...v]])), sizeScenarios: Object.fromEntries(opts.sizeScenarios), sizes: opts.sizes.map((s) => s.key), settleMaxWait: opts.settleMaxWait, runs: opts.runs, startupRuns: opts.startupRuns, scenarios: opts.scenarios, contenders: contenders.map((c) => c.id), seed: opts.seed, warmup: opts.warmup, maxLoad: opts.maxLoad, buildSystem: opts.snapshot ? `snapshot of packages/build-system copied at the start to ${path.relative(repoRoot, path.join(opts.work, 'build-system'))}` : 'packages/build-system in place' }, argv },
    contenders: opts.contenderList.map((c) => ({ id: c.id, label: c.label, family: c.family, dts: c.dts, cached: c.cached })),
    unavailable,
    sizes,
    startup: null,
    profiles: [],
  };
  const save = (final) => {
    results.targets = evaluateTargets(results);
    if (!final) results.meta.partial = `in progress: ${sizes.length}/${opts.sizes.length} sizes done`;
    else delete results.meta.partial;
    results.meta.machine.loadAvgEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
    mkdirSync(path.dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(opts.out, renderReport(results, { jsonPath: path.relative(path.dirname(opts.out), opts.json) }));
  };
  // Start-up first: it is short, and its numbers then exist even if a long size is interrupted.
  if (opts.scenarios.includes('startup')) {
    results.startup = await benchStartup(opts, probeRoot, contenders);
    save(false);
  }
  if (opts.scenarios.some((s) => s !== 'startup')) {
    for (const size of opts.sizes) {
      log(`size ${size.key}: ${contenders.length} contenders × ${opts.runs} runs`);
      const only = opts.sizeContenders.get(size.key);
      const atSize = (only ? contenders.filter((c) => only.has(c.id)) : contenders).filter((c) => shapesOf(c).includes(size.shape));
      if (only) log(`size ${size.key}: only ${atSize.map((c) => c.id).join(', ')} (--size-contenders)`);
      sizes.push(await benchSize(size, atSize, opts, state));
      // Written after every size: a multi-hour run keeps what it has measured.
      save(false);
    }
  }
  results.targets = evaluateTargets(results);

  if (opts.profile) {
    const wanted = new Map();
    for (const t of results.targets) for (const p of t.profile ?? []) wanted.set(`${p.size}|${p.contender}|${p.scenario}`, p);
    for (const p of wanted.values()) {
      log(`profiling ${p.contender} ${p.scenario} ${p.size ?? ''}`);
      const prof = p.scenario === 'startup' ? await profileStartup(p.which, opts, probeRoot) : await profileBuild(sizes.find((s) => s.key === p.size), p.contender, p.scenario, opts);
      if (prof) results.profiles.push(prof);
    }
  }
  results.meta.endedAt = new Date().toISOString();
  save(true);
  log(`wrote ${path.relative(process.cwd(), opts.out)} and ${path.relative(process.cwd(), opts.json)}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`bench: ${e.message}\n`);
      process.exitCode = 2;
    },
  );
}
