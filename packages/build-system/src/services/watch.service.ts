import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveCacheDir } from '../cache/cache-dir.js';
import { BuildSystemError } from '../errors.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import type { RunResult } from '../result/schema.js';
import type { WatchRound } from '../result/watch-schema.js';
import { DirWatcher } from '../util/dir-watcher.js';
import { isInside } from '../util/paths.js';
import { ReadLog } from '../util/read-log.js';
import { dependentClosure } from '../workspace/graph.js';
import { classifyBatch, type Classified } from './watch-classify.js';
import { OutputGuard } from './watch-outputs.js';
import { OwnWrites } from './watch-own-writes.js';
import { missedChanges } from './watch-missed.js';
import { CrossPackageReads } from './watch-readers.js';
import { RoundReuse } from './watch-reuse.js';
import { selectPackages, WorkspaceBuildService, type RunOptions, type Selection } from './workspace.service.js';

/** A watch: the request (request.ts) of every round, the hooks it passes on, and its own debounce. */
export interface WatchOptions extends Omit<RunOptions, 'dryRun' | 'signal' | 'reads' | 'onPlan' | 'onReads' | 'reuse' | 'previous' | 'onPartial' | 'withDependencies' | 'remoteSession'> {
  /**
   * After the first change, wait this long for more before a round starts (ms,
   * default 15): an editor's save (temp file, rename) or a `git checkout`
   * is one round, not several. Changes during a round wait for the next one anyway.
   */
  debounceMs?: number;
}

/**
 * Why a watch refuses `--no-cache`: without a cache no build computes its key, so neither its inputs
 * (what the rounds watch) nor what it read of other packages (who takes part in a round) is known, and
 * an edit would start no round at all.
 */
export const NO_CACHE_WITH_WATCH = 'cannot be used with watch: a watch learns what to watch, and which packages a change reaches, from the inputs the cache records';

/** `watch()`: the rounds as they finish, and how to stop. */
export interface WatchSession extends AsyncIterable<WatchRound> {
  /** Stops watching; a running round is cancelled (locks released, staging removed, outDirs left whole). Resolves once it has. */
  close(): Promise<void>;
}

/** Names beside outDir and in a package that build-system itself writes (staging, journal, lock). */
const OWN_FILE = /^\.build-system/;
/** Directories that are never inputs as such (the package lock may create a package's node_modules); what a build reads inside them is watched by its own directory. */
const NEVER_INPUT = new Set(['node_modules', '.git']);

/**
 * Watch mode on top of the one-shot run: each round is a
 * `WorkspaceBuildService.run` over the packages a change can affect, so it has
 * the run's per-package lock, atomic output swap and content cache — a
 * dependent whose inputs did not change is a hit. Round 0 builds the whole
 * selection. What is watched is what the builds read: every directory in the
 * round's read log (input directories listed, directories of files read, of
 * configs and tsconfigs along `extends`, of paths probed and absent), except
 * outDirs, build-system's own files and the cache directory.
 *
 * A change inside a selected package makes that package and its dependents
 * (within the selection) the next round, together with every package that
 * failed or was skipped last time. A build.config.*, a package.json or
 * anything outside the selected packages (a shared tsconfig, the lockfile, a
 * new package directory) makes it a full round with the selection computed
 * again. Changes that arrive while a round runs are kept and make the next
 * round: none is lost, and a burst is one round.
 *
 * The outputs a round published are guarded (watch-outputs.ts): deleted or
 * rewritten by something else, their package takes part in the next round,
 * whose cache hit puts them back.
 */
export class WatchService {
  constructor(private readonly builds: WorkspaceBuildService = new WorkspaceBuildService()) {}

  watch(options: WatchOptions = {}): WatchSession {
    if (options.noCache) throw new BuildSystemError('USAGE', NO_CACHE_WITH_WATCH, { field: 'noCache' });
    return new WatchLoop(this.builds, options).session();
  }
}

class WatchLoop {
  private readonly pending = new Set<string>();
  private wake: (() => void) | null = null;
  private readonly controller = new AbortController();
  private readonly watcher: DirWatcher;
  private closed = false;
  private done: Promise<void> = Promise.resolve();
  // The async iterator's side: finished rounds not yet taken, and a reader waiting for one.
  private readonly ready: WatchRound[] = [];
  private reader: ((r: IteratorResult<WatchRound>) => void) | null = null;
  private readerFail: ((e: unknown) => void) | null = null;
  private failure: unknown = null;

