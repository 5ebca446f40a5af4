import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AdapterContext, AdapterOutput, BuilderAdapter, ToolAvailability } from '../../src/adapters/types.js';
import type { BuilderName } from '../../src/config/schema.js';
import type { Diagnostic } from '../../src/result/schema.js';

/**
 * A builder for pipeline tests that needs no tool and no child process. It
 * implements the real BuilderAdapter interface and behaves like a small
 * bundler, so what the pipeline does with it (keys, hits, misses and their
 * reasons, diagnostics, failures, staging and swaps) is the pipeline's real
 * behaviour, not a canned answer:
 *
 * - each entry's output is derived from its source and every file it imports
 *   relatively (`from './x'`, resolved to .ts/.tsx/.js or /index.ts): change
 *   one and the output changes; those files are the reads it reports;
 * - a line containing `FAKE_ERROR: <message>` is an error diagnostic at that
 *   line and fails the build; `FAKE_WARN: <message>` is a warning;
 * - one file per entry and format, `<outDir>/<entry><outExtension>`.
 *
 * `builds` counts the builds it ran (a hit runs none); `gate`, when set,
 * holds every build until it resolves, so a test can keep a lock held.
 */
export interface FakeAdapter extends BuilderAdapter {
  builds: number;
  /** Package names in the order their builds started. */
  started: string[];
  gate: Promise<void> | null;
}

export function fakeAdapter(name: BuilderName = 'esbuild', version = '0.0.0-fake'): FakeAdapter {
  const fake: FakeAdapter = {
    name,
    builds: 0,
    started: [],
    gate: null,
    async check(): Promise<ToolAvailability> {
      return { available: true, version, location: 'test/helpers/fake-adapter.ts' };
    },
    async build(ctx: AdapterContext): Promise<AdapterOutput> {
      fake.builds++;
      fake.started.push(ctx.pkg.name);
      if (fake.gate) await fake.gate;
      if (ctx.signal.aborted) return { ok: false, files: [], diagnostics: [{ severity: 'error', message: 'aborted' }], reads: null };
      const diagnostics: Diagnostic[] = [];
      const reads = new Set<string>();
      const files: string[] = [];
      for (const [entry, source] of Object.entries(ctx.config.entries).sort(([a], [b]) => a.localeCompare(b))) {
        const text = bundle(path.resolve(ctx.pkg.dir, source), ctx.pkg.dir, reads, diagnostics, new Set());
        for (const format of ctx.config.formats) {
          const out = path.join(ctx.outDir, `${entry}${ctx.config.outExtension[format]}`);
          await mkdir(path.dirname(out), { recursive: true });
          await writeFile(out, `// built by fake ${version} as ${format}\n${ctx.config.banner ? `${ctx.config.banner}\n` : ''}${text}`);
          files.push(out);
        }
        ctx.log('stdout', `fake: ${entry} from ${source}`);
      }
      const ok = !diagnostics.some((d) => d.severity === 'error');
      return { ok, files: ok ? files : [], diagnostics, reads: [...reads].sort() };
    },
  };
  return fake;
}

const IMPORT = /from\s+['"](\.{1,2}\/[^'"]+)['"]/g;

/** The file and, depth first, each relative import it names (once each), concatenated. */
function bundle(file: string, pkgDir: string, reads: Set<string>, diagnostics: Diagnostic[], seen: Set<string>): string {
  if (seen.has(file)) return '';
  seen.add(file);
  reads.add(file);
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(pkgDir, file).split(path.sep).join('/');
  text.split('\n').forEach((line, i) => {
    const error = /FAKE_ERROR: (.*)/.exec(line);
    if (error) diagnostics.push({ severity: 'error', message: error[1]!, file: rel, line: i + 1, column: error.index + 1 });
    const warn = /FAKE_WARN: (.*)/.exec(line);
    if (warn) diagnostics.push({ severity: 'warning', message: warn[1]!, file: rel, line: i + 1, column: warn.index + 1 });
  });
  let imported = '';
  for (const m of text.matchAll(IMPORT)) {
    const target = resolveImport(path.dirname(file), m[1]!);
    if (target) imported += bundle(target, pkgDir, reads, diagnostics, seen);
  }
  return `${imported}// ${rel}\n${text}`;
}

function resolveImport(fromDir: string, spec: string): string | null {
  const base = path.resolve(fromDir, spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, `${base}.tsx`, `${base}.js`, path.join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && !candidate.endsWith(path.sep)) {
      try {
        readFileSync(candidate);
        return candidate;
      } catch {
        // a directory: try the next
      }
    }
  }
  return null;
}
