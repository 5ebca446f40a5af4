import { fstatSync } from 'node:fs';
import util from 'node:util';

/**
 * What the terminal can take. Colour and cursor control come from Node itself
 * (util.styleText, readline.moveCursor/clearScreenDown): no escape codes are
 * written by hand, and nothing is added to the dependency tree.
 */
export interface TerminalInfo {
  /** Colour on or off after --color/--no-color, NO_COLOR, FORCE_COLOR and the stream. */
  color: boolean;
  /** A live, redrawn progress view; off when not a TTY, in CI, or TERM=dumb. */
  interactive: boolean;
}

type Env = Record<string, string | undefined>;

function truthyEnv(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

export function isCI(env: Env = process.env): boolean {
  return truthyEnv(env.CI) || truthyEnv(env.CONTINUOUS_INTEGRATION) || env.GITHUB_ACTIONS === 'true' || env.BUILDKITE === 'true';
}

/**
 * Precedence: the flag (--color / --no-color), then NO_COLOR (no-color.org:
 * set and not empty), then FORCE_COLOR, then whether the stream is a colour TTY.
 */
export function wantsColor(stream: MaybeTerminal, flag: boolean | undefined, env: Env = process.env): boolean {
  if (flag !== undefined) return flag;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR.toLowerCase() !== 'false';
  const tty = stream as Partial<NodeJS.WriteStream>;
  if (!tty.isTTY || env.TERM === 'dumb') return false;
  return typeof tty.hasColors === 'function' ? tty.hasColors() : true;
}

export function terminalInfo(stream: MaybeTerminal, colorFlag: boolean | undefined, env: Env = process.env): TerminalInfo {
  const tty = stream as Partial<NodeJS.WriteStream>;
  return {
    color: wantsColor(stream, colorFlag, env),
    interactive: Boolean(tty.isTTY) && !isCI(env) && env.TERM !== 'dumb',
  };
}

/** A stream whose terminal-ness is asked: a process stream, or standardStream's stand-in for a non-terminal. */
export type MaybeTerminal = NodeJS.WritableStream | { isTTY: false };

/**
 * process.stdout (fd 1) or process.stderr (fd 2) when the descriptor may be a terminal; a stand-in
 * that says it is not one for a pipe, file or socket. Why: the first touch of process.stdout makes a
 * stream and loads Node's stream modules, ~3 ms of a replayed no-op that writes to a pipe with
 * fs.writeSync (cli/ordered-output.ts). A terminal is a character device, so nothing else is one.
 */
export function standardStream(fd: 1 | 2): MaybeTerminal {
  let characterDevice = true;
  try {
    characterDevice = fstatSync(fd).isCharacterDevice();
  } catch {
    // Unknown (a closed descriptor): the process stream decides, as before.
  }
  if (characterDevice) return fd === 1 ? process.stdout : process.stderr;
  return { isTTY: false };
}

export interface Style {
  enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

type StyleFormat = Parameters<typeof util.styleText>[0];

export function createStyle(enabled: boolean): Style {
  // util.styleText exists from Node 20.12 (and in Bun); without it we print plain text.
  const styleText = (util as { styleText?: typeof util.styleText }).styleText;
  const paint = (format: StyleFormat) => (s: string) => {
    if (!enabled || !styleText || s === '') return s;
    // We already decided (flags, NO_COLOR, the stream): tell Node not to second-guess with its own stream check.
    return (styleText as (f: StyleFormat, t: string, o?: { validateStream?: boolean }) => string)(format, s, { validateStream: false });
  };
  return { enabled, bold: paint('bold'), dim: paint('dim'), red: paint('red'), green: paint('green'), yellow: paint('yellow'), cyan: paint('cyan') };
}

/** Characters a string takes on screen (escape sequences do not count). */
export function visibleLength(s: string): number {
  return util.stripVTControlCharacters(s).length;
}

/** `1 package`, `2 packages`: a count with its noun (regular plurals only). */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}
