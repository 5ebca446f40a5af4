import path from 'node:path';
import { chooseAdapter } from '../adapters/registry.js';
import { loadPackageConfig } from '../config/load.js';
import type { AdapterName, BuilderName } from '../config/schema.js';
import { isBuildSystemError } from '../errors.js';
import { toPosix } from '../util/paths.js';
import { ReadLog } from '../util/read-log.js';
import { workspaceDependencies } from '../workspace/discover.js';
import { selectPackages, type SelectOptions } from './workspace.service.js';

export interface ListEntry {
  name: string;
  dir: string;
  /** Config file relative to the package, or null when it uses defaults. */
  configFile: string | null;
  /** What the config asks for. */
  adapter: AdapterName | null;
  /** What would be used, when available. */
  chosen: BuilderName | null;
  version: string | null;
  available: boolean;
  /** Why this adapter, or why none (with the install command). */
  reason: string;
  /** Workspace packages it depends on. */
  dependencies: string[];
}

/** Packages a build would act on, in build order, with the adapter each would use. */
export class ListService {
  async list(options: SelectOptions = {}): Promise<ListEntry[]> {
    const reads = options.reads ?? new ReadLog();
    const { workspace, packages } = selectPackages({ ...options, reads });
    const entries: ListEntry[] = [];
    for (const pkg of packages) {
      const base = { name: pkg.name, dir: pkg.dir, dependencies: workspaceDependencies(pkg, workspace) };
      try {
        const { config, file } = await loadPackageConfig(pkg, reads);
        const configFile = file ? toPosix(path.relative(pkg.dir, file)) : null;
        try {
          const choice = await chooseAdapter(pkg, config.adapter, configFile ?? 'default', reads);
          entries.push({ ...base, configFile, adapter: config.adapter, chosen: choice.adapter.name, version: choice.tool.version, available: true, reason: choice.reason });
        } catch (e) {
          entries.push({ ...base, configFile, adapter: config.adapter, chosen: null, version: null, available: false, reason: isBuildSystemError(e) ? e.message : String(e) });
        }
      } catch (e) {
        const reason = isBuildSystemError(e) ? e.lines().join('; ') : String(e);
        entries.push({ ...base, configFile: null, adapter: null, chosen: null, version: null, available: false, reason });
      }
    }
    return entries;
  }
}
