import { defineConfig } from 'build-system';

// No tsconfig.json here: tsc uses the nearest one up the tree (examples/tsconfig.json),
// restricted to this package's sources.
export default defineConfig({
  adapter: 'tsc',
});
