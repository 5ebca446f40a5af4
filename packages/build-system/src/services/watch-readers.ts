import path from 'node:path';
import type { RecordedReads } from '../cache/build-reads.js';
import type { KeyState } from '../cache/package-cache.js';
import type { PreparedPackage } from './build.service.js';
import { resolvedPath } from '../util/paths.js';
import type { PackageInfo } from '../workspace/package-info.js';

/**
 * Which packages read a path outside their own directory, from each build's
 * recorded reads (the cache entry's, which a hit is checked against).
 *
 * A watch round takes the package a changed file belongs to and its dependents
 * in the graph. A package can also read another's files without depending on
 * it: a tsconfig `paths` alias to a sibling's sources, which a bundler then
 * inlines. The one-shot build catches that through the recorded reads; the
 * watch did not (the sibling's edit left the reader's output stale). With this
 * index the readers of a changed file take part in the round too.
 *
 * Paths inside the reader's own directory are not kept (a change there makes
 * it part of the round anyway), nor paths under node_modules (outside every
 * package: a change there is a full round) unless a link leads into the
 * workspace, whose path is kept. The same index says what a package read of
 * other packages' outputs (watch-reuse.ts).
 */
export class CrossPackageReads {
  /** Package name → the cache entry (and config inputs) its reads came from, and the paths it read outside its directory (to forget them when it reads anew). */
  private readonly byPackage = new Map<string, { key: string; paths: string[] }>();
  private readonly byPath = new Map<string, Set<string>>();
  private readonly unknown = new Set<string>();

  /**
   * The package's latest build (cache entry `entryKey`) read these, and its key and config
   * evaluation `ownInputs` (absolute: the fingerprint's files and directories, the config's
   * imports), replacing what an earlier build read. The same entry with the same inputs again (a
   * hit in every round after the first) is nothing to do.
   */
  set(pkg: PackageInfo, reads: RecordedReads, entryKey: string, ownInputs: readonly string[] = []): void {
    const identity = [entryKey, ...ownInputs].join('\0');
    this.unknown.delete(pkg.name);
    if (this.byPackage.get(pkg.name)?.key === identity) return;
    this.forget(pkg.name);
    const paths: string[] = [];
    const own = `${pkg.dir}${path.sep}`;
    const nodeModules = `${path.sep}node_modules${path.sep}`;
    for (const rel of [...Object.keys(reads.files), ...Object.keys(reads.dirs), ...Object.keys(reads.manifests), ...ownInputs]) {
      let abs = path.resolve(pkg.dir, rel);
      // Through a link into the workspace (a dependency's outputs read as node_modules/@scope/a/dist/x): the package's own path.
      if (abs.includes(nodeModules)) abs = resolvedPath(abs);
      if (abs === pkg.dir || abs.startsWith(own) || abs.includes(nodeModules)) continue;
      paths.push(abs);
      this.addReader(abs, pkg.name);
    }
    this.byPackage.set(pkg.name, { key: identity, paths });
  }

  /**
   * A build's report (RunHooks.onReads): its entry's recorded reads, with its key's input files and
   * directories and its config's imports as its own inputs. The one reading of that report, for the
   * watch and the no-op record alike.
   */
  setFromBuild(prepared: PreparedPackage, reads: RecordedReads, entryKey: string, key: KeyState): void {
    this.set(prepared.pkg, reads, entryKey, [...prepared.configInputs, ...key.inputFiles.keys(), ...key.inputDirs]);
  }

  /** What `pathsOf` gave for the package in an earlier process (a no-op record's reads, services/partial-run.ts). */
  restore(name: string, paths: readonly string[]): void {
    this.forget(name);
    this.unknown.delete(name);
    for (const abs of paths) this.addReader(abs, name);
    this.byPackage.set(name, { key: '', paths: [...paths] });
  }

  private addReader(abs: string, name: string): void {
    let readers = this.byPath.get(abs);
    if (!readers) this.byPath.set(abs, (readers = new Set()));
    readers.add(name);
  }

  /**
   * The package's latest build succeeded without telling what it read (not cached: its tool could not
   * say, or a file changed while it ran): what it read of other packages is unknown, so it is a reader
   * of every change until a build of it tells again.
   */
  readsUnknown(name: string): void {
    this.forget(name);
    this.unknown.add(name);
  }

  /** Packages whose latest build did not tell what it read (readsUnknown). */
  get unknownReaders(): ReadonlySet<string> {
    return this.unknown;
  }

  /** What the package's last build read outside its directory (real paths), or undefined when no build of it told. */
  pathsOf(name: string): readonly string[] | undefined {
    return this.byPackage.get(name)?.paths;
  }

  /** The packages whose last build read `abs` itself, or listed it as a directory entry (a new file there counts). */
  readersOf(abs: string): string[] {
    return [...(this.byPath.get(abs) ?? []), ...(this.byPath.get(path.dirname(abs)) ?? [])];
  }

  private forget(name: string): void {
    for (const p of this.byPackage.get(name)?.paths ?? []) {
      const readers = this.byPath.get(p);
      readers?.delete(name);
      if (readers?.size === 0) this.byPath.delete(p);
    }
    this.byPackage.delete(name);
  }
}
