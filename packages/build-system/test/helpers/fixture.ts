import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

/** The repo root (where node_modules with the real tools lives). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const packageRoot = path.join(repoRoot, 'packages/build-system');
/** The built CLI entry (tests run `npm run build` first via `npm test`). */
export const cliPath = path.join(packageRoot, 'bin/build-system.cjs');
export const repoBin = path.join(repoRoot, 'node_modules/.bin');

export type FileTree = Record<string, string | object>;

export interface Fixture {
  root: string;
  path(...parts: string[]): string;
  write(files: FileTree): void;
  read(rel: string): string;
  cleanup(): void;
}

/**
 * Writes `files` into a new temp dir. Values that are objects are written as
 * JSON. With `linkNodeModules`, the repo's node_modules is symlinked in so the
 * package finds real tools (typescript, rollup, bun) the way an installed
 * workspace would.
 */
export function createFixture(files: FileTree, opts: { linkNodeModules?: boolean } = {}): Fixture {
  const root = mkdtempSync(path.join(tmpdir(), 'bs-fixture-'));
  const fx: Fixture = {
    root,
    path: (...parts) => path.join(root, ...parts),
    write(tree) {
      for (const [rel, content] of Object.entries(tree)) {
        const abs = path.join(root, rel);
        mkdirSync(path.dirname(abs), { recursive: true });
        writeFileSync(abs, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      }
    },
    read: (rel) => readFileSync(path.join(root, rel), 'utf8'),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
  fx.write(files);
  if (opts.linkNodeModules) symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return fx;
}

/**
 * An npm workspace (`packages/*`) of the given packages (directory name → files), with the repo's
 * node_modules linked in; `track` collects it for the caller's cleanup.
 */
export function packagesWorkspace(packages: Record<string, FileTree>, track: Fixture[], rootName = 'fx-root'): Fixture {
  const files: FileTree = { 'package.json': { name: rootName, private: true, workspaces: ['packages/*'] } };
  for (const [dir, tree] of Object.entries(packages)) for (const [rel, content] of Object.entries(tree)) files[`packages/${dir}/${rel}`] = content;
  const fx = createFixture(files, { linkNodeModules: true });
  track.push(fx);
  return fx;
}

/** Every file below dir, as sorted posix paths relative to it (`esm/index.js`). */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** sha256 of every file below dir (relative posix path → hash); {} when dir is missing. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const abs = path.join(d, name);
      const st = statSync(abs);
      if (st.isDirectory()) {
        if (name === 'node_modules') continue;
        walk(abs);
      } else out[path.relative(dir, abs).split(path.sep).join('/')] = createHash('sha256').update(readFileSync(abs)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/**
 * Returns once a file written in `dir` gets a later ctime than `file`'s: the coarse kernel clock has ticked
 * past it. A build that starts in the tick of a write counts the file as changed while it ran and stores
 * nothing (cache/build-reads.ts), so a test that writes and then expects the next build to be stored waits.
 */
export function untilClockPasses(file: string, dir: string): void {
  const written = statSync(file).ctimeMs;
  const probe = path.join(dir, '.clock-probe');
  do writeFileSync(probe, '');
  while (statSync(probe).ctimeMs <= written);
  rmSync(probe);
}
