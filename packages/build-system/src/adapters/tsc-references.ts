import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Diagnostic } from '../result/schema.js';
import { isInside, toPosix } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';
import { writeGeneratedTsconfig } from './generated-tsconfig.js';
import { ownReferences, relocatedFields } from './tsconfig-layers.js';
import type { AdapterOutput } from './types.js';

/**
 * Project references whose outputs are not where tsc looks for them.
 *
 * With `references`, `tsc -p` (unlike `tsc -b`) never compiles a referenced
 * project: an import that resolves to one of its sources — by a relative
 * path, or by package name when the sibling's package.json points at its
 * sources, as tsdown/tsup workspaces do with `exports: "./src/index.ts"` and
 * a publishConfig — is replaced by that project's output declaration, at the
 * path the referenced tsconfig's own outDir/declarationDir and rootDir give
 * (`dist/index.d.ts`). build-system builds the sibling with its build
 * config's layout instead (`dist/index.d.mts` and `.d.cts`, another outDir,
 * or no declarations at all), so that file is missing and tsc fails with
 * TS6305 ("Output file … has not been built from source file …").
 *
 * The choice, measured with TypeScript 5.9 and 7.0 on such a workspace:
 * - dropping the references: an import by package name then reaches the
 *   sibling's sources through node_modules, as a library file (not emitted,
 *   not held to rootDir), but they are type-checked with this package's
 *   options, not their own: a sibling that builds with `noImplicitAny: false`
 *   fails this package's declarations with TS7006 in the sibling's file (and
 *   so would its own `paths`, `lib` or `types`). A relative import fails
 *   rootDir (TS6059) where tsc -b builds;
 * - pointing the references at what build-system built: tsc derives the
 *   output's name from the source's (`index.ts` → `index.d.ts`), which a
 *   per-format `index.d.mts` never is;
 * - using the referenced sources without emitting them, as editors do
 *   (useSourceOfProjectReferenceRedirect): only a compiler host can ask for
 *   it, and TypeScript 7 is a spawned binary without such a switch.
 * So what `tsc -b` would do is done outside the packages: each referenced
 * project (its own references first) gets its declarations emitted into a
 * temp dir, through a generated tsconfig that extends the real one and only
 * moves declarationDir (and what depends on the tsconfig's location), and the
 * package's run references those generated tsconfigs instead. Nothing is
 * written into the siblings (their dist is their own build's), and the
 * declarations are what their sources say now, never a stale leftover.
 *
 * It is a retry, taken only when a run reported TS6305: a `tsc -b` user
 * whose referenced projects' outputs are where their tsconfigs say (the tsc
 * adapter with the tsconfig's own outDir) keeps reading those outputs, so
 * its cache key stays on the sibling's declarations, not its sources.
 *
 * Reads: what the referenced runs read (the siblings' sources) is reported,
 * the temp dir never is; the real tsconfigs are followed by the cache from
 * the package's own tsconfig, whose `references` it already walks.
 */

/** TypeScript's "Output file '…' has not been built from source file '…'". */
const UNBUILT_REFERENCE = 'TS6305';
/** TypeScript's "Referenced project '…' must have setting "composite": true": no emit can fix that reference. */
const NOT_COMPOSITE = 'TS6306';

/** Did the run fail because a referenced project's output declarations are missing (and for no reason a retry keeps)? */
export function missesReferenceOutputs(out: AdapterOutput): boolean {
  return !out.ok && out.diagnostics.some((d) => d.code === UNBUILT_REFERENCE) && !out.diagnostics.some((d) => d.code === NOT_COMPOSITE);
}

/** `d` with the generated stand-ins' paths in its message replaced by the real tsconfigs' (a temp path says nothing to anyone). */
export function withRealReferences(d: Diagnostic, redirect: ReadonlyMap<string, string>): Diagnostic {
  let message = d.message;
  for (const [real, generated] of redirect) message = message.replaceAll(generated, real).replaceAll(toPosix(generated), toPosix(real));
  return message === d.message ? d : { ...d, message };
}

