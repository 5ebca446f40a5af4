/**
 * Programmatic API. Framework-free: importing this module must not load
 * @nestjs/* (a test checks it). The CLI and this API call the same services.
 */
import type { AdapterName } from './config/schema.js';
import type { BuildEventListener } from './events.js';
import type { RunResult } from './result/schema.js';
import { CleanService, type CleanResult } from './services/clean.service.js';
import { ListService, type ListEntry } from './services/list.service.js';
import { WorkspaceBuildService } from './services/workspace.service.js';

export { defineConfig, buildConfigSchema, ADAPTER_NAMES, BUILDER_NAMES } from './config/schema.js';
export type { BuildConfigInput as UserConfig, BuildConfigInput, BuildConfig, AdapterName, BuilderName, Format } from './config/schema.js';
export { buildResultSchema, runResultSchema, diagnosticSchema, artifactSchema, RESULT_SCHEMA_VERSION } from './result/schema.js';
export type { BuildResult, RunResult, Diagnostic, Artifact, CacheInfo } from './result/schema.js';
export { BuildSystemError, isBuildSystemError, formatIssue } from './errors.js';
export type { ErrorCode, ErrorIssue } from './errors.js';
export type { BuildEvent, BuildEventListener } from './events.js';
export type { ListEntry } from './services/list.service.js';
export type { CleanResult } from './services/clean.service.js';
export type { BuilderAdapter, AdapterContext, AdapterOutput, ToolAvailability } from './adapters/types.js';
export type { ResolvedConfig } from './config/resolve.js';
export { PackageBuildService } from './services/build.service.js';
export { WorkspaceBuildService, selectPackages } from './services/workspace.service.js';
export { ListService } from './services/list.service.js';
export { CleanService } from './services/clean.service.js';

export interface BuildOptions {
  /** Directory to act from: a package, or a workspace root (default process.cwd()). */
  cwd?: string;
  /** Package names or directories; default: what cwd implies. */
  packages?: string[];
  /** Use this adapter instead of the config's. */
  adapter?: AdapterName;
  /** Wait at most this long for another process's lock (ms); 0 fails at once. Default 5 minutes. */
  lockTimeoutMs?: number;
  signal?: AbortSignal;
  /** Receives progress and tool output as events. */
  onEvent?: BuildEventListener;
}

/** Builds the selected packages in dependency order; never throws for build or config errors (they are in the result). */
export function build(options: BuildOptions = {}): Promise<RunResult> {
  return new WorkspaceBuildService().run(options);
}

export function list(options: { cwd?: string; packages?: string[] } = {}): Promise<ListEntry[]> {
  return new ListService().list(options);
}

export function clean(options: { cwd?: string; packages?: string[] } = {}): Promise<CleanResult[]> {
  return new CleanService().clean(options);
}
