/**
 * The targets (issues 6, 13 and 14), evaluated from one run's samples.
 *
 * Each target is one data entry in TARGETS: its scenario, the sizes it applies
 * to (a fixed package count, or every size), the build-system contenders it
 * judges, the reference each is judged against, and ONE threshold. Which sizes
 * a run happens to include never changes a threshold: a target whose size or
 * reference is not in the run is "not measured", never "met".
 *
 * A ratio is build-system ÷ reference per back-to-back pair (run.mjs measures
 * the two samples of a pair one right after the other, order alternating by
 * run; the samples share a `pair` id), summarised as median and min–max. Pairs
 * taken while the machine's 1-minute load average was above `maxLoad` are kept
 * in results.json but left out of verdicts (see loadVerdict below and
 * bench/README.md, "Load").
 */
import { median, stats } from './measure.mjs';

export const matchedTurbo = (c) => (c.dts ? 'turbo-tsup-dts' : 'turbo-tsup');

/**
 * The ratio targets. `packages`: the one size (package count) the target is
 * about, or 'every' for each size in the run. `applies(c)`: the build-system
 * contenders it judges; `reference(c)`: the contender id each is paired with.
 */
export const TARGETS = [
  {
    id: 'noop-small',
    title: 'Fully cached no-op at 10 packages: ≤ 1.0× turbo (through its npm bin)',
    scenario: 'noop',
    packages: 10,
    threshold: 1.0,
    applies: () => true,
    reference: matchedTurbo,
  },
  {
    id: 'noop-large',
    title: 'Fully cached no-op at 200 packages: ≤ 0.5× turbo',
    scenario: 'noop',
    packages: 200,
    threshold: 0.5,
    applies: () => true,
    reference: matchedTurbo,
  },
  {
    id: 'ci-large',
    title: 'A CI job at 200 packages (fresh checkout, cache restored, no outputs): ≤ 1.0× turbo',
    scenario: 'ci',
    packages: 200,
    threshold: 1.0,
    applies: () => true,
    reference: matchedTurbo,
  },
  {
    id: 'cold-dts',
    title: 'Cold full build, JS + .d.ts: ≤ 0.5× turbo + tsup (dts), every size',
    scenario: 'cold',
    packages: 'every',
    threshold: 0.5,
    applies: (c) => c.dts,
    reference: () => 'turbo-tsup-dts',
  },
  {
    id: 'cold-js',
    title: 'Cold full build, JS only (esbuild adapter): ≤ 1.5× the raw esbuild floor, every size',
    scenario: 'cold',
    packages: 'every',
    threshold: 1.5,
    applies: (c) => c.id === 'bs-esbuild',
    reference: () => 'esbuild-raw',
  },
  {
    id: 'edit-core',
    title: 'One-file edit in the most depended-on package: only packages whose inputs changed rebuild; ≤ 0.5× turbo + tsup',
    scenario: 'edit-core',
    packages: 'every',
    threshold: 0.5,
    applies: () => true,
    reference: matchedTurbo,
    rebuiltLimit: true,
  },
  {
    id: 'edit-core-tsc',
    title: 'One-shot hub edit with declarations: ≤ 1.0× `tsc -b` (TS 5 and TS 7) at 50 and 200 packages',
    scenario: 'edit-core',
    packages: [50, 200],
    threshold: 1.0,
    applies: (c) => c.id === 'bs-esbuild-dts' || c.id === 'bs-esbuild-dts-ts7',
    reference: (c) => (c.id === 'bs-esbuild-dts-ts7' ? 'tsc7-b' : 'tsc5-b'),
  },
];
/** Watch, JS only (issue 14): a leaf edit reaches dist within this many ms at WATCH_LEAF_PACKAGES packages. */
export const WATCH_LEAF_MS = 120;
export const WATCH_LEAF_PACKAGES = 200;
/** The hub edits of the bench change a function body: with declarations, only the hub itself may rebuild (issue 14). */
export const HUB_EDIT_SCENARIOS = ['edit-core', 'watch-core'];
export const STARTUP_THRESHOLD = 2.0;
export const MEMORY_EXPONENT_LIMIT = 1;

