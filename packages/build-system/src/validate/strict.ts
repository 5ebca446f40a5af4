import type { Diagnostic, ErrorInfo } from '../result/schema.js';
import { isValidationDiagnostic } from './diagnostics.js';

/**
 * `--strict` (API `strict: true`): package.json validation warnings fail the
 * build. Applied to a fresh build's diagnostics and to a cache hit's stored
 * ones alike, so a hit fails exactly as the build it replays. Returns null
 * when nothing changes (no validation problem); else the diagnostics with
 * the validation ones as errors and the error naming the first.
 */
export function applyStrict(diagnostics: readonly Diagnostic[]): { diagnostics: Diagnostic[]; error: ErrorInfo } | null {
  const first = diagnostics.find(isValidationDiagnostic);
  if (!first) return null;
  const count = diagnostics.filter(isValidationDiagnostic).length;
  const more = count > 1 ? ` (and ${count - 1} more package.json problem${count > 2 ? 's' : ''})` : '';
  const where = [first.file, first.field].filter(Boolean).join(': ');
  return {
    diagnostics: diagnostics.map((d) => (isValidationDiagnostic(d) ? { ...d, severity: 'error' as const } : d)),
    error: {
      code: 'BUILD_FAILED',
      message: `${where ? `${where}: ` : ''}${first.message}${more} (--strict)`,
      ...(first.file ? { file: first.file } : {}),
      ...(first.field ? { field: first.field } : {}),
    },
  };
}
