import { describe, expect, it } from 'vitest';
import { runSchedule, type ScheduledTask } from '../src/services/scheduler.js';

/**
 * The scheduler with fake tasks whose completion the test controls: what
 * starts when is checked from events, not from timing.
 */
type Result = { name: string; status: 'ok' | 'failed' | 'skipped' | 'crashed'; reason?: string };

function harness(tasks: ScheduledTask[], opts: { concurrency: number; bail?: boolean; signal?: AbortSignal }) {
  const gates = new Map<string, (status: 'ok' | 'failed') => void>();
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const schedule = runSchedule<Result>({
    tasks,
    concurrency: opts.concurrency,
    bail: opts.bail,
    signal: opts.signal,
    run: (name) => {
      log.push(`start ${name}`);
      running++;
      peak = Math.max(peak, running);
      return new Promise((resolve) => {
        gates.set(name, (status) => {
          running--;
          log.push(`end ${name}`);
          resolve({ name, status });
        });
      });
    },
    isFailure: (r) => r.status === 'failed' || r.status === 'crashed',
    skip: (name, reason) => {
      log.push(`skip ${name}`);
      return { name, status: 'skipped', reason };
    },
    crash: (name, e) => ({ name, status: 'crashed', reason: String(e) }),
  });
  /** Lets the microtask queue drain so the scheduler reacts to a finished task. */
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const finish = async (name: string, status: 'ok' | 'failed' = 'ok') => {
    const gate = gates.get(name);
    if (!gate) throw new Error(`${name} has not started (log: ${log.join(', ')})`);
    gate(status);
    await tick();
  };
  const started = () => log.filter((l) => l.startsWith('start ')).map((l) => l.slice(6));
  return { schedule, finish, log, started, peak: () => peak, tick };
}

const t = (name: string, ...dependencies: string[]): ScheduledTask => ({ name, dependencies });

