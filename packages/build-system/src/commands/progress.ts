import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import { formatIssue } from '../errors.js';
import type { BuildEvent } from '../events.js';
import type { BuildResult, PlanResult, RunResult } from '../result/schema.js';
import type { RunPlan } from '../services/workspace.service.js';
import { diagnosticLines, failureLines, formatBytes, runHintLines, runSummaryLine, type Reporter } from './reporter.js';
import { formatDuration, visibleLength, type Style } from './terminal.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_MS = 100;

interface Running {
  since: number;
  adapter?: string;
  note?: string;
}

/**
 * The live view for a terminal: a few lines at the bottom, redrawn in place —
 *
 *   ⠹ building 3/7 · 1 cached · 2.4 s
 *     @demo/core    esbuild   1.2 s
 *     @demo/format  rollup    0.8 s
 *
 * Failures (with their diagnostics), warnings and skips are printed above it
 * as they happen and stay; at the end the region is replaced by a summary
 * table. Cursor movement uses Node's readline helpers on the stream.
 */
export class ProgressView implements Reporter {
  private total = 0;
  private done = 0;
  private cached = 0;
  private failed = 0;
  private readonly running = new Map<string, Running>();
  private region = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private active = false;
  private readonly started: number;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly style: Style,
    private readonly err: NodeJS.WritableStream = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  onPlan(plan: RunPlan): void {
    this.total = plan.packages.length;
    this.active = true;
    this.render();
    // unref: a forgotten view must never keep the process alive.
    this.timer = setInterval(() => this.render(), REDRAW_MS);
    this.timer.unref();
  }

  onEvent = (event: BuildEvent): void => {
    switch (event.type) {
      case 'package-start':
        this.running.set(event.package, { since: this.now() });
        break;
      case 'adapter-chosen': {
        const r = this.running.get(event.package);
        if (r) r.adapter = event.adapter;
        break;
      }
      case 'lock-wait': {
        const r = this.running.get(event.package);
        if (r) r.note = 'waiting for lock';
        break;
      }
      case 'log':
        // Tool output is kept for failures (result.logTail), not streamed over the view.
        return;
      case 'warning':
        this.above([`build-system: ${this.style.yellow('warning')}: ${event.message}`]);
        break;
      case 'package-done':
        this.finished(event.result);
        break;
      default:
        return;
    }
    this.render();
  };

  private finished(r: BuildResult): void {
    this.running.delete(r.package.name);
    this.done++;
    if (r.cache.status === 'hit') this.cached++;
    if (r.status === 'failed') {
      this.failed++;
      this.above(failureLines(r, this.style));
    } else if (r.status === 'skipped') {
      this.above([`${this.style.bold(r.package.name)}: ${this.style.yellow('-')} skipped (${r.cache.reason ?? r.adapter.reason})`]);
    } else {
      const warnings = diagnosticLines(r, this.style, 'warning');
      if (warnings.length) this.above(warnings.map((w) => `${this.style.bold(r.package.name)}: ${w}`));
    }
  }

  notice(message: string): void {
    this.above([message]);
    this.render();
  }

  /** Prints lines that stay, above the live region. */
  private above(lines: string[]): void {
    this.clear();
    for (const line of lines) this.out.write(`${line}\n`);
  }

  private clear(): void {
    if (this.region === 0) return;
    readline.moveCursor(this.out, 0, -this.region);
    readline.cursorTo(this.out, 0);
    readline.clearScreenDown(this.out);
    this.region = 0;
  }

  private lines(): string[] {
    const s = this.style;
    const spin = s.cyan(SPINNER[this.frame++ % SPINNER.length]!);
    const head = [`${spin} building ${this.done}/${this.total}`];
    if (this.cached) head.push(`${this.cached} cached`);
    if (this.failed) head.push(s.red(`${this.failed} failed`));
    head.push(formatDuration(this.now() - this.started));
    const lines = [head.join(' · ')];
    const width = Math.max(...[...this.running.keys()].map((n) => n.length), 0);
    const rows = [...this.running].sort((a, b) => a[1].since - b[1].since);
    const room = Math.max(1, (this.out.rows ?? 24) - 3);
    for (const [name, r] of rows.slice(0, room)) {
      const what = r.note ?? r.adapter ?? '';
      lines.push(`  ${name.padEnd(width)}  ${s.dim(what.padEnd(8))} ${formatDuration(this.now() - r.since)}`);
    }
    if (rows.length > room) lines.push(s.dim(`  … ${rows.length - room} more`));
    return lines;
  }

