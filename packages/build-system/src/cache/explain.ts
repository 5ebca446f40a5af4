import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { CacheChange } from '../result/schema.js';
import { isInside } from '../util/paths.js';
import { canonicalJson, fingerprintKey, type Fingerprint } from './fingerprint.js';
import { ENV_READ } from './read-hashes.js';

/** How many paths/fields a change lists before it only counts. */
export const EXPLAIN_LIST_LIMIT = 10;

const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

/** Dotted paths of the leaves that differ between two plain-JSON values (objects are descended, arrays compared whole). */
function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(a) || !isObj(b)) return same(a, b) ? [] : [prefix || '(value)'];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) => {
    const p = prefix ? `${prefix}.${k}` : k;
    // Records of user-chosen keys (define, entry, adapterOptions) are worth one level more; deeper is noise.
    return prefix.includes('.') ? (same(a[k], b[k]) ? [] : [p]) : changedPaths(a[k], b[k], p);
  });
}

function limited(list: string[]): { files: string[]; count: number } {
  return { files: list.slice(0, EXPLAIN_LIST_LIMIT), count: list.length };
}

function describeRuntime(r: Fingerprint['runtime']): string {
  return `${r.name} ${r.major} ${r.platform}-${r.arch}`;
}

/**
 * Why `current` differs from `previous` (the package's last build), most
 * fundamental first: format, tools, config, package.json, lockfile, env,
 * dependencies, files. Empty when nothing differs.
 */
export function diffFingerprints(previous: Fingerprint, current: Fingerprint): CacheChange[] {
  if (previous.version !== current.version) return [{ kind: 'fingerprint-format-changed' }];
  const changes: CacheChange[] = [];

  const tools: { name: string; from: string | null; to: string | null }[] = [];
  if (previous.adapter.name !== current.adapter.name || previous.adapter.version !== current.adapter.version) {
    tools.push({ name: 'adapter', from: `${previous.adapter.name} ${previous.adapter.version}`, to: `${current.adapter.name} ${current.adapter.version}` });
  }
  if (!same(previous.declarations, current.declarations)) {
    const named = (d: Fingerprint['declarations']) => (d ? `typescript ${d.version}${d.isolated ? ` + oxc-transform ${d.isolated}` : ''}${d.bundler ? ` + rollup ${d.bundler.rollup} + rollup-plugin-dts ${d.bundler.dts}` : ''}` : null);
    tools.push({ name: 'declarations', from: named(previous.declarations), to: named(current.declarations) });
  }
  if (previous.buildSystem !== current.buildSystem) tools.push({ name: 'build-system', from: previous.buildSystem, to: current.buildSystem });
  if (!same(previous.runtime, current.runtime)) tools.push({ name: 'runtime', from: describeRuntime(previous.runtime), to: describeRuntime(current.runtime) });
  if (tools.length) changes.push({ kind: 'tool-changed', tools });

  const configFields = changedPaths(previous.config, current.config);
  if (configFields.length) changes.push({ kind: 'config-changed', fields: configFields });
  const pkgFields = changedPaths(previous.packageJson, current.packageJson).map((f) => f.split('.')[0]!);
  if (pkgFields.length) changes.push({ kind: 'package-json-changed', fields: [...new Set(pkgFields)] });

  if (!same(previous.lockfile, current.lockfile)) {
    const before = previous.lockfile?.direct ?? {};
    const after = current.lockfile?.direct ?? {};
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((n) => before[n] !== after[n]).sort();
    changes.push({ kind: 'lockfile-changed', packages: names });
  }

  const envNames = [...new Set([...Object.keys(previous.env), ...Object.keys(current.env)])].filter((n) => previous.env[n] !== current.env[n]).sort();
  if (envNames.length) changes.push({ kind: 'env-changed', names: envNames });

  // A dependency that became external (or stopped being external) did so because something named above
  // changed: a package.json dependency field, config external/dts/adapterOptions, the adapter. It is
  // listed only when nothing else explains the miss. Changed outputs of a dependency are not in the
  // fingerprint at all: they show as changed reads (explainMiss).
  const depNames = [...new Set([...Object.keys(previous.dependencies ?? {}), ...Object.keys(current.dependencies)])]
    .filter((n) => previous.dependencies?.[n] !== current.dependencies[n])
    .sort();
  if (depNames.length && changes.length === 0) changes.push({ kind: 'dependency-changed', packages: depNames });

  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [file, hash] of Object.entries(current.files)) {
    const before = previous.files[file];
    if (before === undefined) added.push(file);
    else if (before !== hash) changed.push(file);
  }
  for (const file of Object.keys(previous.files)) if (!(file in current.files)) removed.push(file);
  if (changed.length) changes.push({ kind: 'files-changed', ...limited(changed.sort()) });
  if (added.length) changes.push({ kind: 'files-added', ...limited(added.sort()) });
  if (removed.length) changes.push({ kind: 'files-removed', ...limited(removed.sort()) });
  return changes;
}

