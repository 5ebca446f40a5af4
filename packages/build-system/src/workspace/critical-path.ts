export interface CriticalPath {
  /** The chain of packages, first built first. */
  packages: string[];
  /** Sum of their build durations: no concurrency can finish the run faster. */
  durationMs: number;
}

/**
 * The longest chain of dependent packages by measured duration. It bounds the
 * run's wall time from below, so it says which packages to speed up first.
 */
export function criticalPath(order: readonly string[], deps: ReadonlyMap<string, readonly string[]>, durations: ReadonlyMap<string, number>): CriticalPath {
  const best = new Map<string, { total: number; prev: string | null }>();
  for (const name of order) {
    let prev: string | null = null;
    let base = 0;
    for (const d of deps.get(name) ?? []) {
      const b = best.get(d);
      if (b && b.total > base) {
        base = b.total;
        prev = d;
      }
    }
    best.set(name, { total: base + (durations.get(name) ?? 0), prev });
  }
  let end: string | null = null;
  let total = 0;
  for (const [name, b] of best) {
    if (end === null || b.total > total) {
      end = name;
      total = b.total;
    }
  }
  const packages: string[] = [];
  for (let cur = end; cur !== null; cur = best.get(cur)?.prev ?? null) packages.unshift(cur);
  return { packages, durationMs: Math.round(total * 10) / 10 };
}
