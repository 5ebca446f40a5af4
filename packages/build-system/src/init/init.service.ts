import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalJson } from '../cache/fingerprint.js';
import { loadConfigFile } from '../config/load.js';
import { resolveConfig } from '../config/resolve.js';
import { BuildSystemError, isBuildSystemError } from '../errors.js';
import { RESULT_SCHEMA_VERSION } from '../result/version.js';
import { selectPackages } from '../services/workspace.service.js';
import { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { scriptCommands } from './build-script.js';
import { chooseAdapter } from './choose-adapter.js';
import { comparable, inferConfig, type InferredConfig } from './infer-config.js';
import { readPackageFacts } from './package-facts.js';
import { renderConfig } from './render-config.js';
import type { InitPackageResult, InitResult } from './result-schema.js';
import { findToolConfig, readToolConfig } from './tool-config.js';
import { tsdownConfigFor } from './tsdown-run.js';
import { writePackageConfig } from './write-config.js';

/**
 * `build-system init`: for each selected package without a build config,
 * reads its facts, chooses the adapter, infers the minimal config, checks that
 * the text it would write loads and resolves to exactly that config, and
 * writes it (or, with dryRun, only returns it).
 */

export interface InitOptions {
  /** Directory to act from: a package, or a workspace root (default process.cwd()). */
  cwd?: string;
  /** Package names or directories; default: what cwd implies (every workspace package at the root). */
  packages?: string[];
  /** turbo-style filters, as for build. */
  filter?: string[];
  /** Return the configs without writing anything. */
  dryRun?: boolean;
  /** Replace an existing build config. */
  force?: boolean;
}

type ErrorJson = NonNullable<InitPackageResult['error']>;

function errorJson(e: unknown): ErrorJson {
  if (isBuildSystemError(e)) {
    const j = e.toJSON();
    return { ...Object.fromEntries(Object.entries(j).filter(([, v]) => v !== undefined)), issues: j.issues.map((i) => Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined))) } as ErrorJson;
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message, issues: [{ message }] };
}

export async function runInit(options: InitOptions = {}): Promise<InitResult> {
  const reads = new ReadLog();
  const dryRun = options.dryRun === true;
  let packages: PackageInfo[];
  try {
    packages = selectPackages({ cwd: options.cwd, packages: options.packages, filter: options.filter, withDependencies: false, participates: () => true, reads }).packages;
  } catch (e) {
    if (!isBuildSystemError(e)) throw e;
    return { schemaVersion: RESULT_SCHEMA_VERSION, ok: false, exitCode: e.exitCode, dryRun, packages: [], error: errorJson(e) };
  }
  const results: InitPackageResult[] = [];
  for (const pkg of packages) results.push(await initPackage(pkg, { dryRun, force: options.force === true }, reads));
  const failed = results.some((r) => r.status === 'failed');
  return { schemaVersion: RESULT_SCHEMA_VERSION, ok: !failed, exitCode: failed ? 2 : 0, dryRun, packages: results };
}

