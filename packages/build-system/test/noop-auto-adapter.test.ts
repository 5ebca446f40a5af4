import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFixture, repoBin, type Fixture } from './helpers/fixture.js';
import { cliRun } from './helpers/workspace.js';

/**
 * adapter `auto` picks bun when it is installed. A run that found no bun used to refuse its no-op
 * record ("bun is not installed"), so one such package cost the whole workspace its replay (found on
 * honojs/middleware). Now every place bun could appear is watched, and PATH itself.
 */

const fixtures: Fixture[] = [];
const temps: string[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  temps.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('no-op record with adapter auto', () => {
  it('is written and replayed without bun; bun appearing on PATH ends the replay, and the run then builds with it', async () => {
    const fx = createFixture({
      'package.json': { name: 'noop-auto', version: '1.0.0', type: 'module', exports: './dist/index.js' },
      'build.config.ts': "export default { adapter: 'auto', entry: { index: 'src/index.ts' }, format: 'esm' };\n",
      'src/index.ts': 'export const answer: number = 42;\n',
    });
    fixtures.push(fx);
    // Outside the package: a file added inside it would end the replay as a changed input anyway.
    const binDir = mkdtempSync(path.join(tmpdir(), 'bs-path-bin-'));
    temps.push(binDir);
    const PATH = [binDir, ...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !existsSync(path.join(d, 'bun')))].join(path.delimiter);
    const env = { PATH, BUILD_SYSTEM_DEBUG_NOOP: '1', BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined };
    const run = async () => {
      const r = await cliRun(['build', '--json'], { cwd: fx.root, env });
      expect(r.code, r.stderr).toBe(0);
      return { ...r, adapter: (JSON.parse(r.stdout) as { results: { adapter: { name: string } }[] }).results[0]!.adapter.name };
    };

    const first = await run();
    expect(first.adapter).toBe('esbuild');
    expect(first.stderr).toContain('no-op record: written');
    const second = await run();
    expect(second.stderr).toContain('no-op record: replayed');

    // bun installed on PATH: the record no longer holds, and the real run picks it.
    symlinkSync(path.join(repoBin, 'bun'), path.join(binDir, 'bun'));
    const third = await run();
    expect(third.stderr).not.toContain('no-op record: replayed');
    expect(third.adapter).toBe('bun');
  });
});