  private render(): void {
    if (!this.active) return;
    const columns = this.out.columns || 80;
    const lines = this.lines().map((l) => truncate(l, columns - 1));
    this.clear();
    this.out.write(`${lines.join('\n')}\n`);
    this.region = lines.length;
  }

  stop(): void {
    this.active = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  printRun(run: RunResult): void {
    this.stop();
    if (run.error) {
      for (const issue of run.error.issues ?? [{ message: run.error.message, file: run.error.file, field: run.error.field }]) {
        this.err.write(`${formatIssue(issue)}\n`);
      }
      return;
    }
    this.out.write(`${summaryTable(run.results, this.style).join('\n')}\n`);
    this.out.write(`${runSummaryLine(run, this.style)}\n`);
    for (const line of runHintLines(run, this.style)) this.err.write(`${line}\n`);
  }
}

function truncate(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  // Styled segments are short and at known places; drop styling rather than cut inside an escape sequence.
  const plain = stripVTControlCharacters(line);
  return `${plain.slice(0, Math.max(0, width - 1))}…`;
}

/** Columns padded by visible width; `align` 'r' right-aligns numbers. */
export function renderTable(header: string[], rows: string[][], style: Style, align: ('l' | 'r')[] = []): string[] {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (cell: string, i: number) => {
    const gap = ' '.repeat(widths[i]! - visibleLength(cell));
    return align[i] === 'r' ? gap + cell : cell + gap;
  };
  const line = (cells: string[]) => cells.map(pad).join('  ').trimEnd();
  return [style.bold(line(header)), style.dim(widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map(line)];
}

/** package, status, adapter, cache, duration, output size — one row per package in build order. */
export function summaryTable(results: readonly BuildResult[], style: Style): string[] {
  const rows = results.map((r) => {
    const status = r.status === 'success' ? style.green('✔ built') : r.status === 'failed' ? style.red('✖ failed') : style.yellow('- skipped');
    const adapter = r.adapter.name ? `${r.adapter.name} ${r.adapter.version ?? ''}`.trim() : '-';
    const cache = r.cache.status === 'hit' ? style.green(r.cache.restored ? 'hit (restored)' : 'hit') : r.cache.status === 'disabled' ? style.dim('off') : r.cache.status;
    const duration = r.status === 'skipped' ? '-' : formatDuration(r.durationMs);
    const size = r.status === 'success' ? formatBytes(r.artifacts.reduce((n, a) => n + a.bytes, 0)) : '-';
    return [r.package.name, status, adapter, cache, duration, size];
  });
  return renderTable(['package', 'status', 'adapter', 'cache', 'duration', 'output'], rows, style, ['l', 'l', 'l', 'l', 'r', 'r']);
}

/** The plan of `--dry-run` / `build:list` for people: build order, adapter, dependencies, cache (and why that adapter). */
export function planTable(plan: PlanResult, style: Style, opts: { reasons?: boolean } = {}): string[] {
  const rows = plan.packages.map((p, i) => [
    String(i + 1),
    p.name,
    p.available ? `${p.chosen} ${p.version ?? ''}`.trim() : style.red('unavailable'),
    // A dependency it does not wait for is one its bundler keeps external (services/dependency-needs.ts).
    p.dependencies.length ? p.dependencies.map((d) => (p.waitsFor.includes(d) ? d : `${d} ${style.dim('(external)')}`)).join(', ') : style.dim('-'),
    p.cache.status === 'disabled' ? style.dim('off') : p.cache.wouldHit ? style.green('would hit') : 'would build',
    ...(opts.reasons ? [p.available ? style.dim(p.reason) : ''] : []),
  ]);
  const header = ['#', 'package', 'adapter', 'depends on', 'cache', ...(opts.reasons ? ['why'] : [])];
  const lines = renderTable(header, rows, style, ['r']);
  for (const p of plan.packages) if (!p.available) lines.push(`${style.bold(p.name)}: ${style.red('✖')} ${p.reason}`);
  return lines;
}
