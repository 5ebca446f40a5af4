#!/usr/bin/env node
// Thin launcher: the CLI is dist/cli.js, src/main.ts bundled into one file (scripts/build.mjs).
import { main } from '../dist/cli.js';

await main();
