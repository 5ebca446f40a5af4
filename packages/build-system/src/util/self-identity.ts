import { statSync } from 'node:fs';
import { moduleFile } from './module-file.js';

/** Set by scripts/build.mjs from a hash of the code it builds: the same in every output file of one build, different for different code. */
declare const __BUILD_SYSTEM_BUILD_ID__: string | undefined;

/**
 * Which build-system this is, for the keys of what it keeps for itself (no-op records, kept config
 * evaluations): changed code is another program even at the same version. Built, the build id;
 * from src/ (no build id), the calling module's file, size and mtime.
 */
export function selfIdentity(importMetaUrl: string | undefined): string {
  if (typeof __BUILD_SYSTEM_BUILD_ID__ === 'string') return __BUILD_SYSTEM_BUILD_ID__;
  try {
    const self = moduleFile(importMetaUrl);
    const st = statSync(self);
    return `${self}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'unknown';
  }
}
