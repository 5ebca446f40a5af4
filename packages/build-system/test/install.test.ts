/**
 * build-system as a user gets it (issue 11): `npm pack`, then the tarball installed into fresh
 * projects by npm, pnpm, yarn (node-modules linker and PnP), yarn classic and bun, each running
 * every command through its own runner. Also: attw and publint on the tarball, the licences of
 * what the CLI bundles, the API imported from `node -e`, an ES module, a CommonJS module and a
 * host that bundled it, and `build-system/nest` inside a Nest app of the user's own.
 *
 * Needs the npm registry (the package managers and the tarball's dependencies come from it).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot, repoRoot } from './helpers/fixture.js';
import {
  cleanEnv,
  complaints,
  installTools,
  npmRegistry,
  packageManagers,
  readJson,
  run,
  workspaceFiles,
  writeTree,
  type PackageManager,
  type PackageManagerId,
  type Run,
} from './helpers/package-managers.js';

const manifest = readJson<{ version: string; devDependencies: Record<string, string> }>(path.join(packageRoot, 'package.json'));
const runDir = mkdtempSync(path.join(tmpdir(), 'bs-install-'));
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

let registry = '';
let tarballName = '';
let tarball = '';
/** The tarball's files, unpacked (npm pack's `package/` directory). */
let unpacked = '';
let managers: PackageManager[] = [];
const installs = new Map<PackageManagerId, Run>();
let nestHost = '';
let nestHostInstall: Run;

const projectDir = (id: string) => path.join(runDir, id);

