import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInside, isStrictlyInside } from '../src/util/paths.js';

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
