import type { BuilderName } from '../config/schema.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { Diagnostic } from '../result/schema.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * One interface for every builder. An adapter knows how to find its tool,
 * run it into a directory it is given, and translate the tool's errors into
 * diagnostics. It knows nothing of locks, caches or where outDir finally lives:
 * the build service hands it an empty staging directory and swaps it in.
 */
export interface BuilderAdapter {
  readonly name: BuilderName;
  /** Is the tool installed for this package? Cheap; may be called for `build:list`. */
  check(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability>;
  build(ctx: AdapterContext): Promise<AdapterOutput>;
}

export type ToolAvailability =
  | {
      available: true;
      /** Tool version, e.g. "0.28.2". */
      version: string;
      /** Where the tool was found (module dir or binary path). */
      location: string;
    }
  | {
      available: false;
      /** Why not, in one line. */
      reason: string;
      /** The exact command that installs it for this package. */
      installHint: string;
    };

export interface AdapterContext {
  pkg: PackageInfo;
  config: ResolvedConfig;
  /** Absolute, existing, empty directory to write every output into (the staging dir). */
  outDir: string;
  /** What `check()` returned (always available here). */
  tool: Extract<ToolAvailability, { available: true }>;
  signal: AbortSignal;
  /** The run's read log (tool lookups during the build are logged like any other read). */
  reads: ReadLog;
  /**
   * The run's cache dir (--cache-dir, BUILD_SYSTEM_CACHE_DIR or the workspace's default, as the cache
   * store resolves it): where a tool keeps what it reuses across runs (the TypeScript 5 snapshot), so
   * `cache clear` removes it and nothing lands elsewhere.
   */
  cacheDir: string;
  /** One line of tool output (no trailing newline). */
  log(stream: 'stdout' | 'stderr', line: string): void;
}

export interface AdapterOutput {
  ok: boolean;
  /** Absolute paths of the files the tool reports it wrote (inside ctx.outDir). */
  files: string[];
  diagnostics: Diagnostic[];
  /**
   * Absolute paths of the files the tool read to produce the outputs, as the
   * tool itself reports them: esbuild's and bun's metafile inputs, rollup's
   * module graph, TypeScript's program files. The cache keys the entry on
   * their content (cache/build-reads.ts), so a file the build read outside
   * the package is an input like any other. null when the tool could not say:
   * such a build is not cached. Ignored for a failed build.
   */
  reads: string[] | null;
  /**
   * Paths the build looked for and did not find, where a file appearing would
   * change the output (an esbuild plugin's `watchFiles` that do not exist):
   * the entry is keyed on their staying absent.
   */
  absentReads?: string[];
  /** Directories whose names the output depends on (an esbuild plugin's `watchDirs`): keyed on their listing. */
  dirReads?: string[];
  /** Env vars the build's own code read (plugins: adapters/plugin-reads.ts): keyed on their values. */
  envReads?: string[];
  /**
   * Files the tool opened by a fixed name, not by resolving an import (bun's
   * `.env` files): keyed on their content, without their directory's listing
   * (a file added beside them changes nothing the tool read).
   */
  fixedReads?: string[];
}