beforeAll(async () => {
  registry = await npmRegistry();
  // The tarball of what `npm test` just built, named by its content so that no package manager
  // can serve an older one from its cache.
  const packDir = path.join(runDir, 'pack');
  mkdirSync(packDir);
  const packed = await run('npm', ['pack', '--pack-destination', packDir, packageRoot], { cwd: packageRoot, env: cleanEnv(registry) });
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.output}`);
  const built = path.join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
  tarballName = `build-system-${createHash('sha256').update(readFileSync(built)).digest('hex').slice(0, 12)}.tgz`;
  tarball = path.join(runDir, tarballName);
  copyFileSync(built, tarball);
  execFileSync('tar', ['-xzf', tarball, '-C', packDir]);
  unpacked = path.join(packDir, 'package');

  const tools = await installTools(registry);
  managers = packageManagers(tools, runDir);
  for (const pm of managers) {
    writeTree(projectDir(pm.id), workspaceFiles(pm, registry, tarballName));
    copyFileSync(tarball, path.join(projectDir(pm.id), tarballName));
  }

  // A Nest app of the user's own that embeds build-system's commands (build-system/nest), with
  // the Nest versions build-system is developed against.
  nestHost = projectDir('nest-host');
  const nestDeps = Object.fromEntries(['@nestjs/common', '@nestjs/core', 'nest-commander', 'reflect-metadata', 'rxjs'].map((n) => [n, manifest.devDependencies[n]!]));
  writeTree(nestHost, {
    'package.json': `${JSON.stringify({ name: 'nest-host', version: '1.0.0', private: true, type: 'module', exports: './dist/index.js', dependencies: { ...nestDeps, 'build-system': `file:./${tarballName}` } }, null, 2)}\n`,
    'build.config.ts': `import { defineConfig } from 'build-system';\n\nexport default defineConfig({ adapter: 'esbuild' });\n`,
    'src/index.ts': `export const hosted: string = 'by nest';\n`,
    'app.mjs': [
      "import 'reflect-metadata';",
      "import { Module } from '@nestjs/common';",
      "import { CommandFactory } from 'nest-commander';",
      "import { BuildSystemModule } from 'build-system/nest';",
      'class AppModule {}',
      'Module({ imports: [BuildSystemModule] })(AppModule);',
      "await CommandFactory.run(AppModule, { logger: false, cliName: 'app' });",
      '',
    ].join('\n'),
    'app.cjs': String.raw`require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { CommandFactory } = require('nest-commander');
const { BuildSystemModule } = require('build-system/nest');
class AppModule {}
Module({ imports: [BuildSystemModule] })(AppModule);
CommandFactory.run(AppModule, { logger: false, cliName: 'app' }).then(() => {
  // Where the @nestjs/core that ran was loaded from.
  const core = /[\\/]@nestjs[\\/]core[\\/]/;
  const roots = new Set(Object.keys(require.cache).filter((f) => core.test(f)).map((f) => f.slice(0, f.search(core))));
  process.stderr.write('nest core loaded from ' + JSON.stringify([...roots]) + '\n');
});
`,
  });
  copyFileSync(tarball, path.join(nestHost, tarballName));

  // Every install at once: they wait on the network and the disk more than on the CPU.
  await Promise.all([
    ...managers.map(async (pm) => installs.set(pm.id, await run(pm.install[0], pm.install[1], { cwd: projectDir(pm.id), env: pm.env(registry) }))),
    (async () => {
      nestHostInstall = await run('npm', ['install'], { cwd: nestHost, env: managers.find((m) => m.id === 'npm')!.env(registry) });
    })(),
  ]);
}, 900_000);

// The tarball's checks, the package managers' runs and the Nest app each use their own
// directory (and only read the tarball): they run at once. The API tests come after, alone:
// they build in npm's project, which the npm run uses until it ends.
describe.concurrent('the packed tarball', () => {
  it('has no problems for attw and publint', async () => {
    const attw = await run(path.join(repoRoot, 'node_modules/.bin/attw'), [tarball, '--format', 'ascii'], { cwd: runDir, env: cleanEnv(registry) });
    expect(attw.code, attw.output).toBe(0);
    expect(attw.stdout).toContain('No problems found');
    // --pack false: lint the tarball's own files, exactly as published.
    const publint = await run(path.join(repoRoot, 'node_modules/.bin/publint'), [unpacked, '--pack', 'false'], { cwd: runDir, env: cleanEnv(registry) });
    expect(publint.code, publint.output).toBe(0);
    // Errors fail the exit code; warnings and suggestions are problems too.
    expect(publint.stdout, publint.output).toContain('All good!');
  });

  it('depends on no Nest at run time, and ships the licence of everything its CLI bundles', () => {
    const pkg = readJson<Record<string, Record<string, string> | undefined>>(path.join(unpacked, 'package.json'));
    expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual(['picomatch', 'zod']);
    expect(Object.keys(pkg.optionalDependencies ?? {}).every((n) => n.startsWith('@esbuild/'))).toBe(true);
    for (const nest of ['@nestjs/common', '@nestjs/core', 'nest-commander', 'reflect-metadata']) expect(pkg.peerDependenciesMeta?.[nest]).toEqual({ optional: true });
    // Every package whose code is in the CLI chunks: esbuild heads each bundled module with a
    // `// <path of the input file>` comment.
    const chunks = path.join(unpacked, 'dist/cli-chunks');
    const bundled = new Set<string>();
    for (const chunk of readdirSync(chunks).filter((f) => f.endsWith('.js'))) {
      for (const m of readFileSync(path.join(chunks, chunk), 'utf8').matchAll(/^\/\/ \S*node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//gm)) bundled.add(m[1]!);
    }
    expect([...bundled]).toEqual(expect.arrayContaining(['@nestjs/core', '@nestjs/common', 'nest-commander', 'rxjs', 'zod']));
    const licences = readFileSync(path.join(unpacked, 'dist/THIRD_PARTY_LICENSES.md'), 'utf8');
    const listed = new Set([...licences.matchAll(/^- (@?[^@\s]+)@/gm)].map((m) => m[1]));
    expect([...bundled].filter((n) => !listed.has(n))).toEqual([]);
    expect(listed.has('esbuild')).toBe(true);
    expect(licences).toMatch(/## rxjs@[\d.]+ \(Apache-2\.0\)\n\n\s*Apache License/);
    // The stubs stand in for what nest-commander would load for prompts, plugins and completion.
    expect([...bundled].filter((n) => ['inquirer', 'cosmiconfig', '@fig/complete-commander', 'lodash', 'prettier'].includes(n))).toEqual([]);
  });
});

