import path from 'node:path';
import picomatch from 'picomatch';
import { statSignature, type ReadLog } from '../util/read-log.js';
import { isInside } from '../util/paths.js';

/**
 * The part of gitignore(5) that decides which files are build inputs:
 * comments, blank lines, `!` negation, a trailing `/` for directories only,
 * patterns anchored by a slash (leading or in the middle) versus patterns that
 * match a name at any depth, `*`, `?`, `**`, `[...]` and `[!...]`, and `\`
 * escapes. Last matching rule wins, and a file below an ignored directory stays
 * ignored (the walker never enters the directory), as in git.
 *
 * Not implemented: .git/info/exclude, core.excludesFile, and trailing-space
 * escapes (`\ `); none of them belongs to what a package declares about itself.
 */

interface IgnoreRule {
  negate: boolean;
  dirOnly: boolean;
  test: (rel: string) => boolean;
}

/**
 * Rules of one .gitignore file. `scope` is where the file sits, relative to
 * the walk root ('' = the root itself); `outerPrefix` is set for a .gitignore
 * above the walk root and is the walk root's path relative to that file's
 * directory, so its anchored patterns are matched as git would match them.
 */
interface RuleSet {
  scope: string;
  outerPrefix: string;
  rules: IgnoreRule[];
}

const MATCH_OPTIONS = { dot: true, nobrace: true, noextglob: true, nonegate: true } as const;

/** One pattern line → rule, or null for blank lines and comments. */
export function parseGitignoreLine(line: string): IgnoreRule | null {
  let pattern = line.replace(/\r$/, '');
  // Trailing spaces are ignored unless escaped (the escape itself is not supported, see above).
  pattern = pattern.replace(/\s+$/, '');
  if (pattern === '' || pattern.startsWith('#')) return null;
  let negate = false;
  if (pattern.startsWith('!')) {
    negate = true;
    pattern = pattern.slice(1);
  } else if (pattern.startsWith('\\!') || pattern.startsWith('\\#')) {
    pattern = pattern.slice(1);
  }
  let dirOnly = false;
  if (pattern.endsWith('/')) {
    dirOnly = true;
    pattern = pattern.replace(/\/+$/, '');
  }
  if (pattern === '') return null;
  // A slash at the start or in the middle anchors the pattern to the .gitignore's directory.
  const anchored = pattern.includes('/');
  pattern = pattern.replace(/^\/+/, '');
  // gitignore spells bracket negation `[!...]`; picomatch wants `[^...]`.
  pattern = pattern.replace(/\[!/g, '[^');
  const glob = anchored || pattern.startsWith('**/') ? pattern : `**/${pattern}`;
  return { negate, dirOnly, test: picomatch(glob, MATCH_OPTIONS) };
}

export function parseGitignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map(parseGitignoreLine)
    .filter((r): r is IgnoreRule => r !== null);
}

/**
 * Parsed rules per .gitignore, while its stat is unchanged: every package's
 * walk reads the same outer files (the workspace root's), and compiling their
 * globs cost more than the rest of a no-change key (~0.4 ms per package).
 */
const rulesMemo = new Map<string, { signature: string; rules: IgnoreRule[] }>();

/**
 * Per run (per read log): the rules of each .gitignore as the run first found them. Every package's
 * walk looks at the same outer files (the workspace root's, and e.g. packages/.gitignore): one stat
 * each per run instead of per package; the first look is what the run logged. Per run, not per
 * process: an edit between two runs (watch mode) is seen by the next.
 */
const rulesSeen = new WeakMap<ReadLog, Map<string, IgnoreRule[]>>();

function readRules(file: string, reads: ReadLog): IgnoreRule[] {
  let seen = rulesSeen.get(reads);
  if (!seen) rulesSeen.set(reads, (seen = new Map()));
  let rules = seen.get(file);
  if (!rules) seen.set(file, (rules = readRulesNow(file, reads)));
  return rules;
}

function readRulesNow(file: string, reads: ReadLog): IgnoreRule[] {
  const st = reads.stat(file);
  if (!st || !st.isFile()) return [];
  const signature = statSignature(st);
  const known = rulesMemo.get(file);
  if (known?.signature === signature) return known.rules;
  let text: string | undefined;
  try {
    text = reads.readText(file);
  } catch (e) {
    // An unreadable .gitignore would silently change what counts as input: say so rather than guess.
    reads.refuse(`${file} cannot be read (${(e as Error).message})`);
    return [];
  }
  if (text === undefined) return [];
  const rules = parseGitignore(text);
  rulesMemo.set(file, { signature, rules });
  return rules;
}

/**
 * Decides, for paths relative to a walk root, whether git would ignore them.
 * Built from the .gitignore files from `outerRoot` (the workspace root) down to
 * the walk root; .gitignore files inside the walk root are added by the walker
 * as it enters directories (`enter`).
 */
export class GitignoreMatcher {
  private readonly sets: RuleSet[] = [];

  constructor(
    readonly root: string,
    private readonly reads: ReadLog,
    outerRoot?: string,
  ) {
    if (outerRoot && path.resolve(outerRoot) !== path.resolve(root)) {
      const rel = path.relative(outerRoot, root);
      if (isInside(outerRoot, root)) {
        // Outermost first, so nearer files (added later) win ties, as in git.
        const parts = rel.split(path.sep);
        for (let i = 0; i < parts.length; i++) {
          const dir = path.join(outerRoot, ...parts.slice(0, i));
          const rules = readRules(path.join(dir, '.gitignore'), reads);
          if (rules.length) this.sets.push({ scope: '', outerPrefix: parts.slice(i).join('/'), rules });
        }
      }
    }
    this.enter('');
  }

  /** Reads the .gitignore of a directory below the root (posix, '' = root) when the walker enters it. */
  enter(dirRel: string): void {
    const rules = readRules(path.join(this.root, dirRel, '.gitignore'), this.reads);
    if (rules.length) this.sets.push({ scope: dirRel, outerPrefix: '', rules });
  }

  /** Is `rel` (posix, relative to the root) ignored? Its parent directories must already be known not to be. */
  ignores(rel: string, isDir: boolean): boolean {
    let ignored = false;
    for (const set of this.sets) {
      let local: string;
      if (set.outerPrefix) local = `${set.outerPrefix}/${rel}`;
      else if (set.scope === '') local = rel;
      else if (rel.startsWith(`${set.scope}/`)) local = rel.slice(set.scope.length + 1);
      else continue;
      for (const rule of set.rules) {
        if (rule.dirOnly && !isDir) continue;
        if (rule.negate === ignored && rule.test(local)) ignored = !rule.negate;
      }
    }
    return ignored;
  }
}
