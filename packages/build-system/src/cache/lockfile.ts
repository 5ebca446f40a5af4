import type { Stats } from 'node:fs';
import path from 'node:path';
import { sha256 } from '../util/hash.js';
import { toPosix } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';
import type { FileHasher } from './file-hasher.js';
import { statSignature, type ReadLog } from '../util/read-log.js';

/**
 * What the workspace lockfile says about a package's external dependencies.
 *
 * package-lock.json (lockfileVersion 2 and 3, npm's `packages` map): only the
 * entries the package can reach count — its own dependencies of every kind
 * that are not workspace packages, and everything they depend on, resolved
 * the way Node resolves them (nearest node_modules upward). Adding a
 * dependency to another package does not change this package's key.
 *
 * pnpm-lock.yaml, yarn.lock, bun.lock(b) and older package-locks: the hash of
 * the whole file (correct, only coarser).
 */
export interface LockfileFingerprint {
  /** Lockfile name at the workspace root. */
  file: string;
  mode: 'entries' | 'whole-file';
  /** sha256 of the reachable entries (mode entries) or of the file. */
  sha256: string;
  /** Direct external dependencies → locked version ('missing' when the lockfile has none): lets explain name them. */
  direct?: Record<string, string>;
}

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb'];
const DEP_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

interface NpmLockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface NpmLock {
  lockfileVersion?: number;
  packages?: Record<string, NpmLockEntry>;
}

// One parse per lockfile version per process: a workspace run fingerprints many packages against one lockfile.
const parsed = new Map<string, { signature: string; lock: NpmLock | null }>();

function readNpmLock(file: string, st: Stats, reads: ReadLog): NpmLock | null {
  const signature = statSignature(st);
  const memo = parsed.get(file);
  if (memo?.signature === signature) return memo.lock;
  let lock: NpmLock | null = null;
  try {
    const text = reads.readText(file);
    if (text === undefined) return null;
    const data = JSON.parse(text) as NpmLock;
    lock = data.packages && typeof data.packages === 'object' ? data : null;
  } catch {
    lock = null;
  }
  parsed.set(file, { signature, lock });
  return lock;
}

/** Where npm puts the packages a location resolves from next: `a/node_modules/b` → `a`, `examples/core` → `examples`. */
function parentLocation(loc: string): string | null {
  if (loc === '') return null;
  const nm = loc.lastIndexOf('node_modules/');
  if (nm >= 0) return nm === 0 ? '' : loc.slice(0, nm - 1);
  const slash = loc.lastIndexOf('/');
  return slash < 0 ? '' : loc.slice(0, slash);
}

function resolveFrom(packages: Record<string, NpmLockEntry>, from: string, name: string): string | null {
  for (let loc: string | null = from; loc !== null; loc = parentLocation(loc)) {
    const candidate = loc ? `${loc}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
  }
  return null;
}

function npmEntries(lock: NpmLock, pkg: PackageInfo, workspaceNames: ReadonlySet<string>): { sha256: string; direct: Record<string, string> } {
  const packages = lock.packages!;
  const pkgLoc = toPosix(path.relative(pkg.workspaceRoot, pkg.dir));
  const reached = new Map<string, string>();
  const direct: Record<string, string> = {};
  const queue: string[] = [];
  const visit = (from: string, name: string): string | undefined => {
    const loc = resolveFrom(packages, from, name);
    if (!loc) return undefined;
    const entry = packages[loc]!;
    if (entry.link) {
      // Workspace packages are covered by their output hash; other links by their target path.
      if (!reached.has(loc)) reached.set(loc, `link:${entry.resolved ?? ''}`);
      return 'link';
    }
    if (!reached.has(loc)) {
      reached.set(loc, `${entry.version ?? ''} ${entry.integrity ?? entry.resolved ?? ''}`);
      queue.push(loc);
    }
    return entry.version ?? 'unknown';
  };
  for (const field of DEP_FIELDS) {
    for (const name of Object.keys(pkg.manifest[field] ?? {}).sort()) {
      if (workspaceNames.has(name) || name in direct) continue;
      direct[name] = visit(pkgLoc, name) ?? 'missing';
    }
  }
  while (queue.length > 0) {
    const loc = queue.shift()!;
    const entry = packages[loc]!;
    for (const deps of [entry.dependencies, entry.optionalDependencies, entry.peerDependencies]) {
      for (const name of Object.keys(deps ?? {})) visit(loc, name);
    }
  }
  const list = [...reached.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { sha256: sha256(JSON.stringify(list)), direct };
}

interface FoundLockfile {
  name: string;
  file: string;
  st: Stats;
}

/**
 * Per run (per read log) and workspace root: the lockfile the run found first (null: none). Every
 * package's key looks for the same names at the same root, six stats each when there is no
 * lockfile (1,200 at 200 packages); the first look is what the run saw and logged, so the others
 * take it, as package.json texts are read once per run (ReadLog.readTextOnce). Per run, not per
 * process: a lockfile added between two runs (watch mode) is seen by the next.
 */
const lockfilesSeen = new WeakMap<ReadLog, Map<string, FoundLockfile | null>>();

function findLockfile(root: string, reads: ReadLog): FoundLockfile | null {
  let seen = lockfilesSeen.get(reads);
  if (!seen) lockfilesSeen.set(reads, (seen = new Map()));
  let found = seen.get(root);
  if (found === undefined) {
    found = null;
    for (const name of LOCKFILES) {
      const file = path.join(root, name);
      const st = reads.stat(file);
      if (st?.isFile()) {
        found = { name, file, st };
        break;
      }
    }
    seen.set(root, found);
  }
  return found;
}

export async function lockfileFingerprint(pkg: PackageInfo, hasher: FileHasher, workspaceNames: ReadonlySet<string>): Promise<LockfileFingerprint | null> {
  const found = findLockfile(pkg.workspaceRoot, hasher.reads);
  if (!found) return null;
  const { name, file, st } = found;
  if (name === 'package-lock.json' || name === 'npm-shrinkwrap.json') {
    const lock = readNpmLock(file, st, hasher.reads);
    if (lock && (lock.lockfileVersion ?? 1) >= 2) {
      return { file: name, mode: 'entries', ...npmEntries(lock, pkg, workspaceNames) };
    }
  }
  const { sha256: digest } = await hasher.hash(file, st);
  return { file: name, mode: 'whole-file', sha256: digest };
}
