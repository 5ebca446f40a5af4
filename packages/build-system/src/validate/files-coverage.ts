import path from 'node:path';
import picomatch from 'picomatch';
import type { Diagnostic } from '../result/schema.js';
import { parseGitignore, parseGitignoreLine } from '../cache/gitignore.js';
import { isStrictlyInside, toPosix } from '../util/paths.js';
import { VALIDATION_CODES, validationWarning } from './diagnostics.js';
import type { PackageFiles } from './package-files.js';

/**
 * What `npm pack` publishes (npm-packlist over ignore-walk), decided without
 * packing. Rules, in the order they apply (the last matching rule wins):
 * - without `files`, for a workspace package: the .npmignore (else
 *   .gitignore) of every directory from the workspace root down to the
 *   package's parent, applied at the package root (so a root `.gitignore`
 *   with `dist/` leaves `dist` out of every package without `files`); then
 *   the package root's own .npmignore, else .gitignore;
 * - with `files` instead: everything is left out, then each entry brings
 *   back what it matches, gitignore-style (`!` entries exclude again; `./x`
 *   is anchored at the root, as is any entry with a `/` but a trailing one;
 *   one without matches a name at any depth; an entry naming a directory
 *   brings back everything below it);
 * - below the root, each directory's .npmignore (else .gitignore) for what
 *   is under it.
 * npm decides directories first: it enters one the rules keep, or one that
 * holds a file it always publishes; a file is published when every
 * directory above it was entered and the rules keep the file itself (a
 * `dist/` rule stops npm at the directory; it does not match the files
 * below, so once npm enters `dist` for a `bin` inside it, all of `dist` is
 * published). Always published: package.json, README, LICENSE, LICENCE,
 * COPYING (any extension) at the root, every `bin` file, and `main`/`browser`
 * when written without a leading `./` (npm matches the value as written, and
 * `./dist/x.js` matches nothing: publint reports such a `main` too).
 */

interface RuleSet {
  /** Directory the patterns are relative to, relative to the package ('' = its root). */
  base: string;
  /** Where the rules come from: `"files"` or an ignore file's path relative to the package. */
  source: string;
  rules: Rule[];
}

interface Rule {
  negate: boolean;
  dirOnly: boolean;
  test: (rel: string) => boolean;
  /** A `files` entry's pattern: npm enters a directory this could match something below. */
  pattern?: string;
}

const ALWAYS = /^(package\.json|(readme|license|licence|copying)(\..*)?)$/i;

/** Parsed ignore files by content: every package of a workspace reads the same root .gitignore, and compiling its globs is most of the check's cost. */
const parsedByText = new Map<string, Rule[]>();
const PARSED_KEPT = 64;

function parseIgnoreFile(text: string): Rule[] {
  let rules = parsedByText.get(text);
  if (!rules) {
    if (parsedByText.size >= PARSED_KEPT) parsedByText.clear();
    rules = parseGitignore(text);
    parsedByText.set(text, rules);
  }
  return rules;
}

export class PublishRules {
  private readonly outer: RuleSet[] = [];
  private readonly innerByDir = new Map<string, RuleSet | null>();
  private readonly always: ReadonlySet<string>;

  /** `files`: package.json `files` (non-arrays are ignored, as npm does); `always`: the paths npm always publishes (bin, main/browser as written). */
  constructor(
    private readonly pkgFiles: PackageFiles,
    files: unknown,
    always: readonly string[],
  ) {
    this.always = new Set(always);
    if (Array.isArray(files)) {
      // Everything is left out, then each entry brings back what it matches.
      const rules = [ignoreAll(), ...files.filter((f): f is string => typeof f === 'string').flatMap((f) => filesEntryRule(f))];
      this.outer.push({ base: '', source: '"files"', rules });
      return;
    }
    const pkgDir = pkgFiles.packageDir;
    const root = pkgFiles.workspaceRoot;
    if (isStrictlyInside(root, pkgDir)) {
      const dirs: string[] = [];
      for (let d = path.dirname(pkgDir); ; d = path.dirname(d)) {
        dirs.unshift(d);
        if (d === root || path.dirname(d) === d) break;
      }
      for (const d of dirs) {
        const set = this.ignoreFileRules(toPosix(path.relative(pkgDir, d)), '');
        if (set) this.outer.push(set);
      }
    }
    const own = this.ignoreFileRules('', '');
    if (own) this.outer.push(own);
  }

  /** Does npm publish this path (relative to the package, posix)? */
  covers(rel: string): boolean {
    return this.leftOutBy(rel) === null;
  }

