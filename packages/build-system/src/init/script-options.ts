import type { ReadLog } from '../util/read-log.js';
import type { PackageInfo } from '../workspace/package-info.js';
import { parseFlags, type ScriptCommand } from './build-script.js';
import { mapToolOptions, type MappedOptions } from './tool-options.js';

// --minify and --sourcemap are left out: written bare far more often than with a value. The rest of tsup's and
// tsdown's flags that read the next word are listed so it is not taken for an entry (`--onSuccess "pnpm build:dts"`).
const CLI_VALUE_FLAGS = new Set([
  '--format', '--out-dir', '-d', '--outdir', '--outDir', '--target', '--platform', '--external', '--define', '--config', '-c', '--entry', '--tsconfig', '-p', '--project',
  '--env.*', '--define.*', '--entry.*', '--onSuccess', '--on-success', '--global-name', '--globalName', '--jsxFactory', '--jsxFragment', '--pure', '--loader', '--inject',
  '--killSignal', '--ignore-watch', '--log-level', '--logLevel', '--copy', '--filter', '-F',
]);

/**
 * tsup/tsdown/bun/esbuild flags of a build script, as the same option names
 * `mapToolOptions` reads, so both go through one mapping.
 */
export function scriptOptions(command: ScriptCommand, pkg: PackageInfo, reads: ReadLog): MappedOptions {
  const { positional, flags } = parseFlags(command.args, CLI_VALUE_FLAGS);
  const options: Record<string, unknown> = {};
  const unknown: string[] = [];
  if (positional.length) options.entry = positional;
  for (const [flag, values] of flags) {
    const last = values[values.length - 1]!;
    const list = values.flatMap((v) => v.split(','));
    switch (flag) {
      case '--format':
        options.format = list;
        break;
      case '--dts':
        options.dts = true;
        break;
      case '--out-dir':
      case '-d':
      case '--outdir':
      case '--outDir':
        options.outDir = last;
        break;
      case '--target':
        // bun's --target is the runtime (node, browser, bun), not a language level.
        if (command.tool === 'bun') {
          if (last === 'node' || last === 'browser') options.platform = last;
          else unknown.push(`${flag} ${last}`);
        } else options.target = list.length === 1 ? list[0] : list;
        break;
      case '--platform':
        options.platform = last;
        break;
      case '--tsconfig':
        options.tsconfig = last;
        break;
      case '--sourcemap':
        options.sourcemap = last === 'inline' ? 'inline' : last === 'true' || last === 'external' || last === 'linked';
        break;
      case '--minify':
        options.minify = last === 'true' ? true : last;
        break;
      case '--splitting':
        options.splitting = last !== 'false';
        break;
      case '--no-splitting':
        options.splitting = false;
        break;
      case '--shims':
        options.shims = last !== 'false';
        break;
      case '--clean':
        options.clean = true;
        break;
      case '--external':
        options.external = list;
        break;
      case '--unbundle':
        if (command.tool === 'tsdown') {
          options.unbundle = true;
          break;
        }
        unknown.push(flag);
        break;
      case '--bundle':
        if (command.tool === 'esbuild') break;
        unknown.push(flag);
        break;
      case '--watch':
      case '-w':
      case '--silent':
        break;
      default: {
        // tsup's and tsdown's dotted families: `--env.NODE_ENV production` is `env: { NODE_ENV: 'production' }`.
        const family = /^--(env|define|entry)\.(.+)$/.exec(flag);
        if (family) {
          const field = family[1]!;
          options[field] = { ...(typeof options[field] === 'object' && !Array.isArray(options[field]) ? (options[field] as object) : {}), [family[2]!]: last };
          break;
        }
        unknown.push(values.every((v) => v === 'true') ? flag : `${flag} ${values.join(' ')}`);
      }
    }
  }
  const mapped = mapToolOptions(command.tool === 'tsdown' ? 'tsdown' : 'tsup', options, `build script \`${command.text}\`:`, pkg, reads);
  for (const flag of unknown) mapped.notReproduced.push({ option: flag, value: 'flag', why: 'no equivalent option' });
  return mapped;
}
