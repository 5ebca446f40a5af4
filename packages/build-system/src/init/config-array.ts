import path from 'node:path';
import type { EntryWithOptions, Format } from '../config/schema.js';
import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { commonDir } from '../config/entry-placement.js';
import type { ToolConfig } from './tool-config.js';
import { describe } from './describe-value.js';
import { mapToolOptions, type MappedOptions } from './tool-options.js';

/**
 * A tsup/tsdown config that exports an array builds each element on its own.
 * The common array is one build split by format (kubb: `[{ format: 'esm',
 * dts: true, … }, { format: 'cjs', … }]`), which is one build-system config
 * with both formats. Elements whose mapped options differ only in format,
 * dts and outExtension are merged so (formats in order, dts when any asks;
 * build-system then writes declarations for every format, which the
 * package's `types` for each condition needs anyway).
 *
 * The other common array is one build split by entry directory (vercel/ai's
 * providers: `[{ entry: ['src/index.ts'], … }, { entry:
 * ['src/internal/index.ts'], outDir: 'dist/internal', … }]`, every other
 * option the same): one config whose entry record names each element's
 * entries below its outDir (`internal/index`), so each output lands where the
 * element put it. The one build may share code between those entries in a
 * chunk where the tool's separate builds duplicated it. Any other element is
 * listed as not reproduced, as before.
 */

/** What of tool-options.ts's MappedOptions the merges read. */
interface Choice<T = unknown> {
  value: T;
  because: string;
  files?: string[];
}
interface SplitOptions {
  entry?: Choice<string | string[] | Record<string, string | EntryWithOptions>>;
  outDir?: Choice<string>;
  target?: Choice<string | string[]>;
  platform?: Choice<'node' | 'browser' | 'neutral'>;
  external?: Choice<string[]>;
  noExternal?: Choice<string[]>;
  define?: Choice<Record<string, string>>;
  hasPlugins?: boolean;
  format?: Choice<Format[]>;
  dts?: Choice<boolean | { bundle: true; resolve?: true | string[] }>;
  outExtension?: Choice<{ esm?: '.js' | '.mjs'; cjs?: '.js' | '.cjs' }>;
  formatDir?: Choice<{ esm?: string; cjs?: string }>;
  splitting?: Choice<boolean>;
  notReproduced: { option: string }[];
  ignored: string[];
}

/** Options that a split-by-format array may vary. */
const PER_FORMAT = new Set(['format', 'dts', 'outExtension', 'notReproduced', 'ignored']);
/** …and when each format has an outDir of its own. */
const PER_FORMAT_DIR = new Set([...PER_FORMAT, 'outDir', 'formatDir']);
/** Options an element of a split-by-entry array gives its entries as their own (config `entry: { name: { source, … } }`). */
const ENTRY_OWN = ['target', 'platform', 'external', 'noExternal', 'define', 'format', 'outExtension', 'splitting', 'dts'] as const;
/** Options that a split-by-entry array may vary. */
const PER_ENTRY = new Set<string>(['entry', 'outDir', 'notReproduced', 'ignored', ...ENTRY_OWN]);

/** The mapped values (no origins), without those a split may vary: equal for elements of one build. */
function buildShape(options: SplitOptions, varying: ReadonlySet<string> = PER_FORMAT): string {
  const values = Object.entries(options)
    .filter(([key]) => !varying.has(key))
    .map(([key, choice]) => [key, (choice as Choice | undefined)?.value ?? choice]);
  return JSON.stringify(Object.fromEntries(values.sort(([a], [b]) => String(a).localeCompare(String(b)))));
}

/**
 * Merges `other` (element `index` of `file`) into `into` when both are one
 * build split by format; returns false, changing nothing, when they are not.
 * `toolDefault`: the tool's format when an element names none (tsup cjs, tsdown esm).
 */
