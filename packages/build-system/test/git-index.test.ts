/**
 * util/git-index.ts against indexes real git writes: every version it reads (2, 3, 4), the entries it must
 * not vouch for (changed since, racily clean, assume-unchanged, skip-worktree, intent-to-add, links), the
 * layouts it finds (a linked worktree) and what it refuses (GIT_DIR, a split index, a damaged file).
 */
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blobIdAt, readGitIndex, type GitIndex } from '../src/util/git-index.js';
import { createFixture, type Fixture } from './helpers/fixture.js';
import { git, initGit, settleGitIndex } from './helpers/workspace.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

function repo(files: Record<string, string>): Fixture {
  const fx = createFixture(files);
  fixtures.push(fx);
  initGit(fx);
  settleGitIndex(fx.root);
  return fx;
}

/** path → blob id, as `git ls-files --stage` prints them. */
function staged(root: string): Map<string, string> {
  const out = git(root, 'ls-files', '--stage', '-z');
  return new Map(
    out
      .split('\0')
      .filter(Boolean)
      .map((line) => {
        const [meta, rel] = line.split('\t');
        return [path.join(root, rel!), meta!.split(' ')[1]!];
      }),
  );
}

const vouched = (index: GitIndex, file: string) => blobIdAt(index, file, statSync(file));

const tree = {
  'package.json': '{"name":"demo"}\n',
  'src/index.ts': 'export const a = 1;\n',
  'src/deep/nested/name-that-is-rather-long-for-prefix-compression.ts': 'export const b = 2;\n',
  'src/deep/nested/name-that-is-rather-long-for-prefix-compression-2.ts': 'export const c = 3;\n',
  'src/ünïcode.ts': 'export const d = 4;\n',
};

describe('readGitIndex', () => {
  for (const version of ['2', '3', '4']) {
    it(`index version ${version}: every file at its stat has git's blob id`, () => {
      const fx = repo(tree);
      git(fx.root, 'update-index', '--index-version', version);
      const index = readGitIndex(path.join(fx.root, 'src'))!;
      expect(index).not.toBeNull();
      const ids = staged(fx.root);
      expect(ids.size).toBe(Object.keys(tree).length + 1); // and initGit's .gitignore
      for (const [file, oid] of ids) expect(vouched(index, file)).toBe(oid);
    });
  }

  it('a file changed since git last looked has no id, nor does a file git does not track', () => {
    const fx = repo(tree);
    fx.write({ 'src/index.ts': 'export const a = 2;\n', 'src/new.ts': 'x\n' });
    const index = readGitIndex(fx.root)!;
    expect(vouched(index, fx.path('src/index.ts'))).toBeNull();
    expect(vouched(index, fx.path('src/new.ts'))).toBeNull();
    expect(vouched(index, fx.path('package.json'))).toBe(staged(fx.root).get(fx.path('package.json')));
    // After git looks again, the new content's id.
    git(fx.root, 'add', 'src/index.ts');
    expect(vouched(readGitIndex(fx.root)!, fx.path('src/index.ts'))).toBe(staged(fx.root).get(fx.path('src/index.ts')));
  });

  it('is stricter than git: another inode or change time with the same size and mtime is not vouched for', () => {
    const fx = repo(tree);
    const file = fx.path('src/index.ts');
    const index = readGitIndex(fx.root)!;
    const st = statSync(file);
    expect(blobIdAt(index, file, st)).not.toBeNull();
    expect(blobIdAt(index, file, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs + 1, ino: st.ino })).toBeNull();
    expect(blobIdAt(index, file, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino + 1 })).toBeNull();
    expect(blobIdAt(index, file, { size: st.size + 1, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino })).toBeNull();
  });

  it('leaves out racily clean entries (modified at or after the index was written)', () => {
    const fx = repo(tree);
    // A modification time after the index write: git itself would read this file again.
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(fx.path('src/index.ts'), later, later);
    git(fx.root, 'update-index', '--refresh');
    const index = readGitIndex(fx.root)!;
    expect(statSync(path.join(fx.root, '.git/index')).mtimeMs).toBeLessThan(later.getTime());
    expect(vouched(index, fx.path('src/index.ts'))).toBeNull();
    expect(vouched(index, fx.path('package.json'))).not.toBeNull();
  });

  it('leaves out assume-unchanged, skip-worktree and intent-to-add entries, links and submodule-like entries', () => {
    const fx = repo(tree);
    symlinkSync('index.ts', fx.path('src/link.ts'));
    fx.write({ 'src/later.ts': 'x\n' });
    git(fx.root, 'add', 'src/link.ts');
    git(fx.root, 'add', '--intent-to-add', 'src/later.ts');
    git(fx.root, 'update-index', '--assume-unchanged', 'package.json');
    git(fx.root, 'update-index', '--skip-worktree', 'src/index.ts');
    const index = readGitIndex(fx.root)!;
    for (const rel of ['package.json', 'src/index.ts', 'src/link.ts', 'src/later.ts']) expect(index.entries.has(fx.path(rel))).toBe(false);
    expect(vouched(index, fx.path('src/ünïcode.ts'))).toBe(staged(fx.root).get(fx.path('src/ünïcode.ts')));
  });

  it('finds the index of a linked worktree through its .git file', () => {
    const fx = repo(tree);
    const wt = fx.path('../', `${path.basename(fx.root)}-wt`);
    git(fx.root, 'worktree', 'add', '-q', wt);
    settleGitIndex(wt);
    try {
      const index = readGitIndex(path.join(wt, 'src'))!;
      expect(index).not.toBeNull();
      for (const [file, oid] of staged(wt)) expect(vouched(index, file)).toBe(oid);
    } finally {
      git(fx.root, 'worktree', 'remove', '--force', wt);
    }
  });

  it('refuses what it does not read: GIT_DIR set, a split index, a damaged file, no repository', () => {
    const fx = repo(tree);
    expect(readGitIndex(fx.root)).not.toBeNull();
    process.env.GIT_DIR = fx.path('.git');
    try {
      expect(readGitIndex(fx.root)).toBeNull();
    } finally {
      delete process.env.GIT_DIR;
    }
    const indexFile = fx.path('.git/index');
    const bytes = readFileSync(indexFile);
    bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff; // inside the entries or extensions: the trailing checksum no longer matches
    writeFileSync(indexFile, bytes);
    expect(readGitIndex(fx.root)).toBeNull();
    rmSync(indexFile);
    git(fx.root, 'reset', '-q');
    expect(readGitIndex(fx.root)).not.toBeNull();
    git(fx.root, 'update-index', '--split-index');
    expect(readGitIndex(fx.root)).toBeNull();

    const plain = createFixture({ 'a.txt': 'a' });
    fixtures.push(plain);
    mkdirSync(plain.path('sub'));
    expect(readGitIndex(plain.path('sub'))).toBeNull();
  });
});
