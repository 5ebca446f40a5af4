import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProgressView, summaryTable } from '../src/commands/progress.js';
import { diagnosticLines, failureLines, LineReporter, runSummaryLine } from '../src/commands/reporter.js';
import { createStyle, terminalInfo, wantsColor } from '../src/commands/terminal.js';
import { RESULT_SCHEMA_VERSION, type BuildResult, type RunResult } from '../src/result/schema.js';
import { cliPath, type Fixture } from './helpers/fixture.js';
import { cli, workspaceFixture } from './helpers/workspace.js';

const ESC = '\u001b[';

/**
 * A tiny terminal: enough of ECMA-48 for what readline.moveCursor/cursorTo/
 * clearScreenDown and util.styleText write (cursor up, column, erase below,
 * SGR ignored). The test reads the screen a person would see, not the bytes.
 */
class Screen {
  lines: string[] = [''];
  row = 0;
  col = 0;
  isTTY = true;
  columns = 100;
  rows = 30;
  write(chunk: string): boolean {
    // eslint-disable-next-line no-control-regex
    const re = /\u001b\[(\d*)([A-Za-z])|\n|\r|[^\u001b\n\r]+/g;
    for (const m of chunk.matchAll(re)) {
      const tok = m[0];
      if (tok === '\n') {
        this.row++;
        this.col = 0;
        if (this.row >= this.lines.length) this.lines.push('');
      } else if (tok === '\r') this.col = 0;
      else if (m[2]) {
        const n = m[1] ? Number(m[1]) : 1;
        if (m[2] === 'A') this.row = Math.max(0, this.row - n);
        else if (m[2] === 'G') this.col = n - 1;
        else if (m[2] === 'J') {
          this.lines[this.row] = this.lines[this.row]!.slice(0, this.col);
          this.lines.length = this.row + 1;
        }
        // 'm' (colour) changes nothing on the screen
      } else {
        const line = this.lines[this.row]!.padEnd(this.col);
        this.lines[this.row] = line.slice(0, this.col) + tok + line.slice(this.col + tok.length);
        this.col += tok.length;
      }
    }
    return true;
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/** A path as the terminal shows it: relative to the cwd, posix. */
const fromCwd = (abs: string) => path.relative(process.cwd(), abs).split(path.sep).join('/');

function result(name: string, status: BuildResult['status'], extra: Partial<BuildResult> = {}): BuildResult {
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    package: { name, dir: `/ws/${name}` },
    status,
    adapter: status === 'skipped' ? { name: null, version: null, reason: 'not built' } : { name: 'esbuild', version: '0.28.2', reason: 'config' },
    startedAt: new Date(0).toISOString(),
    durationMs: status === 'skipped' ? 0 : 1234,
    cache: status === 'skipped' ? { status: 'skipped', key: null, reason: 'dependency @w/b failed' } : { status: 'miss', key: 'k' },
    artifacts: status === 'success' ? [{ path: 'dist/index.js', bytes: 2048, sha256: 'a'.repeat(64), kind: 'js' }] : [],
    diagnostics: [],
    ...extra,
  };
}

describe('colour and terminal detection', () => {
  const tty = { isTTY: true, hasColors: () => true, write: () => true } as unknown as NodeJS.WriteStream;
  const pipe = { write: () => true } as unknown as NodeJS.WriteStream;

  it('--color / --no-color win over everything', () => {
    expect(wantsColor(pipe, true, { NO_COLOR: '1' })).toBe(true);
    expect(wantsColor(tty, false, { FORCE_COLOR: '1' })).toBe(false);
  });

  it('NO_COLOR (set and not empty) turns colour off on a terminal; FORCE_COLOR turns it on in a pipe', () => {
    expect(wantsColor(tty, undefined, {})).toBe(true);
    expect(wantsColor(tty, undefined, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(tty, undefined, { NO_COLOR: '' })).toBe(true);
    expect(wantsColor(pipe, undefined, {})).toBe(false);
    expect(wantsColor(pipe, undefined, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColor(tty, undefined, { FORCE_COLOR: '0' })).toBe(false);
    expect(wantsColor(tty, undefined, { TERM: 'dumb' })).toBe(false);
  });

  it('the live view only on a terminal outside CI', () => {
    expect(terminalInfo(tty, undefined, {}).interactive).toBe(true);
    expect(terminalInfo(tty, undefined, { CI: 'true' }).interactive).toBe(false);
    expect(terminalInfo(tty, undefined, { CI: '1' }).interactive).toBe(false);
    expect(terminalInfo(tty, undefined, { CI: 'false' }).interactive).toBe(true);
    expect(terminalInfo(tty, undefined, { GITHUB_ACTIONS: 'true' }).interactive).toBe(false);
    expect(terminalInfo(pipe, undefined, {}).interactive).toBe(false);
  });

  it('styles only when enabled', () => {
    expect(createStyle(true).red('x')).toContain(ESC);
    expect(createStyle(true).red('x')).toContain('x');
    expect(createStyle(false).red('x')).toBe('x');
  });
});

describe('ProgressView on a terminal', () => {
  it('shows done/total and the running packages with their elapsed time, then a summary table in place of the view', () => {
    const screen = new Screen();
    const err = new Screen();
    let now = 1000;
    const view = new ProgressView(screen as unknown as NodeJS.WriteStream, createStyle(false), err as unknown as NodeJS.WritableStream, () => now);
    view.onPlan({ concurrency: 2, packages: ['@w/a', '@w/b', '@w/c', '@w/d'].map((name) => ({ name, dir: `/ws/${name}`, dependencies: [] })) });
    view.onEvent({ type: 'package-start', package: '@w/a', dir: '/ws/a' });
    view.onEvent({ type: 'adapter-chosen', package: '@w/a', adapter: 'esbuild', version: '0.28.2', reason: 'config' });
    now += 1500;
    view.onEvent({ type: 'package-start', package: '@w/b', dir: '/ws/b' });
    now += 700;
    view.onEvent({ type: 'log', package: '@w/a', stream: 'stdout', line: 'tool chatter stays out of the view' });
    view.onEvent({ type: 'lock-wait', package: '@w/b', message: 'waiting for the lock of @w/b' });
    let text = screen.text();
    expect(text).toMatch(/building 0\/4 · 2\.2 s/);
    expect(text).toMatch(/@w\/a\s+esbuild\s+2\.2 s/);
    expect(text).toMatch(/@w\/b\s+waiting for lock\s+700 ms/);
    expect(text).not.toContain('tool chatter');

    view.onEvent({ type: 'package-done', result: result('@w/a', 'success', { cache: { status: 'hit', key: 'k', restored: false } }) });
    view.onEvent({
      type: 'package-done',
      result: result('@w/b', 'failed', {
        error: { code: 'BUILD_FAILED', message: 'src/index.ts:1:5: Unexpected ";"' },
        diagnostics: [{ severity: 'error', message: 'Unexpected ";"', file: 'src/index.ts', line: 1, column: 5 }],
      }),
    });
    view.onEvent({ type: 'package-done', result: result('@w/c', 'skipped') });
    text = screen.text();
    // Redrawn in place: one status line, never a scrolled history of them.
    expect(text.match(/building \d\/4/g)).toHaveLength(1);
    expect(text).toMatch(/building 3\/4 · 1 cached · 1 failed/);
    expect(text).not.toMatch(/^\s+@w\/a\s/m);
    // Failures and skips stay above the view.
    expect(text).toContain(`@w/b: ✖ ${fromCwd('/ws/@w/b/src/index.ts')}:1:5: Unexpected ";"`);
    expect(text).toContain('@w/c: - skipped (dependency @w/b failed)');

    view.onEvent({ type: 'package-start', package: '@w/d', dir: '/ws/d' });
    view.onEvent({ type: 'package-done', result: result('@w/d', 'success') });
    const run: RunResult = {
      schemaVersion: RESULT_SCHEMA_VERSION,
      ok: false,
      exitCode: 1,
      startedAt: new Date(0).toISOString(),
      durationMs: 2500,
      concurrency: 2,
      results: ['@w/a', '@w/b', '@w/c', '@w/d'].map((n) => result(n, n === '@w/b' ? 'failed' : n === '@w/c' ? 'skipped' : 'success', n === '@w/a' ? { cache: { status: 'hit', key: 'k' } } : {})),
      criticalPath: { packages: ['@w/a', '@w/d'], durationMs: 2400 },
    };
    view.printRun(run);
    text = screen.text();
    expect(text).not.toContain('building');
    expect(text).toMatch(/package\s+status\s+adapter\s+cache\s+duration\s+output/);
    expect(text).toMatch(/@w\/a\s+✔ built\s+esbuild 0\.28\.2\s+hit\s+1\.2 s\s+2\.0 KiB/);
    expect(text).toMatch(/@w\/b\s+✖ failed\s+esbuild 0\.28\.2\s+miss\s+1\.2 s\s+-/);
    expect(text).toMatch(/@w\/c\s+- skipped\s+-\s+skipped\s+-\s+-/);
    expect(text).toContain('4 packages: 2 built (1 cached), 1 failed, 1 skipped in 2.5 s · concurrency 2 · critical path @w/a → @w/d (2.4 s)');
    expect(err.text().trim()).toBe('');
  });

  it('long lines are cut to the terminal width so the redraw stays in place', () => {
    const screen = new Screen();
    screen.columns = 30;
    const view = new ProgressView(screen as unknown as NodeJS.WriteStream, createStyle(true), undefined, () => 0);
    view.onPlan({ concurrency: 1, packages: [{ name: '@w/a-package-with-a-very-long-name', dir: '/ws/a', dependencies: [] }] });
    view.onEvent({ type: 'package-start', package: '@w/a-package-with-a-very-long-name', dir: '/ws/a' });
    for (const line of screen.lines) expect(line.length).toBeLessThanOrEqual(29);
    view.stop();
    expect(screen.text().trim()).toBe('');
  });
});

describe('plain lines', () => {
  it('are prefixed with the package; the summary table renders for any result list', () => {
    const out = new Screen();
    const err = new Screen();
    const reporter = new LineReporter(false, out as unknown as NodeJS.WritableStream, err as unknown as NodeJS.WritableStream);
    reporter.onEvent({ type: 'log', package: '@w/a', stream: 'stderr', line: 'from the tool' });
    reporter.onEvent({ type: 'package-done', result: result('@w/a', 'success') });
    expect(out.text()).toMatch(/^@w\/a: ✔ built with esbuild 0\.28\.2 in 1234 ms — 1 file, 2\.0 KiB in outDir$/m);
    expect(err.text()).toContain('@w/a: from the tool');
    expect(summaryTable([result('@w/a', 'success')], createStyle(false))[2]).toMatch(/^@w\/a\s+✔ built/);
  });

  it('a diagnostic of many lines is cut on the terminal, its hint kept; the result keeps it whole', () => {
    const message = ["File '/ws/x/test/a.ts' is not under 'rootDir'.", ...Array.from({ length: 40 }, (_, i) => `  Imported via './a${i}.js' from file '/ws/x/src/f${i}.ts'`), 'hint: leave it out'].join('\n');
    const failed = result('@w/x', 'failed', { diagnostics: [{ severity: 'error', message, file: 'src/f.ts', line: 1, column: 1, code: 'TS6059' }] });
    const lines = diagnosticLines(failed, createStyle(false)).join('\n').split('\n');
    expect(lines).toHaveLength(12);
    expect(lines.at(-2)).toBe('  … 31 more lines (--json has the whole message)');
    expect(lines.at(-1)).toBe('hint: leave it out');
    expect(failed.diagnostics[0]!.message.split('\n')).toHaveLength(42);
  });

  it('the failure line gives the first error’s code, as the lines under it do', () => {
    const failed = result('@w/x', 'failed', {
      error: { code: 'BUILD_FAILED', message: "src/index.ts:1:19: Cannot find module './nope.js'." },
      diagnostics: [
        { severity: 'error', message: "Cannot find module './nope.js'.", file: 'src/index.ts', line: 1, column: 19, code: 'TS2307' },
        { severity: 'error', message: 'Type mismatch.', file: 'src/index.ts', line: 2, column: 14, code: 'TS2322' },
      ],
    });
    const lines = failureLines(failed, createStyle(false));
    // Its file relative to the cwd, as tsc and esbuild print theirs and as the lines under it give theirs: it opens from there.
    expect(lines[0]).toBe(`@w/x: ✖ ${fromCwd('/ws/@w/x/src/index.ts')}:1:19: TS2307: Cannot find module './nope.js'.`);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^@w\/x: {3}.*src\/index\.ts:2:14: error TS2322: Type mismatch\.$/)]);
  });

  it('count one thing in the singular', () => {
    const run: RunResult = { schemaVersion: RESULT_SCHEMA_VERSION, ok: true, exitCode: 0, startedAt: new Date(0).toISOString(), durationMs: 300, results: [result('@w/a', 'success')] };
    expect(runSummaryLine(run, createStyle(false))).toBe('1 package: 1 built, 0 failed, 0 skipped in 300 ms');
    expect(runSummaryLine({ ...run, results: [result('@w/a', 'success'), result('@w/b', 'success')] }, createStyle(false))).toMatch(/^2 packages: 2 built/);
  });
});

describe('the CLI picks its output', () => {
  const fixtures: Fixture[] = [];
  afterAll(() => fixtures.forEach((f) => f.cleanup()));
  const ws = () => {
    const fx = workspaceFixture('npm', { a: {}, b: { deps: ['a'] } });
    fixtures.push(fx);
    return fx;
  };

  it('--color colours even a pipe; NO_COLOR alone does not', () => {
    const fx = ws();
    const coloured = cli(['build', '--color', '--cwd', fx.root]);
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain(ESC);
    const plain = cli(['build', '--cwd', fx.root], { env: { NO_COLOR: '1' } });
    expect(plain.stdout).toContain('@fx/b: ✔');
    expect(plain.stdout).not.toContain(ESC);
  });

  const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!hasScript)('on a terminal: the live view, then the summary table (run under a pty)', () => {
    const fx = ws();
    const env: NodeJS.ProcessEnv = { ...process.env, CI: '', NO_COLOR: '1', COLUMNS: '120', LINES: '40', TERM: 'xterm' };
    delete env.FORCE_COLOR;
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(cliPath)} build --cwd ${JSON.stringify(fx.root)}`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env });
    expect(r.status, r.stdout).toBe(0);
    const screen = new Screen();
    screen.write(r.stdout.replace(/\r\n/g, '\n'));
    const text = screen.text();
    // The view was drawn (its cursor movement is in the raw output) and then replaced by the table.
    expect(r.stdout).toContain('building');
    expect(text).not.toContain('building');
    expect(text).toMatch(/package\s+status\s+adapter\s+cache\s+duration\s+output/);
    expect(text).toMatch(/@fx\/a\s+✔ built\s+esbuild/);
    expect(text).toMatch(/2 packages: 2 built/);
  });
});
