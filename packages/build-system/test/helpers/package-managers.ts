/**
 * Real package managers for test/install.test.ts: each installs build-system's packed tarball
 * into a fresh project of its own and runs the `build-system` bin through its own runner.
 * pnpm and both yarns are installed from the npm registry into a cache dir kept between runs;
 * bun is the repo's devDependency.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './fixture.js';

/** The package manager versions the test installs (exact: a new release is a deliberate change here). */
export const TOOL_VERSIONS = { pnpm: '12.24.0', yarnBerry: '4.18.1', yarnClassic: '1.22.22' } as const;

/**
 * Downloads and stores of every package manager, kept between runs so that a second run does not
 * download again. Outside the repo: none of it belongs to a project under test.
 */
export const cacheRoot = path.join(tmpdir(), 'build-system-install-test-cache');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

/** Runs a command to completion (never throws for a non-zero exit), with a hard time limit. */
export function run(cmd: string, args: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      output += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
  });
}

/**
 * The environment every package manager and CLI run gets: this process's, without what `npm test`
 * and vitest put there (npm_config_* would point npm at this repo; node_modules/.bin on PATH would
 * put this repo's build-system and tools in front of the project's), and with the registry this
 * machine uses.
 */
export function cleanEnv(registry: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|init_cwd$|vitest|node_options$|build_system_|turbo_|yarn_|bun_|pnpm_|berry_)/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => p && !p.includes(`node_modules${path.sep}.bin`))
    .join(path.delimiter);
  env.npm_config_registry = registry;
  env.npm_config_update_notifier = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_audit = 'false';
  return { ...env, ...extra };
}

