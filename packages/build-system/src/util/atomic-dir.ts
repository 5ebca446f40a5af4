import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Staging directories live beside outDir (same filesystem, so rename is
 * atomic) and are named so a later run can recognise and remove leftovers.
 */
export const STAGING_PREFIX = '.build-system-staging-';
export const OLD_PREFIX = '.build-system-old-';

export async function createStagingDir(pkgDir: string, outDir: string): Promise<string> {
  const parent = path.dirname(path.resolve(pkgDir, outDir));
  await mkdir(parent, { recursive: true });
  return mkdtemp(path.join(parent, `${STAGING_PREFIX}${path.basename(outDir)}-`));
}

/** Replaces outDir by the staging directory: old moved aside, staging renamed in, old removed. */
export async function swapInStaging(pkgDir: string, outDir: string, staging: string): Promise<void> {
  const target = path.resolve(pkgDir, outDir);
  const old = path.join(path.dirname(target), `${OLD_PREFIX}${path.basename(outDir)}-${process.pid}-${Date.now()}`);
  let movedOld = false;
  try {
    await rename(target, old);
    movedOld = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await rename(staging, target);
  if (movedOld) await rm(old, { recursive: true, force: true });
}

export async function discardStaging(staging: string): Promise<void> {
  await rm(staging, { recursive: true, force: true });
}
