import { evaluateFilters, type ParsedFilter } from './filter.js';
import { dependencyClosure, type PackageGraph } from './graph.js';

/**
 * The graph half of a selection, shared by selectPackages (services/workspace.service.ts)
 * and the no-op replay (cache/noop/selection.ts), so both resolve a selection alike:
 * seeds plus their dependencies, filters added, `!` filters removed, and of those
 * the packages that take part or were named exactly (`explicit`, extended here by
 * the filters' exact names). `chosen` is before the participation check (for messages).
 */
export function chooseInGraph(
  graph: PackageGraph,
  seeds: readonly string[],
  explicit: Set<string>,
  filters: readonly ParsedFilter[],
  cwd: string,
  withDependencies: boolean,
  participates: (name: string) => boolean,
): { chosen: Set<string>; final: Set<string> } {
  const chosen = new Set(seeds);
  if (withDependencies) for (const n of dependencyClosure(graph, chosen)) chosen.add(n);
  if (filters.length > 0) {
    const r = evaluateFilters(filters, { graph, cwd });
    for (const n of r.include ?? []) chosen.add(n);
    for (const n of r.explicit) explicit.add(n);
    // An exclusion wins over everything, a positional name included.
    for (const n of r.exclude) chosen.delete(n);
  }
  return { chosen, final: new Set([...chosen].filter((n) => explicit.has(n) || participates(n))) };
}