describe('scheduler', () => {
  it('starts a package as soon as its own dependencies finish, not level by level', async () => {
    // slow ← after-slow; fast ← after-fast. Level by level, after-fast would wait for slow too.
    const h = harness([t('slow'), t('fast'), t('after-slow', 'slow'), t('after-fast', 'fast')], { concurrency: 4 });
    await h.tick();
    expect(h.started().sort()).toEqual(['fast', 'slow']);
    await h.finish('fast');
    expect(h.started()).toContain('after-fast');
    expect(h.started()).not.toContain('after-slow');
    await h.finish('after-fast');
    await h.finish('slow');
    expect(h.started()).toContain('after-slow');
    await h.finish('after-slow');
    const out = await h.schedule;
    expect([...out.results.values()].every((r) => r.status === 'ok')).toBe(true);
    expect(out.timeline.map((e) => e.name)).toEqual(['slow', 'fast', 'after-fast', 'after-slow']);
  });

  it('never runs more than `concurrency` at once, and uses all of it', async () => {
    const h = harness([t('a'), t('b'), t('c'), t('d'), t('e')], { concurrency: 2 });
    await h.tick();
    expect(h.started()).toHaveLength(2);
    // Finish whatever runs, oldest first, until nothing is left.
    for (let open = h.started()[0]; open !== undefined; open = h.started().find((s) => !h.log.includes(`end ${s}`))) {
      // eslint-disable-next-line no-await-in-loop
      await h.finish(open);
    }
    const out = await h.schedule;
    expect(h.peak()).toBe(2);
    expect(out.maxParallel).toBe(2);
    expect(out.results.size).toBe(5);
  });

  it('a failure skips its dependents (transitively, naming the failed package) while independent tasks go on', async () => {
    const h = harness([t('base'), t('mid', 'base'), t('top', 'mid'), t('solo')], { concurrency: 4 });
    await h.tick();
    await h.finish('base', 'failed');
    await h.finish('solo');
    const out = await h.schedule;
    expect(out.results.get('mid')).toMatchObject({ status: 'skipped', reason: 'dependency base failed' });
    expect(out.results.get('top')).toMatchObject({ status: 'skipped', reason: 'dependency base failed, via mid' });
    expect(out.results.get('solo')!.status).toBe('ok');
    expect(h.started()).toEqual(['base', 'solo']);
  });

  it('a diamond root runs once and its dependents wait for every dependency', async () => {
    const h = harness([t('root'), t('left', 'root'), t('right', 'root'), t('top', 'left', 'right')], { concurrency: 4 });
    await h.tick();
    await h.finish('root');
    expect(h.started().sort()).toEqual(['left', 'right', 'root']);
    await h.finish('left');
    expect(h.started()).not.toContain('top');
    await h.finish('right');
    await h.finish('top');
    await h.schedule;
    expect(h.started().filter((n) => n === 'root')).toHaveLength(1);
  });

  it('--bail: after the first failure nothing new starts; running tasks finish', async () => {
    const h = harness([t('bad'), t('long'), t('later'), t('after-long', 'long')], { concurrency: 2, bail: true });
    await h.tick();
    expect(h.started().sort()).toEqual(['bad', 'long']);
    await h.finish('bad', 'failed');
    // `later` would have taken bad's slot without --bail.
    expect(h.started().sort()).toEqual(['bad', 'long']);
    await h.finish('long');
    const out = await h.schedule;
    expect(h.started().sort()).toEqual(['bad', 'long']);
    expect(out.results.get('long')!.status).toBe('ok');
    expect(out.results.get('later')).toMatchObject({ status: 'skipped', reason: 'not started: --bail after bad failed' });
    expect(out.results.get('after-long')).toMatchObject({ status: 'skipped', reason: 'not started: --bail after bad failed' });
  });

  it('without --bail the same failure lets the rest run', async () => {
    const h = harness([t('bad'), t('long'), t('later')], { concurrency: 2 });
    await h.tick();
    await h.finish('bad', 'failed');
    expect(h.started()).toContain('later');
    await h.finish('long');
    await h.finish('later');
    const out = await h.schedule;
    expect(out.results.get('later')!.status).toBe('ok');
  });

  it('an abort starts nothing new and skips what has not started at once; running tasks settle', async () => {
    const controller = new AbortController();
    const h = harness([t('a'), t('b'), t('c', 'a')], { concurrency: 1, signal: controller.signal });
    await h.tick();
    expect(h.started()).toEqual(['a']);
    controller.abort();
    await h.tick();
    // Decided immediately, before the running task ends: reporters can show it.
    expect(h.log).toContain('skip b');
    expect(h.log).toContain('skip c');
    await h.finish('a');
    const out = await h.schedule;
    expect(h.started()).toEqual(['a']);
    expect(out.results.get('b')).toMatchObject({ status: 'skipped', reason: 'run cancelled' });
  });

  it('a task that throws becomes a failed result and its dependents are skipped', async () => {
    const out = await runSchedule<Result>({
      tasks: [t('boom'), t('after', 'boom'), t('other')],
      concurrency: 2,
      run: async (name) => {
        if (name === 'boom') throw new Error('kaboom');
        return { name, status: 'ok' };
      },
      isFailure: (r) => r.status === 'crashed',
      skip: (name, reason) => ({ name, status: 'skipped', reason }),
      crash: (name, e) => ({ name, status: 'crashed', reason: (e as Error).message }),
    });
    expect(out.results.get('boom')).toMatchObject({ status: 'crashed', reason: 'kaboom' });
    expect(out.results.get('after')!.status).toBe('skipped');
    expect(out.results.get('other')!.status).toBe('ok');
  });

  it('among ready tasks the one with the longest chain behind it starts first', async () => {
    // With one slot, `head` (3 tasks wait on it) must go before `leaf` even though leaf is listed first.
    const h = harness([t('leaf'), t('head'), t('n1', 'head'), t('n2', 'n1')], { concurrency: 1 });
    await h.tick();
    expect(h.started()).toEqual(['head']);
    await h.finish('head');
    expect(h.started()).toEqual(['head', 'n1']);
    await h.finish('n1');
    await h.finish('leaf');
    await h.finish('n2');
    await h.schedule;
  });

  it('an empty schedule resolves at once', async () => {
    const out = await runSchedule({ tasks: [], concurrency: 2, run: async () => 1, isFailure: () => false, skip: () => 0, crash: () => 0 });
    expect(out.results.size).toBe(0);
  });
  describe('waits known late (waitsFor)', () => {
    /** A promise the test settles. */
    const later = () => {
      let settle!: (deps: string[]) => void;
      let fail!: () => void;
      const promise = new Promise<readonly string[]>((resolve, reject) => {
        settle = resolve;
        fail = () => reject(new Error('no config'));
      });
      return { promise, settle, fail };
    };

    it('a task starts only once its waits are known, then waits for those alone', async () => {
      const w = later();
      const h = harness([t('dep'), t('ext'), { name: 'app', dependencies: ['dep', 'ext'], waitsFor: w.promise }], { concurrency: 4 });
      await h.tick();
      expect(h.started().sort()).toEqual(['dep', 'ext']);
      await h.finish('dep');
      expect(h.started()).not.toContain('app');
      w.settle(['dep']);
      await h.tick();
      // ext is still running: app does not wait for it.
      expect(h.started()).toContain('app');
      await h.finish('app');
      await h.finish('ext');
      const out = await h.schedule;
      expect(out.results.get('app')!.status).toBe('ok');
    });

    it('a dependency that failed before the waits were known skips the task, with the reason a known wait gives', async () => {
      const w = later();
      const w2 = later();
      const h = harness(
        [t('core'), t('mid', 'core'), { name: 'app', dependencies: ['mid'], waitsFor: w.promise }, { name: 'ext', dependencies: ['core'], waitsFor: w2.promise }],
        { concurrency: 4 },
      );
      await h.tick();
      await h.finish('core', 'failed');
      w.settle(['mid']);
      w2.settle([]);
      await h.tick();
      // ext keeps core external: the failure is not its concern.
      expect(h.started()).toContain('ext');
      await h.finish('ext');
      const out = await h.schedule;
      expect(out.results.get('mid')).toMatchObject({ status: 'skipped', reason: 'dependency core failed' });
      expect(out.results.get('app')).toMatchObject({ status: 'skipped', reason: 'dependency core failed, via mid' });
      expect(out.results.get('ext')!.status).toBe('ok');
    });

    it('a failure after the waits are known skips downstream as before; a rejected waitsFor waits for every dependency', async () => {
      const w = later();
      const h = harness([t('core'), { name: 'app', dependencies: ['core'], waitsFor: w.promise }, t('top', 'app')], { concurrency: 4 });
      await h.tick();
      w.fail();
      await h.tick();
      expect(h.started()).toEqual(['core']);
      await h.finish('core', 'failed');
      const out = await h.schedule;
      expect(out.results.get('app')).toMatchObject({ status: 'skipped', reason: 'dependency core failed' });
      expect(out.results.get('top')).toMatchObject({ status: 'skipped', reason: 'dependency core failed, via app' });
    });

    it('a wait beyond the declared dependencies (a task below them) is waited for; its failure skips the task; a name that is no task is ignored', async () => {
      // c declares b only; b keeps a external (waits for nothing); c bundles b and with it a's output.
      const w = later();
      const h = harness([t('a'), t('b'), { name: 'c', dependencies: ['b'], waitsFor: w.promise }], { concurrency: 4 });
      w.settle(['b', 'a', 'not-a-task']);
      await h.tick();
      await h.finish('b');
      expect(h.started()).not.toContain('c');
      await h.finish('a');
      expect(h.started()).toContain('c');
      await h.finish('c');
      expect((await h.schedule).results.get('c')!.status).toBe('ok');

      const w2 = later();
      const h2 = harness([t('a'), t('b'), { name: 'c', dependencies: ['b'], waitsFor: w2.promise }], { concurrency: 4 });
      w2.settle(['b', 'a']);
      await h2.tick();
      await h2.finish('a', 'failed');
      await h2.finish('b');
      const out = await h2.schedule;
      expect(out.results.get('c')).toMatchObject({ status: 'skipped', reason: 'dependency a failed' });
    });

    it('a cancelled run ends without waiting for waits that never come', async () => {
      const controller = new AbortController();
      const h = harness([t('a'), { name: 'b', dependencies: [], waitsFor: new Promise(() => {}) }], { concurrency: 2, signal: controller.signal });
      await h.tick();
      expect(h.started()).toEqual(['a']);
      controller.abort();
      await h.finish('a');
      const out = await h.schedule;
      expect(out.results.get('b')!.status).toBe('skipped');
    });
  });
});
