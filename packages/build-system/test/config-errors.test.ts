import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, createFixture, repoRoot, snapshotTree, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * Bad configs through the real CLI: `build --json --cwd <pkg>`. Every case must end
 * with exit code 2, name the exact field (stderr line and JSON document), and leave
 * the package — including an existing dist/ with files — exactly as it was.
 *
 * Layout of each fixture (in the OS temp dir, outside the repo, no node_modules):
 *   <container>/pkg/            the package under test (package.json, src/, dist/, config)
 *   <container>/outside.ts      a real file outside the package (for entry escapes)
 *   <container>/elsewhere/      a directory outside the package (symlink target, outDir escapes)
 */

const PKG = 'bad-config-pkg';

const fixtures: Fixture[] = [];
afterAll(() => {
  for (const fx of fixtures) fx.cleanup();
});

interface Case {
  name: string;
  /** Files inside the package (the config among them). */
  files: FileTree | ((fx: Fixture) => FileTree);
  setup?: (fx: Fixture) => void;
  field: string;
  /** Text the issue's message must contain. */
  message: string | ((fx: Fixture) => string);
  /** Location the line must carry (syntax errors and throws). */
  at?: { line: number; column?: number };
  code?: string;
}

const ts = (body: string) => ({ 'build.config.ts': body });

