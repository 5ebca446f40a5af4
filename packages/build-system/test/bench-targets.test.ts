import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/fixture.js";

/**
 * The bench's target verdicts (bench/lib/targets.mjs) from synthetic samples: one
 * threshold per target whatever sizes ran, "not measured" when a size or
 * reference is missing, pairs above the load threshold left out.
 */
const targetsUrl = pathToFileURL(
  path.join(repoRoot, "bench", "lib", "targets.mjs"),
).href;

interface Row {
  size: string | null;
  ratio: { median: number } | null;
  met: boolean | null;
  kept?: number;
  dropped?: number;
}
interface Target {
  id: string;
  met: boolean | null;
  rows: Row[];
}

const contenders = [
  { id: "bs-esbuild", family: "bs", dts: false },
  { id: "turbo-tsup", family: "turbo", dts: false },
  { id: "esbuild-raw", family: "esbuild", dts: false },
];

/** One size whose no-op pairs have bs/turbo = `ratio` (back to back, shared pair id), at load `load`. */
function size(packages: number, ratio: number, load = 0.5) {
  const samples = [];
  for (let run = 1; run <= 3; run++) {
    const pair = `noop/${run}/turbo-tsup/bs-esbuild`;
    samples.push({
      run,
      scenario: "noop",
      contender: "turbo-tsup",
      pair,
      load1: load,
      ok: true,
      ms: 1000,
    });
    samples.push({
      run,
      scenario: "noop",
      contender: "bs-esbuild",
      pair,
      load1: load,
      ok: true,
      ms: 1000 * ratio,
    });
  }
  return {
    packages,
    files: 10,
    key: `n${packages}-f10`,
    meta: { coreDirectDependents: 1 },
    samples,
  };
}

const results = (
  sizes: ReturnType<typeof size>[],
  ran = ["bs-esbuild", "turbo-tsup"],
) => ({
  meta: { options: { contenders: ran, maxLoad: 2 }, machine: { cores: 2 } },
  contenders,
  sizes,
  startup: null,
});

async function evaluate(r: ReturnType<typeof results>): Promise<Target[]> {
  const { evaluateTargets } = await import(targetsUrl);
  return evaluateTargets(r);
}

describe("bench targets", () => {
  it("judges the 200-package no-op against 0.5× turbo when it is the only size in the run", async () => {
    const targets = await evaluate(results([size(200, 0.69)]));
    const large = targets.find((t) => t.id === "noop-large")!;
    expect(large.rows.map((r) => [r.size, r.ratio?.median, r.met])).toEqual([
      ["n200-f10", 0.69, false],
    ]);
    expect(large.met).toBe(false);
    // The 10-package target is not silently moved to another size.
    expect(targets.find((t) => t.id === "noop-small")!.met).toBeNull();
  });

  it("meets the 200-package no-op at 0.45×, and the 10-package one at 0.9×, with both sizes in the run", async () => {
    const targets = await evaluate(results([size(10, 0.9), size(200, 0.45)]));
    expect(targets.find((t) => t.id === "noop-small")!.met).toBe(true);
    expect(targets.find((t) => t.id === "noop-large")!.met).toBe(true);
  });

  it("a 50-package size is judged by neither no-op target", async () => {
    const targets = await evaluate(results([size(10, 0.9), size(50, 0.9)]));
    expect(
      targets.find((t) => t.id === "noop-small")!.rows.map((r) => r.size),
    ).toEqual(["n10-f10"]);
    expect(targets.find((t) => t.id === "noop-large")!.met).toBeNull();
  });

  it("a target whose reference did not run is not measured, never met", async () => {
    const targets = await evaluate(results([size(10, 0.9)], ["bs-esbuild"]));
    expect(targets.find((t) => t.id === "noop-small")!.met).toBeNull();
    expect(targets.find((t) => t.id === "cold-js")!.met).toBeNull();
  });

  it("pairs above the load threshold are left out of the verdict and counted", async () => {
    const targets = await evaluate(results([size(200, 0.4, 5)]));
    const [row] = targets.find((t) => t.id === "noop-large")!.rows;
    expect(row).toMatchObject({ ratio: null, met: null, kept: 0, dropped: 3 });
  });
});

const settleUrl = pathToFileURL(
  path.join(repoRoot, "bench", "lib", "settle.mjs"),
).href;

