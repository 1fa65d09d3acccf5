/**
 * Whether a failed attempt is tried again, and the wait before it. Only a command that ran
 * and failed is retried, and only for a retryable reason (a listed exit code, or a retryable
 * pattern in its output): a timeout or a cancel is the user's limit, not a transient error. The slot is handed back while waiting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, retryReason } from '../policy/retry.js';
import type { Attempt } from '../wire/types.js';
import type { AttemptEnding } from './command-attempt.js';
import type { CommandContext } from './command-context.js';
import type { CommandRun } from './command-start.js';

/** An engine slot that can be handed back while waiting (retry backoff) and taken again. */
export interface Lease {
  release(): void;
  /** Queue for a slot again; rejects if the execution is cancelled meanwhile. */
  reacquire(): Promise<void>;
}

/** The record of a failed attempt that will be retried, and the wait before the next; null: no retry. */
export async function retryAfter(
  ctx: CommandContext,
  run: CommandRun,
  attempt: number,
  ended: AttemptEnding,
): Promise<Attempt | null> {
  const retry = run.state.request.retry ?? ctx.config.retry;
  const { ending } = ended;
  if (!retry || ending.status !== 'failed' || !ended.exited || attempt >= retry.max_attempts) return null;
  const reason = await retryReason(retry, ending.exitCode, [ending.stderr, ending.stdout]);
  if (!reason) return null;
  const delayMs = backoffDelay(retry, attempt);
  run.log.note(`attempt ${attempt} of ${retry.max_attempts} failed (${reason}); retrying in ${delayMs}ms`);
  ctx.publish(run.state, {
    event_type: 'retrying',
    execution_id: run.state.id,
    attempt,
    max_attempts: retry.max_attempts,
    delay_ms: delayMs,
    reason,
    timestamp: new Date().toISOString(),
  });
  return {
    attempt,
    exit_code: ending.exitCode,
    error: ending.failure?.error ?? null,
    retry_reason: reason,
    started_at: ended.startedAt.toISOString(),
    duration_ms: ended.endedAt.getTime() - ended.startedAt.getTime(),
    delay_ms: delayMs,
  };
}

/** Wait out the backoff with the slot given back, then take a slot again; false if cancelled meanwhile. */
export async function waitToRetry(run: CommandRun, lease: Lease, delayMs: number): Promise<boolean> {
  lease.release();
  try {
    await sleep(delayMs, undefined, { signal: run.state.abort.signal });
    await lease.reacquire();
    return true;
  } catch {
    return false;
  }
}
