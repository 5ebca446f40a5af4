// Its own module: the no-op replay (commands/build-replay.ts) checks --output-logs without loading the cache.
export const OUTPUT_LOGS_MODES = ['full', 'errors-only', 'none'] as const;
export type OutputLogsMode = (typeof OUTPUT_LOGS_MODES)[number];
