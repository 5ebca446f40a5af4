import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult, Diagnostic, RunResult } from '../src/index.js';
import { validatePackage } from '../src/validate/index.js';
import { ReadLog } from '../src/util/read-log.js';
import { cliPath, createFixture, packageRoot, repoRoot, type FileTree, type Fixture } from './helpers/fixture.js';

/**
 * The validator against the real tools: packages built by build-system, then
 * checked by publint (its JS API, packing with npm) and attw (the
 * analysis `attw <tarball> --format json` prints, from @arethetypeswrong/core,
 * the engine behind the CLI, run in this process). Wherever publint
 * or attw reports a problem, the build's own diagnostics hold one of the
 * codes that problem maps to; clean packages are clean for all three.
 * Covers fixtures shaped like real packages, every `examples/*` package
 * (new examples are picked up as they are added), and build-system itself.
 */
const execFileAsync = promisify(execFile);

/** publint message codes → the validation codes that report the same problem. */
const PUBLINT: Record<string, string[]> = {
  FILE_DOES_NOT_EXIST: ['PKG_EXPORT_MISSING', 'PKG_ENTRY_MISSING', 'PKG_BIN_MISSING'],
  EXPORTS_GLOB_NO_MATCHED_FILES: ['PKG_EXPORT_MISSING'],
  FILE_NOT_PUBLISHED: ['PKG_FILES_UNCOVERED'],
  EXPORTS_TYPES_SHOULD_BE_FIRST: ['PKG_TYPES_FIRST'],
  EXPORTS_DEFAULT_SHOULD_BE_LAST: ['PKG_DEFAULT_LAST'],
  EXPORTS_MODULE_SHOULD_PRECEDE_REQUIRE: ['PKG_MODULE_BEFORE_REQUIRE'],
  EXPORTS_TYPES_INVALID_FORMAT: ['PKG_TYPES_MASQUERADE'],
  TYPES_NOT_EXPORTED: ['PKG_TYPES_MISSING'],
  EXPORTS_MODULE_SHOULD_BE_ESM: ['PKG_MODULE_KIND'],
  MODULE_SHOULD_BE_ESM: ['PKG_MODULE_KIND'],
  FILE_INVALID_FORMAT: ['PKG_MODULE_KIND'],
  EXPORTS_VALUE_INVALID: ['PKG_EXPORT_INVALID'],
};

/** attw problem kinds → the validation codes that report the same problem (a file missing from the tarball is either). */
const ATTW: Record<string, string[]> = {
  NoResolution: ['PKG_EXPORT_MISSING', 'PKG_FILES_UNCOVERED', 'PKG_EXPORT_INVALID'],
  UntypedResolution: ['PKG_TYPES_MISSING', 'PKG_FILES_UNCOVERED', 'PKG_EXPORT_MISSING'],
  FalseESM: ['PKG_TYPES_MASQUERADE'],
  FalseCJS: ['PKG_TYPES_MASQUERADE'],
  CJSResolvesToESM: ['PKG_MODULE_KIND'],
};

interface ToolFindings {
  publint: { code: string; path: string }[];
  attw: { kind: string; entrypoint?: string; resolutionKind?: string }[];
}

/**
 * attw's resolution modes that apply: node16 (import and require) and
 * bundler; not node10, which has no `exports` (our rules are the ones of
 * `exports`-aware resolution). An ESM-only package (`"type": "module"` and no
 * `require` condition anywhere) is checked without node16-cjs: that a
 * require() of it finds ESM is its choice, not a mistake.
 */
function attwProfile(dir: string): 'node16' | 'esm-only' {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { type?: string; exports?: unknown; main?: string };
  const text = JSON.stringify(manifest.exports ?? null);
  if (text.includes('"require"') || manifest.main !== undefined) return 'node16';
  const js = [...text.matchAll(/"(\.\/[^"]*\.[cm]?js)"/g)].map((m) => m[1]!);
  const esm = (f: string) => f.endsWith('.mjs') || (f.endsWith('.js') && manifest.type === 'module');
  return js.length > 0 && js.every(esm) ? 'esm-only' : 'node16';
}

