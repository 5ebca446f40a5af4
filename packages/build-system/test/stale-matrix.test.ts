import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { build } from '../src/index.js';
import type { RunResult } from '../src/result/schema.js';
import { cliPath, createFixture, repoRoot, snapshotTree, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * Issue 11 §2, the differential matrix: after each change, the output of a
 * build must equal what a `--force` build makes of the same files. A cache
 * that serves an old output anywhere fails here.
 *
 * One workspace shaped like a real monorepo (esbuild, tsc with declarations,
 * rollup and bun packages; a shared root tsconfig; sources outside packages;
 * tsconfig paths; a gitignored generated file; a symlinked directory; a
 * bundled node_modules dependency with a lockfile; configs that import JSON,
 * TypeScript helpers and read env vars; workspace dependencies read as
 * bundles and as declarations; git history). Every case changes one thing and
 * owns the package whose output it must change (or must not), so all cases
 * run at once: build, (record), apply every change, build through the path
 * under test, snapshot every package's outDir, then `--force`, snapshot
 * again, compare.
 *
 * Paths: the CLI with its no-op replay (the record is checked to exist before
 * the changes), the CLI without any fast path (BUILD_SYSTEM_NO_FAST_PATH=1),
 * and the programmatic API in this process.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const ENV_BEFORE = { BS_FLAVOR: 'one', BS_DECL: 'one', BS_PLUGIN_LOAD: 'one', BS_PLUGIN_SETUP: 'one', BS_PLUGIN_ROLLUP: 'one', BS_PLUGIN_START: 'one', BS_BUN_INLINE: 'one', BS_DOTENV_REF: 'one' };
const ENV_AFTER = { BS_FLAVOR: 'two', BS_DECL: 'two', BS_PLUGIN_LOAD: 'two', BS_PLUGIN_SETUP: 'two', BS_PLUGIN_ROLLUP: 'two', BS_PLUGIN_START: 'two', BS_BUN_INLINE: 'two', BS_DOTENV_REF: 'two' };

/**
 * Plugins written in the config (no import: the run keeps its no-op record) that read an env var while the
 * build runs, not while the config is evaluated: in an onLoad callback, in setup, in a rollup hook.
 */
const envPluginConfig = {
  load: `export default { adapter: 'esbuild', adapterOptions: { esbuild: { plugins: [{ name: 'env', setup(build: any) {
  build.onResolve({ filter: /^virtual:env$/ }, (a: any) => ({ path: a.path, namespace: 'env' }));
  build.onLoad({ filter: /.*/, namespace: 'env' }, () => ({ contents: 'export const env = ' + JSON.stringify(process.env.BS_PLUGIN_LOAD ?? '') + ';', loader: 'js' }));
} }] } } };
`,
  setup: `export default { adapter: 'esbuild', adapterOptions: { esbuild: { plugins: [{ name: 'env', setup(build: any) {
  build.initialOptions.define = { ...build.initialOptions.define, PLUGIN_ENV: JSON.stringify(process.env.BS_PLUGIN_SETUP ?? '') };
} }] } } };
`,
  // Read in onStart, kept in the closure, used by onLoad.
  start: `export default { adapter: 'esbuild', adapterOptions: { esbuild: { plugins: [{ name: 'env', setup(build: any) {
  let kept = '';
  build.onStart(() => { kept = process.env.BS_PLUGIN_START ?? ''; });
  build.onResolve({ filter: /^virtual:env$/ }, (a: any) => ({ path: a.path, namespace: 'env' }));
  build.onLoad({ filter: /.*/, namespace: 'env' }, () => ({ contents: 'export const env = ' + JSON.stringify(kept) + ';', loader: 'js' }));
} }] } } };
`,
  rollup: `export default { adapter: 'rollup', adapterOptions: { rollup: { plugins: [{ name: 'env',
  resolveId: (id: string) => (id === 'virtual:env' ? '\\0virtual:env' : null),
  load: (id: string) => (id === '\\0virtual:env' ? 'export const env = ' + JSON.stringify(process.env.BS_PLUGIN_ROLLUP ?? '') + ';' : null),
}] } } };
`,
};

const esbuild = `export default { adapter: 'esbuild' };\n`;
const tscDts = `export default { adapter: 'tsc', dts: true };\n`;
const pkgJson = (name: string, extra: Record<string, unknown> = {}) => ({ name: `@m/${name}`, version: '1.0.0', type: 'module', exports: './dist/index.js', ...extra });
const tsconfigOwn = {
  compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [], rootDir: 'src', outDir: 'dist' },
  include: ['src'],
};

/**
 * One plugin in both shapes (esbuild's setup, rollup's hooks): `virtual:data` is built from a file, a
 * directory's names, or a file that may not exist, each path relative to the package, and named as the
 * tools' contracts ask (esbuild: watchFiles/watchDirs, from an async onLoad; rollup: addWatchFile).
 */
const DATA_PLUGIN = `import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
type Source = { file?: string; dir?: string; optional?: string };
function load(base: string, s: Source) {
  const file = s.file && path.resolve(base, s.file), dir = s.dir && path.resolve(base, s.dir), optional = s.optional && path.resolve(base, s.optional);
  const data = file ? readFileSync(file, 'utf8') : dir ? readdirSync(dir).sort().join(',') : optional && existsSync(optional) ? readFileSync(optional, 'utf8') : 'default';
  return { code: 'export const data = ' + JSON.stringify(data) + ';', files: [file, optional].filter(Boolean) as string[], dirs: dir ? [dir] : [] };
}
export function esbuildData(s: Source) {
  return { name: 'data', setup(build: any) {
    build.onResolve({ filter: /^virtual:data$/ }, (a: any) => ({ path: a.path, namespace: 'data' }));
    build.onLoad({ filter: /.*/, namespace: 'data' }, async () => {
      const { code, files, dirs } = load(build.initialOptions.absWorkingDir, s);
      return { contents: code, loader: 'js', watchFiles: files, watchDirs: dirs };
    });
  } };
}
export function rollupData(s: Source) {
  return { name: 'data',
    // The package's directory travels in the id (rollup has no working directory): its src/ holds the importer.
    resolveId: (id: string, importer?: string) => (id === 'virtual:data' && importer ? '\\0virtual:data:' + path.dirname(path.dirname(importer)) : null),
    load(this: any, id: string) {
      if (!id.startsWith('\\0virtual:data:')) return null;
      const { code, files } = load(id.slice('\\0virtual:data:'.length), s);
      for (const f of files) this.addWatchFile(f);
      return code;
    } };
}
`;
const pluginConfig = (adapter: 'esbuild' | 'rollup', source: string) =>
  `import { ${adapter}Data } from '../../build-helpers/data-plugin';\nexport default { adapter: '${adapter}', adapterOptions: { ${adapter}: { plugins: [${adapter}Data(${source})] } } };\n`;

/** A package whose build reads only its own files. */
function simple(name: string, config: string, files: FileTree, manifest: Record<string, unknown> = {}): FileTree {
  const out: FileTree = { [`packages/${name}/package.json`]: pkgJson(name, manifest), [`packages/${name}/build.config.ts`]: config };
  for (const [rel, content] of Object.entries(files)) out[`packages/${name}/${rel}`] = content;
  return out;
}

