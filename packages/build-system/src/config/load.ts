import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { BuildSystemError, type ErrorIssue } from '../errors.js';
import { statSignature, type ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { defaultBuildConfig } from './default-config.js';
import { clearSharedEvaluations, copyPlainData, evaluateConfig, newEvaluation, type Evaluation } from './evaluate.js';
import type { ConfigCacheLocation } from './evaluation-cache.js';
import { displayPath, findConfigFile } from './find.js';
import type { BuildConfig } from './schema.js';

// The entry keeps the names importers know; finding lives beside it. Validating (validate.ts, and
// zod behind it) is imported only when a value needs it: see evaluateAndValidate.
export { CONFIG_FILE_NAMES, findConfigFile } from './find.js';
export type { ConfigCacheLocation } from './evaluation-cache.js';

/**
 * Loading `build.config.*`: find it (find.ts), evaluate it to the value it
 * exports (evaluate.ts; a TypeScript/JS config is bundled by esbuild first,
 * bundle.ts), validate that value against the zod schema (validate.ts: every
 * problem becomes one `file: field: message` issue); resolve.ts then turns a
 * valid config into the package's build.
 *
 * This file is the entry and the memo: a config is evaluated once per process
 * while nothing it read changed, and what it read is logged in every run's
 * read log that uses it, so the CLI's no-op replay checks exactly those.
 */

export interface LoadedPackageConfig {
  config: BuildConfig;
  /** Absolute path of the config file, or null when the package has none (schema defaults apply). */
  file: string | null;
  /** Stores the evaluated config for later processes when it may be (evaluation-cache.ts): call it once the config proved usable. */
  keep?: () => Promise<void>;
  /** Every file the evaluation read (the config and what it imports), absolute; empty without a config file. */
  inputs: string[];
}

/** `stored`: where evaluated configs of earlier processes are kept (evaluation-cache.ts); none: always evaluate. */
export async function loadPackageConfig(pkg: PackageInfo, reads: ReadLog, stored?: ConfigCacheLocation): Promise<LoadedPackageConfig> {
  const file = findConfigFile(pkg.dir, reads, pkg.name);
  if (file === null) return { config: defaultBuildConfig(), file: null, inputs: [] };
  const { config, evaluation } = await loadEvaluated(file, pkg, reads, stored);
  return { config, file, keep: evaluation.keep, inputs: [...evaluation.files.keys()] };
}

// ---------------------------------------------------------------------------
// Memoization: one evaluation per version of everything it read, per process.

/** True while every file and env var the evaluation read is as it was. */
function stillValid(evaluation: Evaluation): boolean {
  for (const [file, signature] of evaluation.files) {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st || statSignature(st) !== signature) return false;
  }
  for (const [name, value] of evaluation.envValues) if (process.env[name] !== value) return false;
  return true;
}

interface MemoEntry {
  done: boolean;
  evaluation: Evaluation;
  config: Promise<BuildConfig>;
}
const memo = new Map<string, MemoEntry>();

/** Forgets every loaded config (watch mode, tests). */
export function clearConfigCache(): void {
  memo.clear();
  clearSharedEvaluations();
}

/**
 * Loads and validates one config file. A run asks for the same package's config
 * several times (list, build, clean, dependants); a config is a program with
 * possible side effects and costs a bundle, so it is evaluated once while
 * nothing it read changed (every file its bundle loaded, by size, mtime, ctime
 * and inode; every env var it read). Concurrent callers share one evaluation.
 * What it read is logged in `reads` for every caller, cached or not.
 */
export async function loadConfigFile(file: string, pkg: PackageInfo, reads: ReadLog, stored?: ConfigCacheLocation): Promise<BuildConfig> {
  return (await loadEvaluated(file, pkg, reads, stored)).config;
}

async function loadEvaluated(file: string, pkg: PackageInfo, reads: ReadLog, stored?: ConfigCacheLocation): Promise<{ config: BuildConfig; evaluation: Evaluation }> {
  const abs = path.resolve(file);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch (e) {
    const issue: ErrorIssue = { package: pkg.name, file: displayPath(abs), message: `cannot read the config file (${(e as Error).message})` };
    throw new BuildSystemError('CONFIG_LOAD', issue.message, { ...issue, issues: [issue], cause: e });
  }
  let entry = memo.get(abs);
  if (!entry || (entry.done && !stillValid(entry.evaluation))) {
    const evaluation = newEvaluation();
    const config = evaluateAndValidate(abs, pkg, st, evaluation, stored);
    const created: MemoEntry = { done: false, evaluation, config };
    entry = created;
    memo.set(abs, created);
    config.then(
      () => {
        created.done = true;
      },
      // A failure is not remembered: the user fixes the file and a watcher asks again.
      () => {
        if (memo.get(abs) === created) memo.delete(abs);
      },
    );
  }
  const { evaluation } = entry;
  try {
    return { config: await entry.config, evaluation };
  } finally {
    await logEvaluation(evaluation, reads);
  }
}

/** Logs what an evaluation read in a run's read log (hashed, so a file changed moments ago is still checked by content). */
async function logEvaluation(evaluation: Evaluation, reads: ReadLog): Promise<void> {
  evaluation.consumers.add(reads);
  if (evaluation.refused) reads.refuse(evaluation.refused);
  for (const name of evaluation.env) reads.noteEnv(name);
  const { content } = evaluation;
  await Promise.all(
    [...evaluation.files.keys()].map(async (f) => {
      try {
        const now = statSync(f);
        // Read when it was evaluated and unchanged since: its hash is known (no second read per package).
        const known = content?.file === f && statSignature(now) === content.signature ? content.sha256 : undefined;
        await reads.hash(f, now, known);
      } catch {
        reads.refuse(`${f}, read by a config, cannot be read now`);
      }
    }),
  );
}

/**
 * The value, validated. A value shared between packages (one config text) or kept by an earlier
 * process is validated once: its validated form is kept with it and later loads get a copy. So a
 * run whose configs all come from kept evaluations (no no-op record: after a clone, CI) neither
 * validates nor loads zod — ~30 ms of compiling and running it at 200 packages (research.md §5).
 * The schema cannot differ: kept evaluations are keyed on the program that made them.
 */
async function evaluateAndValidate(file: string, pkg: PackageInfo, st: Stats, evaluation: Evaluation, stored?: ConfigCacheLocation): Promise<BuildConfig> {
  const value = await evaluateConfig(file, pkg, st, evaluation, stored);
  const { shared } = evaluation;
  if (shared?.validated !== undefined) return copyPlainData(shared.validated) as BuildConfig;
  const { validateConfig } = await import('./validate.js');
  const config = validateConfig(value, file, pkg);
  if (shared) shared.validated = copyPlainData(config);
  return config;
}
