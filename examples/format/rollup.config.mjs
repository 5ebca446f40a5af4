// How @demo/format was built before it moved to build-system, kept because it is what
// `build-system init` reads (test/init.test.ts checks that init writes build.config.ts
// from it). `npx rollup -c` still builds the JS: rollup with esbuild's TypeScript transform.
import { existsSync } from 'node:fs';
import { transform } from 'esbuild';

const typescript = {
  name: 'typescript',
  resolveId(source, importer) {
    // Sources import './symbols.js'; the file on disk is symbols.ts.
    if (!importer || !source.startsWith('.')) return null;
    const file = new URL(source.replace(/\.js$/, '.ts'), `file://${importer}`).pathname;
    return existsSync(file) ? file : null;
  },
  async transform(code, id) {
    if (!id.endsWith('.ts')) return null;
    const result = await transform(code, { loader: 'ts', sourcefile: id });
    return { code: result.code, map: null };
  },
};

export default {
  input: 'src/index.ts',
  external: [/^@demo\//],
  plugins: [typescript],
  output: [
    { file: 'dist/index.js', format: 'es' },
    { file: 'dist/index.cjs', format: 'cjs' },
  ],
};
