import { defineConfig } from 'build-system';

// Entry (src/index.ts), formats (esm + cjs) and declarations (.d.ts + .d.cts) come from package.json.
export default defineConfig({
  adapter: 'rollup',
});
