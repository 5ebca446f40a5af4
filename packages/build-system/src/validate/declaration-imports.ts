import { builtinModules } from 'node:module';
import type { Diagnostic } from '../result/schema.js';
import type { PackageJson } from '../workspace/package-info.js';
import { VALIDATION_CODES } from './diagnostics.js';
import { isDeclaration } from './package-files.js';
import { packageOf, typesPackageOf } from '../util/package-name.js';

/**
 * The packages a published declaration file imports must be installed
 * wherever the package is: a dependency, a peer or an optional dependency
 * (or `@types/<name>` as one). A devDependency is not installed for the
 * package's users; neither is a private workspace package. Bundled into the
 * JS (tsdown's `alwaysBundle`, a devDependency esbuild inlined), such a
 * package leaves its types behind: kubb's `@kubb/core` declarations import
 * `@internals/utils`, a private package, so its users' `Url` became `any`
 * (TS2307 without skipLibCheck). TypeScript's declaration emit never inlines
 * another package's types; the check says where that bites.
 *
 * One warning per imported package, at its first import (file and line),
 * counting the other files. Node's built-ins (`node:fs`, `fs`) and Bun's
 * (`bun`, `bun:test`) are left to `@types/node` and `@types/bun`, which the
 * package's users provide as they do for any library of that runtime;
 * `/// <reference types>` directives are left alone for the same reason. Not run for a private package: it is never published.
 */

/** Runtime modules the package's users get types for as they do for the runtime itself (`@types/node`, `@types/bun`). */
const BUILTINS: ReadonlySet<string> = new Set([...builtinModules, 'bun']);

export interface DeclarationText {
  /** Path relative to the package (posix). */
  path: string;
  text: string;
}

/** The fields of `manifest` that name `name` or its DefinitelyTyped package (`@scope/x` → `@types/scope__x`). */
function fieldsNaming(manifest: PackageJson, name: string): string[] {
  const m = manifest as Record<string, unknown>;
  const typesName = typesPackageOf(name);
  return ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies'].filter((field) => {
    const deps = m[field];
    return typeof deps === 'object' && deps !== null && (name in deps || typesName in deps);
  });
}

/** What a module specifier follows: `from '…'`, `import '…'`, `import('…')`, `require('…')` (`import x = require` in .d.cts). */
const BEFORE_SPECIFIER = /(?:^|[^\w$.])(?:from|import|import\s*\(|require\s*\()\s*$/;

/**
 * The module specifiers of a declaration file with their offsets: string
 * literals that follow an import form, outside comments (a JSDoc example's
 * `import { x } from 'lib'` is no import) and outside other strings (a type
 * `'composes-from' | 'url-token'` is none either).
 */
export function importSpecifiers(text: string): { specifier: string; index: number }[] {
  const found: { specifier: string; index: number }[] = [];
  // The code before the current position, comments and strings left out: what a literal follows.
  let code = '';
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
      code += ' ';
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && !(c !== '`' && text[j] === '\n')) j += text[j] === '\\' ? 2 : 1;
      if (c !== '`' && BEFORE_SPECIFIER.test(code.slice(-40))) found.push({ specifier: text.slice(i + 1, j), index: i });
      code += ' _ ';
      i = j + 1;
    } else {
      code += c;
      i += 1;
    }
  }
  return found;
}

export function checkDeclarationImports(manifest: PackageJson, declarations: readonly DeclarationText[]): Diagnostic[] {
  if ((manifest as { private?: unknown }).private === true) return [];
  const firstUse = new Map<string, { path: string; line: number; files: Set<string> }>();
  for (const { path, text } of declarations) {
    if (!isDeclaration(path)) continue;
    for (const { specifier, index } of importSpecifiers(text)) {
      const name = packageOf(specifier);
      if (!name || name === manifest.name || BUILTINS.has(name) || fieldsNaming(manifest, name).some((f) => f !== 'devDependencies')) continue;
      const seen = firstUse.get(name);
      if (seen) seen.files.add(path);
      else firstUse.set(name, { path, line: text.slice(0, index).split('\n').length, files: new Set([path]) });
    }
  }
  return [...firstUse].map(([name, use]) => {
    const dev = fieldsNaming(manifest, name).includes('devDependencies');
    const others = use.files.size - 1;
    return {
      severity: 'warning',
      code: VALIDATION_CODES.typesImportUndeclared,
      file: use.path,
      line: use.line,
      field: 'dependencies',
      message:
        `imports types from '${name}'${others > 0 ? ` (and ${others} more declaration file${others === 1 ? '' : 's'})` : ''}, which ` +
        `${dev ? 'is only a devDependency' : 'is not a dependency'}: the package's users do not install it, so TypeScript gives them any for those types ` +
        `(TS2307 without skipLibCheck). Add it to dependencies or peerDependencies, or keep its types out of the published declarations`,
    };
  });
}
