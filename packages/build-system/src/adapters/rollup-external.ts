import { builtinModules } from 'node:module';

/** config.external (names and `name/*` patterns) plus Node builtins, as rollup's external test. */
export function externalTest(external: readonly string[]): (id: string) => boolean {
  const exact = new Set<string>(builtinModules);
  const prefixes: string[] = ['node:'];
  for (const e of external) {
    if (e.endsWith('/*')) prefixes.push(e.slice(0, -1));
    else exact.add(e);
  }
  return (id) => exact.has(id) || prefixes.some((p) => id.startsWith(p));
}
