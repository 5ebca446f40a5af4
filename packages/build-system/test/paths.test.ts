import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isInside, isStrictlyInside, nearestAncestor, relativeFile, resolverFrom, toPosix } from '../src/util/paths.js';

/** util/paths.ts: containment is lexical, and a name that starts with two dots is a name, not a step up. */
describe('isInside / isStrictlyInside', () => {
  const pkg = path.resolve('/ws/packages/a');
  it('a directory holds itself (isInside only) and what is below it, names starting with ".." included', () => {
    expect(isInside(pkg, pkg)).toBe(true);
    expect(isStrictlyInside(pkg, pkg)).toBe(false);
    for (const child of ['src/x.ts', '..cache/x', '...', '..d.ts']) {
      expect(isInside(pkg, path.join(pkg, child))).toBe(true);
      expect(isStrictlyInside(pkg, path.join(pkg, child))).toBe(true);
    }
  });
  it('nothing above it or beside it', () => {
    for (const other of ['/ws/packages', '/ws/packages/b/x.ts', '/ws/packages/a-b', '/elsewhere']) {
      expect(isInside(pkg, path.resolve(other))).toBe(false);
      expect(isStrictlyInside(pkg, path.resolve(other))).toBe(false);
    }
  });
});

describe('nearestAncestor', () => {
  it('the value of the path itself or its nearest ancestor that has one; none above the root', () => {
    const roots = new Map([[path.resolve('/w/a/dist'), 'a'], [path.resolve('/w/a/dist/esm'), 'a-esm']]);
    const lookup = (dir: string) => roots.get(dir);
    expect(nearestAncestor(path.resolve('/w/a/dist/x/y.js'), lookup)).toBe('a');
    expect(nearestAncestor(path.resolve('/w/a/dist/esm/i.js'), lookup)).toBe('a-esm');
    expect(nearestAncestor(path.resolve('/w/a/dist'), lookup)).toBe('a');
    expect(nearestAncestor(path.resolve('/w/a/distant/i.js'), lookup)).toBeUndefined();
    expect(nearestAncestor(path.resolve('/'), lookup)).toBeUndefined();
  });
});

describe('resolverFrom', () => {
  it('gives what path.resolve gives, for every shape a recorded read can take, asked twice', () => {
    const shapes = ['a', 'src/a.ts', '../b/dist/x.d.ts', '../../node_modules/@t/x', '/abs/x', '/x', './a', 'a/./b', 'a//b', '..', '.', '../', 'x/..', 'a/../../c', '..x/y', 'src/', '', '/', 'a\\..'];
    for (const base of [path.resolve('/ws/packages/a'), path.resolve('/')]) {
      const resolve = resolverFrom(base);
      for (const round of [1, 2]) for (const rel of shapes) expect([round, rel, resolve(rel)]).toEqual([round, rel, path.resolve(base, rel)]);
    }
  });
});

describe('relativeFile', () => {
  it('gives what path.relative from the cwd gives, for every shape of directory and file', () => {
    const froms = ['/ws', '/ws/packages', '/', '/ws/'];
    const dirs = ['/ws', '/ws/packages/a', '/ws/packages/a/', '/ws-b/x', '/wsx', '/ws/./a', '/ws/a/../b', '/ws//a', '/elsewhere', '/ws/..a/b', '/ws/a\\b', '/'];
    const files = ['package.json', 'src/a.ts', '.env', '..d.ts', '...', './x', '../x', 'a/../b', 'a/./b', 'a//b', '/abs/x', 'src/', '', '.', '..', 'a\\..'];
    for (const from of froms)
      for (const dir of dirs)
        for (const file of files) {
          const expected = toPosix(path.relative(from, path.resolve(dir, file)));
          expect([from, dir, file, relativeFile(from, dir, file)]).toEqual([from, dir, file, expected]);
        }
  });
  it.runIf(path.sep === '/')('a plain file in a directory below the cwd is a slice: path.relative is not called', () => {
    const relative = vi.spyOn(path, 'relative');
    try {
      expect(relativeFile('/ws', '/ws/packages/a', 'package.json')).toBe('packages/a/package.json');
      expect(relativeFile('/ws', '/ws', 'src/a.ts')).toBe('src/a.ts');
      expect(relative).not.toHaveBeenCalled();
      expect(relativeFile('/ws', '/ws/a/../b', 'x')).toBe('b/x');
      expect(relative).toHaveBeenCalledTimes(1);
    } finally {
      relative.mockRestore();
    }
  });
});