describe.concurrent('installed and run by each package manager', () => {
  const ids: PackageManagerId[] = ['npm', 'pnpm', 'yarn-node-modules', 'yarn-pnp', 'yarn-classic', 'bun'];
  it.each(ids)('%s: installs quietly and runs every command', async (id) => {
    const pm = managers.find((m) => m.id === id)!;
    const dir = projectDir(id);
    const install = installs.get(id)!;
    expect(install.code, install.output).toBe(0);
    expect(complaints(install.output, pm.expectedNotes), install.output).toEqual([]);

    const env = { ...pm.env(registry), XDG_CACHE_HOME: path.join(dir, '.xdg-cache') };
    const cli = (...args: string[]) => {
      const [cmd, argv] = pm.bin(args);
      return run(cmd, argv, { cwd: dir, env });
    };
    const ok = (r: Run, what: string) => expect(r.code, `${id}: build-system ${what}\n${r.output}`).toBe(0);
    const nodeOut = (args: string[]) => execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env }).trim();

    // The six commands of the issue, each through the manager's runner (a yarn run alone costs
    // ~1 s of CPU, so extras run for npm only). All but `build` go through the Nest CLI, bundled.
    const help = await cli('--help');
    ok(help, '--help');
    for (const command of ['build:package|build', 'build:list|list', 'build:clean|clean', 'build:graph|graph', 'cache [subcommand]']) expect(help.stdout).toContain(command);

    const built = await cli('build');
    ok(built, 'build');
    expect(built.stdout).toMatch(/3 packages: 3 built, 0 failed/);
    expect(nodeOut(['packages/app/dist/cli.js', 'world'])).toBe('HELLO WORLD!');
    expect(nodeOut(['-e', "console.log(require('./packages/legacy/dist/index.js').add(2, 3))"])).toBe('5');
    expect(nodeOut(['--input-type=module', '-e', "import { shout } from './packages/util/dist/index.js'; console.log(shout('esm'))"])).toBe('ESM!');

    const list = await cli('list', '--json');
    ok(list, 'list --json');
    const listed = JSON.parse(list.stdout) as { packages: { name: string; chosen: string; available: boolean; dependencies: string[]; cache: { wouldHit: boolean } }[] };
    expect(listed.packages.map((p) => [p.name, p.chosen, p.available, p.dependencies, p.cache.wouldHit])).toEqual([
      ['@acme/util', 'esbuild', true, [], true],
      ['@acme/app', 'esbuild', true, ['@acme/util'], true],
      ['@acme/legacy', 'esbuild', true, [], true],
    ]);

    const graph = await cli('graph', '--format', 'json');
    ok(graph, 'graph --format json');
    expect((JSON.parse(graph.stdout) as { edges: unknown[] }).edges).toEqual([{ from: '@acme/util', to: '@acme/app' }]);

    const cacheInfo = await cli('cache', 'info');
    ok(cacheInfo, 'cache info');
    expect(cacheInfo.stdout).toMatch(/node_modules[\\/]\.cache[\\/]build-system: 3 entries/);

    const cleaned = await cli('clean');
    ok(cleaned, 'clean');
    for (const p of ['util', 'legacy', 'app']) expect(existsSync(path.join(dir, 'packages', p, 'dist')), `packages/${p}/dist after clean`).toBe(false);

    if (id === 'bun') {
      // The same install run by the Bun runtime instead of Node (bun --bun ignores the bin's node
      // shebang). The runtime is part of the cache key, so this builds afresh.
      const [bun, bunArgs] = pm.bin(['build']);
      const underBun = await run(bun, ['--bun', ...bunArgs], { cwd: dir, env });
      ok(underBun, 'build under bun --bun');
      expect(underBun.stdout).toMatch(/3 packages: 3 built, 0 failed/);
      expect(nodeOut(['packages/app/dist/cli.js', 'bun'])).toBe('HELLO BUN!');
    }
    if (id !== 'npm') return;
    const version = await cli('--version');
    ok(version, '--version');
    expect(version.stdout).toBe(`${manifest.version}\n`);
    const restored = await cli('build', '--json');
    ok(restored, 'build --json after clean');
    const runResult = JSON.parse(restored.stdout) as { ok: boolean; results: { package: { name: string }; status: string; cache: { status: string; restored: boolean } }[] };
    expect(runResult.results.map((r) => [r.package.name, r.status, r.cache.status, r.cache.restored]).sort()).toEqual([
      ['@acme/app', 'success', 'hit', true],
      ['@acme/legacy', 'success', 'hit', true],
      ['@acme/util', 'success', 'hit', true],
    ]);
    expect(nodeOut(['packages/app/dist/cli.js', 'again'])).toBe('HELLO AGAIN!');
  }, 300_000);
});

