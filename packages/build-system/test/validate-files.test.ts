import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { validatePackage } from '../src/validate/index.js';
import { ReadLog } from '../src/util/read-log.js';
import { createFixture, type Fixture, type FileTree } from './helpers/fixture.js';

/**
 * What npm publishes, decided without packing (src/validate/files-coverage.ts),
 * checked against `npm pack --dry-run` itself on the same layouts.
 */
const fixtures: Fixture[] = [];
afterAll(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

const DIST = ['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/sub/util.js'];

/** A workspace root (with its .gitignore) holding the package at packages/p; dist files on disk and as artifacts. */
function layout(manifest: Record<string, unknown>, extra: FileTree = {}, rootGitignore = 'node_modules/\ndist/\n') {
  const pkg: FileTree = { 'package.json': { version: '1.0.0', ...manifest }, 'src/index.ts': 'export {};\n' };
  for (const f of DIST) pkg[f] = '//\n';
  const files: FileTree = { 'package.json': { name: 'root', private: true, workspaces: ['packages/*'] }, '.gitignore': rootGitignore };
  for (const [k, v] of Object.entries({ ...pkg, ...extra })) files[`packages/p/${k}`] = v;
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

function npmPacks(fx: Fixture): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: fx.path('packages/p'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
}

/** The targets the validator says npm leaves out, for a package.json exporting every dist file. */
function leftOut(fx: Fixture, manifest: Record<string, unknown>): string[] {
  const exports = Object.fromEntries(DIST.map((f) => [`./${f}`, `./${f}`]));
  const full = { version: '1.0.0', ...manifest, exports };
  const { diagnostics } = validatePackage({ dir: fx.path('packages/p'), workspaceRoot: fx.root, manifest: full, outDir: 'dist', artifacts: DIST.map((path) => ({ path })), reads: new ReadLog() });
  return diagnostics.filter((d) => d.code === 'PKG_FILES_UNCOVERED').map((d) => JSON.parse(d.field!.slice('exports['.length, -1)).slice(2));
}

const CASES: { name: string; manifest: Record<string, unknown>; extra?: FileTree; rootGitignore?: string }[] = [
  { name: 'files: ["dist"] covers the directory', manifest: { name: 'a', files: ['dist'] } },
  { name: 'files: a glob and a negation', manifest: { name: 'b', files: ['dist/*.js', 'dist/**/*.d.ts', '!dist/index.d.ts'] } },
  { name: 'files: ./dist/ with a leading ./ and a trailing /', manifest: { name: 'c', files: ['./dist/'] } },
  { name: 'no files: the workspace root .gitignore leaves dist out', manifest: { name: 'd' } },
  { name: 'no files, a package .npmignore replaces the .gitignore', manifest: { name: 'e' }, extra: { '.npmignore': '*.map\n' } },
  { name: 'no files: a bin inside dist makes npm enter it, and then all of dist is published', manifest: { name: 'f', bin: { f: './dist/sub/util.js' } } },
  { name: 'no files: main written with ./ is not forced in (npm matches it as written)', manifest: { name: 'g', main: './dist/index.js' } },
  { name: 'no files: main without ./ is', manifest: { name: 'h', main: 'dist/index.js' } },
  { name: 'files: ["dist"] and an .npmignore inside dist', manifest: { name: 'i', files: ['dist'] }, extra: { 'dist/.npmignore': 'sub/\n' } },
];

describe('what npm publishes: the validator agrees with npm pack', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const fx = layout(c.manifest, c.extra, c.rootGitignore);
      const packed = new Set(npmPacks(fx));
      const expected = DIST.filter((f) => !packed.has(f)).sort();
      // Inside dist only artifacts count: the .npmignore there is one of them when npm reads it.
      const artifacts = c.extra && 'dist/.npmignore' in c.extra ? [...DIST, 'dist/.npmignore'] : DIST;
      const exports = Object.fromEntries(DIST.map((f) => [`./${f}`, `./${f}`]));
      const manifest = { version: '1.0.0', ...c.manifest, exports };
      const { diagnostics } = validatePackage({
        dir: fx.path('packages/p'),
        workspaceRoot: fx.root,
        manifest,
        outDir: 'dist',
        artifacts: artifacts.map((path) => ({ path })),
        reads: new ReadLog(),
        readArtifact: (rel) => (rel === 'dist/.npmignore' ? fx.read('packages/p/dist/.npmignore') : undefined),
      });
      // One per field: `main` may name a file an exports subpath names too.
      const ours = new Set(diagnostics.filter((d) => d.code === 'PKG_FILES_UNCOVERED').map((d) => /^\.\/(\S+) would not be published/.exec(d.message)![1]!));
      expect([...ours].sort()).toEqual(expected);
    });
  }

  it('a private package is never published: not checked', () => {
    const fx = layout({ name: 'k' });
    const { diagnostics } = validatePackage({
      dir: fx.path('packages/p'),
      workspaceRoot: fx.root,
      manifest: { name: 'k', private: true, exports: './dist/index.js' },
      outDir: 'dist',
      artifacts: DIST.map((path) => ({ path })),
      reads: new ReadLog(),
    });
    expect(diagnostics).toEqual([]);
  });

  it('the message says what leaves the file out and what to add', () => {
    const fx = layout({ name: 'j' });
    expect(leftOut(fx, { name: 'j' })).toEqual(DIST);
    const { diagnostics } = validatePackage({
      dir: fx.path('packages/p'),
      workspaceRoot: fx.root,
      manifest: { name: 'j', exports: './dist/index.js' },
      outDir: 'dist',
      artifacts: DIST.map((path) => ({ path })),
      reads: new ReadLog(),
    });
    expect(diagnostics).toEqual([
      {
        severity: 'warning',
        code: 'PKG_FILES_UNCOVERED',
        file: 'package.json',
        field: 'exports',
        message: './dist/index.js would not be published by npm (left out by ../../.gitignore): add "files": ["dist"]',
      },
    ]);
  });
});
