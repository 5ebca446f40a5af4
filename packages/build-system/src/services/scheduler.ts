import { monotonicMs } from '../util/clock.js';

/**
 * Runs a DAG of tasks in one process with a concurrency limit. A task starts
 * the moment all of its dependencies have finished (not level by level), so
 * one slow package never holds back work that does not need it.
 *
 * A task's `dependencies` are what it must wait for, which the caller decides:
 * the workspace run lists only the workspace dependencies whose outputs a
 * package's build reads (services/dependency-needs.ts), not every edge of the
 * package graph. Edges left out do not order, skip or lengthen anything here.
 *
 * Failure semantics:
 * - a failed task's dependents (transitively, along listed dependencies) are
 *   skipped, with the reason; independent tasks go on, and so does a package
 *   that depends on the failed one only through an external import;
 * - `bail`: after the first failure nothing new starts; running tasks finish;
 * - `signal` aborted (Ctrl-C): nothing new starts; running tasks get the same
 *   signal through `run` and are expected to stop quickly on their own.
 *
 * Framework-free and generic over the result type so it is tested with fake
 * tasks (deterministic timing) as well as real builds.
 */
export interface ScheduledTask {
  name: string;
  /** Names of tasks (in this schedule) that must finish successfully first; others are ignored. */
  dependencies: readonly string[];
  /**
   * When the subset of `dependencies` the task really waits for is known only
   * later (a workspace package's config decides it, and configs load while
   * other packages already build): the task starts no earlier than this
   * settles, then waits for those names only, as if they had been its
   * `dependencies`. A name beyond `dependencies` is waited for too when it is
   * a task of this schedule (a dependency's dependency whose output comes
   * along with a bundled one: the caller vouches it is below the task; were it
   * not, the cycle ends as 'dependency cycle' skips); other names are
   * ignored. A rejection means all of `dependencies`.
   */
  waitsFor?: Promise<readonly string[]>;
}

export interface ScheduleOptions<R> {
  /** In preferred order (e.g. build order); the order breaks ties between ready tasks. */
  tasks: readonly ScheduledTask[];
  concurrency: number;
  bail?: boolean;
  signal?: AbortSignal;
  /** monotonicMs() value timeline offsets are measured from (default: when the schedule starts). */
  origin?: number;
  run: (name: string) => Promise<R>;
  /** Whether a finished task counts as failed (its dependents are then skipped). */
  isFailure: (result: R) => boolean;
  /** Makes the result of a task that will not run. Called once per skipped task, as soon as that is decided. */
  skip: (name: string, reason: string) => R;
  /** Makes a failed result when `run` throws (a bug, not a build failure): the run still ends cleanly. */
  crash: (name: string, error: unknown) => R;
}

export interface TimelineEntry {
  name: string;
  /** Milliseconds since `origin` (monotonic clock). */
  startMs: number;
  endMs: number;
}

export interface ScheduleOutcome<R> {
  results: Map<string, R>;
  /** Tasks that ran, in the order they started. */
  timeline: TimelineEntry[];
  /** The most tasks that ran at the same time. */
  maxParallel: number;
}

/**
 * Height of each task: the longest chain of dependents below it (in tasks).
 * Among ready tasks the tallest starts first: it unblocks the most work, which
 * is the usual critical-path heuristic for list scheduling.
 */
function heights(tasks: readonly ScheduledTask[], dependents: Map<string, string[]>): Map<string, number> {
  const memo = new Map<string, number>();
  const height = (name: string, guard: number): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (guard > tasks.length) return 0; // a cycle: the caller checks for those; do not recurse forever
    let h = 0;
    for (const d of dependents.get(name) ?? []) h = Math.max(h, 1 + height(d, guard + 1));
    memo.set(name, h);
    return h;
  };
  for (const t of tasks) height(t.name, 0);
  return memo;
}

/**
 * The order the scheduler prefers among tasks that are ready together (longest
 * chain behind it first, then the given order). Dependencies come before their
 * dependents, so it is also a build order: work that prepares tasks ahead of
 * the schedule (loading configs) goes best in this order.
 */
