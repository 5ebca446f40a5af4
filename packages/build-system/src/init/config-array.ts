import type { Format } from '../config/schema.js';

/**
 * A tsup/tsdown config that exports an array builds each element on its own.
 * The common array is one build split by format (kubb: `[{ format: 'esm',
 * dts: true, … }, { format: 'cjs', … }]`), which is one build-system config
 * with both formats. Elements whose mapped options differ only in format,
 * dts and outExtension are merged so (formats in order, dts when any asks;
 * build-system then writes declarations for every format, which the
 * package's `types` for each condition needs anyway). Any other element is
 * listed as not reproduced, as before.
 */

/** What of tool-options.ts's MappedOptions this reads (structurally: that module imports this one). */
interface Choice<T = unknown> {
  value: T;
  because: string;
}
interface SplitOptions {
  format?: Choice<Format[]>;
  dts?: Choice<boolean | { bundle: true; resolve?: true | string[] }>;
  outExtension?: Choice<{ esm?: '.js' | '.mjs'; cjs?: '.js' | '.cjs' }>;
  notReproduced: { option: string }[];
  ignored: string[];
}

/** Options that a split-by-format array may vary. */
const PER_FORMAT = new Set(['format', 'dts', 'outExtension', 'notReproduced', 'ignored']);

/** The mapped values (no origins), without the per-format ones: equal for elements of one build. */
function buildShape(options: SplitOptions): string {
  const values = Object.entries(options)
    .filter(([key]) => !PER_FORMAT.has(key))
    .map(([key, choice]) => [key, (choice as Choice | undefined)?.value ?? choice]);
  return JSON.stringify(Object.fromEntries(values.sort(([a], [b]) => String(a).localeCompare(String(b)))));
}

/**
 * Merges `other` (element `index` of `file`) into `into` when both are one
 * build split by format; returns false, changing nothing, when they are not.
 * `toolDefault`: the tool's format when an element names none (tsup cjs, tsdown esm).
 */
export function mergeFormatSplit<T extends SplitOptions>(into: T, other: T, file: string, index: number, toolDefault: Format): boolean {
  if (buildShape(into) !== buildShape(other)) return false;
  const formats = [...new Set([...(into.format?.value ?? [toolDefault]), ...(other.format?.value ?? [toolDefault])])];
  into.format = { value: formats, because: `${file} (an array of one build per format) format` };
  // Bundled declarations (dts.resolve in one element, as kubb's esm element has) win over plain ones: they are what that element publishes.
  const bundles = (c: SplitOptions['dts']) => typeof c?.value === 'object';
  if (other.dts?.value && (!into.dts?.value || (bundles(other.dts) && !bundles(into.dts)))) into.dts = { value: other.dts.value, because: `${file}[${index}] dts` };
  if (other.outExtension) into.outExtension = { value: { ...into.outExtension?.value, ...other.outExtension.value }, because: `${file} outExtension` };
  into.notReproduced.push(...other.notReproduced.filter((n) => !into.notReproduced.some((m) => m.option === n.option)));
  into.ignored.push(...other.ignored.filter((i) => !into.ignored.includes(i)));
  return true;
}
