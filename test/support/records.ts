/** History records built by hand, for tests of the store and of what reads it: record `n`, overridden by `over`. */
import type { ExecutionRecord } from '../../src/history/store.js';

export function commandRecord(n: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    kind: 'command',
    plan_id: null,
    name: null,
    conversation_id: null,
    user_prompt: null,
    source: 'test',
    status: 'completed',
    risk_level: 'read_only',
    command: `echo ${n}`,
    description: null,
    request: null,
    plan: null,
    approval: null,
    exit_code: 0,
    error: null,
    error_code: null,
    // One second apart, in order of `n`.
    submitted_at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    started_at: null,
    completed_at: null,
    duration_ms: 1,
    // No such file: a cleanup of the record has no log to remove.
    log_path: `/nonexistent/${n}.log`,
    tags: {},
    output: null,
    engine_pid: null,
    engine_id: null,
    process_group: null,
    process_start: null,
    outputs: null,
    carried_from: null,
    place: null,
    ...over,
  };
}
