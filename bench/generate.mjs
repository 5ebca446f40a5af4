#!/usr/bin/env node
/**
 * Seeded generator of benchmark monorepos.
 *
 *   node bench/generate.mjs --packages 10 --files 20 [--seed 1] [--out bench/.work/n10-f20/template]
 *
 * Writes an npm-workspaces monorepo of N packages × F TypeScript files:
 * - each file has interfaces, a type alias, a class and functions, and imports
 *   from 1–2 earlier files of its package; `src/index.ts` re-exports every file
 *   and uses the package's workspace dependencies;
 * - packages form a DAG: package i depends on 0–3 packages with a lower index
 *   (skewed towards the bottom, so a few packages are depended on by many);
 * - package.json with `exports` (types + import), scripts `build` (tsup) and
 *   `build:dts` (tsup --dts) for turbo and nx;
 * - per package: build.config.ts (build-system), tsup.config.ts, tsconfig.json
 *   (used by tsup's and build-system's declaration emit) and tsconfig.tsb.json
 *   (composite, with project references, for `tsc -b`);
 * - at the root: package.json (workspaces, packageManager), turbo.json, nx.json,
 *   tsconfig.tsb.json (the solution file for `tsc -b`), bench-meta.json (the graph,
 *   the leaf and the most depended-on package, and where the edit scenarios edit).
 *
 * node_modules is not written here: `linkWorkspace()` (lib/workspace.mjs) creates it
 * with symlinks, per contender copy. Same seed, same sizes → byte-identical tree.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** mulberry32: small, fast, good enough for shaping test data; same seed → same sequence. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pad = (n, w) => String(n).padStart(w, '0');
export const packageName = (i, width) => `@bench/p${pad(i, width)}`;
export const ident = (i, width) => `p${pad(i, width)}`;
export const Ident = (i, width) => `P${pad(i, width)}`;
/** The line the edit scenarios rewrite: inside a function body, so the JS changes and the .d.ts does not. */
export const EDIT_MARKER = '// bench:edit';

/**
 * The dependency DAG. Package 0 has none; package i picks k ∈ [0, min(3, i)]
 * distinct lower packages, index ⌊i·r²⌋ (r uniform) so low packages are shared widely.
 */
export function makeGraph(n, random) {
  const deps = [];
  for (let i = 0; i < n; i++) {
    const k = Math.min(i, Math.floor(random() * 4));
    const chosen = new Set();
    let guard = 0;
    while (chosen.size < k && guard++ < 100) chosen.add(Math.floor(i * random() * random()));
    deps.push([...chosen].sort((a, b) => a - b));
  }
  return deps;
}

/** name index → every package that depends on it, directly or not. */
export function transitiveDependents(deps) {
  const direct = deps.map(() => []);
  deps.forEach((ds, i) => ds.forEach((d) => direct[d].push(i)));
  return direct.map((_, i) => {
    const seen = new Set();
    const stack = [...direct[i]];
    while (stack.length) {
      const j = stack.pop();
      if (seen.has(j)) continue;
      seen.add(j);
      stack.push(...direct[j]);
    }
    return seen;
  });
}

export function sourceFile(pkg, file, width, random, imports) {
  const P = `${Ident(pkg, width)}F${pad(file, 2)}`;
  const p = `${ident(pkg, width)}f${pad(file, 2)}`;
  const lines = [];
  for (const j of imports) {
    const Pj = `${Ident(pkg, width)}F${pad(j, 2)}`;
    const pj = `${ident(pkg, width)}f${pad(j, 2)}`;
    lines.push(`import { ${pj}Make, ${pj}Score, type ${Pj}Item } from './f${pad(j, 2)}.js';`);
  }
  const kinds = ['alpha', 'beta', 'gamma', 'delta'].slice(0, 2 + Math.floor(random() * 3));
  const weight = 1 + Math.floor(random() * 97);
  lines.push(
    '',
    `/** An item of ${packageName(pkg, width)}, file ${file}. */`,
    `export interface ${P}Item {`,
    '  readonly id: number;',
    '  label: string;',
    '  tags: readonly string[];',
    `  kind: ${P}Kind;`,
    imports.length ? `  parent?: ${Ident(pkg, width)}F${pad(imports[0], 2)}Item;` : '  parent?: undefined;',
    '}',
    '',
    `export type ${P}Kind = ${kinds.map((k) => `'${k}'`).join(' | ')};`,
    '',
    `export interface ${P}Options {`,
    '  limit?: number;',
    `  kinds?: readonly ${P}Kind[];`,
    '  reverse?: boolean;',
    '}',
    '',
    `export class ${P}Store implements Iterable<${P}Item> {`,
    `  private readonly items = new Map<number, ${P}Item>();`,
    '',
    `  add(item: ${P}Item): this {`,
    '    this.items.set(item.id, item);',
    '    return this;',
    '  }',
    '',
    `  get(id: number): ${P}Item | undefined {`,
    '    return this.items.get(id);',
    '  }',
    '',
    '  get size(): number {',
    '    return this.items.size;',
    '  }',
    '',
    `  query(options: ${P}Options = {}): ${P}Item[] {`,
    '    const kinds = options.kinds ?? null;',
    '    const out = [...this.items.values()].filter((item) => kinds === null || kinds.includes(item.kind));',
    '    if (options.reverse) out.reverse();',
    '    return out.slice(0, options.limit ?? out.length);',
    '  }',
    '',
    `  [Symbol.iterator](): Iterator<${P}Item> {`,
    '    return this.items.values();',
    '  }',
    '}',
    '',
    `export function ${p}Make(id: number, label: string): ${P}Item {`,
    `  const stamp = 'v0'; ${EDIT_MARKER}`,
    `  const kind: ${P}Kind = '${kinds[0]}';`,
  );
  if (imports.length) lines.push(`  const parent = ${ident(pkg, width)}f${pad(imports[0], 2)}Make(id + 1, label);`);
  lines.push(
    `  return { id, label: \`\${label}:\${stamp}\`, tags: [label.slice(0, 3), kind], kind${imports.length ? ', parent' : ''} };`,
    '}',
    '',
    `export function ${p}Score(items: Iterable<${P}Item>): number {`,
    '  let total = 0;',
    `  for (const item of items) total += item.id * ${weight} + item.tags.length;`,
  );
  for (const j of imports) lines.push(`  total += ${ident(pkg, width)}f${pad(j, 2)}Score([]);`);
  lines.push(
    '  return total;',
    '}',
    '',
    `export function ${p}Describe(item: ${P}Item): string {`,
    "  return `${item.kind}#${item.id} ${item.label} [${item.tags.join(', ')}]`;",
    '}',
    '',
  );
  return lines.join('\n');
}

