/**
 * What a package's `scripts.build` runs, as far as `init` needs it: the
 * commands in order, each split into words, with `npm run x` (pnpm, yarn,
 * bun) followed into script x, `pnpm -w run x` (`--workspace-root`) into the
 * workspace root's script x, env assignments and runners (`npx`,
 * `cross-env`, `pnpm exec`) stripped. Not a shell: quotes group words,
 * `&&`, `||`, `;` and `|` separate commands, anything else is a word.
 */

export type ScriptTool = 'tsup' | 'tsdown' | 'tsc' | 'rollup' | 'bun' | 'esbuild' | 'build-system' | 'other';

export interface ScriptCommand {
  tool: ScriptTool;
  /** Words after the program name. */
  args: string[];
  /** The command as written. */
  text: string;
  /** Run in the workspace root (reached through `pnpm -w run`), not in the package. */
  atRoot?: boolean;
  /** `tsup-node`: tsup with skipNodeModulesBundle (every node_modules import external). */
  nodeModulesExternal?: boolean;
}

function words(command: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of command.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const RUNNERS = new Set(['npx', 'bunx', 'cross-env', 'dotenv', 'env']);

function toolOf(program: string, args: string[]): ScriptTool {
  const name = program.split('/').pop()!;
  if (name === 'tsup' || name === 'tsup-node') return 'tsup';
  if (name === 'tsdown') return 'tsdown';
  if (name === 'tsc') return 'tsc';
  if (name === 'rollup') return 'rollup';
  if (name === 'esbuild') return 'esbuild';
  if (name === 'bun' && args[0] === 'build') return 'bun';
  if (name === 'build-system') return 'build-system';
  return 'other';
}

/**
 * The commands `scripts[name]` runs, following `npm run` into other scripts (3 levels). `rootScripts`
 * are the workspace root's, for `pnpm -w`; `atRoot` says `scripts` are those.
 */
export function scriptCommands(scripts: Record<string, string>, name: string, depth = 0, rootScripts: Record<string, string> = {}, atRoot = false): ScriptCommand[] {
  const script = scripts[name];
  if (typeof script !== 'string' || depth > 3) return [];
  const out: ScriptCommand[] = [];
  for (const part of script.split(/&&|\|\||;|\|/)) {
    const text = part.trim();
    let w = words(text);
    // Leading env assignments and runners.
    for (;;) {
      if (w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0]!)) w = w.slice(1);
      else if (w.length && RUNNERS.has(w[0]!)) w = w.slice(1);
      else if (w[0] === 'pnpm' && w[1] === 'exec') w = w.slice(2);
      else if (w[0] === 'yarn' && w[1] === 'exec') w = w.slice(2);
      else break;
    }
    if (w.length === 0) continue;
    // pnpm's -w (--workspace-root) runs the root's script, in the root: what a workspace-wide tool config is applied from.
    if (w[0] === 'pnpm' && (w[1] === '-w' || w[1] === '--workspace-root')) {
      const rest = w[2] === 'run' ? w.slice(3) : w.slice(2);
      if (rest[0] !== undefined && rootScripts[rest[0]] !== undefined) {
        out.push(...scriptCommands(rootScripts, rest[0], depth + 1, rootScripts, true));
        continue;
      }
    }
    const [program, ...args] = w as [string, ...string[]];
    const runTarget =
      (program === 'npm' || program === 'pnpm' || program === 'yarn' || program === 'bun') && args[0] === 'run'
        ? args[1]
        : (program === 'pnpm' || program === 'yarn') && args[0] && scripts[args[0]] !== undefined
          ? args[0]
          : undefined;
    if (runTarget !== undefined) {
      out.push(...scriptCommands(scripts, runTarget, depth + 1, rootScripts, atRoot));
      continue;
    }
    out.push({
      tool: toolOf(program, args),
      args: program === 'bun' ? args.slice(1) : args,
      text,
      ...(atRoot ? { atRoot } : {}),
      ...(program.split('/').pop() === 'tsup-node' ? { nodeModulesExternal: true } : {}),
    });
  }
  return out;
}

/**
 * A CLI's flags in the forms tsup, tsdown, tsc, bun and esbuild accept:
 * `--flag`, `--flag value`, `--flag=value`, `-f value`; positional words are
 * entries. `takesValue` names the flags that read the next word; a name
 * ending in `.*` names a family (`--env.*`: `--env.NODE_ENV production`).
 */
export function parseFlags(args: string[], takesValue: ReadonlySet<string>): { positional: string[]; flags: Map<string, string[]> } {
  const positional: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (k: string, v: string) => flags.set(k, [...(flags.get(k) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) add(a.slice(0, eq), a.slice(eq + 1));
    else if (readsValue(takesValue, a) && i + 1 < args.length) add(a, args[++i]!);
    else add(a, 'true');
  }
  return { positional, flags };
}

function readsValue(takesValue: ReadonlySet<string>, flag: string): boolean {
  if (takesValue.has(flag)) return true;
  const dot = flag.indexOf('.');
  return dot > 0 && takesValue.has(`${flag.slice(0, dot)}.*`);
}
