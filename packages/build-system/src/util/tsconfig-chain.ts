import { createRequire } from 'node:module';
import path from 'node:path';
import type { ReadLog } from './read-log.js';

/**
 * The tsconfig files a compiler reads for one project: the file itself, every
 * file its `extends` names (relative paths, and package names resolved the way
 * TypeScript does: `pkg`, `pkg/file`, `pkg/tsconfig.json`, `pkg`'s package.json
 * `tsconfig` field), recursively, and the projects its `references` name. A
 * root `tsconfig.base.json` that a package's tsconfig extends changes that
 * package's output as surely as one of its sources does, so every file here
 * is an input of the build (cache/build-reads.ts).
 *
 * Read through the run's read log. A file that cannot be parsed is still an
 * input (it was read); only the chain below it is unknown, which is reported
 * so the caller can refuse to cache rather than guess.
 */

export interface TsconfigChain {
  /** Absolute paths of the tsconfig files read, the starting one first. */
  files: string[];
  /** Paths where a file was looked for and not found (adding one there would change the result). */
  absent: string[];
  /** Why part of the chain could not be followed (unparsable JSON, an unresolvable extends), or null. */
  problem: string | null;
}

/** JSON with comments and trailing commas, as tsconfig files are written. */
export function parseJsonc(text: string): unknown {
  const n = text.length;
  /** Index of the next character that is not whitespace or inside a comment. */
  const skip = (from: number): number => {
    let i = from;
    for (;;) {
      if (i < n && /\s/.test(text[i]!)) i++;
      else if (text.startsWith('//', i)) {
        const end = text.indexOf('\n', i);
        i = end < 0 ? n : end;
      } else if (text.startsWith('/*', i)) {
        const end = text.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
      } else return i;
    }
  };
  let out = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      i = skip(i);
    } else if (c === ',') {
      const next = skip(i + 1);
      // A trailing comma: dropped, as TypeScript accepts it.
      if (text[next] !== '}' && text[next] !== ']') out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out) as unknown;
}

/** Where an `extends` value may point, in the order TypeScript tries them (a package name resolved from `fromDir`). */
export function candidateFiles(spec: string, fromDir: string): string[] {
  if (spec.startsWith('.') || path.isAbsolute(spec)) {
    const abs = path.resolve(fromDir, spec);
    return abs.endsWith('.json') ? [abs] : [abs, `${abs}.json`];
  }
  // A package name (optionally with a subpath): resolved like a module from the tsconfig's directory.
  const req = createRequire(path.join(fromDir, 'noop.js'));
  const tries = spec.endsWith('.json') ? [spec] : [spec, `${spec}.json`, `${spec}/tsconfig.json`];
  const found: string[] = [];
  for (const t of tries) {
    try {
      found.push(req.resolve(t));
      break;
    } catch {
      // Next form.
    }
  }
  if (found.length === 0) {
    // `"extends": "@scope/pkg"` whose package.json names its tsconfig in a "tsconfig" field.
    try {
      const manifestPath = req.resolve(`${spec}/package.json`);
      found.push(manifestPath);
    } catch {
      // Not installed: reported by the caller.
    }
  }
  return found;
}

/** Follows one tsconfig and everything it extends or references. */
export function tsconfigChain(start: string, reads: ReadLog): TsconfigChain {
  const files: string[] = [];
  const absent: string[] = [];
  let problem: string | null = null;
  const seen = new Set<string>();
  const visit = (file: string, depth: number) => {
    if (seen.has(file) || depth > 32) return;
    seen.add(file);
    let text: string | undefined;
    try {
      // Once per run: packages share a root tsconfig, and every one follows it (the first read is what the run logged).
      text = reads.readTextOnce(file);
    } catch (e) {
      problem ??= `${file} cannot be read (${(e as Error).message})`;
      return;
    }
    if (text === undefined) {
      absent.push(file);
      return;
    }
    files.push(file);
    let json: { extends?: unknown; references?: unknown; tsconfig?: unknown };
    try {
      json = parseJsonc(text) as typeof json;
    } catch (e) {
      problem ??= `${file} is not valid JSON (${(e as Error).message})`;
      return;
    }
    if (typeof json !== 'object' || json === null) return;
    const dir = path.dirname(file);
    if (path.basename(file) === 'package.json') {
      // Reached through an extends of a package name: its "tsconfig" field names the real file.
      if (typeof json.tsconfig === 'string') visit(path.resolve(dir, json.tsconfig), depth + 1);
      else problem ??= `${file} has no "tsconfig" field`;
      return;
    }
    const bases = typeof json.extends === 'string' ? [json.extends] : Array.isArray(json.extends) ? json.extends.filter((e): e is string => typeof e === 'string') : [];
    for (const base of bases) {
      const candidates = candidateFiles(base, dir);
      if (candidates.length === 0) {
        problem ??= `${file} extends ${JSON.stringify(base)}, which cannot be resolved`;
        continue;
      }
      // Relative forms: the first candidate that exists wins, and the ones before it must stay absent.
      const existing = candidates.find((c) => reads.stat(c)?.isFile());
      if (existing) visit(existing, depth + 1);
      else {
        absent.push(...candidates);
        problem ??= `${file} extends ${JSON.stringify(base)}, which does not exist`;
      }
    }
    if (Array.isArray(json.references)) {
      for (const ref of json.references) {
        const p = (ref as { path?: unknown })?.path;
        if (typeof p !== 'string') continue;
        const abs = path.resolve(dir, p);
        const st = reads.stat(abs);
        visit(st?.isDirectory() ? path.join(abs, 'tsconfig.json') : abs, depth + 1);
      }
    }
  };
  visit(path.resolve(start), 0);
  return { files, absent, problem };
}

/**
 * The tsconfig (or jsconfig) a bundler applies to files in `dir`: the nearest
 * one in `dir` or above, as esbuild and bun look it up. Returns the file found
 * (or null) and the paths looked at on the way, which must stay absent.
 */
export function nearestTsconfig(dir: string, reads: ReadLog): { file: string | null; absent: string[] } {
  const absent: string[] = [];
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    for (const name of ['tsconfig.json', 'jsconfig.json']) {
      const candidate = path.join(cur, name);
      if (reads.stat(candidate)?.isFile()) return { file: candidate, absent };
      absent.push(candidate);
    }
    if (path.dirname(cur) === cur) return { file: null, absent };
  }
}
