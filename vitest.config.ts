import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn real compilers and CLIs; two cores here, so keep files few at once.
    pool: 'forks',
    maxWorkers: 2,
  },
});
