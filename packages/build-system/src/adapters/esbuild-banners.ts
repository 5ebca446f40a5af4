import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as Esbuild from 'esbuild';
import type { Format } from '../config/schema.js';
import { JS_FILE } from './output.js';

/** What the esbuild adapter puts above the code: the require stand-in's fix and the Node shims. */

/**
 * ESM for Node that bundles CommonJS (a dependency calling `require('node:os')`):
 * esbuild turns each such call into its `__require` stand-in, which throws
 * "Dynamic require of ... is not supported" at run time unless a `require` is
 * in scope. tsdown's output imports createRequire for this; here the format is
 * built once more with this banner when the first output has the stand-in —
 * unless the bundle declares a top-level `require` of its own, which the
 * banner would collide with (then a warning says what will fail).
 */
const DYNAMIC_REQUIRE = 'Dynamic require of "';
export const REQUIRE_BANNER = 'import { createRequire as __buildSystemCreateRequire } from "node:module";\nconst require = __buildSystemCreateRequire(import.meta.url);';
const OWN_REQUIRE = /^(?:(?:var|let|const|function|class)\s+require\b|import\b[^\n;]*[{,\s]require[\s,}])/m;

/**
 * 'banner': build again with REQUIRE_BANNER; 'conflict': the stand-in is there but a banner cannot
 * define require; undefined: nothing to do. The metafile tells without reading the outputs: an
 * external `require-call` import in an ESM output is exactly a call esbuild left to its stand-in.
 * Only such an output is read, for the conflict check.
 */
export function requireShimNeed(pkgDir: string, outputs: Esbuild.Metafile['outputs']): 'banner' | 'conflict' | undefined {
  let need: 'banner' | 'conflict' | undefined;
  for (const [rel, output] of Object.entries(outputs)) {
    if (!JS_FILE.test(rel) || !output.imports.some((i) => i.kind === 'require-call' && i.external)) continue;
    const text = readFileSync(path.resolve(pkgDir, rel), 'utf8');
    if (!text.includes(DYNAMIC_REQUIRE)) continue;
    if (OWN_REQUIRE.test(text)) return 'conflict';
    need = 'banner';
  }
  return need;
}

/**
 * `shims: true` (tsup's and tsdown's option of that name): what a module of
 * the other format reads that this one lacks. CommonJS has no import.meta
 * (esbuild leaves `{}`: import.meta.url is undefined); ESM has no __dirname
 * and __filename. Defined as names the banner sets, so only free uses are
 * replaced, not a module's own variables of those names.
 */
export const SHIMS: Partial<Record<Format, { banner: string; define: Record<string, string> }>> = {
  cjs: {
    banner: 'var __buildSystemImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
    define: { 'import.meta.url': '__buildSystemImportMetaUrl' },
  },
  esm: {
    banner: [
      'import { fileURLToPath as __buildSystemFileURLToPath } from "node:url";',
      'import { dirname as __buildSystemDirname } from "node:path";',
      'const __buildSystemFilename = __buildSystemFileURLToPath(import.meta.url);',
      'const __buildSystemDirnameValue = __buildSystemDirname(__buildSystemFilename);',
    ].join('\n'),
    define: { __filename: '__buildSystemFilename', __dirname: '__buildSystemDirnameValue' },
  },
};
