import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { BuildSystemError } from '../errors.js';
import { isInside, toPosix } from '../util/paths.js';
import { dependencyClosure, dependentClosure, type PackageGraph } from './graph.js';

/**
 * `--filter`, turbo/pnpm-compatible where it makes sense:
 *
 *   @demo/core   @demo/*   core          a name, a glob over names, or an unscoped
 *                                        abbreviation when it is unique (core → @demo/core)
 *   ./examples/core  ./examples/*  {examples/core}   a package directory (or every
 *                                        package below a directory), relative to --cwd
 *   [origin/main]  [a...b]               packages with files changed since a git ref
 *                                        (committed since the merge base, staged,
 *                                        unstaged and untracked), or in a range
 *   name...  ...name                     with its dependencies / with its dependents
 *   name^...  ...^name                   only the dependencies / dependents, not name
 *   ...[ref]  @demo/*[ref]  {dir}[ref]   combinations (selectors intersect)
 *   !<filter>                            removes what the filter selects
 *
 * A plain name selects just that package (pnpm's meaning); `name...` adds what
 * it needs. Positional package names keep their own meaning (name + its deps).
 */
export interface ParsedFilter {
  raw: string;
  exclude: boolean;
  /** `...x`: also every package that depends on the matched ones. */
  withDependents: boolean;
  /** `x...`: also everything the matched ones depend on. */
  withDependencies: boolean;
  /** `^`: leave the matched packages themselves out (only their dependents/dependencies). */
  excludeSelf: boolean;
  name?: string;
  dir?: string;
  gitRef?: string;
}

const NAME_RE = /^[A-Za-z0-9@/._~*?-]+$/;
const GLOB_CHARS = /[*?]/;

function usage(raw: string, why: string): BuildSystemError {
  return new BuildSystemError(
    'USAGE',
    `--filter ${JSON.stringify(raw)}: ${why} (forms: name, @scope/*, ./dir, {dir}, [git-ref], name..., ...name, name^..., ...^name, !filter)`,
    { field: '--filter' },
  );
}

