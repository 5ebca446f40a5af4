import { Option, type CommandMetadata } from 'nest-commander';
import type { CommandDef } from '../cli/commands.js';
import type { FlagDef } from '../cli/flag-table.js';

/**
 * Gives a nest-commander command class one option per table row: a generated
 * method with nest-commander's Option applied to it, just as `@Option` on a
 * hand-written `parseX()` did. Methods are added in table order, which is the
 * order `--help` lists them.
 */
export function applyFlagOptions(command: { prototype: object }, table: readonly FlagDef[]): void {
  for (const def of table) {
    const parse =
      def.type === 'boolean' ? () => true
      : def.type === 'negation' ? () => false
      : def.type === 'repeatable' ? (value: string, previous: string[] = []) => [...previous, value]
      : (value: string) => value;
    const name = `parseFlag:${def.flag}`;
    const descriptor: PropertyDescriptor = { value: parse, writable: true, configurable: true, enumerable: false };
    Object.defineProperty(command.prototype, name, descriptor);
    Option({ flags: def.arg ? `${def.flag} ${def.arg}` : def.flag, description: def.help })(command.prototype, name, descriptor);
  }
}

/** A command's `@Command` / `@SubCommand` metadata from its row in cli/commands.ts (the Nest classes of subcommands are the caller's). */
export function commandMetadata(def: CommandDef): CommandMetadata {
  return {
    name: def.name,
    description: def.description,
    ...(def.aliases ? { aliases: [...def.aliases] } : {}),
    ...(def.arguments ? { arguments: def.arguments } : {}),
    ...(def.argsDescription ? { argsDescription: { ...def.argsDescription } } : {}),
  };
}
