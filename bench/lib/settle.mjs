/**
 * The settle rule (issue 13): before each back-to-back pair, wait until the
 * machine's 1-minute load average is at most `maxLoad` (the same `--max-load`
 * that judges pairs), or until `maxWaitMs` has passed; a pair that starts
 * after the wait ran out is marked loaded and left out of verdicts.
 *
 * Why wait at all: the load average counts the bench's own previous builds. A
 * cold turbo build of 200 packages runs for minutes with ~10 runnable tasks,
 * and the 1-minute average decays with a time constant of 60 s, so right after
 * it a quiet 2-core machine still shows a load of 10–17 and about two minutes
 * pass before it is under 2 (17·e^(−t/60) ≤ 2 → t ≈ 128 s). Without the wait,
 * every pair measured after such a build would be dropped (bench/README.md, "Load").
 */
import os from 'node:os';

/** Linux recomputes the load average every 5 s: polling faster sees the same number. */
export const SETTLE_POLL_MS = 5_000;
/** Default longest wait before a pair: enough for a quiet machine to forget a multi-minute turbo build. */
export const SETTLE_MAX_WAIT_S = 300;

/**
 * One step of the rule, a pure function of what is known now:
 * 'go' when the load is at most `maxLoad`; else 'loaded' once `waitedMs` has
 * reached `maxWaitMs` (the pair runs anyway, marked loaded); else 'wait'.
 * A load that could not be read (null) never blocks: 'go'.
 */
export function settleDecision({ load1, waitedMs, maxLoad, maxWaitMs }) {
  if (load1 === null || load1 === undefined || !Number.isFinite(load1) || load1 <= maxLoad) return 'go';
  return waitedMs >= maxWaitMs ? 'loaded' : 'wait';
}

/**
 * Waits as the rule says. Returns { waitedMs, load1, loaded }: how long it
 * waited, the load average when it stopped (the pair's starting load) and
 * whether the wait ran out. `clock` is injectable for tests of the loop.
 */
export async function settle({ maxLoad, maxWaitMs, pollMs = SETTLE_POLL_MS, clock = realClock }) {
  const started = clock.now();
  for (;;) {
    const load1 = Math.round(clock.load1() * 100) / 100;
    const waitedMs = clock.now() - started;
    const decision = settleDecision({ load1, waitedMs, maxLoad, maxWaitMs });
    if (decision !== 'wait') return { waitedMs: Math.round(waitedMs), load1, loaded: decision === 'loaded' };
    await clock.sleep(Math.min(pollMs, Math.max(0, maxWaitMs - waitedMs)));
  }
}

const realClock = {
  now: () => performance.now(),
  load1: () => os.loadavg()[0],
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
