import { describeChanges } from '../../cache/explain.js';
import type { CacheInfo, Diagnostic } from '../../result/schema.js';
import type { CacheMiss } from './context.js';

/** Diagnostics the cache adds (corrupt entry, unwritable store) carry this code; they are not stored with the entry. */
export const CACHE_DIAGNOSTIC = 'CACHE';

export function cacheWarning(message: string): Diagnostic {
  return { severity: 'warning', message, code: CACHE_DIAGNOSTIC };
}

/** Before the build its entry key is not known yet: the fingerprint's stands in until the build has recorded its reads. */
export function missInfo(miss: CacheMiss): CacheInfo {
  return { status: 'miss', key: miss.current.primaryKey, fingerprintKey: miss.current.primaryKey, reason: describeChanges(miss.changes), changes: miss.changes };
}

export function firstError(diagnostics: Diagnostic[]): string | undefined {
  const d = diagnostics.find((x) => x.severity === 'error');
  if (!d) return undefined;
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  return `${where}${d.message}`;
}
