/**
 * One command from queue to result, run the same way whatever executes it: wait for an
 * engine slot, start (log, `started`), run attempts through the executor, retry what is
 * retryable, and finish (result, closing event). The pieces: command-start, command-attempt,
 * command-retry, command-finish.
 */
import { resultError } from '../errors.js';
import { redactorFor } from '../policy/redaction.js';
import type { Attempt, ExecutionResult, ExecutionStatus } from '../wire/types.js';
import { runAttempt } from './command-attempt.js';
import type { CommandContext } from './command-context.js';
import { type Ending, finishStarted, finishUnstarted } from './command-finish.js';
import { type Lease, retryAfter, waitToRetry } from './command-retry.js';
import { startCommand } from './command-start.js';
import type { TrackedCommand } from './tracked.js';

/** Runs `state` to its end; never rejects. */
export async function runCommand(ctx: CommandContext, state: TrackedCommand): Promise<ExecutionResult> {
  const lease = await leaseSlot(ctx, state);
  if (!lease || state.abort.signal.aborted) {
    lease?.release();
    return finishUnstarted(ctx, state, 'cancelled', resultError('cancelled'));
  }
  try {
    return await runStarted(ctx, state, lease);
  } catch (err) {
    // A fault of the engine's own: still end the execution with a result rather than leave it hanging.
    if (state.result) return state.result;
    const detail = redactorFor(state.secrets)((err as Error).message ?? String(err));
    return finishUnstarted(ctx, state, 'failed', resultError('internal', { detail }));
  } finally {
    lease.release();
  }
}

async function runStarted(ctx: CommandContext, state: TrackedCommand, lease: Lease): Promise<ExecutionResult> {
  const run = await startCommand(ctx, state);
  if (!run) return state.result!;
  const previous: Attempt[] = [];
  let last: Ending | null = null;
  for (let attempt = 1; ; attempt++) {
    const ended = await runAttempt(ctx, run, attempt, previous);
    if (last && ended.ending.attempts < attempt) {
      // A retry that never ran (cancelled in the queue, the queue unreachable): the result is the
      // last attempt that did, ending the way this one did.
      const { status, failure } = ended.ending;
      return finishStarted(ctx, state, run.log, lastAttempt(last, previous, status, failure), ended.endedAt);
    }
    const retried = await retryAfter(ctx, run, attempt, ended);
    if (!retried) return finishStarted(ctx, state, run.log, ended.ending, ended.endedAt);
    previous.push(retried);
    last = ended.ending;
    if (!(await waitToRetry(run, lease, retried.delay_ms))) {
      // Cancelled while waiting to retry: the last attempt's output is what there is.
      return finishStarted(
        ctx,
        state,
        run.log,
        lastAttempt(last, previous, 'cancelled', resultError('cancelled')),
        new Date(),
      );
    }
  }
}

/** The last attempt that ran as the result, with a new ending: its record leaves `previous`. */
function lastAttempt(last: Ending, previous: Attempt[], status: ExecutionStatus, failure: Ending['failure']): Ending {
  return { ...last, previous: previous.slice(0, -1), status, failure };
}

/** A slot of the engine's limit, or null if the execution was cancelled while waiting for one. */
async function leaseSlot(ctx: CommandContext, state: TrackedCommand): Promise<Lease | null> {
  let release: (() => void) | null;
  try {
    release = await ctx.slots.acquire(state.abort.signal);
  } catch {
    return null;
  }
  return {
    release() {
      release?.();
      release = null;
    },
    async reacquire() {
      release = await ctx.slots.acquire(state.abort.signal);
    },
  };
}
