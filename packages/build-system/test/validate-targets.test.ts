import { afterEach, describe, expect, it } from 'vitest';
import { validatePackage } from '../src/validate/index.js';
import { ReadLog } from '../src/util/read-log.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * package.json targets against a build's artifacts: inside outDir only what
 * this build produced counts, outside it the disk (through the read log).
 */
const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

function validate(manifest: Record<string, unknown>, artifacts: string[], disk: Record<string, string> = {}) {
  const fx = createFixture({ 'package.json': manifest, ...disk });
  fixtures.push(fx);
  const reads = new ReadLog();
  const outcome = validatePackage({ dir: fx.root, manifest, outDir: 'dist', artifacts: artifacts.map((path) => ({ path })), reads });
  return { ...outcome, reads, fx, problems: outcome.diagnostics.map((d) => `${d.code} ${d.field}`) };
}

describe('package.json targets exist', () => {
  it('every exports subpath and condition, main, module, types and bin: clean when the build produced them', () => {
    const { diagnostics } = validate(
      {
        name: 'p',
        type: 'module',
        main: './dist/index.cjs',
        module: './dist/index.js',
        types: './dist/index.d.cts',
        bin: { p: './dist/cli.js' },
        exports: {
          '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } },
          './package.json': './package.json',
        },
      },
      ['dist/index.js', 'dist/index.d.ts', 'dist/index.cjs', 'dist/index.d.cts', 'dist/cli.js'],
    );
    expect(diagnostics).toEqual([]);
  });

  it('names each missing target by its field path, and what the build made instead', () => {
    const { diagnostics, problems } = validate(
      {
        name: 'p',
        type: 'module',
        main: './dist/main.js',
        bin: { 'my-cli': './dist/cli.js' },
        exports: { '.': './dist/index.mjs', './utils': { require: './dist/utils.cjs', default: './dist/utils.js' } },
      },
      ['dist/index.js', 'dist/utils.js'],
    );
    expect(problems.sort()).toEqual(['PKG_BIN_MISSING bin["my-cli"]', 'PKG_ENTRY_MISSING main', 'PKG_EXPORT_MISSING exports["."]', 'PKG_EXPORT_MISSING exports["./utils"].require'].sort());
    const root = diagnostics.find((d) => d.field === 'exports["."]')!;
    expect(root).toMatchObject({ severity: 'warning', file: 'package.json' });
    expect(root.message).toBe('./dist/index.mjs is not produced by this build (outDir dist; it produced ./dist/index.js)');
  });

  it('a file left in outDir by an older build does not count; one outside outDir is looked up on disk through the read log', () => {
    const { problems, reads, fx } = validate(
      { name: 'p', exports: { '.': './dist/index.js', './old': './dist/old.js', './schema.json': './schema.json', './gone.json': './gone.json' } },
      ['dist/index.js'],
      { 'dist/old.js': 'stale', 'schema.json': '{}' },
    );
    expect(problems).toEqual(['PKG_EXPORT_MISSING exports["./old"]', 'PKG_EXPORT_MISSING exports["./gone.json"]']);
    const seen = reads.observations();
    expect(seen.files.has(fx.path('schema.json'))).toBe(true);
    expect(seen.absent.has(fx.path('gone.json'))).toBe(true);
    // Inside outDir nothing is read: the artifacts are the truth.
    expect([...seen.files.keys(), ...seen.absent].some((p) => p.startsWith(fx.path('dist')))).toBe(false);
  });

  it('main is found the way Node finds it (extension and index added)', () => {
    expect(validate({ name: 'p', main: 'dist/index' }, ['dist/index.js']).problems).toEqual([]);
    expect(validate({ name: 'p', main: './dist' }, ['dist/index.js']).problems).toEqual([]);
    expect(validate({ name: 'p', main: './dist/nope' }, ['dist/index.js']).problems).toEqual(['PKG_ENTRY_MISSING main']);
  });

  it('a * pattern inside outDir must match an artifact; one outside outDir is not expanded', () => {
    const manifest = { name: 'p', type: 'module', exports: { './utils/*': './dist/utils/*.js', './locales/*': './dist/locales/*.json', './schema/*': './schema/*' } };
    expect(validate(manifest, ['dist/utils/a.js', 'dist/utils/deep/b.js']).problems).toEqual(['PKG_EXPORT_MISSING exports["./locales/*"]']);
    expect(validate(manifest, ['dist/utils/a.js', 'dist/locales/en.json']).problems).toEqual([]);
  });

  it('exports Node refuses: a target without ./, one leaving the package, subpaths mixed with conditions', () => {
    expect(validate({ name: 'p', exports: { '.': 'dist/index.js', './x': './dist/../../x.js' } }, ['dist/index.js']).problems).toEqual([
      'PKG_EXPORT_INVALID exports["."]',
      'PKG_EXPORT_INVALID exports["./x"]',
    ]);
    expect(validate({ name: 'p', exports: { '.': './dist/index.js', import: './dist/index.js' } }, ['dist/index.js']).problems).toEqual(['PKG_EXPORT_INVALID exports']);
  });

  it('null targets exclude a subpath and are not files', () => {
    expect(validate({ name: 'p', exports: { '.': './dist/index.js', './internal/*': null } }, ['dist/index.js']).problems).toEqual([]);
  });
});