const cases: Case[] = [
  {
    name: 'unknown key (with a suggestion)',
    files: ts(`export default { outdir: 'lib' };\n`),
    field: 'outdir',
    message: 'unknown field (did you mean "outDir"?)',
  },
  {
    name: 'wrong adapter name',
    files: ts(`import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'webpack' as 'esbuild' });\n`),
    field: 'adapter',
    message: 'must be one of "auto", "bun", "esbuild", "tsc", "rollup" (got "webpack")',
  },
  {
    name: 'wrong type for minify',
    files: ts(`export default { minify: 'yes' };\n`),
    field: 'minify',
    message: 'expected boolean (got string "yes")',
  },
  {
    name: 'format not esm/cjs',
    files: ts(`export default { format: ['esm', 'umd'] };\n`),
    field: 'format[1]',
    message: 'must be one of "esm", "cjs" (got "umd")',
  },
  {
    name: 'empty entry array',
    files: ts(`export default { entry: [] };\n`),
    field: 'entry',
    message: 'must list at least one entry (got [])',
  },
  {
    name: 'entry file missing',
    files: ts(`export default { entry: { cli: 'src/cli.ts' } };\n`),
    field: 'entry.cli',
    message: 'file does not exist (got "src/cli.ts")',
  },
  {
    name: 'entry ../ outside the package (the file exists)',
    files: ts(`export default { entry: ['src/index.ts', '../outside.ts'] };\n`),
    field: 'entry[1]',
    message: 'must stay inside the package (got "../outside.ts")',
  },
  {
    name: 'entry absolute path outside the package',
    files: (fx) => ts(`export default { entry: ${JSON.stringify(fx.path('outside.ts'))} };\n`),
    field: 'entry',
    message: (fx) => `must stay inside the package (got ${JSON.stringify(fx.path('outside.ts'))})`,
  },
  {
    name: 'outDir ../../etc',
    files: ts(`export default { outDir: '../../etc' };\n`),
    field: 'outDir',
    message: 'must stay inside the package (got "../../etc")',
  },
  {
    name: 'outDir absolute outside the package',
    files: (fx) => ts(`export default { outDir: ${JSON.stringify(fx.path('elsewhere'))} };\n`),
    field: 'outDir',
    message: (fx) => `must stay inside the package (got ${JSON.stringify(fx.path('elsewhere'))})`,
  },
  {
    // A tsconfig template copied into the build config: it would be a directory literally named ${configDir}.
    name: 'outDir with ${configDir}',
    files: ts(`export default { outDir: '\${configDir}/lib' };\n`),
    field: 'outDir',
    message: 'is relative to the package, where ${configDir} means nothing: write the directory itself, e.g. "lib" (got "${configDir}/lib")',
  },
  {
    name: "outDir '.' (the package itself)",
    files: ts(`export default { outDir: '.' };\n`),
    field: 'outDir',
    message: 'must be a directory below the package, not the package itself (got ".")',
  },
  {
    name: 'outDir containing the sources',
    files: ts(`export default { outDir: 'src', entry: 'src/index.ts' };\n`),
    field: 'outDir',
    message: 'must not contain the entry src/index.ts',
  },
  {
    name: 'outDir through a symlink that points outside the package',
    files: ts(`export default { outDir: 'out/dist' };\n`),
    setup: (fx) => symlinkSync(fx.path('elsewhere'), fx.path('pkg/out'), 'dir'),
    field: 'outDir',
    message: 'must stay inside the package (got "out/dist")',
  },
  {
    name: 'env name invalid',
    files: ts(`export default { env: ['NODE_ENV', 'MY-VAR'] };\n`),
    field: 'env[1]',
    message: 'must be an environment variable name (got "MY-VAR")',
  },
  {
    name: 'target malformed',
    files: ts(`export default { target: 'node-twenty' };\n`),
    field: 'target',
    message: 'must look like node20, es2022 or esnext (got "node-twenty")',
  },
  {
    name: 'syntax error (file:line:column)',
    files: ts(`export default {\n  adapter: 'esbuild',\n  minify: true true,\n};\n`),
    field: '',
    code: 'CONFIG_SYNTAX',
    at: { line: 3, column: 16 },
    message: 'Expected "}" but found "true"',
  },
  {
    name: 'config that throws',
    files: ts(`const token: string | undefined = undefined;\nif (!token) throw new Error('BUILD_TOKEN is required');\nexport default {};\n`),
    field: '',
    code: 'CONFIG_LOAD',
    at: { line: 2 },
    message: 'the config threw Error: BUILD_TOKEN is required',
  },
  {
    name: 'adapterOptions for an unknown adapter',
    files: ts(`export default { adapterOptions: { webpack: { mode: 'production' } } };\n`),
    field: 'adapterOptions.webpack',
    message: 'unknown field (known fields: bun, esbuild, tsc, rollup)',
  },
  {
    name: 'two config files',
    files: { 'build.config.ts': `export default {};\n`, 'build.config.json': '{}\n' },
    field: '(config file)',
    message: 'found 2 config files (build.config.ts, build.config.json); keep exactly one',
  },
  {
    name: "adapter 'rollup' not installed (exact install command)",
    files: ts(`export default { adapter: 'rollup' };\n`),
    field: 'adapter',
    code: 'ADAPTER_UNAVAILABLE',
    message: 'npm install -D rollup @rollup/plugin-node-resolve',
  },
  {
    // The field prefix says dts; the message must not repeat it ("dts: dts: true needs …").
    name: 'dts: true without TypeScript installed',
    files: ts(`export default { adapter: 'esbuild', dts: true };\n`),
    field: 'dts',
    code: 'ADAPTER_UNAVAILABLE',
    message: 'needs TypeScript to write declarations: typescript is not installed',
  },
  {
    // dts not set: on because package.json declares types, which the message must say (the config does not name dts).
    name: 'dts from package.json types without TypeScript installed',
    files: {
      'build.config.ts': `export default { adapter: 'esbuild' };\n`,
      'package.json': { name: PKG, version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
    },
    field: 'dts',
    code: 'ADAPTER_UNAVAILABLE',
    message: 'not set, so on because package.json declares types (dts: false turns declarations off); they need TypeScript: typescript is not installed',
  },
  {
    // rollup-plugin-dts is the user's to install (LGPL-3.0, never in build-system's dist): TypeScript is there, the bundler is not.
    name: 'dts.bundle without rollup and rollup-plugin-dts installed (exact install command)',
    files: ts(`export default { adapter: 'esbuild', dts: { bundle: true } };\n`),
    setup: (fx) => {
      mkdirSync(fx.path('pkg/node_modules'));
      symlinkSync(path.join(repoRoot, 'node_modules/typescript'), fx.path('pkg/node_modules/typescript'), 'dir');
    },
    field: 'dts',
    code: 'ADAPTER_UNAVAILABLE',
    message: 'dts.bundle needs rollup and rollup-plugin-dts: rollup and rollup-plugin-dts are not installed for bad-config-pkg; install with: npm install -D rollup rollup-plugin-dts',
  },
  {
    name: 'dts.resolve without dts.bundle',
    files: ts(`export default { adapter: 'esbuild', dts: { resolve: ['@internals/utils'] } };\n`),
    field: 'dts.resolve',
    message: 'inlines packages into bundled declarations; set dts.bundle: true too',
  },
  {
    name: 'dts.bundle with the tsc adapter',
    files: ts(`export default { adapter: 'tsc', dts: { bundle: true } };\n`),
    field: 'dts.bundle',
    message: 'the tsc adapter writes one file per source',
  },
  {
    name: 'default export is a function',
    files: ts(`export default () => ({ outDir: 'lib' });\n`),
    field: '(default export)',
    message: 'must be a config object, not a function',
  },
  {
    name: 'define value that is not a string (JSON config)',
    files: { 'build.config.json': JSON.stringify({ define: { 'process.env.DEBUG': true } }) },
    field: 'define["process.env.DEBUG"]',
    message: 'expected string (got boolean true)',
  },
];

/** Every entry below `dir` without following symlinks: files by hash and mtime, dirs by mtime, links by target. */
function strictSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string) => {
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(abs)}`;
    else if (st.isDirectory()) {
      // A directory's mtime changes when anything is created in it, even if removed again.
      out[`${rel}/`] = `dir ${st.mtimeMs}`;
      for (const name of readdirSync(abs).sort()) walk(path.join(abs, name), rel ? `${rel}/${name}` : name);
    } else out[rel] = `file ${st.mtimeMs} ${st.mode} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
  };
  walk(dir, '');
  return out;
}

