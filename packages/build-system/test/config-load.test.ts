import { spawnSync } from 'node:child_process';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearConfigCache, findConfigFile, loadConfigFile, loadPackageConfig } from '../src/config/load.js';
import { BuildSystemError } from '../src/errors.js';
import { ReadLog } from '../src/util/read-log.js';
import { loadPackageInfo } from '../src/workspace/package-info.js';
import { createFixture, packageRoot, repoBin, snapshotTree, type FileTree, type Fixture } from './helpers/fixture.js';

const fixtures: Fixture[] = [];
function fixture(files: FileTree, type: 'module' | 'commonjs' = 'module'): Fixture {
  const fx = createFixture({ 'package.json': { name: 'cfg-fixture', version: '1.0.0', type }, ...files });
  fixtures.push(fx);
  return fx;
}
afterEach(() => {
  for (const fx of fixtures.splice(0)) fx.cleanup();
});
beforeEach(() => clearConfigCache());

async function load(fx: Fixture, name: string) {
  return loadConfigFile(fx.path(name), loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
}

/** The rejection of `p` as a BuildSystemError (fails the test when p resolves). */
async function failure(p: Promise<unknown>): Promise<BuildSystemError> {
  const e = await p.then(
    (v) => {
      throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BuildSystemError);
  return e as BuildSystemError;
}

const rel = (abs: string) => path.relative(process.cwd(), abs).split(path.sep).join('/');

describe('config file flavours', () => {
  it('build.config.ts: defineConfig from build-system and a local .ts helper', async () => {
    const fx = fixture({
      'config/targets.ts': `export type T = \`node\${number}\`;\nexport const nodeTarget = (n: number): T => \`node\${n}\`;\n`,
      'build.config.ts': `import { defineConfig } from 'build-system';
import type { BuildConfigInput } from 'build-system';
import { nodeTarget } from './config/targets.js';
const extra: Partial<BuildConfigInput> = { minify: true };
export default defineConfig({ adapter: 'esbuild', target: nodeTarget(22), format: ['esm', 'cjs'], ...extra });
`,
    });
    const config = await load(fx, 'build.config.ts');
    expect(config).toMatchObject({ adapter: 'esbuild', target: 'node22', format: ['esm', 'cjs'], minify: true });
    // Schema defaults are applied by the loader.
    expect(config.outDir).toBe('dist');
    expect(config.clean).toBe(true);
  });

  it('build.config.mts with a plain export default', async () => {
    const fx = fixture({ 'build.config.mts': `const outDir: string = 'lib';\nexport default { outDir, sourcemap: 'inline' };\n` });
    expect(await load(fx, 'build.config.mts')).toMatchObject({ outDir: 'lib', sourcemap: 'inline' });
  });

  it('build.config.cts with require and module.exports in a CommonJS package', async () => {
    const fx = fixture(
      {
        'helper.cts': `module.exports = { dir: __dirname };\n`,
        'build.config.cts': `const { defineConfig } = require('build-system');
const helper = require('./helper.cts');
module.exports = defineConfig({ outDir: 'out', banner: helper.dir + '|' + __filename });
`,
      },
      'commonjs',
    );
    const config = await load(fx, 'build.config.cts');
    expect(config.outDir).toBe('out');
    expect(config.banner).toBe(`${fx.root}|${fx.path('build.config.cts')}`);
  });

  it('build.config.cts transpiled style (exports.default with __esModule)', async () => {
    const fx = fixture(
      { 'build.config.cts': `Object.defineProperty(exports, '__esModule', { value: true });\nexports.default = { outDir: 'cjs-default' };\n` },
      'commonjs',
    );
    expect((await load(fx, 'build.config.cts')).outDir).toBe('cjs-default');
  });

  it('build.config.js with module.exports in a CommonJS package', async () => {
    const fx = fixture({ 'helper.js': `exports.out = 'from-helper';\n`, 'build.config.js': `module.exports = { outDir: require('./helper.js').out };\n` }, 'commonjs');
    expect((await load(fx, 'build.config.js')).outDir).toBe('from-helper');
  });

  it('build.config.js and build.config.mjs with export default in an ESM package', async () => {
    const js = fixture({ 'build.config.js': `export default { outDir: 'esm-js' };\n` });
    expect((await load(js, 'build.config.js')).outDir).toBe('esm-js');
    const mjs = fixture({ 'build.config.mjs': `import { defineConfig } from 'build-system';\nexport default defineConfig({ outDir: 'esm-mjs' });\n` });
    expect((await load(mjs, 'build.config.mjs')).outDir).toBe('esm-mjs');
  });

  it('build.config.json', async () => {
    const fx = fixture({ 'build.config.json': { $schema: './schema.json', adapter: 'tsc', env: ['NODE_ENV'] } });
    expect(await load(fx, 'build.config.json')).toMatchObject({ adapter: 'tsc', env: ['NODE_ENV'] });
  });

  it('import.meta.url, __dirname, __filename and require name the original files', async () => {
    const fx = fixture({
      'node_modules/dep-esm/package.json': { name: 'dep-esm', type: 'module', exports: './index.js' },
      'node_modules/dep-esm/index.js': `export const where = import.meta.url;\n`,
      'node_modules/dep-cjs/package.json': { name: 'dep-cjs', main: 'index.js' },
      'node_modules/dep-cjs/index.js': `module.exports = { where: __filename };\n`,
      'data.json': { answer: 42 },
      'config/helper.ts': `export const helperUrl = import.meta.url;\nexport const helperDir = __dirname;\n`,
      'build.config.ts': `import { where as esmWhere } from 'dep-esm';
import { helperUrl, helperDir } from './config/helper.ts';
const cjs = require('dep-cjs');
const data = require('./data.json');
export default {
  define: {
    url: import.meta.url, dir: __dirname, file: __filename, metaDir: import.meta.dirname,
    helperUrl, helperDir, esmWhere, cjsWhere: cjs.where, answer: String(data.answer),
    resolved: require.resolve('dep-cjs'),
  },
};
`,
    });
    const { define } = await load(fx, 'build.config.ts');
    expect(define).toEqual({
      url: pathToFileURL(fx.path('build.config.ts')).href,
      dir: fx.root,
      file: fx.path('build.config.ts'),
      metaDir: fx.root,
      helperUrl: pathToFileURL(fx.path('config/helper.ts')).href,
      helperDir: fx.path('config'),
      // Dependencies run from where they are installed (not bundled into the config).
      esmWhere: pathToFileURL(fx.path('node_modules/dep-esm/index.js')).href,
      cjsWhere: fx.path('node_modules/dep-cjs/index.js'),
      answer: '42',
      resolved: fx.path('node_modules/dep-cjs/index.js'),
    });
  });

  it('a shebang line does not collide with the per-file prelude', async () => {
    const fx = fixture({ 'build.config.mjs': `#!/usr/bin/env node\nexport default { banner: import.meta.url };\n` });
    expect((await load(fx, 'build.config.mjs')).banner).toBe(pathToFileURL(fx.path('build.config.mjs')).href);
  });

  it('defineConfig works from a package outside the repo with no node_modules at all', async () => {
    const fx = fixture({ 'build.config.ts': `import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'rollup' });\n` });
    // The premise: nothing named build-system is resolvable from the fixture.
    expect(() => createRequire(fx.path('build.config.ts')).resolve('build-system')).toThrow();
    expect(existsSync(fx.path('node_modules'))).toBe(false);
    expect((await load(fx, 'build.config.ts')).adapter).toBe('rollup');
  });

  it('leaves no file behind, not even for a failing config', async () => {
    const fx = fixture({
      'build.config.ts': `export default { outDir: 'x' };\n`,
      'bad/package.json': { name: 'bad' },
      'bad/build.config.ts': `export default {\n  oops: ,\n};\n`,
      'dist/keep.js': 'keep\n',
    });
    const before = snapshotTree(fx.root);
    await load(fx, 'build.config.ts');
    await failure(loadConfigFile(fx.path('bad/build.config.ts'), loadPackageInfo(fx.path('bad'), new ReadLog()), new ReadLog()));
    expect(snapshotTree(fx.root)).toEqual(before);
  });
});

describe('syntax errors carry exact locations', () => {
  it('reports file:line:column (1-based) of a TypeScript config', async () => {
    const fx = fixture({ 'build.config.ts': `export default {\n  adapter: 'esbuild',\n  minify: true true,\n};\n` });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect(e.exitCode).toBe(2);
    expect({ file: e.file, line: e.line, column: e.column }).toEqual({ file: rel(fx.path('build.config.ts')), line: 3, column: 16 });
    expect(e.lines()[0]).toBe(`${rel(fx.path('build.config.ts'))}:3:16: Expected "}" but found "true"`);
  });

  it('counts characters, not bytes, and is not shifted on line 1 by the injected prelude', async () => {
    // Line 1 uses import.meta (so the loader prepends its per-file prelude there) and has
    // non-ASCII text before the error: column 33 in characters, more in UTF-8 bytes.
    const fx = fixture({ 'build.config.ts': `const u = import.meta.url + "äöü"; const = 1;\nexport default {};\n` });
    const line = `const u = import.meta.url + "äöü"; const = 1;`;
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect([e.line, e.column]).toEqual([1, line.indexOf('= 1') + 1]);
  });

  it('locates an error inside an imported helper file', async () => {
    const fx = fixture({
      'helpers/x.ts': `export const a = 1;\nexport const b = (;\n`,
      'build.config.ts': `import { a } from './helpers/x.ts';\nexport default { outDir: 'd' + a };\n`,
    });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect([e.file, e.line, e.column]).toEqual([rel(fx.path('helpers/x.ts')), 2, 19]);
  });

  it('locates a JSON syntax error', async () => {
    const fx = fixture({ 'build.config.json': `{\n  "adapter": "tsc",\n  "minify": tru\n}\n` });
    const e = await failure(load(fx, 'build.config.json'));
    expect(e.code).toBe('CONFIG_SYNTAX');
    expect([e.file, e.line, e.column]).toEqual([rel(fx.path('build.config.json')), 3, 13]);
  });
});

describe('configs that fail while evaluated', () => {
  it('a throw becomes CONFIG_LOAD with the message and the original location', async () => {
    const fx = fixture({
      'build.config.ts': `import { defineConfig } from 'build-system';\ninterface X { a: number }\nconst x: X = { a: 1 };\nif (x.a) throw new Error('no token in env');\nexport default defineConfig({});\n`,
    });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_LOAD');
    expect(e.message).toBe('the config threw Error: no token in env');
    expect([e.file, e.line, e.column]).toEqual([rel(fx.path('build.config.ts')), 4, 16]);
    // The stack the user sees points at their file, not at a bundle.
    expect((e.cause as Error).stack).toContain(`${fx.path('build.config.ts')}:4:16`);
  });

  it('a throw on line 1 of a file with the injected prelude keeps its column', async () => {
    const source = `const here = import.meta.url; if (here) throw new RangeError('line one');\nexport default {};\n`;
    const fx = fixture({ 'build.config.ts': source });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_LOAD');
    expect([e.line, e.column]).toEqual([1, source.indexOf('new RangeError') + 1]);
  });

  it('a throw inside a helper names the helper', async () => {
    const fx = fixture({
      'lib/env.ts': `export function need(name: string): string {\n  const v = process.env[name];\n  if (!v) throw new TypeError(\`\${name} is not set\`);\n  return v;\n}\n`,
      'build.config.ts': `import { need } from './lib/env.ts';\nexport default { banner: need('BS_SURELY_UNSET_VARIABLE') };\n`,
    });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_LOAD');
    expect(e.message).toContain('TypeError: BS_SURELY_UNSET_VARIABLE is not set');
    expect([e.file, e.line]).toEqual([rel(fx.path('lib/env.ts')), 3]);
  });

  it('module.exports in an ESM package explains why', async () => {
    const fx = fixture({ 'build.config.js': `module.exports = { outDir: 'x' };\n` });
    const e = await failure(load(fx, 'build.config.js'));
    expect(e.code).toBe('CONFIG_LOAD');
    expect(e.message).toMatch(/module is not defined.*"type": "module".*build\.config\.cts/);
  });

  it('an import that cannot be resolved is a CONFIG_LOAD at the import', async () => {
    const fx = fixture({ 'build.config.ts': `import { x } from './missing-helper.js';\nexport default { outDir: x };\n` });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_LOAD');
    expect(e.message).toContain('Could not resolve "./missing-helper.js"');
    expect([e.line, e.column]).toEqual([1, 19]);
  });
});

describe('validation messages', () => {
  it('a function default export is rejected as (default export)', async () => {
    const fx = fixture({ 'build.config.ts': `export default function config() { return { outDir: 'x' }; }\n` });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.field).toBe('(default export)');
    expect(e.message).toMatch(/^must be a config object, not a function \(got function config\)/);
  });

  it.each([
    ['an array', `export default ['esm'];`, 'expected a config object (got array ["esm"])'],
    ['a string', `export default 'esm';`, 'expected a config object (got string "esm")'],
    ['nothing', `export const outDir = 'x';`, /^expected a config object \(got nothing/],
  ])('a default export that is %s is rejected', async (_what, source, message) => {
    const fx = fixture({ 'build.config.ts': `${source}\n` });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.issues).toHaveLength(1);
    expect(e.issues[0]!.field).toBe('(default export)');
    expect(e.issues[0]!.message).toMatch(message);
  });

  it('gives one issue per problem with dotted field paths, expected and got', async () => {
    const fx = fixture({
      'build.config.ts': `export default {
  adapter: 'webpack',
  outdir: 'lib',
  format: ['esm', 'umd'],
  minify: 'yes',
  entry: { cli: '' },
  adapterOptions: { webpack: {} },
  define: { 'process.env.X': 1 },
  env: ['OK_NAME', 'BAD-NAME'],
  target: 'node-twenty',
  sourcemap: 'yes',
  plugins: [],
};
`,
    });
    const e = await failure(load(fx, 'build.config.ts'));
    expect(e.code).toBe('CONFIG_INVALID');
    const byField = Object.fromEntries(e.issues.map((i) => [i.field, i.message]));
    expect(byField).toEqual({
      adapter: 'must be one of "auto", "bun", "esbuild", "tsc", "rollup" (got "webpack")',
      outdir: 'unknown field (did you mean "outDir"?)',
      plugins: expect.stringMatching(/^unknown field \(known fields: adapter, entry, outDir, .*adapterOptions\)$/),
      'format[1]': 'must be one of "esm", "cjs" (got "umd")',
      minify: 'expected boolean (got string "yes")',
      'entry.cli': 'must not be empty (got "")',
      'adapterOptions.webpack': 'unknown field (known fields: bun, esbuild, tsc, rollup)',
      'define["process.env.X"]': 'expected string (got number 1)',
      'env[1]': 'must be an environment variable name (got "BAD-NAME")',
      target: 'must look like node20, es2022 or esnext (got "node-twenty")',
      sourcemap: 'expected boolean or one of "inline", "external" (got string "yes")',
    });
    const file = rel(fx.path('build.config.ts'));
    for (const issue of e.issues) expect(issue).toMatchObject({ file, package: 'cfg-fixture' });
    expect(e.lines()).toContain(`${file}: minify: expected boolean (got string "yes")`);
  });

  it('names every accepted form when a value fits none', async () => {
    const fx = fixture({ 'build.config.json': { entry: 5, format: [] } });
    const e = await failure(load(fx, 'build.config.json'));
    expect(Object.fromEntries(e.issues.map((i) => [i.field, i.message]))).toEqual({
      entry: 'expected string, array or object (got number 5)',
      format: 'must list at least one format (got [])',
    });
  });
});

describe('finding and memoizing', () => {
  it('findConfigFile: none, one, two', () => {
    const none = fixture({});
    expect(findConfigFile(none.root, new ReadLog())).toBeNull();
    const one = fixture({ 'build.config.mjs': 'export default {};\n' });
    expect(findConfigFile(one.root, new ReadLog())).toBe(one.path('build.config.mjs'));
    const two = fixture({ 'build.config.ts': 'export default {};\n', 'build.config.json': '{}' });
    let e: unknown;
    try {
      findConfigFile(two.root, new ReadLog());
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(BuildSystemError);
    expect((e as BuildSystemError).code).toBe('CONFIG_INVALID');
    expect((e as BuildSystemError).message).toContain('build.config.ts, build.config.json');
  });

  it('loadPackageConfig without a config file gives the schema defaults', async () => {
    const fx = fixture({});
    const { config, file } = await loadPackageConfig(loadPackageInfo(fx.root, new ReadLog()), new ReadLog());
    expect(file).toBeNull();
    expect(config).toMatchObject({ adapter: 'auto', outDir: 'dist', clean: true, define: {}, adapterOptions: {} });
  });

  it('evaluates a config once per file version', async () => {
    const counter = `__bsConfigEvaluations_${Date.now()}`;
    const fx = fixture({
      'build.config.ts': `const g = globalThis as Record<string, number>;\ng.${counter} = (g.${counter} ?? 0) + 1;\nexport default { outDir: 'first' };\n`,
    });
    const g = globalThis as Record<string, unknown>;
    const pkg = loadPackageInfo(fx.root, new ReadLog());
    const [a, b] = await Promise.all([loadPackageConfig(pkg, new ReadLog()), loadPackageConfig(pkg, new ReadLog())]);
    const c = await loadConfigFile(fx.path('build.config.ts'), pkg, new ReadLog());
    expect(g[counter]).toBe(1);
    expect(b.config).toBe(a.config);
    expect(c).toBe(a.config);

    // A new version of the file (new mtime) is evaluated again.
    writeFileSync(fx.path('build.config.ts'), `const g = globalThis as Record<string, number>;\ng.${counter} = (g.${counter} ?? 0) + 1;\nexport default { outDir: 'second' };\n`);
    const later = new Date(Date.now() + 5000);
    utimesSync(fx.path('build.config.ts'), later, later);
    const d = await loadConfigFile(fx.path('build.config.ts'), pkg, new ReadLog());
    expect(d.outDir).toBe('second');
    expect(g[counter]).toBe(2);
    delete g[counter];
  });
});

describe('under Bun', () => {
  it('imports natively: defineConfig outside the repo, a syntax error with its location', () => {
    const fx = fixture({
      'h.ts': `export const t: string = 'node22';\n`,
      'build.config.ts': `import { defineConfig } from 'build-system';\nimport { t } from './h.ts';\nexport default defineConfig({ target: t, banner: import.meta.url });\n`,
      'bad/package.json': { name: 'bad' },
      'bad/build.config.ts': `export default {\n  minify: true true,\n};\n`,
      'run.ts': `import { loadConfigFile } from ${JSON.stringify(path.join(packageRoot, 'src/config/load.ts'))};
import { loadPackageInfo } from ${JSON.stringify(path.join(packageRoot, 'src/workspace/package-info.ts'))};
import { ReadLog } from ${JSON.stringify(path.join(packageRoot, 'src/util/read-log.ts'))};
const out: unknown[] = [];
for (const dir of [process.cwd(), process.cwd() + '/bad']) {
  try { out.push(await loadConfigFile(dir + '/build.config.ts', loadPackageInfo(dir, new ReadLog()), new ReadLog())); }
  catch (e) { const x = e as { code: string; line: number; column: number }; out.push({ code: x.code, line: x.line, column: x.column }); }
}
console.log(JSON.stringify({ bun: typeof (globalThis as { Bun?: unknown }).Bun, out }));
`,
    });
    const r = spawnSync(path.join(repoBin, 'bun'), ['run.ts'], { cwd: fx.root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { bun: string; out: [Record<string, unknown>, Record<string, unknown>] };
    expect(result.bun).toBe('object');
    expect(result.out[0]).toMatchObject({ target: 'node22', banner: pathToFileURL(fx.path('build.config.ts')).href });
    expect(result.out[1]).toEqual({ code: 'CONFIG_SYNTAX', line: 2, column: 16 });
  });
});

describe('identical config texts in several packages', () => {
  const saved = process.env.BS_TEST_SHARED_OUT;
  afterEach(() => {
    if (saved === undefined) delete process.env.BS_TEST_SHARED_OUT;
    else process.env.BS_TEST_SHARED_OUT = saved;
  });

  it('each package gets an equal value of its own: changing one changes no other', async () => {
    const text = "import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'esbuild', format: ['esm', 'cjs'], define: { X: '1' } });\n";
    const fx = fixture({ 'a/build.config.ts': text, 'b/build.config.ts': text, 'c/build.config.ts': text });
    const [a, b] = await Promise.all([load(fx, 'a/build.config.ts'), load(fx, 'b/build.config.ts')]);
    expect(b).toEqual(a);
    (a.format as string[]).push('iife');
    (a.define as Record<string, string>).X = 'changed';
    const c = await load(fx, 'c/build.config.ts');
    expect(c.format).toEqual(['esm', 'cjs']);
    expect(c.define).toEqual({ X: '1' });
    expect(b.format).toEqual(['esm', 'cjs']);
  });

  it('a config that names its own location is evaluated per file', async () => {
    const text = "export default { adapter: 'esbuild', outDir: import.meta.dirname.endsWith('a') ? 'out-a' : 'out-b' };\n";
    const fx = fixture({ 'a/build.config.ts': text, 'b/build.config.ts': text });
    expect((await load(fx, 'a/build.config.ts')).outDir).toBe('out-a');
    expect((await load(fx, 'b/build.config.ts')).outDir).toBe('out-b');
  });

  it('a config that reads an env var sees the value of the moment it is loaded', async () => {
    const text = "export default { adapter: 'esbuild', outDir: process.env.BS_TEST_SHARED_OUT ?? 'dist' };\n";
    const fx = fixture({ 'a/build.config.ts': text, 'b/build.config.ts': text, 'c/build.config.ts': text });
    process.env.BS_TEST_SHARED_OUT = 'first';
    expect((await load(fx, 'a/build.config.ts')).outDir).toBe('first');
    expect((await load(fx, 'b/build.config.ts')).outDir).toBe('first');
    process.env.BS_TEST_SHARED_OUT = 'second';
    expect((await load(fx, 'c/build.config.ts')).outDir).toBe('second');
  });

  it('a text that fails is reported for each file that holds it', async () => {
    const text = "export default { adapter: 'esbuild', format: 'nope' };\n";
    const fx = fixture({ 'a/build.config.ts': text, 'b/build.config.ts': text });
    expect((await failure(load(fx, 'a/build.config.ts'))).file).toBe(rel(fx.path('a/build.config.ts')));
    expect((await failure(load(fx, 'b/build.config.ts'))).file).toBe(rel(fx.path('b/build.config.ts')));
  });
});
