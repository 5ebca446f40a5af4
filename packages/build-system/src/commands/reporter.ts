import path from 'node:path';
import { formatIssue } from '../errors.js';
import type { BuildEvent } from '../events.js';
import type { BuildResult, RunResult } from '../result/schema.js';
import { toPosix } from '../util/paths.js';

/**
 * Turns events into lines for people. With --json the document goes to
 * stdout and everything else to stderr, so stdout stays one JSON document.
 */
export class LineReporter {
  constructor(
    private readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Where human lines go: stdout normally, stderr under --json. */
  private get human(): NodeJS.WritableStream {
    return this.json ? this.err : this.out;
  }

  onEvent = (event: BuildEvent): void => {
    switch (event.type) {
      case 'log':
        this.err.write(`${event.package}: ${event.line}\n`);
        break;
      case 'lock-wait':
        this.err.write(`${event.message}\n`);
        break;
      case 'package-done':
        this.printResult(event.result);
        break;
      default:
        break;
    }
  };

  printResult(r: BuildResult): void {
    const name = r.package.name;
    if (r.status === 'success') {
      const bytes = r.artifacts.reduce((n, a) => n + a.bytes, 0);
      const tool = r.adapter.name ? `${r.adapter.name} ${r.adapter.version}` : '';
      this.human.write(`✔ ${name}: built with ${tool} in ${Math.round(r.durationMs)} ms — ${r.artifacts.length} files, ${formatBytes(bytes)} in ${r.outDir ?? 'outDir'}\n`);
    } else if (r.status === 'skipped') {
      this.human.write(`- ${name}: skipped (${r.cache.reason ?? r.adapter.reason})\n`);
    } else {
      this.err.write(`✖ ${name}: ${r.error?.message ?? 'failed'}\n`);
      for (const d of r.diagnostics) {
        if (d.severity !== 'error' && d.severity !== 'warning') continue;
        const file = d.file ? toPosix(path.relative(process.cwd(), path.resolve(r.package.dir, d.file))) : undefined;
        const where = file ? `${file}${d.line ? `:${d.line}${d.column ? `:${d.column}` : ''}` : ''}: ` : '';
        if (r.error?.code !== 'BUILD_FAILED' && d.message && r.error?.message.endsWith(d.message)) continue;
        this.err.write(`  ${where}${d.severity}${d.code ? ` ${d.code}` : ''}: ${d.message}\n`);
      }
      if (r.error?.code === 'BUILD_FAILED' && r.diagnostics.length === 0 && r.logTail?.length) {
        for (const line of r.logTail.slice(-15)) this.err.write(`  | ${line}\n`);
      }
    }
  }

  printRun(run: RunResult): void {
    if (this.json) {
      this.out.write(`${JSON.stringify(run, null, 2)}\n`);
      return;
    }
    if (run.error) {
      for (const issue of run.error.issues ?? [{ message: run.error.message, file: run.error.file, field: run.error.field }]) {
        this.err.write(`${formatIssue(issue)}\n`);
      }
    }
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
