import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILD_FLAGS, parseBuildArgv } from '../src/commands/build-argv.js';
import { COMMANDS } from '../src/cli/commands.js';
import { BUILD_FLAG_TABLE } from '../src/cli/flag-table.js';
import { commandHelp, helpFor, programHelp } from '../src/cli/help.js';
import { cliPath, createFixture, packageRoot, type Fixture } from './helpers/fixture.js';

/**
 * src/main.ts answers three invocations without loading Nest (see its header and
 * specs/002-build-package-handler/research.md §5): --version,
 * --help generated from the flag tables (cli/help.ts), and `build` with flags
 * commands/build-argv.ts understands. Each must
 * print exactly what the Nest CLI prints (BUILD_SYSTEM_NO_FAST_PATH=1; the
 * top-level --help adds every command's options after it) and must not load
 * @nestjs/* or nest-commander.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'bs-fastpath-'));
const fixtures: Fixture[] = [];
afterAll(() => {
  fixtures.forEach((f) => f.cleanup());
  rmSync(tmp, { recursive: true, force: true });
});

// Preloaded into the CLI: at exit, writes how many signs of Nest it sees. The CLI bundles Nest into
// its chunks (no file of @nestjs/* or nest-commander is loaded, so require.cache shows none); what
// its Nest side loads first, and nothing else in build-system loads, is reflect-metadata, which
// installs Reflect.getMetadata. An unbundled CLI (dist/main.js) would show its Nest modules in
// require.cache (CommonJS).
const probe = path.join(tmp, 'nest-probe.cjs');
writeFileSync(
  probe,
  `process.on('exit', () => {
    const modules = Object.keys(require.cache).filter((k) => /[\\\\/](@nestjs|nest-commander)[\\\\/]/.test(k)).length;
    const reflectMetadata = typeof Reflect.getMetadata === 'function' ? 1 : 0;
    require('fs').writeFileSync(process.env.NEST_PROBE_OUT, String(modules + reflectMetadata));
  });\n`,
);
let probeCount = 0;

/**
 * The CLI with the Nest probe, awaited (not spawnSync'd: the tests of this file run concurrently,
 * each on its own workspace); `nestModules` is what the probe counted.
 */
function cli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string; nestModules: number }> {
  const out = path.join(tmp, `probe-${probeCount++}.txt`);
  const env = { ...process.env, BUILD_SYSTEM_NO_FAST_PATH: undefined, XDG_CACHE_HOME: path.join(tmp, 'xdg'), NEST_PROBE_OUT: out, ...opts.env };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--require', probe, cliPath, ...args], { cwd: opts.cwd ?? tmp, encoding: 'utf8', env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr, nestModules: Number(readFileSync(out, 'utf8')) });
    });
  });
}
const viaNest = { BUILD_SYSTEM_NO_FAST_PATH: '1' };

/** A run's JSON without what differs between two runs of the same build (times, the command line). */
function stable(stdout: string): unknown {
  return JSON.parse(stdout, (k, v) => (['startedAt', 'endedAt', 'durationMs', 'startMs', 'endMs', 'command'].includes(k) ? 0 : v));
}
const noDurations = (s: string) => s.replace(/\d+(\.\d+)? (ms|s)\b/g, 'T');

function workspace(): Fixture {
  const pkg = (name: string, deps: Record<string, string> = {}) => ({
    'package.json': { name, version: '1.0.0', type: 'module', exports: './dist/index.js', dependencies: deps },
    'build.config.ts': `import { defineConfig } from 'build-system';\nexport default defineConfig({ adapter: 'esbuild' });\n`,
  });
  const files: Record<string, string | object> = { 'package.json': { name: 'fast-ws', private: true, workspaces: ['packages/*'] } };
  for (const [dir, p] of Object.entries({ a: pkg('@fp/a'), b: pkg('@fp/b', { '@fp/a': '1.0.0' }) })) {
    for (const [f, c] of Object.entries(p)) files[`packages/${dir}/${f}`] = c;
  }
  files['packages/a/src/index.ts'] = `export const a: number = 1;\n`;
  files['packages/b/src/index.ts'] = `export const b: number = 2;\n`;
  const fx = createFixture(files);
  fixtures.push(fx);
  return fx;
}

