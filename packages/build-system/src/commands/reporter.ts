import { formatBytes } from '../util/bytes.js';
import { formatIssue } from '../errors.js';
import type { BuildEvent } from '../events.js';
import { runHints } from '../result/run-hints.js';
import type { BuildResult, Diagnostic, RunResult } from '../result/schema.js';
import type { RunPlan } from '../services/workspace.service.js';
import { relativeFile } from '../util/paths.js';
import { counted, createStyle, formatDuration, type Style } from './terminal.js';

/** What the build command talks to: a plain line reporter or the live progress view. */
export interface Reporter {
  onPlan(plan: RunPlan): void;
  onEvent(event: BuildEvent): void;
  /** A message for people outside any package (e.g. "cancelling…"), printed where it does not break the view. */
  notice(message: string): void;
  printRun(run: RunResult): void;
}

/**
 * Turns events into lines for people, each prefixed with its package
 * (`@demo/core: ...`) so parallel builds stay readable when interleaved, in CI
 * logs and pipes. With --json the document goes to stdout and everything else
 * to stderr, so stdout stays one JSON document.
 */
export class LineReporter implements Reporter {
  constructor(
    private readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
    private readonly style: Style = createStyle(false),
  ) {}

  /** Where human lines go: stdout normally, stderr under --json. */
  private get human(): NodeJS.WritableStream {
    return this.json ? this.err : this.out;
  }

  onPlan(_plan: RunPlan): void {}

  notice(message: string): void {
    this.err.write(`${message}\n`);
  }

  onEvent = (event: BuildEvent): void => {
    switch (event.type) {
      case 'log':
        this.err.write(`${event.package}: ${event.line}\n`);
        break;
      case 'lock-wait':
        this.err.write(`${event.message}\n`);
        break;
      case 'warning':
        this.err.write(`build-system: ${this.style.yellow('warning')}: ${event.message}\n`);
        break;
      case 'package-done':
        this.printResult(event.result);
        break;
      default:
        break;
    }
  };

  printResult(r: BuildResult): void {
    const name = this.style.bold(r.package.name);
    if (r.status === 'success') {
      const bytes = r.artifacts.reduce((n, a) => n + a.bytes, 0);
      const tool = r.adapter.name ? `${r.adapter.name} ${r.adapter.version}` : '';
      const cache = r.cache.status === 'hit' ? ` (${r.cache.source === 'remote' ? 'remote cache hit' : 'cache hit'}${r.cache.restored ? ', restored' : ''})` : '';
      // Every adapter that emits reports its files: a tsc success with none is a type-check-only target (emit: false).
      if (r.artifacts.length === 0 && r.adapter.name === 'tsc') this.human.write(`${name}: ${this.style.green('✔')} checked with ${tool} in ${Math.round(r.durationMs)} ms${cache} (type-check only, nothing written)\n`);
      else this.human.write(`${name}: ${this.style.green('✔')} built with ${tool} in ${Math.round(r.durationMs)} ms${cache} — ${counted(r.artifacts.length, 'file')}, ${formatBytes(bytes)} in ${r.outDir ?? 'outDir'}\n`);
      for (const line of diagnosticLines(r, this.style, 'warning')) this.err.write(`${name}: ${line}\n`);
    } else if (r.status === 'skipped') {
      this.human.write(`${name}: ${this.style.yellow('-')} skipped (${r.cache.reason ?? r.adapter.reason})\n`);
    } else {
      for (const line of failureLines(r, this.style)) this.err.write(`${line}\n`);
    }
  }

  printRun(run: RunResult): void {
    if (this.json) this.out.write(`${JSON.stringify(run, null, 2)}\n`);
    if (run.error) {
      for (const issue of run.error.issues ?? [{ message: run.error.message, file: run.error.file, field: run.error.field }]) {
        this.err.write(`${formatIssue(issue)}\n`);
      }
      return;
    }
    if (run.results.length > 1) this.human.write(`${runSummaryLine(run, this.style)}\n`);
    for (const line of runHintLines(run, this.style)) this.err.write(`${line}\n`);
  }
}

/** The run's workspace-wide hints (result/run-hints.ts), each once: `hint: <message> (<packages>)`. */
export function runHintLines(run: RunResult, style: Style): string[] {
  return runHints(run.results).map((hint) => `${style.cyan('hint')}: ${hint}`);
}

