#!/usr/bin/env node
/**
 * Seeded generator of a monorepo shaped like real open-source ones (issue 13,
 * "Real repos"), the bench's `real<N>` sizes:
 *
 *   node bench/generate-real.mjs --packages 60 [--files 8] [--seed 1] [--out DIR]
 *
 * - p000 is types-only (interfaces and type aliases; tsc emits an empty
 *   index.js beside them), built with the tsc adapter and declarations;
 * - p001 is the hub (what most packages depend on), p001 → … → p008 a chain, so
 *   the dependency depth is ≥ 9 packages (p000 … p008), 10 with the CLI that bundles p008;
 * - most packages are ESM libraries built with build-system's tsc adapter with
 *   declarations (file-by-file output, as `tsc -p` does), some with a `./utils`
 *   subpath export;
 * - about one in three of the rest are dual CJS/ESM packages (two entries, `.`
 *   and `./client`), built with esbuild, in the two layouts tsup writes: with
 *   "type": "module" `.js` + `.cjs`, `.d.ts` + `.d.cts`; without, `.mjs` + `.js`,
 *   `.d.mts` + `.d.ts`;
 *   nothing in the workspace imports them (they are the published SDKs), which
 *   also keeps `tsc -b` valid: tsc emits `.js`/`.d.ts`, not the dual layout;
 * - the last package is a CLI bundled by esbuild (`bin`, shebang) that bundles
 *   the top of the chain and a few libraries (devDependencies, as real CLIs do);
 * - every tsconfig extends a shared root `tsconfig.base.json`; each package also
 *   has `tsconfig.tsb.json` (composite, project references) for `tsc -b`, and
 *   `tsup.config.ts` + scripts `build`/`build:dts` for turbo + tsup.
 *
 * The files use the same generated TypeScript as generate.mjs (sourceFile), plus
 * a type from p000 in every library that depends on it. bench-meta.json describes the graph, the
 * hub (`core`, where the hub edit goes), a leaf, the depth, and per package its
 * kind and the files each family of contenders must produce (`expect`).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EDIT_MARKER, ident, Ident, indexFile, json, packageName, pad, parseGeneratorArgs, rng, sourceFile, transitiveDependents } from './generate.mjs';

export const REAL_MIN_PACKAGES = 12;
export const REAL_DEFAULT_FILES = 8;
/** p001 → … → p008: with p000 under it, the chain alone is 9 packages deep. */
const CHAIN_TOP = 8;

/** Compiler options every package inherits from the root tsconfig.base.json. */
const baseCompilerOptions = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  declaration: true,
  skipLibCheck: true,
  isolatedModules: true,
  types: [],
};

/**
 * Kinds and dependencies. Returns [{ kind, deps, devDeps }] by index.
 * Libraries pick their dependencies among lower libraries (never a dual package
 * or the CLI), the hub with probability 0.7 and the types package with 0.6.
 */
export function makeRealGraph(n, random) {
  if (!Number.isInteger(n) || n < REAL_MIN_PACKAGES) throw new Error(`the real shape needs at least ${REAL_MIN_PACKAGES} packages (got ${n})`);
  const pkgs = [];
  for (let i = 0; i < n; i++) {
    if (i === 0) pkgs.push({ kind: 'types', deps: [], devDeps: [] });
    else if (i === 1) pkgs.push({ kind: 'lib', deps: [0], devDeps: [] });
    else if (i <= CHAIN_TOP) pkgs.push({ kind: 'lib', deps: [...new Set([0, i - 1, ...(random() < 0.5 ? [1] : [])])].sort((a, b) => a - b), devDeps: [] });
    else if (i === n - 1) {
      const libs = pkgs.map((p, j) => (p.kind === 'lib' && j > CHAIN_TOP ? j : -1)).filter((j) => j >= 0);
      const extra = libs.length ? [libs[Math.floor(random() * libs.length)]] : [];
      pkgs.push({ kind: 'cli', deps: [], devDeps: [...new Set([1, CHAIN_TOP, ...extra])].sort((a, b) => a - b) });
    } else {
      const kind = (i - CHAIN_TOP - 1) % 3 === 1 ? 'dual' : 'lib';
      const libs = pkgs.map((p, j) => (p.kind === 'lib' ? j : -1)).filter((j) => j >= 2);
      const chosen = new Set();
      if (random() < 0.7 || kind === 'dual') chosen.add(1);
      if (random() < 0.6) chosen.add(0);
      const k = Math.floor(random() * 3);
      // Skewed towards low indices, like generate.mjs: a few libraries are shared widely.
      for (let t = 0; t < k; t++) chosen.add(libs[Math.floor(libs.length * random() * random())]);
      if (chosen.size === 0) chosen.add(1);
      pkgs.push({ kind, deps: [...chosen].sort((a, b) => a - b), devDeps: [] });
    }
  }
  return pkgs;
}