/** The registry npm is configured with here; yarn berry and bun default to hosts of their own. */
export async function npmRegistry(): Promise<string> {
  const r = await run('npm', ['config', 'get', 'registry'], { cwd: tmpdir(), env: cleanEnv('https://registry.npmjs.org/') });
  const url = r.stdout.trim();
  if (r.code !== 0 || !/^https?:\/\//.test(url)) throw new Error(`npm config get registry failed: ${r.output}`);
  return url.endsWith('/') ? url : `${url}/`;
}

export interface Tools {
  pnpm: string;
  yarnBerry: string;
  yarnClassic: string;
  bun: string;
}

/** Installs pnpm, yarn berry and yarn classic from the registry (pinned above) into cacheRoot/tools. */
export async function installTools(registry: string): Promise<Tools> {
  const dir = path.join(cacheRoot, `tools-${TOOL_VERSIONS.pnpm}-${TOOL_VERSIONS.yarnBerry}-${TOOL_VERSIONS.yarnClassic}`);
  const tools: Tools = {
    pnpm: path.join(dir, 'node_modules/pnpm/bin/pnpm.mjs'),
    yarnBerry: path.join(dir, 'node_modules/@yarnpkg/cli-dist/bin/yarn.js'),
    yarnClassic: path.join(dir, 'node_modules/yarn/bin/yarn.js'),
    bun: path.join(repoRoot, 'node_modules/bun/bin/bun.exe'),
  };
  if (!existsSync(tools.bun)) throw new Error(`bun is missing at ${tools.bun}: run npm ci at the repo root`);
  if ([tools.pnpm, tools.yarnBerry, tools.yarnClassic].every((f) => existsSync(f))) return tools;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  const specs = [`pnpm@${TOOL_VERSIONS.pnpm}`, `@yarnpkg/cli-dist@${TOOL_VERSIONS.yarnBerry}`, `yarn@${TOOL_VERSIONS.yarnClassic}`];
  const r = await run('npm', ['install', '--no-save', '--no-package-lock', '--ignore-scripts', ...specs], { cwd: dir, env: cleanEnv(registry) });
  if (r.code !== 0) throw new Error(`installing ${specs.join(' ')} failed:\n${r.output}`);
  return tools;
}

export type PackageManagerId = 'npm' | 'pnpm' | 'yarn-node-modules' | 'yarn-pnp' | 'yarn-classic' | 'bun';

export interface PackageManager {
  id: PackageManagerId;
  /** How a workspace package names another in its dependencies. */
  workspaceSpec: string;
  /** Config files the project needs for this manager (workspaces, registry, linker). */
  files(registry: string): Record<string, string>;
  install: [string, string[]];
  /** The `build-system` bin through this manager's own runner. */
  bin(args: string[]): [string, string[]];
  env(registry: string): NodeJS.ProcessEnv;
  /** Install output lines that are this manager's own notes about things build-system cannot change. */
  expectedNotes?: RegExp;
}

export function packageManagers(tools: Tools, runDir: string): PackageManager[] {
  const classicTmp = () => {
    const dir = path.join(runDir, 'yarn-classic-tmp');
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const node = process.execPath;
  const yarnrc = (linker: string, registry: string) =>
    [
      `nodeLinker: ${linker}`,
      `npmRegistryServer: "${registry.replace(/\/$/, '')}"`,
      'enableTelemetry: false',
      // Yarn turns immutable installs on under CI=true; these projects have no lockfile yet.
      'enableImmutableInstalls: false',
      '',
    ].join('\n');
  const yarnEnv = { YARN_GLOBAL_FOLDER: path.join(cacheRoot, 'yarn-berry'), YARN_ENABLE_GLOBAL_CACHE: 'true' };
  return [
    {
      id: 'npm',
      workspaceSpec: '1.0.0',
      files: () => ({}),
      install: ['npm', ['install']],
      // `--` so that npx hands --version and --help to build-system instead of answering them itself.
      bin: (args) => ['npx', ['--no', '--', 'build-system', ...args]],
      env: (registry) => cleanEnv(registry, { npm_config_cache: path.join(cacheRoot, 'npm') }),
    },
    {
      id: 'pnpm',
      workspaceSpec: 'workspace:*',
      files: () => ({ 'pnpm-workspace.yaml': 'packages:\n  - packages/*\n' }),
      // No lockfile yet: under CI=true pnpm would insist on a frozen one.
      install: [node, [tools.pnpm, 'install', '--no-frozen-lockfile']],
      bin: (args) => [node, [tools.pnpm, 'exec', 'build-system', ...args]],
      env: (registry) => cleanEnv(registry, { npm_config_store_dir: path.join(cacheRoot, 'pnpm-store') }),
    },
    {
      id: 'yarn-node-modules',
      workspaceSpec: 'workspace:*',
      files: (registry) => ({ '.yarnrc.yml': yarnrc('node-modules', registry) }),
      install: [node, [tools.yarnBerry, 'install']],
      bin: (args) => [node, [tools.yarnBerry, 'build-system', ...args]],
      env: (registry) => cleanEnv(registry, yarnEnv),
    },
    {
      id: 'yarn-pnp',
      workspaceSpec: 'workspace:*',
      files: (registry) => ({ '.yarnrc.yml': yarnrc('pnp', registry) }),
      install: [node, [tools.yarnBerry, 'install']],
      bin: (args) => [node, [tools.yarnBerry, 'build-system', ...args]],
      env: (registry) => cleanEnv(registry, yarnEnv),
      // Yarn's notice whenever a PnP project has ES modules among its dependencies (zod, build-system):
      // its ESM loader hook is "experimental". It turns the summary into "Done with warnings".
      expectedNotes: /YN0092: .*ESM support for PnP uses the experimental loader API|Done with warnings in/,
    },
    {
      id: 'yarn-classic',
      workspaceSpec: '1.0.0',
      files: (registry) => ({ '.yarnrc': `registry "${registry}"\n` }),
      // Its own cache per run: yarn 1 caches a file: tarball by name and version, so a rebuilt
      // tarball would be served from an older run.
      install: [node, [tools.yarnClassic, 'install', '--non-interactive', '--cache-folder', path.join(runDir, 'yarn-classic-cache')]],
      bin: (args) => [node, [tools.yarnClassic, '--silent', 'build-system', ...args]],
      // yarn 1 leaves a /tmp/yarn--<time>-<random> shim directory per bin it runs: kept in runDir, removed with it.
      env: (registry) => cleanEnv(registry, { TMPDIR: classicTmp() }),
    },
    {
      id: 'bun',
      workspaceSpec: 'workspace:*',
      files: () => ({}),
      install: [tools.bun, ['install']],
      bin: (args) => [tools.bun, ['run', 'build-system', ...args]],
      env: (registry) => cleanEnv(registry, { BUN_CONFIG_REGISTRY: registry, BUN_INSTALL_CACHE_DIR: path.join(cacheRoot, 'bun') }),
    },
  ];
}

/**
 * Install output lines that say something is wrong or questionable: an engine or peer
 * mismatch, a warning, an error, a build script that needs approval, a deprecation.
 */
export function complaints(output: string, expectedNotes?: RegExp): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /\b(warn|warning|warnings|error|err_\w+|ebadengine|eresolve|engine|peer|peers|deprecated|ignored|approve|allowScripts|install-scripts)\b|YN0(?!000|013|085)\d{3}/i.test(l))
    .filter((l) => !expectedNotes?.test(l));
}

/** The workspace every manager installs: an ESM library, a CommonJS library, an app that bundles the ESM one. */
export function workspaceFiles(pm: PackageManager, registry: string, tarball: string): Record<string, string> {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  const config = (extra = '') => `import { defineConfig } from 'build-system';\n\nexport default defineConfig({ adapter: 'esbuild'${extra} });\n`;
  return {
    ...pm.files(registry),
    'package.json': json({ name: 'acme', private: true, workspaces: ['packages/*'], devDependencies: { 'build-system': `file:./${tarball}` } }),
    'packages/util/package.json': json({ name: '@acme/util', version: '1.0.0', type: 'module', exports: './dist/index.js' }),
    'packages/util/build.config.ts': config(),
    'packages/util/src/index.ts': `export function shout(text: string): string {\n  return \`\${text.toUpperCase()}!\`;\n}\n`,
    'packages/legacy/package.json': json({ name: '@acme/legacy', version: '1.0.0', main: './dist/index.js' }),
    'packages/legacy/build.config.ts': config(", format: 'cjs'"),
    'packages/legacy/src/index.ts': `export function add(a: number, b: number): number {\n  return a + b;\n}\n`,
    'packages/app/package.json': json({ name: '@acme/app', version: '1.0.0', type: 'module', bin: { app: './dist/cli.js' }, devDependencies: { '@acme/util': pm.workspaceSpec } }),
    'packages/app/build.config.ts': config(),
    'packages/app/src/cli.ts': `import { shout } from '@acme/util';\n\nconsole.log(shout(\`hello \${process.argv[2]}\`));\n`,
  };
}

export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
