/**
 * What the engine remembers about each execution while it is tracked: status, timings,
 * the result once there is one, a cancel switch, a completion promise, and a bounded
 * buffer of recent events so a late `events(id)` subscriber misses nothing.
 */
import type { ApprovalMetadata } from '../policy/approval.js';
import { isLineEvent } from '../sinks/event-bus.js';
import type {
  ExecutionEvent,
  ExecutionPlan,
  ExecutionRequest,
  ExecutionResult,
  ExecutionStatus,
  ExecutionSummary,
  PlanExecutionResult,
} from '../wire/types.js';

abstract class Tracked<R> {
  status: ExecutionStatus = 'pending';
  readonly submittedAt = new Date();
  startedAt: Date | null = null;
  result: R | null = null;
  readonly abort = new AbortController();
  readonly done: Promise<R>;
  private resolveDone!: (result: R) => void;
  /** Events emitted so far; line events beyond the limit are not kept, and all of them go once finished. */
  replay: ExecutionEvent[] = [];
  private replayLines = 0;

  constructor(
    readonly id: string,
    readonly logPath: string,
  ) {
    this.done = new Promise<R>((resolve) => (this.resolveDone = resolve));
  }

  get finished(): boolean {
    return this.result !== null;
  }

  remember(event: ExecutionEvent, lineLimit: number): void {
    if (isLineEvent(event)) {
      if (this.replayLines >= lineLimit) return;
      this.replayLines++;
    }
    this.replay.push(event);
  }

  /** Whether a line event would still be kept for replay. */
  hasReplayRoom(lineLimit: number): boolean {
    return this.replayLines < lineLimit;
  }

  finish(status: ExecutionStatus, result: R): void {
    this.status = status;
    this.result = result;
    // A finished execution's output lives in its result and log; keep only lifecycle events.
    this.replay = this.replay.filter((e) => !isLineEvent(e));
    this.replayLines = 0;
    this.resolveDone(result);
  }

  abstract summary(): ExecutionSummary;
}

export class TrackedCommand extends Tracked<ExecutionResult> {
  readonly kind = 'command' as const;

  constructor(
    readonly request: ExecutionRequest,
    /** Display form of the command, secrets already redacted. */
    readonly display: string,
    logPath: string,
    readonly planId: string | null,
    /** Values to redact from everything this execution emits (empty when redaction is off). */
    readonly secrets: readonly string[] = [],
  ) {
    super(request.id, logPath);
  }

  summary(): ExecutionSummary {
    return {
      id: this.id,
      kind: 'command',
      status: this.status,
      command: this.display,
      plan_id: this.planId,
      submitted_at: this.submittedAt.toISOString(),
      started_at: this.startedAt?.toISOString() ?? null,
      duration_ms: this.result ? this.result.duration_ms : elapsed(this.startedAt),
    };
  }
}

export class TrackedPlan extends Tracked<PlanExecutionResult> {
  readonly kind = 'plan' as const;
  readonly commands: TrackedCommand[];
  readonly commandIds: Set<string>;
  /** Indices of commands in the order they completed (what a rollback undoes, last first). */
  readonly completedOrder: number[] = [];
  /** Set once a rollback has started, so it runs at most once. */
  rollback: Promise<PlanExecutionResult> | null = null;

  constructor(
    readonly plan: ExecutionPlan,
    logPath: string,
    commands: TrackedCommand[],
    /** Who approved this plan, when the engine's policy required it. */
    readonly approval: ApprovalMetadata | null,
  ) {
    super(plan.id, logPath);
    this.commands = commands;
    this.commandIds = new Set(commands.map((c) => c.id));
  }

  summary(): ExecutionSummary {
    return {
      id: this.id,
      kind: 'plan',
      status: this.status,
      command: this.plan.description || `plan of ${this.plan.commands.length} commands`,
      plan_id: null,
      submitted_at: this.submittedAt.toISOString(),
      started_at: this.startedAt?.toISOString() ?? null,
      duration_ms: this.result ? this.result.total_duration_ms : elapsed(this.startedAt),
    };
  }
}

export type TrackedExecution = TrackedCommand | TrackedPlan;

function elapsed(since: Date | null): number | null {
  return since ? Date.now() - since.getTime() : null;
}
