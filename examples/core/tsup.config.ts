// How @demo/core was built before it moved to build-system, kept because it is what
// `build-system init` reads (test/init.test.ts checks that init writes build.config.ts from it).
export default {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  define: { __CORE_VERSION__: JSON.stringify('1.0.0') },
};
