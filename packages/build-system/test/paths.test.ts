import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInside, isStrictlyInside, resolverFrom } from '../src/util/paths.js';

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

describe('resolverFrom', () => {
  it('gives what path.resolve gives, for every shape a recorded read can take, asked twice', () => {
    const shapes = ['a', 'src/a.ts', '../b/dist/x.d.ts', '../../node_modules/@t/x', '/abs/x', '/x', './a', 'a/./b', 'a//b', '..', '.', '../', 'x/..', 'a/../../c', '..x/y', 'src/', '', '/', 'a\\..'];
    for (const base of [path.resolve('/ws/packages/a'), path.resolve('/')]) {
      const resolve = resolverFrom(base);
      for (const round of [1, 2]) for (const rel of shapes) expect([round, rel, resolve(rel)]).toEqual([round, rel, path.resolve(base, rel)]);
    }
  });
});
