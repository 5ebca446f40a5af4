import { COMMANDS, type CommandDef } from './commands.js';
import type { FlagDef } from './flag-table.js';

/**
 * `--help` rendered from the command list and flag tables (cli/commands.ts),
 * so src/main.ts can answer it without loading Nest (~300 ms) and nothing has
 * to be remembered between runs. A command's help is laid out exactly as
 * commander lays it out for the Nest command built from the same rows (Usage,
 * description, Arguments, Options, Commands; the term column as wide as the
 * widest term; wrapped to the terminal's width, 80 columns when piped):
 * test/cli-fast-path.test.ts compares the two byte for byte. The top-level
 * help is commander's, followed by every command's options, so one `--help`
 * shows every flag.
 */

const PROGRAM = 'build-system';
const HELP_OPTION: Item = ['-h, --help', 'display help for command'];
const VERSION_OPTION: Item = ['-V, --version', 'output the version number'];

type Item = readonly [term: string, description: string];

/** commander wraps to the terminal's width, or 80 columns when stdout is not a terminal. */
export function helpWidth(stdout: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return (stdout.isTTY && stdout.columns) || 80;
}

/** Greedy word wrap of `text` into lines of at most `max` characters; a longer word stands alone. */
function wrapWords(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/**
 * `text` after its first `indent` characters wrapped so each line fits `width`, later lines
 * indented by `indent`. As commander does, a column narrower than 40 is not wrapped at all,
 * and a line keeps one column free.
 */
function wrap(text: string, width: number, indent: number): string {
  const column = width - indent;
  if (column < 40) return text;
  const [first, ...rest] = wrapWords(text.slice(indent), column - 1);
  return [text.slice(0, indent) + first, ...rest.map((l) => ' '.repeat(indent) + l)].join('\n');
}

/** Items as two columns, indented by 2, the term column `termWidth` wide plus a gap of 2. */
function formatList(items: readonly Item[], termWidth: number, width: number): string {
  return items.map(([term, description]) => wrap(term.padEnd(termWidth + 2) + description, width - 2, termWidth + 2).replace(/^/gm, '  ')).join('\n');
}

const flagTerm = (f: FlagDef): string => (f.arg ? `${f.flag} ${f.arg}` : f.flag);
const optionItems = (flags: readonly FlagDef[]): Item[] => flags.map((f) => [flagTerm(f), f.help]);

/** `build:list|list`: the name and first alias, as commander shows a command. */
const displayName = (def: CommandDef): string => def.name + (def.aliases?.[0] ? `|${def.aliases[0]}` : '');

/** `build:list|list [options] [packages...]`, as a line of the parent's Commands list. */
function commandTerm(def: CommandDef): string {
  return [displayName(def), ...(def.flags.length ? ['[options]'] : []), ...(def.arguments ? [def.arguments] : [])].join(' ');
}

/** Usage, description and item sections, each followed by an empty line (commander's formatHelp). */
function layout(usage: string, description: string | undefined, sections: readonly (readonly [string, readonly Item[]])[], width: number): string {
  const shown = sections.filter(([, items]) => items.length > 0);
  const termWidth = Math.max(0, ...shown.flatMap(([, items]) => items.map(([term]) => term.length)));
  const out = [`Usage: ${usage}`, ''];
  if (description) out.push(wrap(description, width, 0), '');
  for (const [title, items] of shown) out.push(`${title}:`, formatList(items, termWidth, width), '');
  return out.join('\n');
}

/** The help of one command (`parent` for a subcommand such as `cache prune`), as commander prints it. */
export function commandHelp(def: CommandDef, width: number, parent?: CommandDef): string {
  const name = displayName(def);
  const subCommands = def.subCommands ?? [];
  const usage = [parent ? `${PROGRAM} ${parent.name} ${name}` : `${PROGRAM} ${name}`, '[options]', ...(subCommands.length ? ['[command]'] : []), ...(def.arguments ? [def.arguments] : [])].join(' ');
  const args: Item[] = Object.entries(def.argsDescription ?? {});
  return layout(usage, def.description, [['Arguments', args], ['Options', [...optionItems(def.flags), HELP_OPTION]], ['Commands', subCommands.map((c) => [commandTerm(c), c.description])]], width);
}

/**
 * `build-system --help`: commander's program help (the commands with their
 * descriptions), then the options of every command and subcommand.
 */
export function programHelp(width: number): string {
  const program = layout(
    `${PROGRAM} [options] [command]`,
    undefined,
    [['Options', [VERSION_OPTION, HELP_OPTION]], ['Commands', [...COMMANDS.map((c): Item => [commandTerm(c), c.description]), ['help [command]', 'display help for command']]]],
    width,
  );
  const sections: string[] = [];
  const shown = new Map<readonly FlagDef[], string>();
  for (const [def, parent] of COMMANDS.flatMap((c) => [[c, undefined] as const, ...(c.subCommands ?? []).map((s) => [s, c] as const)])) {
    if (def.flags.length === 0) continue;
    const title = parent ? `${parent.name} ${def.name}` : displayName(def);
    const same = shown.get(def.flags);
    if (same) sections.push(`Options of ${title}: those of ${same}`, '');
    else {
      const items = optionItems(def.flags);
      sections.push(`Options of ${title}:`, formatList(items, Math.max(...items.map(([t]) => t.length)), width), '');
      shown.set(def.flags, title);
    }
  }
  return `${program}\n${sections.join('\n')}\nRun ${PROGRAM} <command> --help for one command's usage and arguments.\n`;
}

/**
 * The help `argv` asks for, when it is only a request for help: `--help` / `-h`
 * alone, or after a command or `cache` subcommand (by name or alias). Anything
 * else (another flag beside it, `help <command>`, an unknown command) is null
 * and goes to Nest, which answers as commander does.
 */
export function helpFor(argv: readonly string[], width: number): string | null {
  const last = argv.at(-1);
  if (last !== '--help' && last !== '-h') return null;
  const names = argv.slice(0, -1);
  if (names.length === 0) return programHelp(width);
  const find = (defs: readonly CommandDef[], name: string) => defs.find((d) => d.name === name || d.aliases?.includes(name));
  const command = find(COMMANDS, names[0]!);
  if (!command) return null;
  if (names.length === 1) return commandHelp(command, width);
  const sub = names.length === 2 ? find(command.subCommands ?? [], names[1]!) : undefined;
  return sub ? commandHelp(sub, width, command) : null;
}
