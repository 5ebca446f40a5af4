import { statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * A set of directories watched one `fs.watch` (inotify on Linux, FSEvents per
 * directory on macOS, ReadDirectoryChangesW on Windows) each, non-recursively.
 * Watch mode knows exactly which directories its builds read (the run's read
 * log), so it watches those and nothing else: no walk of the tree at start,
 * no node_modules, no outDirs. Why not a library or a recursive watch:
 * specs/002-build-package-handler/research.md §12 (measured at 200 packages).
 *
 * A watch follows the directory's inode, not its path: `sync` re-creates the
 * watch of a directory that was replaced (deleted and made again), and drops
 * those that are gone. Events carry the changed path; what it means is the
 * caller's business.
 */
export class DirWatcher {
  private readonly watchers = new Map<string, { watcher: FSWatcher; ino: number }>();
  private closed = false;

  constructor(private readonly onChange: (file: string) => void) {}

  /** Watch exactly `dirs` from now on (absolute paths). Returns how many are watched. */
  sync(dirs: Iterable<string>): number {
    if (this.closed) return 0;
    const want = new Set(dirs);
    for (const [dir, w] of this.watchers) {
      if (!want.has(dir)) this.drop(dir, w.watcher);
    }
    for (const dir of want) {
      const st = statSync(dir, { throwIfNoEntry: false });
      const known = this.watchers.get(dir);
      if (!st || !st.isDirectory()) {
        if (known) this.drop(dir, known.watcher);
        continue;
      }
      if (known && known.ino === st.ino) continue;
      if (known) this.drop(dir, known.watcher);
      this.add(dir, st.ino);
    }
    return this.watchers.size;
  }

  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    for (const [dir, w] of this.watchers) this.drop(dir, w.watcher);
  }

  private add(dir: string, ino: number): void {
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (_event, name) => {
        // No name (some platforms, an overflow): the directory itself changed in some way.
        this.onChange(name ? path.join(dir, name.toString()) : dir);
      });
    } catch {
      // Vanished between the stat and the watch, or out of watches: its parent's event brings it back.
      return;
    }
    // The directory was deleted (or the watch limit hit): forget it; its parent's watch reports the removal.
    watcher.on('error', () => {
      this.drop(dir, watcher);
      this.onChange(dir);
    });
    this.watchers.set(dir, { watcher, ino });
  }

  private drop(dir: string, watcher: FSWatcher): void {
    if (this.watchers.get(dir)?.watcher === watcher) this.watchers.delete(dir);
    try {
      watcher.close();
    } catch {
      // already closed
    }
  }
}
