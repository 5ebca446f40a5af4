import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ISOLATED_EMITTER_MISSING, runHints } from '../src/result/run-hints.js';
import { ReadLog } from '../src/util/read-log.js';
import { rootInstallCommand, type PackageInfo } from '../src/workspace/package-info.js';
import type { BuildResult, Diagnostic } from '../src/result/schema.js';
import { cliPath, createFixture, repoRoot, type Fixture } from './helpers/fixture.js';
import { startProcess } from './helpers/procs.js';
import { cliRun } from './helpers/workspace.js';

/**
 * Hints about the workspace (result/run-hints.ts): each package's result keeps
 * its own as an info diagnostic, a person is told once per run with the
 * packages named. The one there is today: isolatedDeclarations on and
 * oxc-transform not installed, so TypeScript's program emits declarations the
 * per-file path would emit in milliseconds (adapters/isolated-dts.ts).
 */

const fixtures: Fixture[] = [];
afterAll(() => fixtures.forEach((f) => f.cleanup()));

const result = (name: string, diagnostics: Diagnostic[]) => ({ package: { name, dir: `/ws/${name}` }, diagnostics }) as unknown as BuildResult;
const hint = (message: string): Diagnostic => ({ severity: 'info', code: ISOLATED_EMITTER_MISSING, message });

describe('run hints', () => {
  it('one line per distinct hint, naming its packages (three, then how many more); other diagnostics are not hints', () => {
    const results = [
      result('a', [hint('install x'), { severity: 'warning', code: ISOLATED_EMITTER_MISSING, message: 'a warning' }, { severity: 'info', code: 'TS6059', message: 'a tool note' }]),
      result('b', [hint('install x'), hint('install x')]),
      result('c', [hint('install y')]),
      result('d', [hint('install x')]),
      result('e', [hint('install x')]),
      result('f', []),
    ];
    expect(runHints(results)).toEqual(['install x (a, b, d and 1 more)', 'install y (c)']);
    expect(runHints(results.slice(0, 2))).toEqual(['install x (a, b)']);
    expect(runHints([result('f', [])])).toEqual([]);
  });

  it('the install command is the workspace root\'s, for each package manager (Yarn 1 asks for -W there, Yarn 2+ has no such flag)', () => {
    const fx = createFixture({ 'package.json': { name: 'root', private: true }, 'packages/a/package.json': { name: '@h/a' } });
    fixtures.push(fx);
    const pkg = (packageManager: PackageInfo['packageManager'], dir = fx.path('packages/a')) => ({ name: '@h/a', dir, workspaceRoot: fx.root, packageManager }) as PackageInfo;
    expect(rootInstallCommand(pkg('npm'), 'oxc-transform', new ReadLog())).toBe('npm install -D oxc-transform');
    expect(rootInstallCommand(pkg('pnpm'), 'oxc-transform', new ReadLog())).toBe('pnpm add -D -w oxc-transform');
    expect(rootInstallCommand(pkg('pnpm', fx.root), 'oxc-transform', new ReadLog())).toBe('pnpm add -D oxc-transform');
    expect(rootInstallCommand(pkg('bun'), 'oxc-transform', new ReadLog())).toBe('bun add -d oxc-transform');
    expect(rootInstallCommand(pkg('yarn'), 'oxc-transform', new ReadLog())).toBe('yarn add -D -W oxc-transform');
    fx.write({ '.yarnrc.yml': 'nodeLinker: pnp\n' });
    expect(rootInstallCommand(pkg('yarn'), 'oxc-transform', new ReadLog())).toBe('yarn add -D oxc-transform');
  });

  it('the CLI says it once per run, the replayed no-op the same, and installing oxc-transform ends it (a miss: the key holds the emitter)', { timeout: 120_000 }, async () => {
    const tsconfig = { compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, declaration: true, skipLibCheck: true, types: [], isolatedDeclarations: true }, include: ['src'] };
    const pkg = (name: string) => ({
      [`packages/${name}/package.json`]: { name: `@h/${name}`, version: '1.0.0', type: 'module', exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } } },
      [`packages/${name}/build.config.ts`]: `export default { adapter: 'esbuild', format: 'esm', dts: true };\n`,
      [`packages/${name}/tsconfig.json`]: tsconfig,
      [`packages/${name}/src/index.ts`]: `export const ${name}: number = 1;\n`,
    });
    const fx = createFixture({ 'package.json': { name: 'hints-ws', private: true, workspaces: ['packages/*'] }, ...pkg('a'), ...pkg('b') });
    fixtures.push(fx);
    mkdirSync(fx.path('node_modules'));
    symlinkSync(path.join(repoRoot, 'node_modules/typescript'), fx.path('node_modules/typescript'), 'dir');
    const build = async () => {
      const run = await cliRun(['build'], { cwd: fx.root, env: { BUILD_SYSTEM_NO_FAST_PATH: undefined, BUILD_SYSTEM_CACHE_DIR: undefined, BUILD_SYSTEM_DEBUG_NOOP: '1' } });
      expect(run.code, run.stderr).toBe(0);
      return { ...run, hints: run.stderr.split('\n').filter((l) => l.startsWith('hint: ')), replayed: run.stderr.includes('no-op record: replayed') };
    };

    const first = await build();
    expect(first.hints).toEqual([
      'hint: isolatedDeclarations is on but oxc-transform is not installed, so TypeScript\'s program emitted the declarations: install it at the workspace root (npm install -D oxc-transform) and they are emitted per file in milliseconds, without a type check (@h/a, @h/b)',
    ]);
    const again = await build();
    expect(again.replayed).toBe(true);
    expect(again.hints).toEqual(first.hints);

    // watch: once, after the initial build (not per round). Stopped with SIGINT once its first round is printed.
    const watch = startProcess(process.execPath, [cliPath, 'watch'], { cwd: fx.root, env: { FORCE_COLOR: undefined, NO_COLOR: '1' } });
    await watch.stderrIncludes('hint: ', 60_000);
    await new Promise((r) => setTimeout(r, 200));
    watch.child.kill('SIGINT');
    await watch.exited;
    expect(watch.stdout()).toContain('initial build: 2 packages');
    expect(watch.stderr().split('\n').filter((l) => l.startsWith('hint: '))).toEqual(first.hints);

    symlinkSync(path.join(repoRoot, 'node_modules/oxc-transform'), fx.path('node_modules/oxc-transform'), 'dir');
    const installed = await build();
    expect(installed.replayed).toBe(false);
    expect(installed.stdout).not.toContain('cache hit');
    expect(installed.hints).toEqual([]);
    // The per-file emitter wrote them: oxc indents with tabs where TypeScript uses spaces (isolated-dts.test.ts).
    expect(fx.read('packages/a/dist/index.d.ts')).toContain('export declare const a: number;');
  });
});
