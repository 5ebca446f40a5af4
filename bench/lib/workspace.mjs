/**
 * Turns a generated monorepo into a runnable workspace: node_modules made of
 * symlinks (workspace packages → packages/*, tools → the bench's or the repo's
 * installed copies), and a contender's copy with its build.config.ts variant.
 *
 * Why symlinks and not `npm install --offline`: see bench/README.md ("node_modules").
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConfigSource, EDIT_MARKER } from '../generate.mjs';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(benchDir, '..');
export const buildSystemDir = path.join(repoRoot, 'packages', 'build-system');
/** The bin of a build-system checkout or snapshot: bin/build-system.cjs since session 11, bin/build-system.js before. */
function binIn(dir) {
  const cjs = path.join(dir, 'bin', 'build-system.cjs');
  return existsSync(cjs) ? cjs : path.join(dir, 'bin', 'build-system.js');
}

/** The CLI the contenders run: the live package, or a snapshot of it (setBuildSystemBin). */
export let buildSystemBin = binIn(buildSystemDir);

export function setBuildSystemBin(bin) {
  buildSystemBin = bin;
}

/**
 * Copies build-system as built now (bin, dist, package.json, schema) to `dest`, so a
 * run of hours measures one version even while others rebuild packages/build-system/dist
 * (\`npm test\` starts by deleting it). Its node_modules is a farm of symlinks to the
 * repo's root node_modules, overridden by the package's own nested ones, which is
 * what Node resolves from packages/build-system. Returns the snapshot's bin.
 */
export function snapshotBuildSystem(dest) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const entry of ['bin', 'dist', 'schema', 'package.json']) {
    const from = path.join(buildSystemDir, entry);
    if (existsSync(from)) cpSync(from, path.join(dest, entry), { recursive: true });
  }
  const nm = path.join(dest, 'node_modules');
  mkdirSync(nm);
  for (const base of [path.join(repoRoot, 'node_modules'), path.join(buildSystemDir, 'node_modules')]) {
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      if (name.startsWith('.') || name === 'build-system') continue;
      const entries = name.startsWith('@') ? readdirSync(path.join(base, name)).map((n) => `${name}/${n}`) : [name];
      for (const rel of entries) {
        const link = path.join(nm, rel);
        mkdirSync(path.dirname(link), { recursive: true });
        rmSync(link, { recursive: true, force: true });
        symlinkSync(path.join(base, rel), link, 'dir');
      }
    }
  }
  return binIn(dest);
}

/**
 * Where a tool is installed: the bench's own node_modules first, then the repo's
 * (the smoke test has only those). `preferRepo`: the repo's first (the tools
 * build-system's adapters are tested with: rollup, its node-resolve plugin, bun).
 */
export function findTool(name, { preferRepo = false } = {}) {
  const bases = [path.join(benchDir, 'node_modules'), path.join(repoRoot, 'node_modules')];
  if (preferRepo) bases.reverse();
  for (const base of bases) {
    const dir = path.join(base, name);
    if (existsSync(path.join(dir, 'package.json'))) {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      return { name, dir, version: pkg.version, bin: pkg.bin, from: base };
    }
  }
  return null;
}

function binEntries(tool) {
  if (!tool.bin) return [];
  if (typeof tool.bin === 'string') return [[path.basename(tool.name), tool.bin]];
  return Object.entries(tool.bin);
}

/**
 * Creates `<root>/node_modules`: `@bench/*` as relative links (so a copied tree stays
 * valid), tools as absolute links, `.bin` entries for the tools' bins, and
 * `build-system` (its configs import defineConfig from it). `typescript` is the
 * TypeScript the packages see (their declaration emit): 'typescript' (5.x) or 'typescript7'.
 */
