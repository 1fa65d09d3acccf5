/**
 * One command from queue to result: wait for an engine slot, resolve what to spawn, open
 * the log, run the process with output going to the log, the in-memory capture and the
 * event bus, then build the result and emit the closing event.
 */
import type { ExecutionConfig } from '../config.js';
import { ExecutionError, ValidationError } from '../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { lineRedactor, redactorFor, secretBytes } from '../policy/redaction.js';
import { backoffDelay, retryableMatch } from '../policy/retry.js';
import { resolveInvocation } from '../command/invocation.js';
import { processSpecOf } from '../runner/process-spec.js';
import { runProcess, type OutputChunk, type ProcessOutcome } from '../runner/process.js';
import type { Slots } from '../scheduler/slots.js';
import { LogFile } from '../sinks/log-file.js';
import { OutputCapture } from '../sinks/output-capture.js';
import type { Attempt, ExecutionEvent, ExecutionResult, ExecutionStatus } from '../wire/types.js';
import type { TrackedCommand, TrackedExecution } from './tracked.js';

export interface CommandContext {
  config: ExecutionConfig;
  slots: Slots;
  publish(state: TrackedExecution, event: ExecutionEvent): void;
  /** Whether line events would reach anyone now (a late subscriber reads them from the log). */
  wantsLines(state: TrackedCommand): boolean;
  /** Called once `state` has its result and its last event is out. */
  ended(state: TrackedExecution): void;
  /** A process (group leader) was spawned for `state`. */
  spawned?(state: TrackedCommand, pid: number): void;
  /** Run one command to its result: here (`runCommand`), or on a worker when the engine is queue-backed. */
  dispatch(state: TrackedCommand): Promise<ExecutionResult>;
}

/** An engine slot that can be handed back while waiting (retry backoff) and taken again. */
interface Lease {
  release(): void;
  /** Queue for a slot again; rejects if the execution is cancelled meanwhile. */
  reacquire(): Promise<void>;
}

/** Runs `state` to its end; never rejects. */
export async function runCommand(ctx: CommandContext, state: TrackedCommand): Promise<ExecutionResult> {
  let release: (() => void) | null = null;
  try {
    release = await ctx.slots.acquire(state.abort.signal);
  } catch {
    return finishUnstarted(ctx, state, 'cancelled', ExecutionError.cancelled().message);
  }
  const lease: Lease = {
    release() {
      release?.();
      release = null;
    },
    async reacquire() {
      release = await ctx.slots.acquire(state.abort.signal);
    },
  };
  try {
    return await runAcquired(ctx, state, lease);
  } catch (err) {
    // Unexpected engine fault: still end the execution with a result rather than leave it hanging.
    return finishUnstarted(ctx, state, 'failed', redactorFor(state.secrets)(`Internal error: ${(err as Error).message ?? String(err)}`));
  } finally {
    lease.release();
  }
}

