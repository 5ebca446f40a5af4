import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildSystemError } from '../src/errors.js';
import { selectPackages, type SelectOptions } from '../src/services/workspace.service.js';
import { parseFilter } from '../src/workspace/filter.js';
import type { Fixture } from './helpers/fixture.js';
import { git, initGit, scoped, workspaceFixture, type PackageSpec } from './helpers/workspace.js';

/**
 * Selection: --filter in every form, positional names, cwd, --all; checked
 * in-process on fixture workspaces (nothing is built here; see
 * workspace-build.test.ts for real builds).
 */
const SPEC: Record<string, PackageSpec> = {
  // diamond: base ← left, right ← top
  base: {},
  left: { deps: ['base'] },
  right: { deps: ['base'], depField: 'devDependencies' },
  top: { deps: ['left', 'right'] },
  // chain: c1 ← c2 ← c3
  c1: {},
  c2: { deps: ['c1'], depField: 'peerDependencies' },
  c3: { deps: ['c2'], depField: 'optionalDependencies' },
  solo: {},
  // tool has no config (takes part only with --all); app reaches base through it.
  tool: { deps: ['base'], config: false },
  app: { deps: ['tool'] },
  // bare has neither config nor an entry: never takes part, not even with --all.
  bare: { config: false, noEntry: true },
};

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function names(options: SelectOptions): string[] {
  return selectPackages(options).packages.map((p) => p.name.replace('@fx/', '')).sort();
}

function selectionError(options: SelectOptions): BuildSystemError {
  try {
    selectPackages(options);
  } catch (e) {
    return e as BuildSystemError;
  }
  throw new Error('expected the selection to fail');
}

describe('parseFilter', () => {
  it.each([
    ['@fx/base', { name: '@fx/base' }],
    ['@fx/*', { name: '@fx/*' }],
    ['base', { name: 'base' }],
    ['./packages/base', { dir: './packages/base' }],
    ['.', { dir: '.' }],
    ['{packages/base}', { dir: 'packages/base' }],
    ['[main]', { gitRef: 'main' }],
    ['[main...feature]', { gitRef: 'main...feature' }],
    ['...[origin/main]', { gitRef: 'origin/main', withDependents: true }],
    ['[HEAD~1]...', { gitRef: 'HEAD~1', withDependencies: true }],
    ['@fx/top...', { name: '@fx/top', withDependencies: true, excludeSelf: false }],
    ['...@fx/base', { name: '@fx/base', withDependents: true, excludeSelf: false }],
    ['@fx/top^...', { name: '@fx/top', withDependencies: true, excludeSelf: true }],
    ['...^@fx/base', { name: '@fx/base', withDependents: true, excludeSelf: true }],
    ['!@fx/solo', { name: '@fx/solo', exclude: true }],
    ['!...@fx/base', { name: '@fx/base', exclude: true, withDependents: true }],
    ['@fx/*[main]', { name: '@fx/*', gitRef: 'main' }],
    ['{packages/*}[HEAD~1]', { dir: 'packages/*', gitRef: 'HEAD~1' }],
    ['./packages/c1[HEAD]', { dir: './packages/c1', gitRef: 'HEAD' }],
  ])('%s', (raw, expected) => {
    expect(parseFilter(raw)).toMatchObject(expected);
  });

  it.each(['', '   ', '!', '...', '...^', '@fx/base..', '....@fx/base', '@fx/[base', '[main', '[]', '{packages', '{}', 'a b', '[-x]', '[a b]', '@fx/ba^se', '.hidden', '@fx/base...x', '@fx/base]', 'name{x}', '@fx/', 'a..b'])(
    'rejects %j as a usage error (exit 2)',
    (raw) => {
      let error: BuildSystemError | undefined;
      try {
        parseFilter(raw);
      } catch (e) {
        error = e as BuildSystemError;
      }
      expect(error?.code).toBe('USAGE');
      expect(error?.exitCode).toBe(2);
      expect(error?.message).toContain('--filter');
    },
  );
});

