import path from 'node:path';

export const CACHE_DIR_ENV = 'BUILD_SYSTEM_CACHE_DIR';

/** The cache directory for a workspace: option, then env var, then the default under node_modules/.cache. */
export function resolveCacheDir(workspaceRoot: string, cacheDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = cacheDir ?? (env[CACHE_DIR_ENV] || undefined);
  return chosen ? path.resolve(chosen) : path.join(workspaceRoot, 'node_modules', '.cache', 'build-system');
}