  private selection: Selection | null = null;
  /** Every outDir a result named → its package: whose outputs a kept package read (watch-reuse.ts). */
  private readonly outDirOwners = new Map<string, string>();
  /** Each package's last successful result: what a later round may keep (watch-reuse.ts). */
  private readonly lastResults = new Map<string, RunResult['results'][number]>();
  /** Packages whose last build failed or was skipped: part of every round until they succeed. */
  private readonly unsettled = new Set<string>();
  /** The selected packages' outDirs and the cache directory: our own writes, never a reason for a round. */
  private readonly own = new OwnWrites();
  /** The outputs the rounds published: one deleted or rewritten by something else starts a round that puts it back. */
  private readonly outputs = new OutputGuard();
  /** Packages a round took part in because their outputs were not as published: not scheduled again by the next round's check. */
  private restoring = new Set<string>();
  /** Who reads files inside another package (from the builds' recorded reads): part of a round its files start. */
  private readonly crossReads = new CrossPackageReads();
  private watched = new Set<string>();
  /** Every path the builds read, stat'd or looked for: a change to one of them counts. */
  private known = new Set<string>();
  /** Directories whose listing the builds used, with the names they held: a new entry there counts too. */
  private listed = new Map<string, Set<string>>();
  private readonly cwd: string;

  constructor(
    private readonly builds: WorkspaceBuildService,
    private readonly options: WatchOptions,
  ) {
    this.cwd = path.resolve(options.cwd ?? process.cwd());
    // The cache directory is written by every build and read by none as an input: never watched.
    this.own.setCacheDir(options.cacheDir ? path.resolve(options.cacheDir) : null);
    this.watcher = new DirWatcher((file) => this.changed(file));
  }

  session(): WatchSession {
    this.done = this.loop().catch((e) => {
      this.failure = e;
      this.readerFail?.(e);
    });
    return {
      close: () => this.close(),
      [Symbol.asyncIterator]: () => ({
        next: () => this.next(),
        return: async () => {
          await this.close();
          return { done: true, value: undefined };
        },
      }),
    };
  }