describe.each(['npm', 'pnpm'] as const)('selection in a %s-style workspace', (style) => {
  let fx: Fixture;
  beforeAll(() => {
    fx = workspaceFixture(style, SPEC);
    fixtures.push(fx);
  });
  const at = (extra: SelectOptions = {}) => ({ cwd: fx.root, ...extra });

  it('at the root: every package with a build config, dependencies first', () => {
    const sel = selectPackages(at());
    const order = sel.packages.map((p) => p.name);
    expect(order.map((n) => n.replace('@fx/', '')).sort()).toEqual(['app', 'base', 'c1', 'c2', 'c3', 'left', 'right', 'solo', 'top']);
    // Every edge is respected in the order, for all four dependency fields.
    for (const [name, deps] of sel.dependencies) for (const d of deps) expect(order.indexOf(d), `${d} before ${name}`).toBeLessThan(order.indexOf(name));
    expect(sel.dependencies.get(scoped('right'))).toEqual([scoped('base')]);
    expect(sel.dependencies.get(scoped('c2'))).toEqual([scoped('c1')]);
    expect(sel.dependencies.get(scoped('c3'))).toEqual([scoped('c2')]);
    // app waits for base through tool, which is not built.
    expect(sel.dependencies.get(scoped('app'))).toEqual([scoped('base')]);
  });

  it('positional names and the package dir keep their meaning: the package and its dependencies', () => {
    expect(names(at({ packages: [scoped('top')] }))).toEqual(['base', 'left', 'right', 'top']);
    expect(names({ cwd: fx.path('packages/c3') })).toEqual(['c1', 'c2', 'c3']);
    expect(names(at({ packages: ['packages/c2'] }))).toEqual(['c1', 'c2']);
  });

  it('a name selects only that package; a glob selects the matching packages that take part', () => {
    expect(names(at({ filter: [scoped('top')] }))).toEqual(['top']);
    expect(names(at({ filter: ['@fx/c*'] }))).toEqual(['c1', 'c2', 'c3']);
    // tool matches the glob but has no config.
    expect(names(at({ filter: ['@fx/t*'] }))).toEqual(['top']);
    expect(names(at({ filter: ['*o*'] }))).toEqual(['solo', 'top']);
  });

  it('an unscoped name is accepted when it names exactly one scoped package', () => {
    expect(names(at({ filter: ['solo'] }))).toEqual(['solo']);
  });

  it('a package named exactly takes part even without a config, like a positional name', () => {
    expect(names(at({ filter: [scoped('tool')] }))).toEqual(['tool']);
  });

  it('name... adds its dependencies, ...name its dependents, ^ leaves the package itself out', () => {
    expect(names(at({ filter: ['@fx/top...'] }))).toEqual(['base', 'left', 'right', 'top']);
    expect(names(at({ filter: ['@fx/top^...'] }))).toEqual(['base', 'left', 'right']);
    // app depends on base through tool (tool itself is not built).
    expect(names(at({ filter: ['...@fx/base'] }))).toEqual(['app', 'base', 'left', 'right', 'top']);
    expect(names(at({ filter: ['...^@fx/base'] }))).toEqual(['app', 'left', 'right', 'top']);
    expect(names(at({ filter: ['...@fx/c2...'] }))).toEqual(['c1', 'c2', 'c3']);
  });

  it('directories: exact, globbed, braces, and a directory holding packages; relative to --cwd', () => {
    expect(names(at({ filter: ['./packages/left'] }))).toEqual(['left']);
    expect(names(at({ filter: ['./packages/c*'] }))).toEqual(['c1', 'c2', 'c3']);
    expect(names(at({ filter: ['{packages/solo}'] }))).toEqual(['solo']);
    expect(names(at({ filter: ['./packages'] }))).toEqual(['app', 'base', 'c1', 'c2', 'c3', 'left', 'right', 'solo', 'top']);
    expect(names({ cwd: fx.path('packages/top'), filter: ['../left'] })).toEqual(['left']);
    expect(names(at({ filter: ['./packages/left...'] }))).toEqual(['base', 'left']);
  });

  it('! removes from the filters, from positional names, and from what the cwd implies', () => {
    expect(names(at({ filter: ['!@fx/solo', '!@fx/c*'] }))).toEqual(['app', 'base', 'left', 'right', 'top']);
    expect(names(at({ filter: ['@fx/top...', '!@fx/base'] }))).toEqual(['left', 'right', 'top']);
    expect(names(at({ packages: [scoped('c3')], filter: ['!@fx/c1'] }))).toEqual(['c2', 'c3']);
    expect(names({ cwd: fx.path('packages/top'), filter: ['!@fx/base'] })).toEqual(['left', 'right', 'top']);
    expect(names(at({ filter: ['!...@fx/c1'] }))).toEqual(['app', 'base', 'left', 'right', 'solo', 'top']);
  });

  it('several filters are a union, and add to positional names', () => {
    expect(names(at({ filter: ['@fx/c1', '@fx/solo'] }))).toEqual(['c1', 'solo']);
    expect(names(at({ packages: [scoped('c2')], filter: ['@fx/solo'] }))).toEqual(['c1', 'c2', 'solo']);
  });

  it('--all adds packages without a config that have an inferable entry', () => {
    expect(names(at({ all: true }))).toEqual(['app', 'base', 'c1', 'c2', 'c3', 'left', 'right', 'solo', 'tool', 'top']);
    expect(names(at({ all: true, filter: ['@fx/t*'] }))).toEqual(['tool', 'top']);
    expect(selectPackages(at({ all: true })).dependencies.get(scoped('app'))).toEqual([scoped('tool')]);
  });

  it('an unknown package name or directory: PACKAGE_NOT_FOUND, exit 2, the known names listed', () => {
    const e = selectionError(at({ filter: ['@fx/nope'] }));
    expect(e.code).toBe('PACKAGE_NOT_FOUND');
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('unknown package "@fx/nope"');
    expect(e.message).toContain('@fx/base');
    expect(selectionError(at({ filter: ['!@fx/nope'] })).code).toBe('PACKAGE_NOT_FOUND');
    expect(selectionError(at({ filter: ['./packages/nope'] })).message).toContain('no workspace package at or below packages/nope');
    expect(selectionError(at({ packages: ['@fx/nope'] })).message).toContain('unknown package "@fx/nope"');
  });

  it('an empty selection is a usage error that says what matched and why nothing is left', () => {
    const none = selectionError(at({ filter: ['@nothing/*'] }));
    expect(none.code).toBe('USAGE');
    expect(none.exitCode).toBe(2);
    expect(none.message).toBe('nothing to build: no package matches --filter @nothing/*');
    const excluded = selectionError(at({ filter: ['@fx/solo', '!@fx/solo'] }));
    expect(excluded.message).toContain('nothing to build');
    const unconfigured = selectionError(at({ filter: ['@fx/bare^...', '...^@fx/top'] }));
    expect(unconfigured.message).toContain('nothing to build');
    // tool matches but takes part only with --all: the message says so.
    const hint = selectionError(at({ filter: ['@fx/too*'] }));
    expect(hint.message).toContain('@fx/tool matched, but none has a build.config.* (pass --all');
  });

  if (style === 'pnpm') {
    it('a negated glob in pnpm-workspace.yaml keeps a package out of the workspace', () => {
      expect(selectionError(at({ filter: ['@fx/ignored'] })).code).toBe('PACKAGE_NOT_FOUND');
    });
  }
});

