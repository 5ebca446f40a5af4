import type { PlanEntry } from '../result/schema.js';
import { PackageBuildService } from './build.service.js';
import { planSelection } from './plan.js';
import type { SelectOptions } from './selection.js';

/**
 * One package as `list()` and `list --json` show it: the plan's entry (name,
 * dir, configFile, adapter, chosen, version, available, reason, dependencies;
 * plus waitsFor, cache and, when it cannot build, error).
 */
export type ListEntry = PlanEntry;

/**
 * Packages a build would act on, in build order, with the adapter each would
 * use: the plan (services/plan.ts), the same selection and facts as CLI
 * `list` and `build --dry-run`. A selection error is thrown (the CLI prints it).
 */
export class ListService {
  constructor(private readonly packageBuild: PackageBuildService = new PackageBuildService()) {}

  async list(options: SelectOptions = {}): Promise<ListEntry[]> {
    return (await planSelection(this.packageBuild, options)).packages;
  }
}
