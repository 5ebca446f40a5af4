import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blobIdsFromGit } from '../src/cache/noop/content.js';
import type { RunResult } from '../src/result/schema.js';
import { cliPath, createFixture, repoRoot, snapshotTree, type Fixture } from './helpers/fixture.js';
import { cli, git, initGit, settleGitIndex } from './helpers/workspace.js';

/**
 * The no-op record and git's index (cache/noop/content.ts, util/git-index.ts): after a fresh checkout every
 * file has a new stat, and where git's index has a file at its stat now with the blob id the record keeps
 * for it, the file holds without being read. A file whose bytes changed has another blob id, whatever git
 * says of it; a blob id is recorded only for the bytes the run hashed.
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const pkg = (name: string, deps: string[] = []) => ({
  name: `@g/${name}`,
  version: '1.0.0',
  type: 'module',
  exports: './dist/index.js',
  dependencies: Object.fromEntries(deps.map((d) => [`@g/${d}`, '1.0.0'])),
});
const config = `export default { adapter: 'esbuild', format: 'esm' };\n`;

function workspace(): Fixture {
  const fx = createFixture({
    'package.json': { name: 'git-root', private: true, workspaces: ['packages/*'] },
    'packages/core/package.json': pkg('core'),
    'packages/core/build.config.ts': config,
    'packages/core/src/index.ts': `export const core = 'core v1';\n`,
    'packages/app/package.json': pkg('app', ['core']),
    'packages/app/build.config.ts': config,
    'packages/app/src/index.ts': `import { core } from '@g/core';\nexport const app = core + ' app';\n`,
    'packages/solo/package.json': pkg('solo'),
    'packages/solo/build.config.ts': config,
    'packages/solo/src/index.ts': `export const solo = 'solo v1';\n`,
  });
  fixtures.push(fx);
  mkdirSync(fx.path('node_modules/@g'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules/esbuild'), fx.path('node_modules/esbuild'), 'dir');
  for (const name of ['core', 'app', 'solo']) symlinkSync(`../../packages/${name}`, fx.path(`node_modules/@g/${name}`), 'dir');
  initGit(fx);
  settleGitIndex(fx.root);
  return fx;
}

/** What a CI job meets: the work tree written anew in place (new inodes and times) with git's index describing it, no outputs, the cache kept. */
function checkout(fx: Fixture): void {
  const next = `${fx.root}.checkout`;
  cpSync(fx.root, next, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== 'dist' });
  rmSync(fx.root, { recursive: true });
  renameSync(next, fx.root);
  settleGitIndex(fx.root);
}

function build(fx: Fixture, args: string[] = []): { run: RunResult; stderr: string; status: Record<string, string> } {
  const r = cli(['build', '--json', ...args], { cwd: fx.root, env: { BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1', BUILD_SYSTEM_NO_FAST_PATH: undefined } });
  if (r.code !== 0) throw new Error(`build exited ${r.code}: ${r.stderr.slice(-3000)}`);
  const run = JSON.parse(r.stdout) as RunResult;
  return { run, stderr: r.stderr, status: Object.fromEntries(run.results.map((x) => [x.package.name.replace('@g/', ''), x.cache.status])) };
}

const byGit = (stderr: string): number | null => {
  const m = /written anew with the recorded content \((\d+) of them as git's index says\)/.exec(stderr);
  return m ? Number(m[1]) : null;
};
const outputs = (fx: Fixture) => Object.fromEntries(['core', 'app', 'solo'].map((n) => [n, snapshotTree(fx.path(`packages/${n}/dist`))]));

describe("the no-op record and git's index", () => {
  it('a fresh checkout holds by blob id, without reading the files git vouches for; changed bytes never do', () => {
    const fx = workspace();
    build(fx);
    const built = outputs(fx);

    checkout(fx);
    const ci = build(fx);
    // Every package's package.json, build.config.ts and source, and the root package.json, at least.
    expect(byGit(ci.stderr)).toBeGreaterThanOrEqual(10);
    expect(Object.values(ci.status)).toEqual(['hit', 'hit', 'hit']);
    expect(outputs(fx)).toEqual(built);
    // The record that run wrote carries the blob ids on: the next checkout holds by them again.
    checkout(fx);
    expect(byGit(build(fx).stderr)).toBeGreaterThanOrEqual(10);

    // As many bytes, other content, and git told about it (its index has the new blob at the new stat): a change.
    checkout(fx);
    writeFileSync(fx.path('packages/solo/src/index.ts'), `export const solo = 'solo v2';\n`);
    git(fx.root, 'add', 'packages/solo/src/index.ts');
    settleGitIndex(fx.root);
    const edited = build(fx);
    expect(edited.status).toEqual({ core: 'hit', app: 'hit', solo: 'miss' });
    expect(readFileSync(fx.path('packages/solo/dist/index.js'), 'utf8')).toContain('solo v2');
    // Git not told (its index is behind the file): read and compared by content, a change too.
    checkout(fx);
    writeFileSync(fx.path('packages/core/src/index.ts'), `export const core = 'core v2';\n`);
    const again = build(fx);
    expect(again.status).toEqual({ core: 'miss', app: 'hit', solo: 'hit' });
    const final = outputs(fx);
    build(fx, ['--force']);
    expect(outputs(fx)).toEqual(final);
  });

  it('records a blob id only for a file still at the stat it was read at (a write in between would name other bytes)', () => {
    const fx = workspace();
    const file = fx.path('packages/core/src/index.ts');
    const before = statSync(file);
    const oid = git(fx.root, 'rev-parse', ':packages/core/src/index.ts');
    expect(blobIdsFromGit(fx.root)(file, before)).toBe(oid);
    // Carried from the record it was proved in: taken as it is.
    expect(blobIdsFromGit(fx.root)(file, before, 'c'.repeat(40))).toBe('c'.repeat(40));
    // Written since (same size): git's index still has the old stat and id, but the file is not at that stat any more.
    writeFileSync(file, `export const core = 'core v9';\n`);
    expect(git(fx.root, 'rev-parse', ':packages/core/src/index.ts')).toBe(oid);
    expect(blobIdsFromGit(fx.root)(file, before)).toBe(0);
  });
});