describe.concurrent('CLI fast paths', () => {
  it('--version and -V: the version, as Nest prints it, without loading Nest', async () => {
    const version = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version as string;
    const nest = await cli(['--version'], { env: viaNest });
    expect(nest.nestModules).toBeGreaterThan(0);
    for (const flag of ['--version', '-V']) {
      const fast = await cli([flag]);
      expect(fast.code).toBe(0);
      expect(fast.stdout).toBe(nest.stdout);
      expect(fast.stdout).toBe(`${version}\n`);
      expect(fast.nestModules).toBe(0);
    }
  });

  it('--help and -h: generated from the tables without Nest, commander\'s program help first, nothing written to the home', async () => {
    const home = mkdtempSync(path.join(tmp, 'home-'));
    const env = { HOME: home, XDG_CACHE_HOME: path.join(home, '.cache') };
    const nest = await cli(['--help'], { env: { ...env, ...viaNest } });
    expect(nest.code).toBe(0);
    expect(nest.stdout).toContain('build:package');
    for (const flag of ['--help', '-h']) {
      const fast = await cli([flag], { env });
      expect(fast.code).toBe(0);
      expect(fast.nestModules).toBe(0);
      // Everything Nest shows (the commands with their descriptions), then every command's options.
      expect(fast.stdout.startsWith(nest.stdout)).toBe(true);
      expect(fast.stdout).toBe(programHelp(80));
    }
    expect(readdirSync(home)).toEqual([]);
  });

  it("a command's --help is generated too: byte for byte what Nest prints, without Nest", async () => {
    const commands = [...COMMANDS.flatMap((c) => [[c.name], ...(c.aliases ?? []).map((a) => [a]), ...(c.subCommands ?? []).map((s) => [c.name, s.name])])];
    expect(commands.length).toBeGreaterThan(10);
    // Independent processes: started together, they cost the suite one Nest start-up per core, not one per command.
    const runs = await Promise.all(
      commands.map(async (names) => [names, await cli([...names, '--help'], { env: viaNest }), await cli([...names, names.length === 1 ? '-h' : '--help'])] as const),
    );
    for (const [names, nest, fast] of runs) {
      expect(nest.code, names.join(' ')).toBe(0);
      expect(nest.nestModules).toBeGreaterThan(0);
      expect([fast.code, fast.nestModules], names.join(' ')).toEqual([0, 0]);
      expect(fast.stdout, names.join(' ')).toBe(nest.stdout);
    }
    expect((await cli(['build', '--help'])).stdout).toContain('--concurrency');
  });

  it('help it is not sure of, and anything else, still goes through Nest', async () => {
    for (const argv of [['build', '--json', '--help'], ['help', 'build'], ['frobnicate', '--help'], ['cache', 'nope', '--help'], ['cache', 'prune', 'x', '--help'], ['--help', 'build']]) {
      expect(helpFor(argv, 80), argv.join(' ')).toBeNull();
    }
    const r = await cli(['build', '--json', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--concurrency');
    expect(r.nestModules).toBeGreaterThan(0);
    expect((await cli(['frobnicate'])).code).toBe(2);
  });

  it('the generated help shows every row of every flag table, with its help text', async () => {
    // Wrapping and column padding are whitespace: compare with every run of it as one space.
    const flat = (text: string) => ` ${text.replace(/\s+/g, ' ')} `;
    const program = flat(programHelp(80));
    let rows = 0;
    for (const command of COMMANDS) {
      expect(program).toContain(flat(command.description));
      for (const [def, parent] of [[command, undefined] as const, ...(command.subCommands ?? []).map((s) => [s, command] as const)]) {
        const own = flat(commandHelp(def, 80, parent));
        if (parent) expect(flat(commandHelp(parent, 80))).toContain(flat(def.description));
        for (const f of def.flags) {
          const row = flat(`${f.arg ? `${f.flag} ${f.arg}` : f.flag} ${f.help}`);
          expect(own, `${def.name} ${f.flag}`).toContain(row);
          expect(program, `${def.name} ${f.flag}`).toContain(row);
          rows++;
        }
      }
    }
    // build and watch share BUILD_FLAG_TABLE; every other table adds its own rows.
    expect(rows).toBeGreaterThan(2 * BUILD_FLAG_TABLE.length + 20);
  });

  it('watch (and build --watch) take the fast path too, and refuse what the Nest command refuses alike', async () => {
    const fx = workspace();
    for (const args of [['watch', '--dry-run'], ['build', '--watch', '--force']]) {
      const fast = await cli(args, { cwd: fx.root });
      const nest = await cli(args, { cwd: fx.root, env: viaNest });
      expect(fast.nestModules).toBe(0);
      expect(nest.nestModules).toBeGreaterThan(0);
      expect(fast.code).toBe(2);
      expect([fast.code, fast.stdout, fast.stderr]).toEqual([nest.code, nest.stdout, nest.stderr]);
      expect(fast.stderr).toMatch(/--(dry-run|force).*cannot be used with watch/);
    }
  });

  it('a build, and a cached no-op, print what the Nest command prints, without Nest', async () => {
    const fx = workspace();
    const nestFirst = await cli(['build', '--json'], { cwd: fx.root, env: viaNest });
    expect(nestFirst.code, nestFirst.stderr).toBe(0);
    expect(nestFirst.nestModules).toBeGreaterThan(0);
    fx.write({ 'packages/a/src/index.ts': `export const a: number = 3;\n`, 'packages/b/src/index.ts': `export const b: number = 4;\n` });
    const nestBuild = await cli(['build', '--json'], { cwd: fx.root, env: viaNest });
    fx.write({ 'packages/a/src/index.ts': `export const a: number = 5;\n`, 'packages/b/src/index.ts': `export const b: number = 6;\n` });
    const fastBuild = await cli(['build', '--json'], { cwd: fx.root });
    expect(fastBuild.code, fastBuild.stderr).toBe(0);
    expect(fastBuild.nestModules).toBe(0);
    // Both rebuilt both packages (the sources changed); apart from keys and hashes of the different sources, the same document.
    const shape = (s: string) => JSON.parse(s, (k, v) => (['startedAt', 'endedAt', 'durationMs', 'startMs', 'endMs', 'command', 'key', 'fingerprintKey', 'sha256', 'reason', 'changes', 'criticalPath', 'timeline'].includes(k) ? 0 : v));
    expect(shape(fastBuild.stdout)).toEqual(shape(nestBuild.stdout));
    expect((stable(fastBuild.stdout) as { results: { cache: { status: string } }[] }).results.map((r) => r.cache.status)).toEqual(['miss', 'miss']);

    const fast = await cli(['build', '--json'], { cwd: fx.root });
    const nest = await cli(['build', '--json'], { cwd: fx.root, env: viaNest });
    expect(fast.code).toBe(0);
    expect(fast.nestModules).toBe(0);
    expect(nest.nestModules).toBeGreaterThan(0);
    expect((stable(fast.stdout) as { results: { cache: { status: string } }[] }).results.map((r) => r.cache.status)).toEqual(['hit', 'hit']);
    // Timeline order is start order, which two schedules may legitimately interleave differently.
    const sorted = (s: string) => {
      const doc = stable(s) as { timeline?: { package: string }[]; criticalPath?: unknown };
      doc.timeline?.sort((x, y) => x.package.localeCompare(y.package));
      delete doc.criticalPath;
      return doc;
    };
    expect(sorted(fast.stdout)).toEqual(sorted(nest.stdout));
    // The summary's critical path depends on those schedules too (it is named when one hit waited for another).
    const lines = (s: string) => noDurations(s).replace(/ · critical path .*/g, '').split('\n').sort();
    expect(lines(fast.stderr)).toEqual(lines(nest.stderr));

    // People's output (not a TTY here: the line reporter), a package name and --cwd= form.
    const fastHuman = await cli(['build:package', '@fp/b', `--cwd=${fx.root}`]);
    const nestHuman = await cli(['build:package', '@fp/b', `--cwd=${fx.root}`], { env: viaNest });
    expect(fastHuman.nestModules).toBe(0);
    expect(lines(fastHuman.stdout)).toEqual(lines(nestHuman.stdout));
    expect(fastHuman.stdout).toContain('@fp/b');
  });

  it('a flag value error is reported exactly as the Nest command reports it', async () => {
    const fx = workspace();
    for (const args of [['--concurrency', 'lots'], ['--adapter', 'webpack'], ['--output-logs', 'some']]) {
      const fast = await cli(['build', ...args], { cwd: fx.root });
      const nest = await cli(['build', ...args], { cwd: fx.root, env: viaNest });
      expect(fast.nestModules, args.join(' ')).toBe(0);
      expect(fast.code, args.join(' ')).toBe(2);
      expect([fast.code, fast.stdout, fast.stderr]).toEqual([nest.code, nest.stdout, nest.stderr]);
    }
  });

  it('a selection error: exit 2 and the message the Nest command prints', async () => {
    const fx = workspace();
    const r = await cli(['build', '@fp/nope'], { cwd: fx.root });
    const nest = await cli(['build', '@fp/nope'], { cwd: fx.root, env: viaNest });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('@fp/nope');
    expect(r.nestModules).toBe(0);
    expect([r.code, r.stdout, r.stderr]).toEqual([nest.code, nest.stdout, nest.stderr]);
  });
});

describe.concurrent('parseBuildArgv', () => {
  it('knows every flag the Nest build command defines', async () => {
    const help = await cli(['build', '--help'], { env: viaNest });
    expect(help.code).toBe(0);
    const defined = [...help.stdout.matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)].map((m) => m[1]!).filter((f) => f !== '--help');
    expect(defined.length).toBeGreaterThan(20);
    expect(new Set(defined)).toEqual(new Set(Object.keys(BUILD_FLAGS)));
  });

  it('parses the forms commander accepts', async () => {
    expect(parseBuildArgv(['build'])).toEqual({ packages: [], flags: {} });
    expect(parseBuildArgv(['build:package', 'a', '--json', '--cwd', 'x', 'b'])).toEqual({ packages: ['a', 'b'], flags: { json: true, cwd: 'x' } });
    expect(parseBuildArgv(['build', '--cwd=dir', '--filter', 'a', '--filter=b...', '--no-cache', '--no-color', '--concurrency', '50%'])).toEqual({
      packages: [],
      flags: { cwd: 'dir', filter: ['a', 'b...'], cache: false, color: false, concurrency: '50%' },
    });
    expect(parseBuildArgv(['build', '--color', '--no-color'])!.flags.color).toBe(false);
    expect(parseBuildArgv(['build', '--no-remote-cache', '--force', '--dry-run'])!.flags).toEqual({ remoteCache: false, force: true, dryRun: true });
  });

  it('leaves other commands, unknown flags and every ambiguity to Nest', async () => {
    for (const argv of [[], ['list'], ['clean'], ['build', '--frobnicate'], ['build', '--cwd'], ['build', '--cwd', '--json'], ['build', '--cwd='], ['build', '--'], ['build', '-h'], ['build', '--help'], ['build', '--json=yes'], ['build', '--filter', '-x'], ['build', '']]) {
      expect(parseBuildArgv(argv), argv.join(' ')).toBeNull();
    }
  });
});