export function mergeFormatSplit<T extends SplitOptions>(into: T, other: T, file: string, index: number, toolDefault: Format): boolean {
  const mine = into.format?.value ?? [toolDefault];
  const theirs = other.format?.value ?? [toolDefault];
  // Where each element writes its one format: its outDir, below it tsup's legacyOutput directory (clerk's elements set both).
  const placed = (o: SplitOptions, format: Format | undefined) => path.posix.join(o.outDir?.value ?? TOOL_OUT_DIR, (format && o.formatDir?.value[format]) || '');
  const intoDir = placed(into, mine.length === 1 ? mine[0] : undefined);
  const otherDir = placed(other, theirs.length === 1 ? theirs[0] : undefined);
  // One format each, in directories of their own (clerk's `dist/esm` + `dist/cjs`): a directory per format below the one they share.
  const perDir = intoDir !== otherDir && mine.length === 1 && theirs.length === 1 && mine[0] !== theirs[0] ? sharedDir(intoDir, otherDir) : undefined;
  if (buildShape(into, perDir ? PER_FORMAT_DIR : PER_FORMAT) !== buildShape(other, perDir ? PER_FORMAT_DIR : PER_FORMAT)) return false;
  if (perDir !== undefined) {
    if (perDir === '') return false;
    const below = (dir: string) => (dir === perDir ? '' : dir.slice(perDir.length + 1));
    into.formatDir = { value: { [mine[0]!]: below(intoDir), [theirs[0]!]: below(otherDir) }, because: `${file} (one build per format, each in an outDir of its own) outDir` };
    into.outDir = { value: perDir, because: `${file}: the directory the formats' outDirs (${intoDir}, ${otherDir}) share` };
  }
  const formats = [...new Set([...mine, ...theirs])];
  into.format = { value: formats, because: `${file} (an array of one build per format) format` };
  // Bundled declarations (dts.resolve in one element, as kubb's esm element has) win over plain ones: they are what that element publishes.
  const bundles = (c: SplitOptions['dts']) => typeof c?.value === 'object';
  if (other.dts?.value && (!into.dts?.value || (bundles(other.dts) && !bundles(into.dts)))) into.dts = { value: other.dts.value, because: `${file}[${index}] dts` };
  if (other.outExtension) into.outExtension = { value: { ...into.outExtension?.value, ...other.outExtension.value }, because: `${file} outExtension` };
  into.notReproduced.push(...other.notReproduced.filter((n) => !into.notReproduced.some((m) => m.option === n.option)));
  into.ignored.push(...other.ignored.filter((i) => !into.ignored.includes(i)));
  return true;
}

/** The tools' outDir when an element names none (tsup's and tsdown's). */
const TOOL_OUT_DIR = 'dist';

/** The directory two outDirs (relative, posix, normalized) share; '' when only the package itself. */
function sharedDir(a: string, b: string): string {
  const shared = commonDir([`${a}/_`, `${b}/_`]);
  return shared.split('/').includes('..') ? '' : shared;
}

/**
 * An element's entries as output name → source, named as esbuild, tsup and
 * build-system's own resolve.ts name a list (the path below the entries'
 * common directory, without its extension); undefined when it has none.
 */
