/**
 * Events of an execution this engine no longer tracks (an earlier run, another process),
 * rebuilt from its history record and its log: `started`, every output line, and the event
 * its final status stands for.
 */
import type { ExecutionRecord } from '../history/store.js';
import type { LineSource, ReplayEntry } from '../sinks/log-replay.js';
import type { ExecutionEvent, ExecutionResult } from '../wire/types.js';

export interface HistoryReplay {
  entries: ReplayEntry[];
  sources: Map<string, LineSource>;
}

/** Records of one command, or of a plan's commands, in the order they started. */
export function historyReplayOf(records: readonly ExecutionRecord[]): HistoryReplay {
  const ordered = [...records].sort((a, b) =>
    (a.started_at ?? a.submitted_at).localeCompare(b.started_at ?? b.submitted_at),
  );
  const entries: ReplayEntry[] = [];
  const sources = new Map<string, LineSource>();
  for (const record of ordered) {
    if (record.kind !== 'command' || record.started_at === null) continue;
    entries.push({
      event: {
        event_type: 'started',
        execution_id: record.id,
        command: record.command,
        name: record.name,
        timestamp: record.started_at,
      },
      linesBefore: 0,
    });
    sources.set(record.id, { path: record.log_path, count: Infinity, settled: () => true });
  }
  // Final events after all of each command's lines.
  for (const record of ordered) {
    if (!sources.has(record.id)) continue;
    const final = finalEventOf(record);
    if (final) entries.push({ event: final, linesBefore: Infinity });
  }
  return { entries, sources };
}

/**
 * A finished command's result as its history record tells it. Output was not kept apart per
 * stream in the history: `*_truncated` says the result's copy is not the whole of it (the log
 * file has every line).
 */
export function resultOfRecord(record: ExecutionRecord): ExecutionResult {
  return {
    id: record.id,
    status: record.status,
    exit_code: record.exit_code ?? 0,
    stdout: '',
    stderr: '',
    duration_ms: record.duration_ms ?? 0,
    started_at: record.started_at ?? record.submitted_at,
    completed_at: record.completed_at,
    log_path: record.log_path,
    error: record.error,
    error_code: record.error_code,
    signal: null,
    stdout_truncated: true,
    stderr_truncated: true,
    attempts: 1,
    previous_attempts: [],
    outputs: record.outputs ?? {},
    carried_from: record.carried_from ?? null,
  };
}

function finalEventOf(record: ExecutionRecord): ExecutionEvent | null {
  const timestamp = record.completed_at ?? record.started_at ?? record.submitted_at;
  const execution_id = record.id;
  switch (record.status) {
    case 'completed':
    case 'rolled_back':
      return {
        event_type: 'completed',
        execution_id,
        timestamp,
        // The replayed lines carry the output.
        result: resultOfRecord(record),
      };
    case 'cancelled':
      return { event_type: 'cancelled', execution_id, timestamp };
    case 'failed':
    case 'timeout':
    case 'interrupted':
      return {
        event_type: 'failed',
        execution_id,
        timestamp,
        error: record.error ?? record.status,
        error_code: record.error_code,
      };
    default:
      // pending/running elsewhere, or skipped: nothing final to say yet.
      return null;
  }
}
