import path from 'node:path';
import type { ReadLog } from '../util/read-log.js';
import { candidateFiles, nearestTsconfig, parseJsonc } from '../util/tsconfig-chain.js';

/**
 * tsconfig `paths` for a bundler that does not read tsconfig itself (rollup,
 * whose node-resolve knows node_modules only): `"@app/*": ["./src/*"]` makes
 * `import '@app/util'` the package's `src/util.ts`, as esbuild, bun and tsc
 * resolve it. Without this, rollup left such an import unresolved, as an
 * external import no user of the package can satisfy.
 *
 * TypeScript's rules, as far as a bundle needs them: the nearest tsconfig of
 * the importing file; `paths` and `baseUrl` from it or what it extends (a later
 * `extends` entry over an earlier one, the file's own over both); targets
 * relative to `baseUrl` when set, else to the file that declares `paths`; an
 * exact pattern before a wildcard one, the wildcard with the longest prefix
 * first; each target in order, as a file with a script extension (`.js`
 * written for `.ts` too), then as a directory's index. What the tsconfig files
 * read is recorded by cache/build-reads.ts, which follows the same nearest
 * tsconfig and chain for this adapter.
 */

interface Mapping {
  /** Absolute directory the targets are relative to. */
  base: string;
  patterns: [pattern: string, targets: string[]][];
}

const SCRIPT_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
/** `./foo.js` in TypeScript source means `./foo.ts` (and .mjs -> .mts, .cjs -> .cts, .jsx -> .tsx): the sources a written extension stands for. */
export const TS_FOR_JS: Readonly<Record<string, readonly string[]>> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'], '.jsx': ['.tsx'] };

export class TsconfigPaths {
  private readonly byDir = new Map<string, Mapping | null>();
  private readonly byFile = new Map<string, Mapping | null>();
  /** Places looked at before a file that was used: adding one there would change the result. */
  readonly absent = new Set<string>();

  constructor(private readonly reads: ReadLog) {}

  /** The file `specifier` maps to from `importer` (absolute), or undefined when no pattern matches or no target exists. */
  resolve(specifier: string, importer: string): string | undefined {
    if (specifier.startsWith('.') || path.isAbsolute(specifier) || specifier.includes('\0')) return undefined;
    // A dependency's own files are not the package's to alias (esbuild applies no tsconfig inside node_modules either):
    // its `import 'utils'` is the npm package, whatever the package's `paths` call `utils`.
    if (importer.split(path.sep).includes('node_modules')) return undefined;
    const mapping = this.forDir(path.dirname(importer));
    if (!mapping) return undefined;
    for (const target of matchingTargets(mapping, specifier)) {
      const file = this.file(path.resolve(mapping.base, target));
      if (file) return file;
    }
    return undefined;
  }

  private forDir(dir: string): Mapping | null {
    let mapping = this.byDir.get(dir);
    if (mapping === undefined) {
      const { file } = nearestTsconfig(dir, this.reads);
      mapping = file ? this.forFile(file, 0) : null;
      this.byDir.set(dir, mapping);
    }
    return mapping;
  }

  /** `paths` and `baseUrl` in effect for a tsconfig: its own, else the last of its `extends` that has them. */
  private forFile(file: string, depth: number): Mapping | null {
    const known = this.byFile.get(file);
    if (known !== undefined) return known;
    const json = this.parsed(file);
    const dir = path.dirname(file);
    let inherited: Mapping | null = null;
    const bases = typeof json?.extends === 'string' ? [json.extends] : Array.isArray(json?.extends) ? json.extends.filter((e): e is string => typeof e === 'string') : [];
    if (depth < 32) {
      for (const base of bases) {
        const found = candidateFiles(base, dir).find((c) => this.reads.stat(c)?.isFile() && path.basename(c) !== 'package.json');
        const mapping = found ? this.forFile(found, depth + 1) : null;
        if (mapping) inherited = mapping;
      }
    }
    const options = json?.compilerOptions;
    const baseUrl = typeof options?.baseUrl === 'string' ? path.resolve(dir, options.baseUrl) : undefined;
    let mapping = inherited;
    if (options?.paths && typeof options.paths === 'object') {
      const patterns = Object.entries(options.paths as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : []] as [string, string[]]);
      mapping = { base: baseUrl ?? dir, patterns };
    } else if (inherited && baseUrl) {
      // A baseUrl of its own re-bases inherited paths, as TypeScript reads them.
      mapping = { base: baseUrl, patterns: inherited.patterns };
    }
    this.byFile.set(file, mapping);
    return mapping;
  }

  private parsed(file: string): { extends?: unknown; compilerOptions?: { paths?: unknown; baseUrl?: unknown } } | null {
    try {
      return parseJsonc(this.reads.readTextOnce(file) ?? 'null') as { extends?: unknown; compilerOptions?: { paths?: unknown; baseUrl?: unknown } } | null;
    } catch {
      // Unreadable: maps nothing here (cache/build-reads.ts refuses to cache a chain it cannot follow).
      return null;
    }
  }

  private file(candidate: string): string | undefined {
    const tries: string[] = [];
    const ext = path.extname(candidate);
    if (SCRIPT_EXTENSIONS.includes(ext)) tries.push(...(TS_FOR_JS[ext] ?? []).map((e) => candidate.slice(0, -ext.length) + e), candidate);
    else tries.push(candidate, ...SCRIPT_EXTENSIONS.map((e) => candidate + e));
    tries.push(...SCRIPT_EXTENSIONS.map((e) => path.join(candidate, `index${e}`)));
    for (const t of tries) {
      const st = this.reads.stat(t);
      if (st?.isFile()) return t;
      // A directory tried as a file is no absent path (its index is tried below).
      if (!st) this.absent.add(t);
    }
    return undefined;
  }
}

/** The targets of the pattern that matches, `*` replaced: an exact key first, then the wildcard with the longest prefix. */
function matchingTargets(mapping: Mapping, specifier: string): string[] {
  let best: { targets: string[]; star: string; prefix: number } | undefined;
  for (const [pattern, targets] of mapping.patterns) {
    const star = pattern.indexOf('*');
    if (star === -1) {
      if (pattern === specifier) return targets;
      continue;
    }
    const prefix = pattern.slice(0, star);
    const suffix = pattern.slice(star + 1);
    if (specifier.length < prefix.length + suffix.length || !specifier.startsWith(prefix) || !specifier.endsWith(suffix)) continue;
    if (!best || prefix.length > best.prefix) best = { targets, star: specifier.slice(prefix.length, specifier.length - suffix.length), prefix: prefix.length };
  }
  return best ? best.targets.map((t) => t.replace('*', best!.star)) : [];
}
