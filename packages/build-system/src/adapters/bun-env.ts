import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What bun reads by name in its cwd (the package), and what its `env` option (adapterOptions.bun.env: `--env=inline`,
 * `--env=PREFIX_*`; Bun.build's `env`) makes the output depend on, so the
 * cache can key it. Measured with bun 1.4.5:
 *
 * - With `inline`, every `process.env.NAME` (dot form only: not
 *   `process.env['NAME']`, `import.meta.env.NAME` or `Bun.env.NAME`) becomes
 *   the value bun has for NAME; with `PREFIX_*`, only names starting with
 *   PREFIX_. The value comes from bun's environment, which is this process's
 *   (the spawned bun inherits it; Bun.build runs in it).
 * - The spawned bun also loads `.env` files from its cwd (the package):
 *   `.env`, `.env.local`, `.env.<NODE_ENV>` and `.env.<NODE_ENV>.local`
 *   (NODE_ENV unset: development). Such files are usually gitignored, so no
 *   input of the fingerprint: they are keyed as reads (present: by content,
 *   absent: on staying absent).
 * - A `.env` value may name other variables (`A=$B`, `A=${B}`, quoted or not:
 *   bun 1.4.5 expanded all three, `\$B` excepted), whose values then reach the
 *   output through A: every name a present `.env` file spells after a `$` is
 *   keyed by its value too (an escaped one as well: keying more is safe).
 * - Without `env` (or `disable`) only NODE_ENV is inlined (tool-env.ts), and
 *   the `.env` files change nothing, not even NODE_ENV.
 *
 * - Whatever `env` says, bun reads `bunfig.toml` from its cwd (its `[define]`
 *   applied to `bun build`; one above the cwd, or `~/.bunfig.toml`, did not).
 *   A package's own is an input of the fingerprint unless gitignored (a local
 *   override): keyed the same way as the `.env` files.
 *
 * The names keyed are those the sources bun read spell as `process.env.NAME`:
 * a name nothing refers to cannot reach the output, and one referred to but
 * unset is keyed as unset (setting it later inlines it).
 */

/** The name prefix bun inlines under `env` ('' for every name), or null when it inlines nothing beyond NODE_ENV. */
export function inlinedPrefix(env: unknown): string | null {
  if (env === undefined || env === null || env === false || env === 'disable') return null;
  if (typeof env === 'string' && env.endsWith('*')) return env.slice(0, -1);
  // 'inline', true, or a value this adapter does not know: every name, the safe reading.
  return '';
}

/** The .env files bun may load from its cwd, whatever NODE_ENV is at the time (a change of NODE_ENV is keyed already). */
export const DOTENV_FILES = ['', '.local', ...['development', 'production', 'test'].flatMap((mode) => [`.${mode}`, `.${mode}.local`])].map((s) => `.env${s}`);

const PROCESS_ENV_NAME = /\bprocess\s*\.\s*env\s*\.\s*([A-Za-z_$][\w$]*)/g;
/** `$NAME`, `${NAME}`, `${NAME:-default}` in a `.env` value. */
const EXPANDED_NAME = /\$\{?([A-Za-z_][\w]*)/g;

/** The names `pattern` (one capture group) finds in these files that `keep` accepts, sorted. Unreadable files are skipped (they were hashed as reads already, or the build failed). */
function namesIn(files: readonly string[], pattern: RegExp, keep: (name: string) => boolean = () => true): string[] {
  const names = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(pattern)) if (keep(m[1]!)) names.add(m[1]!);
  }
  return [...names].sort();
}

/** Env var names spelled `process.env.NAME` in these files that start with `prefix`, sorted. */
export function referencedEnvNames(files: readonly string[], prefix: string): string[] {
  return namesIn(files, PROCESS_ENV_NAME, (name) => name.startsWith(prefix));
}

/** The env var names and the files bun opens by name in its cwd (present, absent) that a bun build with this `env` option depends on. */
export function bunCwdReads(env: unknown, pkgDir: string, reads: readonly string[], exists: (file: string) => boolean): { envReads: string[]; files: string[]; absent: string[] } {
  const prefix = inlinedPrefix(env);
  const named = ['bunfig.toml', ...(prefix === null ? [] : DOTENV_FILES)].map((name) => path.join(pkgDir, name));
  const files = named.filter(exists);
  if (prefix === null) return { envReads: [], files, absent: named.filter((f) => !exists(f)) };
  const dotenv = files.filter((f) => path.basename(f) !== 'bunfig.toml');
  const envReads = [...new Set([...referencedEnvNames(reads, prefix), ...namesIn(dotenv, EXPANDED_NAME)])].sort();
  return { envReads, files, absent: named.filter((f) => !exists(f)) };
}
