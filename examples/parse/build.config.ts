import { defineConfig } from 'build-system';

// Formats (esm + cjs) and the declarations of each (.d.ts, .d.cts) come from package.json exports.
export default defineConfig({
  adapter: 'auto',
});
