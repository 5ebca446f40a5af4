import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// src/version.ts, dist/version.js and dist/index.cjs sit one level below the package root;
// the CLI bundle's chunks (dist/cli-chunks/*.js) two.
const here = typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));

function ownManifest(): { name: string; version: string } {
  for (const up of ['..', '../..']) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(here, up, 'package.json'), 'utf8')) as { name: string; version: string };
      if (manifest.name === 'build-system') return manifest;
    } catch {
      // Not at this level.
    }
  }
  throw new Error(`build-system: cannot find its own package.json above ${here}`);
}

/** build-system's own version (part of lock owner records and the cache key). */
export const VERSION: string = ownManifest().version;