function entryRecord(entry: SplitOptions['entry']): Record<string, string | EntryWithOptions> | undefined {
  // Globs by the files they match now: a record names files.
  const value = entry?.files ?? entry?.value;
  if (value === undefined) return undefined;
  if (typeof value === 'object' && !Array.isArray(value)) return { ...value };
  const list = (typeof value === 'string' ? [value] : value).map((s) => s.replace(/^\.\//, ''));
  const base = commonDir(list);
  return Object.fromEntries(list.map((s) => [(base ? s.slice(base.length + 1) : s).replace(/\.[^./]+$/, ''), s]));
}

/**
 * What `other`'s entries need of their own to build as `other` does next to
 * `into`'s: each of ENTRY_OWN whose value differs (an external list, noExternal
 * or define `other` lacks is an empty one; a target or platform it lacks has
 * no value to give, so null). Each replaces the package-level option.
 */
function ownOptions(into: SplitOptions, other: SplitOptions, toolDefault: Format): Partial<EntryWithOptions> | null {
  const own: Partial<EntryWithOptions> = {};
  for (const key of ENTRY_OWN) {
    // An element without a format builds the tool's; one without dts writes none (tsup's and tsdown's defaults when package.json names no types).
    const mine = into[key]?.value ?? (key === 'format' ? [toolDefault] : key === 'dts' ? false : undefined);
    const theirs = other[key]?.value ?? (key === 'format' ? [toolDefault] : key === 'dts' ? false : undefined);
    if (JSON.stringify(mine) === JSON.stringify(theirs)) continue;
    if (theirs === undefined) {
      // A value of its own the element does not give: the tool's default, which build-system's may not be.
      if (key === 'target' || key === 'platform' || key === 'outExtension' || key === 'splitting') return null;
      (own as Record<string, unknown>)[key] = key === 'define' ? {} : [];
    } else if (key === 'dts' && typeof theirs !== 'boolean') {
      // Bundled declarations are the package's alone.
      return null;
    } else (own as Record<string, unknown>)[key] = theirs;
  }
  return own;
}

/**
 * Merges `other` (element `index` of `file`) into `into` when both are one
 * build split by entry directory: every option the same but the entries,
 * outDirs (the merged one is the directory they share; each element's entries
 * are named below it), and the options an entry can have of its own
 * (ENTRY_OWN: `other`'s entries then carry them; tsdown with plugins builds
 * with rollup, which takes none). Returns false, changing nothing, otherwise
 * (an element without entries, outDirs sharing no directory, two sources for
 * one name).
 */
export function mergeEntrySplit<T extends SplitOptions>(into: T, other: T, file: string, index: number, toolDefault: Format): boolean {
  if (buildShape(into, PER_ENTRY) !== buildShape(other, PER_ENTRY)) return false;
  const own = ownOptions(into, other, toolDefault);
  if (!own) return false;
  const hasOwn = Object.keys(own).length > 0;
  if (hasOwn && (into.hasPlugins || other.hasPlugins)) return false;
  // One outDir for both: the directory their outDirs share (codemod: dist/bin and dist/codemods → dist).
  const mineDir = into.outDir?.value ?? TOOL_OUT_DIR;
  const theirDir = other.outDir?.value ?? TOOL_OUT_DIR;
  const outDir = sharedDir(mineDir, theirDir);
  if (outDir === '') return false;
  const mine = entryRecord(into.entry);
  const theirs = entryRecord(other.entry);
  if (!mine || !theirs) return false;
  const below = (dir: string, name: string) => (dir === outDir ? name : `${path.posix.relative(outDir, dir)}/${name}`);
  const merged = Object.fromEntries(Object.entries(mine).map(([name, value]) => [below(mineDir, name), value]));
  for (const [name, given] of Object.entries(theirs)) {
    const placed = below(theirDir, name);
    // Tool entries are sources; options only come from this merge (the source first, as a person writes it).
    if (typeof given !== 'string') return false;
    const value = hasOwn ? { source: given, ...own } : given;
    if (merged[placed] !== undefined && JSON.stringify(merged[placed]) !== JSON.stringify(value)) return false;
    merged[placed] = value;
  }
  const options = hasOwn ? ` with its own ${Object.keys(own).join(', ')}` : '';
  // A record names files: globs are written as the files they match now.
  const note = ', the files their globs match now (re-run init when files are added)';
  const globs = into.entry?.files || other.entry?.files || into.entry?.because.endsWith(note) ? note : '';
  into.entry = { value: merged, because: `${file} (an array of one build per entry directory) entry, [${index}] under ${theirDir}${options}${globs}` };
  if (outDir !== mineDir) into.outDir = { value: outDir, because: `${file} (an array of one build per entry directory) outDir, shared by ${mineDir} and ${theirDir}` };
  into.notReproduced.push(...other.notReproduced.filter((n) => !into.notReproduced.some((m) => m.option === n.option)));
  into.ignored.push(...other.ignored.filter((i) => !into.ignored.includes(i)));
  return true;
}

/** The first options object of a tool config; the others are listed as not reproduced (one config per package). */
export function toolConfigOptions(config: ToolConfig, pkg: PackageInfo, reads: ReadLog): MappedOptions {
  const value = config.value;
  if (Array.isArray(value)) {
    const [first, ...rest] = value as unknown[];
    const mapped = mapToolOptions(config.tool, (first ?? {}) as Record<string, unknown>, config.origin ?? `${config.file}[0]`, pkg, reads);
    rest.forEach((other, i) => {
      const otherMapped = other && typeof other === 'object' ? mapToolOptions(config.tool, other as Record<string, unknown>, `${config.file}[${i + 1}]`, pkg, reads) : undefined;
      if (otherMapped && mergeFormatSplit(mapped, otherMapped, config.file, i + 1, config.tool === 'tsup' ? 'cjs' : 'esm')) return;
      if (otherMapped && mergeEntrySplit(mapped, otherMapped, config.file, i + 1, config.tool === 'tsup' ? 'cjs' : 'esm')) return;
      mapped.notReproduced.push({ option: `${config.file}[${i + 1}]`, value: describe(other), why: 'build-system builds one set of options per package; only the first config is used' });
    });
    return mapped;
  }
  if (!value || typeof value !== 'object') {
    return { notReproduced: [{ option: config.file, value: describe(value), why: 'the config does not export an options object' }], ignored: [] };
  }
  return mapToolOptions(config.tool, value as Record<string, unknown>, config.origin ?? config.file, pkg, reads);
}
