/**
 * The end of a command: its result, its log's footer, its closing event. Every way a command
 * ends (ran, never started, skipped, cancelled in the queue) comes through here.
 */
import { type ResultError, resultError } from '../errors.js';
import type { LogFile } from '../sinks/log-file.js';
import type { Attempt, ExecutionEvent, ExecutionResult, ExecutionStatus } from '../wire/types.js';
import type { CommandContext } from './command-context.js';
import { extractOutputs } from './step-outputs.js';
import type { TrackedCommand } from './tracked.js';

/** How an attempt went, judged: status and facts (judge.ts). */
export interface Judgement {
  status: ExecutionStatus;
  exitCode: number;
  signal: string | null;
  /** Null for a success. */
  failure: ResultError | null;
}

/** The last attempt, judged, with its output: what the result is made of. */
export interface Ending extends Judgement {
  stdout: string;
  stderr: string;
  truncated: [boolean, boolean];
  attempts: number;
  previous: Attempt[];
}

/** End a command that ran (or tried to): footer, result, event. */
export async function finishStarted(
  ctx: CommandContext,
  state: TrackedCommand,
  log: LogFile,
  ending: Ending,
  endedAt: Date,
): Promise<ExecutionResult> {
  const startedAt = state.startedAt ?? endedAt;
  const durationMs = Math.max(0, endedAt.getTime() - startedAt.getTime());
  const failure = ending.failure;
  await log.close({
    status: ending.status,
    exit_code: String(ending.exitCode),
    ...(ending.signal ? { signal: ending.signal } : {}),
    duration_ms: String(durationMs),
    completed_at: endedAt.toISOString(),
    ...(failure ? { error: failure.error, error_code: failure.error_code } : {}),
  });
  let error = failure?.error ?? null;
  let errorCode = failure?.error_code ?? null;
  const outputs = await extractOutputs(state, ending.status === 'completed' ? ending.stdout : null);
  if (log.error) {
    // The command's own outcome stays; the result also says its log is not whole.
    const io = resultError('io', { detail: `log file ${state.logPath} is incomplete: ${log.error.message}` });
    error = error ? `${error}; ${io.error}` : io.error;
    errorCode ??= io.error_code;
  }
  const result: ExecutionResult = {
    id: state.id,
    status: ending.status,
    exit_code: ending.exitCode,
    stdout: ending.stdout,
    stderr: ending.stderr,
    duration_ms: durationMs,
    started_at: startedAt.toISOString(),
    completed_at: endedAt.toISOString(),
    log_path: state.logPath,
    error,
    error_code: errorCode,
    signal: ending.signal,
    stdout_truncated: ending.truncated[0],
    stderr_truncated: ending.truncated[1],
    attempts: ending.attempts,
    previous_attempts: ending.previous,
    outputs,
    carried_from: null,
  };
  finishWithResult(ctx, state, result);
  return result;
}

/** End a command that never spawned: cancelled while queued, skipped, or unable to start. */
export function finishUnstarted(
  ctx: Pick<CommandContext, 'publish' | 'ended'>,
  state: TrackedCommand,
  status: ExecutionStatus,
  failure: ResultError,
): ExecutionResult {
  const result = resultWithoutOutput({
    id: state.id,
    status,
    failure,
    startedAt: state.startedAt,
    logPath: state.logPath,
    attempts: 0,
  });
  finishWithResult(ctx, state, result);
  return result;
}

/**
 * End a step a resumed plan carries over: its result where it ran, under its new id (its
 * `carried_from` names that execution). Nothing runs; its `completed` event says so.
 */
export function finishCarried(
  ctx: Pick<CommandContext, 'publish' | 'ended'>,
  state: TrackedCommand,
  earlier: ExecutionResult,
): ExecutionResult {
  state.startedAt = new Date(earlier.started_at);
  const result: ExecutionResult = { ...earlier, id: state.id };
  // The event is of now (the resumed run's), the result says when it ran.
  finishWithResult(ctx, state, result, new Date().toISOString());
  return result;
}

/** The result of a command that produced no output we hold. */
function resultWithoutOutput(spec: {
  id: string;
  status: ExecutionStatus;
  failure: ResultError;
  startedAt: Date | null;
  logPath: string;
  attempts: number;
}): ExecutionResult {
  const now = new Date();
  const started = spec.startedAt ?? now;
  return {
    id: spec.id,
    status: spec.status,
    exit_code: -1,
    stdout: '',
    stderr: '',
    duration_ms: Math.max(0, now.getTime() - started.getTime()),
    started_at: started.toISOString(),
    completed_at: now.toISOString(),
    log_path: spec.logPath,
    error: spec.failure.error,
    error_code: spec.failure.error_code,
    signal: null,
    stdout_truncated: false,
    stderr_truncated: false,
    attempts: spec.attempts,
    previous_attempts: [],
    outputs: {},
    carried_from: null,
  };
}

/** Record `result` as the command's end and emit its closing event (at `timestamp`: default, when it completed). */
function finishWithResult(
  ctx: Pick<CommandContext, 'publish' | 'ended'>,
  state: TrackedCommand,
  result: ExecutionResult,
  timestamp = result.completed_at ?? new Date().toISOString(),
): void {
  let event: ExecutionEvent | null;
  switch (result.status) {
    case 'completed':
      event = { event_type: 'completed', execution_id: state.id, result, timestamp };
      break;
    case 'cancelled':
      event = { event_type: 'cancelled', execution_id: state.id, timestamp };
      break;
    case 'skipped':
      event = null; // never started: reported in the plan's results and progress, not as a lifecycle event
      break;
    default:
      event = {
        event_type: 'failed',
        execution_id: state.id,
        error: result.error ?? `Execution ${result.status}`,
        error_code: result.error_code,
        timestamp,
      };
  }
  // Status and result first, so a handler reacting to the event sees them through the engine.
  state.finish(result.status, result);
  if (event) ctx.publish(state, event);
  ctx.ended(state);
}
