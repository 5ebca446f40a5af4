import { defineConfig } from 'build-system';

// adapter 'auto': bun when it is installed (it is a devDependency of this repo), else esbuild.
export default defineConfig({
  adapter: 'auto',
  // entries come from package.json: bin dist/cli.js <- src/cli.ts, main dist/index.js <- src/index.ts
  format: 'cjs',
});
