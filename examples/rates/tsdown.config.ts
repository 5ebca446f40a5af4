// How @demo/rates was built before it moved to build-system, kept because it is what
// `build-system init` reads (test/init.test.ts checks that init writes build.config.ts from it).
export default {
  entry: ['src/index.ts', 'src/table.ts'],
  dts: true,
};
