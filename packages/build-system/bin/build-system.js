#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/main.js (built from src/main.ts).
import { main } from '../dist/main.js';

await main();
