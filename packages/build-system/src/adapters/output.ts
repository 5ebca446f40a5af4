import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import type { AdapterOutput } from './types.js';

/**
 * What the adapters share about their outputs and diagnostics: where a
 * diagnostic's file is, how one is printed, merged and graded, and how a
 * source's shebang ends up as the first line of a built file. No tool is
 * imported here, so any adapter can use it without loading another's tool.
 */

/** Built JavaScript files: the only outputs a shebang belongs in. */
export const JS_FILE = /\.(c|m)?js$/;

/**
 * Path for a diagnostic: relative to the package (posix) when inside it, else
 * absolute as the platform writes it (callers that want forward slashes
 * there too wrap it in toPosix).
 */
export function diagnosticFile(pkgDir: string, file: string): string {
  const abs = path.resolve(pkgDir, file);
  return isInside(pkgDir, abs) ? toPosix(path.relative(pkgDir, abs)) : abs;
}

/** A build that failed with one error and wrote nothing. */
export function failedOutput(message: string): AdapterOutput {
  return { ok: false, files: [], diagnostics: [{ severity: 'error', message }], reads: null };
}

/** A tool's level word (error, warning; anything else: info, message, debug…) as a diagnostic severity. */
export function severityOf(level: string): Diagnostic['severity'] {
  return level === 'error' ? 'error' : level === 'warning' ? 'warning' : 'info';
}

/** One line per diagnostic, in the `file:line:col: severity: text` form editors link. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}${d.line !== undefined ? `:${d.line}${d.column !== undefined ? `:${d.column}` : ''}` : ''}: ` : '';
  return `${where}${d.severity}: ${d.message}${d.code ? ` [${d.code}]` : ''}`;
}

/** The same error reported once per format is one problem. */
export function dedupeDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = JSON.stringify([d.severity, d.file, d.line, d.column, d.message, d.code]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The `#!` first line of a source file, if it has one. */
export function readShebang(file: string): string | undefined {
  try {
    const first = readFileSync(file, 'utf8').split(/\r?\n/, 1)[0] ?? '';
    return first.startsWith('#!') ? first : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes `shebang` the first line of a built file. esbuild 0.28 and bun 1.4
 * already put a source hashbang first and the banner after it; other versions
 * and options have not always (a banner or a "use strict" prologue before it,
 * or a banner that carries its own `#!` line, which leaves two: a syntax
 * error). Only the header (banner + prologue) is looked at, and only lines
 * equal to the shebang or to a `#!` line of the banner: a `#!` further down
 * may be inside a template literal. Moving or blanking a line keeps the line
 * count, so source maps stay valid. Returns whether the file was changed.
 */
export function ensureShebangFirst(file: string, shebang: string, banner: string | undefined): boolean {
  const bannerLines = banner ? banner.split('\n') : [];
  const strays = new Set([shebang, ...bannerLines.filter((l) => l.startsWith('#!'))]);
  const lines = readFileSync(file, 'utf8').split('\n');
  const window = Math.min(lines.length, bannerLines.length + 4);
  const strayAt: number[] = [];
  for (let i = 0; i < window; i++) if (strays.has(lines[i]!)) strayAt.push(i);
  if (lines[0] === shebang && strayAt.length === 1) return false;
  const keep = strayAt.find((i) => lines[i] === shebang);
  // Every other `#!` line in the header would be a syntax error: blank it, keeping the line.
  for (const i of strayAt) if (i !== keep) lines[i] = '';
  if (keep === undefined) {
    // The tool dropped it: prepend. The extra line shifts generated lines by one,
    // which a linked map records with a leading ';' in its mappings.
    lines.unshift(shebang);
    shiftLinkedSourceMap(file, lines);
  } else if (keep > 0) {
    lines.splice(keep, 1);
    lines.unshift(shebang);
  }
  writeFileSync(file, lines.join('\n'));
  return true;
}

function shiftLinkedSourceMap(file: string, lines: string[]): void {
  const url = lines.map((l) => /^\/\/# sourceMappingURL=(?!data:)(.+)$/.exec(l)?.[1]).findLast((u) => u !== undefined);
  if (!url) return;
  const mapFile = path.resolve(path.dirname(file), decodeURIComponent(url.trim()));
  try {
    const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { mappings?: string };
    if (typeof map.mappings !== 'string') return;
    map.mappings = `;${map.mappings}`;
    writeFileSync(mapFile, JSON.stringify(map));
  } catch {
    // A map we cannot read is left alone; the code itself is what must run.
  }
}
