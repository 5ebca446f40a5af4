import type { Diagnostic } from '../result/schema.js';
import type { PackageJson } from '../workspace/package-info.js';
import { fieldPath, VALIDATION_CODES, validationWarning } from './diagnostics.js';
import { exportSubpaths, resolveExport } from './exports-resolve.js';
import { isDeclaration, isJavaScript, type ModuleKind, type PackageFiles } from './package-files.js';
import { normalizeTarget, type PackageTarget } from './package-targets.js';

/**
 * Module kinds per condition, as Node and TypeScript (moduleResolution
 * node16/nodenext) resolve each `exports` subpath for an importer in each mode:
 * - `import`: Node matches import, node, default; TypeScript types, import, node, default;
 * - `require`: the same with require instead of import.
 * Checked for each subpath and mode:
 * - PKG_TYPES_MASQUERADE: the declaration TypeScript resolves must be of the
 *   module kind of the JS file Node loads for the same importer (.d.mts and
 *   .d.cts say it, .d.ts follows the nearest package.json `type`); for a
 *   types-only subpath (no JS for any importer) the mode decides (import:
 *   ESM, require: CommonJS); a mode Node cannot load the subpath in (an
 *   ESM-only package under require) is skipped. Otherwise TypeScript checks
 *   imports against the wrong module system: attw's "masquerading as ESM/CJS".
 * - PKG_TYPES_MISSING: when TypeScript resolves a JS file (no `types`
 *   condition on the way), it looks for the declaration beside it (x.js →
 *   x.d.ts, x.mjs → x.d.mts, x.cjs → x.d.cts); for a package that ships types
 *   that file must exist, or the import is untyped.
 * Without `exports`, the same holds for `types`/`typings` against `main`
 * (or the declaration beside `main`).
 * And for every JS target by the conditions written above it
 * (PKG_MODULE_KIND): under `require` it must be CommonJS (Node before 20.19
 * cannot require ESM; attw: "CJS resolves to ESM"); under `module` (read only
 * by bundlers, which expect ESM) and as the top-level `module` field it must
 * be ESM. A CommonJS file under `import` is fine: Node imports CommonJS.
 */

const MODES = [
  { name: 'import', node: new Set(['import', 'node']), ts: new Set(['types', 'import', 'node']), fallback: 'esm' },
  { name: 'require', node: new Set(['require', 'node']), ts: new Set(['types', 'require', 'node']), fallback: 'cjs' },
] as const;

export interface ModuleKindCheck {
  manifest: PackageJson;
  files: PackageFiles;
  targets: readonly PackageTarget[];
  /** The package promises declarations (types fields or conditions) or the build produced some. */
  shipsTypes: boolean;
}

export function checkModuleKinds(input: ModuleKindCheck): Diagnostic[] {
  const found = new Map<string, Diagnostic>();
  const add = (d: Diagnostic) => {
    const key = `${d.code} ${d.field}`;
    if (!found.has(key)) found.set(key, d);
  };
  checkExportsTypes(input, add);
  if (input.manifest.exports === undefined) checkRootTypes(input, add);
  checkJsConditions(input, add);
  return [...found.values()];
}

function checkExportsTypes({ manifest, files, shipsTypes }: ModuleKindCheck, add: (d: Diagnostic) => void): void {
  for (const subpath of exportSubpaths(manifest.exports)) {
    // A subpath with JS for some importer but none for this one (ESM-only: no require, no default) cannot be loaded
    // in this mode at all; the types saying ESM there is right (TypeScript reports the require), nothing masquerades.
    const hasJs = MODES.some((m) => isJavaScript(resolveExport(manifest.exports, subpath, m.node)?.value ?? ''));
    for (const mode of MODES) {
      const types = resolveExport(manifest.exports, subpath, mode.ts);
      if (!types) continue;
      const js = resolveExport(manifest.exports, subpath, mode.node);
      if (hasJs && !(js && isJavaScript(js.value))) continue;
      const jsPath = js && isJavaScript(js.value) ? normalizeTarget(js.value) : null;
      const typesPath = normalizeTarget(types.value);
      const field = fieldPath(types.segments);
      if (isDeclaration(typesPath)) {
        if (!present(files, typesPath)) continue;
        const expected: ModuleKind | null = jsPath ? files.jsKind(jsPath) : mode.fallback;
        const actual = files.dtsKind(typesPath);
        if (actual && expected && actual !== expected) add(masquerade(field, mode.name, types.value, actual, js?.value, expected, files));
      } else if (isJavaScript(typesPath) && shipsTypes) {
        const missing = jsFiles(files, typesPath).map((p) => files.declarationBeside(p)).find((d) => !d.found);
        if (missing) {
          add(
            validationWarning(
              VALIDATION_CODES.typesMissing,
              field,
              `TypeScript resolves ${types.value} for ${mode.name} and finds no ./${missing.path} beside it: add a "types" condition first in this object, or emit that declaration`,
            ),
          );
        }
      }
    }
  }
}

