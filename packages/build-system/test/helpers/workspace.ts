import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cliPath, createFixture, type Fixture } from './fixture.js';

/** One package of a generated workspace: `packages/<key>`, named `@fx/<key>`. */
export interface PackageSpec {
  /** Keys of workspace packages it depends on. */
  deps?: string[];
  /** Which package.json field the deps go in (default dependencies). */
  depField?: 'dependencies' | 'devDependencies' | 'peerDependencies' | 'optionalDependencies';
  /** An esbuild plugin in adapterOptions holds the build this long: real builds that take measurable time. */
  delayMs?: number;
  /** The source has a syntax error: the build fails. */
  broken?: boolean;
  /** Write a build.config.ts (default true); false = a package that does not take part without --all. */
  config?: boolean;
  /** Write a package.json with no entry we could infer (no exports/main, no src/index.ts). */
  noEntry?: boolean;
  /**
   * The default export of build.config.ts instead of the delay/logging one. Without its esbuild
   * plugin a package's build reads only what `external` leaves in (see dependency-needs.ts).
   */
  plainConfig?: string;
  /** src/index.ts instead of the generated one. */
  source?: string;
}

export type WorkspaceStyle = 'npm' | 'pnpm';

export const scoped = (key: string) => `@fx/${key}`;

/**
 * A workspace of real esbuild packages. npm style lists `workspaces` in the
 * root package.json with plain version ranges; pnpm style has a
 * pnpm-workspace.yaml (with a negated glob) and `workspace:` ranges. Every
 * build appends the package name to `builds.log` at the root, so a test can
 * count how often a package was really built.
 */
export function workspaceFixture(style: WorkspaceStyle, packages: Record<string, PackageSpec>): Fixture {
  const fx = createFixture({});
  const log = fx.path('builds.log');
  const files: Record<string, string | object> = {};
  if (style === 'npm') {
    files['package.json'] = { name: 'fx-root', private: true, workspaces: ['packages/*'] };
  } else {
    files['package.json'] = { name: 'fx-root', private: true };
    // The negated glob must keep packages/ignored out of the workspace.
    files['pnpm-workspace.yaml'] = `packages:\n  - 'packages/*'\n  - '!packages/ignored'\n`;
    files['packages/ignored/package.json'] = { name: '@fx/ignored', version: '1.0.0', type: 'module', exports: './dist/index.js' };
    files['packages/ignored/build.config.ts'] = `export default { adapter: 'esbuild' };\n`;
    files['packages/ignored/src/index.ts'] = `export const ignored = true;\n`;
  }
  for (const [key, spec] of Object.entries(packages)) {
    const dir = `packages/${key}`;
    const range = style === 'pnpm' ? 'workspace:*' : '1.0.0';
    const deps = Object.fromEntries((spec.deps ?? []).map((d) => [scoped(d), range]));
    const manifest: Record<string, unknown> = { name: scoped(key), version: '1.0.0', type: 'module' };
    if (!spec.noEntry) manifest.exports = './dist/index.js';
    if (spec.deps?.length) manifest[spec.depField ?? 'dependencies'] = deps;
    files[`${dir}/package.json`] = manifest;
    if (!spec.noEntry) {
      files[`${dir}/src/index.ts`] = spec.broken
        ? `export const value: number = ;\n`
        : (spec.source ?? `export const name: string = ${JSON.stringify(scoped(key))};\n`);
    }
    if (spec.config !== false) files[`${dir}/build.config.ts`] = spec.plainConfig !== undefined ? `export default ${spec.plainConfig};\n` : configSource(scoped(key), log, spec.delayMs ?? 0);
  }
  fx.write(files);
  return fx;
}

function configSource(name: string, log: string, delayMs: number): string {
  return esbuildConfigSource('fixture-delay', [
    `appendFileSync(${JSON.stringify(log)}, ${JSON.stringify(`${name}\n`)});`,
    `await new Promise((resolve) => setTimeout(resolve, ${delayMs}));`,
  ]);
}

/**
 * A build.config.ts for the esbuild adapter with one plugin, `pluginName`,
 * whose onStart runs `onStart` (statements, one per line; `appendFileSync`
 * is imported) before every build.
 */
export function esbuildConfigSource(pluginName: string, onStart: string[]): string {
  return `import { appendFileSync } from 'node:fs';

export default {
  adapter: 'esbuild',
  format: 'esm',
  adapterOptions: {
    esbuild: {
      plugins: [
        {
          name: '${pluginName}',
          setup(build) {
            build.onStart(async () => {
${onStart.map((line) => `              ${line}\n`).join('')}            });
          },
        },
      ],
    },
  },
};
`;
}

/** How many times each package was built (from builds.log). */
export function buildCounts(fx: Fixture): Record<string, number> {
  let text = '';
  try {
    text = readFileSync(fx.path('builds.log'), 'utf8');
  } catch {
    return {};
  }
  const counts: Record<string, number> = {};
  for (const line of text.split('\n').filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const env = { ...process.env, ...opts.env };
  // Tests read plain lines: never let the caller's terminal settings leak in.
  delete env.FORCE_COLOR;
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: opts.cwd ?? process.cwd(), encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The CLI in a child process, not waited for: its output is collected and `done` resolves when it
 * exits. `env` is laid over this process's (a key set to undefined is left out); FORCE_COLOR never
 * passes, since tests read plain lines.
 */
function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }, stdin: 'pipe' | 'ignore') {
  const env = { ...process.env, ...opts.env };
  delete env.FORCE_COLOR;
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: opts.cwd ?? process.cwd(), env, stdio: [stdin, 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** `cli` without blocking this process: for tests that run concurrently (each spawnSync would stall the others). */
export function cliRun(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return startCli(args, opts, 'ignore').done;
}

/** Starts the CLI without waiting, for tests that interrupt it. */
export function cliAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return startCli(args, opts, 'pipe');
}

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A git repo at the fixture root with everything committed. */
export function initGit(fx: Fixture): void {
  git(fx.root, 'init', '-q', '-b', 'main');
  git(fx.root, 'config', 'user.email', 'test@example.com');
  git(fx.root, 'config', 'user.name', 'test');
  git(fx.root, 'config', 'commit.gpgsign', 'false');
  fx.write({ '.gitignore': 'node_modules\ndist\nbuilds.log\n' });
  git(fx.root, 'add', '-A');
  git(fx.root, 'commit', '-q', '-m', 'initial');
}

/**
 * Git's index rewritten a few clock ticks after the work tree's files. Files written in the tick the index
 * was written in are racily clean (git, and util/git-index.ts, read them again), and git writes its index
 * right after the files; a moment later a refresh rewrites it with them clean, as a clone's index is for
 * all files but those of its last tick.
 */
export function settleGitIndex(root: string): void {
  const until = Date.now() + 30;
  while (Date.now() < until) {
    // a few clock ticks
  }
  git(root, 'update-index', '-q', '--refresh');
}