function workspaceFiles(): FileTree {
  return {
    'package.json': { name: 'matrix', private: true, workspaces: ['packages/*', 'above/*'] },
    '.gitignore': 'node_modules\ndist\n**/generated/\n*.gen.d.ts\n.env\nbunfig.toml\n',
    'package-lock.json': lockfile('1.0.0', 'sha512-fakedep2-one'),
    // Outside every package: read through tsconfig extends, relative imports, configs.
    'tsconfig.base.json': { compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [], removeComments: false } },
    'configs/tsconfig.jsx.json': { compilerOptions: { jsx: 'react', jsxFactory: 'h' } },
    'configs/tsconfig.self.json': { compilerOptions: { strict: true } },
    'configs/tsconfig.tsc2a.json': { compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [] } },
    'configs/tsconfig.strict.json': { compilerOptions: { removeComments: false } },
    'configs/esbuild.tsconfig.json': { compilerOptions: { jsx: 'react', jsxFactory: 'h' } },
    // One directory per case: a file added or renamed beside a read one is itself a change (its listing is recorded).
    'shared/message/message.ts': `export const message = 'shared v1';\n`,
    'shared/rollup/rollup-msg.ts': `export const rollupMessage = 'rollup shared v1';\n`,
    'shared/bun/bun-msg.ts': `export const bunMessage = 'bun shared v1';\n`,
    'shared/shadow/mod.ts': `export const shadow = 'from mod.ts';\n`,
    'shared/moved/moved.ts': `export const moved = 'moved v1';\n`,
    'linked-src/value.ts': `export const linked = 'linked one';\n`,
    'linked-src-2/value.ts': `export const linked = 'linked two';\n`,
    'retarget-a/value.ts': `export const target = 'target a';\n`,
    'retarget-b/value.ts': `export const target = 'target b';\n`,
    'presets.json': { banner: '/* preset v1 */' },
    'build-helpers/banner.ts': `export const banner = '/* helper v1 */';\n`,
    'node_modules/fake-dep/package.json': { name: 'fake-dep', version: '1.0.0', main: 'index.js' },
    'node_modules/fake-dep/index.js': `exports.pad = (s) => '[' + s + ']';\n`,
    'node_modules/fake-dep2/package.json': { name: 'fake-dep2', version: '1.0.0', main: 'index.js' },
    'node_modules/fake-dep2/index.js': `exports.version = 'fake-dep2 1.0.0';\n`,
    'node_modules/fake-dep3/package.json': { name: 'fake-dep3', version: '1.0.0', main: 'index.js' },
    'node_modules/fake-dep3/index.js': `exports.three = 'fake-dep3';\n`,
    // Two checkouts of one package outside the workspace's packages; node_modules/linked-lib links to one (npm link).
    'linked-pkgs/a/package.json': { name: 'linked-lib', version: '1.0.0', main: 'index.js' },
    'linked-pkgs/a/index.js': `exports.linked = 'linked checkout a';\n`,
    'linked-pkgs/b/package.json': { name: 'linked-lib', version: '1.0.0', main: 'index.js' },
    'linked-pkgs/b/index.js': `exports.linked = 'linked checkout b';\n`,
    // A dual package: each dist directory has a package.json of its own (type only), nearer to the files than the root's exports.
    'node_modules/dual-dep/package.json': { name: 'dual-dep', version: '1.0.0', exports: { '.': { import: './dist/esm/index.js', require: './dist/cjs/index.js' } } },
    'node_modules/dual-dep/dist/esm/package.json': { type: 'module' },
    'node_modules/dual-dep/dist/esm/index.js': `export const which = 'dual esm';\n`,
    'node_modules/dual-dep/dist/cjs/package.json': { type: 'commonjs' },
    'node_modules/dual-dep/dist/cjs/index.js': `exports.which = 'dual cjs';\n`,

    // --- sources, one package per case -------------------------------------------------------
    ...simple('src-edit', esbuild, { 'src/index.ts': `export const v = 'src v1';\n` }),
    // Entries from a glob: a file added where it reaches is a new entry (and a new output).
    ...simple('glob-entry', `export default { adapter: 'esbuild', entry: ['src/*.ts'] };\n`, { 'src/index.ts': `export const v = 'glob';\n` }),
    ...simple('same-size', esbuild, { 'src/index.ts': `export const v = 'size-1';\n` }),
    ...simple('same-second', esbuild, { 'src/index.ts': `export const v = 'aaaa';\n` }),
    ...simple('deep-edit', esbuild, { 'src/index.ts': `export { deep } from './lib/a/b/deep';\n`, 'src/lib/a/b/deep.ts': `export const deep = 'deep v1';\n` }),
    ...simple('add-source', esbuild, { 'src/index.ts': `export const v = 'add';\n` }),
    ...simple('delete-source', esbuild, { 'src/index.ts': `export { u } from './util';\nexport const v = 1;\n`, 'src/util.ts': `export const u = 'util';\n` }),
    ...simple('rename-source', esbuild, { 'src/index.ts': `export { u } from './util';\n`, 'src/util.ts': `export const u = 'renamed';\n` }),
    ...simple('unimported-file', esbuild, { 'src/index.ts': `export const v = 'unimported';\n` }),
    ...simple('pkg-deps', esbuild, { 'src/index.ts': `import { three } from 'fake-dep3';\nexport const v = three;\n` }, { devDependencies: { 'fake-dep3': '1.0.0' } }),
    ...simple('pkg-exports', esbuild, { 'src/index.ts': `export const v = 'main';\n`, 'src/extra.ts': `export const extra = 'extra';\n` }),
    ...simple('pkg-type', esbuild, { 'src/index.ts': `export const v = 'typed';\n` }),
    ...simple('config-edit', esbuild, { 'src/index.ts': `export const v = 'configured';\n` }),
    ...simple('own-config', esbuild, { 'src/index.ts': `export const v = 'own config';\n` }),
    // Imports itself by a name it publishes: external (the published file), until a tsconfig above maps the name to its sources.
    ...simple(
      'self-import',
      `export default { adapter: 'esbuild', entry: ['src/index.ts', 'src/extra.ts'] };\n`,
      { 'tsconfig.json': { extends: '../../configs/tsconfig.self.json' }, 'src/index.ts': `import { extra } from '@m/self-import/extra';\nexport const v = extra;\n`, 'src/extra.ts': `export const extra = 'extra';\n` },
      { exports: { '.': './dist/index.js', './extra': './dist/extra.js' } },
    ),
    ...simple('outdir-deleted', esbuild, { 'src/index.ts': `export const v = 'out';\n` }),
    ...simple('outdir-edited', esbuild, { 'src/index.ts': `export const v = 'out';\n` }),
    ...simple('git-checkout', esbuild, { 'src/index.ts': `export const v = 'git v1';\n` }),
    ...simple('git-stash', esbuild, { 'src/index.ts': `export const v = 'stash main';\n` }),

    // --- reads outside the package ----------------------------------------------------------
    ...simple('tsconfig-base', tscDts, { 'tsconfig.json': { extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }, 'src/index.ts': `/** kept unless removeComments */\nexport const t: number = 1;\n` }),
    ...simple('tsconfig-array', tscDts, {
      'tsconfig.json': { extends: ['../../configs/tsconfig.tsc2a.json', '../../configs/tsconfig.strict.json'], compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] },
      'src/index.ts': `/** kept unless removeComments */\nexport const t2: number = 2;\n`,
    }),
    ...simple('jsx-extends', esbuild, { 'tsconfig.json': { extends: '../../configs/tsconfig.jsx.json' }, 'src/index.tsx': `declare function h(...a: unknown[]): unknown;\ndeclare function createElement(...a: unknown[]): unknown;\nexport const el = <div />;\n` }),
    // Its own tsconfig.json ends esbuild's lookup in the package (the tsconfig appearing above does not reach it).
    ...simple('tsconfig-option', `export default { adapter: 'esbuild', adapterOptions: { esbuild: { tsconfig: '../../configs/esbuild.tsconfig.json' } } };\n`, {
      'tsconfig.json': { compilerOptions: {} },
      'src/index.tsx': `declare function h(...a: unknown[]): unknown;\ndeclare function createElement(...a: unknown[]): unknown;\nexport const el = <b />;\n`,
    }),
    // Under a directory of its own: the tsconfig that appears above it must not reach any other case's package.
    'above/tsconfig-above/package.json': pkgJson('tsconfig-above'),
    'above/tsconfig-above/build.config.ts': esbuild,
    'above/tsconfig-above/src/index.tsx': `declare const React: { createElement(...a: unknown[]): unknown };\ndeclare function hh(...a: unknown[]): unknown;\nexport const el = <span />;\n`,
    ...simple('tsconfig-deleted', esbuild, { 'tsconfig.json': { compilerOptions: { jsx: 'react', jsxFactory: 'h' } }, 'src/index.tsx': `declare function h(...a: unknown[]): unknown;\ndeclare function hh(...a: unknown[]): unknown;\nexport const el = <p />;\n` }),
    // A tsconfig include reaching a shared types directory outside the package, with no declaration in it yet
    // (a README only; absent altogether for the second): nothing there was read, and a global declaration
    // added there changes what TypeScript infers. tsc adapter, and declarations after a bundler.
    'types/tsc-globals/README.md': 'Global declarations.\n',
    ...simple('include-outside', tscDts, {
      'tsconfig.json': { ...tsconfigOwn, include: ['src', '../../types/tsc-globals'] },
      'src/options.d.ts': `interface TscOptions { a: string }\n`,
      'src/index.ts': `export function make(o: TscOptions) {\n  return { ...o };\n}\n`,
    }),
    ...simple('include-absent', `export default { adapter: 'esbuild', dts: true };\n`, {
      'tsconfig.json': { ...tsconfigOwn, include: ['src', '../../types/decl-globals/**/*.d.ts'] },
      'src/options.d.ts': `interface DeclOptions { a: string }\n`,
      'src/index.ts': `export function make(o: DeclOptions) {\n  return { ...o };\n}\n`,
    }),
    // typeRoots outside the package, without `types`: TypeScript loads every package there.
    'typings-case/a/index.d.ts': `interface RootsOptions { fromA?: string }\n`,
    ...simple('typeroots-outside', tscDts, {
      'tsconfig.json': { compilerOptions: { ...tsconfigOwn.compilerOptions, types: undefined, typeRoots: ['../../typings-case'] }, include: ['src'] },
      'src/options.d.ts': `interface RootsOptions { a: string }\n`,
      'src/index.ts': `export function make(o: RootsOptions) {\n  return { ...o };\n}\n`,
    }),
    // A directory import outside the package (mod/index.ts), and a `paths` key whose first target has no match yet.
    'shared/idx/mod/index.ts': `export const idx = 'from mod/index.ts';\n`,
    ...simple('index-shadow', esbuild, { 'src/index.ts': `export { idx } from '../../../shared/idx/mod';\n` }),
    'shared/fallback-a/other.ts': `export const other = 1;\n`,
    'shared/fallback-b/mod.ts': `export const fallback = 'from b';\n`,
    ...simple('paths-fallback', esbuild, { 'tsconfig.json': { compilerOptions: { baseUrl: '.', paths: { '@fb/*': ['../../shared/fallback-a/*', '../../shared/fallback-b/*'] } } }, 'src/index.ts': `export { fallback } from '@fb/mod';\n` }),
    // A gitignored directory generated into src/ (the root .gitignore's **/generated/), holding a global declaration
    // the tsconfig's include picks up: no input of the fingerprint, and read by nobody before it existed.
    ...simple('gitignored-dts', tscDts, {
      'tsconfig.json': tsconfigOwn,
      'src/options.d.ts': `interface GenOptions { a: string }\n`,
      'src/index.ts': `export function make(o: GenOptions) {\n  return { ...o };\n}\n`,
    }),
    // The same, generated into the package's own directory (tsc's default include: everything below the tsconfig).
    ...simple('gitignored-root', tscDts, {
      'tsconfig.json': { compilerOptions: { ...tsconfigOwn.compilerOptions, rootDir: undefined }, exclude: ['build.config.ts', 'dist'] },
      'src/options.d.ts': `interface RootGenOptions { a: string }\n`,
      'src/index.ts': `export function make(o: RootGenOptions) {\n  return { ...o };\n}\n`,
    }),
    ...simple('relative-outside', esbuild, { 'src/index.ts': `export { message } from '../../../shared/message/message';\n` }),
    ...simple('renamed-outside', esbuild, { 'src/index.ts': `export { moved } from '../../../shared/moved/moved';\n` }),
    ...simple('paths-other', esbuild, { 'tsconfig.json': { compilerOptions: { baseUrl: '.', paths: { '@other/*': ['../other-src/src/*'] } } }, 'src/index.ts': `export { other } from '@other/value';\n` }),
    'packages/other-src/package.json': { name: '@m/other-src', version: '1.0.0', private: true },
    'packages/other-src/src/value.ts': `export const other = 'other v1';\n`,
    ...simple('gitignored-gen', esbuild, { 'src/index.ts': `export { data } from './generated/data';\n`, 'src/generated/data.ts': `export const data = 'generated v1';\n` }),
    ...simple('symlink-edit', esbuild, { 'src/index.ts': `export { linked } from './linked/value';\n` }),
    ...simple('symlink-retarget', esbuild, { 'src/index.ts': `export { target } from './linked/value';\n` }),
    ...simple('shadow', esbuild, { 'src/index.ts': `export { shadow } from '../../../shared/shadow/mod';\n` }),
    ...simple('nm-bundled', esbuild, { 'src/index.ts': `import { pad } from 'fake-dep';\nexport const v = pad('x');\n` }, { devDependencies: { 'fake-dep': '1.0.0' } }),
    ...simple('nm-relinked', esbuild, { 'src/index.ts': `import { linked } from 'linked-lib';\nexport const v = linked;\n` }, { devDependencies: { 'linked-lib': '1.0.0' } }),
    ...simple('nm-dual', esbuild, { 'src/index.ts': `export { which } from 'dual-dep';\n` }, { devDependencies: { 'dual-dep': '1.0.0' } }),
    ...simple('lockfile-upgrade', esbuild, { 'src/index.ts': `import { version } from 'fake-dep2';\nexport const v = version;\n` }, { devDependencies: { 'fake-dep2': '1.0.0' } }),
    ...simple('config-json', `import presets from '../../presets.json';\nexport default { adapter: 'esbuild', banner: presets.banner };\n`, { 'src/index.ts': `export const v = 'json';\n` }),
    ...simple('config-helper', `import { banner } from '../../build-helpers/banner';\nexport default { adapter: 'esbuild', banner };\n`, { 'src/index.ts': `export const v = 'helper';\n` }),
    ...simple('config-env', `const flavor = process.env['BS_' + 'FLAVOR'] ?? 'none';\nexport default { adapter: 'esbuild', define: { FLAVOR: JSON.stringify(flavor) } };\n`, { 'src/index.ts': `declare const FLAVOR: string;\nexport const v = FLAVOR;\n` }),
    ...simple('config-env-declared', `export default { adapter: 'esbuild', env: ['BS_DECL'], define: { DECL: JSON.stringify(process.env.BS_DECL ?? '') } };\n`, { 'src/index.ts': `declare const DECL: string;\nexport const v = DECL;\n` }),
    ...simple('plugin-env-load', envPluginConfig.load, { 'src/index.ts': `export { env } from 'virtual:env';\n` }),
    ...simple('plugin-env-setup', envPluginConfig.setup, { 'src/index.ts': `declare const PLUGIN_ENV: string;\nexport const env = PLUGIN_ENV;\n` }),
    ...simple('plugin-env-start', envPluginConfig.start, { 'src/index.ts': `export { env } from 'virtual:env';\n` }),
    ...simple('plugin-env-rollup', envPluginConfig.rollup, { 'src/index.ts': `export { env } from 'virtual:env';\n` }),
    ...simple('rollup-src', `export default { adapter: 'rollup' };\n`, { 'src/index.ts': `export const v = 'rollup v1';\n` }),
    ...simple('rollup-outside', `export default { adapter: 'rollup' };\n`, { 'src/index.ts': `export { rollupMessage } from '../../../shared/rollup/rollup-msg';\n` }),
    ...simple('bun-src', `export default { adapter: 'bun' };\n`, { 'src/index.ts': `export const v = 'bun v1';\n` }),
    ...simple('bun-outside', `export default { adapter: 'bun' };\n`, { 'src/index.ts': `export { bunMessage } from '../../../shared/bun/bun-msg';\n` }),
    // bun's `env` option inlines process.env.NAME from its environment and the (gitignored) .env files in its cwd
    // (.env: vitest sets NODE_ENV=test, under which bun skips .env.local).
    ...simple('bun-env-inline', `export default { adapter: 'bun', adapterOptions: { bun: { env: 'BS_BUN_*' } } };\n`, { 'src/index.ts': `export const v = process.env.BS_BUN_INLINE;\n` }),
    ...simple('bun-dotenv', `export default { adapter: 'bun', adapterOptions: { bun: { env: 'inline' } } };\n`, { 'src/index.ts': `export const v = process.env.BS_DOTENV_VALUE;\n`, '.env': 'BS_DOTENV_VALUE=one\n' }),
    ...simple('bun-bunfig', `export default { adapter: 'bun' };\n`, { 'src/index.ts': `declare const BUNFIG: string;\nexport const v = typeof BUNFIG === 'undefined' ? 'none' : BUNFIG;\n` }),
    ...simple('bun-dotenv-new', `export default { adapter: 'bun', adapterOptions: { bun: { env: 'inline' } } };\n`, { 'src/index.ts': `export const v = process.env.BS_DOTENV_NEW;\n` }),
    ...simple('bun-dotenv-expand', `export default { adapter: 'bun', adapterOptions: { bun: { env: 'inline' } } };\n`, { 'src/index.ts': `export const v = process.env.BS_EXPANDED;\n`, '.env': 'BS_EXPANDED=from-${BS_DOTENV_REF}\n' }),

    // --- workspace dependencies --------------------------------------------------------------
    ...simple('dep', esbuild, { 'src/index.ts': `export const depValue = 'dep v1';\n` }),
    ...simple('consumer', esbuild, { 'src/index.ts': `export { depValue } from '@m/dep';\n` }, { devDependencies: { '@m/dep': '1.0.0' } }),
    ...simple('dist-dep', esbuild, { 'src/index.ts': `export const distValue = 'dist v1';\n` }),
    ...simple('dist-consumer', esbuild, { 'src/index.ts': `export { distValue } from '@m/dist-dep';\n` }, { devDependencies: { '@m/dist-dep': '1.0.0' } }),
    ...simple('dts-dep', tscDts, { 'tsconfig.json': tsconfigOwn, 'src/index.ts': `export function area(side: number): number {\n  return side * side;\n}\n` }, { exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
    ...simple('dts-consumer', tscDts, { 'tsconfig.json': tsconfigOwn, 'src/index.ts': `import { area } from '@m/dts-dep';\nexport const a = area(2);\n` }, { dependencies: { '@m/dts-dep': '1.0.0' } }),
    ...simple('body-dep', tscDts, { 'tsconfig.json': tsconfigOwn, 'src/index.ts': `export function twice(n: number): number {\n  return n * 2;\n}\n` }, { exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } }),
    ...simple('body-consumer', tscDts, { 'tsconfig.json': tsconfigOwn, 'src/index.ts': `import { twice } from '@m/body-dep';\nexport const t = twice(2);\n` }, { dependencies: { '@m/body-dep': '1.0.0' } }),
  };
}

