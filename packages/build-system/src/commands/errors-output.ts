import { formatIssue, isBuildSystemError, type ErrorIssue } from '../errors.js';
import type { BuildEvent } from '../events.js';

/** A BuildSystemError, or its JSON form as a plan or run result carries it (`issues` may be absent there). */
export type ReportedError = ErrorIssue & { readonly issues?: readonly ErrorIssue[] };

/**
 * An error as the commands show it: one line per issue on stderr and, when
 * `jsonFields` is given (i.e. under --json), the document `{ ...jsonFields, error }`
 * on stdout (JSON.stringify turns a BuildSystemError into its toJSON() form).
 */
export function printError(error: ReportedError, jsonFields?: Record<string, unknown>): void {
  for (const issue of error.issues ?? [error]) process.stderr.write(`${formatIssue(issue)}\n`);
  if (jsonFields) process.stdout.write(`${JSON.stringify({ ...jsonFields, error }, null, 2)}\n`);
}

/**
 * How a command ends on a thrown error: a BuildSystemError is printed (see
 * printError) and sets the exit code; anything else is rethrown.
 */
export function failCommand(e: unknown, jsonFields?: Record<string, unknown>): void {
  if (!isBuildSystemError(e)) throw e;
  printError(e, jsonFields);
  process.exitCode = e.exitCode;
}

/** A run-level warning event on stderr, as the build's line reporter prints it; for commands without a reporter (list, --dry-run). */
export function printWarningEvent(event: BuildEvent): void {
  if (event.type === 'warning') process.stderr.write(`build-system: warning: ${event.message}\n`);
}
