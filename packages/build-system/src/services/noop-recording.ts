import path from 'node:path';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { debugNoop } from '../cache/noop/debug.js';
import { recordFile, recordKey, type RecordedGraphEntry, type SelectionInput } from '../cache/noop/record.js';
import { writeNoopRecord } from '../cache/noop/write.js';
import { withPrevious } from '../cache/noop/merge.js';
import type { PreviousRun } from '../cache/noop/check.js';
import type { RecordedReads } from '../cache/build-reads.js';
import type { KeyState } from '../cache/package-cache.js';
import type { PreparedPackage } from './build.service.js';
import { CrossPackageReads } from './watch-readers.js';
import { LocalCacheStore } from '../cache/store.js';
import type { BuildEvent } from '../events.js';
import { lockDirFor } from '../lock.js';
import type { RunResult } from '../result/schema.js';
import type { Selection } from './workspace.service.js';
import { isInside } from '../util/paths.js';
import { ReadLog } from '../util/read-log.js';

/** Lines of tool output kept per package, as a cache entry keeps them (build.service.ts STORED_LOG_LINES). */
const KEPT_LOG_LINES = 5000;

/**
 * One CLI build run being recorded for no-op replay (cache/noop/record.ts):
 * the run's read log (what it read, util/read-log.ts), its selection (the
 * workspace graph) and the tool output it printed, and the record written at the end when the run qualifies.
 */
export class NoopRecording {
  private selection: Selection | null = null;
  private readonly logs = new Map<string, { stream: 'stdout' | 'stderr'; line: string }[]>();
  /** What each package built or checked this run read outside its directory: the reads file a later partial run starts from. */
  private readonly crossReads = new CrossPackageReads();
  /** The record this run started from, keeping some packages' results (services/partial-run.ts): what those read is still its. */
  private partial: PreviousRun | null = null;

  /** `reads` must be the log the run reads through (created with recording = true). */
  constructor(readonly reads: ReadLog) {}

  /** The run's selection: its graph (and what it decided about participation) is what a replay resolves selections against. */
  onSelected(selection: Selection): void {
    this.selection = selection;
  }

  /** A package's build told what it read (a hit or a stored miss): RunHooks.onReads. */
  onReads(prepared: PreparedPackage, reads: RecordedReads, entryKey: string, key: KeyState): void {
    this.crossReads.setFromBuild(prepared, reads, entryKey, key);
  }

  /** The run started from `previous` and kept some of its results (RunHooks.onPartial). */
  onPartial(previous: PreviousRun): void {
    this.partial = previous;
  }

  onEvent(event: BuildEvent): void {
    if (event.type !== 'log') return;
    let lines = this.logs.get(event.package);
    if (!lines) this.logs.set(event.package, (lines = []));
    if (lines.length < KEPT_LOG_LINES) lines.push({ stream: event.stream, line: event.line });
  }

  /** `selection`: this invocation's cwd, package names and filter texts, as a replay of it resolves them. */
  async finish(run: RunResult, key: { options: Record<string, unknown>; cacheDir?: string }, selection?: SelectionInput): Promise<void> {
    const observed = this.reads.observations();
    const why = this.unrecordable(run, observed.refused);
    if (why || !this.selection) {
      debugNoop(`not written: ${why ?? 'no selection'}`);
      return;
    }
    const { graph, participation } = this.selection;
    const root = graph.root;
    const outside = run.results.find((r) => !isInside(root, r.package.dir));
    if (outside) {
      debugNoop(`not written: ${outside.package.name} is outside the workspace ${root}`);
      return;
    }
    const names = [...graph.nodes.keys()];
    const index = new Map(names.map((n, i) => [n, i]));
    const recordedGraph: RecordedGraphEntry[] = names.map((name) => {
      const pkg = graph.nodes.get(name)!;
      const decided = participation.get(pkg.dir);
      return [
        name,
        path.relative(root, pkg.dir),
        (graph.dependencies.get(name) ?? []).map((d) => index.get(d)!),
        decided === undefined ? -1 : decided ? 1 : 0,
        this.selection!.workspace.byName.get(name) === pkg ? 0 : 1,
      ];
    });
    const cacheDir = resolveCacheDir(root, key.cacheDir);
    const store = new LocalCacheStore(cacheDir);
    const recordKeyValue = recordKey({ root, cacheDir, options: key.options });
    const problem = await writeNoopRecord({
      cacheDir,
      key: recordKeyValue,
      root,
      graph: recordedGraph,
      run,
      logs: this.logs,
      observed: this.partial ? withPrevious(this.partial, observed, new Set(run.results.map((r) => path.resolve(r.package.dir, r.outDir!)))) : observed,
      reads: this.packageReads(run),
      selection,
      outputs: run.results.map((r) => ({
        pkgDir: r.package.dir,
        outDir: path.resolve(r.package.dir, r.outDir!),
        manifest: store.manifestFile(r.cache.key!),
        lockDir: lockDirFor(r.package.dir),
      })),
    });
    debugNoop(problem ? `not written: ${problem}` : `written: ${recordFile(cacheDir, recordKeyValue)}`);
  }

  /** Per result, what it read outside its directory: this run's report, else (kept) the record's; null when one is unknown. */
  private packageReads(run: RunResult): Record<string, readonly string[]> | null {
    const out: Record<string, readonly string[]> = {};
    for (const r of run.results) {
      const name = r.package.name;
      const paths = this.crossReads.pathsOf(name) ?? this.partial?.reads.packages[name];
      if (!paths) return null;
      out[name] = paths;
    }
    return out;
  }

  private unrecordable(run: RunResult, refused: string | null | undefined): string | null {
    if (refused) return refused;
    if (!run.ok || run.cancelled || run.error || run.results.length === 0) return 'the run did not succeed';
    if (run.cache?.remote) return 'a remote cache took part';
    // Its warning is printed by the run, not kept in results: a replay would drop it.
    if (this.selection?.leftOut.length) return 'the selection left out packages that share a name';
    for (const r of run.results) {
      if (r.status !== 'success' || !r.cache.key || !r.outDir || (r.cache.status !== 'hit' && r.cache.status !== 'miss')) return `${r.package.name} was not built through the cache`;
      if (r.diagnostics.some((d) => d.code === 'CACHE')) return `${r.package.name} had a cache problem`;
    }
    return null;
  }
}