/** `5 packages: 3 built (1 cached), 1 failed, 1 skipped in 2.1 s · concurrency 2 · critical path a → b (1.8 s)` */
export function runSummaryLine(run: RunResult, style: Style): string {
  const count = (s: BuildResult['status']) => run.results.filter((r) => r.status === s).length;
  const cached = run.results.filter((r) => r.cache.status === 'hit').length;
  // With a remote cache configured, say where the hits came from: that is what the remote is for.
  const remote = run.results.filter((r) => r.cache.status === 'hit' && r.cache.source === 'remote').length;
  const where = run.cache?.remote || remote > 0 ? `: ${cached - remote} local, ${remote} remote` : '';
  const parts = [
    `${count('success')} built${cached ? ` (${cached} cached${where})` : ''}`,
    count('failed') ? style.red(`${count('failed')} failed`) : '0 failed',
    count('skipped') ? style.yellow(`${count('skipped')} skipped`) : '0 skipped',
  ];
  let line = `${counted(run.results.length, 'package')}: ${parts.join(', ')} in ${formatDuration(run.durationMs)}`;
  if (run.cancelled) line += ` ${style.yellow('(cancelled)')}`;
  if (run.concurrency) line += ` · concurrency ${run.concurrency}`;
  if (run.criticalPath && run.criticalPath.packages.length > 1) {
    line += ` · critical path ${run.criticalPath.packages.join(' → ')} (${formatDuration(run.criticalPath.durationMs)})`;
  }
  return line;
}

/** Diagnostics of a result as `file:line:col: severity code: message` lines (paths relative to the cwd). */
export function diagnosticLines(r: BuildResult, style: Style, only?: 'warning'): string[] {
  const lines: string[] = [];
  // The diagnostic the failure line already shows (error.message) is not printed again: each once.
  let shown = r.error ? r.diagnostics.find((d) => isShownInError(r, d)) : undefined;
  for (const d of r.diagnostics) {
    if (d.severity !== 'error' && d.severity !== 'warning') continue;
    if (only && d.severity !== only) continue;
    if (d === shown) {
      shown = undefined;
      continue;
    }
    const where = shownLocation(r, d);
    const severity = d.severity === 'error' ? style.red('error') : style.yellow('warning');
    lines.push(`  ${where}${severity}${d.code ? ` ${d.code}` : ''}: ${d.field ? `${d.field}: ` : ''}${shortened(d.message)}`);
  }
  return lines;
}

/** `file:line:col: ` of a diagnostic as the terminal shows it: the file relative to the cwd, so it opens from there. */
function shownLocation(r: BuildResult, d: Diagnostic): string {
  if (!d.file) return '';
  const file = relativeFile(process.cwd(), r.package.dir, d.file);
  return `${file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: `;
}

/** Lines of one diagnostic a terminal gets; the JSON result keeps them all. */
const MESSAGE_LINES = 12;

/**
 * A message cut to MESSAGE_LINES lines, its hint kept. TypeScript's elaborations
 * ("The file is in the program because: Imported via …" per importer) ran to
 * ninety lines for one TS6059 on a real repo, burying the next diagnostic.
 */
export function shortened(message: string): string {
  const lines = message.split('\n');
  if (lines.length <= MESSAGE_LINES) return message;
  const hint = lines.at(-1)!.startsWith('hint: ') ? [lines.at(-1)!] : [];
  const body = hint.length ? lines.slice(0, -1) : lines;
  const kept = body.slice(0, MESSAGE_LINES - 1 - hint.length);
  return [...kept, `  … ${body.length - kept.length} more lines (--json has the whole message)`, ...hint].join('\n');
}

/**
 * A build failure's message is its first error as `file:line:col: message`
 * (build.service.ts); any other failure's message ends with the one issue's text.
 */
function isShownInError(r: BuildResult, d: Diagnostic): boolean {
  const message = r.error?.message;
  if (!message || !d.message) return false;
  if (r.error!.code !== 'BUILD_FAILED') return message.endsWith(d.message);
  const where = d.file ? `${d.file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
  return d.severity === 'error' && message === `${where}${d.message}`;
}

/** What a person needs about a failed package, each line prefixed with its name. */
export function failureLines(r: BuildResult, style: Style): string[] {
  const name = style.bold(r.package.name);
  // The first error with its code and its file relative to the cwd, as the lines below give theirs
  // (`packages/app/src/index.ts:1:19: TS2307: Cannot find module…`); the result's message keeps the package-relative file.
  const first = r.error ? r.diagnostics.find((d) => isShownInError(r, d)) : undefined;
  const where = first?.file ? `${first.file}${first.line ? `:${first.line}${first.column ? `:${first.column}` : ''}` : ''}: ` : '';
  const message =
    first && r.error!.message.startsWith(where)
      ? `${shownLocation(r, first)}${first.code ? `${first.code}: ` : ''}${r.error!.message.slice(where.length)}`
      : (r.error?.message ?? 'failed');
  const lines = [`${name}: ${style.red('✖')} ${shortened(message)}`];
  for (const line of diagnosticLines(r, style)) lines.push(`${name}: ${line}`);
  if (r.error?.code === 'BUILD_FAILED' && r.diagnostics.length === 0 && r.logTail?.length) {
    for (const line of r.logTail.slice(-15)) lines.push(`${name}:   | ${line}`);
  }
  return lines;
}

export { formatBytes } from '../util/bytes.js';
