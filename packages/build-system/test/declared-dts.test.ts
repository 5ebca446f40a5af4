import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packagesWorkspace, repoRoot, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * A declaration package.json names that is not the one TypeScript pairs with the JS beside it:
 * unbuild publishes `types: ./dist/index.d.ts` next to `default: ./dist/index.mjs` (unjs/unhead,
 * every unbuild package in its default mode). build-system wrote `index.d.mts` only, so every
 * `types` target was missing; it now writes the named one too, with its relative specifiers
 * naming `.js` (what TypeScript pairs `.d.ts` with), so they resolve to its siblings.
 */

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

describe('declarations under the extension package.json names', () => {
  it("unbuild's layout: index.d.ts beside index.mjs is written with the paired .d.mts; a nodenext consumer type-checks", () => {
    const fx = packagesWorkspace(
      {
        lib: {
          'package.json': {
            name: '@dd/lib',
            version: '1.0.0',
            type: 'module',
            exports: { '.': { types: './dist/index.d.ts', default: './dist/index.mjs' }, './server': { types: './dist/server.d.ts', default: './dist/server.mjs' } },
            types: './dist/index.d.ts',
          },
          'tsconfig.json': { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, declaration: true, types: [] }, include: ['src'] },
          'src/index.ts': `export { helper } from './utils.js';\nexport const main = (): string => 'main';\n`,
          'src/utils.ts': `export const helper = (n: number): string => 'n' + n;\n`,
          'src/server.ts': `import { helper } from './utils.js';\nexport const serve = (): string => helper(1);\n`,
          'build.config.ts': `export default { adapter: 'esbuild' };\n`,
        },
        use: {
          'package.json': { name: '@dd/use', version: '1.0.0', private: true, type: 'module' },
          'tsconfig.json': { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: [] }, include: ['src'] },
          'src/a.mts': `import { main, helper } from '@dd/lib';\nimport { serve } from '@dd/lib/server';\nexport const all: string = main() + helper(2) + serve();\n`,
        },
      },
      fixtures,
      'dd-root',
    );
    mkdirSync(fx.path('packages/use/node_modules/@dd'), { recursive: true });
    symlinkSync('../../../lib', fx.path('packages/use/node_modules/@dd/lib'), 'dir');

    const r = cli(['build', '--json', '@dd/lib'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout).results[0];
    expect(result.diagnostics.filter((d: { severity: string }) => d.severity !== 'info')).toEqual([]);
    const dist = fx.path('packages/lib/dist');
    const files = readdirSync(dist).filter((f) => !f.startsWith('chunk-')).sort();
    expect(files).toEqual(['index.d.mts', 'index.d.ts', 'index.mjs', 'server.d.mts', 'server.d.ts', 'server.mjs', 'utils.d.mts', 'utils.d.ts']);
    // Each set names its own siblings: .d.ts → ./utils.js (utils.d.ts), .d.mts → ./utils.mjs (utils.d.mts).
    expect(readFileSync(path.join(dist, 'index.d.ts'), 'utf8')).toContain(`from './utils.js'`);
    expect(readFileSync(path.join(dist, 'index.d.mts'), 'utf8')).toContain(`from './utils.mjs'`);

    const tsc = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: fx.path('packages/use'), encoding: 'utf8' });
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('');
    expect(tsc.status).toBe(0);
  });
});
