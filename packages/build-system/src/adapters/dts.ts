import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { checkTypeScript, runPackageTsc } from './tsc-runner.js';
import type { AdapterContext, AdapterOutput, ToolAvailability } from './types.js';

/**
 * Declarations for bundled packages: after esbuild/bun/rollup wrote the JS,
 * the package's own tsc runs with --emitDeclarationOnly into the same staging
 * dir (rootDir = config.sourceRoot, so src/index.ts -> <outDir>/index.d.ts,
 * beside the bundle's index.js). Type errors fail the build: the declarations
 * of a program that does not type-check are not trustworthy. The tsconfig is
 * chosen as for the tsc adapter (adapterOptions.tsc.project, tsconfig.build.json,
 * tsconfig.json, else the entries on the command line).
 */

/** Is there a TypeScript to emit declarations with? The service asks before writing anything when dts is true. */
export async function checkDeclarationTool(pkg: PackageInfo, reads: ReadLog): Promise<ToolAvailability> {
  return checkTypeScript(pkg, reads);
}

/** ctx.tool is the bundler's; TypeScript is looked up here. */
export async function emitDeclarations(ctx: AdapterContext): Promise<AdapterOutput> {
  return runPackageTsc(ctx, 'declarations', `dts: true needs TypeScript, which is not installed for ${ctx.pkg.name}`);
}