/**
 * The real-repo shape (generate-real.mjs) has no thresholds: issue 13 asks for
 * build-system's ratios there against turbo + tsup (dts) and `tsc -b`. Its
 * build-system contender is measured back to back with both (`ref bs ref`).
 */
export const REAL_REFERENCES = ['turbo-tsup-dts', 'tsc5-b'];
export const REAL_SCENARIOS = ['cold', 'noop', 'edit-core'];

/** A size's shape: 'synthetic' (generate.mjs) unless it says 'real'. */
export const shapeOf = (size) => size?.shape ?? 'synthetic';

/**
 * The references a build-system contender is measured back to back with in a
 * scenario, or []: in the synthetic shape the reference of the first target of
 * that scenario that judges it (only targets decide pairs); in the real shape
 * REAL_REFERENCES. A second target of the same scenario (edit-core-tsc after
 * edit-core) pairs only when the first one's reference is not in the run;
 * otherwise its samples are matched by run index (adjacent: false).
 */
export function pairReferences(contender, scenario, shape = 'synthetic', ran = null) {
  if (contender.family !== 'bs') return [];
  if (shape === 'real') return REAL_SCENARIOS.includes(scenario) ? [...REAL_REFERENCES] : [];
  // With `ran` (the ids in the run), the first target whose reference is there: without turbo, bs-esbuild-dts pairs with tsc -b.
  const t = TARGETS.find((x) => x.scenario === scenario && x.applies(contender) && (!ran || ran.has(x.reference(contender))));
  return t ? [t.reference(contender)] : [];
}

/**
 * The load threshold used when the results do not say: the number of cores.
 * A 1-minute load average above it means more runnable tasks than cores, on
 * average, over the last minute: a tool that spreads over every core (raw
 * esbuild, turbo's task pool) then loses more than build-system's mostly
 * single-threaded main process, and the ratio drifts towards 1 (README, "Load").
 */
export function maxLoadOf(results) {
  return results.meta?.options?.maxLoad ?? results.meta?.machine?.cores ?? null;
}

/**
 * The pairs of contender `a` against reference `b` in one scenario of one size:
 * [{ ratio, load, loaded, run, adjacent }]. Samples measured as a pair share a
 * `pair` id (adjacent: true); samples without one (results of the old harness,
 * or contenders not paired by any target) are matched by run index (adjacent:
 * false). `load`: the 1-minute load average when the pair started, after the
 * settle wait (`pairLoad`, recorded on every sample of the pair), because the
 * load1 of a pair's later samples counts the pair's own earlier build; for
 * samples without it (older results, unpaired samples), the higher load1 of the
 * two; null when not recorded. `loaded`: the settle wait ran out before the pair.
 */
export function pairs(size, scenario, a, b) {
  const ok = size.samples.filter((s) => s.scenario === scenario && s.ok);
  const A = ok.filter((s) => s.contender === a);
  const B = ok.filter((s) => s.contender === b);
  const out = [];
  for (const s of A) {
    const paired = s.pair !== undefined ? B.find((r) => r.pair === s.pair) : undefined;
    const ref = paired ?? B.find((r) => r.run === s.run);
    if (!ref || !(ref.ms > 0)) continue;
    const loads = [s.load1, ref.load1].filter((x) => typeof x === 'number');
    const load = paired && typeof s.pairLoad === 'number' ? s.pairLoad : loads.length ? Math.max(...loads) : null;
    out.push({ ratio: s.ms / ref.ms, load, loaded: Boolean(paired && (s.loaded || ref.loaded)), run: s.run, adjacent: paired !== undefined });
  }
  return out;
}

/** Per-pair ratios a/b (every pair, whatever the load): for the size tables. */
export function pairRatios(size, scenario, a, b) {
  return pairs(size, scenario, a, b).map((p) => p.ratio);
}

