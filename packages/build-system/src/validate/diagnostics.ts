import type { Diagnostic } from '../result/schema.js';

/**
 * The codes of package.json validation (src/validate): stable, documented in
 * data-model.md. Every one is a warning on `package.json` with the field path
 * of the value at fault (PKG_TYPES_IMPORT_UNDECLARED: on the declaration file
 * and line, field `dependencies`); `--strict` turns them into a failed build.
 */
export const VALIDATION_CODES = {
  /** An `exports` target (or a `*` pattern's) that this build did not produce / that is not on disk. */
  exportMissing: 'PKG_EXPORT_MISSING',
  /** `main`, `module`, `types` or `typings` names a file that does not exist. */
  entryMissing: 'PKG_ENTRY_MISSING',
  /** A `bin` target that does not exist. */
  binMissing: 'PKG_BIN_MISSING',
  /** An `exports` value Node refuses: a target not starting with `./`, leaving the package, or keys mixing subpaths and conditions. */
  exportInvalid: 'PKG_EXPORT_INVALID',
  /** `types` is not the first condition of its object, so a condition before it wins for TypeScript. */
  typesFirst: 'PKG_TYPES_FIRST',
  /** `default` is not the last condition: every key after it is unreachable. */
  defaultLast: 'PKG_DEFAULT_LAST',
  /** `module` after `require` in one object: bundlers that match both take the CJS file. */
  moduleBeforeRequire: 'PKG_MODULE_BEFORE_REQUIRE',
  /** The declaration TypeScript resolves is of the other module kind than the JS Node loads (attw: "masquerading as ESM/CJS"). */
  typesMasquerade: 'PKG_TYPES_MASQUERADE',
  /** The package ships types but TypeScript finds none for a JS target (no `types` condition and no declaration beside it). */
  typesMissing: 'PKG_TYPES_MISSING',
  /** A JS target whose module kind does not fit its condition (`require` → CommonJS, `import`/`module` → ESM). */
  moduleKind: 'PKG_MODULE_KIND',
  /** A target that `files` does not cover: npm would not publish it. */
  filesUncovered: 'PKG_FILES_UNCOVERED',
  /** A declaration file imports a package its users do not install (a devDependency, or none): its types become any (declaration-imports.ts). */
  typesImportUndeclared: 'PKG_TYPES_IMPORT_UNDECLARED',
} as const;

export type ValidationCode = (typeof VALIDATION_CODES)[keyof typeof VALIDATION_CODES];

const CODES: ReadonlySet<string> = new Set(Object.values(VALIDATION_CODES));

/** True for a diagnostic the package.json validation produced (the ones `--strict` turns into errors). */
export function isValidationDiagnostic(d: Pick<Diagnostic, 'code'>): boolean {
  return d.code !== undefined && CODES.has(d.code);
}

export function validationWarning(code: ValidationCode, field: string, message: string): Diagnostic {
  return { severity: 'warning', message, file: 'package.json', field, code };
}

/** `exports["./utils"].require.types`: one formatter for field paths, shared with the manifest walk. */
export { fieldPath } from '../util/manifest-targets.js';
