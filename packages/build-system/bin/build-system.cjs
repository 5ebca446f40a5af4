#!/usr/bin/env node
'use strict';
// Thin launcher, CommonJS on purpose: dist/cli-start.cjs answers --version and a replayable no-op
// without Node's ESM loader, and hands anything else to dist/cli.js (src/cli-start.ts says why).
require('../dist/cli-start.cjs').start();
