import { existsSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { foreignConfigTool } from '../src/config/find.js';
import { packagesWorkspace, type FileTree, type Fixture } from './helpers/fixture.js';
import { cli } from './helpers/workspace.js';

/**
 * unbuild and obuild (the unjs ecosystem: nuxt, nitro, h3) read `build.config.ts` too. A package
 * moving from them keeps theirs and puts build-system's in `build-system.config.ts`, which is read
 * first; a `build.config.ts` that is theirs is never evaluated as ours. Real CLI, real esbuild.
 */

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

const UNBUILD_CONFIG = `import { defineBuildConfig } from 'unbuild';\n\nexport default defineBuildConfig({\n  entries: ['src/index'],\n  declaration: true,\n  rollup: { emitCJS: true },\n});\n`;

const workspace = (packages: Record<string, FileTree>): Fixture => packagesWorkspace(packages, fixtures, 'names-root');

const unbuildPackage = (name: string, extra: FileTree = {}): FileTree => ({
  'package.json': { name, version: '1.0.0', type: 'module', exports: { '.': { import: './dist/index.mjs', require: './dist/index.cjs' } }, scripts: { build: 'unbuild' } },
  'src/index.ts': `export const origin = ${JSON.stringify(name)};\n`,
  'build.config.ts': UNBUILD_CONFIG,
  ...extra,
});

describe('config file names', () => {
  it('tells unbuild and obuild configs from ours by their own words', () => {
    expect(foreignConfigTool(UNBUILD_CONFIG)).toBe('unbuild');
    expect(foreignConfigTool(`import { defineBuildConfig } from "obuild/config";\nexport default defineBuildConfig({ entries: ['./src/index.ts'] });\n`)).toBe('obuild');
    expect(foreignConfigTool(`const { defineBuildConfig } = require('unbuild');\nmodule.exports = defineBuildConfig({});\n`)).toBe('unbuild');
    // Ours, even when a comment names unbuild.
    expect(foreignConfigTool(`import { defineConfig } from 'build-system';\n// moved from unbuild\nexport default defineConfig({ entry: 'src/index.ts' });\n`)).toBeNull();
  });

  it("refuses an unbuild build.config.ts as build-system's config, naming the file to write instead", () => {
    const fx = workspace({ a: unbuildPackage('@n/a') });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    const error = doc.results[0].error;
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain("build.config.ts is unbuild's config, not build-system's: put build-system's config in build-system.config.ts beside it");
    expect(r.stderr).toContain('build-system.config.ts');
    expect(existsSync(fx.path('packages/a/dist'))).toBe(false);
  });

  it('reads build-system.config.ts first: it wins over a build.config.ts beside it', () => {
    const fx = workspace({
      a: unbuildPackage('@n/a', { 'build-system.config.ts': `export default { adapter: 'esbuild', entry: 'src/index.ts', format: ['esm', 'cjs'] };\n` }),
      // Our own short-named config beside an own-named one: the own name wins here too.
      b: {
        'package.json': { name: '@n/b', version: '1.0.0', type: 'module' },
        'src/index.ts': `export const b = 'b';\n`,
        'build.config.ts': `export default { adapter: 'esbuild', entry: 'src/index.ts', outDir: 'short' };\n`,
        'build-system.config.ts': `export default { adapter: 'esbuild', entry: 'src/index.ts', outDir: 'own' };\n`,
      },
    });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    // Had unbuild's file been read, the build would have failed (test above).
    expect(readFileSync(fx.path('packages/a/dist/index.mjs'), 'utf8')).toContain('@n/a');
    expect(existsSync(fx.path('packages/a/dist/index.cjs'))).toBe(true);
    expect(existsSync(fx.path('packages/b/own/index.js'))).toBe(true);
    expect(existsSync(fx.path('packages/b/short'))).toBe(false);
    // unbuild's file is untouched.
    expect(readFileSync(fx.path('packages/a/build.config.ts'), 'utf8')).toBe(UNBUILD_CONFIG);
  });

  it('two own-named config files are one too many', () => {
    const fx = workspace({
      a: {
        'package.json': { name: '@n/a', version: '1.0.0', type: 'module' },
        'src/index.ts': `export const a = 1;\n`,
        'build-system.config.ts': `export default {};\n`,
        'build-system.config.json': '{}\n',
      },
    });
    const r = cli(['build', '--json'], { cwd: fx.root });
    expect(r.code).toBe(2);
    // Found while selecting packages: the run's own error.
    expect(JSON.parse(r.stdout).error.message).toContain('found 2 config files (build-system.config.ts, build-system.config.json); keep exactly one');
  });

  it('init writes build-system.config.ts beside an unbuild config, leaves it alone, and the build then succeeds', () => {
    const fx = workspace({ a: unbuildPackage('@n/a'), plain: { 'package.json': { name: '@n/plain', version: '1.0.0', type: 'module', exports: './dist/index.js' }, 'src/index.ts': `export const p = 1;\n` } });
    const init = cli(['init', '--json'], { cwd: fx.root });
    expect(init.code, init.stderr).toBe(0);
    const doc = JSON.parse(init.stdout);
    const a = doc.packages.find((p: { name: string }) => p.name === '@n/a');
    expect(a.status).toBe('written');
    expect(a.file).toBe('build-system.config.ts');
    expect(a.replaced).toEqual([]);
    expect(a.warnings.join('\n')).toContain("build.config.ts is unbuild's config: left as it is; build-system reads build-system.config.ts first");
    // A package without another tool's config keeps the short name.
    expect(doc.packages.find((p: { name: string }) => p.name === '@n/plain').file).toBe('build.config.ts');
    expect(readFileSync(fx.path('packages/a/build.config.ts'), 'utf8')).toBe(UNBUILD_CONFIG);
    expect(existsSync(fx.path('packages/a/build-system.config.ts'))).toBe(true);

    const build = cli(['build', '--json'], { cwd: fx.root });
    expect(build.code, build.stderr).toBe(0);
    expect(readFileSync(fx.path('packages/a/dist/index.mjs'), 'utf8')).toContain('@n/a');
    expect(existsSync(fx.path('packages/a/dist/index.cjs'))).toBe(true);

    // Run again: build-system's config is there now, so init skips the package (and --force replaces only ours).
    const again = cli(['init', '--json', '--force'], { cwd: fx.root });
    expect(again.code, again.stderr).toBe(0);
    const a2 = JSON.parse(again.stdout).packages.find((p: { name: string }) => p.name === '@n/a');
    expect(a2.file).toBe('build-system.config.ts');
    expect(a2.replaced).toEqual([]);
    expect(readFileSync(fx.path('packages/a/build.config.ts'), 'utf8')).toBe(UNBUILD_CONFIG);
  });
});
