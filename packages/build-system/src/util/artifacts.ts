import { lstatSync, readFileSync, type Stats } from 'node:fs';
import path from 'node:path';
import { sha256, sha256File } from './hash.js';

/** Outputs up to this size are read synchronously to be hashed: for small files the promise API's per-call cost is most of the work. */
const SYNC_READ_MAX_BYTES = 256 * 1024;
import { isStrictlyInside, toPosix } from './paths.js';

/**
 * The shape `result/schema.ts`'s `artifactSchema` validates (that zod schema is
 * the truth; the result code assigns these to it, so the typecheck catches a
 * drift). Spelled out here so `util/` does not import from a layer above it.
 */
export interface Artifact {
  path: string;
  bytes: number;
  sha256: string;
  kind: 'js' | 'dts' | 'map' | 'other';
}

export function artifactKind(file: string): Artifact['kind'] {
  if (/\.d\.(c|m)?ts$/.test(file)) return 'dts';
  if (file.endsWith('.map')) return 'map';
  if (/\.(c|m)?js$/.test(file)) return 'js';
  return 'other';
}

/**
 * Turns the files a tool reported into artifacts: each must exist as a regular
 * file inside the staging dir (a tool's report is not trusted blindly). Paths
 * in the result are where the file will live after the swap: `<outDir>/<rel>`.
 */
export async function collectArtifacts(reported: readonly string[], stagingDir: string, outDir: string): Promise<{ artifacts: Artifact[]; missing: string[] }> {
  const unique = [...new Set(reported.map((f) => path.resolve(stagingDir, f)))].sort();
  const artifacts: Artifact[] = [];
  const missing: string[] = [];
  for (const abs of unique) {
    const rel = toPosix(path.relative(stagingDir, abs));
    if (!isStrictlyInside(stagingDir, abs)) {
      missing.push(rel);
      continue;
    }
    let st: Stats;
    try {
      st = lstatSync(abs);
      if (!st.isFile()) {
        missing.push(rel);
        continue;
      }
    } catch {
      missing.push(rel);
      continue;
    }
    const digest = st.size <= SYNC_READ_MAX_BYTES ? digestOf(readFileSync(abs)) : await sha256File(abs);
    const finalPath = `${outDir}/${rel}`;
    artifacts.push({ path: finalPath, bytes: digest.bytes, sha256: digest.sha256, kind: artifactKind(finalPath) });
  }
  return { artifacts, missing };
}

function digestOf(data: Buffer): { sha256: string; bytes: number } {
  return { sha256: sha256(data), bytes: data.byteLength };
}
