import type { Diagnostic } from '../result/schema.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageJson } from '../workspace/package-info.js';
import { checkConditionOrder } from './condition-order.js';
import { checkDeclarationImports } from './declaration-imports.js';
import { fieldPath, VALIDATION_CODES, validationWarning, type ValidationCode } from './diagnostics.js';
import { checkPublished, PublishRules } from './files-coverage.js';
import { checkModuleKinds } from './module-kinds.js';
import { isDeclaration, isJavaScript, PackageFiles } from './package-files.js';
import { collectTargets, type PackageTarget } from './package-targets.js';

export interface ValidationInput {
  /** Absolute package directory. */
  dir: string;
  /** Absolute workspace root (ignore files from there down decide what npm publishes). */
  workspaceRoot?: string;
  /** package.json as already read for this build. */
  manifest: PackageJson;
  /** outDir relative to the package (posix). */
  outDir: string;
  /** This build's artifacts, paths relative to the package (posix). */
  artifacts: readonly { path: string }[];
  /** Files outside outDir are checked through the run's read log. */
  reads: ReadLog;
  /** Text of an artifact (nested package.json files and declarations are asked for). */
  readArtifact?: (rel: string) => string | undefined;
}

/**
 * Checks what a build produced against what package.json promises, from the
 * artifacts in memory (outDir is not read again). Every problem is a warning
 * diagnostic on package.json with a stable code and the field path; the
 * rules of each check are with it (condition-order.ts, module-kinds.ts,
 * files-coverage.ts; existence below).
 */
export interface ValidationOutcome {
  diagnostics: Diagnostic[];
  /** Absolute paths outside outDir looked at on disk, found and absent (the build records them with its cache entry). */
  looked: { present: string[]; absent: string[] };
}

export function validatePackage(input: ValidationInput): ValidationOutcome {
  const { manifest } = input;
  const files = new PackageFiles({
    dir: input.dir,
    workspaceRoot: input.workspaceRoot,
    type: manifest.type === 'module' ? 'module' : 'commonjs',
    outDir: input.outDir,
    artifacts: input.artifacts.map((a) => a.path),
    reads: input.reads,
    readArtifact: input.readArtifact,
  });
  const { targets, problems } = collectTargets(manifest);
  const diagnostics = [...problems];
  const existing = checkExistence(targets, files, diagnostics);
  diagnostics.push(...checkConditionOrder(manifest.exports));
  const shipsTypes = targets.some((t) => t.source === 'types' || t.source === 'typings' || t.conditions.includes('types') || isDeclaration(t.path)) || input.artifacts.some((a) => isDeclaration(a.path));
  diagnostics.push(...checkModuleKinds({ manifest, files, targets, shipsTypes }));
  const declarations = input.artifacts.filter((a) => isDeclaration(a.path)).flatMap((a) => {
    const text = input.readArtifact?.(a.path);
    return text === undefined ? [] : [{ path: a.path, text }];
  });
  diagnostics.push(...checkDeclarationImports(manifest, declarations));
  // npm publishes the `bin` files (normalized), and `main`/`browser` matched as written (files-coverage.ts).
  const always = targets.filter((t) => t.source === 'bin').map((t) => t.path);
  for (const field of [manifest.main, manifest.browser]) if (typeof field === 'string' && !field.startsWith('./')) always.push(field.replace(/^\/+/, ''));
  // npm refuses to publish a private package: what it would leave out does not matter, and a warning on every build of
  // every internal package would only teach people to ignore warnings.
  if (manifest.private !== true) diagnostics.push(...checkPublished(new PublishRules(files, manifest.files, always), Array.isArray(manifest.files), existing));
  return { diagnostics, looked: files.diskLookups() };
}

const MISSING_CODE: Record<PackageTarget['source'], ValidationCode> = {
  exports: VALIDATION_CODES.exportMissing,
  main: VALIDATION_CODES.entryMissing,
  module: VALIDATION_CODES.entryMissing,
  types: VALIDATION_CODES.entryMissing,
  typings: VALIDATION_CODES.entryMissing,
  bin: VALIDATION_CODES.binMissing,
};

/** Node's legacy `main` lookup: the path as written, then with .js/.json/.node, then as a directory's index. */
const MAIN_SUFFIXES = ['', '.js', '.json', '.node', '/index.js', '/index.json', '/index.node'];

/**
 * Every target exists: inside outDir it is an artifact of this build (a file
 * left there by an older build does not count), outside it is a file on
 * disk; a `*` pattern inside outDir matches at least one artifact (outside
 * it is not expanded). Returns the files that exist with their fields, for
 * the `files` check: the targets, the artifacts patterns match, and the
 * declarations found beside JS targets.
 */
function checkExistence(targets: readonly PackageTarget[], files: PackageFiles, out: Diagnostic[]): { field: string; value: string; path: string }[] {
  const existing: { field: string; value: string; path: string }[] = [];
  for (const t of targets) {
    const field = fieldPath(t.segments);
    if (t.pattern) {
      const matched = files.matches(t.path);
      if (matched === null) continue;
      if (matched.length === 0) out.push(validationWarning(MISSING_CODE[t.source], field, `${t.value} matches no file this build produced in ${files.outDirName}`));
      for (const m of matched) existing.push({ field, value: t.value, path: m });
      continue;
    }
    const candidates = t.source === 'main' ? MAIN_SUFFIXES.map((s) => `${t.path}${s}`) : [t.path];
    const found = candidates.find((c) => files.exists(c));
    if (found === undefined) {
      out.push(validationWarning(MISSING_CODE[t.source], field, missingMessage(t, files)));
      continue;
    }
    existing.push({ field, value: t.value, path: found });
    if (isJavaScript(found)) {
      const beside = files.declarationBeside(found);
      if (beside.found && isDeclaration(beside.path)) existing.push({ field, value: t.value, path: beside.path });
    }
  }
  return existing;
}

function missingMessage(t: PackageTarget, files: PackageFiles): string {
  if (files.inOutDir(t.path)) {
    const instead = files.producesNearby(t.path);
    return `${t.value} is not produced by this build (outDir ${files.outDirName}${instead ? `; it produced ./${instead}` : ''})`;
  }
  return `${t.value} does not exist`;
}
