import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { packagesWorkspace, type FileTree, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * A source importing its own package by name (unjs/unhead: `import … from 'unhead/stream/iife'`)
 * means the published file: it stays an import, where a bundler failed to resolve it before the
 * first build (or would inline the previous one). A tsconfig `paths` entry mapping the name makes
 * it an alias to the sources instead, which the bundler follows.
 */

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

/** The package (its files, `extra` among them) in a workspace of its own. */
const pkg = (config: string, extra: FileTree = {}): Fixture =>
  packagesWorkspace(
    {
      self: {
        'package.json': { name: 'self-pkg', version: '1.0.0', type: 'module', exports: { '.': './dist/index.js', './extra': './dist/extra.js' } },
        'src/index.ts': `import { extra } from 'self-pkg/extra';\nexport const main = (): string => 'main ' + extra;\n`,
        'src/extra.ts': `export const extra = 'extra';\n`,
        'build.config.ts': config,
        ...extra,
      },
    },
    fixtures,
    'self-root',
  );

describe('a package importing itself by name', () => {
  for (const adapter of ['esbuild', 'bun', 'rollup'] as const) {
    it(`${adapter}: the import stays, and resolves to the published file at run time`, () => {
      const fx = pkg(`export default { adapter: '${adapter}', dts: false };\n`);
      const r = cli(['build', '--json'], { cwd: fx.root });
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(fx.path('packages/self/dist/index.js'), 'utf8')).toMatch(/from ["']self-pkg\/extra["']/);
      expect(existsSync(fx.path('packages/self/dist/extra.js'))).toBe(true);
    });
  }

  it('a tsconfig paths entry for the name is an alias to the sources: bundled', () => {
    const fx = pkg(`export default { adapter: 'esbuild', dts: false };\n`, {
      'tsconfig.json': { compilerOptions: { strict: true, paths: { 'self-pkg/*': ['./src/*'] } } },
    });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    const out = readFileSync(fx.path('packages/self/dist/index.js'), 'utf8');
    expect(out).not.toMatch(/from ["']self-pkg/);
    // Followed to src/extra.ts, which the extra entry shares with it in a chunk.
    expect(out).toMatch(/from "\.\/chunk-/);
  });
});
