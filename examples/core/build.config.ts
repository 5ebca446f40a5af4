import { defineConfig } from 'build-system';

export default defineConfig({
  adapter: 'esbuild',
  // entry is derived from package.json exports: dist/index.{js,cjs} <- src/index.ts
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  define: { __CORE_VERSION__: JSON.stringify('1.0.0') },
});