interface RunDoc {
  ok: boolean;
  exitCode: number;
  results: {
    status: string;
    error?: { code: string; message: string; file?: string; field?: string };
    diagnostics: { message: string; file?: string; line?: number; column?: number }[];
  }[];
  error?: { code: string; message: string; field?: string; issues?: { field?: string; message: string; line?: number; column?: number }[] };
}

/** Issues in the JSON document, flattened to {code, field, message, line, column}. */
function jsonIssues(doc: RunDoc) {
  const out: { code: string; field?: string; message: string; line?: number; column?: number }[] = [];
  if (doc.error) {
    for (const i of doc.error.issues ?? [{ field: doc.error.field, message: doc.error.message }]) out.push({ code: doc.error.code, ...i });
  }
  for (const r of doc.results) {
    if (!r.error) continue;
    out.push({ code: r.error.code, field: r.error.field, message: r.error.message });
    for (const d of r.diagnostics) out.push({ code: r.error.code, message: d.message, line: d.line, column: d.column });
  }
  return out;
}

function setUp(c: Case): Fixture {
  const fx = createFixture({
    'outside.ts': 'export const outside = true;\n',
    'elsewhere/keep.txt': 'outside the package\n',
  });
  fixtures.push(fx);
  const files = typeof c.files === 'function' ? c.files(fx) : c.files;
  fx.write({
    'pkg/package.json': { name: PKG, version: '1.0.0', type: 'module', main: './dist/index.js', engines: { node: '>=20' } },
    'pkg/src/index.ts': 'export const answer: number = 42;\n',
    // An earlier build's output: a config error must not delete or touch it.
    'pkg/dist/index.js': 'export const answer = 41;\n',
    'pkg/dist/nested/old.js.map': '{"version":3}\n',
    ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`pkg/${k}`, v])),
  });
  mkdirSync(fx.path('pkg/empty-dir'));
  c.setup?.(fx);
  return fx;
}

describe('bad build.config through the CLI: exit 2, exact field, nothing written', () => {
  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const fx = setUp(c);
    const pkgDir = fx.path('pkg');
    const before = { tree: snapshotTree(fx.root), strict: strictSnapshot(fx.root) };

    // From the repo root, as the brief documents; paths in messages are relative to it.
    const r = spawnSync(process.execPath, [cliPath, 'build', '--json', '--cwd', pkgDir], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });

    const message = typeof c.message === 'function' ? c.message(fx) : c.message;
    const configRel = path.relative(repoRoot, fx.path('pkg', c.field === '(config file)' ? 'build.config.ts' : Object.keys(typeof c.files === 'function' ? c.files(fx) : c.files)[0]!)).split(path.sep).join('/');

    expect(r.status, `stderr:\n${r.stderr}`).toBe(2);

    // stdout is exactly one JSON document.
    const doc = JSON.parse(r.stdout) as RunDoc;
    expect(doc.ok).toBe(false);
    expect(doc.exitCode).toBe(2);
    const issues = jsonIssues(doc);
    if (c.code) expect(issues.map((i) => i.code)).toContain(c.code);
    if (c.field) {
      // The field path is exact: as the issue's field, or as the `field: ` prefix of its message.
      const hit = issues.find((i) => (i.field === c.field && i.message.includes(message)) || i.message.startsWith(`${c.field}: `) && i.message.includes(message));
      expect(hit, JSON.stringify(issues, null, 2)).toBeDefined();
    } else {
      const hit = issues.find((i) => i.message.includes(message) && i.line === c.at?.line && (c.at?.column === undefined || i.column === c.at.column));
      expect(hit, JSON.stringify(issues, null, 2)).toBeDefined();
    }

    // The line a person reads: `file: field: message` or `file:line:column: message`.
    const where = c.at ? `${configRel}:${c.at.line}${c.at.column !== undefined ? `:${c.at.column}` : ':'}` : `${configRel}: `;
    const expectedLine = c.field ? `${where}${c.field}: ` : where;
    const line = r.stderr.split('\n').find((l) => l.includes(expectedLine) && l.includes(message));
    expect(line, `stderr:\n${r.stderr}`).toBeDefined();

    // Nothing written or deleted: not in the package, not outside it.
    expect(snapshotTree(fx.root)).toEqual(before.tree);
    expect(strictSnapshot(fx.root)).toEqual(before.strict);
  });
});