describe('[ref]: packages changed in git', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = workspaceFixture('npm', SPEC);
    fixtures.push(fx);
    initGit(fx);
  });
  const at = (filter: string[]) => ({ cwd: fx.root, filter });

  it('no change since HEAD: nothing to build (exit 2)', () => {
    const e = selectionError(at(['[HEAD]']));
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('nothing to build: no package matches --filter [HEAD]');
  });

  it('uncommitted and untracked files count; ...[ref] adds dependents, [ref]... dependencies', () => {
    fx.write({ 'packages/c1/src/index.ts': `export const name = 'changed';\n`, 'packages/solo/src/extra.ts': 'export {};\n', 'README.md': '# root files belong to no package\n' });
    expect(names(at(['[HEAD]']))).toEqual(['c1', 'solo']);
    expect(names(at(['...[HEAD]']))).toEqual(['c1', 'c2', 'c3', 'solo']);
    expect(names(at(['[HEAD]...']))).toEqual(['c1', 'solo']);
    expect(names(at(['@fx/c*[HEAD]']))).toEqual(['c1']);
    expect(names(at(['{packages/solo}[HEAD]']))).toEqual(['solo']);
    expect(names(at(['...[HEAD]', '!@fx/c3']))).toEqual(['c1', 'c2', 'solo']);
    git(fx.root, 'add', '-A');
    git(fx.root, 'commit', '-q', '-m', 'c1 and solo');
  });

  it('commits on a branch since the merge base with a ref, and explicit ranges', () => {
    git(fx.root, 'checkout', '-q', '-b', 'feature');
    fx.write({ 'packages/left/src/index.ts': `export const name = 'left v2';\n` });
    git(fx.root, 'commit', '-q', '-am', 'left');
    // main moves on after the branch point: its changes must not count for [main] (merge-base diff).
    git(fx.root, 'checkout', '-q', 'main');
    fx.write({ 'packages/c3/src/index.ts': `export const name = 'c3 on main';\n` });
    git(fx.root, 'commit', '-q', '-am', 'c3 on main');
    git(fx.root, 'checkout', '-q', 'feature');
    expect(names(at(['[main]']))).toEqual(['left']);
    expect(names(at(['...[main]']))).toEqual(['left', 'top']);
    expect(names(at(['[main]...']))).toEqual(['base', 'left']);
    expect(names(at(['[HEAD~2]']))).toEqual(['c1', 'left', 'solo']);
    // A working-tree edit counts for [ref], not for an explicit range.
    fx.write({ 'packages/right/src/index.ts': `export const name = 'right, uncommitted';\n` });
    expect(names(at(['[main]']))).toEqual(['left', 'right']);
    expect(names(at(['[main...feature]']))).toEqual(['left']);
    // A deleted file still belongs to its package.
    git(fx.root, 'rm', '-q', 'packages/solo/src/extra.ts');
    expect(names(at(['[HEAD]']))).toEqual(['right', 'solo']);
  });

  it('a ref git does not know: usage error with git\'s message', () => {
    const e = selectionError(at(['[no-such-branch]']));
    expect(e.code).toBe('USAGE');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/--filter "\[no-such-branch\]": git diff .*no-such-branch/);
  });

  it('outside a git repository: usage error', () => {
    const plain = workspaceFixture('npm', { a: {} });
    fixtures.push(plain);
    const e = selectionError({ cwd: plain.root, filter: ['[HEAD]'] });
    expect(e.code).toBe('USAGE');
    expect(e.message).toContain('git rev-parse');
  });
});

describe('cycles', () => {
  let fx: Fixture;
  beforeAll(() => {
    fx = workspaceFixture('npm', { x: { deps: ['y'] }, y: { deps: ['z'] }, z: { deps: ['x'] }, solo: {}, uses: { deps: ['y'] } });
    fixtures.push(fx);
  });

  it('a cycle the selection reaches is an error that prints it (exit 2)', () => {
    const e = selectionError({ cwd: fx.root });
    expect(e.code).toBe('WORKSPACE_CYCLE');
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^dependency cycle: (@fx\/x → @fx\/y → @fx\/z → @fx\/x|@fx\/y → @fx\/z → @fx\/x → @fx\/y|@fx\/z → @fx\/x → @fx\/y → @fx\/z) \(nothing was built\)$/);
    expect(selectionError({ cwd: fx.root, filter: ['@fx/uses'] }).code).toBe('WORKSPACE_CYCLE');
  });

  it('a cycle the selection does not reach does not stop it', () => {
    expect(names({ cwd: fx.root, filter: ['@fx/solo'] })).toEqual(['solo']);
  });
});