async function runAcquired(ctx: CommandContext, state: TrackedCommand, lease: Lease): Promise<ExecutionResult> {
  const { config } = ctx;
  const request = state.request;
  if (state.abort.signal.aborted) return finishUnstarted(ctx, state, 'cancelled', ExecutionError.cancelled().message);

  state.status = 'running';
  state.startedAt = new Date();
  const timeoutMs = request.timeout_ms ?? config.default_timeout_ms;
  // Every message built from the command (a program that cannot start is named in its error:
  // "spawn <program> ENOENT") is redacted before it reaches the log, the events or the result.
  const redact = redactorFor(state.secrets);

  let log: LogFile;
  try {
    log = await LogFile.open(state.logPath, {
      kind: 'command',
      execution_id: state.id,
      ...(state.planId ? { plan_id: state.planId } : {}),
      engine_pid: String(process.pid),
      command: state.display,
      working_dir: redact(request.working_dir ?? process.cwd()),
      timeout_ms: String(timeoutMs),
      started_at: state.startedAt.toISOString(),
    });
  } catch (err) {
    return finishUnstarted(ctx, state, 'failed', (err as Error).message);
  }

  ctx.publish(state, { event_type: 'started', execution_id: state.id, command: state.display, timestamp: state.startedAt.toISOString() });

  let invocation;
  try {
    invocation = await resolveInvocation(request.command, { awsCliPath: config.aws_cli_path, executor: config.default_executor, awsEndpointUrl: config.aws_endpoint_url, workingDir: request.working_dir });
  } catch (err) {
    const message = redact(err instanceof ValidationError ? err.message : ExecutionError.spawnFailed((err as Error).message).message);
    log.note(message);
    return finishStarted(ctx, state, log, { status: 'failed', exitCode: -1, signal: null, error: message, stdout: '', stderr: '', truncated: [false, false], attempts: 1, previous: [] }, new Date());
  }

  const redactLines = lineRedactor(state.secrets);
  // A long line is cut into pieces, each redacted alone: no cut may fall inside a secret.
  const keepTogether = secretBytes(state.secrets);
  const streamLines = config.stream_output;
  const retry = request.retry ?? config.retry;
  const spec = processSpecOf(invocation, request);

  const previous: Attempt[] = [];
  for (let attempt = 1; ; attempt++) {
    const stdout = new OutputCapture(config.max_output_bytes);
    const stderr = new OutputCapture(config.max_output_bytes);
    const onOutput = (chunk: OutputChunk): Promise<void> | undefined => {
      (chunk.stream === 'stdout' ? stdout : stderr).append(chunk.data);
      const lines = redactLines ? redactLines(chunk.lines) : chunk.lines;
      if (streamLines && lines.count > 0 && ctx.wantsLines(state)) {
        for (const line of lines.texts()) {
          ctx.publish(state, { event_type: chunk.stream, execution_id: state.id, line, timestamp: chunk.timestamp });
        }
      }
      state.linesLogged += lines.count;
      return log.append(chunk.stream, lines, chunk.timestamp);
    };
    const outcome = await runProcess(spec, {
      timeoutMs,
      killGraceMs: config.kill_grace_ms,
      containment: config.process_containment,
      maxLineBytes: config.max_line_bytes,
      keepTogether,
      signal: state.abort.signal,
      onOutput,
      onSpawn: (pid) => {
        ctx.spawned?.(state, pid);
        log.note(redact(`spawned pid ${pid}: ${[invocation.file, ...invocation.args].join(' ')}`));
      },
    });
    const judged = judge(outcome, timeoutMs);
    if (judged.error) judged.error = redact(judged.error);
    if (outcome.reason === 'timeout' || outcome.reason === 'cancelled') log.note(`${judged.error}; process tree signalled`);
    const ending: Ending = {
      ...judged,
      stdout: redact(stdout.text(state.logPath, keepTogether)),
      stderr: redact(stderr.text(state.logPath, keepTogether)),
      truncated: [stdout.truncated, stderr.truncated],
      attempts: attempt,
      previous,
    };
    // Only a command that ran and failed is retried, and only for a retryable reason:
    // a timeout or a cancel is the user's limit, not a transient error.
    const reason = judged.status === 'failed' && outcome.reason === 'exited' && retry && attempt < retry.max_attempts
      ? await retryableMatch(retry, [ending.stderr, ending.stdout])
      : null;
    if (!reason || !retry) return finishStarted(ctx, state, log, ending, outcome.endedAt);

    const delayMs = backoffDelay(retry, attempt);
    previous.push({
      attempt,
      exit_code: judged.exitCode,
      error: judged.error,
      retry_reason: reason,
      started_at: outcome.startedAt.toISOString(),
      duration_ms: outcome.endedAt.getTime() - outcome.startedAt.getTime(),
      delay_ms: delayMs,
    });
    log.note(`attempt ${attempt} of ${retry.max_attempts} failed (${reason}); retrying in ${delayMs}ms`);
    ctx.publish(state, {
      event_type: 'retrying',
      execution_id: state.id,
      attempt,
      max_attempts: retry.max_attempts,
      delay_ms: delayMs,
      reason,
      timestamp: new Date().toISOString(),
    });
    // Waiting out a backoff is not work: the slot goes to whatever is queued meanwhile.
    lease.release();
    try {
      await sleep(delayMs, undefined, { signal: state.abort.signal });
      await lease.reacquire();
    } catch {
      // Cancelled while waiting to retry: the last attempt's output is what there is.
      return finishStarted(ctx, state, log, { ...ending, status: 'cancelled', error: ExecutionError.cancelled().message }, new Date());
    }
  }
}

