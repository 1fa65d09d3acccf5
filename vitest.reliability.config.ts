import { defineConfig } from 'vitest/config';

// The reliability suite (`npm run test:reliability`): property-based and stress tests that
// take longer than the unit suite; .ci/run runs it after `npm test`.
export default defineConfig({
  test: {
    include: ['reliability/**/*.test.ts'],
    pool: 'forks',
    // As in vitest.config.ts: the shell parser's wasm on V8's baseline compiler only.
    execArgv: ['--liftoff-only'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