function lockfile(fakeDep2Version: string, integrity: string): object {
  return {
    name: 'matrix',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'matrix', workspaces: ['packages/*'] },
      'node_modules/fake-dep': { version: '1.0.0', integrity: 'sha512-fakedep-one' },
      'node_modules/fake-dep2': { version: fakeDep2Version, integrity },
      'node_modules/fake-dep3': { version: '1.0.0', integrity: 'sha512-fakedep3-one' },
      'node_modules/dual-dep': { version: '1.0.0', integrity: 'sha512-dualdep-one' },
    },
  };
}

function git(fx: Fixture, ...args: string[]): void {
  const r = spawnSync('git', args, { cwd: fx.root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

function matrixWorkspace(): Fixture {
  const fx = createFixture(workspaceFiles());
  fixtures.push(fx);
  const link = (target: string, at: string) => {
    mkdirSync(path.dirname(fx.path(at)), { recursive: true });
    symlinkSync(target, fx.path(at));
  };
  // Tools, linked as an installed workspace has them; workspace packages linked by name.
  for (const tool of ['typescript', 'rollup', '@rollup/plugin-node-resolve']) link(path.join(repoRoot, 'node_modules', tool), `node_modules/${tool}`);
  link(realpathSync(path.join(repoRoot, 'node_modules/.bin/bun')), 'node_modules/.bin/bun');
  for (const name of ['dep', 'dist-dep', 'dts-dep', 'body-dep']) link(`../../packages/${name}`, `node_modules/@m/${name}`);
  link('../../../linked-src', 'packages/symlink-edit/src/linked');
  link('../linked-pkgs/a', 'node_modules/linked-lib');
  link('../../../retarget-a', 'packages/symlink-retarget/src/linked');

  git(fx, 'init', '-q', '-b', 'main');
  git(fx, 'config', 'user.email', 'matrix@example.com');
  git(fx, 'config', 'user.name', 'matrix');
  git(fx, 'config', 'commit.gpgsign', 'false');
  git(fx, 'add', '-A');
  git(fx, 'commit', '-q', '-m', 'v1');
  fx.write({ 'packages/git-checkout/src/index.ts': `export const v = 'git v2';\n` });
  git(fx, 'commit', '-q', '-am', 'git-checkout v2');
  // A branch with another version of git-stash's source; main has local, uncommitted work in it.
  git(fx, 'checkout', '-q', '-b', 'feature');
  fx.write({ 'packages/git-stash/src/index.ts': `export const v = 'stash feature branch';\n` });
  git(fx, 'commit', '-q', '-am', 'feature');
  git(fx, 'checkout', '-q', 'main');
  fx.write({ 'packages/git-stash/src/index.ts': `export const v = 'stash local work';\n` });

  // Old enough for the first run to be recorded at once (files written moments ago are checked by content, or not trusted).
  const old = new Date(Date.now() - 3_600_000);
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === '.git') continue;
      const abs = path.join(dir, name);
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) continue;
      if (st.isDirectory()) walk(abs);
      utimesSync(abs, old, old);
    }
  };
  walk(fx.root);
  return fx;
}

