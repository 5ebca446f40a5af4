import type { ConfigField } from './infer-config.js';
import type { NotReproduced } from './tool-options.js';

/**
 * The text of a generated `build.config.ts`: a header saying what it was made
 * from, what was not reproduced (one `// not reproduced:` line each), then
 * `defineConfig({...})` with one comment line above each field saying where
 * its value came from.
 */

export interface RenderInput {
  sources: string[];
  fields: ConfigField[];
  /** Why the adapter is what it is, when the field itself is left out ('auto'). */
  adapterNote?: string;
  notReproduced: NotReproduced[];
  ignored: string[];
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}'`;
}

/** A value as TypeScript source: single-quoted strings, keys unquoted where they can be. */
export function literal(value: unknown, indent = ''): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) {
    const items = value.map((v) => literal(v, `${indent}  `));
    const inline = `[${items.join(', ')}]`;
    return inline.length <= 80 && !inline.includes('\n') ? inline : `[\n${items.map((i) => `${indent}  ${i},`).join('\n')}\n${indent}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${IDENTIFIER.test(k) ? k : quote(k)}: ${literal(v, `${indent}  `)}`);
    if (entries.length === 0) return '{}';
    const inline = `{ ${entries.join(', ')} }`;
    return inline.length <= 80 && !inline.includes('\n') ? inline : `{\n${entries.map((e) => `${indent}  ${e},`).join('\n')}\n${indent}}`;
  }
  throw new Error(`cannot write ${typeof value} into a config`);
}

function comment(text: string, indent: string): string {
  return text
    .split('\n')
    .map((line) => `${indent}// ${line}`)
    .join('\n');
}

export function renderConfig(input: RenderInput): string {
  const from = ['package.json', ...input.sources].join(', ');
  const lines = [
    `// Written by \`build-system init\` from ${from}.`,
    '// Only what build-system does not derive from package.json by itself is set here.',
  ];
  for (const n of input.notReproduced) lines.push(comment(`not reproduced: ${n.option} ${n.value} (${n.why})`, ''));
  if (input.ignored.length) lines.push(`// ignored (no effect on the files written): ${input.ignored.join(', ')}`);
  lines.push("import { defineConfig } from 'build-system';", '', 'export default defineConfig({');
  if (input.adapterNote) lines.push(comment(input.adapterNote, '  '));
  for (const field of input.fields) {
    lines.push(comment(field.because, '  '));
    lines.push(`  ${field.name}: ${literal(field.value, '  ')},`);
  }
  lines.push('});', '');
  return lines.join('\n');
}
