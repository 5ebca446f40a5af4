import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// src/version.ts and dist/version.js (and dist/index.cjs) all sit one level below the package root.
const here = typeof __dirname === 'string' ? __dirname : path.dirname(fileURLToPath(import.meta.url));

/** build-system's own version (part of lock owner records and, later, the cache key). */
export const VERSION: string = (JSON.parse(readFileSync(path.join(here, '..', 'package.json'), 'utf8')) as { version: string }).version;
