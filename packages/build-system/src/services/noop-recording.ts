import path from 'node:path';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { debugNoop } from '../cache/noop/debug.js';
import { recordFile, recordKey, type RecordedGraphEntry, type SelectionInput } from '../cache/noop/record.js';
import { writeNoopRecord } from '../cache/noop/write.js';
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

  /** `reads` must be the log the run reads through (created with recording = true). */
  constructor(readonly reads: ReadLog) {}

  /** The run's selection: its graph (and what it decided about participation) is what a replay resolves selections against. */
  onSelected(selection: Selection): void {
    this.selection = selection;
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
      observed,
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