  private next(): Promise<IteratorResult<WatchRound>> {
    if (this.failure) return Promise.reject(this.failure);
    const round = this.ready.shift();
    if (round) return Promise.resolve({ done: false, value: round });
    if (this.closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.reader = resolve;
      this.readerFail = reject;
    });
  }

  private publish(round: WatchRound): void {
    if (this.reader) {
      const r = this.reader;
      this.reader = this.readerFail = null;
      r({ done: false, value: round });
    } else this.ready.push(round);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.controller.abort();
      this.watcher.close();
      this.wake?.();
    }
    await this.done;
    if (this.reader) {
      const r = this.reader;
      this.reader = this.readerFail = null;
      r({ done: true, value: undefined });
    }
  }

  private changed(file: string): void {
    if (this.closed || (this.outputs.owner(file) === undefined && this.ignored(file))) return;
    this.pending.add(file);
    this.wake?.();
  }

  private ignored(file: string): boolean {
    const name = path.basename(file);
    return OWN_FILE.test(name) || NEVER_INPUT.has(name) || this.own.holds(file);
  }

  private async loop(): Promise<void> {
    let number = 0;
    await this.round(number++, { full: true, dirty: new Set(), files: [], restore: new Set() }, 0);
    const debounceMs = this.options.debounceMs ?? 15;
    while (!this.closed) {
      if (this.pending.size === 0) await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
      if (this.closed) break;
      if (debounceMs > 0) await new Promise((resolve) => setTimeout(resolve, debounceMs));
      if (this.closed) break;
      const batch = [...this.pending];
      this.pending.clear();
      const what = this.classify(batch);
      // Nothing any build read: no round (a log file, an editor's temp file in an unlisted directory).
      if (what.files.length === 0) continue;
      await this.round(number++, what, what.files.length);
    }
  }

  private classify(files: readonly string[]): Classified {
    const what = classifyBatch(files, { selection: this.selection, cwd: this.cwd, known: this.known, listed: this.listed, crossReads: this.crossReads, outputs: this.outputs });
    this.restoring = what.restore;
    return what;
  }

  private async round(number: number, what: Classified, count: number): Promise<void> {
    const started = performance.now();
    const reads = new ReadLog();
    // Packages whose build told what it read (a hit, a stored miss): the others' reads are unknown after the round.
    const told = new Set<string>();
    const base: RunOptions = {
      ...this.options,
      reads,
      signal: this.controller.signal,
      onReads: (prepared, read, entry, key) => {
        told.add(prepared.pkg.name);
        this.crossReads.setFromBuild(prepared, read, entry, key);
      },
    };
    let packages: string[] | null = null;
    if (!what.full && this.selection) {
      const selected = new Set(this.selection.packages.map((p) => p.name));
      const affected = new Set([...dependentClosure(this.selection.graph, what.dirty)].filter((n) => selected.has(n)));
      for (const n of this.unsettled) if (selected.has(n)) affected.add(n);
      packages = this.selection.packages.map((p) => p.name).filter((n) => affected.has(n));
    }
    let run: RunResult;
    let reuse: RoundReuse | undefined;
    if (packages) {
      reuse = new RoundReuse(this.lastResults, what.dirty, packages, this.crossReads, this.outDirOwners);
      const onEvent: RunOptions['onEvent'] = (e) => {
        if (e.type === 'package-done') reuse!.finished(e.result);
        this.options.onEvent?.(e);
      };
      run = await this.builds.run({ ...base, onEvent, reuse, packages, filter: undefined, withDependencies: false });
    } else {
      run = await this.builds.run(base);
      // The graph for the rounds to come: read through the same log, so its package.json files are watched too.
      try {
        this.selection = selectPackages({ ...this.options, reads });
      } catch {
        this.selection = null;
      }
    }
    // A run that could not even select (a cycle, a broken package.json): the next round selects again.
    if (run.error) this.selection = null;
    const kept = new Set(reuse?.kept ?? []);
    for (const r of run.results) if (r.status === 'success' && !told.has(r.package.name) && !kept.has(r.package.name)) this.crossReads.readsUnknown(r.package.name);
    this.settle(run, packages === null);
    this.updateWatches(reads, packages === null);
    if (this.closed && run.cancelled) return;
    this.publish(this.roundResult(number, what, count, run, performance.now() - started, reuse?.kept ?? []));
  }

  private settle(run: RunResult, full: boolean): void {
    if (full) this.unsettled.clear();
    for (const r of run.results) {
      if (r.status === 'success') this.unsettled.delete(r.package.name);
      else this.unsettled.add(r.package.name);
      if (r.status === 'success') this.lastResults.set(r.package.name, r);
      else this.lastResults.delete(r.package.name);
      if (r.outDir) this.outDirOwners.set(path.resolve(r.package.dir, r.outDir), r.package.name);
    }
    this.own.addOutDirs(run.results.flatMap((r) => (r.outDir ? [path.resolve(r.package.dir, r.outDir)] : [])));
    // Outputs already not as published (deleted between the swap and now): checked in the next batch, once (a round that
    // could not put them back does not start another by itself).
    for (const name of this.outputs.record(run.results, this.restoring)) {
      const r = run.results.find((x) => x.package.name === name)!;
      if (!this.restoring.has(name)) this.changed(path.resolve(r.package.dir, r.outDir!));
    }
  }

  /** Watch the directories this round read (added to what earlier rounds read, unless it read everything). */
  private updateWatches(reads: ReadLog, full: boolean): void {
    const seen = reads.observations();
    const dirs = full ? new Set<string>() : new Set(this.watched);
    if (full) {
      this.known = new Set();
      this.listed = new Map();
    }
    for (const [dir, seenDir] of seen.dirs) {
      this.known.add(dir);
      if (seenDir.names) this.listed.set(dir, new Set(seenDir.names));
    }
    for (const file of [...seen.files.keys(), ...seen.links.keys(), ...seen.absent]) this.known.add(file);
    // Only inside the workspace: the root search also probed every directory above it.
    const root = this.selection?.workspace.root ?? this.cwd;
    if (this.selection) this.own.setCacheDir(resolveCacheDir(this.selection.workspace.root, this.options.cacheDir));
    // Thousands of files share a few hundred directories: each directory is judged once.
    const judged = new Set<string>();
    const realpaths = new Map<string, string>();
    const add = (dir: string) => {
      if (judged.has(dir)) return;
      judged.add(dir);
      if (!isInside(root, dir)) return;
      if (OWN_FILE.test(path.basename(dir))) return;
      if (this.own.holds(dir, realpaths)) return;
      dirs.add(dir);
    };
    for (const dir of seen.dirs.keys()) add(dir);
    for (const file of seen.files.keys()) add(path.dirname(file));
    for (const file of seen.links.keys()) add(path.dirname(file));
    // Something looked for and not found (a config name not taken, a tool not installed): its creation counts.
    for (const file of seen.absent) add(path.dirname(file));
    // The workspace root: a new package directory, a new lockfile.
    if (this.selection) add(this.selection.workspace.root);
    // The published outputs' directories: not read by any build as an input, watched for the guard.
    for (const dir of this.outputs.dirs()) dirs.add(dir);
    this.watcher.sync(dirs);
    this.watched = dirs;
    for (const file of missedChanges(seen)) this.changed(file);
  }

  private roundResult(number: number, what: Classified, count: number, run: RunResult, durationMs: number, kept: string[]): WatchRound {
    const names = (pred: (r: RunResult['results'][number]) => boolean) => run.results.filter(pred).map((r) => r.package.name);
    return {
      schemaVersion: RESULT_SCHEMA_VERSION,
      type: 'round',
      round: number,
      trigger: { files: what.files.slice(0, 10), count },
      reloaded: what.full,
      packages: run.results.map((r) => r.package.name),
      rebuilt: names((r) => r.cache.status !== 'hit' && r.status !== 'skipped'),
      hits: run.results.filter((r) => r.cache.status === 'hit').length,
      kept,
      failed: names((r) => r.status === 'failed'),
      skipped: names((r) => r.status === 'skipped'),
      durationMs: Math.round(durationMs * 10) / 10,
      watching: this.watcher.size,
      run,
    };
  }
}