/** A package's index: re-exports its files and a Summary() that calls its dependencies' (the bench runs it). Shared with generate-real.mjs. */
export function indexFile(pkg, files, deps, width) {
  const lines = [];
  for (const d of deps) lines.push(`import { ${ident(d, width)}Summary } from '${packageName(d, width)}';`);
  lines.push(`import { ${ident(pkg, width)}f00Make, ${ident(pkg, width)}f00Score } from './f00.js';`);
  for (let f = 0; f < files; f++) lines.push(`export * from './f${pad(f, 2)}.js';`);
  lines.push(
    '',
    `/** What ${packageName(pkg, width)} and its dependencies amount to: used by the bench to run the outputs. */`,
    `export function ${ident(pkg, width)}Summary(): { name: string; score: number; deps: string[] } {`,
    `  const item = ${ident(pkg, width)}f00Make(${pkg}, '${ident(pkg, width)}');`,
    `  return { name: '${packageName(pkg, width)}', score: ${ident(pkg, width)}f00Score([item]), deps: [${deps.map((d) => `${ident(d, width)}Summary().name`).join(', ')}] };`,
    '}',
    '',
  );
  return lines.join('\n');
}

export const json = (v) => `${JSON.stringify(v, null, 2)}\n`;

/** Compiler options shared by every package: ESM under NodeNext, strict, declarations. */
const compilerOptions = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  declaration: true,
  skipLibCheck: true,
  isolatedModules: true,
  types: [],
  outDir: 'dist',
  rootDir: 'src',
};

/**
 * Writes the monorepo into `out` (emptied first) and returns its metadata.
 * `npmVersion` goes into the root's packageManager field (turbo requires one).
 */
