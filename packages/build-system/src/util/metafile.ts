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
    const ns = /^([A-Za-z][\w-]*):(.*)$/.exec(key);
    // A one-letter namespace is a plugin's too (`v:routes`), except a Windows drive (`C:\\x`, `C:/x`).
    const drive = ns !== null && ns[1]!.length === 1 && process.platform === 'win32' && /^[\\/]/.test(ns[2]!);
    if (ns && !drive && ns[1] !== 'file') continue;
    out.push(path.resolve(workDir, ns && !drive ? ns[2]! : key));
  }
  return out;
}