/** A clock whose load average follows `loadAt(ms)` and whose sleeps only advance time. */
function fakeClock(loadAt: (ms: number) => number) {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    load1: () => loadAt(t),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

describe("bench settle rule (wait for the load before each pair)", () => {
  it("goes at or below the threshold, waits above it, and gives up (loaded) once the max wait has passed", async () => {
    const { settleDecision } = await import(settleUrl);
    const at = (load1: number | null, waitedMs: number, maxWaitMs = 300_000) =>
      settleDecision({ load1, waitedMs, maxLoad: 2, maxWaitMs });
    expect(at(0.4, 0)).toBe("go");
    expect(at(2, 0)).toBe("go");
    expect(at(2.01, 0)).toBe("wait");
    expect(at(17, 299_999)).toBe("wait");
    expect(at(17, 300_000)).toBe("loaded");
    expect(at(1.5, 900_000)).toBe("go");
    // --settle-max-wait 0: never waits; a pair above the threshold is marked loaded at once.
    expect(at(3, 0, 0)).toBe("loaded");
    // A load that could not be read never blocks a run.
    expect(at(null, 0)).toBe("go");
  });

  it("waits while the load left by a previous build decays, and records how long", async () => {
    const { settle } = await import(settleUrl);
    // 17 right after a long turbo build, decaying with the kernel's 60 s time constant.
    const clock = fakeClock((ms) => 17 * Math.exp(-ms / 60_000));
    const r = await settle({ maxLoad: 2, maxWaitMs: 300_000, pollMs: 5_000, clock });
    expect(r.loaded).toBe(false);
    expect(r.load1).toBeLessThanOrEqual(2);
    // 17·e^(−t/60 s) ≤ 2 from t ≈ 128 s: the first 5 s poll after that.
    expect(r.waitedMs).toBe(130_000);
    expect(clock.sleeps.every((ms) => ms === 5_000)).toBe(true);
  });

  it("marks the pair loaded when the load stays high past the max wait", async () => {
    const { settle } = await import(settleUrl);
    const clock = fakeClock(() => 6);
    const r = await settle({ maxLoad: 2, maxWaitMs: 12_000, pollMs: 5_000, clock });
    expect(r).toEqual({ waitedMs: 12_000, load1: 6, loaded: true });
    // The last sleep is cut to the time left, so the wait never overshoots the max.
    expect(clock.sleeps).toEqual([5_000, 5_000, 2_000]);
  });

  it("judges a pair by its load at the start (after settling), and drops pairs marked loaded", async () => {
    const at = (pairLoad: number, secondLoad1: number, loaded: boolean) => {
      const s = size(200, 0.4, pairLoad);
      for (const x of s.samples as Record<string, unknown>[]) {
        x.pairLoad = pairLoad;
        if (loaded) x.loaded = true;
        // The reference, measured second, sees the load of build-system's build just before it.
        if (x.contender === "turbo-tsup") x.load1 = secondLoad1;
      }
      return s;
    };
    const row = async (s: ReturnType<typeof size>) =>
      (await evaluate(results([s]))).find((t) => t.id === "noop-large")!
        .rows[0]!;
    expect(await row(at(0.8, 9, false))).toMatchObject({ kept: 3, dropped: 0, met: true });
    expect(await row(at(0.8, 0.8, true))).toMatchObject({ kept: 0, dropped: 3, met: null });
    expect(await row(at(2.5, 2.5, false))).toMatchObject({ kept: 0, dropped: 3, met: null });
  });
});

describe("bench schedule of the real-repo shape", () => {
  it("puts build-system between its two references, order alternating by run", async () => {
    const { scheduleUnits, unitOrder } = await import(
      pathToFileURL(path.join(repoRoot, "bench", "run.mjs")).href
    );
    const { CONTENDERS } = await import(
      pathToFileURL(path.join(repoRoot, "bench", "lib", "contenders.mjs")).href
    );
    const pick = (ids: string[]) =>
      ids.map((id) => CONTENDERS.find((c: { id: string }) => c.id === id));
    const units = scheduleUnits(
      pick(["turbo-tsup-dts", "tsc5-b", "tsc7-b", "bs-real"]),
      "edit-core",
      "real",
    );
    const order = (run: number) =>
      units.map((u: unknown) =>
        unitOrder(u, run).map((c: { id: string }) => c.id),
      );
    expect(order(1)).toEqual([
      ["turbo-tsup-dts", "bs-real", "tsc5-b"],
      ["tsc7-b"],
    ]);
    expect(order(2)).toEqual([
      ["tsc5-b", "bs-real", "turbo-tsup-dts"],
      ["tsc7-b"],
    ]);
  });
});

/** The issue-14 targets: watch leaf edit (absolute), the hub edit's rebuilt count with dts, hub edit with dts vs tsc -b. */
const dtsContenders = [
  ...contenders,
  { id: "bs-esbuild-dts", family: "bs", dts: true },
  { id: "bs-esbuild-dts-ts7", family: "bs", dts: true },
  { id: "tsc5-b", family: "tsc", dts: true },
  { id: "tsc7-b", family: "tsc", dts: true },
];

type Sample = Record<string, unknown>;
function sizeOf(packages: number, samples: Sample[]) {
  return {
    packages,
    files: 10,
    key: `n${packages}-f10`,
    meta: { coreDirectDependents: 4 },
    samples,
  };
}
const issue14Results = (sizes: ReturnType<typeof sizeOf>[], ran: string[]) => ({
  meta: { options: { contenders: ran, maxLoad: 2 }, machine: { cores: 2 } },
  contenders: dtsContenders,
  sizes,
  startup: null,
});

/** Per run: a watch-leaf sample of `watchMs` and the one-shot edit-leaf of the same run (`oneShotMs`). */
function watchSamples(watchMs: number[], oneShotMs = 400, load = 0.5) {
  return watchMs.flatMap((ms, i) => [
    { run: i + 1, scenario: "watch-leaf", contender: "bs-esbuild", pairLoad: load, load1: load, ok: true, ms, roundMs: ms + 10, rebuilt: 1 },
    { run: i + 1, scenario: "edit-leaf", contender: "bs-esbuild", load1: load, ok: true, ms: oneShotMs, rebuilt: 1 },
  ]);
}

describe("bench targets of issue 14", () => {
  it("watch leaf edit: met at a median of 90 ms at 200 packages, with the ratio to the one-shot edit-leaf of the same run", async () => {
    const targets = await evaluate(issue14Results([sizeOf(200, watchSamples([80, 90, 110]))], ["bs-esbuild"]) as never);
    const t = targets.find((x) => x.id === "watch-leaf")!;
    expect(t.met).toBe(true);
    expect(t.rows[0]).toMatchObject({ size: "n200-f10", met: true, kept: 3, dropped: 0 });
    expect(t.rows[0]!.ratio!.median).toBeCloseTo(90 / 400, 5);
  });

  it("watch leaf edit: not met at a median of 130 ms; not measured without the 200-package size or when every sample was loaded", async () => {
    const slow = await evaluate(issue14Results([sizeOf(200, watchSamples([125, 130, 140]))], ["bs-esbuild"]) as never);
    expect(slow.find((x) => x.id === "watch-leaf")!.met).toBe(false);
    const small = await evaluate(issue14Results([sizeOf(50, watchSamples([80, 90, 110]))], ["bs-esbuild"]) as never);
    expect(small.find((x) => x.id === "watch-leaf")!.met).toBeNull();
    const loaded = await evaluate(issue14Results([sizeOf(200, watchSamples([80, 90, 110], 400, 6))], ["bs-esbuild"]) as never);
    expect(loaded.find((x) => x.id === "watch-leaf")!.rows[0]).toMatchObject({ met: null, kept: 0, dropped: 3 });
  });

  const hub = (scenario: string, rebuilt: number[]) =>
    rebuilt.map((n, i) => ({ run: i + 1, scenario, contender: "bs-esbuild-dts", load1: 0.5, ok: true, ms: 500, rebuilt: n }));

  it("hub edit with dts: met when the one-shot and the watch round rebuild only the hub", async () => {
    const targets = await evaluate(issue14Results([sizeOf(10, [...hub("edit-core", [1, 1, 1]), ...hub("watch-core", [1, 1, 1])])], ["bs-esbuild-dts"]) as never);
    const t = targets.find((x) => x.id === "hub-edit-dts")!;
    expect(t.rows.map((r) => [(r as unknown as { scenario: string }).scenario, r.met])).toEqual([
      ["edit-core", true],
      ["watch-core", true],
    ]);
    expect(t.met).toBe(true);
  });

  it("hub edit with dts: not met when the dependents rebuild (one-shot or under watch)", async () => {
    const oneShot = await evaluate(issue14Results([sizeOf(10, hub("edit-core", [5, 5, 1]))], ["bs-esbuild-dts"]) as never);
    expect(oneShot.find((x) => x.id === "hub-edit-dts")!.met).toBe(false);
    const watch = await evaluate(issue14Results([sizeOf(10, [...hub("edit-core", [1, 1, 1]), ...hub("watch-core", [5, 5, 5])])], ["bs-esbuild-dts"]) as never);
    expect(watch.find((x) => x.id === "hub-edit-dts")!.met).toBe(false);
  });

  /** edit-core pairs of bs-esbuild-dts / tsc5-b and bs-esbuild-dts-ts7 / tsc7-b at `ratio`. */
  function tscPairs(ratio: number, ratio7 = ratio) {
    return [1, 2, 3].flatMap((run) => [
      { run, scenario: "edit-core", contender: "tsc5-b", pair: `edit-core/${run}/tsc5-b/bs-esbuild-dts`, pairLoad: 0.5, load1: 0.5, ok: true, ms: 1000 },
      { run, scenario: "edit-core", contender: "bs-esbuild-dts", pair: `edit-core/${run}/tsc5-b/bs-esbuild-dts`, pairLoad: 0.5, load1: 0.5, ok: true, ms: 1000 * ratio, rebuilt: 1 },
      { run, scenario: "edit-core", contender: "tsc7-b", pair: `edit-core/${run}/tsc7-b/bs-esbuild-dts-ts7`, pairLoad: 0.5, load1: 0.5, ok: true, ms: 200 },
      { run, scenario: "edit-core", contender: "bs-esbuild-dts-ts7", pair: `edit-core/${run}/tsc7-b/bs-esbuild-dts-ts7`, pairLoad: 0.5, load1: 0.5, ok: true, ms: 200 * ratio7, rebuilt: 1 },
    ]);
  }
  const tscRan = ["bs-esbuild-dts", "bs-esbuild-dts-ts7", "tsc5-b", "tsc7-b"];

  it("one-shot hub edit with dts: met at 0.8× tsc -b (TS 5 and TS 7) at 50 and 200 packages", async () => {
    const targets = await evaluate(issue14Results([sizeOf(50, tscPairs(0.8)), sizeOf(200, tscPairs(0.8))], tscRan) as never);
    const t = targets.find((x) => x.id === "edit-core-tsc")!;
    expect(t.rows.map((r) => [r.size, (r as unknown as { reference: string }).reference, r.met])).toEqual([
      ["n50-f10", "tsc5-b", true],
      ["n50-f10", "tsc7-b", true],
      ["n200-f10", "tsc5-b", true],
      ["n200-f10", "tsc7-b", true],
    ]);
    expect(t.met).toBe(true);
  });

  it("one-shot hub edit with dts: not met when TS 7 is at 1.3× tsc7-b; not measured with only the 10-package size", async () => {
    const slow = await evaluate(issue14Results([sizeOf(50, tscPairs(0.8, 1.3)), sizeOf(200, tscPairs(0.8))], tscRan) as never);
    const t = slow.find((x) => x.id === "edit-core-tsc")!;
    expect(t.met).toBe(false);
    expect(t.rows.filter((r) => r.met === false).map((r) => r.size)).toEqual(["n50-f10"]);
    const small = await evaluate(issue14Results([sizeOf(10, tscPairs(0.8))], tscRan) as never);
    expect(small.find((x) => x.id === "edit-core-tsc")!.met).toBeNull();
  });

  it("without turbo in the run, bs-esbuild-dts is measured back to back with tsc -b in edit-core", async () => {
    const { scheduleUnits } = await import(pathToFileURL(path.join(repoRoot, "bench", "run.mjs")).href);
    const { CONTENDERS } = await import(pathToFileURL(path.join(repoRoot, "bench", "lib", "contenders.mjs")).href);
    const pick = (ids: string[]) => ids.map((id) => CONTENDERS.find((c: { id: string }) => c.id === id));
    const ids = (units: { refs: { id: string }[]; members: { id: string }[] }[]) => units.map((u) => [u.refs.map((r) => r.id), u.members.map((m) => m.id)]);
    expect(ids(scheduleUnits(pick(["tsc5-b", "bs-esbuild-dts"]), "edit-core"))).toEqual([[["tsc5-b"], ["bs-esbuild-dts"]]]);
    // With turbo + tsup (dts) there, the first edit-core target's reference wins.
    expect(ids(scheduleUnits(pick(["turbo-tsup-dts", "tsc5-b", "bs-esbuild-dts"]), "edit-core"))).toEqual([
      [["turbo-tsup-dts"], ["bs-esbuild-dts"]],
      [[], ["tsc5-b"]],
    ]);
  });
});