export function priorityOrder(tasks: readonly ScheduledTask[]): string[] {
  const names = new Set(tasks.map((t) => t.name));
  const order = new Map(tasks.map((t, i) => [t.name, i]));
  const dependents = new Map<string, string[]>(tasks.map((t) => [t.name, []]));
  for (const t of tasks) for (const d of new Set(t.dependencies)) if (names.has(d) && d !== t.name) dependents.get(d)!.push(t.name);
  const height = heights(tasks, dependents);
  return tasks.map((t) => t.name).sort((a, b) => (height.get(b) ?? 0) - (height.get(a) ?? 0) || order.get(a)! - order.get(b)!);
}

export function runSchedule<R>(options: ScheduleOptions<R>): Promise<ScheduleOutcome<R>> {
  const { tasks, bail = false, signal } = options;
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const names = new Set(tasks.map((t) => t.name));
  const order = new Map(tasks.map((t, i) => [t.name, i]));
  /** Every dependency a task may wait for (deduplicated, in this schedule). */
  const declared = new Map<string, string[]>();
  /** What each task waits for, once known (see ScheduledTask.waitsFor); absent while it is not. */
  const waits = new Map<string, ReadonlySet<string>>();
  const waitingOn = new Map<string, number>();
  /** Along declared edges: a task waiting for fewer is told of the rest and ignores them. */
  const dependents = new Map<string, string[]>();
  for (const t of tasks) dependents.set(t.name, []);
  for (const t of tasks) {
    const deps = [...new Set(t.dependencies)].filter((d) => names.has(d) && d !== t.name);
    declared.set(t.name, deps);
    for (const d of deps) dependents.get(d)!.push(t.name);
  }
  const height = heights(tasks, dependents);
  const rank = (a: string, b: string) => (height.get(b) ?? 0) - (height.get(a) ?? 0) || order.get(a)! - order.get(b)!;
  const ranked = tasks.map((t) => t.name).sort(rank);

  const results = new Map<string, R>();
  const timeline: TimelineEntry[] = [];
  const entries = new Map<string, TimelineEntry>();
  const started = new Set<string>();
  const succeeded = new Set<string>();
  /** Task → the failed task it is not run because of (itself when it failed). */
  const blockedBy = new Map<string, string>();
  let ready: string[] = [];
  /** Tasks whose waitsFor has not settled yet. */
  let unsettled = 0;
  let running = 0;
  let maxParallel = 0;
  let stopReason: string | null = null;
  const t0 = options.origin ?? monotonicMs();

  return new Promise((resolve) => {
    let resolved = false;
    const skip = (name: string, reason: string) => {
      if (results.has(name) || started.has(name)) return;
      results.set(name, options.skip(name, reason));
    };
    const blockedReason = (failed: string, via: string) => (via === failed ? `dependency ${failed} failed` : `dependency ${failed} failed, via ${via}`);
    /**
     * Skips everything downstream of `from` (which failed, or was skipped because `failed` did),
     * naming the package that failed. Tasks whose waits are not known yet are decided when they are.
     */
    const skipDependents = (from: string, failed: string) => {
      const queue = [from];
      while (queue.length > 0) {
        const via = queue.shift()!;
        for (const name of dependents.get(via) ?? []) {
          if (results.has(name) || started.has(name) || !waits.get(name)?.has(via)) continue;
          // Also waiting for another task this skip reaches (a package that bundles b, whose output brings a's
          // along, waits for both): skipped through that one, so its reason names the chain.
          const mine = waits.get(name)!;
          const throughOther = (w: string) => w !== via && waits.get(w)?.has(via) === true && (blockedBy.get(w) === failed || (!results.has(w) && !started.has(w)));
          if ([...mine].some(throughOther)) continue;
          skip(name, blockedReason(failed, via));
          blockedBy.set(name, failed);
          queue.push(name);
        }
      }
    };
    /** From now on the task waits for `deps` (tasks of this schedule; see ScheduledTask.waitsFor). */
    const settle = (name: string, deps: readonly string[]) => {
      const set = new Set(deps.filter((d) => names.has(d) && d !== name));
      waits.set(name, set);
      // A wait beyond the declared dependencies: its end must reach this task too.
      const own = declared.get(name)!;
      for (const d of set) if (!own.includes(d)) dependents.get(d)!.push(name);
      if (results.has(name) || started.has(name)) return;
      // Blocked by a failure: named through a skipped task it waits for when there is one (the chain), else directly.
      const blocked = [...set].filter((d) => blockedBy.has(d));
      const d = blocked.find((x) => blockedBy.get(x) !== x) ?? blocked[0];
      if (d !== undefined) {
        const failed = blockedBy.get(d)!;
        skip(name, blockedReason(failed, d));
        blockedBy.set(name, failed);
        skipDependents(name, failed);
        return;
      }
      const left = [...set].filter((d) => !succeeded.has(d)).length;
      waitingOn.set(name, left);
      if (left === 0) ready.push(name);
    };
    /** Is there an unsettled task ranked above `name` that could start as soon as it settles? */
    const outranked = (name: string) => {
      if (unsettled === 0) return false;
      for (const t of ranked) {
        if (t === name) return false;
        if (!waits.has(t) && !results.has(t) && declared.get(t)!.every((d) => succeeded.has(d))) return true;
      }
      return false;
    };
    const finish = (name: string, result: R) => {
      running--;
      entries.get(name)!.endMs = round(monotonicMs() - t0);
      results.set(name, result);
      if (options.isFailure(result)) {
        blockedBy.set(name, name);
        skipDependents(name, name);
        if (bail && stopReason === null) stopReason = `not started: --bail after ${name} failed`;
      } else {
        succeeded.add(name);
        for (const d of dependents.get(name) ?? []) {
          if (!waits.get(d)?.has(name)) continue;
          const left = waitingOn.get(d)! - 1;
          waitingOn.set(d, left);
          if (left === 0 && !results.has(d)) ready.push(d);
        }
      }
      pump();
    };
    const pump = () => {
      if (resolved) return;
      if (stopReason === null && signal?.aborted) stopReason = 'run cancelled';
      if (stopReason !== null) {
        // Nothing new starts: decide every task that has not started now, so
        // reporters show the outcome at once instead of when the last runner ends.
        for (const t of tasks) skip(t.name, stopReason);
        ready = [];
      }
      ready.sort(rank);
      while (running < concurrency && ready.length > 0) {
        // The order stays what it would be with every wait known up front: a task that may be ready
        // the moment its waits are known (each dependency it declared has succeeded) and ranks
        // higher goes first. Every ready task ranks below the head, so all of them wait too.
        if (outranked(ready[0]!)) break;
        const name = ready.shift()!;
        if (results.has(name)) continue;
        started.add(name);
        running++;
        maxParallel = Math.max(maxParallel, running);
        const entry = { name, startMs: round(monotonicMs() - t0), endMs: 0 };
        entries.set(name, entry);
        timeline.push(entry);
        let promise: Promise<R>;
        try {
          promise = options.run(name);
        } catch (e) {
          promise = Promise.reject(e);
        }
        promise.then(
          (r) => finish(name, r),
          (e) => finish(name, options.crash(name, e)),
        );
      }
      if (running === 0 && ready.length === 0 && (unsettled === 0 || results.size === tasks.length)) {
        // Defensive: tasks still waiting with nothing running can only be a cycle the caller missed.
        for (const t of tasks) skip(t.name, 'dependency cycle');
        resolved = true;
        signal?.removeEventListener('abort', pump);
        resolve({ results, timeline, maxParallel });
      }
    };
    for (const t of tasks) {
      if (!t.waitsFor) {
        settle(t.name, declared.get(t.name)!);
        continue;
      }
      unsettled++;
      const settled = (deps: readonly string[]) => {
        unsettled--;
        if (resolved) return;
        settle(t.name, deps);
        pump();
      };
      t.waitsFor.then(settled, () => settled(declared.get(t.name)!));
    }
    signal?.addEventListener('abort', pump, { once: true });
    pump();
  });
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
