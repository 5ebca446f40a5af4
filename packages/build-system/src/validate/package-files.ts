import path from 'node:path';
import type { ReadLog } from '../util/read-log.js';

export type ModuleKind = 'esm' | 'cjs';

export interface PackageFilesInput {
  /** Absolute package directory. */
  dir: string;
  /** Absolute workspace root (the package dir when it is not in one). */
  workspaceRoot?: string;
  /** package.json `type` of the package. */
  type: 'module' | 'commonjs';
  /** outDir relative to the package (posix). */
  outDir: string;
  /** Paths of this build's artifacts, relative to the package (posix). */
  artifacts: readonly string[];
  /** Files outside outDir are looked at through the run's read log, so the no-op record watches them. */
  reads: ReadLog;
  /**
   * The text of an artifact (a nested package.json the build wrote, whose
   * `type` decides the module kind below it); undefined when unknown.
   */
  readArtifact?: (rel: string) => string | undefined;
}

const JS = /\.(m|c)?js$/;
const DTS = /\.d\.(m|c)?ts$/;

export const isDeclaration = (p: string) => DTS.test(p);
export const isJavaScript = (p: string) => JS.test(p) && !DTS.test(p);

/**
 * The files a validation can see: inside outDir exactly this build's
 * artifacts (never read again), outside it the disk, through the read log.
 * Answers "does it exist", "what does a `*` pattern match" and "which module
 * kind is this file" by Node's and TypeScript's rules.
 */
export class PackageFiles {
  private readonly artifacts: ReadonlySet<string>;
  private readonly typeByDir = new Map<string, 'module' | 'commonjs' | null>();
  private readonly onDisk = new Map<string, boolean>();
  private readonly texts = new Map<string, string | undefined>();

  constructor(private readonly input: PackageFilesInput) {
    this.artifacts = new Set(input.artifacts);
  }

  /** Relative path inside outDir (where only artifacts count)? */
  inOutDir(rel: string): boolean {
    return rel === this.input.outDir || rel.startsWith(`${this.input.outDir}/`);
  }

  exists(rel: string): boolean {
    if (this.inOutDir(rel)) return this.artifacts.has(rel);
    if (rel === 'package.json') return true;
    return this.fileOnDisk(path.resolve(this.input.dir, rel));
  }

  get outDirName(): string {
    return this.input.outDir;
  }

  /** An artifact of the same name and category with another extension (dist/index.js for dist/index.mjs): what was made instead. */
  producesNearby(rel: string): string | undefined {
    const stem = (p: string) => p.replace(/(\.d)?\.(m|c)?[jt]s$/, '');
    const category = isDeclaration(rel);
    for (const a of this.artifacts) if (a !== rel && stem(a) === stem(rel) && isDeclaration(a) === category && (category || isJavaScript(a))) return a;
    return undefined;
  }

  get packageDir(): string {
    return this.input.dir;
  }

  get workspaceRoot(): string {
    return this.input.workspaceRoot ?? this.input.dir;
  }

  /**
   * The text of a file: inside outDir an artifact's (undefined when the build
   * did not produce it), elsewhere from disk through the read log. `rel` may
   * lead above the package (`../.gitignore`).
   */
  text(rel: string): string | undefined {
    if (this.inOutDir(rel)) return this.artifacts.has(rel) ? this.input.readArtifact?.(rel) : undefined;
    const abs = path.resolve(this.input.dir, rel);
    if (this.texts.has(abs)) return this.texts.get(abs);
    const text = this.fileOnDisk(abs) ? readOrUndefined(this.input.reads, abs) : undefined;
    this.texts.set(abs, text);
    return text;
  }

  /**
   * Every path outside outDir looked at on disk: those found and those
   * absent. The build records them with its cache entry (cache/build-reads.ts),
   * so the stored diagnostics go stale exactly when what they were decided
   * from changes.
   */
  diskLookups(): { present: string[]; absent: string[] } {
    const present: string[] = [];
    const absent: string[] = [];
    for (const [abs, found] of this.onDisk) (found ? present : absent).push(abs);
    return { present, absent };
  }

  /** A produced artifact (not a file left on disk by something else). */
  isArtifact(rel: string): boolean {
    return this.artifacts.has(rel);
  }

