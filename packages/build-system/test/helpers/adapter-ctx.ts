import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { resolveCacheDir } from '../../src/cache/cache-dir.js';
import type { AdapterContext, AdapterOutput, BuilderAdapter, ToolAvailability } from '../../src/adapters/types.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { buildConfigSchema, type BuildConfigInput } from '../../src/config/schema.js';
import type { Diagnostic } from '../../src/result/schema.js';
import { loadPackageInfo, type PackageInfo } from '../../src/workspace/package-info.js';
import { createFixture, repoRoot, type FileTree, type Fixture } from './fixture.js';
import { ReadLog } from '../../src/util/read-log.js';

/**
 * What the adapter tests share: fixtures (and their cleanup), an
 * AdapterContext made the way the build service makes one, and running the
 * outputs with Node.
 */

export const SHEBANG = '#!/usr/bin/env node';

/** The TypeScripts the repo installs: 5.x (compiler in JS) and 7.x (native). */
export const TYPESCRIPTS = [
  { version: '5.9.3', dir: path.join(repoRoot, 'node_modules/typescript') },
  { version: '7.0.2', dir: path.join(repoRoot, 'node_modules/typescript7') },
];

/** Version of a package installed in the repo's node_modules. */
export function repoVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Call once at the top of a test file: returns createFixture, whose fixtures
 * are removed after each test of that file.
 */
export function trackedFixtures(): (files: FileTree) => Fixture {
  const fixtures: Fixture[] = [];
  afterEach(() => {
    for (const fx of fixtures.splice(0)) fx.cleanup();
  });
  return (files) => {
    const fx = createFixture(files);
    fixtures.push(fx);
    return fx;
  };
}