/** Longest chain of packages (counting both ends) through deps and devDeps. */
export function graphDepth(pkgs) {
  const memo = new Map();
  const depth = (i) => {
    if (!memo.has(i)) memo.set(i, 1 + Math.max(0, ...[...pkgs[i].deps, ...pkgs[i].devDeps].map(depth)));
    return memo.get(i);
  };
  return Math.max(...pkgs.map((_, i) => depth(i)));
}

function typesFile(k, width) {
  const T = `${Ident(0, width)}F${pad(k, 2)}`;
  return [
    `/** Shared shapes, file ${k}: types only, nothing at run time. */`,
    `export interface ${T}Record<T> {`,
    '  readonly id: number;',
    '  value: T;',
    `  meta: ${T}Meta;`,
    '}',
    '',
    `export interface ${T}Meta {`,
    '  created: string;',
    '  tags: readonly string[];',
    `  source?: ${T}Source;`,
    '}',
    '',
    `export type ${T}Source = 'api' | 'cli' | 'job' | 'test';`,
    '',
    `export type ${T}Result<T, E = Error> = { ok: true; value: T } | { ok: false; error: E };`,
    '',
    `export type ${T}Handler<T> = (record: ${T}Record<T>) => ${T}Result<T> | Promise<${T}Result<T>>;`,
    '',
  ].join('\n');
}

/** A library file: generate.mjs's file, plus (in f00) a function typed with the types package. */
function libFile(i, k, width, random, imports, usesTypes) {
  const text = sourceFile(i, k, width, random, imports);
  if (k !== 0 || !usesTypes) return text;
  const T = `${Ident(0, width)}F00`;
  const P = `${Ident(i, width)}F00`;
  const p = `${ident(i, width)}f00`;
  return [
    `import type { ${T}Record, ${T}Result } from '${packageName(0, width)}';`,
    text,
    `export function ${p}Wrap(item: ${P}Item): ${T}Result<${T}Record<${P}Item>> {`,
    `  return { ok: true, value: { id: item.id, value: item, meta: { created: '2026-01-01', tags: item.tags, source: 'api' } } };`,
    '}',
    '',
  ].join('\n');
}

function subpathFile(i, width, name) {
  const p = ident(i, width);
  return [
    `export { ${p}f00Describe as describe } from './f00.js';`,
    `import { ${p}f00Make } from './f00.js';`,
    '',
    `/** The ${name} subpath: a smaller surface of ${packageName(i, width)}. */`,
    `export function ${p}${name[0].toUpperCase()}${name.slice(1)}(label: string): string {`,
    `  return ${p}f00Make(1, label).label;`,
    '}',
    '',
  ].join('\n');
}

function tsupConfig({ entry, format }) {
  return [
    "import { defineConfig } from 'tsup';",
    '',
    'export default defineConfig({',
    `  entry: ${JSON.stringify(entry)},`,
    `  format: ${JSON.stringify(format)},`,
    "  target: 'node20',",
    '  clean: true,',
    '});',
    '',
  ].join('\n');
}

function configSource(lines) {
  return ["import { defineConfig } from 'build-system';", '', 'export default defineConfig({', ...lines.map((l) => `  ${l}`), '});', ''].join('\n');
}