async function runTools(packageDir: string): Promise<ToolFindings> {
  const profile = attwProfile(packageDir);
  const dest = mkdtempSync(path.join(tmpdir(), 'bs-attw-'));
  // A private package is never published, so what npm would leave out of it is moot (the validator does not
  // check it): the tools see it as if everything were published, from a copy outside the workspace.
  let dir = packageDir;
  if ((JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { private?: boolean }).private === true) {
    dir = path.join(dest, 'copy');
    cpSync(packageDir, dir, { recursive: true, filter: (src) => path.basename(src) !== 'node_modules' });
  }
  try {
    // publint packs on its own (a dry run: it lints the files on disk, knowing which npm would leave out);
    // the tarball for attw is packed meanwhile.
    const linted = publint({ pkgDir: dir, level: 'warning', pack: 'npm' });
    // attw packs itself with --pack, into the package dir; a tarball made elsewhere keeps the package untouched.
    const packed = execFileAsync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: dir });
    const [lint, { stdout }] = await Promise.all([linted, packed]);
    const tarball = path.join(dest, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    // What `attw <tarball> --format json` prints as `analysis`, without a process (and TypeScript
    // loaded again) per package: the CLI does exactly this with a tarball, its --profile only
    // chooses the resolution kinds its exit code ignores, which are filtered here.
    const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tarball))));
    const report = JSON.parse(JSON.stringify({ analysis })) as { analysis: { problems?: ToolFindings['attw'] } };
    const ignored = profile === 'node16' ? ['node10'] : profile === 'esm-only' ? ['node10', 'node16-cjs'] : [];
    const attw = (report.analysis.problems ?? []).filter((p) => !p.resolutionKind || !ignored.includes(p.resolutionKind));
    return { publint: lint.messages.map((m) => ({ code: m.code, path: m.path.join('.') })), attw };
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}

/**
 * Each tool finding that no diagnostic of ours reports, as text (empty: we
 * agree). attw's UntypedResolution on a package that ships no types (no
 * types field or condition, no declaration built) is not a problem we claim.
 */