async function initPackage(pkg: PackageInfo, opts: { dryRun: boolean; force: boolean }, reads: ReadLog): Promise<InitPackageResult> {
  const base: InitPackageResult = {
    name: pkg.name,
    dir: pkg.dir,
    status: 'skipped',
    file: null,
    replaced: [],
    adapter: null,
    sources: [],
    config: null,
    comments: {},
    content: null,
    notReproduced: [],
    ignored: [],
    warnings: [],
    verified: false,
  };
  try {
    const facts = readPackageFacts(pkg, reads);
    if (facts.existingConfigs.length > 0 && !opts.force) {
      return { ...base, reason: `has ${facts.existingConfigs.join(', ')} (pass --force to replace it)` };
    }
    const found = findToolConfig(pkg, reads);
    // A tsdown config above the package can be what tsdown builds it with, or part of it (tsdown-run.ts).
    const workspace = await tsdownConfigFor(pkg, found, scriptCommands(facts.scripts, 'build', 0, facts.rootScripts), reads);
    const toolConfig = workspace?.config ?? (found ? await readToolConfig(pkg, found, reads) : undefined);
    const decision = chooseAdapter(facts, toolConfig, reads);
    if (workspace) {
      decision.options.notReproduced.push(...workspace.notReproduced);
      decision.warnings.push(...workspace.warnings);
    }
    if (decision.adapter === 'auto' && facts.js.length === 0 && facts.types.length === 0 && !facts.buildScript) {
      return { ...base, reason: 'nothing to build: package.json names no JS or declaration file, and no build script or bundler config' };
    }
    if (facts.js.length === 0 && facts.types.length > 0 && !toolConfig && !facts.buildScript && facts.tsconfigs.length === 0 && !reads.stat(path.join(pkg.dir, 'src'))?.isDirectory()) {
      return { ...base, reason: `nothing to build: its declarations (${facts.types.map((t) => t.path).join(', ')}) are written by hand, there are no sources` };
    }
    // Plain JavaScript published as written (honojs/middleware's @hono/eslint-config: exports ./index.js, no build
    // script, no tsconfig, no src): a config would "build" index.js into dist/index.js, which nothing points at.
    if (
      decision.adapter === 'auto' &&
      !toolConfig &&
      !facts.buildScript &&
      facts.js.length > 0 &&
      facts.tsconfigs.length === 0 &&
      !reads.stat(path.join(pkg.dir, 'src'))?.isDirectory() &&
      facts.js.every((o) => reads.stat(path.join(pkg.dir, o.path))?.isFile())
    ) {
      return { ...base, reason: `nothing to build: the JavaScript package.json names (${[...new Set(facts.js.map((o) => o.path))].join(', ')}) is written by hand, there are no sources` };
    }
    const inferred = inferConfig(facts, decision);
    for (const f of facts.foreignConfigs) {
      inferred.warnings.push(`${f.name} is ${f.tool}'s config: left as it is; build-system reads ${facts.configName} first, so ${f.tool} and build-system can build the package side by side`);
    }
    if (toolConfig && toolConfig.placeholders.length) {
      inferred.warnings.push(`${(toolConfig.files ?? [toolConfig.file]).join(' or ')} imports ${toolConfig.placeholders.join(', ')}, not installed here: values from them are not reproduced`);
    }
    const sources = [...new Set(decision.sources)];
    const adapterField = inferred.fields.find((f) => f.name === 'adapter');
    const content = renderConfig({
      sources,
      fields: inferred.fields,
      adapterNote: adapterField ? undefined : `adapter 'auto' (the default): ${decision.because}`,
      notReproduced: inferred.notReproduced,
      ignored: inferred.ignored,
    });
    const verified = await verify(pkg, content, inferred, reads, facts.configName);
    const result: InitPackageResult = {
      ...base,
      status: opts.dryRun ? 'would-write' : 'written',
      file: facts.configName,
      adapter: { name: decision.adapter, reason: decision.because },
      sources,
      config: Object.fromEntries(inferred.fields.map((f) => [f.name, f.value])),
      comments: Object.fromEntries(inferred.fields.map((f) => [f.name, f.because])),
      content,
      notReproduced: inferred.notReproduced,
      ignored: inferred.ignored,
      warnings: inferred.warnings,
      verified,
    };
    if (!verified) {
      const error = new BuildSystemError('INTERNAL', 'the generated config does not resolve to the config init inferred; nothing was written (please report this)', {
        package: pkg.name,
        file: facts.configName,
      });
      return { ...result, status: 'failed', error: errorJson(error) };
    }
    if (!opts.dryRun) result.replaced = await writePackageConfig(pkg, content, facts.existingConfigs, facts.configName);
    return result;
  } catch (e) {
    if (!isBuildSystemError(e)) throw e;
    return { ...base, status: 'failed', error: errorJson(e) };
  }
}

/**
 * Loads the text through the config loader (from a temp directory: nothing is
 * written into the package before it passes) and resolves it for the package:
 * it must give the same ResolvedConfig as the config init inferred.
 */
async function verify(pkg: PackageInfo, content: string, inferred: InferredConfig, reads: ReadLog, name: string): Promise<boolean> {
  const dir = await mkdtemp(path.join(tmpdir(), 'build-system-init-'));
  try {
    const file = path.join(dir, name);
    await writeFile(file, content);
    const config = await loadConfigFile(file, pkg, reads);
    return canonicalJson(comparable(resolveConfig(pkg, config, file))) === canonicalJson(comparable(inferred.resolved));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
