import type { BuildConfig } from './schema.js';

/**
 * Checks of config fields that only some adapters honour, or that contradict
 * each other: each returns the issues (field and message) resolveConfig
 * reports as one CONFIG_INVALID, so a field another adapter would silently
 * drop is refused before anything is written.
 */

/** A config problem: the field (as a user writes its path) and what to change. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * Fields only the tsc adapter reads: with any other adapter they would be
 * silently ignored (a bundler follows imports from the entries; it has no
 * file list to include or exclude, and always writes). `auto` never picks tsc.
 */
export function tscOnlyFieldIssues(config: BuildConfig): FieldIssue[] {
  if (config.adapter === 'tsc') return [];
  const adapter = config.adapter === 'auto' ? "'auto' (which never picks tsc)" : `'${config.adapter}'`;
  const issues: FieldIssue[] = [];
  if (config.include !== undefined) issues.push({ field: 'include', message: `only the tsc adapter compiles a file list; with adapter ${adapter} the build follows imports from entry. Remove include or set adapter: 'tsc'` });
  if (config.exclude !== undefined) issues.push({ field: 'exclude', message: `only the tsc adapter compiles a file list; with adapter ${adapter} the build follows imports from entry. Remove exclude or set adapter: 'tsc'` });
  if (config.emit === false) issues.push({ field: 'emit', message: `emit: false (type-check only) needs adapter: 'tsc'; got adapter ${adapter}` });
  return issues;
}

/** shims are written by the esbuild adapter ('auto' picks it when they are asked for: load-config.ts); any other would drop them. */
export function shimsIssues(config: BuildConfig): FieldIssue[] {
  if (!config.shims || config.adapter === 'esbuild' || config.adapter === 'auto') return [];
  return [{ field: 'shims', message: `shims are applied by the esbuild adapter; got adapter '${config.adapter}'. Remove shims or set adapter: 'esbuild'` }];
}

/**
 * An entry with its own options is built apart by the esbuild adapter ('auto'
 * picks it then: load-config.ts); the other builders take one set of options
 * per package and would drop them. Bundled declarations keep the package's
 * external imports, which an entry's own external or noExternal would
 * contradict.
 */
export function entryOptionIssues(config: BuildConfig, field: string): FieldIssue[] {
  if (config.adapter !== 'esbuild' && config.adapter !== 'auto') {
    return [{ field, message: `an entry with its own options is built by the esbuild adapter; got adapter '${config.adapter}'. Give the entry as a plain source, or set adapter: 'esbuild'` }];
  }
  const record = typeof config.entry === 'object' && !Array.isArray(config.entry) ? config.entry : {};
  const bundled = typeof config.dts === 'object' && config.dts.bundle;
  const own = Object.entries(record).find(([, v]) => typeof v === 'object' && (v.external !== undefined || v.noExternal !== undefined));
  if (bundled && own) return [{ field: `entry.${own[0]}`, message: "bundled declarations (dts.bundle) keep the package's external imports, which this entry's own external/noExternal would contradict; set them for the package instead" }];
  return [];
}

/**
 * `bundle: false` is written by the esbuild adapter ('auto' picks it then: load-config.ts) and is what
 * the tsc adapter always does; bun and rollup would bundle anyway. Entries with their own options are
 * built apart, and a module two such builds reach would be written by both.
 */
export function bundleIssues(config: BuildConfig, entriesWithOptions: boolean): FieldIssue[] {
  if (config.bundle !== false) return [];
  if (config.adapter === 'bun') {
    return [{ field: 'bundle', message: `one file per source module (bundle: false) is written by the esbuild and rollup adapters, or by tsc; got adapter '${config.adapter}'. Set adapter: 'esbuild' or remove bundle: false` }];
  }
  if (entriesWithOptions) return [{ field: 'bundle', message: 'every module is an output of its own (bundle: false), so an entry cannot be built with options of its own; give the options to the package instead' }];
  return [];
}

/**
 * `resolve` inlines packages into a bundled declaration, so it means nothing without `bundle`; the tsc
 * adapter writes one JS file per source, whose per-source declarations are the matching layout.
 */
export function dtsIssues(config: BuildConfig): FieldIssue[] {
  if (typeof config.dts !== 'object') return [];
  if (config.dts.resolve !== undefined && !config.dts.bundle) return [{ field: 'dts.resolve', message: 'inlines packages into bundled declarations; set dts.bundle: true too' }];
  if (config.dts.bundle && config.adapter === 'tsc') return [{ field: 'dts.bundle', message: "the tsc adapter writes one file per source, so its declarations stay one per source; remove dts.bundle or use a bundling adapter" }];
  return [];
}