/** One referenced project: the generated tsconfig to run, and the real one it stands for (for messages). */
export interface ReferencedProject {
  generated: string;
  real: string;
}

/** A declarations-only tsc run of `project` into `outDir` (tsc-runner.ts). */
export type ReferenceRun = (project: ReferencedProject, outDir: string) => Promise<AdapterOutput>;

export interface ReferencedDeclarations {
  /** Real referenced tsconfig → the generated one whose declarationDir now holds its declarations. */
  redirect: Map<string, string>;
  ok: boolean;
  /** The referenced runs' diagnostics (a type error in a sibling is reported with the package). */
  diagnostics: Diagnostic[];
  /** What the referenced runs read, never below `dir`; null when one of them could not say. */
  reads: string[] | null;
  /** The temp dir holding everything generated: no file below it is an input. */
  dir: string;
  dispose(): Promise<void>;
}

/** build-system's code for a referenced project whose declarations could not be emitted (its own errors come before it). */
export const REFERENCE_NOT_EMITTED = 'TSC_REFERENCE_NOT_EMITTED';

function notEmitted(label: string): Diagnostic {
  return {
    severity: 'error',
    code: REFERENCE_NOT_EMITTED,
    message:
      `project reference ${label}: its declarations could not be emitted, and this package's imports of it are read from them` +
      `\nhint: fix the errors reported above for ${label} (build-system emits its declarations itself, into a temp dir, because none are where its tsconfig's outDir says)`,
  };
}

/**
 * Emits the declarations of `references` (absolute tsconfig files) and of
 * what they reference in turn, each once, dependencies first. Stops at the
 * first project that fails. `pkgDir`: paths in messages are relative to it.
 */
export async function emitReferencedDeclarations(references: readonly string[], pkgDir: string, reads: ReadLog, tsMajor: number, run: ReferenceRun): Promise<ReferencedDeclarations> {
  const dir = await mkdtemp(path.join(tmpdir(), 'build-system-references-'));
  const redirect = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const runReads: string[] = [];
  let ok = true;
  let readsKnown = true;
  // TypeScript refuses circular references (TS6202) in the package's own run: a cycle here is only not followed twice.
  const entered = new Set<string>();
  const visit = async (real: string): Promise<void> => {
    if (!ok || entered.has(real)) return;
    entered.add(real);
    const below = ownReferences(real, reads);
    for (const ref of below) await visit(ref);
    if (!ok) return;
    const projectDir = path.join(dir, String(redirect.size));
    const declarationDir = path.join(projectDir, 'types');
    mkdirSync(projectDir);
    const generated = path.join(projectDir, 'tsconfig.json');
    const moved = relocatedFields(real, reads, tsMajor);
    writeGeneratedTsconfig(generated, real, {
      compilerOptions: {
        ...moved.compilerOptions,
        // The package's run derives where this project's outputs are from these options, and this project's run emits by them.
        ...(moved.defaultRootDir ? { rootDir: toPosix(moved.defaultRootDir) } : {}),
        declarationDir: toPosix(declarationDir),
        tsBuildInfoFile: toPosix(path.join(projectDir, 'tsconfig.tsbuildinfo')),
      },
      ...moved.top,
      ...(below.length > 0 ? { references: below.map((ref) => ({ path: toPosix(redirect.get(ref) ?? ref) })) } : {}),
    });
    redirect.set(real, generated);
    const out = await run({ generated, real }, declarationDir);
    diagnostics.push(...out.diagnostics);
    if (out.reads) runReads.push(...out.reads.filter((file) => !isInside(dir, file)));
    else readsKnown = false;
    if (!out.ok) {
      ok = false;
      diagnostics.push(notEmitted(toPosix(path.relative(pkgDir, real))));
    }
  };
  try {
    for (const ref of references) await visit(ref);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { redirect, ok, diagnostics, reads: readsKnown ? runReads : null, dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}