interface Case {
  name: string;
  /** The package whose output the change decides. */
  pkg: string;
  /** Whether that output changes (else it must stay exactly as it was). */
  changes: boolean;
  edit(fx: Fixture): void;
}

/** The symlink at `rel` made to point at `target` instead. */
const repoint = (fx: Fixture, rel: string, target: string) => {
  unlinkSync(fx.path(rel));
  symlinkSync(target, fx.path(rel));
};
const replaceIn = (fx: Fixture, rel: string, from: string, to: string) => {
  const text = fx.read(rel);
  if (!text.includes(from)) throw new Error(`${rel} does not contain ${from}`);
  writeFileSync(fx.path(rel), text.replace(from, to));
};

const CASES: Case[] = [
  // Git first (the stash first of all): a stash takes every uncommitted change with it, and the other cases' edits must stay.
  {
    name: 'branch switch with git stash',
    pkg: 'git-stash',
    changes: true,
    edit: (fx) => {
      git(fx, 'stash', '-q');
      git(fx, 'checkout', '-q', 'feature');
    },
  },
  { name: 'git checkout of an older file', pkg: 'git-checkout', changes: true, edit: (fx) => git(fx, 'checkout', 'main~1', '--', 'packages/git-checkout/src/index.ts') },

  // Sources and package files.
  { name: 'edit a source', pkg: 'src-edit', changes: true, edit: (fx) => replaceIn(fx, 'packages/src-edit/src/index.ts', 'src v1', 'src v2') },
  {
    name: 'same-size edit with the mtime restored',
    pkg: 'same-size',
    changes: true,
    edit: (fx) => {
      const file = fx.path('packages/same-size/src/index.ts');
      const { atime, mtime, size } = statSync(file);
      replaceIn(fx, 'packages/same-size/src/index.ts', 'size-1', 'size-2');
      expect(statSync(file).size).toBe(size);
      utimesSync(file, atime, mtime);
    },
  },
  {
    name: 'edit within the same second (mtime equal to the previous one)',
    pkg: 'same-second',
    changes: true,
    edit: (fx) => {
      const file = fx.path('packages/same-second/src/index.ts');
      const { atime, mtime } = statSync(file);
      replaceIn(fx, 'packages/same-second/src/index.ts', 'aaaa', 'bbbbbb');
      utimesSync(file, atime, mtime);
    },
  },
  { name: 'edit a source in a nested directory', pkg: 'deep-edit', changes: true, edit: (fx) => replaceIn(fx, 'packages/deep-edit/src/lib/a/b/deep.ts', 'deep v1', 'deep v2') },
  { name: 'add a file an entry glob matches', pkg: 'glob-entry', changes: true, edit: (fx) => fx.write({ 'packages/glob-entry/src/second.ts': `export const second = 2;\n` }) },
  {
    name: 'add a source (imported)',
    pkg: 'add-source',
    changes: true,
    edit: (fx) => fx.write({ 'packages/add-source/src/added.ts': `export const added = 'added';\n`, 'packages/add-source/src/index.ts': `export const v = 'add';\nexport { added } from './added';\n` }),
  },
  {
    name: 'delete a source',
    pkg: 'delete-source',
    changes: true,
    edit: (fx) => {
      rmSync(fx.path('packages/delete-source/src/util.ts'));
      fx.write({ 'packages/delete-source/src/index.ts': `export const v = 1;\n` });
    },
  },
  {
    name: 'rename a source',
    pkg: 'rename-source',
    changes: true,
    edit: (fx) => {
      renameSync(fx.path('packages/rename-source/src/util.ts'), fx.path('packages/rename-source/src/helpers.ts'));
      fx.write({ 'packages/rename-source/src/index.ts': `export { u } from './helpers';\n` });
    },
  },
  { name: 'add a file nothing imports', pkg: 'unimported-file', changes: false, edit: (fx) => fx.write({ 'packages/unimported-file/src/unused.ts': `export const unused = 1;\n` }) },
  {
    name: 'package.json dependencies (a bundled dependency becomes external)',
    pkg: 'pkg-deps',
    changes: true,
    edit: (fx) => fx.write({ 'packages/pkg-deps/package.json': pkgJson('pkg-deps', { dependencies: { 'fake-dep3': '1.0.0' } }) }),
  },
  {
    name: 'package.json exports (a new subpath entry)',
    pkg: 'pkg-exports',
    changes: true,
    edit: (fx) => fx.write({ 'packages/pkg-exports/package.json': pkgJson('pkg-exports', { exports: { '.': './dist/index.js', './extra': './dist/extra.js' } }) }),
  },
  { name: 'package.json type', pkg: 'pkg-type', changes: true, edit: (fx) => fx.write({ 'packages/pkg-type/package.json': pkgJson('pkg-type', { type: 'commonjs' }) }) },
  { name: 'build.config.ts', pkg: 'config-edit', changes: true, edit: (fx) => fx.write({ 'packages/config-edit/build.config.ts': `export default { adapter: 'esbuild', minify: true };\n` }) },
  { name: "a tsconfig paths entry for the package's own name, in a tsconfig it extends", pkg: 'self-import', changes: true, edit: (fx) => fx.write({ 'configs/tsconfig.self.json': { compilerOptions: { strict: true, paths: { '@m/self-import/*': ['../packages/self-import/src/*'] } } } }) },
  { name: 'build-system.config.ts added beside build.config.ts (it wins)', pkg: 'own-config', changes: true, edit: (fx) => fx.write({ 'packages/own-config/build-system.config.ts': `export default { adapter: 'esbuild', minify: true };\n` }) },
  { name: 'an output deleted', pkg: 'outdir-deleted', changes: false, edit: (fx) => rmSync(fx.path('packages/outdir-deleted/dist/index.js')) },
  { name: 'an output edited in place', pkg: 'outdir-edited', changes: false, edit: (fx) => fx.write({ 'packages/outdir-edited/dist/index.js': 'tampered\n' }) },
  // What a build reads outside the package.
  { name: 'a root tsconfig.base.json the package tsconfig extends (tsc)', pkg: 'tsconfig-base', changes: true, edit: (fx) => replaceIn(fx, 'tsconfig.base.json', '"removeComments": false', '"removeComments": true') },
  { name: 'the second of two extended tsconfigs (extends array, tsc)', pkg: 'tsconfig-array', changes: true, edit: (fx) => replaceIn(fx, 'configs/tsconfig.strict.json', '"removeComments": false', '"removeComments": true') },
  { name: 'a tsconfig outside the package the bundler follows through extends (esbuild jsx)', pkg: 'jsx-extends', changes: true, edit: (fx) => replaceIn(fx, 'configs/tsconfig.jsx.json', '"jsxFactory": "h"', '"jsxFactory": "createElement"') },
  {
    name: "a tsconfig outside the package named by esbuild's own `tsconfig` option",
    pkg: 'tsconfig-option',
    changes: true,
    edit: (fx) => replaceIn(fx, 'configs/esbuild.tsconfig.json', '"jsxFactory": "h"', '"jsxFactory": "createElement"'),
  },
  { name: 'a tsconfig.json appearing in a directory above the package (esbuild lookup)', pkg: 'tsconfig-above', changes: true, edit: (fx) => fx.write({ 'above/tsconfig.json': { compilerOptions: { jsx: 'react', jsxFactory: 'hh' } } }) },
  { name: "the package's own tsconfig deleted (the one above applies)", pkg: 'tsconfig-deleted', changes: true, edit: (fx) => rmSync(fx.path('packages/tsconfig-deleted/tsconfig.json')) },
  { name: 'a declaration file added to a directory outside the package that the tsconfig includes (tsc)', pkg: 'include-outside', changes: true, edit: (fx) => fx.write({ 'types/tsc-globals/extra.d.ts': `interface TscOptions { b?: number }\n` }) },
  {
    name: 'the first declaration file in a directory the tsconfig includes that did not exist (declarations after esbuild)',
    pkg: 'include-absent',
    changes: true,
    edit: (fx) => fx.write({ 'types/decl-globals/more/extra.d.ts': `interface DeclOptions { b?: number }\n` }),
  },
  { name: 'a types package added to a typeRoots directory outside the package (tsc)', pkg: 'typeroots-outside', changes: true, edit: (fx) => fx.write({ 'typings-case/b/index.d.ts': `interface RootsOptions { fromB?: string }\n` }) },
  { name: 'a file outside the package added beside the directory an import resolved to (mod.ts over mod/index.ts)', pkg: 'index-shadow', changes: true, edit: (fx) => fx.write({ 'shared/idx/mod.ts': `export const idx = 'from mod.ts';\n` }) },
  { name: 'a file appearing in the earlier target of a tsconfig `paths` fallback', pkg: 'paths-fallback', changes: true, edit: (fx) => fx.write({ 'shared/fallback-a/mod.ts': `export const fallback = 'from a';\n` }) },
  { name: 'a gitignored declaration generated into a directory the tsconfig includes (tsc)', pkg: 'gitignored-dts', changes: true, edit: (fx) => fx.write({ 'packages/gitignored-dts/src/generated/env.d.ts': `interface GenOptions { b?: number }\n` }) },
  { name: "a gitignored declaration generated into the package's own directory (tsc's default include)", pkg: 'gitignored-root', changes: true, edit: (fx) => fx.write({ 'packages/gitignored-root/env.gen.d.ts': `interface RootGenOptions { b?: number }\n` }) },
  { name: 'a relative import of a file outside the package', pkg: 'relative-outside', changes: true, edit: (fx) => replaceIn(fx, 'shared/message/message.ts', 'shared v1', 'shared v2') },
  {
    name: 'a file outside the package renamed, the import following it',
    pkg: 'renamed-outside',
    changes: true,
    edit: (fx) => {
      renameSync(fx.path('shared/moved/moved.ts'), fx.path('shared/moved/moved-again.ts'));
      replaceIn(fx, 'shared/moved/moved-again.ts', 'moved v1', 'moved v2');
      fx.write({ 'packages/renamed-outside/src/index.ts': `export { moved } from '../../../shared/moved/moved-again';\n` });
    },
  },
  { name: "tsconfig paths into another package's sources (not a dependency)", pkg: 'paths-other', changes: true, edit: (fx) => replaceIn(fx, 'packages/other-src/src/value.ts', 'other v1', 'other v2') },
  { name: 'a gitignored generated source the entry imports', pkg: 'gitignored-gen', changes: true, edit: (fx) => replaceIn(fx, 'packages/gitignored-gen/src/generated/data.ts', 'generated v1', 'generated v2') },
  { name: 'a file in a symlinked directory under src/', pkg: 'symlink-edit', changes: true, edit: (fx) => replaceIn(fx, 'linked-src/value.ts', 'linked one', 'linked ONE') },
  {
    name: 'a symlinked directory under src/ pointed elsewhere',
    pkg: 'symlink-retarget',
    changes: true,
    edit: (fx) => repoint(fx, 'packages/symlink-retarget/src/linked', '../../../retarget-b'),
  },
  { name: 'a file added beside an imported one outside the package that now wins resolution', pkg: 'shadow', changes: true, edit: (fx) => fx.write({ 'shared/shadow/mod.tsx': `export const shadow = 'from mod.tsx';\n` }) },
  { name: 'a bundled node_modules file edited, lockfile unchanged', pkg: 'nm-bundled', changes: true, edit: (fx) => replaceIn(fx, 'node_modules/fake-dep/index.js', "'['", "'<'") },
  {
    name: 'node_modules/linked-lib pointed at another checkout of the package (npm link; the files of both unchanged)',
    pkg: 'nm-relinked',
    changes: true,
    edit: (fx) => repoint(fx, 'node_modules/linked-lib', '../linked-pkgs/b'),
  },
  {
    name: "an installed dual package's root exports pointed at its other existing build (a nearer dist/esm/package.json)",
    pkg: 'nm-dual',
    changes: true,
    edit: (fx) => replaceIn(fx, 'node_modules/dual-dep/package.json', '"import": "./dist/esm/index.js"', '"import": "./dist/cjs/index.js"'),
  },
  {
    name: 'the root lockfile and the installed dependency upgraded together',
    pkg: 'lockfile-upgrade',
    changes: true,
    edit: (fx) => {
      fx.write({ 'package-lock.json': lockfile('1.1.0', 'sha512-fakedep2-two') });
      fx.write({ 'node_modules/fake-dep2/package.json': { name: 'fake-dep2', version: '1.1.0', main: 'index.js' }, 'node_modules/fake-dep2/index.js': `exports.version = 'fake-dep2 1.1.0';\n` });
    },
  },
  { name: 'a JSON file outside the package that build.config.ts imports', pkg: 'config-json', changes: true, edit: (fx) => fx.write({ 'presets.json': { banner: '/* preset v2 */' } }) },
  { name: 'a TypeScript helper outside the package that build.config.ts imports', pkg: 'config-helper', changes: true, edit: (fx) => replaceIn(fx, 'build-helpers/banner.ts', 'helper v1', 'helper v2') },
  { name: 'an env var the config reads under a computed name', pkg: 'config-env', changes: true, edit: () => {} },
  { name: 'an env var the config declares in `env`', pkg: 'config-env-declared', changes: true, edit: () => {} },
  { name: 'an env var an esbuild plugin reads in onLoad, as the build runs', pkg: 'plugin-env-load', changes: true, edit: () => {} },
  { name: 'an env var an esbuild plugin reads in setup', pkg: 'plugin-env-setup', changes: true, edit: () => {} },
  { name: 'an env var an esbuild plugin reads in onStart and uses in onLoad', pkg: 'plugin-env-start', changes: true, edit: () => {} },
  { name: 'rollup: an env var a plugin reads in its load hook', pkg: 'plugin-env-rollup', changes: true, edit: () => {} },
  { name: 'rollup: a source edit', pkg: 'rollup-src', changes: true, edit: (fx) => replaceIn(fx, 'packages/rollup-src/src/index.ts', 'rollup v1', 'rollup v2') },
  { name: 'rollup: a relative import outside the package', pkg: 'rollup-outside', changes: true, edit: (fx) => replaceIn(fx, 'shared/rollup/rollup-msg.ts', 'rollup shared v1', 'rollup shared v2') },
  { name: 'bun: a source edit', pkg: 'bun-src', changes: true, edit: (fx) => replaceIn(fx, 'packages/bun-src/src/index.ts', 'bun v1', 'bun v2') },
  { name: 'bun: a relative import outside the package', pkg: 'bun-outside', changes: true, edit: (fx) => replaceIn(fx, 'shared/bun/bun-msg.ts', 'bun shared v1', 'bun shared v2') },
  { name: 'bun: an env var `env: PREFIX_*` inlines', pkg: 'bun-env-inline', changes: true, edit: () => {} },
  { name: 'bun: a gitignored .env edited under `env: inline`', pkg: 'bun-dotenv', changes: true, edit: (fx) => replaceIn(fx, 'packages/bun-dotenv/.env', 'one', 'two') },
  { name: "bun: a gitignored bunfig.toml appearing in the package (bun's cwd) with a [define]", pkg: 'bun-bunfig', changes: true, edit: (fx) => fx.write({ 'packages/bun-bunfig/bunfig.toml': '[define]\nBUNFIG = "\\"from bunfig\\""\n' }) },
  { name: 'bun: a gitignored .env appearing under `env: inline`', pkg: 'bun-dotenv-new', changes: true, edit: (fx) => fx.write({ 'packages/bun-dotenv-new/.env': 'BS_DOTENV_NEW=new\n' }) },
  { name: 'bun: an env var a .env value expands (`A=${B}`) under `env: inline`', pkg: 'bun-dotenv-expand', changes: true, edit: () => {} },

  // Workspace dependencies.
  { name: "a bundled workspace dependency's source (its output changes)", pkg: 'consumer', changes: true, edit: (fx) => replaceIn(fx, 'packages/dep/src/index.ts', 'dep v1', 'dep v2') },
  { name: "a workspace dependency's dist edited by hand", pkg: 'dist-consumer', changes: false, edit: (fx) => replaceIn(fx, 'packages/dist-dep/dist/index.js', 'dist v1', 'dist HAND') },
  {
    name: "a dependency's declarations change (tsc reads them)",
    pkg: 'dts-consumer',
    changes: true,
    edit: (fx) => fx.write({ 'packages/dts-dep/src/index.ts': `export function area(side: number): string {\n  return String(side * side);\n}\n` }),
  },
  { name: "a dependency's function body changes, its declarations do not", pkg: 'body-consumer', changes: false, edit: (fx) => replaceIn(fx, 'packages/body-dep/src/index.ts', 'n * 2', 'n + n') },
];

