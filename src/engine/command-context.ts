/** What one command's (and one plan's) lifecycle needs from the engine that runs it. */
import type { ExecutionConfig } from '../config.js';
import type { CommandExecutor } from '../executor/contract.js';
import type { Slots } from '../scheduler/slots.js';
import type { RiskLevel } from '../vocabulary.js';
import type { ExecutionEvent, ExecutionRequest } from '../wire/types.js';
import type { TrackedCommand, TrackedExecution, TrackedPlan } from './tracked.js';

export interface CommandContext {
  readonly config: ExecutionConfig;
  readonly slots: Slots;
  /** Runs each attempt: here (the local executor) or on a queue worker. */
  readonly executor: CommandExecutor;
  publish(state: TrackedExecution, event: ExecutionEvent): void;
  /** Whether line events would reach anyone now (a late subscriber reads them from the log). */
  wantsLines(state: TrackedCommand): boolean;
  /** Called once `state` has its result and its last event is out. */
  ended(state: TrackedExecution): void;
  /**
   * How the approval policy rates `request` (with its reasons), or null when the engine has no
   * approval policy: a step resolved from outputs is judged again before it starts.
   */
  judge(request: ExecutionRequest): { level: RiskLevel; reasons: readonly string[] } | null;
}

export interface PlanContext extends CommandContext {
  /** Track a rollback step as an execution of the plan (events, logs, status like any command). */
  trackStep(plan: TrackedPlan, request: ExecutionRequest): TrackedCommand;
}
