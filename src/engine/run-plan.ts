/**
 * One plan from start to `PlanExecutionResult`: its strategy becomes a graph shape, the
 * graph runner decides what starts when, and each node is an ordinary command execution
 * (same slots, logs and events as a single `execute`). Progress is emitted as each command
 * starts and finishes.
 */

import { type ResultError, resultError } from '../errors.js';
import { redactData } from '../policy/redact-data.js';
import { shapeOf } from '../scheduler/dag.js';
import { runGraph } from '../scheduler/graph-runner.js';
import { LogFile } from '../sinks/log-file.js';
import type { ExecutionResult, ExecutionStatus, ExecutionStrategy, PlanExecutionResult } from '../wire/types.js';
import type { PlanContext } from './command-context.js';
import { finishCarried, finishUnstarted } from './command-finish.js';
import { statsOf } from './plan-stats.js';
import { runCommand } from './run-command.js';
import { runRollback } from './run-rollback.js';
import { bindStep } from './step-outputs.js';
import type { TrackedPlan } from './tracked.js';

/** The first step that did not complete, as the plan's failure. */
function firstFailure(results: readonly ExecutionResult[]): ResultError | null {
  const failed = results.findIndex((r) => r.status !== 'completed');
  if (failed === -1) return null;
  return resultError('step_failed', {
    detail: `command ${failed} ${results[failed]!.status}: ${results[failed]!.error ?? ''}`.trim(),
  });
}

/** Why the error budget is spent: how many steps failed, against which `max_failures`. */
function budgetDetail(strategy: ExecutionStrategy, failures: number): string {
  const limit = strategy.type === 'serial' ? null : strategy.max_failures;
  return `${plural(failures, 'step')} failed (max_failures ${JSON.stringify(limit)})`;
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export async function runPlan(ctx: PlanContext, state: TrackedPlan): Promise<PlanExecutionResult> {
  const { plan } = state;
  const total = plan.commands.length;
  state.start();
  // Each step's references resolve against this plan: its parameters and its steps' outputs.
  state.commands.forEach((command, index) => bindStep(command, state, index));
  let finishedCount = 0;

  // The plan log is a narrative of the schedule; each command's output is in its own log.
  const log = await LogFile.open(state.logPath, {
    kind: 'plan',
    execution_id: plan.id,
    engine_pid: String(process.pid),
    // A description may quote a command (a request approved as a plan of one): hide its secrets.
    command: redactData(plan.description, ctx.config, [plan]) || `plan of ${total} commands`,
    strategy: JSON.stringify(plan.strategy),
    commands: String(total),
    started_at: state.startedAt!.toISOString(),
  }).catch(() => null);

  const progress = (current: string | null) =>
    ctx.publish(state, {
      event_type: 'progress',
      plan_id: plan.id,
      completed: finishedCount,
      total,
      current_command: current,
      timestamp: new Date().toISOString(),
    });

  const settled = (index: number, status: ExecutionStatus) => {
    finishedCount++;
    log?.note(`command ${index} (${state.commands[index]!.id}) ${status}`);
  };

  let overBudget = 0;
  const outcome = await runGraph(
    shapeOf(plan.strategy, plan),
    {
      run: async (index) => {
        const command = state.commands[index]!;
        const carried = state.carried.get(index);
        if (carried) {
          // Completed in the run this one resumes: its result and outputs stand, nothing runs.
          log?.note(`command ${index} (${command.id}) carried over from ${carried.carried_from}: not run again`);
          // Not in `completedOrder`: what it did belongs to the run it ran in, and is undone by that run's rollback.
          finishCarried(ctx, command, carried);
          settled(index, 'completed');
          progress(command.display);
          return 'completed';
        }
        log?.note(`command ${index} (${command.id}) starting: ${command.display}`);
        progress(command.display);
        const result = await runCommand(ctx, command);
        if (result.status === 'completed') state.completedOrder.push(index);
        settled(index, result.status);
        progress(command.display);
        return result.status;
      },
      skip: (index, cause, causeStatus) => {
        const detail =
          plan.strategy.type === 'serial'
            ? `step ${cause} did not complete (${causeStatus}) and stop_on_error is set`
            : `dependency ${plan.commands[cause]!.name ?? cause} (${state.commands[cause]!.display}) did not complete (${causeStatus})`;
        finishUnstarted(ctx, state.commands[index]!, 'skipped', resultError('skipped', { detail }));
        settled(index, 'skipped');
      },
      cancel: (index) => {
        finishUnstarted(
          ctx,
          state.commands[index]!,
          'cancelled',
          resultError('cancelled', { detail: 'before it started (plan cancelled)' }),
        );
        settled(index, 'cancelled');
      },
      overBudget: (index, failures) => {
        if (overBudget++ === 0) log?.note(`error budget spent: ${budgetDetail(plan.strategy, failures)}`);
        const detail = `${budgetDetail(plan.strategy, failures)}; not started`;
        finishUnstarted(ctx, state.commands[index]!, 'skipped', resultError('error_budget', { detail }));
        settled(index, 'skipped');
      },
    },
    state.abort.signal,
  );

  const results = state.commands.map((c) => c.result!);
  const stats = statsOf(results);
  const status: ExecutionStatus = state.abort.signal.aborted
    ? 'cancelled'
    : stats.completed === total
      ? 'completed'
      : 'failed';
  const completedAt = new Date();
  const failure =
    status === 'failed'
      ? outcome.budgetSpentAt !== null && overBudget > 0
        ? resultError('error_budget', {
            detail: `${budgetDetail(plan.strategy, outcome.budgetSpentAt)}; ${plural(overBudget, 'step')} not started`,
          })
        : firstFailure(results)
      : status === 'cancelled'
        ? resultError('cancelled')
        : null;
  let result: PlanExecutionResult = {
    plan_id: plan.id,
    status,
    results,
    total_duration_ms: completedAt.getTime() - state.startedAt!.getTime(),
    stats,
    started_at: state.startedAt!.toISOString(),
    completed_at: completedAt.toISOString(),
    rollback_results: [],
    error: failure?.error ?? null,
    error_code: failure?.error_code ?? null,
    resumed_from: plan.resumed_from?.plan_id ?? null,
  };
  if (status === 'failed' && plan.rollback_strategy === 'on_failure' && state.completedOrder.length > 0) {
    log?.note('plan failed; rolling back completed steps (rollback_strategy on_failure)');
    state.rollback = runRollback(ctx, state, result);
    result = await state.rollback;
    log?.note(`rollback ${result.status === 'rolled_back' ? 'completed' : `failed: ${result.error}`}`);
  }
  await log?.close({
    status: result.status,
    ...Object.fromEntries(Object.entries(result.stats).map(([k, v]) => [k, String(v)])),
    completed_at: result.completed_at!,
  });
  state.finish(result.status, result);
  progress(null);
  ctx.ended(state);
  return result;
}