/** No `exports`: TypeScript reads `types`/`typings`, else looks beside `main`; Node loads `main`. */
function checkRootTypes({ manifest, files, targets, shipsTypes }: ModuleKindCheck, add: (d: Diagnostic) => void): void {
  const main = targets.find((t) => t.source === 'main');
  const mainPath = main && isJavaScript(main.path) ? main.path : null;
  const types = targets.find((t) => t.source === 'types') ?? targets.find((t) => t.source === 'typings');
  if (types && isDeclaration(types.path)) {
    if (!files.exists(types.path)) return;
    const expected = mainPath ? files.jsKind(mainPath) : manifest.type === 'module' ? 'esm' : 'cjs';
    const actual = files.dtsKind(types.path);
    if (actual && expected && actual !== expected) add(masquerade(fieldPath(types.segments), 'an importer', types.value, actual, main?.value, expected, files));
    return;
  }
  if (!types && mainPath && shipsTypes && files.exists(mainPath)) {
    const beside = files.declarationBeside(mainPath);
    if (!beside.found) add(validationWarning(VALIDATION_CODES.typesMissing, 'main', `TypeScript finds no ./${beside.path} beside ${main!.value} and the package has no "types": add "types" or emit that declaration`));
  }
}

function checkJsConditions({ files, targets }: ModuleKindCheck, add: (d: Diagnostic) => void): void {
  for (const t of targets) {
    if (!isJavaScript(t.path)) continue;
    let expected: ModuleKind | null = null;
    let because = '';
    if (t.source === 'module') {
      expected = 'esm';
      because = 'the "module" field is read by bundlers as ESM';
    } else if (t.source === 'exports') {
      const condition = [...t.conditions].reverse().find((c) => c === 'require' || c === 'module');
      if (condition === 'require') {
        expected = 'cjs';
        because = '"require" needs CommonJS (Node < 20.19 cannot require ESM)';
      } else if (condition === 'module') {
        expected = 'esm';
        because = 'the "module" condition is read by bundlers as ESM';
      }
    }
    if (!expected) continue;
    const actual = files.jsKind(t.path);
    if (actual && actual !== expected) {
      add(validationWarning(VALIDATION_CODES.moduleKind, fieldPath(t.segments), `${t.value} is ${kindText(t.path, actual)} but ${because}: use a ${expected === 'cjs' ? '.cjs' : '.mjs'} file here`));
    }
  }
}

function masquerade(field: string, mode: string, typesValue: string, actual: ModuleKind, jsValue: string | undefined, expected: ModuleKind, files: PackageFiles): Diagnostic {
  const typesPath = normalizeTarget(typesValue);
  const loads = jsValue ? `Node loads ${jsValue}, ${kindText(normalizeTarget(jsValue), expected)}` : `${mode} expects ${expected === 'esm' ? 'ESM' : 'CommonJS'}`;
  const fix = expected === 'cjs' ? '.d.cts' : '.d.mts';
  return validationWarning(
    VALIDATION_CODES.typesMasquerade,
    field,
    `types masquerading as ${actual === 'esm' ? 'ESM' : 'CJS'}: TypeScript resolves ${typesValue} for ${mode}, ${kindText(typesPath, actual)}, but ${loads}; give it a ${fix} declaration`,
  );
}

/** "ESM (.d.ts in a "type": "module" package)", "CommonJS (.cjs)". */
function kindText(rel: string, kind: ModuleKind): string {
  const name = kind === 'esm' ? 'ESM' : 'CommonJS';
  const ext = /(\.d)?\.(m|c)?[jt]s$/.exec(rel)?.[0] ?? '';
  if (ext === '.js' || ext === '.d.ts') return `${name} (${ext} under "type": "${kind === 'esm' ? 'module' : 'commonjs'}")`;
  return `${name} (${ext})`;
}

/** A target exists (a pattern: matches at least one artifact, or cannot be expanded). */
function present(files: PackageFiles, rel: string): boolean {
  if (!rel.includes('*')) return files.exists(rel);
  const m = files.matches(rel);
  return m === null || m.length > 0;
}

/** The JS files a target stands for: itself when it exists, a pattern's matches. */
function jsFiles(files: PackageFiles, rel: string): string[] {
  if (!rel.includes('*')) return files.exists(rel) ? [rel] : [];
  return files.matches(rel) ?? [];
}
