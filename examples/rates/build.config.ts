import { defineConfig } from 'build-system';

// Entries, format (esm), extension (.mjs) and declarations (.d.mts) all come from package.json exports.
export default defineConfig({
  adapter: 'esbuild',
});