export function startupRatios(startup, a, b) {
  if (!startup) return [];
  const by = (id) => new Map(startup.samples.filter((s) => s.command === id && s.ok).map((s) => [s.run, s.ms]));
  const A = by(a);
  const B = by(b);
  return [...A].filter(([run]) => B.has(run)).map(([run, ms]) => ms / B.get(run));
}

/**
 * Pairs marked loaded (the settle wait ran out) or that started above `maxLoad`
 * are dropped; a pair without a recorded load is kept (old results).
 */
export function splitByLoad(list, maxLoad) {
  const kept = [];
  const dropped = [];
  for (const p of list) (p.loaded || (maxLoad !== null && p.load !== null && p.load > maxLoad) ? dropped : kept).push(p);
  return { kept, dropped };
}

const fmt = (x) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(2)}×`);

/** Met only when every row was measured and met; any row not met → not met; otherwise not measured (null). */
export function verdict(rows) {
  if (rows.length === 0) return null;
  if (rows.some((r) => r.met === false)) return false;
  return rows.every((r) => r.met === true) ? true : null;
}

/** One row: contender `c` against its reference at one size (or a note that the size did not run). */
function ratioRow(target, size, c, ran, maxLoad) {
  const ref = target.reference(c);
  const base = { label: `${c.id} / ${ref} (${size.key})`, contender: c.id, reference: ref, size: size.key, threshold: target.threshold };
  if (!ran.has(ref) || !size.samples.some((s) => s.contender === ref)) return { ...base, ratio: null, all: null, kept: 0, dropped: 0, load: null, met: null, note: `${ref} not run` };
  const list = pairs(size, target.scenario, c.id, ref);
  const { kept, dropped } = splitByLoad(list, maxLoad);
  const ratio = stats(kept.map((p) => p.ratio));
  const row = {
    ...base,
    ratio,
    all: stats(list.map((p) => p.ratio)),
    kept: kept.length,
    dropped: dropped.length,
    adjacent: list.every((p) => p.adjacent),
    load: stats(list.map((p) => p.load)),
    keptLoad: stats(kept.map((p) => p.load)),
    met: ratio ? ratio.median <= target.threshold : null,
  };
  if (!ratio) row.note = list.length ? `all ${list.length} pairs started above load ${maxLoad} or were marked loaded` : 'no successful pair';
  return row;
}

/**
 * Watch, JS only: edit → the leaf's dist holds the edit, absolute, at WATCH_LEAF_PACKAGES packages
 * (build-system contenders without declarations). A sample is kept like a pair: not marked loaded
 * and its starting load at most maxLoad. `ratio`: each kept sample ÷ the same run's one-shot
 * edit-leaf sample of the same contender (reported, not judged).
 */
function watchLeafTarget(sizes, bs, maxLoad) {
  const rows = [];
  const s = sizes.find((x) => x.packages === WATCH_LEAF_PACKAGES);
  if (!s) rows.push({ label: `${WATCH_LEAF_PACKAGES} packages: size not in this run`, size: null, ratio: null, met: null, note: 'size not run' });
  for (const c of s ? bs.filter((x) => !x.dts && s.samples.some((y) => y.contender === x.id && y.scenario === 'watch-leaf')) : []) {
    const ok = s.samples.filter((x) => x.contender === c.id && x.scenario === 'watch-leaf' && x.ok);
    const list = ok.map((x) => ({ sample: x, load: typeof x.pairLoad === 'number' ? x.pairLoad : (x.load1 ?? null), loaded: Boolean(x.loaded) }));
    const { kept, dropped } = splitByLoad(list, maxLoad);
    const oneShot = (run) => s.samples.find((x) => x.contender === c.id && x.scenario === 'edit-leaf' && x.ok && x.run === run);
    const ms = stats(kept.map((p) => p.sample.ms));
    const ratios = kept.map((p) => (oneShot(p.sample.run)?.ms > 0 ? p.sample.ms / oneShot(p.sample.run).ms : null)).filter((x) => x !== null);
    const row = { label: `${c.id} watch-leaf (${s.key})`, contender: c.id, size: s.key, ms, ratio: stats(ratios), kept: kept.length, dropped: dropped.length, load: stats(list.map((p) => p.load)), threshold: WATCH_LEAF_MS, met: ms ? ms.median <= WATCH_LEAF_MS : null };
    if (!ms) row.note = list.length ? `all ${list.length} samples started above load ${maxLoad} or were marked loaded` : 'no successful sample';
    rows.push(row);
  }
  return { id: 'watch-leaf', title: `Watch, JS only: a leaf edit reaches dist in ≤ ${WATCH_LEAF_MS} ms at ${WATCH_LEAF_PACKAGES} packages (ratio to the one-shot edit-leaf of the same run reported)`, threshold: `≤ ${WATCH_LEAF_MS} ms`, thresholdValue: WATCH_LEAF_MS, scenario: 'watch-leaf', rows, met: verdict(rows) };
}

/**
 * A body-only edit in the hub rebuilds no dependent's declarations: for build-system with
 * esbuild + dts, the hub edit (one-shot edit-core, and the watch-core round) rebuilds only
 * the hub. `rebuilt` per sample: results that are not cache hits (contenders.mjs) or the
 * round's `rebuilt` list (watch). Every size; median of the successful samples.
 */
function hubDeclarationsTarget(sizes, bs) {
  const rows = [];
  for (const s of sizes) {
    for (const c of bs.filter((x) => x.id.startsWith('bs-esbuild-dts'))) {
      for (const scenario of HUB_EDIT_SCENARIOS) {
        const ok = s.samples.filter((x) => x.contender === c.id && x.scenario === scenario && x.ok && typeof x.rebuilt === 'number');
        if (!s.samples.some((x) => x.contender === c.id && x.scenario === scenario)) continue;
        const rebuilt = median(ok.map((x) => x.rebuilt));
        rows.push({ label: `${c.id} ${scenario} (${s.key})`, contender: c.id, size: s.key, scenario, rebuilt, allowed: 1, ratio: null, met: rebuilt === null ? null : rebuilt <= 1 });
      }
    }
  }
  return { id: 'hub-edit-dts', title: "A body-only edit in the hub rebuilds no dependent's declarations (esbuild + dts: the hub edit rebuilds 1 package, one-shot and under watch)", threshold: 'rebuilt = 1', thresholdValue: 1, scenario: 'edit-core', rows, met: verdict(rows) };
}

export function evaluateTargets(results) {
  const contenders = new Map(results.contenders.map((c) => [c.id, c]));
  const ran = new Set(results.meta.options.contenders);
  const bs = [...ran].map((id) => contenders.get(id)).filter((c) => c?.family === 'bs');
  // The targets are about the synthetic shape; the real shape is reported without thresholds.
  const sizes = results.sizes.filter((s) => shapeOf(s) === 'synthetic').sort((a, b) => a.packages - b.packages);
  const maxLoad = maxLoadOf(results);
  const primary = (list, preferred) => list.find((c) => c.id === preferred) ?? list[0];
  const targets = [];

  for (const def of TARGETS) {
    const judged = bs.filter(def.applies);
    const rows = [];
    if (def.packages === 'every') {
      for (const s of sizes) for (const c of judged.filter((x) => s.samples.some((y) => y.contender === x.id && y.scenario === def.scenario))) rows.push(ratioRow(def, s, c, ran, maxLoad));
    } else {
      for (const n of [def.packages].flat()) {
        const s = sizes.find((x) => x.packages === n);
        if (s) for (const c of judged.filter((x) => s.samples.some((y) => y.contender === x.id && y.scenario === def.scenario))) rows.push(ratioRow(def, s, c, ran, maxLoad));
        else rows.push({ label: `${n} packages: size not in this run`, size: null, ratio: null, met: null, note: 'size not run' });
      }
    }
    if (def.rebuiltLimit) {
      for (const r of rows.filter((x) => x.contender)) {
        const s = sizes.find((x) => x.key === r.size);
        r.allowed = 1 + (s.meta.coreDirectDependents ?? 0);
        r.rebuilt = median(s.samples.filter((x) => x.scenario === def.scenario && x.contender === r.contender && x.ok).map((x) => x.rebuilt));
        r.turboRebuilt = median(s.samples.filter((x) => x.scenario === def.scenario && x.contender === r.reference && x.ok).map((x) => x.rebuilt));
        if (r.met !== null && (r.rebuilt === null || r.rebuilt > r.allowed)) r.met = false;
      }
    }
    const t = {
      id: def.id,
      title: def.title,
      threshold: `≤ ${def.threshold.toFixed(1)}×${def.rebuiltLimit ? ', rebuilt ≤ 1 + direct dependents' : ''}`,
      thresholdValue: def.threshold,
      scenario: def.scenario,
      rows,
      met: verdict(rows),
    };
    const failing = rows.filter((r) => r.met === false);
    if (failing.length) {
      const size = failing.map((r) => r.size).at(-1);
      const who = primary(judged.filter((c) => failing.some((r) => r.contender === c.id)), def.id === 'cold-dts' ? 'bs-esbuild-dts' : 'bs-esbuild');
      t.profile = [{ size, contender: who?.id ?? failing[0].contender, scenario: def.scenario }];
    }
    targets.push(t);
  }
  targets.push(watchLeafTarget(sizes, bs, maxLoad), hubDeclarationsTarget(sizes, bs));
  {
    const rows = results.startup
      ? [
          { which: 'version', label: 'build-system --version / node -e 0', ids: ['bs-version', 'node-e0'] },
          { which: 'help', label: 'build-system --help / node -e 0', ids: ['bs-help', 'node-e0'] },
        ].map(({ which, label, ids }) => {
          const ratio = stats(startupRatios(results.startup, ...ids));
          return { label, which, ratio, threshold: STARTUP_THRESHOLD, met: ratio ? ratio.median <= STARTUP_THRESHOLD : null };
        })
      : [];
    const t = { id: 'startup', title: `CLI start-up: ≤ ${STARTUP_THRESHOLD}× \`node -e 0\``, threshold: `≤ ${STARTUP_THRESHOLD.toFixed(1)}×`, thresholdValue: STARTUP_THRESHOLD, rows, met: verdict(rows) };
    const failing = rows.filter((r) => r.met === false);
    if (failing.length) t.profile = failing.map((r) => ({ size: null, contender: `build-system --${r.which}`, scenario: 'startup', which: r.which }));
    targets.push(t);
  }
  {
    // Peak RSS of the largest process (build-system itself) in the cold build, per size; growth exponent
    // between the smallest and the largest size: ln(RSS ratio) / ln(N ratio) must be ≤ 1.
    const rows = [];
    if (sizes.length > 1) {
      for (const c of bs.filter((x) => sizes.some((s) => s.samples.some((y) => y.contender === x.id)))) {
        const per = sizes.map((s) => ({ size: s.key, n: s.packages, kb: median(s.samples.filter((x) => x.scenario === 'cold' && x.contender === c.id && x.ok).map((x) => x.rssKb)) }));
        const first = per[0];
        const last = per.at(-1);
        const exponent = first.kb && last.kb && last.n !== first.n ? Math.log(last.kb / first.kb) / Math.log(last.n / first.n) : null;
        rows.push({ label: c.id, perSize: per, exponent, met: exponent === null ? null : exponent <= MEMORY_EXPONENT_LIMIT, ratio: null });
      }
    }
    const largest = sizes.at(-1);
    targets.push({ id: 'memory', title: `Memory: peak RSS at ${largest?.key ?? 'N=200'} reported; grows at most linearly with N`, threshold: `growth exponent ≤ ${MEMORY_EXPONENT_LIMIT}`, rows, met: verdict(rows) });
  }
  for (const t of targets) t.summary = t.rows.map((r) => (r.ratio ? `${r.label}: ${fmt(r.ratio.median)}` : r.label)).join('; ');
  return targets;
}