/**
 * Why each case's package must miss (its `cache.reason` after the change): each case is detected by
 * its own change, never thanks to another case's (every case has its own package and directories).
 */
const BECAUSE: Record<string, RegExp> = {
  'git-stash': /^files changed: src\/index\.ts$/,
  'git-checkout': /^files changed: src\/index\.ts$/,
  'src-edit': /^files changed: src\/index\.ts$/,
  'same-size': /^files changed: src\/index\.ts$/,
  'same-second': /^files changed: src\/index\.ts$/,
  'deep-edit': /^files changed: src\/lib\/a\/b\/deep\.ts$/,
  'glob-entry': /files added: src\/second\.ts/,
  'add-source': /files added: src\/added\.ts/,
  'delete-source': /files removed: src\/util\.ts/,
  'rename-source': /files added: src\/helpers\.ts; files removed: src\/util\.ts/,
  'unimported-file': /^files added: src\/unused\.ts$/,
  'pkg-deps': /package\.json changed: dependencies, devDependencies/,
  'pkg-exports': /package\.json changed: exports/,
  'pkg-type': /package\.json changed: type/,
  'config-edit': /config changed: minify/,
  'own-config': /config changed: minify/,
  'self-import': /^files changed: \.\.\/\.\.\/configs\/tsconfig\.self\.json$/,
  'tsconfig-base': /^files changed: \.\.\/\.\.\/tsconfig\.base\.json$/,
  'tsconfig-array': /^files changed: \.\.\/\.\.\/configs\/tsconfig\.strict\.json$/,
  'jsx-extends': /^files changed: \.\.\/\.\.\/configs\/tsconfig\.jsx\.json$/,
  'tsconfig-option': /^files changed: \.\.\/\.\.\/configs\/esbuild\.tsconfig\.json$/,
  'tsconfig-above': /^files changed: \.\.\/tsconfig\.json$/,
  'tsconfig-deleted': /^files removed: tsconfig\.json$/,
  'include-outside': /^files changed: \.\.\/\.\.\/types\/tsc-globals\/$/,
  'include-absent': /^files changed: \.\.\/\.\.\/types\/decl-globals$/,
  'typeroots-outside': /^files changed: \.\.\/\.\.\/typings-case\/$/,
  'index-shadow': /^files changed: \.\.\/\.\.\/shared\/idx\/$/,
  'paths-fallback': /^files changed: \.\.\/\.\.\/shared\/fallback-a\/$/,
  'gitignored-dts': /^files changed: src\/$/,
  'gitignored-root': /^files changed: \.\/$/,
  'relative-outside': /^files changed: \.\.\/\.\.\/shared\/message\/message\.ts$/,
  'renamed-outside': /^files changed: src\/index\.ts$/,
  'paths-other': /^files changed: \.\.\/other-src\/src\/value\.ts$/,
  'gitignored-gen': /^files changed: src\/generated\/data\.ts$/,
  'symlink-edit': /^files changed: \.\.\/\.\.\/linked-src\/value\.ts$/,
  'symlink-retarget': /^files changed: src\/linked$/,
  shadow: /^files changed: \.\.\/\.\.\/shared\/shadow\/$/,
  'nm-bundled': /^files changed: \.\.\/\.\.\/node_modules\/fake-dep\/index\.js$/,
  'nm-relinked': /^files changed: \.\.\/\.\.\/node_modules\/linked-lib\/index\.js$/,
  'nm-dual': /^files changed: \.\.\/\.\.\/node_modules\/dual-dep\/package\.json$/,
  'lockfile-upgrade': /^lockfile changed for: fake-dep2/,
  'config-json': /^config changed: banner$/,
  'config-helper': /^config changed: banner$/,
  'config-env': /^config changed: define\.FLAVOR$/,
  'config-env-declared': /env changed: BS_DECL/,
  'plugin-env-load': /^env changed: BS_PLUGIN_LOAD$/,
  'plugin-env-setup': /^env changed: BS_PLUGIN_SETUP$/,
  'plugin-env-rollup': /^env changed: BS_PLUGIN_ROLLUP$/,
  'plugin-env-start': /^env changed: BS_PLUGIN_START$/,
  'rollup-src': /^files changed: src\/index\.ts$/,
  'rollup-outside': /^files changed: \.\.\/\.\.\/shared\/rollup\/rollup-msg\.ts$/,
  'bun-src': /^files changed: src\/index\.ts$/,
  'bun-outside': /^files changed: \.\.\/\.\.\/shared\/bun\/bun-msg\.ts$/,
  'bun-env-inline': /^env changed: BS_BUN_INLINE$/,
  'bun-dotenv': /^files changed: \.env$/,
  'bun-dotenv-new': /^files changed: \.env$/,
  'bun-dotenv-expand': /^env changed: BS_DOTENV_REF$/,
  'bun-bunfig': /^files changed: bunfig\.toml$/,
  consumer: /^dependency output changed: @m\/dep$/,
  'dts-consumer': /^dependency output changed: @m\/dts-dep$/,
};

