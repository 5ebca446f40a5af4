/**
 * Bundle position → original position, decoded by Node's own source-map
 * support (`module.SourceMap`, in Node since 12.17; every Node ≥ 20 has it),
 * so the project keeps no VLQ decoder of its own.
 */
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';

export interface OriginalPosition {
  /** Absolute path of the original file. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/**
 * Returns a lookup from a 1-based bundle line and column to the original
 * position, or undefined when nothing on that bundle line maps at or before
 * the column, or the source is virtual (esbuild's runtime, `ns:name` ids).
 * `firstLineShift(file)` is subtracted from columns on an original file's first
 * line (a loader that prepended text to it).
 */
export function sourceMapLookup(
  mapText: string,
  mapDir: string,
  firstLineShift: (file: string) => number = () => 0,
): (line: number, column: number) => OriginalPosition | undefined {
  const map = new SourceMap(JSON.parse(mapText) as SourceMapPayload);
  return (line, column) => {
    const entry = map.findEntry(line - 1, column - 1) as Partial<{ generatedLine: number; originalSource: string; originalLine: number; originalColumn: number }>;
    // findEntry falls back to the last mapping of an earlier line; only this line's count.
    if (entry.generatedLine !== line - 1 || entry.originalSource === undefined) return undefined;
    const source = entry.originalSource;
    if (!source || source.includes(':')) return undefined;
    const file = path.resolve(mapDir, source);
    const shift = entry.originalLine === 0 ? firstLineShift(file) : 0;
    return { file, line: entry.originalLine! + 1, column: Math.max(1, entry.originalColumn! - shift + 1) };
  };
}
