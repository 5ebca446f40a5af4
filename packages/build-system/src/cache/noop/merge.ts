import path from 'node:path';
import { nearestAncestor, realpathFast } from '../../util/paths.js';
import type { ObservedDir, ObservedFile, ReadObservations } from '../../util/read-log.js';
import type { PreviousRun } from './check.js';
import { expandDirs, joinPath } from './record.js';

type Observed = Pick<ReadObservations, 'files' | 'dirs' | 'absent' | 'links' | 'env'>;

/**
 * What a partial run's record must check: what this run read, and what the
 * record it started from checked for the packages it kept (services/partial-run.ts).
 *
 * The previous record's paths are taken as it recorded them, less the paths
 * that changed since (the run read again what it needs of those): every other
 * one was just found as recorded, and nothing the kept packages read is among
 * the changed ones, or they would have taken part. This run's observations of
 * the same paths win. Outputs and cache entries are not taken over: the writer
 * derives them from the run's results, kept ones included (write.ts), and
 * checks that what this run's builds read of them is still there; entries of
 * the previous record below an outDir are its outputs as they were.
 */
export function withPrevious(previous: PreviousRun, observed: Observed, outDirs: ReadonlySet<string>): Observed {
  const { record, delta, content } = previous;
  const changed = new Set(delta.changed);
  const inOutDir = (p: string) => nearestAncestor(p, (dir) => (outDirs.has(dir) ? true : undefined)) === true;
  const throughLink = linkedOutputs(inOutDir);
  const dropped = (p: string) => changed.has(p) || inOutDir(p) || throughLink(p);
  const dirTable = expandDirs(record.dirTable);
  const files = new Map<string, ObservedFile>();
  const { files: f, dirs: d, absent: a } = record;
  for (let i = 0; i < f.dir.length; i++) {
    const p = joinPath(dirTable[f.dir[i]!]!, f.base[i]!);
    if (dropped(p)) continue;
    const mtimeMs = f.mtimeMs[i]!;
    const ctimeMs = f.ctimeMs[i]!;
    // The hash the check would compare after a fresh checkout: the content file has every file's.
    const sha = f.sha256[i] || content?.files[i];
    // Its blob id goes with the version it was recorded at (content.ts blobIdsFromGit).
    const oid = content?.oids?.[i];
    files.set(p, { size: f.size[i]!, mtimeMs, ctimeMs: ctimeMs === 0 ? mtimeMs : ctimeMs, ino: f.ino[i]!, ...(sha ? { sha256: sha } : {}), ...(oid ? { oid } : {}) });
  }
  const dirs = new Map<string, ObservedDir>();
  for (let i = 0; i < d.dir.length; i++) {
    const p = dirTable[d.dir[i]!]!;
    if (dropped(p)) continue;
    const names = d.names[i] || content?.dirs[i];
    dirs.set(p, { mtimeMs: d.mtimeMs[i]!, ino: d.ino[i]!, ...(names ? { names } : {}) });
  }
  const absent = new Set<string>();
  for (let i = 0; i < a.dir.length; i++) {
    const p = joinPath(dirTable[a.dir[i]!]!, a.base[i]!);
    if (!dropped(p)) absent.add(p);
  }
  const links = new Map(record.links.map(([dir, base, target]) => [joinPath(dirTable[dir]!, base), target]));
  // Written anew with the recorded content (a fresh checkout): as recorded, at the stat the check found.
  for (const [p, now] of delta.verified?.files ?? []) if (files.has(p)) files.set(p, now);
  for (const [p, now] of delta.verified?.dirs ?? []) if (dirs.has(p)) dirs.set(p, now);
  for (const [p, seen] of observed.files) {
    // Read again at the recorded version: the same bytes, so the same blob id.
    const before = files.get(p);
    const same = before?.oid && before.size === seen.size && before.mtimeMs === seen.mtimeMs && before.ctimeMs === seen.ctimeMs && before.ino === seen.ino;
    files.set(p, same ? { ...seen, oid: before.oid } : seen);
    absent.delete(p);
  }
  for (const [p, seen] of observed.dirs) {
    dirs.set(p, seen);
    absent.delete(p);
  }
  for (const p of observed.absent) {
    if (files.has(p) && !observed.files.has(p)) files.delete(p);
    if (dirs.has(p) && !observed.dirs.has(p)) dirs.delete(p);
    absent.add(p);
  }
  for (const [p, target] of observed.links) links.set(p, target);
  return { files, dirs, absent, links, env: new Set([...Object.keys(record.env), ...observed.env]) };
}

/**
 * Whether a path reaches a package's outputs through a node_modules link (`node_modules/@scope/a/dist/x.d.ts`,
 * as a dependent read it). Such entries are the outputs themselves, which the writer records by their real
 * path from the run's results; as the previous record saw them they are the files a rebuild replaced (new
 * inodes for the same bytes), and a kept dependent never read them again to say otherwise.
 */
function linkedOutputs(inOutDir: (p: string) => boolean): (p: string) => boolean {
  const marker = `${path.sep}node_modules${path.sep}`;
  const real = new Map<string, string | null>();
  const realOf = (dir: string): string | null => {
    let r = real.get(dir);
    if (r === undefined) {
      try {
        r = realpathFast(dir);
      } catch {
        r = null;
      }
      real.set(dir, r);
    }
    return r;
  };
  return (p) => {
    const at = p.lastIndexOf(marker);
    if (at === -1) return false;
    // The link: node_modules/<name> or node_modules/@scope/<name>.
    const rest = p.slice(at + marker.length).split(path.sep);
    const width = rest[0]!.startsWith('@') ? 2 : 1;
    if (rest.length <= width) return false;
    const link = p.slice(0, at + marker.length) + rest.slice(0, width).join(path.sep);
    const target = realOf(link);
    if (target === null || target === link) return false;
    return inOutDir(path.join(target, ...rest.slice(width)));
  };
}
