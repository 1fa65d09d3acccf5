import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A throwaway XDG_STATE_HOME: the default log dir is per user, not in the temp dir.
    setupFiles: ['test/support/state-home.ts'],
    // Real processes: separate forks keep each file's process-exit hooks and signals apart.
    pool: 'forks',
    // The shell parser's wasm (tree-sitter) is compiled by V8's baseline compiler only, as the CLI does
    // (src/cli/wasm-tiering.ts): optimising its huge lexer costs each process about a second of CPU.
    execArgv: ['--liftoff-only'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // A busy 2-core CI machine: keep parallelism modest so process-spawning tests stay stable.
    maxWorkers: 2,
  },
});
