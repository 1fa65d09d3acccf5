import { defineConfig } from 'vitest/config';

// The reliability suite (`npm run test:reliability`): property-based and stress tests that
// take longer than the unit suite; .ci/run runs it after `npm test`.
export default defineConfig({
  test: {
    include: ['reliability/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