/** Parses one --filter value; anything it does not understand is a USAGE error (exit 2), never a silent match-nothing. */
export function parseFilter(raw: string): ParsedFilter {
  let s = raw.trim();
  const f: ParsedFilter = { raw, exclude: false, withDependents: false, withDependencies: false, excludeSelf: false };
  if (s.startsWith('!')) {
    f.exclude = true;
    s = s.slice(1);
  }
  if (s.startsWith('...')) {
    f.withDependents = true;
    s = s.slice(3);
    if (s.startsWith('^')) {
      f.excludeSelf = true;
      s = s.slice(1);
    }
  }
  if (s.endsWith('...')) {
    f.withDependencies = true;
    s = s.slice(0, -3);
    if (s.endsWith('^')) {
      f.excludeSelf = true;
      s = s.slice(0, -1);
    }
  }
  if (s === '') throw usage(raw, 'nothing to select');

  let rest = s;
  if (rest.startsWith('{')) {
    const close = rest.indexOf('}');
    if (close < 0) throw usage(raw, 'unclosed "{"');
    f.dir = rest.slice(1, close);
    rest = rest.slice(close + 1);
    if (f.dir === '') throw usage(raw, 'empty directory in {}');
  } else if (/^\.\.?(\/|\[|$)/.test(rest)) {
    const end = rest.indexOf('[');
    f.dir = end < 0 ? rest : rest.slice(0, end);
    rest = end < 0 ? '' : rest.slice(end);
  } else if (!rest.startsWith('[')) {
    const end = rest.indexOf('[');
    f.name = end < 0 ? rest : rest.slice(0, end);
    rest = end < 0 ? '' : rest.slice(end);
    if (!NAME_RE.test(f.name) || f.name.startsWith('.') || f.name.includes('..') || f.name.endsWith('/')) {
      throw usage(raw, `${JSON.stringify(f.name)} is not a package name, glob or directory (directories start with ./)`);
    }
  }
  if (rest.startsWith('[')) {
    if (!rest.endsWith(']')) throw usage(raw, 'unclosed "["');
    const ref = rest.slice(1, -1);
    if (ref === '' || /[[\]\s]/.test(ref) || ref.startsWith('-')) throw usage(raw, `${JSON.stringify(ref)} is not a git ref or range`);
    f.gitRef = ref;
    rest = '';
  }
  if (rest !== '') throw usage(raw, `unexpected ${JSON.stringify(rest)}`);
  if (f.dir !== undefined && /[[\]{}]/.test(f.dir)) throw usage(raw, `${JSON.stringify(f.dir)} is not a directory or glob`);
  return f;
}

export interface FilterContext {
  graph: PackageGraph;
  /** Directory filters are relative to this (the command's --cwd). */
  cwd: string;
}

export interface FilterMatch {
  /** Packages the filter selects, expansions included. */
  packages: Set<string>;
  /**
   * Packages named exactly (one name or one package directory): they are acted
   * on even without a build config, like positional names. Globs, directories,
   * git changes and expansions only pick packages that take part.
   */
  explicit: Set<string>;
}

function globToRegExp(glob: string): RegExp {
  // In a package name `*` spans the scope separator too (turbo: `*core*` matches `@demo/core`).
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function knownList(graph: PackageGraph): string {
  const names = [...graph.nodes.keys()];
  return names.length ? ` (known: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''})` : '';
}

function matchName(f: ParsedFilter, graph: PackageGraph): { names: Set<string>; exact: boolean } {
  const pattern = f.name!;
  if (GLOB_CHARS.test(pattern)) {
    const re = globToRegExp(pattern);
    return { names: new Set([...graph.nodes.keys()].filter((n) => re.test(n))), exact: false };
  }
  if (graph.nodes.has(pattern)) return { names: new Set([pattern]), exact: true };
  if (!pattern.startsWith('@') && !pattern.includes('/')) {
    const scoped = [...graph.nodes.keys()].filter((n) => n.startsWith('@') && n.endsWith(`/${pattern}`));
    if (scoped.length === 1) return { names: new Set(scoped), exact: true };
    if (scoped.length > 1) throw usage(f.raw, `${JSON.stringify(pattern)} is ambiguous: ${scoped.join(', ')}`);
  }
  throw new BuildSystemError('PACKAGE_NOT_FOUND', `--filter ${JSON.stringify(f.raw)}: unknown package ${JSON.stringify(pattern)}${knownList(graph)}`, { field: '--filter' });
}

function matchDir(f: ParsedFilter, ctx: FilterContext): { names: Set<string>; exact: boolean } {
  const { graph } = ctx;
  const abs = path.resolve(ctx.cwd, f.dir!);
  const names = new Set<string>();
  if (GLOB_CHARS.test(f.dir!)) {
    const isMatch = picomatch(toPosix(path.relative(graph.root, abs)));
    for (const [name, pkg] of graph.nodes) if (isMatch(toPosix(path.relative(graph.root, pkg.dir)))) names.add(name);
    return { names, exact: false };
  }
  let exact = false;
  for (const [name, pkg] of graph.nodes) {
    if (pkg.dir === abs) exact = true;
    // A directory that holds packages selects all of them (pnpm: `./packages`).
    if (isInside(abs, pkg.dir)) names.add(name);
  }
  if (names.size === 0) {
    // Shown relative to the workspace root: the same text whatever directory the command ran in.
    const shown = isInside(graph.root, abs) ? toPosix(path.relative(graph.root, abs)) || '.' : abs;
    throw new BuildSystemError('PACKAGE_NOT_FOUND', `--filter ${JSON.stringify(f.raw)}: no workspace package at or below ${shown}`, { field: '--filter' });
  }
  return { names, exact: exact && names.size === 1 };
}

function git(args: string[], cwd: string, raw: string): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw usage(raw, `git is needed for [ref] filters and could not run (${r.error.message})`);
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n')[0] ?? `git ${args[0]} failed`;
    throw usage(raw, `git ${args.join(' ')}: ${why}`);
  }
  return r.stdout;
}

