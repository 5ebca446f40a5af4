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
