import type { RecordedPackage } from '../cache/noop/record.js';
import type { BuildEvent } from '../events.js';
import type { BuildResult } from '../result/schema.js';

/**
 * A recorded result standing again (a replayed no-op, commands/build-replay.ts; a package a partial run
 * keeps, services/partial-run.ts): the events a cache hit of it sends, in its order, with this run's
 * start time and duration set on the result in place (its keys keep the order the build service wrote).
 * `logs`: the tool output it printed is replayed, as a hit replays its entry's (outputLogs 'full').
 */
export function emitRecorded(recorded: RecordedPackage, emit: (event: BuildEvent) => void, logs: boolean, now: () => number): BuildResult {
  const startMs = now();
  const result = recorded.result;
  const name = result.package.name;
  result.startedAt = new Date().toISOString();
  emit({ type: 'package-start', package: name, dir: result.package.dir });
  emit({ type: 'adapter-chosen', package: name, adapter: result.adapter.name!, version: result.adapter.version!, reason: result.adapter.reason });
  if (logs) for (const l of recorded.logs) emit({ type: 'log', package: name, stream: l.stream, line: l.line });
  result.durationMs = Math.round(now() - startMs);
  emit({ type: 'package-done', result });
  return result;
}