export function generate({ packages: n, files: f, seed = 1, out, npmVersion = '10.0.0' }) {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(f) || f < 1 || f > 99) throw new Error(`bad size: packages=${n} files=${f}`);
  const width = Math.max(3, String(n - 1).length);
  const random = rng(seed * 7919 + n * 131 + f);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const write = (rel, text) => {
    const abs = path.join(out, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  };

  const deps = makeGraph(n, random);
  const dependents = transitiveDependents(deps);
  const meta = { seed, packages: [], files: f };
  for (let i = 0; i < n; i++) {
    const name = packageName(i, width);
    const dir = `packages/${ident(i, width)}`;
    write(
      `${dir}/package.json`,
      json({
        name,
        version: '0.0.0',
        private: true,
        type: 'module',
        exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
        scripts: { build: 'tsup', 'build:dts': 'tsup --dts' },
        ...(deps[i].length ? { dependencies: Object.fromEntries(deps[i].map((d) => [packageName(d, width), '*'])) } : {}),
      }),
    );
    for (let k = 0; k < f; k++) {
      const imports = new Set();
      if (k > 0) {
        const count = 1 + Math.floor(random() * Math.min(2, k));
        while (imports.size < count) imports.add(Math.floor(random() * k));
      }
      write(`${dir}/src/f${pad(k, 2)}.ts`, sourceFile(i, k, width, random, [...imports].sort((a, b) => a - b)));
    }
    write(`${dir}/src/index.ts`, indexFile(i, f, deps[i], width));
    // build-system: the contender copy rewrites adapter and dts (lib/workspace.mjs).
    write(`${dir}/build.config.ts`, buildConfigSource({ adapter: 'esbuild', dts: false }));
    write(
      `${dir}/tsup.config.ts`,
      [
        "import { defineConfig } from 'tsup';",
        '',
        'export default defineConfig({',
        "  entry: ['src/index.ts'],",
        "  format: ['esm'],",
        "  target: 'node20',",
        '  clean: true,',
        '});',
        '',
      ].join('\n'),
    );
    write(`${dir}/tsconfig.json`, json({ compilerOptions, include: ['src'] }));
    write(
      `${dir}/tsconfig.tsb.json`,
      json({
        extends: './tsconfig.json',
        compilerOptions: { composite: true, tsBuildInfoFile: 'dist/.tsbuildinfo' },
        include: ['src'],
        references: deps[i].map((d) => ({ path: `../${ident(d, width)}/tsconfig.tsb.json` })),
      }),
    );
    meta.packages.push({ name, dir, deps: deps[i].map((d) => packageName(d, width)), dependents: dependents[i].size });
  }

  // The most depended-on package (most transitive dependents; lowest index on a tie)
  // and a leaf (nothing depends on it; the last such package with dependencies, like an app).
  let core = 0;
  for (let i = 1; i < n; i++) if (dependents[i].size > dependents[core].size) core = i;
  let leaf = n - 1;
  for (let i = n - 1; i >= 0; i--) {
    if (dependents[i].size === 0 && (deps[i].length > 0 || i === 0)) {
      leaf = i;
      break;
    }
  }
  const editFile = (i, k) => `packages/${ident(i, width)}/src/f${pad(k, 2)}.ts`;
  meta.core = { name: packageName(core, width), dir: `packages/${ident(core, width)}`, dependents: dependents[core].size, file: editFile(core, 0) };
  meta.leaf = { name: packageName(leaf, width), dir: `packages/${ident(leaf, width)}`, dependents: 0, file: editFile(leaf, Math.floor(f / 2)) };
  meta.edges = deps.reduce((s, d) => s + d.length, 0);

  write(
    'package.json',
    json({
      name: 'bench-monorepo',
      version: '0.0.0',
      private: true,
      type: 'module',
      workspaces: ['packages/*'],
      packageManager: `npm@${npmVersion}`,
    }),
  );
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
  write(
    'nx.json',
    json({
      $schema: './node_modules/nx/schemas/nx-schema.json',
      neverConnectToCloud: true,
      useDaemonProcess: false,
      // nx 24 caches under ~/.nx/<hash>/cache by default: keep it inside the workspace.
      cacheDirectory: '.nx/cache',
      targetDefaults: {
        build: { dependsOn: ['^build'], cache: true, outputs: ['{projectRoot}/dist'] },
        'build:dts': { dependsOn: ['^build:dts'], cache: true, outputs: ['{projectRoot}/dist'] },
      },
    }),
  );
  write('tsconfig.tsb.json', json({ files: [], references: meta.packages.map((p) => ({ path: `${p.dir}/tsconfig.tsb.json` })) }));
  write('.gitignore', 'node_modules/\ndist/\n.turbo/\n.nx/\n');
  write('bench-meta.json', json(meta));
  return meta;
}

export function buildConfigSource({ adapter, dts }) {
  return [
    "import { defineConfig } from 'build-system';",
    '',
    'export default defineConfig({',
    `  adapter: '${adapter}',`,
    "  format: 'esm',",
    `  dts: ${dts},`,
    '  sourcemap: false,',
    '});',
    '',
  ].join('\n');
}

/** The generators' command line (--packages N --files F --seed S --out DIR); `outName` names the default output under bench/.work. Shared with generate-real.mjs. */
export function parseGeneratorArgs(argv, defaults, outName) {
  const o = { ...defaults, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].split('=', 2);
    const v = inline ?? argv[++i];
    if (k === '--packages') o.packages = Number(v);
    else if (k === '--files') o.files = Number(v);
    else if (k === '--seed') o.seed = Number(v);
    else if (k === '--out') o.out = path.resolve(v);
    else throw new Error(`unknown argument ${argv[i]} (use --packages N --files F --seed S --out DIR)`);
  }
  o.out ??= path.join(path.dirname(fileURLToPath(import.meta.url)), '.work', outName(o), 'template');
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const o = parseGeneratorArgs(process.argv.slice(2), { packages: 10, files: 20, seed: 1 }, (x) => `n${x.packages}-f${x.files}`);
  const meta = generate(o);
  console.log(`generated ${meta.packages.length} packages × ${meta.files} files, ${meta.edges} dependency edges, into ${o.out}`);
  console.log(`most depended-on: ${meta.core.name} (${meta.core.dependents} dependents); leaf: ${meta.leaf.name}`);
}
