import { lstatSync } from 'node:fs';
import path from 'node:path';
import { realpathFast } from '../util/paths.js';
import type { ReadLog } from '../util/read-log.js';

/**
 * Where a package that tools report by its real path was reached from: the
 * `node_modules/<name>` link a bare import went through.
 *
 * esbuild, bun, rollup and TypeScript report files by real path: a workspace
 * dependency's `packages/lib/dist/index.js`, not `node_modules/@m/lib/...`.
 * Pointing the link elsewhere (`npm link`, a vendored copy, a registry
 * version installed over the workspace link by hand) leaves every recorded
 * file as it was, and the build was a hit with the old package's code in it.
 * So each file read below such a package is also recorded through the link,
 * by content: a link pointed at other content is a change, one pointed at a
 * copy with the same files is not (the output is the same). The directories
 * the lookup passed over must stay without that name: one installed there
 * would be found first.
 */

export interface LinkAlias {
  /** `<dir>/node_modules/<name>`: the first the lookup from the package finds, a link to the package's root. */
  link: string | null;
  /** The same path in the directories passed over before it (inside the workspace). */
  absent: string[];
}

const real = (p: string): string | null => {
  try {
    // realpath(3) in one call (util/paths.ts), not Node's walk with an lstat per path component.
    return realpathFast(p);
  } catch {
    return null;
  }
};

/** How Node's lookup from `fromDir` (inside `workspaceRoot`) reaches `name`, when it reaches `root` through a symlink in the workspace. */
export function linkAlias(fromDir: string, workspaceRoot: string, name: string, root: string, reads: ReadLog): LinkAlias {
  const absent: string[] = [];
  const target = real(root);
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      // Not through reads.stat: that would log the linked package's directory, modified by its own build moments ago,
      // and a no-op record refuses a recent directory it has not listed. The link's target text is what is logged.
      const st = lstatSync(candidate, { throwIfNoEntry: false });
      if (st) {
        // The first one found is the one resolution used; a link elsewhere (or a real copy) means it was reached another way (`paths`).
        const linked = st.isSymbolicLink() && reads.readLink(candidate) !== undefined && real(candidate) === target;
        return linked ? { link: candidate, absent } : { link: null, absent: [] };
      }
      absent.push(candidate);
    }
    // Inside the workspace only: a link above it would be recorded by an absolute path, which no other machine shares
    // (a remote entry holding one is refused); such a package stays keyed by its real path alone.
    if (dir === workspaceRoot || !dir.startsWith(workspaceRoot + path.sep)) return { link: null, absent: [] };
  }
}