interface Judgement {
  status: ExecutionStatus;
  exitCode: number;
  signal: string | null;
  error: string | null;
}

function judge(outcome: ProcessOutcome, timeoutMs: number): Judgement {
  const signal = outcome.signal ?? null;
  const exitCode = outcome.exitCode ?? -1;
  switch (outcome.reason) {
    case 'spawn_failed':
      return { status: 'failed', exitCode: -1, signal: null, error: ExecutionError.spawnFailed(outcome.spawnError?.message ?? 'unknown error').message };
    case 'timeout':
      return { status: 'timeout', exitCode, signal, error: ExecutionError.timeout(timeoutMs).message };
    case 'cancelled':
      return { status: 'cancelled', exitCode, signal, error: ExecutionError.cancelled().message };
    case 'exited':
      if (outcome.exitCode === 0) return { status: 'completed', exitCode: 0, signal: null, error: null };
      if (outcome.exitCode === null) return { status: 'failed', exitCode: -1, signal, error: `Command was killed by signal ${signal ?? 'unknown'}` };
      return { status: 'failed', exitCode, signal: null, error: ExecutionError.commandFailed(exitCode).message };
  }
}

interface Ending extends Judgement {
  stdout: string;
  stderr: string;
  truncated: [boolean, boolean];
  attempts: number;
  previous: Attempt[];
}

async function finishStarted(ctx: CommandContext, state: TrackedCommand, log: LogFile, ending: Ending, endedAt: Date): Promise<ExecutionResult> {
  const startedAt = state.startedAt!;
  const durationMs = Math.max(0, endedAt.getTime() - startedAt.getTime());
  await log.close({
    status: ending.status,
    exit_code: String(ending.exitCode),
    ...(ending.signal ? { signal: ending.signal } : {}),
    duration_ms: String(durationMs),
    completed_at: endedAt.toISOString(),
    ...(ending.error ? { error: ending.error } : {}),
  });
  let error = ending.error;
  if (log.error) error = `${error ? `${error}; ` : ''}${ExecutionError.io(`log file ${state.logPath} is incomplete: ${log.error.message}`).message}`;
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
    signal: ending.signal,
    stdout_truncated: ending.truncated[0],
    stderr_truncated: ending.truncated[1],
    attempts: ending.attempts,
    previous_attempts: ending.previous,
  };
  finishWithResult(ctx, state, result);
  return result;
}

/** End an execution that never spawned: cancelled while queued, skipped, or unable to start. */
export function finishUnstarted(ctx: Pick<CommandContext, 'publish' | 'ended'>, state: TrackedCommand, status: ExecutionStatus, error: string): ExecutionResult {
  const result = resultWithoutOutput({ id: state.id, status, error, startedAt: state.startedAt, logPath: state.logPath, attempts: 0 });
  finishWithResult(ctx, state, result);
  return result;
}

/** The result of a command that produced no output we hold: it never ran, or ran where we cannot see. */
export function resultWithoutOutput(spec: { id: string; status: ExecutionStatus; error: string; startedAt: Date | null; logPath: string; attempts: number }): ExecutionResult {
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
    error: spec.error,
    signal: null,
    stdout_truncated: false,
    stderr_truncated: false,
    attempts: spec.attempts,
    previous_attempts: [],
  };
}

/** Record `result` as the command's end and emit its closing event (a worker's result arrives this way too). */
export function finishWithResult(ctx: Pick<CommandContext, 'publish' | 'ended'>, state: TrackedCommand, result: ExecutionResult): void {
  const timestamp = result.completed_at ?? new Date().toISOString();
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
      event = { event_type: 'failed', execution_id: state.id, error: result.error ?? `Execution ${result.status}`, timestamp };
  }
  // Status and result first, so a handler reacting to the event sees them through the engine.
  state.finish(result.status, result);
  if (event) ctx.publish(state, event);
  ctx.ended(state);
}
