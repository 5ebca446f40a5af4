/**
 * The gitignore matcher (`cache/gitignore.ts`) decides which files are build
 * inputs, so it must agree with git. Each case builds a real git repository in
 * a temp dir, asks `git check-ignore` about every file, walks the same tree the
 * way the input walker does (entering directories, adding their .gitignore,
 * never entering an ignored one) and compares the two answers file by file.
 *
 * Out of scope (documented in gitignore.ts): `.git/info/exclude`,
 * `core.excludesFile` (set to /dev/null here so a developer's global excludes
 * cannot change the answer) and escaped trailing spaces (`\ `).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GitignoreMatcher } from '../src/cache/gitignore.js';
import { ReadLog } from '../src/util/read-log.js';

interface Case {
  name: string;
  /** path → content; paths ending in `.gitignore` are ignore files, the rest plain files. */
  files: Record<string, string>;
  /** The walk root below the repository root ('' = the root); outer .gitignore files apply as in a workspace. */
  root?: string;
}

const CASES: Case[] = [
  { name: 'plain name at any depth', files: { '.gitignore': 'dist\n', 'dist/a.js': '', 'src/dist/b.js': '', 'src/distx.js': '' } },
  { name: 'comments and blank lines', files: { '.gitignore': '# dist\n\n   \nlog.txt\n', 'dist/a.js': '', 'log.txt': '', 'sub/log.txt': '' } },
  { name: 'negation re-includes a file', files: { '.gitignore': '*.log\n!keep.log\n', 'a.log': '', 'keep.log': '', 'sub/keep.log': '', 'sub/b.log': '' } },
  { name: 'negation cannot re-include below an ignored directory', files: { '.gitignore': 'build/\n!build/keep.js\n', 'build/keep.js': '', 'build/x.js': '', 'src/keep.js': '' } },
  { name: 'negation after a directory glob re-includes', files: { '.gitignore': 'build/*\n!build/keep.js\n', 'build/keep.js': '', 'build/x.js': '' } },
  { name: 'trailing slash matches directories only', files: { '.gitignore': 'out/\n', 'out/a.js': '', 'src/out': '', 'src/out2/out/x': '' } },
  { name: 'leading slash anchors', files: { '.gitignore': '/cache\n', 'cache/a': '', 'src/cache/b': '' } },
  { name: 'middle slash anchors', files: { '.gitignore': 'src/gen\n', 'src/gen/a.ts': '', 'lib/src/gen/b.ts': '', 'src/general.ts': '' } },
  { name: 'leading **/', files: { '.gitignore': '**/tmp\n', 'tmp/a': '', 'x/y/tmp/b': '', 'x/tmpz': '' } },
  { name: 'trailing /**', files: { '.gitignore': 'logs/**\n', 'logs/a.txt': '', 'logs/deep/b.txt': '', 'other/logs/c.txt': '' } },
  { name: 'middle /**/', files: { '.gitignore': 'a/**/z.txt\n', 'a/z.txt': '', 'a/b/z.txt': '', 'a/b/c/z.txt': '', 'b/a/z.txt': '' } },
  { name: '* does not cross a slash', files: { '.gitignore': 'src/*.js\n', 'src/a.js': '', 'src/deep/b.js': '', 'a.js': '' } },
  { name: '? and ranges', files: { '.gitignore': 'file?.txt\n[ab].md\n[!c]x.md\n', 'file1.txt': '', 'file10.txt': '', 'a.md': '', 'c.md': '', 'dx.md': '', 'cx.md': '' } },
  { name: 'escaped ! and #', files: { '.gitignore': '\\!important\n\\#hash\n', '!important': '', '#hash': '', important: '' } },
  { name: 'escaped glob characters', files: { '.gitignore': 'star\\*.txt\nq\\?.txt\n', 'star*.txt': '', 'starX.txt': '', 'q?.txt': '', 'qX.txt': '' } },
  { name: 'dotfiles match *', files: { '.gitignore': '*.env\n.cache\n', '.env': '', 'prod.env': '', '.cache/x': '', '.envrc': '' } },
  { name: 'trailing spaces are dropped', files: { '.gitignore': 'spaced.txt   \n', 'spaced.txt': '', 'spaced.txt2': '' } },
  { name: 'CRLF line endings', files: { '.gitignore': 'a.txt\r\nb/\r\n', 'a.txt': '', 'b/x': '', 'c.txt': '' } },
  {
    name: 'nested .gitignore: scoped and anchored to its directory',
    files: { '.gitignore': '*.tmp\n', 'pkg/.gitignore': '/local\n!keep.tmp\ngen/\n', 'pkg/local/a': '', 'local/b': '', 'pkg/keep.tmp': '', 'pkg/x.tmp': '', 'pkg/sub/gen/c': '', 'gen/d': '' },
  },
  {
    name: 'nested .gitignore overrides its parent',
    files: { '.gitignore': 'secret\n', 'a/.gitignore': '!secret\n', 'a/secret': '', 'b/secret': '' },
  },
  {
    name: 'outer .gitignore above the walk root (workspace root over a package)',
    root: 'packages/app',
    files: { '.gitignore': '/packages/app/gen\ndist/\n*.log\n', 'packages/app/gen/a.ts': '', 'packages/app/dist/b.js': '', 'packages/app/src/c.ts': '', 'packages/app/x.log': '' },
  },
];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bs-gitignore-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function git(cwd: string, args: string[], input?: string): string {
  try {
    return execFileSync('git', args, { cwd, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    // check-ignore exits 1 when nothing is ignored.
    const err = e as { status?: number; stdout?: string };
    if (err.status === 1) return err.stdout ?? '';
    throw e;
  }
}

function plainFiles(c: Case): string[] {
  return Object.keys(c.files).filter((f) => path.posix.basename(f) !== '.gitignore').sort();
}

/** Files git ignores, of the case's plain files. */
function gitIgnored(repo: string, c: Case): string[] {
  const out = git(repo, ['-c', 'core.excludesFile=/dev/null', 'check-ignore', '--no-index', '--stdin', '-z'], plainFiles(c).join('\0'));
  return out.split('\0').filter(Boolean).sort();
}

/** Files our matcher ignores, walking as the input walker does. */
function oursIgnored(repo: string, c: Case): string[] {
  const root = c.root ?? '';
  const rootAbs = path.join(repo, root);
  const matcher = new GitignoreMatcher(rootAbs, new ReadLog(), root ? repo : undefined);
  const entered = new Set<string>(['']);
  const ignoredDirs = new Set<string>();
  const ignored: string[] = [];
  for (const file of plainFiles(c)) {
    if (!file.startsWith(root)) continue;
    const rel = root ? file.slice(root.length + 1) : file;
    const parts = rel.split('/');
    let hidden = false;
    for (let i = 1; i < parts.length && !hidden; i++) {
      const dir = parts.slice(0, i).join('/');
      if (ignoredDirs.has(dir)) hidden = true;
      else if (!entered.has(dir)) {
        if (matcher.ignores(dir, true)) {
          ignoredDirs.add(dir);
          hidden = true;
        } else {
          entered.add(dir);
          matcher.enter(dir);
        }
      }
    }
    if (hidden || matcher.ignores(rel, false)) ignored.push(file);
  }
  return ignored.sort();
}

describe('gitignore matcher agrees with git check-ignore', () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
    const repo = path.join(tmp, String(i));
    mkdirSync(repo, { recursive: true });
    git(repo, ['init', '-q']);
    for (const [rel, content] of Object.entries(c.files)) {
      mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
      writeFileSync(path.join(repo, rel), content);
    }
    const expected = gitIgnored(repo, c).filter((f) => f.startsWith(c.root ?? ''));
    // The comparison is only worth something if git ignores some files and keeps others.
    expect(expected.length, 'git ignores something in this case').toBeGreaterThan(0);
    expect(expected.length, 'git keeps something in this case').toBeLessThan(plainFiles(c).length);
    expect(oursIgnored(repo, c)).toEqual(expected);
  });
});