function list(items: string[], count = items.length): string {
  const more = count > items.length ? ` and ${count - items.length} more` : '';
  return `${items.join(', ')}${more}`;
}

/** One change in words, e.g. `files changed: src/index.ts`. */
export function describeChange(change: CacheChange): string {
  switch (change.kind) {
    case 'first-build':
      return 'first build';
    case 'forced':
      return 'forced (--force): the cache was not read';
    case 'entry-missing':
      return 'inputs unchanged since the last build, but its cache entry is gone (evicted or cleaned)';
    case 'entry-corrupt':
      return `cache entry was corrupt (${change.problem}); rebuilt`;
    case 'fingerprint-format-changed':
      return 'cache key format changed (new build-system release)';
    case 'tool-changed':
      return `tool version changed: ${change.tools.map((t) => `${t.name} ${t.from ?? 'none'} → ${t.to ?? 'none'}`).join(', ')}`;
    case 'config-changed':
      return `config changed: ${list(change.fields)}`;
    case 'package-json-changed':
      return `package.json changed: ${list(change.fields)}`;
    case 'lockfile-changed':
      return change.packages.length ? `lockfile changed for: ${list(change.packages)}` : 'lockfile changed for transitive dependencies';
    case 'env-changed':
      return `env changed: ${list(change.names)}`;
    case 'dependency-changed':
      return `dependency output changed: ${list(change.packages)}`;
    case 'files-changed':
      return `files changed: ${list(change.files, change.count)}`;
    case 'files-added':
      return `files added: ${list(change.files, change.count)}`;
    case 'files-removed':
      return `files removed: ${list(change.files, change.count)}`;
  }
}

export function describeChanges(changes: readonly CacheChange[]): string {
  return changes.map(describeChange).join('; ');
}

/** Where the changed reads of a package are, to name them. */
export interface ReadsContext {
  pkgDir: string;
  /** Workspace packages by name → absolute directory: a changed read inside one is a changed dependency. */
  workspacePackages: ReadonlyMap<string, string>;
}

/**
 * The changes to report for a miss: compared with the last build of the
 * package when there is one. A different fingerprint is diffed field by
 * field; the same fingerprint means that something the last build read
 * outside the package changed (`changedReads`, paths as recorded: relative to
 * the package), named by the workspace package it belongs to when it is in
 * one; nothing changed at all means the entry itself went away.
 */
export function explainMiss(
  previous: { fingerprint: Fingerprint } | null,
  current: { primaryKey: string; fingerprint: Fingerprint },
  changedReads: readonly string[] = [],
  where?: ReadsContext,
): CacheChange[] {
  if (!previous) return [{ kind: 'first-build' }];
  if (fingerprintKey(previous.fingerprint) !== current.primaryKey) {
    const changes = diffFingerprints(previous.fingerprint, current.fingerprint);
    // Keys differ but nothing we can name does: say so rather than nothing.
    return changes.length ? changes : [{ kind: 'fingerprint-format-changed' }];
  }
  if (changedReads.length === 0) return [{ kind: 'entry-missing' }];
  const packages = new Set<string>();
  const files: string[] = [];
  const env: string[] = [];
  for (const rel of changedReads) {
    if (rel.startsWith(ENV_READ)) {
      env.push(rel.slice(ENV_READ.length));
      continue;
    }
    const abs = where ? path.resolve(where.pkgDir, rel) : null;
    const ownerOf = (p: string) => [...where!.workspacePackages].find(([, dir]) => dir !== where!.pkgDir && isInside(dir, p));
    // Else through links (a dependency's files are recorded as node_modules/@m/dep/… too, build-reads): named by the package reached.
    const owner = abs ? (ownerOf(abs) ?? ownerOf(realOrAsIs(abs))) : undefined;
    if (owner) packages.add(owner[0]);
    else files.push(rel);
  }
  const changes: CacheChange[] = [];
  if (env.length) changes.push({ kind: 'env-changed', names: env.sort() });
  if (packages.size) changes.push({ kind: 'dependency-changed', packages: [...packages].sort() });
  if (files.length) changes.push({ kind: 'files-changed', ...limited(files.sort()) });
  return changes;
}

function realOrAsIs(abs: string): string {
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}
