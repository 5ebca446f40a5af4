/**
 * The targets of issue 6, evaluated from one run's samples. Every ratio is
 * build-system / contender computed per run pair (same run index, measured
 * back to back), then summarised as median and min–max.
 */
import { median, stats } from './measure.mjs';

/** run → ms of the successful samples of one contender in one scenario of one size. */
export function samplesByRun(size, scenario, contender) {
  const m = new Map();
  for (const s of size.samples) if (s.scenario === scenario && s.contender === contender && s.ok) m.set(s.run, s.ms);
  return m;
}

/** Per-run ratios a/b over the runs where both succeeded. */
export function pairRatios(size, scenario, a, b) {
  const A = samplesByRun(size, scenario, a);
  const B = samplesByRun(size, scenario, b);
  const out = [];
  for (const [run, ms] of A) if (B.has(run) && B.get(run) > 0) out.push(ms / B.get(run));
  return out;
}

export function startupRatios(startup, a, b) {
  if (!startup) return [];
  const by = (id) => new Map(startup.samples.filter((s) => s.command === id && s.ok).map((s) => [s.run, s.ms]));
  const A = by(a);
  const B = by(b);
  return [...A].filter(([run]) => B.has(run)).map(([run, ms]) => ms / B.get(run));
}

const matchedTurbo = (c) => (c.dts ? 'turbo-tsup-dts' : 'turbo-tsup');
const fmt = (x) => (x === null || x === undefined ? 'n/a' : `${x.toFixed(2)}×`);

function row(label, ratios, threshold, extra = {}) {
  const s = stats(ratios);
  return { label, ratio: s, threshold, met: s ? s.median <= threshold : null, ...extra };
}

function verdict(rows) {
  const measured = rows.filter((r) => r.met !== null);
  if (measured.length === 0) return null;
  return measured.every((r) => r.met);
}

