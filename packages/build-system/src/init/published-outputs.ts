import { findSource } from '../config/package-defaults.js';
import type { Format } from '../config/schema.js';
import type { PackageFacts } from './package-facts.js';
import type { Choice } from './tool-options.js';

/**
 * Entries, formats and declarations from the files a pnpm package publishes
 * (publishConfig's exports/main/module/types/bin: facts.published). Config
 * resolution (config/resolve.ts) derives these from the package's own fields,
 * which in such a package point at the sources (`"exports": { ".":
 * "./src/index.ts" }`) and so name no output: it would fall back to
 * src/index.ts in the package type's one format. init writes what the
 * published files need instead; what resolve.ts derives the same is dropped
 * as for any other field.
 */

export interface PublishedChoices {
  entry?: Choice<Record<string, string>>;
  format?: Choice<Format[]>;
  dts?: Choice<boolean>;
  warnings: string[];
}

const JS_OUTPUT = /\.(c|m)?js$/;

export function publishedChoices(facts: PackageFacts, outDir: string): PublishedChoices {
  const out: PublishedChoices = { warnings: [] };
  if (facts.published.length === 0) return out;
  const named = `named by ${facts.published.map((f) => `publishConfig.${f}`).join(', ')}, which pnpm publishes in place of the package's own`;

  const entries: Record<string, string> = {};
  const paired: string[] = [];
  const missing: string[] = [];
  for (const o of facts.js) {
    if (!o.path.startsWith(`${outDir}/`)) continue;
    const name = o.path.slice(outDir.length + 1).replace(JS_OUTPUT, '');
    if (entries[name] !== undefined) continue;
    // The package's own field at the same place names the source; else resolve.ts's convention (src/<name>.*).
    const own = facts.devSources.get(o.path);
    const source = own ?? findSource(facts.pkg.dir, name);
    if (source === undefined) missing.push(`./${o.path}`);
    else {
      entries[name] = source;
      if (own) paired.push(name);
    }
  }
  if (Object.keys(entries).length) {
    const from = paired.length ? `; each source is what the package's own field at the same place names` : '';
    out.entry = { value: entries, because: `the JS files ${named}${from}` };
  }
  if (missing.length) out.warnings.push(`publishConfig names ${missing.join(', ')}, and no source was found for it (the package's own field at that place, or src/<name>.ts): set entry`);

  const formats = (['esm', 'cjs'] as const).filter((f) => facts.js.some((o) => o.format === f));
  if (formats.length) out.format = { value: [...formats], because: `the JS files ${named}` };
  out.dts = { value: facts.types.length > 0, because: facts.types.length ? `the declarations ${named}` : `no declaration file is ${named}` };
  return out;
}