export function linkWorkspace(root, { typescript = 'typescript' } = {}) {
  const nm = path.join(root, 'node_modules');
  rmSync(nm, { recursive: true, force: true });
  mkdirSync(path.join(nm, '@bench'), { recursive: true });
  mkdirSync(path.join(nm, '.bin'), { recursive: true });
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(path.join(root, 'packages', dir, 'package.json'), 'utf8'));
    symlinkSync(path.join('..', '..', 'packages', dir), path.join(nm, pkg.name), 'dir');
  }
  const linked = {};
  const tools = { typescript, tsup: 'tsup', turbo: 'turbo', nx: 'nx', esbuild: 'esbuild', rollup: 'rollup', '@rollup/plugin-node-resolve': '@rollup/plugin-node-resolve', bun: 'bun', 'oxc-transform': 'oxc-transform' };
  // oxc-transform: build-system's per-file declarations under isolatedDeclarations (bs-esbuild-dts-iso) use the workspace's.
  const fromRepo = new Set(['rollup', '@rollup/plugin-node-resolve', 'bun', 'oxc-transform']);
  for (const [as, name] of Object.entries(tools)) {
    const tool = findTool(name, { preferRepo: fromRepo.has(as) });
    if (!tool) continue;
    mkdirSync(path.dirname(path.join(nm, as)), { recursive: true });
    symlinkSync(tool.dir, path.join(nm, as), 'dir');
    linked[as] = tool.version;
    for (const [bin, rel] of binEntries({ ...tool, name: as })) {
      const link = path.join(nm, '.bin', bin);
      if (!existsSync(link)) symlinkSync(path.join('..', as, rel), link);
    }
  }
  symlinkSync(buildSystemDir, path.join(nm, 'build-system'), 'dir');
  return linked;
}

/**
 * Makes the generated workspace its own git repository with everything committed, as a
 * real monorepo is. This matters: turbo hashes inputs through git, and bench/.work is
 * gitignored by the outer repo, so without a repository of its own turbo sees no input
 * at all and reports a "cache hit" after every edit (measured: 0 packages rebuilt).
 * Edits in the scenarios are then changes to tracked files.
 */
export function initGitRepo(root) {
  const git = (...args) => {
    const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed in ${root}: ${r.stderr || r.error}`);
  };
  rmSync(path.join(root, '.git'), { recursive: true, force: true });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'generated monorepo');
}

/** Copies the generated template to `dest` (outputs and caches of the template are never there). */
export function copyTemplate(template, dest) {
  rmSync(dest, { recursive: true, force: true });
  cpSync(template, dest, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
}

/** Rewrites every package's build.config.ts for one build-system variant. */
export function configureBuildSystem(root, { adapter, dts, isolatedDeclarations = false }) {
  const text = buildConfigSource({ adapter, dts });
  for (const dir of readdirSync(path.join(root, 'packages'))) {
    writeFileSync(path.join(root, 'packages', dir, 'build.config.ts'), text);
    if (!isolatedDeclarations) continue;
    // The generated sources annotate every export, so they satisfy isolatedDeclarations as they are.
    const tsconfig = path.join(root, 'packages', dir, 'tsconfig.json');
    const json = JSON.parse(readFileSync(tsconfig, 'utf8'));
    json.compilerOptions.isolatedDeclarations = true;
    writeFileSync(tsconfig, `${JSON.stringify(json, null, 2)}\n`);
  }
}

export function readMeta(root) {
  return JSON.parse(readFileSync(path.join(root, 'bench-meta.json'), 'utf8'));
}

let editCounter = 0;

/** Rewrites the marked line of `file` (inside a function body): the JS output changes, the declarations do not. */
export function editSource(root, rel) {
  const file = path.join(root, rel);
  const text = readFileSync(file, 'utf8');
  const token = `v${Date.now().toString(36)}${(editCounter++).toString(36)}`;
  const re = new RegExp(`const stamp = '[^']*'; ${EDIT_MARKER.replace(/[/]/g, '\\/')}`);
  if (!re.test(text)) throw new Error(`${rel}: no "${EDIT_MARKER}" line to edit`);
  writeFileSync(file, text.replace(re, `const stamp = '${token}'; ${EDIT_MARKER}`));
  return token;
}
