/**
 * A monotonic clock in milliseconds, from an arbitrary origin: what runs measure durations and
 * timelines with. Not performance.now(): its module (perf_hooks) costs a replayed no-op ~1 ms to
 * load, and the replay and a real run must read one clock (their results share a maker, services/results.ts).
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