function unmatched(findings: ToolFindings, ours: readonly Diagnostic[], result: BuildResult): string[] {
  const codes = new Set(ours.map((d) => d.code));
  const manifest = JSON.parse(readFileSync(path.join(result.package.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const shipsTypes = manifest.types !== undefined || manifest.typings !== undefined || JSON.stringify(manifest.exports ?? null).includes('.d.') || result.artifacts.some((a) => a.kind === 'dts');
  const out: string[] = [];
  for (const m of findings.publint) if (!(PUBLINT[m.code] ?? []).some((c) => codes.has(c))) out.push(`publint ${m.code} at ${m.path}`);
  for (const p of findings.attw) {
    if (p.kind === 'UntypedResolution' && !shipsTypes) continue;
    if (!(ATTW[p.kind] ?? []).some((c) => codes.has(c))) out.push(`attw ${p.kind} (${p.entrypoint ?? 'file'}, ${p.resolutionKind ?? 'any'})`);
  }
  return out;
}

const validationOf = (r: BuildResult) => r.diagnostics.filter((d) => d.code?.startsWith('PKG_'));
const tsconfig = { compilerOptions: { module: 'nodenext', declaration: true, outDir: 'dist', rootDir: 'src', strict: true, skipLibCheck: true }, include: ['src'] };
const esbuildTsconfig = { compilerOptions: { module: 'nodenext', strict: true, skipLibCheck: true }, include: ['src'] };

interface ToolFixture {
  files: FileTree;
  /** Codes our validator must report ([] = clean for all three); and what the tools report, to be sure the fixture is what it claims (where they see it). */
  ours: string[];
  publint?: string;
  attw?: string;
}

/** Packages shaped like real ones; the broken ones each break one rule. */
const FIXTURES: Record<string, ToolFixture> = {
  'esm-mjs': {
    ours: [],
    files: {
      'package.json': { name: 'esm-mjs', version: '1.0.0', files: ['dist'], exports: { '.': { types: './dist/index.d.mts', default: './dist/index.mjs' } } },
      // tsc emits index.mjs + index.d.mts from index.mts; `format` names the tsc adapter's one format.
      'build.config.ts': "export default { adapter: 'tsc', format: 'cjs', entry: 'src/index.mts' };\n",
      'tsconfig.json': tsconfig,
      'src/index.mts': 'export const kind: string = "esm";\n',
    },
  },
  'dual-cts': {
    ours: [],
    files: {
      'package.json': {
        name: 'dual-cts',
        version: '1.0.0',
        files: ['dist'],
        exports: { '.': { import: { types: './dist/index.d.mts', default: './dist/index.mjs' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } } },
      },
      'build.config.ts': "export default { adapter: 'tsc', format: 'cjs', entry: 'src/index.cts' };\n",
      'tsconfig.json': tsconfig,
      'src/index.mts': 'export const kind: string = "esm";\n',
      'src/index.cts': 'export const kind: string = "cjs";\n',
    },
  },
  cjs: {
    ours: [],
    files: {
      'package.json': { name: 'cjs', version: '1.0.0', files: ['dist'], main: './dist/index.js', types: './dist/index.d.ts', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
      'build.config.ts': "export default { adapter: 'esbuild', format: 'cjs', dts: true };\n",
      'tsconfig.json': esbuildTsconfig,
      'src/index.ts': 'export const kind: string = "cjs";\n',
    },
  },
  'missing-export': {
    ours: ['PKG_EXPORT_MISSING'],
    publint: 'FILE_DOES_NOT_EXIST',
    attw: 'NoResolution',
    files: {
      'package.json': { name: 'missing-export', version: '1.0.0', type: 'module', files: ['dist'], exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './extra': { types: './dist/extra.d.ts', default: './dist/extra.js' } } },
      'build.config.ts': "export default { adapter: 'esbuild', entry: 'src/index.ts', dts: true };\n",
      'tsconfig.json': esbuildTsconfig,
      'src/index.ts': 'export const kind: string = "esm";\n',
    },
  },
  'types-not-first': {
    ours: ['PKG_TYPES_FIRST'],
    publint: 'EXPORTS_TYPES_SHOULD_BE_FIRST',
    files: {
      'package.json': { name: 'types-not-first', version: '1.0.0', type: 'module', files: ['dist'], exports: { '.': { import: './dist/index.js', types: './dist/index.d.ts', default: './dist/index.js' } } },
      'build.config.ts': "export default { adapter: 'esbuild', dts: true };\n",
      'tsconfig.json': esbuildTsconfig,
      'src/index.ts': 'export const kind: string = "esm";\n',
    },
  },
  masquerading: {
    ours: ['PKG_TYPES_MASQUERADE'],
    publint: 'EXPORTS_TYPES_INVALID_FORMAT',
    attw: 'FalseESM',
    files: {
      // The ESM-typed .d.ts under require too: it claims ESM for a CommonJS file. (publint checks
      // declaration kinds only in a package with a top-level `types`.)
      'package.json': {
        name: 'masquerading',
        version: '1.0.0',
        type: 'module',
        files: ['dist'],
        types: './dist/index.d.ts',
        exports: { '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.ts', default: './dist/index.cjs' } } },
      },
      'build.config.ts': "export default { adapter: 'esbuild', format: ['esm', 'cjs'], dts: true };\n",
      'tsconfig.json': esbuildTsconfig,
      'src/index.ts': 'export const kind: string = "dual";\n',
    },
  },
  'files-uncovered': {
    ours: ['PKG_FILES_UNCOVERED'],
    publint: 'FILE_NOT_PUBLISHED',
    files: {
      'package.json': { name: 'files-uncovered', version: '1.0.0', type: 'module', files: ['lib'], exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
      'build.config.ts': "export default { adapter: 'esbuild', dts: true };\n",
      'tsconfig.json': esbuildTsconfig,
      'src/index.ts': 'export const kind: string = "esm";\n',
    },
  },
};

/** At most two at a time: publint and npm pack start npm processes of their own. */
async function inPairs<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('the validator agrees with publint and attw', () => {
  let fx: Fixture;
  const results = new Map<string, BuildResult>();
  const findings = new Map<string, ToolFindings>();

  beforeAll(async () => {
    const files: FileTree = { 'package.json': { name: 'tools-ws', private: true, workspaces: ['packages/*'] } };
    for (const [name, f] of Object.entries(FIXTURES)) for (const [rel, content] of Object.entries(f.files)) files[`packages/${name}/${rel}`] = content;
    fx = createFixture(files, { linkNodeModules: true });
    const r = spawnSync(process.execPath, [cliPath, 'build', '--json', '--no-cache'], { cwd: fx.root, encoding: 'utf8' });
    const run = JSON.parse(r.stdout) as RunResult;
    for (const result of run.results) results.set(result.package.name, result);
    const names = Object.keys(FIXTURES);
    const all = await inPairs(names, (name) => runTools(fx.path('packages', name)));
    names.forEach((name, i) => findings.set(name, all[i]!));
  }, 240_000);
  afterAll(() => fx?.cleanup());

  for (const [name, f] of Object.entries(FIXTURES)) {
    it(`${name}: ${f.ours.length === 0 ? 'clean for all three' : `${f.ours.join(', ')}, and every problem publint and attw find is ours too`}`, () => {
      const result = results.get(name)!;
      expect(result.status, JSON.stringify(result.error)).toBe('success');
      const ours = validationOf(result);
      const found = findings.get(name)!;
      expect(unmatched(found, ours, result)).toEqual([]);
      if (f.ours.length === 0) {
        expect(ours).toEqual([]);
        expect(found).toEqual({ publint: [], attw: [] });
      } else {
        expect([...new Set(ours.map((d) => d.code))].sort()).toEqual(f.ours);
        if (f.publint) expect(found.publint.map((m) => m.code)).toContain(f.publint);
        if (f.attw) expect(found.attw.map((p) => p.kind)).toContain(f.attw);
      }
    });
  }
});

describe('examples/* and build-system itself', () => {
  const exampleDirs = readdirSync(path.join(repoRoot, 'examples'))
    .map((d) => path.join(repoRoot, 'examples', d))
    .filter((d) => statSync(d).isDirectory() && statSync(path.join(d, 'package.json'), { throwIfNoEntry: false })?.isFile());
  let run: RunResult;
  const findings = new Map<string, ToolFindings>();

  beforeAll(async () => {
    // As test/examples.test.ts does: the README's one command at the repo root builds every example.
    const r = spawnSync(process.execPath, [cliPath, 'build', '--json'], { cwd: repoRoot, encoding: 'utf8' });
    run = JSON.parse(r.stdout) as RunResult;
    // The tools on every example, two at a time (they wait on npm processes), before the tests read them.
    const all = await inPairs(exampleDirs, (dir) => runTools(dir));
    exampleDirs.forEach((dir, i) => findings.set(dir, all[i]!));
  }, 240_000);

  for (const dir of exampleDirs) {
    it(`examples/${path.basename(dir)}: clean for publint, attw and the build's own check (and they agree)`, () => {
      const result = run.results.find((r) => r.package.dir === dir);
      expect(result, `no result for ${dir}`).toBeDefined();
      expect(result!.status).toBe('success');
      const found = findings.get(dir)!;
      expect(unmatched(found, validationOf(result!), result!)).toEqual([]);
      // The examples are what a user copies: publint, attw and the build's own check all find nothing.
      expect(found).toEqual({ publint: [], attw: [] });
      expect(validationOf(result!)).toEqual([]);
    });
  }

  it("build-system's own package.json and dist: no problem", () => {
    const artifacts: { path: string }[] = [];
    const walk = (rel: string) => {
      for (const e of readdirSync(path.join(packageRoot, rel), { withFileTypes: true })) {
        if (e.isDirectory()) walk(`${rel}/${e.name}`);
        else artifacts.push({ path: `${rel}/${e.name}` });
      }
    };
    walk('dist');
    expect(artifacts.length).toBeGreaterThan(10);
    const manifest = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8'));
    const { diagnostics } = validatePackage({ dir: packageRoot, workspaceRoot: repoRoot, manifest, outDir: 'dist', artifacts, reads: new ReadLog() });
    expect(diagnostics).toEqual([]);
  });
});
