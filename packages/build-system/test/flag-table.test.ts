import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { recordKey } from '../src/cache/noop/record.js';
import { BUILD_FLAG_TABLE } from '../src/cli/flag-table.js';
import { flagsToRequest, type CliRequest } from '../src/cli/flags-to-request.js';
import { parseBuildArgv } from '../src/commands/build-argv.js';
import { noopRecordOptions } from '../src/commands/run-output.js';

/**
 * The flag table (src/cli/flag-table.ts) is the one place a flag is defined;
 * these checks make a row that is not wired, or whose no-op key marking is not
 * honoured, fail. Each row is given on a command line by itself, through the
 * fast path's parser and the one conversion (src/cli/flags-to-request.ts),
 * and compared with a bare `build`.
 */

/** A valid value for every value or repeatable row; a new such row must get one here (the test says so). */
const SAMPLE: Record<string, string> = {
  '--adapter': 'tsc',
  '--cwd': 'some/dir',
  '--lock-timeout': '7',
  '--stale-timeout': '9',
  '--filter': '@demo/*',
  '--concurrency': '3',
  '--summary': 'summary.json',
  '--cache-dir': 'my-cache',
  '--output-logs': 'errors-only',
  '--remote-cache-url': 'https://cache.example.com',
  '--remote-cache-token': 'secret',
  '--remote-cache-team': 'team_x',
  '--remote-cache-signature-key': 'key',
  '--remote-cache-timeout': '5',
  '--remote-cache-connect-timeout': '1',
};

type Row = (typeof BUILD_FLAG_TABLE)[number];

function argvOf(row: Row): string[] {
  if (row.type === 'boolean' || row.type === 'negation') return ['build', row.flag];
  const value = SAMPLE[row.flag];
  if (value === undefined) throw new Error(`${row.flag}: give it a sample value in SAMPLE (test/flag-table.test.ts)`);
  return ['build', row.flag, value];
}

function parsed(argv: string[]) {
  const p = parseBuildArgv(argv);
  if (!p) throw new Error(`the fast path did not parse: ${argv.join(' ')}`);
  return p;
}

/** `request.x` / `view.x` for every field that differs between two conversions. */
function changedFields(a: CliRequest, b: CliRequest): string[] {
  const out: string[] = [];
  for (const part of ['request', 'view'] as const) {
    const x = a[part] as Record<string, unknown>;
    const y = b[part] as Record<string, unknown>;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if (!isDeepStrictEqual(x[k], y[k])) out.push(`${part}.${k}`);
  }
  return out;
}

const bare = parsed(['build']);
const bareKey = (options: Record<string, unknown>) => recordKey({ root: '/ws', cacheDir: '/ws/node_modules/.cache/build-system', options, env: {} });

describe('BUILD_FLAG_TABLE', () => {
  it('has one row per flag name', () => {
    expect(new Set(BUILD_FLAG_TABLE.map((r) => r.flag)).size).toBe(BUILD_FLAG_TABLE.length);
  });

  it.each(BUILD_FLAG_TABLE.map((row) => [row.flag, row] as const))('%s reaches the request or the view', (_flag, row) => {
    const given = parsed(argvOf(row));
    expect(given.flags, 'the parser sets the row key').toHaveProperty(row.key);
    const changed = changedFields(flagsToRequest(given.packages, given.flags), flagsToRequest(bare.packages, bare.flags));
    // Exactly the field its row names, and nothing else (remote cache options live inside request.remoteCache).
    const target = row.to.startsWith('request.remoteCache') ? 'request.remoteCache' : row.to;
    expect(changed, `${row.flag} must change ${target} only`).toEqual([target]);
  });

  it.each(BUILD_FLAG_TABLE.map((row) => [row.flag, row] as const))('%s bears on the no-op record key as its row says', (_flag, row) => {
    const given = noopRecordOptions(parsed(argvOf(row)).flags);
    const base = noopRecordOptions(bare.flags)!;
    expect(base).not.toBeNull();
    if (row.affectsOutputs === 'never') {
      // Such a run is neither recorded nor replayed at all.
      expect(given).toBeNull();
      return;
    }
    expect(given).not.toBeNull();
    if (row.affectsOutputs === 'key') expect(bareKey(given!)).not.toBe(bareKey(base));
    else expect(bareKey(given!)).toBe(bareKey(base));
  });

  it('puts a value where its row says, converted as its row says', () => {
    const p = parsed(['build', '--stale-timeout', '9', '--lock-timeout', '0.5', '--remote-cache-timeout', '5', '--no-cache', '--no-color']);
    const { request, view } = flagsToRequest(p.packages, p.flags);
    expect(request).toMatchObject({ staleLockMs: 9000, lockTimeoutMs: 500, noCache: true, remoteCache: { requestTimeoutMs: 5000 } });
    expect(view).toEqual({ color: false });
    const off = parsed(['build', '--no-remote-cache', '--remote-cache-url', 'https://x.example']);
    expect(flagsToRequest(off.packages, off.flags).request.remoteCache).toBe(false);
  });

  it('the conversion keeps a bad value a usage error naming its flag', () => {
    for (const [flag, value] of [['--stale-timeout', '0'], ['--lock-timeout', 'soon'], ['--adapter', 'webpack'], ['--output-logs', 'some'], ['--concurrency', '0'], ['--remote-cache-timeout', '0']]) {
      const p = parsed(['build', flag!, value!]);
      expect(() => flagsToRequest(p.packages, p.flags), `${flag} ${value}`).toThrow(expect.objectContaining({ code: 'USAGE', field: flag }));
    }
  });
});
