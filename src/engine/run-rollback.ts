/**
 * Rollback of a plan: the rollback commands of its completed steps, last completed step
 * first, each step's own list in order, one at a time. The first rollback command that does
 * not complete stops the rollback (undoing further on top of an unexpected state could do
 * more harm) and the plan ends `failed` with a RollbackFailed error; otherwise it ends
 * `rolled_back`, and so does every step that was undone.
 */
import { type ResultError, resultError } from '../errors.js';
import type { ExecutionResult, PlanExecutionResult } from '../wire/types.js';
import type { PlanContext } from './command-context.js';
import { statsOf } from './plan-stats.js';
import { runCommand } from './run-command.js';
import { bindStep } from './step-outputs.js';
import type { TrackedPlan } from './tracked.js';

export async function runRollback(
  ctx: PlanContext,
  state: TrackedPlan,
  before: PlanExecutionResult,
): Promise<PlanExecutionResult> {
  const { plan } = state;
  ctx.publish(state, { event_type: 'rollback_started', execution_id: plan.id, timestamp: new Date().toISOString() });
  const ran: ExecutionResult[] = [];
  const undone = new Set<number>();
  let failure: ResultError | null = null;

  steps: for (const index of [...state.completedOrder].reverse()) {
    const steps = plan.commands[index]!.rollback;
    if (steps.length === 0) continue; // nothing declared to undo this one
    for (const step of steps) {
      const tracked = ctx.trackStep(state, { ...step, rollback: [] });
      // Its references resolve as the step it undoes would (that step's outputs included).
      bindStep(tracked, state, index);
      const result = await runCommand(ctx, tracked);
      ran.push(result);
      if (result.status !== 'completed') {
        failure = resultError('rollback_failed', {
          detail: `undoing command ${index} (${plan.commands[index]!.id}), ${result.error ?? result.status}`,
        });
        break steps;
      }
    }
    undone.add(index);
    state.commands[index]!.rolledBack();
  }

  const results = before.results.map((r, i) => (undone.has(i) ? { ...r, status: 'rolled_back' as const } : r));
  const status = failure ? 'failed' : 'rolled_back';
  ctx.publish(state, {
    event_type: 'rollback_completed',
    execution_id: plan.id,
    results: ran,
    status,
    timestamp: new Date().toISOString(),
  });
  return {
    ...before,
    status,
    results,
    stats: statsOf(results),
    rollback_results: ran,
    error: failure?.error ?? before.error,
    error_code: failure?.error_code ?? before.error_code,
  };
}