describe.concurrent('build-system/nest in a Nest app of the user', () => {
  it('installs beside the app’s own Nest without a warning and runs the commands with it', async () => {
    expect(nestHostInstall.code, nestHostInstall.output).toBe(0);
    expect(complaints(nestHostInstall.output), nestHostInstall.output).toEqual([]);
    // One Nest in the project: build-system brings none of its own.
    const ls = await run('npm', ['ls', '--all', '--parseable', '@nestjs/core', '@nestjs/common'], { cwd: nestHost, env: cleanEnv(registry) });
    expect(ls.code, ls.output).toBe(0);
    expect(ls.stdout.trim().split('\n').map((l) => path.relative(nestHost, l)).sort()).toEqual(['node_modules/@nestjs/common', 'node_modules/@nestjs/core']);

    const esm = await run(process.execPath, ['app.mjs', 'build'], { cwd: nestHost, env: cleanEnv(registry) });
    expect(esm.code, esm.output).toBe(0);
    expect(esm.stdout).toMatch(/nest-host: ✔ built with esbuild/);
    expect((await import(path.join(nestHost, 'dist/index.js'))).hosted).toBe('by nest');
    const cjs = await run(process.execPath, ['app.cjs', 'list', '--json'], { cwd: nestHost, env: cleanEnv(registry) });
    expect(cjs.code, cjs.output).toBe(0);
    expect((JSON.parse(cjs.stdout) as { packages: { name: string; cache: { wouldHit: boolean } }[] }).packages.map((p) => [p.name, p.cache.wouldHit])).toEqual([['nest-host', true]]);
    expect(cjs.stderr).toContain(`nest core loaded from ${JSON.stringify([path.join(nestHost, 'node_modules')])}`);
  });
});

describe('the API imported by a user', () => {
  const npmProject = () => projectDir('npm');
  /** A build and a list through the API (bound as `api`), printed as one line of JSON. */
  const apiBody = (dir: string) =>
    `const run = await api.build({ cwd: ${JSON.stringify(dir)}, force: true });\n` +
    `const listed = await api.list({ cwd: ${JSON.stringify(dir)} });\n` +
    `console.log(JSON.stringify({ ok: run.ok, built: run.results.map((r) => r.package.name + ':' + r.status).sort(), adapters: listed.map((p) => p.chosen) }));\n`;
  const expected = { ok: true, built: ['@acme/app:success', '@acme/legacy:success', '@acme/util:success'], adapters: ['esbuild', 'esbuild', 'esbuild'] };
  const runNode = async (args: string[], cwd: string) => {
    const r = await run(process.execPath, args, { cwd, env: cleanEnv(registry) });
    expect(r.code, r.output).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  };

  it('from node -e, an ES module and a CommonJS module', async () => {
    expect(installs.get('npm')?.code).toBe(0);
    const dir = npmProject();
    writeTree(dir, {
      'hosts/esm-host.mjs': `import * as api from 'build-system';\n${apiBody(dir)}`,
      'hosts/cjs-host.cjs': `const api = require('build-system');\n(async () => {\n${apiBody(dir)}})();\n`,
    });
    // `node -e` evaluates CommonJS: there is a global __dirname ('.') that is not build-system's.
    expect(await runNode(['-e', `import('build-system').then(async (api) => {\n${apiBody(dir)}});`], dir)).toEqual(expected);
    expect(await runNode(['--input-type=module', '-e', `import * as api from 'build-system';\n${apiBody(dir)}`], dir)).toEqual(expected);
    expect(await runNode(['hosts/esm-host.mjs'], dir)).toEqual(expected);
    expect(await runNode(['hosts/cjs-host.cjs'], dir)).toEqual(expected);
  });

  it('bundled by esbuild into a host of its own, ESM and CommonJS', async () => {
    expect(installs.get('npm')?.code).toBe(0);
    const dir = npmProject();
    writeTree(dir, { 'hosts/bundled-src.mjs': `import * as api from 'build-system';\n(async () => {\n${apiBody(dir)}})();\n` });
    for (const format of ['esm', 'cjs'] as const) {
      const outfile = path.join(dir, `hosts/out/bundled-host.${format === 'esm' ? 'mjs' : 'cjs'}`);
      const result = await esbuild.build({
        entryPoints: [path.join(dir, 'hosts/bundled-src.mjs')],
        absWorkingDir: dir,
        outfile,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format,
        metafile: true,
        logLevel: 'silent',
        // The usual banner of an ESM bundle with CommonJS inside (picomatch): a require for Node builtins.
        banner: format === 'esm' ? { js: "import { createRequire as hostCreateRequire } from 'node:module'; const require = hostCreateRequire(import.meta.url);" } : {},
      });
      const inputs = Object.keys(result.metafile!.inputs);
      expect(inputs.some((f) => f.includes('node_modules/build-system/dist/'))).toBe(true);
      expect(inputs.some((f) => f.includes('node_modules/zod/'))).toBe(true);
      // Its code now lives in hosts/out: it finds esbuild through the build-system installed in the project.
      expect(await runNode([outfile], dir)).toEqual(expected);
    }
  });
});
