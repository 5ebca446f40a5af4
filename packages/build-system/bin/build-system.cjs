#!/usr/bin/env node
'use strict';
// Node 22.1+ keeps the V8 code of the modules loaded from here on between processes (in
// $NODE_COMPILE_CACHE or <tmpdir>/node-compile-cache, keyed by content; NODE_DISABLE_COMPILE_CACHE=1
// turns it off), as TypeScript's own bin does; older Node has no such function. research.md §5 "3e".
require('node:module').enableCompileCache?.();
// Thin launcher, CommonJS on purpose: dist/cli-start.cjs answers --version and a replayable no-op
// without Node's ESM loader, and hands anything else to dist/cli.js (src/cli-start.ts says why).
require('../dist/cli-start.cjs').start();
