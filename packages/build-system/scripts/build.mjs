// Builds build-system itself (research.md §9 says why it is laid out this way):
// - dist/**/*.js        ESM, one file per source (the API `build-system`, `build-system/nest`, the tsc worker);
//                       packages stay external: zod and picomatch (dependencies), Nest (the user's, for /nest)
// - dist/index.cjs      the API for require(), one CJS file, packages external
// - dist/nest.cjs       `build-system/nest` for require(), likewise
// - dist/cli-start.cjs  the CLI's first code (bin/build-system.cjs): src/cli-start.ts with the no-op replay, one CommonJS file
// - dist/cli.js + dist/cli-chunks/   the rest of the CLI: src/main.ts bundled with code splitting,
//                       with everything it runs inside, NestJS and nest-commander included
// - dist/vendor/esbuild esbuild's JS API, copied (the binary comes from the @esbuild/<platform> optional dependency)
// - dist/THIRD_PARTY_LICENSES.md   the licences of everything bundled or copied into dist
// - declarations: tsc per file (.d.ts), bundled into index.d.cts / nest.d.cts for require()
// JSON Schemas: scripts/generate-schemas.mjs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const withDts = !process.argv.includes('--no-dts');
const requireHere = createRequire(path.join(root, 'package.json'));
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

rmSync(dist, { recursive: true, force: true });
const sources = readdirSync(src, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
  .map((f) => path.join(src, f));

// The build id: a hash of what this build is made of (every source file, this script, package.json),
// so the same code always gets the same id (dist stays reproducible) and any change gets another.
const buildId = (() => {
  const hash = createHash('sha256');
  const parts = [...readdirSync(src, { recursive: true }).map(String).filter((f) => !f.endsWith('/')).sort().map((f) => path.join(src, f)), fileURLToPath(import.meta.url), path.join(root, 'package.json')];
  for (const file of parts) {
    let bytes;
    try {
      bytes = readFileSync(file);
    } catch {
      continue; // a directory
    }
    hash.update(`${path.relative(root, file)}\0${bytes.length}\0`).update(bytes);
  }
  return `${manifest.version}+${hash.digest('hex').slice(0, 16)}`;
})();

const common = {
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Maps still turn stack positions into src/ file:line (--enable-source-maps; in this repo an
  // editor finds the files). Embedding the sources, mostly Nest's and zod's in the CLI chunks,
  // would double what every install carries.
  sourcesContent: false,
  tsconfig: path.join(root, 'tsconfig.json'),
  logLevel: 'warning',
  // The version is inlined (src/version.ts): bundled into someone else's file, this code cannot find our package.json.
  // The build id tells this code from other code (the no-op record's key, src/cache/noop/record.ts):
  // the same in every output of one build, whichever file holds the code that reads it.
  define: { __BUILD_SYSTEM_VERSION__: JSON.stringify(manifest.version), __BUILD_SYSTEM_BUILD_ID__: JSON.stringify(buildId) },
};
// esbuild empties import.meta in CJS output; src/util/module-file.ts then falls back to __filename.
const cjs = { ...common, bundle: true, packages: 'external', format: 'cjs', logOverride: { 'empty-import-meta': 'silent' } };

await esbuild.build({ ...common, entryPoints: sources, outdir: dist, outbase: src, format: 'esm' });
await esbuild.build({ ...cjs, entryPoints: [path.join(src, 'index.ts')], outfile: path.join(dist, 'index.cjs') });
await esbuild.build({ ...cjs, entryPoints: [path.join(src, 'nest.ts')], outfile: path.join(dist, 'nest.cjs') });

// The CLI as one program with everything it runs inside. Node's module loader costs ~1 ms per
// file and the Nest path used to open ~1,200 of them; bundled, a command reads a few chunks
// (research.md §5 and §9). NestJS, nest-commander, reflect-metadata and rxjs are bundled, so a
// user's install carries neither them nor their peer conflicts. What stays outside:
// - packages nothing of ours loads statically: the user's tools (typescript, rollup, bun), found
//   at run time from the package being built, and esbuild (requireOwn: the vendored copy);
// - optional integrations Nest requires lazily and that build-system never enables (below).
// Splitting keeps lazy imports lazy: --version and --help read only cli.js, `build` without Nest
// never touches the Nest chunks.
const NOT_BUNDLED = [
  // Requested by Nest only for microservices, websockets, HTTP platforms, validation pipes and
  // file-type checks; none is part of a CLI application context. Nest's loaders catch the failure.
  /^@nestjs\/(microservices|websockets|platform-express|platform-fastify)(\/|$)/,
  /^(class-validator|class-transformer|file-type)(\/|$)/,
  // User tools, resolved at run time.
  /^(esbuild|typescript|rollup|@rollup\/|bun)(\/|$)/,
];
// nest-commander loads these at start-up for features build-system does not use: interactive
// prompts (inquirer, with lodash, rxjs operators, ora…), plugins found through cosmiconfig
// (`usePlugins`, off) and shell completion (`completion`, off). Each is replaced by a module
// that throws if ever called, so none ships and none is evaluated.
const UNUSED_BY_OUR_CLI = {
  inquirer: "module.exports = { prompt() { throw new Error('build-system: interactive prompts are not part of this CLI'); } };",
  cosmiconfig: "exports.cosmiconfig = () => { throw new Error('build-system: nest-commander plugins are not supported'); };",
  '@fig/complete-commander': "exports.addCompletionSpecCommand = () => { throw new Error('build-system: shell completion is not supported'); };",
};
// A replayed no-op (src/commands/build-replay.ts) is answered in about the time Node takes to start, so the bin's
// first code, src/cli-start.ts (--version and the replay), is one CommonJS file: on Node 20 it starts ~10 ms sooner
// than the ESM graph that did this before (bin, cli.js, its chunks, an ESM replay bundle; research.md §5 "3d").
// Its import of main.ts stays an import() of dist/cli.js. Its copies of shared modules hold no state a later real
// run needs (a replay that does not answer has only read).
const cliStart = await esbuild.build({
  ...common,
  entryPoints: { 'cli-start': path.join(src, 'cli-start.ts') },
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  metafile: true,
  logOverride: { 'empty-import-meta': 'silent' },
  plugins: [
    {
      name: 'cli-start',
      setup(build) {
        build.onResolve({ filter: /^\.\/main\.js$/ }, (args) => (args.importer === path.join(src, 'cli-start.ts') ? { path: './cli.js', external: true } : undefined));
      },
    },
  ],
});
const cliBanner = { js: "import { createRequire as __bsCreateRequire } from 'node:module'; const require = __bsCreateRequire(import.meta.url);" };
const cli = await esbuild.build({
  ...common,
  entryPoints: { cli: path.join(src, 'main.ts') },
  outdir: dist,
  splitting: true,
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  format: 'esm',
  metafile: true,
  // Bundled CJS code (Nest, picomatch) calls require() for Node builtins and Nest's optional packages.
  banner: cliBanner,
  plugins: [
    {
      name: 'cli-bundle',
      setup(build) {
        const stubbed = new RegExp(`^(${Object.keys(UNUSED_BY_OUR_CLI).map((n) => n.replace(/[/@]/g, '\\$&')).join('|')})$`);
        build.onResolve({ filter: stubbed }, (args) => ({ path: args.path, namespace: 'unused-by-our-cli' }));
        build.onLoad({ filter: /.*/, namespace: 'unused-by-our-cli' }, (args) => ({ contents: UNUSED_BY_OUR_CLI[args.path], loader: 'js' }));
        build.onResolve({ filter: /^[^./]/ }, (args) => (NOT_BUNDLED.some((re) => re.test(args.path)) ? { path: args.path, external: true } : undefined));
      },
    },
  ],
});

// esbuild's JS API, copied from the pinned devDependency (see src/util/resolve-module.ts, VENDORED).
// lib/main.js must stay at <dir>/lib/main.js: esbuild checks that it was not bundled that way.
const esbuildDir = path.dirname(requireHere.resolve('esbuild/package.json'));
const esbuildManifest = JSON.parse(readFileSync(path.join(esbuildDir, 'package.json'), 'utf8'));
const vendoredEsbuild = path.join(dist, 'vendor/esbuild');
mkdirSync(path.join(vendoredEsbuild, 'lib'), { recursive: true });
copyFileSync(path.join(esbuildDir, 'lib/main.js'), path.join(vendoredEsbuild, 'lib/main.js'));
copyFileSync(path.join(esbuildDir, 'LICENSE.md'), path.join(vendoredEsbuild, 'LICENSE.md'));
// CommonJS inside our "type": "module" package; name and version as resolveModule reports them.
const vendoredManifest = { name: 'esbuild', version: esbuildManifest.version, license: esbuildManifest.license, type: 'commonjs', main: 'lib/main.js' };
writeFileSync(path.join(vendoredEsbuild, 'package.json'), `${JSON.stringify(vendoredManifest, null, 2)}\n`);
for (const [name, version] of Object.entries(esbuildManifest.optionalDependencies)) {
  if (manifest.optionalDependencies?.[name] !== version) {
    throw new Error(`package.json optionalDependencies must list ${name}@${version}, the binary the vendored esbuild ${esbuildManifest.version} drives (found ${manifest.optionalDependencies?.[name] ?? 'nothing'})`);
  }
}

// What the CLI bundle is made of (research.md §9 read its chunk sizes from it): CLI_METAFILE=<file>.
if (process.env.CLI_METAFILE) writeFileSync(process.env.CLI_METAFILE, JSON.stringify(cli.metafile));
writeFileSync(path.join(dist, 'THIRD_PARTY_LICENSES.md'), thirdPartyLicenses([...Object.keys(cli.metafile.inputs), ...Object.keys(cliStart.metafile.inputs)], esbuildDir));

/**
 * The licence text of every package with code in the CLI bundle (from esbuild's metafile) and
 * of the vendored esbuild. Fails the build when a package ships no licence file: its code cannot
 * be redistributed until someone has checked its terms.
 */
function thirdPartyLicenses(inputs, ...extraDirs) {
  const dirs = new Set(extraDirs);
  for (const input of inputs) {
    const at = input.lastIndexOf('node_modules/');
    if (at < 0) continue;
    const rest = input.slice(at + 'node_modules/'.length).split('/');
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    dirs.add(path.resolve(root, input.slice(0, at + 'node_modules/'.length) + name));
  }
  const entries = [...dirs].map((dir) => {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const files = readdirSync(dir).filter((f) => /^(licen[cs]e|notice)(\.(md|txt))?$/i.test(f)).sort();
    if (!files.some((f) => /^licen[cs]e/i.test(f))) throw new Error(`${pkg.name}@${pkg.version} has no LICENSE file: check its terms before bundling it`);
    return { name: pkg.name, version: pkg.version, license: pkg.license, texts: files.map((f) => readFileSync(path.join(dir, f), 'utf8').trim()) };
  });
  // Nested copies of one version (tslib under @nestjs/common and @nestjs/core) are listed once.
  const unique = [...new Map(entries.map((e) => [`${e.name}@${e.version}`, e])).values()].sort((a, b) => a.name.localeCompare(b.name));
  const head = [
    '# Third-party licences',
    '',
    `build-system's CLI (dist/cli.js, dist/cli-chunks/) bundles the packages below, and dist/vendor/esbuild is a copy of esbuild's JS API. Their licences follow.`,
    '',
    ...unique.map((e) => `- ${e.name}@${e.version} (${e.license})`),
  ];
  return `${[...head, ...unique.flatMap((e) => ['', `## ${e.name}@${e.version} (${e.license})`, '', ...e.texts.flatMap((t) => [t, ''])])].join('\n').trimEnd()}\n`;
}

if (withDts) {
  const tsc = path.join(root, '../../node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // require() gets CommonJS declarations: a .d.ts in this "type": "module" package describes an ES
  // module, and TypeScript would tell CommonJS importers to use import() ("masquerading as ESM").
  // One bundled file per entry, packages left as imports.
  const { rollup } = await import('rollup');
  const { dts } = await import('rollup-plugin-dts');
  for (const entry of ['index', 'nest']) {
    const bundle = await rollup({ input: path.join(dist, `${entry}.d.ts`), plugins: [dts()], external: (id) => !id.startsWith('.') && !path.isAbsolute(id), onwarn: (w) => { throw new Error(`${entry}.d.cts: ${w.message}`); } });
    await bundle.write({ file: path.join(dist, `${entry}.d.cts`), format: 'es' });
    await bundle.close();
  }
  if (!existsSync(path.join(dist, 'index.d.cts'))) process.exit(1);
}