/**
 * Writes the monorepo into `out` (emptied first) and returns its metadata.
 * `files`: TypeScript files per library (the types package has 4, the CLI 2).
 */
export function generateReal({ packages: n, files: f = REAL_DEFAULT_FILES, seed = 1, out, npmVersion = '10.0.0' }) {
  if (!Number.isInteger(f) || f < 1 || f > 99) throw new Error(`bad files per package: ${f}`);
  const width = Math.max(3, String(n - 1).length);
  const random = rng(seed * 7919 + n * 131 + f + 104_729);
  const pkgs = makeRealGraph(n, random);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const write = (rel, text) => {
    const abs = path.join(out, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  };
  const dirOf = (i) => `packages/${ident(i, width)}`;
  const depMap = (list) => (list.length ? Object.fromEntries(list.map((d) => [packageName(d, width), '*'])) : undefined);
  const meta = { shape: 'real', seed, files: f, packages: [] };
  let dualCount = 0;
  const dualFormats = new Map();

  for (let i = 0; i < n; i++) {
    const { kind, deps, devDeps } = pkgs[i];
    const name = packageName(i, width);
    const dir = dirOf(i);
    const subpath = kind === 'lib' && i > 1 && i % 3 === 0 ? 'utils' : kind === 'dual' ? 'client' : null;
    const expect = { package: [], tsc: [] };
    let pkgJson;
    let config;
    let tsup;
    let scripts = { build: 'tsup', 'build:dts': 'tsup --dts' };

    if (kind === 'types') {
      for (let k = 0; k < 4; k++) write(`${dir}/src/f${pad(k, 2)}.ts`, typesFile(k, width));
      write(`${dir}/src/index.ts`, [0, 1, 2, 3].map((k) => `export * from './f${pad(k, 2)}.js';`).join('\n') + '\n');
      // Sources with types only; tsc still emits an (empty) index.js, and `exports` names it
      // beside the declarations, as ESM-only internal packages built by tsc do. With only a
      // `types` condition, one .d.ts cannot be both kinds: build-system warns PKG_TYPES_MASQUERADE
      // for the mode it does not match (publint too, for the CJS variant; attw does not).
      pkgJson = { types: './dist/index.d.ts', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' } };
      config = configSource(["adapter: 'tsc',", 'dts: true,', 'sourcemap: false,']);
      tsup = tsupConfig({ entry: ['src/index.ts'], format: ['esm'] });
      expect.package.push('dist/index.js', 'dist/index.d.ts');
      expect.tsc.push('dist/index.js', 'dist/index.d.ts');
    } else if (kind === 'cli') {
      const used = devDeps.filter((d) => pkgs[d].kind === 'lib');
      write(
        `${dir}/src/cli.ts`,
        [
          '#!/usr/bin/env node',
          "import { report } from './report.js';",
          '',
          '// The workspace has no @types/node (types: [] in tsconfig.base.json): the two globals the CLI uses.',
          'declare const process: { argv: string[]; stdout: { write(text: string): boolean } };',
          '',
          'process.stdout.write(`${JSON.stringify(report(process.argv.slice(2)))}\\n`);',
          '',
        ].join('\n'),
      );
      write(
        `${dir}/src/report.ts`,
        [
          ...used.map((d) => `import { ${ident(d, width)}Summary } from '${packageName(d, width)}';`),
          '',
          '/** Everything the CLI bundles, summarised: the bench runs the bin and checks this. */',
          'export function report(args: readonly string[]): { cli: string; stamp: string; args: readonly string[]; bundled: string[] } {',
          `  const stamp = 'v0'; ${EDIT_MARKER}`,
          `  return { cli: '${name}', stamp, args, bundled: [${used.map((d) => `${ident(d, width)}Summary().name`).join(', ')}] };`,
          '}',
          '',
        ].join('\n'),
      );
      pkgJson = { bin: { [`bench-cli-${ident(i, width)}`]: './dist/cli.js' } };
      scripts = { build: 'tsup', 'build:dts': 'tsup' };
      // Bundled: the workspace packages are devDependencies, so esbuild (and tsup) inline them.
      config = configSource(["adapter: 'esbuild',", "format: 'esm',", 'dts: false,', 'sourcemap: false,']);
      tsup = tsupConfig({ entry: ['src/cli.ts'], format: ['esm'] });
      expect.package.push('dist/cli.js');
      expect.tsc.push('dist/cli.js', 'dist/cli.d.ts');
    } else {
      const usesTypes = deps.includes(0);
      for (let k = 0; k < f; k++) {
        const imports = new Set();
        if (k > 0) {
          const count = 1 + Math.floor(random() * Math.min(2, k));
          while (imports.size < count) imports.add(Math.floor(random() * k));
        }
        write(`${dir}/src/f${pad(k, 2)}.ts`, libFile(i, k, width, random, [...imports].sort((a, b) => a - b), usesTypes));
      }
      write(`${dir}/src/index.ts`, indexFile(i, f, deps.filter((d) => d !== 0), width));
      if (subpath) write(`${dir}/src/${subpath}.ts`, subpathFile(i, width, subpath));
      if (kind === 'lib') {
        const exp = { '.': { types: './dist/index.d.ts', default: './dist/index.js' } };
        if (subpath) exp[`./${subpath}`] = { types: `./dist/${subpath}.d.ts`, default: `./dist/${subpath}.js` };
        exp['./package.json'] = './package.json';
        pkgJson = { types: './dist/index.d.ts', exports: exp };
        // tsc keeps the file layout: dist/<file>.js and .d.ts for every source file.
        config = configSource(["adapter: 'tsc',", 'dts: true,', 'sourcemap: false,']);
        tsup = tsupConfig({ entry: ['src/index.ts', ...(subpath ? [`src/${subpath}.ts`] : [])], format: ['esm'] });
        for (const e of ['index', ...(subpath ? [subpath] : [])]) expect.package.push(`dist/${e}.js`, `dist/${e}.d.ts`);
      } else {
        // The two dual layouts tsup writes by itself (its declaration build ignores outExtension):
        // "type": "module" → .js + .cjs, .d.ts + .d.cts; no "type" → .mjs + .js, .d.mts + .d.ts.
        const esmPackage = dualCount++ % 2 === 0;
        const [esm, cjs] = esmPackage ? [['.js', '.d.ts'], ['.cjs', '.d.cts']] : [['.mjs', '.d.mts'], ['.js', '.d.ts']];
        const dual = (e) => ({
          import: { types: `./dist/${e}${esm[1]}`, default: `./dist/${e}${esm[0]}` },
          require: { types: `./dist/${e}${cjs[1]}`, default: `./dist/${e}${cjs[0]}` },
        });
        pkgJson = {
          ...(esmPackage ? {} : { type: undefined }),
          main: `./dist/index${cjs[0]}`,
          module: `./dist/index${esm[0]}`,
          types: `./dist/index${cjs[1]}`,
          exports: { '.': dual('index'), [`./${subpath}`]: dual(subpath), './package.json': './package.json' },
        };
        // Entries, extensions and declaration names come from package.json.
        config = configSource(["adapter: 'esbuild',", "format: ['esm', 'cjs'],", 'dts: true,', 'sourcemap: false,']);
        tsup = tsupConfig({ entry: { index: 'src/index.ts', [subpath]: `src/${subpath}.ts` }, format: ['esm', 'cjs'] });
        for (const e of ['index', subpath]) expect.package.push(...[...esm, ...cjs].map((x) => `dist/${e}${x}`));
        dualFormats.set(name, { import: `./dist/index${esm[0]}`, require: `./dist/index${cjs[0]}` });
      }
      for (const e of ['index', ...(subpath ? [subpath] : [])]) expect.tsc.push(`dist/${e}.js`, `dist/${e}.d.ts`);
    }

    write(
      `${dir}/package.json`,
      json({
        name,
        version: '0.0.0',
        private: true,
        type: 'module',
        ...pkgJson,
        files: ['dist'],
        scripts,
        ...(deps.length ? { dependencies: depMap(deps) } : {}),
        ...(devDeps.length ? { devDependencies: depMap(devDeps) } : {}),
      }),
    );
    write(`${dir}/build.config.ts`, config);
    write(`${dir}/tsup.config.ts`, tsup);
    write(`${dir}/tsconfig.json`, json({ extends: '../../tsconfig.base.json', compilerOptions: { rootDir: 'src', outDir: 'dist' }, include: ['src'] }));
    write(
      `${dir}/tsconfig.tsb.json`,
      json({
        extends: './tsconfig.json',
        compilerOptions: { composite: true, tsBuildInfoFile: 'dist/.tsbuildinfo' },
        include: ['src'],
        references: [...deps, ...devDeps].map((d) => ({ path: `../${ident(d, width)}/tsconfig.tsb.json` })),
      }),
    );
    meta.packages.push({ name, dir, kind, ...(dualFormats.has(name) ? { dual: dualFormats.get(name) } : {}), deps: [...deps, ...devDeps].map((d) => packageName(d, width)), devDeps: devDeps.map((d) => packageName(d, width)), expect });
  }

  const all = pkgs.map((p) => [...p.deps, ...p.devDeps]);
  const dependents = transitiveDependents(all);
  meta.packages.forEach((p, i) => (p.dependents = dependents[i].size));
  // The hub: the library with the most transitive dependents (the types package has no JS to edit).
  let core = 1;
  for (let i = 2; i < n; i++) if (pkgs[i].kind === 'lib' && dependents[i].size > dependents[core].size) core = i;
  // A leaf: the last dual package (published, nothing in the workspace imports it).
  let leaf = n - 2;
  for (let i = n - 2; i > 0; i--) {
    if (pkgs[i].kind === 'dual') {
      leaf = i;
      break;
    }
  }
  const file = (i, k) => `${dirOf(i)}/src/f${pad(k, 2)}.ts`;
  meta.core = { name: packageName(core, width), dir: dirOf(core), dependents: dependents[core].size, file: file(core, 0) };
  meta.leaf = { name: packageName(leaf, width), dir: dirOf(leaf), dependents: dependents[leaf].size, file: file(leaf, Math.floor(f / 2)) };
  meta.edges = all.reduce((s, d) => s + d.length, 0);
  meta.depth = graphDepth(pkgs);
  meta.kinds = pkgs.reduce((m, p) => ({ ...m, [p.kind]: (m[p.kind] ?? 0) + 1 }), {});

  write('package.json', json({ name: 'bench-monorepo-real', version: '0.0.0', private: true, type: 'module', workspaces: ['packages/*'], packageManager: `npm@${npmVersion}` }));
  write('tsconfig.base.json', json({ compilerOptions: baseCompilerOptions }));
  write(
    'turbo.json',
    json({
      $schema: 'https://turbo.build/schema.json',
      tasks: {
        build: { dependsOn: ['^build'], outputs: ['dist/**'] },
        'build:dts': { dependsOn: ['^build:dts'], outputs: ['dist/**'] },
      },
    }),
  );
  write('tsconfig.tsb.json', json({ files: [], references: meta.packages.map((p) => ({ path: `${p.dir}/tsconfig.tsb.json` })) }));
  write('.gitignore', 'node_modules/\ndist/\n.turbo/\n');
  write('bench-meta.json', json(meta));
  return meta;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const o = parseGeneratorArgs(process.argv.slice(2), { packages: 60, files: REAL_DEFAULT_FILES, seed: 1 }, (x) => `real${x.packages}x${x.files}`);
  const meta = generateReal(o);
  console.log(`generated ${meta.packages.length} packages (${Object.entries(meta.kinds).map(([k, v]) => `${v} ${k}`).join(', ')}), depth ${meta.depth}, ${meta.edges} edges, into ${o.out}`);
  console.log(`hub: ${meta.core.name} (${meta.core.dependents} dependents); leaf: ${meta.leaf.name}`);
}