/**
 * Plugins that load a virtual module from files they open themselves: the metafile names only
 * `virtual:data`; what they read is what their results' watchFiles/watchDirs (rollup: addWatchFile)
 * name. A workspace of their own: a config that imports node:fs (or any installed package) gets no
 * no-op record (config/bundle.ts), so the replay path is checked to be refused here, not taken.
 */
function pluginWorkspace(): Fixture {
  const fx = createFixture({
    'package.json': { name: 'plugins', private: true, workspaces: ['packages/*'] },
    '.gitignore': 'node_modules\ndist\n*.local.txt\n',
    'build-helpers/data-plugin.ts': DATA_PLUGIN,
    'plugin-data/file/msg.txt': 'file v1',
    'plugin-data/dir/a.svg': '<svg/>',
    ...simple('plugin-watchfile', pluginConfig('esbuild', `{ file: '../../plugin-data/file/msg.txt' }`), { 'src/index.ts': `export { data } from 'virtual:data';\n` }),
    ...simple('plugin-watchdir', pluginConfig('esbuild', `{ dir: '../../plugin-data/dir' }`), { 'src/index.ts': `export { data } from 'virtual:data';\n` }),
    ...simple('plugin-absent', pluginConfig('esbuild', `{ optional: '../../plugin-data/optional/override.txt' }`), { 'src/index.ts': `export { data } from 'virtual:data';\n` }),
    // Inside the package and gitignored: the fingerprint's walk skips it, appearing or not.
    ...simple('plugin-absent-ignored', pluginConfig('esbuild', `{ optional: 'override.local.txt' }`), { 'src/index.ts': `export { data } from 'virtual:data';\n` }),
    ...simple('plugin-rollup', pluginConfig('rollup', `{ file: '../../plugin-data/rollup/msg.txt' }`), { 'src/index.ts': `export { data } from 'virtual:data';\n` }),
    'plugin-data/rollup/msg.txt': 'rollup file v1',
  });
  fixtures.push(fx);
  for (const tool of ['rollup', '@rollup/plugin-node-resolve']) {
    mkdirSync(path.dirname(fx.path(`node_modules/${tool}`)), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules', tool), fx.path(`node_modules/${tool}`));
  }
  return fx;
}

const PLUGIN_CASES: Case[] = [
  { name: 'a file an esbuild plugin reads and names in watchFiles', pkg: 'plugin-watchfile', changes: true, edit: (fx) => fx.write({ 'plugin-data/file/msg.txt': 'file v2' }) },
  { name: 'a file added to a directory an esbuild plugin lists and names in watchDirs', pkg: 'plugin-watchdir', changes: true, edit: (fx) => fx.write({ 'plugin-data/dir/b.svg': '<svg/>' }) },
  { name: 'a file appearing that an esbuild plugin named in watchFiles while it was absent', pkg: 'plugin-absent', changes: true, edit: (fx) => fx.write({ 'plugin-data/optional/override.txt': 'override' }) },
  { name: 'a gitignored file in the package appearing that an esbuild plugin named in watchFiles while it was absent', pkg: 'plugin-absent-ignored', changes: true, edit: (fx) => fx.write({ 'packages/plugin-absent-ignored/override.local.txt': 'override' }) },
  { name: 'rollup: a file a plugin reads and names with addWatchFile', pkg: 'plugin-rollup', changes: true, edit: (fx) => fx.write({ 'plugin-data/rollup/msg.txt': 'rollup file v2' }) },
];

const PLUGIN_BECAUSE: Record<string, RegExp> = {
  'plugin-watchfile': /^files changed: \.\.\/\.\.\/plugin-data\/file\/msg\.txt$/,
  'plugin-watchdir': /^files changed: \.\.\/\.\.\/plugin-data\/dir\/$/,
  'plugin-absent': /^files changed: \.\.\/\.\.\/plugin-data\/optional\/override\.txt$/,
  'plugin-absent-ignored': /^files changed: override\.local\.txt$/,
  'plugin-rollup': /^files changed: \.\.\/\.\.\/plugin-data\/rollup\/msg\.txt$/,
};

type BuildPath = 'cli-replay' | 'cli-partial' | 'cli-full' | 'api';

/**
 * The cases whose change stays inside packages (sources, generated and gitignored files, a package's own tsconfig,
 * its outputs), without their package.json or build config: what a run from the last no-op record builds in part
 * (services/partial-run.ts). Read from each case's edit; the env cases change nothing on disk (their env change alone
 * makes every run a full one).
 */
const inPackages = (c: Case): boolean => {
  const text = c.edit.toString();
  const paths = [...text.matchAll(/["'`]([\w.@~-]+\/[\w.@~/-]*)["'`]/g)].map((m) => m[1]!);
  return paths.length > 0 && paths.every((p) => p.startsWith('packages/')) && !/package\.json|build(-system)?\.config/.test(text);
};

function cliBuild(fx: Fixture, env: Record<string, string>, args: string[] = [], fast = true): { run: RunResult; replayed: boolean; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, 'build', '--json', ...args], {
    cwd: fx.root,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1', BUILD_SYSTEM_NO_FAST_PATH: fast ? undefined : '1', ...env },
  });
  if (r.status !== 0) throw new Error(`build ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-3000)}`);
  return { run: JSON.parse(r.stdout) as RunResult, replayed: r.stderr.includes('no-op record: replayed'), stderr: r.stderr };
}

async function apiBuild(fx: Fixture, env: Record<string, string>): Promise<RunResult> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const run = (await build({ cwd: fx.root })) as RunResult;
    if (!run.ok) throw new Error(`API build failed: ${JSON.stringify(run.results.filter((r) => r.status !== 'success').map((r) => [r.package.name, r.error, r.diagnostics]))}`);
    return run;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function buildVia(way: BuildPath, fx: Fixture, env: Record<string, string>): Promise<RunResult> {
  if (way === 'api') return apiBuild(fx, env);
  return cliBuild(fx, env, [], way !== 'cli-full').run;
}

type Outputs = Record<string, Record<string, string>>;

function outputs(fx: Fixture, run: RunResult): Outputs {
  return Object.fromEntries(run.results.map((r) => [r.package.name.slice('@m/'.length), snapshotTree(path.join(r.package.dir, r.outDir ?? 'dist'))]));
}

/**
 * Build, (record), apply every case's change, build through `way`, compare every package's outDir with
 * what `--force` makes of the same files; each case misses for its own reason, the rest stay hits.
 */
async function differential(way: BuildPath, fx: Fixture, cases: readonly Case[], because: Record<string, RegExp>, alsoEdited: readonly string[] = []): Promise<void> {
  const first = await buildVia(way, fx, ENV_BEFORE);
  expect(first.results.map((r) => r.status).every((s) => s === 'success')).toBe(true);
  // A partial run starts from a record whose env checks still hold: the env stays as it was.
  const envAfter = way === 'cli-partial' ? ENV_BEFORE : ENV_AFTER;
  if (way === 'cli-replay' || way === 'cli-partial') {
    // The changes below meet a no-op record: the fast path is really under test.
    const again = cliBuild(fx, ENV_BEFORE);
    expect(again.replayed, again.stderr).toBe(true);
  } else {
    const again = await buildVia(way, fx, ENV_BEFORE);
    expect(again.results.map((r) => r.cache.status).every((s) => s === 'hit')).toBe(true);
  }
  const before = outputs(fx, first);

  for (const c of cases) c.edit(fx);
  let after: RunResult;
  if (way === 'cli-partial') {
    const partial = cliBuild(fx, envAfter);
    // Built in part: the record named the changed paths and the run took only the packages they reach.
    expect(partial.stderr).toMatch(/no-op record: partial run: \d+ of \d+ packages take part/);
    // The cases that change only outputs (deleted, edited in place, a dependency's dist edited by hand) are put back
    // from their recorded cache entries, without a config load or a key (services/partial-restore.ts).
    expect(/restored (\d+) of (\d+) from their recorded cache entries/.exec(partial.stderr)?.slice(1)).toEqual(['3', '3']);
    after = partial.run;
  } else after = await buildVia(way, fx, envAfter);
  const afterOutputs = outputs(fx, after);
  const forced = cliBuild(fx, envAfter, ['--force'], false).run;
  expect(forced.results.every((r) => r.cache.status === 'miss')).toBe(true);
  const forcedOutputs = outputs(fx, forced);

  const stale = Object.keys(forcedOutputs).filter((pkg) => JSON.stringify(afterOutputs[pkg]) !== JSON.stringify(forcedOutputs[pkg]));
  const byPkg = new Map(cases.map((c) => [c.pkg, c.name]));
  expect(stale.map((pkg) => `${pkg}: ${byPkg.get(pkg) ?? '(no case)'}`), `stale outputs through ${way}`).toEqual([]);
  // Each case really is a case: its change moves its package's output, or (declared so) leaves it exactly as it was.
  // Each case is a miss for its own change (no case is detected thanks to another's), and the
  // packages no change reaches stay hits (restored where their outDir was touched).
  const afterByPkg = new Map(after.results.map((r) => [r.package.name.slice('@m/'.length), r]));
  const misattributed = Object.entries(because)
    .filter(([pkg, reason]) => afterByPkg.get(pkg)?.cache.status !== 'miss' || !reason.test(afterByPkg.get(pkg)!.cache.reason ?? ''))
    .map(([pkg]) => `${pkg}: ${afterByPkg.get(pkg)?.cache.status} ${afterByPkg.get(pkg)?.cache.reason ?? ''}`);
  expect(misattributed).toEqual([]);
  const edited = new Set([...Object.keys(because), ...alsoEdited]);
  expect([...afterByPkg].filter(([pkg, r]) => !edited.has(pkg) && r.cache.status !== 'hit').map(([pkg]) => pkg)).toEqual([]);
  const wrong = cases.filter((c) => (JSON.stringify(before[c.pkg]) !== JSON.stringify(forcedOutputs[c.pkg])) !== c.changes).map((c) => `${c.pkg}: ${c.name}`);
  expect(wrong).toEqual([]);
}

describe('differential matrix: after every change, the output equals a --force build', () => {
  it(`has at least 40 cases, each owning its package`, () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.pkg)).size).toBe(CASES.length);
    expect(CASES.filter((c) => c.changes && !BECAUSE[c.pkg]).map((c) => c.pkg)).toEqual([]);
    expect(PLUGIN_CASES.filter((c) => c.changes && !PLUGIN_BECAUSE[c.pkg]).map((c) => c.pkg)).toEqual([]);
  });

  for (const way of ['cli-replay', 'cli-full', 'api'] as const) {
    it(`through ${way}`, async () => {
      await differential(way, matrixWorkspace(), CASES, BECAUSE, ['dep', 'dts-dep', 'body-dep']);
    });
  }

  it('the changes inside packages, through a CLI run built in part from the last record', async () => {
    const cases = CASES.filter(inPackages);
    expect(cases.length).toBeGreaterThanOrEqual(15);
    const because = Object.fromEntries(Object.entries(BECAUSE).filter(([pkg]) => cases.some((c) => c.pkg === pkg)));
    await differential('cli-partial', matrixWorkspace(), cases, because, ['dep', 'dts-dep', 'body-dep']);
  });

  for (const way of ['cli-full', 'api'] as const) {
    it(`what plugins read, through ${way}`, async () => {
      await differential(way, pluginWorkspace(), PLUGIN_CASES, PLUGIN_BECAUSE);
    });
  }

  it('what plugins read: the CLI writes no no-op record for their configs, so no replay can miss their reads', () => {
    const fx = pluginWorkspace();
    cliBuild(fx, ENV_BEFORE);
    const again = cliBuild(fx, ENV_BEFORE);
    expect(again.replayed).toBe(false);
    expect(again.stderr).toMatch(/no-op record: not written: the config imports node:(fs|path)/);
    expect(again.run.results.every((r) => r.cache.status === 'hit')).toBe(true);
  });
});