/** Links the repo's rollup and @rollup/plugin-node-resolve into the fixture's node_modules. */
export function linkRollup(fx: Fixture): void {
  mkdirSync(fx.path('node_modules/@rollup'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/rollup'), fx.path('node_modules/rollup'), 'dir');
  symlinkSync(path.join(repoRoot, 'node_modules/@rollup/plugin-node-resolve'), fx.path('node_modules/@rollup/plugin-node-resolve'), 'dir');
}

/**
 * A small stand-in for @types/node: what fixture sources use (console.log, process.platform and
 * .versions, require), declared the way @types/node does (Console merges with lib.dom's). The real
 * one is ~50k lines that each spawned tsc (which has no parsed-file cache) parses again: about
 * two thirds of the CPU time of a small spawned build. It is still a types package in
 * node_modules/@types, so `types: ['node']` still fails with TS2688 when typeRoots is wrong.
 */
export const SMALL_NODE_TYPES: FileTree = {
  'node_modules/@types/node/package.json': { name: '@types/node', version: '0.0.0-fixture', types: 'index.d.ts' },
  'node_modules/@types/node/index.d.ts': [
    'interface Console {',
    '  log(...data: any[]): void;',
    '}',
    'declare var console: Console;',
    'declare var process: { platform: string; versions: Record<string, string | undefined> };',
    'declare var require: (id: string) => any;',
    '',
  ].join('\n'),
};

/**
 * Links `tsDir` as the fixture's `typescript`, and the repo's @types/node ('repo'), or writes
 * SMALL_NODE_TYPES ('small') for tests whose subject is not Node's types.
 */
export function linkTypeScript(fx: Fixture, tsDir: string, nodeTypes: 'repo' | 'small' = 'repo'): void {
  mkdirSync(fx.path('node_modules/@types'), { recursive: true });
  symlinkSync(tsDir, fx.path('node_modules/typescript'), 'dir');
  if (nodeTypes === 'small') fx.write(SMALL_NODE_TYPES);
  else symlinkSync(path.join(repoRoot, 'node_modules/@types/node'), fx.path('node_modules/@types/node'), 'dir');
}

/**
 * A package whose sources import each other, a node builtin, an external
 * dependency (a CommonJS package in its own node_modules, so the output must
 * leave it to Node) and types that exist only at compile time. Entries:
 * src/index.ts (prints LIBRARY_STDOUT), src/throws.ts (throws on line 12 of
 * src/greet.ts), src/cli.ts (a bin with SHEBANG that prints BUILD_FLAVOUR).
 */
export function libraryFiles(name: string): FileTree {
  return {
    'package.json': { name, version: '1.0.0', type: 'module', dependencies: { 'ext-dep': '1.0.0' } },
    'src/types.ts': 'export interface Options {\n  name: string;\n}\n',
    'src/greet.ts': [
      "import type { Options } from './types';",
      '',
      'export interface Greeting {',
      '  text: string;',
      '}',
      '',
      "export function greet(name: Options['name']): Greeting {",
      '  return { text: `hello ${name}` };',
      '}',
      '',
      'export function fail(): never {',
      "  throw new Error('boom from greet');",
      '}',
      '',
    ].join('\n'),
    'src/index.ts': [
      "import { platform } from 'node:os';",
      "import { extValue } from 'ext-dep';",
      "import { greet, type Greeting } from './greet';",
      "import type { Options } from './types';",
      '',
      "const options: Options = { name: 'world' };",
      'const greeting: Greeting = greet(options.name);',
      'console.log(`${greeting.text} ext=${extValue} os=${platform() === process.platform}`);',
      '',
    ].join('\n'),
    'src/throws.ts': "import { fail } from './greet';\n\nfail();\n",
    'src/cli.ts': `${SHEBANG}\nimport { greet } from './greet';\n\ndeclare const BUILD_FLAVOUR: string;\nconsole.log(\`cli \${greet('bin').text} \${BUILD_FLAVOUR}\`);\n`,
    'node_modules/ext-dep/package.json': { name: 'ext-dep', version: '1.0.0', main: 'index.js' },
    'node_modules/ext-dep/index.js': "exports.extValue = 'ext-' + (40 + 2);\n",
  };
}

/** What a bundle of libraryFiles' src/index.ts prints. */
export const LIBRARY_STDOUT = 'hello world ext=ext-42 os=true\n';

/** A composite tsconfig (outDir dist): what `tsc -p .` answers with an up-to-date tsconfig.tsbuildinfo. */
export const COMPOSITE_TSCONFIG = {
  compilerOptions: { module: 'NodeNext', target: 'ES2022', lib: ['ES2022'], strict: true, skipLibCheck: true, composite: true, outDir: 'dist', rootDir: 'src', types: ['node'] },
  include: ['src'],
};

/** What a user's own `tsc -p .` (with tsDir's tsc) leaves behind: a tsconfig.tsbuildinfo saying everything is emitted. dist is removed. */
export function leaveOwnTsBuildInfo(fx: Fixture, tsDir: string): void {
  const own = spawnSync(process.execPath, [path.join(tsDir, 'bin/tsc'), '-p', '.'], { cwd: fx.root, encoding: 'utf8' });
  expect(own.status).toBe(0);
  expect(existsSync(fx.path('tsconfig.tsbuildinfo'))).toBe(true);
  rmSync(fx.path('dist'), { recursive: true });
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

/**
 * An AdapterContext as the build service makes one: the resolved config, a
 * fresh staging dir inside the package (so Node resolves the package's
 * dependencies from the outputs and sees its "type"), and the log collected.
 */
export function stagingContext(
  pkg: PackageInfo,
  input: BuildConfigInput,
  tool: Extract<ToolAvailability, { available: true }>,
  signal: AbortSignal = new AbortController().signal,
): { ctx: AdapterContext; logs: LogLine[] } {
  const config = resolveConfig(pkg, buildConfigSchema.parse(input), null);
  const outDir = mkdtempSync(path.join(pkg.dir, '.build-system-staging-'));
  const logs: LogLine[] = [];
  return { ctx: { pkg, config, outDir, tool, signal, reads: new ReadLog(), cacheDir: resolveCacheDir(pkg.workspaceRoot), log: (stream, line) => logs.push({ stream, line }) }, logs };
}

export interface AdapterRun {
  out: AdapterOutput;
  ctx: AdapterContext;
  outDir: string;
  logs: LogLine[];
  /** The log as `stream: line` strings (including lines logged after the build, through ctx). */
  readonly lines: string[];
  /** How long build() took. */
  ms: number;
}

/** check() then build() of the package at pkgDir, as the build service runs an adapter. Throws when the tool is not available. */
export async function runAdapter(adapter: BuilderAdapter, pkgDir: string, input: BuildConfigInput, signal?: AbortSignal): Promise<AdapterRun> {
  const pkg = loadPackageInfo(pkgDir, new ReadLog());
  const tool = await adapter.check(pkg, new ReadLog());
  if (!tool.available) throw new Error(`${adapter.name} is not available: ${tool.reason}`);
  const { ctx, logs } = stagingContext(pkg, input, tool, signal);
  const started = performance.now();
  const out = await adapter.build(ctx);
  const ms = performance.now() - started;
  return {
    out,
    ctx,
    outDir: ctx.outDir,
    logs,
    get lines() {
      return logs.map((l) => `${l.stream}: ${l.line}`);
    },
    ms,
  };
}

export interface NodeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with this Node, in the file's directory. */
export function runNode(file: string, args: string[] = []): NodeRun {
  const r = spawnSync(process.execPath, [...args, file], { encoding: 'utf8', cwd: path.dirname(file) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `file` with Node, which must exit 0 with nothing on stderr; returns stdout trimmed. */
export function nodeStdout(file: string): string {
  const r = runNode(file);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout.trim();
}

/** Every file below dir, relative (posix), sorted. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)).split(path.sep).join('/'))
    .sort();
}

/** `files` relative to dir (posix), sorted. */
export function relPaths(dir: string, files: string[]): string[] {
  return files.map((f) => path.relative(dir, f).split(path.sep).join('/')).sort();
}

/**
 * What a bundler must make of libraryFiles' src/index.ts, built to index.js
 * (ESM) and index.cjs: every output in `files` runs, ext-dep is imported at
 * runtime rather than bundled, local modules are bundled. Returns index.js.
 */
export function expectLibraryBundles(outDir: string, files: string[]): string {
  for (const file of files) {
    const r = runNode(file);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(LIBRARY_STDOUT);
  }
  const esm = readFileSync(path.join(outDir, 'index.js'), 'utf8');
  const cjs = readFileSync(path.join(outDir, 'index.cjs'), 'utf8');
  // The dependency is imported at runtime, not bundled; local modules are bundled.
  expect(esm).toMatch(/from "ext-dep"/);
  expect(cjs).toMatch(/require\("ext-dep"\)/);
  expect(esm).not.toContain('40 + 2');
  expect(esm).not.toContain('./greet');
  return esm;
}

/** libraryFiles' bin in both formats, with a banner and BUILD_FLAVOUR defined: expectRunsAsBin(cli.js and cli.cjs, BIN_BANNER, BIN_STDOUT). */
export const BIN_BANNER = '/* fx banner */';
export const BIN_STDOUT = 'cli hello bin release\n';
export const BIN_BUILD: BuildConfigInput = { entry: { cli: 'src/cli.ts' }, format: ['esm', 'cjs'], banner: BIN_BANNER, define: { BUILD_FLAVOUR: '"release"' } };

/** A built bin: SHEBANG first, `banner` second, and it runs as an executable printing `stdout`. */
export function expectRunsAsBin(file: string, banner: string, stdout: string): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  expect(lines[0]).toBe(SHEBANG);
  expect(lines[1]).toBe(banner);
  // Run as an executable, the way a package bin is: the kernel reads the shebang.
  chmodSync(file, 0o755);
  const r = spawnSync(file, { encoding: 'utf8', cwd: path.dirname(file) });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(stdout);
}

/** A built bin whose banner brought a `#!` line of its own: SHEBANG first, and the only `#!` line. Returns the file's text. */
export function expectSingleShebang(file: string): string {
  const text = readFileSync(file, 'utf8');
  expect(text.split('\n')[0]).toBe(SHEBANG);
  expect(text.split('\n').filter((l) => l.startsWith('#!'))).toHaveLength(1);
  return text;
}

// Non-ASCII before the error: bundlers count columns in bytes, diagnostics in characters.
const BROKEN_LINE = 'export const label = "ééé"; export const broken = (1 + ;';

/** src/broken.ts with a syntax error on line 2 (after non-ASCII text), imported by the entry src/uses-broken.ts. */
export const BROKEN_FILES: FileTree = {
  'src/broken.ts': `export const fine = 1;\n${BROKEN_LINE}\n`,
  'src/uses-broken.ts': "import { fine } from './broken';\nconsole.log(fine);\n",
};

/** BROKEN_FILES built in two formats: a failure with the one error, once, at file, 1-based line and character column. Returns it. */
export function expectBrokenLineError(out: AdapterOutput): Diagnostic {
  expect(out.ok).toBe(false);
  const errors = out.diagnostics.filter((d) => d.severity === 'error');
  // Both formats hit the same error: reported once.
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ file: 'src/broken.ts', line: 2, column: BROKEN_LINE.indexOf(';', BROKEN_LINE.indexOf('(1 +')) + 1 });
  return errors[0]!;
}
