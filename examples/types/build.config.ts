import { defineConfig } from 'build-system';

// tsc keeps the file layout (dist/index.js, dist/money.js, ...) and emits .d.ts next to them.
export default defineConfig({
  adapter: 'tsc',
  entry: ['src/index.ts'],
  dts: true,
  sourcemap: true,
});
