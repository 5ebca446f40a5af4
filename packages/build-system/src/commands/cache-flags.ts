import { BuildSystemError } from '../errors.js';
import type { BuildResult, RunResult } from '../result/schema.js';
import type { Style } from './terminal.js';

/** Parsing and printing shared by the cache flags of `build:package`, `build:clean` and `cache`. */

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `--max-size 500MB`, `2GiB`, `1048576` (bytes). */
export function parseSize(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new BuildSystemError('USAGE', `must be a size like 500MB, 2GiB or a number of bytes (got ${JSON.stringify(value)})`, { field: flag });
  }
  return Math.floor(Number(m[1]) * unit);
}

const AGE_UNITS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--max-age 7d`, `12h`, `30m`, `90` (seconds, as --lock-timeout). */
export function parseAge(flag: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(value);
  if (!m) throw new BuildSystemError('USAGE', `must be an age like 7d, 12h, 30m or a number of seconds (got ${JSON.stringify(value)})`, { field: flag });
  return Math.floor(Number(m[1]) * AGE_UNITS[m[2]!.toLowerCase()]!);
}

/** The CLI's one byte formatter, under the name the cache commands use. */
export { formatBytes as formatSize } from '../util/bytes.js';

/** One line per package: `@demo/app: cache miss — dependency output changed: @demo/core`. */
export function explainLine(r: BuildResult, style?: Style): string {
  const name = style ? style.bold(r.package.name) : r.package.name;
  const key = r.cache.key ? ` [${r.cache.key.slice(0, 12)}]` : '';
  switch (r.cache.status) {
    case 'hit':
      if (r.cache.source === 'remote') return `${name}: remote cache hit${key} — ${r.cache.restored ? 'outputs downloaded, verified and restored' : 'downloaded and verified; outDir already up to date'}`;
      return `${name}: cache hit${key} — ${r.cache.restored ? 'outputs restored from the cache' : 'outDir already up to date, nothing written'}`;
    case 'miss':
      return `${name}: cache miss${key} — ${r.cache.reason ?? 'no reason recorded'}`;
    case 'skipped':
      return `${name}: not built — ${r.cache.reason ?? r.adapter.reason}`;
    default:
      return `${name}: cache off — ${r.cache.reason ?? (r.status === 'failed' ? 'the build stopped before the cache was consulted' : 'disabled')}`;
  }
}

export function explainLines(run: RunResult, style?: Style): string[] {
  return run.results.map((r) => explainLine(r, style));
}
