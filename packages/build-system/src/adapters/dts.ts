import { rmSync } from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolve.js';
import { isInside, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { parseJsonc, tsconfigChain } from '../util/tsconfig-chain.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { placeDeclarations } from './declarations-naming.js';
import { writeGeneratedTsconfig } from './generated-tsconfig.js';
import { checkTypeScript, findTsconfig, runPackageTsc } from './tsc-runner.js';
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
 * Entries from elsewhere in the workspace (config.outsideEntries): their
 * sources are not below the package's source root, which tsc refuses
 * (TS6059). The declarations run then gets the nearest directory holding the
 * source root and every such source as rootDir, so the tree below outDir
 * keeps the workspace layout from there (e.g. cli/src/index.d.ts and
 * core/src/index.d.ts), and every entry is reached through its alias file
 * (<entry>.d.ts). With a tsconfig, whose include names only the package's
 * own files, the run uses a tsconfig generated in the staging dir (removed
 * after the run) that extends it and lists the entries as `files` (keeping
 * its include; a tsconfig outside the package contributes no include: it
 * names other packages' files). In the staging dir, TypeScript's defaults
 * that depend on the tsconfig's location (typeRoots: every node_modules/@types
 * upward) stay what they are for the package.
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
    while (path.relative(root, dir).startsWith('..')) root = path.dirname(root);
  }
  return root;
}

/** Does the tsconfig chain name its own files (include or files)? Without, tsc's default include (the tsconfig's directory) applies. */
function chainNamesFiles(tsconfig: string, reads: ReadLog): boolean {
  return tsconfigChain(tsconfig, reads).files.some((file) => {
    try {
      const json = parseJsonc(reads.readText(file) ?? '{}') as { include?: unknown; files?: unknown } | null;
      return json !== null && (json.include !== undefined || json.files !== undefined);
    } catch {
      return false;
    }
  });
}

/** ctx.tool is the bundler's; TypeScript is looked up here. */
export async function emitDeclarations(ctx: AdapterContext): Promise<AdapterOutput> {
  const { pkg, config } = ctx;
  const rootDir = declarationRoot(pkg, config);
  let runConfig = config;
  let generated: string | undefined;
  const extraReads: string[] = [];
  if (config.outsideEntries.length > 0) {
    runConfig = { ...config, sourceRoot: toPosix(path.relative(pkg.dir, rootDir)) };
    const tsconfig = findTsconfig(pkg, config);
    if (tsconfig) {
      generated = path.join(ctx.outDir, '.build-system-declarations.tsconfig.json');
      const files = Object.values(config.entries).map((s) => toPosix(path.resolve(pkg.dir, s)));
      // A tsconfig outside the package (a workspace root's) names other packages' files: the entries and what they import only.
      // Without an include of its own, tsc's default (the tsconfig's directory) applies; restated here it also
      // needs tsc's default exclude restated, and the build config is never a source (it would land in outDir).
      const dir = toPosix(path.dirname(tsconfig));
      const include = !isInside(pkg.dir, tsconfig)
        ? { include: [] }
        : chainNamesFiles(tsconfig, ctx.reads)
          ? {}
          : {
              include: [`${dir}/**/*`],
              exclude: [`${dir}/node_modules`, toPosix(path.resolve(pkg.dir, config.outDir)), ...(config.configFile ? [toPosix(config.configFile)] : [])],
            };
      writeGeneratedTsconfig(generated, tsconfig, { files, ...include });
      runConfig.adapterOptions = { ...config.adapterOptions, tsc: { ...config.adapterOptions.tsc, project: toPosix(path.relative(pkg.dir, generated)) } };
      // The generated file is in the staging dir, which is never recorded as read: the real one is.
      extraReads.push(tsconfig);
    }
  }
  try {
    // isolatedDeclarations: per file, without a TypeScript program (isolated-dts.ts); null = TypeScript runs.
    const { planIsolatedDeclarations, emitIsolatedDeclarations } = await import('./isolated-dts.js');
    const isolatedPlan = generated ? null : planIsolatedDeclarations(pkg, config, rootDir, ctx.reads);
    const isolated = isolatedPlan && (await emitIsolatedDeclarations(isolatedPlan, pkg, rootDir, ctx.outDir, ctx.reads));
    const out = isolated ?? (await runPackageTsc({ ...ctx, config: runConfig }, 'declarations', `dts: true needs TypeScript, which is not installed for ${pkg.name}`));
    if (!out.ok) return out;
    const placed = placeDeclarations({ config, pkgDir: pkg.dir, outDir: ctx.outDir, rootDir, emitted: out.files });
    return {
      ok: !placed.diagnostics.some((d) => d.severity === 'error'),
      files: placed.files,
      diagnostics: [...out.diagnostics, ...placed.diagnostics],
      reads: out.reads && [...extraReads, ...out.reads],
    };
  } finally {
    if (generated) rmSync(generated, { force: true });
  }
}
