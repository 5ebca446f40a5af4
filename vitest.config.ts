import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn real compilers and CLIs; two cores here, so keep files few at once.
    pool: 'forks',
    maxWorkers: 2,
    // No TypeScript snapshot builds (~3 s CPU each, src/adapters/tsc-snapshot.ts) behind every test and CLI that emits
    // declarations in a fresh fixture; test/tsc-snapshot.test.ts turns it on for itself.
    env: { BUILD_SYSTEM_TSC_SNAPSHOT: '0' },
  },
});
