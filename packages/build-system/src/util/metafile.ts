import path from 'node:path';

/**
 * The files an esbuild-style metafile says were read (`inputs`): esbuild and
 * bun name them relative to their working directory. Inputs of other
 * namespaces (`ns:path`, a plugin's virtual module) are not files: the
 * plugin's code is keyed by the config that holds it.
 */
export function metafileInputs(workDir: string, inputs: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(inputs)) {
    const ns = /^([A-Za-z][\w-]+):(.*)$/.exec(key);
    if (ns && ns[1] !== 'file') continue;
    out.push(path.resolve(workDir, ns ? ns[2]! : key));
  }
  return out;
}