function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/**
 * Packages with a file changed since `ref`: committed on this branch since the
 * merge base (`ref...HEAD`, like a pull request diff), plus what is staged,
 * unstaged or untracked right now, so a local run sees the edits not yet
 * committed. An explicit range (`a...b`, `a..b`) is used as given. Old and new
 * paths of a rename both count. Files outside every package are ignored.
 */
export function changedPackages(ref: string, graph: PackageGraph, raw = `[${ref}]`): Set<string> {
  const top = git(['rev-parse', '--show-toplevel'], graph.root, raw).trim();
  const isRange = ref.includes('..');
  const files = git(['diff', '--name-only', '--no-renames', isRange ? ref : `${ref}...HEAD`, '--'], top, raw).split('\n');
  if (!isRange) {
    files.push(...git(['diff', '--name-only', '--no-renames', 'HEAD', '--'], top, raw).split('\n'));
    files.push(...git(['ls-files', '--others', '--exclude-standard'], top, raw).split('\n'));
  }
  // git prints real paths; the workspace may have been reached through a symlink (e.g. /tmp on macOS).
  const dirs = [...graph.nodes.values()].map((p) => ({ name: p.name, dir: realDir(p.dir) })).sort((a, b) => b.dir.length - a.dir.length);
  const changed = new Set<string>();
  for (const file of files) {
    if (!file) continue;
    const abs = path.join(top, file);
    // The deepest package holding the file owns it (a package nested in another).
    const owner = dirs.find((d) => isInside(d.dir, abs));
    if (owner) changed.add(owner.name);
  }
  return changed;
}

/** What one parsed filter selects in the graph. */
export function matchFilter(f: ParsedFilter, ctx: FilterContext): FilterMatch {
  const { graph } = ctx;
  let matched: Set<string> | null = null;
  let exact = true;
  const intersect = (r: { names: Set<string>; exact: boolean }) => {
    exact &&= r.exact;
    matched = matched === null ? r.names : new Set([...matched].filter((n) => r.names.has(n)));
  };
  if (f.name !== undefined) intersect(matchName(f, graph));
  if (f.dir !== undefined) intersect(matchDir(f, ctx));
  if (f.gitRef !== undefined) intersect({ names: changedPackages(f.gitRef, graph, f.raw), exact: false });
  const base: Set<string> = matched ?? new Set<string>();

  const packages = new Set<string>(f.excludeSelf ? [] : base);
  if (f.withDependents) for (const n of dependentClosure(graph, base, false)) packages.add(n);
  if (f.withDependencies) for (const n of dependencyClosure(graph, base, false)) packages.add(n);
  return { packages, explicit: exact && !f.excludeSelf ? new Set(base) : new Set() };
}

export interface FilterResult {
  /** Union of the non-`!` filters, or null when every filter is an exclusion (then the default selection applies). */
  include: Set<string> | null;
  /** Union of the `!` filters. */
  exclude: Set<string>;
  explicit: Set<string>;
}

export function evaluateFilters(filters: readonly ParsedFilter[], ctx: FilterContext): FilterResult {
  let include: Set<string> | null = null;
  const exclude = new Set<string>();
  const explicit = new Set<string>();
  for (const f of filters) {
    const m = matchFilter(f, ctx);
    if (f.exclude) {
      for (const n of m.packages) exclude.add(n);
      continue;
    }
    include ??= new Set();
    for (const n of m.packages) include.add(n);
    for (const n of m.explicit) explicit.add(n);
  }
  return { include, exclude, explicit };
}
