import { PackageCache, type KeyState } from '../cache/package-cache.js';
import { statFields } from '../util/fast-stat.js';
import type { PackageBuildOptions, PreparedPackage } from './package-build/context.js';
import { keyStep } from './package-build/key.js';

/**
 * Keys computed ahead of a package's turn.
 *
 * A package's fingerprint is its own files, config, lockfile entries and env
 * (cache/fingerprint.ts); what it reads of the workspace dependencies it waits
 * for is not in it but in the entry's recorded reads, which are checked when
 * its turn comes, after they are built. So while a package waits, its
 * fingerprint can already be computed, in time the main thread would
 * otherwise spend waiting for a tool: on an edit of a package most others
 * depend on, its declarations job (research.md §8.w).
 *
 * What keeps a key computed ahead the key its turn would compute:
 * - only for a package without config `inputs` (a glob may add files outside
 *   it, which another package's build may write, or files appearing where its
 *   walk does not list) and whose directory holds no other package of the run;
 * - on its turn, every file the fingerprint hashed and every directory its
 *   walk listed is stat'ed again and must be the version it was (a
 *   dependency's build, or a plugin of it, that wrote into this package);
 *   otherwise the key is dropped and computed again, as it was before this;
 * - the work runs one package at a time, each after the I/O already pending
 *   (setImmediate), so a ready package's own steps are not held back by it.
 */
export interface KeyAhead {
  cache: PackageCache;
  key: KeyState;
}

interface Job {
  compute: () => Promise<KeyAhead | undefined>;
  result?: Promise<KeyAhead | undefined>;
  /** The listed directories' mtimes and inodes as the run first saw them. */
  dirs?: Map<string, { mtimeMs: number; ino: number } | undefined>;
}

export class KeysAhead {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: string[] = [];
  private draining = false;
  private closed = false;
  private running: Promise<KeyAhead | undefined> | undefined;

  /** Queues the key of a package that waits for others. */
  add(name: string, prepared: PreparedPackage, options: PackageBuildOptions): void {
    if (this.closed || options.noCache || this.jobs.has(name) || prepared.config.inputs.some((g) => !g.startsWith('!'))) return;
    const job: Job = {
      compute: async () => {
        const cache = await PackageCache.open(prepared.pkg, options, options.reads);
        const key = await keyStep(cache, prepared, options);
        if (cache.read) await cache.prefetch(key.primaryKey);
        // As the run first saw them (stat'ed before they were listed: util/read-log.ts).
        job.dirs = new Map(key.inputDirs.map((d) => [d, options.reads.dirVersion(d)]));
        return { cache, key };
      },
    };
    this.jobs.set(name, job);
    this.queue.push(name);
    this.drain();
  }

  /**
   * The package's turn: its key computed ahead if that ran and nothing it read
   * changed since, else undefined (and a job not started yet never starts).
   */
  async take(name: string): Promise<KeyAhead | undefined> {
    const job = this.jobs.get(name);
    this.jobs.delete(name);
    if (!job?.result) return undefined;
    const ahead = await job.result.catch(() => undefined);
    if (!ahead || !unchanged(ahead.key, job.dirs!)) return undefined;
    return ahead;
  }

  /** The run is over (or cut short): nothing queued starts, and the one running is waited for. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.jobs.clear();
    await this.running?.catch(() => undefined);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => {
      const name = this.queue.shift();
      const job = name === undefined ? undefined : this.jobs.get(name);
      const done = () => {
        this.draining = false;
        this.running = undefined;
        if (this.queue.length > 0) this.drain();
      };
      if (!job) return done();
      job.result = this.running = job.compute();
      job.result.then(done, done);
    });
  }
}

function versionOf(dir: string): { mtimeMs: number; ino: number } | undefined {
  const st = statFields(dir);
  return st && { mtimeMs: st.mtimeMs, ino: st.ino };
}

/** Every input file and listed directory is still the version the key was computed from. */
function unchanged(key: KeyState, dirs: ReadonlyMap<string, { mtimeMs: number; ino: number } | undefined>): boolean {
  for (const [abs, was] of key.inputFiles) {
    const st = statFields(abs);
    if (!st || st.size !== was.size || st.mtimeMs !== was.mtimeMs || st.ctimeMs !== was.ctimeMs || st.ino !== was.ino) return false;
  }
  for (const [dir, was] of dirs) {
    const now = versionOf(dir);
    if (!now || !was || now.mtimeMs !== was.mtimeMs || now.ino !== was.ino) return false;
  }
  return true;
}
