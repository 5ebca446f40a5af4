/**
 * Errors as values with locations. Every failure the user can act on is a
 * `BuildSystemError` with a stable `code`, the package it concerns, and — where
 * it comes from a file — the file and the field inside it. `toString()` gives
 * the one line a person reads: `<file>: <field>: <message>`.
 */

export type ErrorCode =
  | 'CONFIG_INVALID' // the config file parsed but its values are wrong
  | 'CONFIG_SYNTAX' // the config file could not be parsed/evaluated
  | 'CONFIG_LOAD' // the config file threw while being evaluated
  | 'ENTRY_NOT_FOUND'
  | 'PATH_ESCAPES_PACKAGE'
  | 'ADAPTER_UNAVAILABLE'
  | 'PACKAGE_NOT_FOUND'
  | 'PACKAGE_JSON_INVALID'
  | 'WORKSPACE_CYCLE'
  | 'USAGE'
  | 'LOCK_TIMEOUT'
  | 'LOCK_LOST' // another process took the lock over before outputs were published
  | 'BUILD_FAILED'
  | 'INTERNAL';

/** Exit code a CLI process ends with for each error code. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'BUILD_FAILED':
    case 'LOCK_LOST':
    case 'INTERNAL':
      return 1;
    case 'LOCK_TIMEOUT':
      return 3;
    default:
      return 2;
  }
}

export interface ErrorLocation {
  /** Package name (or directory when the name is unknown). */
  package?: string;
  /** File the problem is in, relative to the current working directory when shown. */
  file?: string;
  /** Dotted field path inside the file, e.g. `entry.index` or `format[1]`. */
  field?: string;
  line?: number;
  column?: number;
}

export interface ErrorIssue extends ErrorLocation {
  message: string;
}

export class BuildSystemError extends Error {
  readonly code: ErrorCode;
  readonly package?: string;
  readonly file?: string;
  readonly field?: string;
  readonly line?: number;
  readonly column?: number;
  /** Further problems of the same kind (one line each), e.g. every bad config field. */
  readonly issues: ErrorIssue[];

  constructor(code: ErrorCode, message: string, location: ErrorLocation & { issues?: ErrorIssue[]; cause?: unknown } = {}) {
    super(message, location.cause === undefined ? undefined : { cause: location.cause });
    this.name = 'BuildSystemError';
    this.code = code;
    this.package = location.package;
    this.file = location.file;
    this.field = location.field;
    this.line = location.line;
    this.column = location.column;
    this.issues = location.issues ?? [
      { package: location.package, file: location.file, field: location.field, line: location.line, column: location.column, message },
    ];
  }

  get exitCode(): number {
    return exitCodeFor(this.code);
  }

  /** One line per issue: `file:line:column: field: message`. */
  lines(): string[] {
    return this.issues.map(formatIssue);
  }

  toJSON() {
    return {
      code: this.code,
      message: this.message,
      package: this.package,
      file: this.file,
      field: this.field,
      line: this.line,
      column: this.column,
      issues: this.issues,
    };
  }
}

export function formatIssue(issue: ErrorIssue): string {
  let where = issue.file ?? issue.package ?? '';
  if (issue.file && issue.line !== undefined) {
    where += `:${issue.line}`;
    if (issue.column !== undefined) where += `:${issue.column}`;
  }
  const parts = [where, issue.field, issue.message].filter((p) => p !== undefined && p !== '');
  return parts.join(': ');
}

export function isBuildSystemError(e: unknown): e is BuildSystemError {
  return e instanceof BuildSystemError || (typeof e === 'object' && e !== null && (e as { name?: string }).name === 'BuildSystemError');
}
