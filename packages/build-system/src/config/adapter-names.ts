/**
 * The adapter and builder names, without zod: the CLI's flag table and flag
 * conversion need them on the no-op replay's path (commands/build-replay.ts),
 * which must not evaluate zod (~750 KB of bundled code, ~50 ms of a replay at
 * 200 packages). config/schema.ts builds its enums from these.
 */
export const ADAPTER_NAMES = ['auto', 'bun', 'esbuild', 'tsc', 'rollup'] as const;
export const BUILDER_NAMES = ['bun', 'esbuild', 'tsc', 'rollup'] as const;

export type AdapterName = (typeof ADAPTER_NAMES)[number];
export type BuilderName = (typeof BUILDER_NAMES)[number];