export function evaluateTargets(results) {
  const contenders = new Map(results.contenders.map((c) => [c.id, c]));
  const ran = new Set(results.meta.options.contenders);
  const bs = [...ran].map((id) => contenders.get(id)).filter((c) => c.family === 'bs');
  const sizes = [...results.sizes].sort((a, b) => a.packages - b.packages);
  const small = sizes.find((s) => s.packages === 10) ?? sizes[0];
  const large = sizes.find((s) => s.packages === 200) ?? sizes.at(-1);
  const targets = [];
  const primary = (list, preferred) => list.find((c) => c.id === preferred) ?? list[0];

  const noop = (size, threshold, id, title) => {
    if (!size) return;
    const rows = bs.filter((c) => ran.has(matchedTurbo(c))).map((c) => row(`${c.id} / ${matchedTurbo(c)} (${size.key})`, pairRatios(size, 'noop', c.id, matchedTurbo(c)), threshold, { contender: c.id, size: size.key }));
    const t = { id, title, threshold: `≤ ${threshold.toFixed(1)}×`, rows, met: verdict(rows) };
    if (t.met === false) {
      const worst = rows.filter((r) => r.met === false).sort((a, b) => b.ratio.median - a.ratio.median)[0];
      t.profile = [{ size: size.key, contender: primary(bs.filter((c) => rows.some((r) => r.contender === c.id && r.met === false)), 'bs-esbuild')?.id ?? worst.contender, scenario: 'noop' }];
    }
    targets.push(t);
  };
  noop(small, 1.0, 'noop-small', `Fully cached no-op, ${small?.key ?? 'N=10'}: ≤ 1.0× turbo (through its npm bin)`);
  if (large && large !== small) noop(large, 0.5, 'noop-large', `Fully cached no-op, ${large.key}: ≤ 0.5× turbo`);

  {
    const dtsBs = bs.filter((c) => c.dts);
    const rows = ran.has('turbo-tsup-dts') ? sizes.flatMap((s) => dtsBs.map((c) => row(`${c.id} / turbo-tsup-dts (${s.key})`, pairRatios(s, 'cold', c.id, 'turbo-tsup-dts'), 0.5, { contender: c.id, size: s.key }))) : [];
    const t = { id: 'cold-dts', title: 'Cold full build, JS + .d.ts: ≤ 0.5× turbo + tsup (dts), every size', threshold: '≤ 0.5×', rows, met: verdict(rows) };
    const failing = rows.filter((r) => r.met === false);
    if (failing.length) {
      const s = failing.map((r) => r.size).at(-1);
      t.profile = [{ size: s, contender: primary(dtsBs.filter((c) => failing.some((r) => r.contender === c.id)), 'bs-esbuild-dts').id, scenario: 'cold' }];
    }
    targets.push(t);
  }
  {
    const rows = ran.has('esbuild-raw') && ran.has('bs-esbuild') ? sizes.map((s) => row(`bs-esbuild / esbuild-raw (${s.key})`, pairRatios(s, 'cold', 'bs-esbuild', 'esbuild-raw'), 1.5, { contender: 'bs-esbuild', size: s.key })) : [];
    const t = { id: 'cold-js', title: 'Cold full build, JS only (esbuild adapter): ≤ 1.5× the raw esbuild floor', threshold: '≤ 1.5×', rows, met: verdict(rows) };
    const failing = rows.filter((r) => r.met === false);
    if (failing.length) t.profile = [{ size: failing.at(-1).size, contender: 'bs-esbuild', scenario: 'cold' }];
    targets.push(t);
  }
  {
    const rows = [];
    for (const s of sizes) {
      const allowed = 1 + (s.meta.coreDirectDependents ?? 0);
      for (const c of bs.filter((x) => ran.has(matchedTurbo(x)))) {
        const rebuilt = median(s.samples.filter((x) => x.scenario === 'edit-core' && x.contender === c.id && x.ok).map((x) => x.rebuilt));
        const turboRebuilt = median(s.samples.filter((x) => x.scenario === 'edit-core' && x.contender === matchedTurbo(c) && x.ok).map((x) => x.rebuilt));
        const r = row(`${c.id} / ${matchedTurbo(c)} (${s.key})`, pairRatios(s, 'edit-core', c.id, matchedTurbo(c)), 0.5, { contender: c.id, size: s.key, rebuilt, turboRebuilt, allowed });
        if (r.met !== null && (rebuilt === null || rebuilt > allowed)) r.met = false;
        rows.push(r);
      }
    }
    const t = {
      id: 'edit-core',
      title: 'One-file edit in the most depended-on package: only packages whose inputs changed rebuild; ≤ 0.5× turbo + tsup',
      threshold: '≤ 0.5×, rebuilt ≤ 1 + direct dependents',
      rows,
      met: verdict(rows),
    };
    const failing = rows.filter((r) => r.met === false);
    if (failing.length) t.profile = [{ size: failing.at(-1).size, contender: primary(bs.filter((c) => failing.some((r) => r.contender === c.id)), 'bs-esbuild').id, scenario: 'edit-core' }];
    targets.push(t);
  }
  {
    const rows = results.startup
      ? [row('build-system --version / node -e 0', startupRatios(results.startup, 'bs-version', 'node-e0'), 2.0, { which: 'version' }), row('build-system --help / node -e 0', startupRatios(results.startup, 'bs-help', 'node-e0'), 2.0, { which: 'help' })]
      : [];
    const t = { id: 'startup', title: 'CLI start-up: ≤ 2× `node -e 0`', threshold: '≤ 2.0×', rows, met: verdict(rows) };
    const failing = rows.filter((r) => r.met === false);
    if (failing.length) t.profile = failing.map((r) => ({ size: null, contender: `build-system --${r.which}`, scenario: 'startup', which: r.which }));
    targets.push(t);
  }
  {
    // Peak RSS of the largest process (build-system itself) in the cold build, per size; growth exponent
    // between the smallest and the largest size: ln(RSS ratio) / ln(N ratio) must be ≤ 1.
    const rows = [];
    if (sizes.length) {
      for (const c of bs) {
        const per = sizes.map((s) => ({ size: s.key, n: s.packages, kb: median(s.samples.filter((x) => x.scenario === 'cold' && x.contender === c.id && x.ok).map((x) => x.rssKb)) }));
        const first = per[0];
        const last = per.at(-1);
        const exponent = sizes.length > 1 && first.kb && last.kb && last.n !== first.n ? Math.log(last.kb / first.kb) / Math.log(last.n / first.n) : null;
        rows.push({ label: c.id, perSize: per, exponent, met: exponent === null ? null : exponent <= 1, ratio: null });
      }
    }
    targets.push({ id: 'memory', title: `Memory: peak RSS at ${large?.key ?? 'N=200'} reported; grows at most linearly with N`, threshold: 'growth exponent ≤ 1', rows, met: verdict(rows) });
  }
  for (const t of targets) t.summary = t.rows.map((r) => (r.ratio ? `${r.label}: ${fmt(r.ratio.median)}` : r.label)).join('; ');
  return targets;
}
