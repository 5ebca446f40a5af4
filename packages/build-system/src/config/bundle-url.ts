import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The URL an evaluated config bundle is named by in stack traces (its
 * `//# sourceURL`): the config's own file URL plus a suffix. In its own
 * module so the CLI's crash guard can name the config behind an error thrown
 * from a config's timer or promise without loading the config loader.
 */
export function configBundleUrl(configFile: string, id: number): string {
  return `${pathToFileURL(configFile).href}.bundled-${id}.mjs`;
}

const IN_STACK = /(file:\/\/[^\s)]+?)\.bundled-\d+\.mjs/;

/** The config file a stack trace runs through, or null. */
export function configFileInStack(stack: string): string | null {
  const m = IN_STACK.exec(stack);
  if (!m) return null;
  try {
    return fileURLToPath(m[1]!);
  } catch {
    return null;
  }
}
