import { defineConfig } from 'build-system';

// tsc keeps the file layout (lib/index.js, lib/ledger.js, ...). It compiles tsconfig.build.json,
// which leaves src/*.test.ts out; tsconfig.json (editors, type-checking the tests) includes them.
export default defineConfig({
  adapter: 'tsc',
  outDir: 'lib',
});
