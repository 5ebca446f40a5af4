import { defineConfig } from 'build-system';

// Entry (src/index.ts), formats (esm + cjs) and declarations (.d.ts + .d.cts) come from package.json.
export default defineConfig({
  adapter: 'esbuild',
  // tsup took the shared tsconfig's target when its config set none.
  target: 'es2022',
  sourcemap: true,
  define: { __CORE_VERSION__: JSON.stringify('1.0.0') },
});
