import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The slowest files, slowest first (about 20-50 s each on a 2-core machine, mostly waiting on
 * real processes and product timeouts). Vitest starts files longest first by the durations it
 * recorded in an earlier run; a fresh clone (CI) has none, and it would then start the largest
 * files first, which may leave a slow one running alone at the end. Only a hint: a file with a
 * recorded duration keeps vitest's own order, and a name that no longer exists is ignored.
 */
const SLOW_FILES = [
  'test/cli-friction.test.ts',
  'test/blast-radius-readonly.test.ts',
  'test/cli.test.ts',
  'test/queue.test.ts',
  'test/cli-run-confirm.test.ts',
  'test/aws-endpoint.test.ts',
  'test/queue-worker-stalls.test.ts',
  'test/approvals-gate.test.ts',
  'test/queue-failures.test.ts',
  'test/aws.test.ts',
  'test/queue-worker-lost.test.ts',
  'test/cli-auth.test.ts',
  'test/cli-approvals.test.ts',
];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const path = (spec: TestSpecification) => relative(this.ctx.config.root, spec.moduleId).replaceAll('\\', '/');
    const hinted = (spec: TestSpecification) =>
      SLOW_FILES.includes(path(spec)) && !this.ctx.cache.getFileTestResults(`${spec.project.name}:${path(spec)}`);
    const first = sorted.filter(hinted).sort((a, b) => SLOW_FILES.indexOf(path(a)) - SLOW_FILES.indexOf(path(b)));
    return [...first, ...sorted.filter((spec) => !hinted(spec))];
  }
}

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
    // The slowest files first even without recorded durations (a fresh clone): see SLOW_FILES.
    sequence: { sequencer: SlowFirstSequencer },
  },
});
