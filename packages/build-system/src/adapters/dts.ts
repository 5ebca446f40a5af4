import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { isInside, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { placeDeclarations } from './declarations-naming.js';
import { fileOutsideRootDir } from './tsc-hints.js';
import { checkTypeScript } from './declaration-tools.js';
import { emitIsolatedDeclarations, emitterMissingHint, planIsolatedDeclarations, type IsolatedPlan } from './isolated-dts.js';
import { runPackageTsc } from './tsc-runner.js';
import type { AdapterContext, AdapterOutput, ToolAvailability } from './types.js';

/**
 * Declarations for bundled packages: after esbuild/bun/rollup wrote the JS,
 * the package's own tsc runs with --emitDeclarationOnly into the same staging
 * dir (rootDir = config.sourceRoot, so src/index.ts -> <outDir>/index.d.ts,
 * beside the bundle's index.js), and the declarations are then named per
 * built format and given an alias per entry (declarations-naming.ts). Type
 * errors fail the build: the declarations of a program that does not
 * type-check are not trustworthy. The tsconfig is chosen as for the tsc
 * adapter (adapterOptions.tsc.project, tsconfig.build.json, tsconfig.json,
 * else the entries on the command line).
 *
 * The program is the entries and what they import, plus the declaration
 * files the tsconfig includes, not the tsconfig's whole file list (tests)
 * — see declarations-program.ts.
 *
 * Entries from elsewhere in the workspace (config.outsideEntries): their
 * sources are not below the package's source root, which tsc refuses
 * (TS6059). The declarations run then gets the nearest directory holding the
 * source root and every such source as rootDir, so the tree below outDir
 * keeps the workspace layout from there (e.g. cli/src/index.d.ts and
 * core/src/index.d.ts), and every entry is reached through its alias file
 * (<entry>.d.ts). The same widening happens after the fact when an entry
 * imports a file of this package outside the entries' directory: the run
 * fails with TS6059 naming it, and runs again with rootDir holding it.
 *
 * With `dts: { bundle: true }` they are then bundled into one file per entry
 * and format instead (declarations-bundle.ts).
 *
 * With `isolatedDeclarations: true` in the package's tsconfig the
 * declarations come from a per-file emitter instead (isolated-dts.ts: no
 * TypeScript program, so no type check), where its output is TypeScript's.
 */

/** Is there a TypeScript to emit declarations with? The service asks before writing anything when dts is true. */
export async function checkDeclarationTool(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability> {
  return checkTypeScript(pkg, reads);
}

/** The rootDir of the declarations run (absolute): the source root, widened to hold entries from outside the package. */
export function declarationRoot(pkg: PackageInfo, config: ResolvedConfig): string {
  let root = path.resolve(pkg.dir, config.sourceRoot);
  for (const name of config.outsideEntries) {
    const dir = path.dirname(path.resolve(pkg.dir, config.entries[name]!));
    while (!isInside(root, dir)) root = path.dirname(root);
  }
  return root;
}

/**
 * Where a run that failed because entries import files of this package
 * outside rootDir (TS6059; `src/plugins/rss.ts` importing `../utils/x`, with
 * the entries all in src/plugins) should try again: rootDir widened to hold
 * them. Undefined when any such file is outside the package (another
 * package's source: widening would publish its code in this one, tsc-hints.ts
 * says what to do) or there is no such file. Other errors do not stop it:
 * the second run reports them without the TS6059s, which name no mistake.
 */
function widenedRoot(out: AdapterOutput, pkg: PackageInfo, rootDir: string): string | undefined {
  const outside = out.diagnostics.flatMap((d) => (d.severity === 'error' && fileOutsideRootDir(d)) || []);
  if (outside.length === 0) return undefined;
  let root = rootDir;
  for (const file of outside) {
    const abs = path.resolve(pkg.dir, file);
    if (!isInside(pkg.dir, abs)) return undefined;
    while (!isInside(root, abs)) root = path.dirname(root);
  }
  return root === rootDir ? undefined : root;
}

/**
 * ctx.tool is the bundler's; TypeScript is looked up here. The program is the
 * entries and what they import (tsc-project.ts, declarations-program.ts).
 */
export async function emitDeclarations(ctx: AdapterContext): Promise<AdapterOutput> {
  const { pkg, config } = ctx;
  let rootDir = declarationRoot(pkg, config);
  // isolatedDeclarations: per file, without a TypeScript program (isolated-dts.ts); null = TypeScript runs.
  const isolatedPlan = planIsolatedDeclarations(pkg, config, rootDir, ctx.reads);
  const missing = isolatedPlan && 'emitterMissing' in isolatedPlan ? isolatedPlan : null;
  const isolated = isolatedPlan && !missing ? await emitIsolatedDeclarations(isolatedPlan as IsolatedPlan, pkg, rootDir, ctx.outDir, ctx.reads) : null;
  let out = isolated?.output;
  if (isolated) rootDir = isolated.rootDir;
  const runWithRoot = (root: string) => {
    const runConfig = root === path.resolve(pkg.dir, config.sourceRoot) ? config : { ...config, sourceRoot: toPosix(path.relative(pkg.dir, root)) };
    return runPackageTsc({ ...ctx, config: runConfig }, 'declarations', `dts: true needs TypeScript, which is not installed for ${pkg.name}`);
  };
  if (!out) {
    out = await runWithRoot(rootDir);
    // Declarations are named per entry anyway (declarations-naming.ts writes an alias beside each entry's JS),
    // so a wider rootDir changes only where the per-source files sit. Costs a second compile, for such packages only.
    const wider = out.ok ? undefined : widenedRoot(out, pkg, rootDir);
    if (wider) {
      rootDir = wider;
      out = await runWithRoot(rootDir);
    }
  }
  if (missing) out = { ...out, diagnostics: [...out.diagnostics, emitterMissingHint(pkg, missing.tsconfig, ctx.reads)] };
  if (!out.ok) return out;
  if (config.dtsBundle) {
    // One file per entry and format instead of the per-source layout (declarations-bundle.ts).
    const { bundleDeclarations } = await import('./declarations-bundle.js');
    const bundled = await bundleDeclarations({ ctx, rootDir, emitted: out.files });
    const reads = out.reads && [...out.reads, ...bundled.reads];
    return { ...bundled, diagnostics: [...out.diagnostics, ...bundled.diagnostics], reads: bundled.ok ? reads : null };
  }
  const placed = placeDeclarations({ config, pkgDir: pkg.dir, outDir: ctx.outDir, rootDir, emitted: out.files });
  return {
    ok: !placed.diagnostics.some((d) => d.severity === 'error'),
    files: placed.files,
    diagnostics: [...out.diagnostics, ...placed.diagnostics],
    reads: out.reads,
  };
}
