import { resolverFrom } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { RecordedReads } from './build-reads.js';
import type { FileHasher } from './file-hasher.js';
import { dirHashLike, ENV_READ, envValueHash, manifestHash } from './read-hashes.js';

/**
 * The recorded reads that no longer hold (paths as recorded), checked through
 * the run's read log and the package's stat cache. Empty: the entry still
 * describes the current files. `stopAtFirst` for lookups that only need a yes/no.
 */
export async function changedReads(recorded: RecordedReads, pkg: PackageInfo, hasher: FileHasher, stopAtFirst = false): Promise<string[]> {
  const reads = hasher.reads;
  const changed: string[] = [];
  for (const [name, expected] of Object.entries(recorded.env ?? {})) {
    if (envValueHash(name, reads.env(name)) === expected) continue;
    changed.push(`${ENV_READ}${name}`);
    if (stopAtFirst) return changed;
  }
  const resolve = resolverFrom(pkg.dir);
  for (const [rel, expected] of Object.entries(recorded.files)) {
    const abs = resolve(rel);
    // Thousands per run at 200 packages: the stat fields without an fs.Stats, and no promise for a vouched hash.
    const st = reads.statQuick(abs);
    let same: boolean;
    if (expected === null) same = st === undefined;
    else if (!st || !st.isFile) same = false;
    else same = (hasher.vouched(abs, st) ?? (await hasher.hash(abs, st))).sha256 === expected;
    if (!same) {
      changed.push(rel);
      if (stopAtFirst) return changed;
    }
  }
  for (const [rel, expected] of Object.entries(recorded.manifests ?? {})) {
    if (manifestHash(resolve(rel), reads) !== expected) {
      changed.push(rel);
      if (stopAtFirst) return changed;
    }
  }
  for (const [rel, expected] of Object.entries(recorded.dirs)) {
    const abs = resolve(rel);
    const entries = reads.list(abs);
    if (dirHashLike(expected, entries) !== expected) {
      changed.push(`${rel}/`);
      if (stopAtFirst) return changed;
    }
  }
  return changed;
}