  /** null when npm publishes the path; else what leaves it out (`"files"` or an ignore file, relative to the package). */
  leftOutBy(rel: string): string | null {
    if (this.always.has(rel) || (!rel.includes('/') && ALWAYS.test(rel))) return null;
    const parts = rel.split('/');
    const sets = [...this.outer];
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const isDir = i < parts.length - 1;
      const droppedBy = this.droppedBy(sets, sub, isDir);
      if (droppedBy !== null && !(isDir && this.holdsAlways(sub))) return droppedBy;
      if (isDir) {
        let set = this.innerByDir.get(sub);
        if (set === undefined) {
          set = this.ignoreFileRules(sub, sub);
          this.innerByDir.set(sub, set);
        }
        if (set) sets.push(set);
      }
    }
    return null;
  }

  /** The rules' decision on one path (a directory or a file), outer rule sets first: null = kept, else the source of the last rule that dropped it. */
  private droppedBy(sets: readonly RuleSet[], rel: string, isDir: boolean): string | null {
    let dropped: string | null = null;
    for (const set of sets) {
      const local = set.base === '' ? rel : rel.slice(set.base.length + 1);
      for (const rule of set.rules) {
        const matches = (isDir || !rule.dirOnly) && rule.test(local);
        // A directory something inside could be brought back by is entered (ignore-walk's partial match).
        const below = isDir && rule.negate && rule.pattern !== undefined && couldMatchBelow(rule.pattern, local);
        if (matches || below) dropped = rule.negate ? null : set.source;
      }
    }
    return dropped;
  }

  private holdsAlways(dir: string): boolean {
    for (const a of this.always) if (a.startsWith(`${dir}/`)) return true;
    return false;
  }

  /** The rules of `dir`'s .npmignore, else its .gitignore (dir relative to the package, may start with ../), based at `base`. */
  private ignoreFileRules(dir: string, base: string): RuleSet | null {
    for (const name of ['.npmignore', '.gitignore']) {
      const file = dir ? `${dir}/${name}` : name;
      const text = this.pkgFiles.text(file);
      if (text !== undefined) return { base, source: file, rules: parseIgnoreFile(text) };
    }
    return null;
  }
}

/** Could `pattern` (slash-separated globs) match a path below `dir`? Segment by segment; `**` matches anything from there on. */
function couldMatchBelow(pattern: string, dir: string): boolean {
  const segs = pattern.split('/').filter(Boolean);
  const dirSegs = dir.split('/');
  for (let i = 0; i < dirSegs.length; i++) {
    if (i >= segs.length) return false;
    if (segs[i] === '**') return true;
    if (!picomatch.isMatch(dirSegs[i]!, segs[i]!, { dot: true })) return false;
  }
  return segs.length > dirSegs.length;
}

function ignoreAll(): Rule {
  return parseGitignoreLine('*')!;
}

/**
 * A `files` entry as npm turns it into ignore rules: inverted (it brings
 * back), `./x` anchored, `dir/*` as `dir/**`, and for a directory also
 * everything below it (npm adds `dir/**` after checking the disk; for a file
 * the extra rule matches nothing).
 */
function filesEntryRule(entry: string): Rule[] {
  let pattern = entry.trim();
  const exclude = pattern.startsWith('!');
  if (exclude) pattern = pattern.slice(1);
  if (pattern.startsWith('./')) pattern = pattern.slice(1);
  if (pattern.endsWith('/*')) pattern += '*';
  const below = pattern.endsWith('/**') ? null : `${pattern.replace(/\/+$/, '')}/**`;
  return [pattern, below].flatMap((p) => {
    const rule = p === null ? null : parseGitignoreLine(p);
    return rule ? [{ ...rule, negate: !exclude, pattern: p! }] : [];
  });
}

/** PKG_FILES_UNCOVERED for each field with an existing target npm would leave out of the package (the first such file per field). */
export function checkPublished(rules: PublishRules, hasFilesField: boolean, targets: readonly { field: string; value: string; path: string }[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const reported = new Set<string>();
  for (const t of targets) {
    if (reported.has(t.field)) continue;
    const by = rules.leftOutBy(t.path);
    if (by === null) continue;
    reported.add(t.field);
    const top = t.path.split('/')[0]!;
    const fix = hasFilesField ? `add ${JSON.stringify(top)} to "files"` : `add "files": [${JSON.stringify(top)}]`;
    out.push(validationWarning(VALIDATION_CODES.filesUncovered, t.field, `./${t.path} would not be published by npm (left out by ${by}): ${fix}`));
  }
  return out;
}
