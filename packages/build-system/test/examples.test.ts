import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from './helpers/fixture.js';

/**
 * The README's main job, exactly: `build-system build` at the repo root builds
 * every example package (in dependency order), and node can use each output.
 */
describe('the example workspace (README main job)', () => {
  let run: { exitCode: number; results: Array<{ package: { name: string }; status: string; adapter: { name: string }; artifacts: Array<{ path: string; sha256: string; kind: string }> }> };
  let status: number | null;

  beforeAll(() => {
    const r = spawnSync(process.execPath, [cliPath, 'build', '--json'], { cwd: repoRoot, encoding: 'utf8' });
    status = r.status;
    if (r.status !== 0) console.error(r.stderr, r.stdout);
    run = JSON.parse(r.stdout);
  });

  it('builds all four packages with four different adapters, dependencies first', () => {
    expect(status).toBe(0);
    const order = run.results.map((r) => r.package.name);
    expect(order).toEqual(['@demo/types', '@demo/core', '@demo/format', '@demo/cli']);
    expect(run.results.every((r) => r.status === 'success')).toBe(true);
    expect(Object.fromEntries(run.results.map((r) => [r.package.name, r.adapter.name]))).toEqual({
      '@demo/types': 'tsc',
      '@demo/core': 'esbuild',
      '@demo/format': 'rollup',
      '@demo/cli': 'bun',
    });
  });

  it('reports artifacts that exist on disk with the reported sha256', () => {
    for (const r of run.results) {
      const dir = path.join(repoRoot, 'examples', r.package.name.replace('@demo/', ''));
      expect(r.artifacts.length).toBeGreaterThan(0);
      for (const a of r.artifacts) {
        const bytes = readFileSync(path.join(dir, a.path));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
      }
    }
  });

  it('emits ESM + CJS with declarations and sourcemaps for @demo/core', () => {
    const core = run.results.find((r) => r.package.name === '@demo/core')!;
    const paths = core.artifacts.map((a) => a.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.js.map', 'dist/index.cjs.map']));
  });

  it('node can import and run every built output', () => {
    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `
        import { money, add, version } from '@demo/core';
        import { formatMoney, formatTotal } from '@demo/format';
        import { isCurrency } from '@demo/types';
        console.log(version, formatMoney(add(money(1.006, 'EUR'), money(2, 'EUR'))), isCurrency('JPY'),
          formatTotal([{ sku: 'a', quantity: 3, unitPrice: money(150, 'JPY') }]));
      `],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(esm.trim()).toBe('1.0.0 €3.01 true ¥450');
    const cjs = execFileSync(
      process.execPath,
      ['-e', `const core = require('@demo/core'); const fmt = require('@demo/format'); const cli = require('@demo/cli');
        console.log(core.add(core.money(1, 'USD'), core.money(2.5, 'USD')).amount, fmt.formatMoney(core.money(7, 'USD')), cli.totalOf(['x:2@1.25']))`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(cjs.trim()).toBe('3.5 $7.00 €2.50');
  });

  it('the bin keeps its shebang, is executable and runs', () => {
    const bin = path.join(repoRoot, 'examples/cli/dist/cli.js');
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    const out = execFileSync(bin, ['a:2@9.99', 'b:1@0.5'], { encoding: 'utf8' });
    expect(out.trim()).toBe('€20.48');
  });

  it('tsc keeps the file layout and writes declarations for @demo/types', () => {
    for (const f of ['index.js', 'index.d.ts', 'money.js', 'money.d.ts', 'index.js.map']) {
      expect(existsSync(path.join(repoRoot, 'examples/types/dist', f)), f).toBe(true);
    }
  });
});