  /**
   * The artifacts a `*` target matches (Node: `*` stands for any string, `/`
   * included); null when the pattern is outside outDir (not expanded: that
   * would mean listing the disk).
   */
  matches(pattern: string): string[] | null {
    if (!this.inOutDir(pattern.slice(0, pattern.indexOf('*')))) return null;
    const star = pattern.indexOf('*');
    const prefix = pattern.slice(0, star);
    // Node replaces every `*` of a target with the same string.
    const rest = pattern.slice(star + 1).split('*');
    const out: string[] = [];
    for (const a of this.artifacts) {
      if (!a.startsWith(prefix)) continue;
      const tail = a.slice(prefix.length);
      const suffix = rest[rest.length - 1]!;
      if (!tail.endsWith(suffix) || tail.length < suffix.length) continue;
      const match = this.matchStar(tail, rest);
      if (match !== null) out.push(a);
    }
    return out.sort();
  }

  private matchStar(tail: string, rest: string[]): string | null {
    // The single-star case (by far the common one): whatever lies between prefix and suffix.
    if (rest.length === 1) return tail.slice(0, tail.length - rest[0]!.length);
    for (let i = 0; i <= tail.length; i++) {
      const star = tail.slice(0, i);
      if (rest.map((r, j) => (j < rest.length - 1 ? r + star : r)).join('') === tail.slice(i)) return star;
    }
    return null;
  }

  /** Module kind of a JS file (.mjs, .cjs, .js by the nearest package.json `type`); null for other files or an unknown type. */
  jsKind(rel: string): ModuleKind | null {
    if (!isJavaScript(rel)) return null;
    if (rel.endsWith('.mjs')) return 'esm';
    if (rel.endsWith('.cjs')) return 'cjs';
    return this.kindOfType(rel);
  }

  /** Module kind TypeScript gives a declaration (.d.mts, .d.cts, .d.ts by the nearest package.json `type`). */
  dtsKind(rel: string): ModuleKind | null {
    if (!isDeclaration(rel)) return null;
    if (rel.endsWith('.d.mts')) return 'esm';
    if (rel.endsWith('.d.cts')) return 'cjs';
    return this.kindOfType(rel);
  }

  /** Either of the above. */
  kind(rel: string): ModuleKind | null {
    return isDeclaration(rel) ? this.dtsKind(rel) : this.jsKind(rel);
  }

  /**
   * The declaration TypeScript looks for beside a JS file (x.js → x.d.ts or
   * x.ts, x.mjs → x.d.mts or x.mts, x.cjs → x.d.cts or x.cts), the first that
   * exists, else the declaration's name with `found: false`.
   */
  declarationBeside(rel: string): { path: string; found: boolean } {
    const m = /\.(m|c)?js$/.exec(rel);
    const base = rel.slice(0, m!.index);
    const letter = m![1] ?? '';
    const candidates = [`${base}.d.${letter}ts`, `${base}.${letter}ts`, ...(letter === '' ? [`${base}.tsx`] : [])];
    for (const c of candidates) if (this.exists(c)) return { path: c, found: true };
    return { path: candidates[0]!, found: false };
  }

  private kindOfType(rel: string): ModuleKind | null {
    const type = this.typeAt(path.posix.dirname(rel));
    return type === null ? null : type === 'module' ? 'esm' : 'cjs';
  }

  /** `type` of the nearest package.json from `dir` up to the package root; null when one cannot be read. */
  private typeAt(dir: string): 'module' | 'commonjs' | null {
    if (dir === '.' || dir === '' || dir === '..' || dir.startsWith('../')) return this.input.type;
    const known = this.typeByDir.get(dir);
    if (known !== undefined) return known;
    const manifest = `${dir}/package.json`;
    let type: 'module' | 'commonjs' | null;
    if (this.inOutDir(manifest)) {
      type = this.artifacts.has(manifest) ? typeOf(this.input.readArtifact?.(manifest)) : this.typeAt(path.posix.dirname(dir));
    } else {
      const text = this.text(manifest);
      type = text !== undefined ? typeOf(text) : this.fileOnDisk(path.resolve(this.input.dir, manifest)) ? null : this.typeAt(path.posix.dirname(dir));
    }
    this.typeByDir.set(dir, type);
    return type;
  }

  private fileOnDisk(abs: string): boolean {
    const known = this.onDisk.get(abs);
    if (known !== undefined) return known;
    const found = this.input.reads.stat(abs)?.isFile() === true;
    this.onDisk.set(abs, found);
    return found;
  }
}

function readOrUndefined(reads: ReadLog, abs: string): string | undefined {
  try {
    return reads.readText(abs);
  } catch {
    return undefined;
  }
}

/** A nested package.json's `type` (absent: commonjs, as Node reads it); null when it is not readable JSON. */
function typeOf(text: string | undefined): 'module' | 'commonjs' | null {
  if (text === undefined) return null;
  try {
    const json = JSON.parse(text.replace(/^\uFEFF/, '')) as { type?: unknown };
    return json.type === 'module' ? 'module' : 'commonjs';
  } catch {
    return null;
  }
}
