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

  it('builds all eight packages, each after the workspace packages it depends on', () => {
    expect(status).toBe(0);
    const order = run.results.map((r) => r.package.name);
    expect([...order].sort()).toEqual(['@demo/cli', '@demo/core', '@demo/format', '@demo/ledger', '@demo/parse', '@demo/rates', '@demo/report', '@demo/types']);
    for (const name of order) {
      const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'examples', name.replace('@demo/', ''), 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const dep of Object.keys(manifest.dependencies ?? {})) expect(order.indexOf(dep), `${dep} before ${name}`).toBeLessThan(order.indexOf(name));
    }
    expect(run.results.every((r) => r.status === 'success')).toBe(true);
    expect(Object.fromEntries(run.results.map((r) => [r.package.name, r.adapter.name]))).toEqual({
      '@demo/types': 'tsc',
      '@demo/core': 'esbuild',
      '@demo/format': 'rollup',
      '@demo/cli': 'bun',
      '@demo/rates': 'esbuild',
      '@demo/parse': 'bun',
      '@demo/ledger': 'tsc',
      '@demo/report': 'tsc',
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
    expect(paths).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts', 'dist/index.js.map', 'dist/index.cjs.map']));
  });

  it('names outputs as package.json does: .mjs + .d.mts for @demo/rates, .d.cts beside .cjs for @demo/parse', () => {
    const paths = (name: string) => run.results.find((r) => r.package.name === name)!.artifacts.map((a) => a.path).sort();
    // The module both entries use is one shared chunk (splitting), named with the format's extension.
    expect(paths('@demo/rates')).toEqual([expect.stringMatching(/^dist\/chunk-\w+\.mjs$/), 'dist/index.d.mts', 'dist/index.mjs', 'dist/table.d.mts', 'dist/table.mjs']);
    expect(paths('@demo/parse')).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/index.cjs', 'dist/index.d.cts', 'dist/symbols.d.ts', 'dist/symbols.d.cts']),
    );
    // The CJS declarations point at their CJS siblings, so TypeScript never mixes the two module kinds.
    expect(readFileSync(path.join(repoRoot, 'examples/parse/dist/index.d.cts'), 'utf8')).toContain("from './symbols.cjs'");
  });

  it('tsc leaves the tests out of lib/ (tsconfig.build.json) and builds @demo/report with the root tsconfig', () => {
    const ledger = run.results.find((r) => r.package.name === '@demo/ledger')!.artifacts.map((a) => a.path).sort();
    expect(ledger).toEqual(['lib/index.d.ts', 'lib/index.js', 'lib/ledger.d.ts', 'lib/ledger.js']);
    const report = run.results.find((r) => r.package.name === '@demo/report')!.artifacts.map((a) => a.path).sort();
    expect(report).toEqual(['dist/index.d.ts', 'dist/index.js']);
    // examples/tsconfig.json asks for ES2022 and strict NodeNext: the root's options applied.
    expect(readFileSync(path.join(repoRoot, 'examples/report/dist/index.js'), 'utf8')).toMatch(/^import \{ money \} from '@demo\/core';/m);
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
    const deep = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `
        import { report } from '@demo/report';
        import { rate } from '@demo/rates';
        import { PER_EURO } from '@demo/rates/table';
        import { createRequire } from 'node:module';
        const require = createRequire(process.cwd() + '/');
        const { Ledger } = require('@demo/ledger');
        const { parseMoney } = require('@demo/parse');
        console.log(JSON.stringify([rate('EUR', 'JPY'), PER_EURO.USD, parseMoney('US$ 3').amount, new Ledger().record('€1').record('€0.5').balance('EUR').amount]));
        console.log(report(['€2.50', '1.25 EUR', '¥162']));
      `],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(deep.trim().split('\n')).toEqual(['[162,1.08,3,1.5]', 'EUR €3.75', 'JPY ¥162', '=   €4.75']);
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
