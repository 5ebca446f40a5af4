import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { statFields, statFieldsSource } from '../src/util/fast-stat.js';
import { createFixture, type Fixture } from './helpers/fixture.js';

/**
 * util/fast-stat.ts answers the caches' stat questions through Node's fs binding when it proves
 * itself: every answer must equal fs.statSync's, field by field, for each kind of path.
 */
const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

function expectSameAsStatSync(p: string): void {
  const st = statSync(p);
  expect(statFields(p)).toEqual({ size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, isDirectory: st.isDirectory(), isFile: st.isFile() });
}

describe('statFields', () => {
  it('uses the binding on Node (the replay measured it; falling back to fs.statSync is a speed loss this makes visible)', () => {
    expect(statFieldsSource()).toBe(process.versions.bun ? 'fs' : 'binding');
  });

  it('equals fs.statSync for a file, a directory, a symlink (followed), a file whose times were set, and after an edit', () => {
    const fx = createFixture({ 'src/a.ts': 'export const a = 1;\n' });
    fixtures.push(fx);
    expectSameAsStatSync(fx.path('src/a.ts'));
    expectSameAsStatSync(fx.path('src'));
    symlinkSync(fx.path('src/a.ts'), fx.path('link.ts'));
    expectSameAsStatSync(fx.path('link.ts'));
    // Fractional milliseconds, as a build's outputs have them.
    utimesSync(fx.path('src/a.ts'), 1_700_000_000.123456, 1_700_000_000.987654);
    expectSameAsStatSync(fx.path('src/a.ts'));
    writeFileSync(fx.path('src/a.ts'), 'export const a = 22;\n');
    expectSameAsStatSync(fx.path('src/a.ts'));
    mkdirSync(fx.path('empty'));
    expectSameAsStatSync(fx.path('empty'));
    // Neither a file nor a directory (a recorded read that became one is a change: cache/changed-reads.ts).
    execFileSync('mkfifo', [fx.path('pipe')]);
    expectSameAsStatSync(fx.path('pipe'));
    expect(statFields(fx.path('pipe'))).toMatchObject({ isFile: false, isDirectory: false });
  });

  it('is undefined for a missing path and throws as fs.statSync does when a parent is a file', () => {
    const fx = createFixture({ 'file.txt': 'x' });
    fixtures.push(fx);
    expect(statFields(fx.path('missing/deeper'))).toBeUndefined();
    expect(statFields(fx.path('missing'))).toBeUndefined();
    expect(() => statSync(fx.path('file.txt/child'))).toThrow(/ENOTDIR/);
    expect(() => statFields(fx.path('file.txt/child'))).toThrow(/ENOTDIR/);
  });
});

describe('statFields on a path fs.statSync refuses', () => {
  it('throws for a NUL byte as fs.statSync does (the binding alone would stat the path cut short)', () => {
    const fx = createFixture({ 'a.txt': 'x' });
    fixtures.push(fx);
    expect(() => statSync(`${fx.path('a.txt')}\0.ts`)).toThrow(/null bytes/);
    expect(() => statFields(`${fx.path('a.txt')}\0.ts`)).toThrow(/null bytes/);
  });
});
