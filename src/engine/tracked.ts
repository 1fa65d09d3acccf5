/**
 * What the engine remembers about each execution while it is tracked: status, timings,
 * the result once there is one, a cancel switch, a completion promise, and its lifecycle
 * events, each with how many output lines preceded it: a late `events(id)` subscriber gets
 * those events back in place between the lines read from the log file (sinks/log-replay).
 */
import type { ApprovalMetadata } from '../policy/approval.js';
import { isLineEvent } from '../sinks/event-bus.js';
import type { ReplayEntry } from '../sinks/log-replay.js';
import type { RiskLevel } from '../vocabulary.js';
import type {
  ExecutionEvent,
  ExecutionPlan,
  ExecutionRequest,
  ExecutionResult,
  ExecutionStatus,
  ExecutionSummary,
  PlanExecutionResult,
} from '../wire/types.js';

/** A change worth recording: the history writer follows these, and nothing else. */
export type TrackedChange = 'submitted' | 'running' | 'spawned' | 'finished';
export type ChangeListener = (state: TrackedExecution, change: TrackedChange) => void;

abstract class Tracked<R> {
  status: ExecutionStatus = 'pending';
  readonly submittedAt = new Date();
  startedAt: Date | null = null;
  result: R | null = null;
  readonly abort = new AbortController();
  readonly done: Promise<R>;
  private resolveDone!: (result: R) => void;
  /** Lifecycle events emitted so far (output lines are replayed from the log, not kept here). */
  readonly replay: ReplayEntry[] = [];

  /** Told of every change of status (and of a command's process): one place, not a call at every site. */
  private listener: ChangeListener | null = null;

  constructor(
    readonly id: string,
    readonly logPath: string,
    /** The level the engine's policy gave this work when it was admitted; assessed once, read everywhere. */
    readonly risk: RiskLevel,
  ) {
    this.done = new Promise<R>((resolve) => (this.resolveDone = resolve));
  }

  /** Start following changes; the listener hears `submitted` at once. */
  listen(listener: ChangeListener): void {
    this.listener = listener;
    this.changed('submitted');
  }

  /** It started running now. */
  start(at = new Date()): void {
    this.status = 'running';
    this.startedAt = at;
    this.changed('running');
  }

  get finished(): boolean {
    return this.result !== null;
  }

  /** Keep a lifecycle event of this execution (or, for a plan, of one of its commands). */
  remember(event: ExecutionEvent, source: { linesLogged: number } | null): void {
    if (isLineEvent(event)) return;
    this.replay.push({ event, linesBefore: source?.linesLogged ?? 0 });
  }

  /** Its result is known (the first call also resolves `done`; later ones, a rollback, replace the result). */
  finish(status: ExecutionStatus, result: R): void {
    this.status = status;
    this.result = result;
    this.resolveDone(result);
    this.changed('finished');
  }

  protected changed(change: TrackedChange): void {
    this.listener?.(this as unknown as TrackedExecution, change);
  }

  abstract summary(): ExecutionSummary;
}

export class TrackedCommand extends Tracked<ExecutionResult> {
  readonly kind = 'command' as const;
  /** Output lines written to the log so far, over all attempts: where a replay stops reading it. */
  linesLogged = 0;
  /** The process group it runs in now (its leader's pid); null before it spawns and once it has ended. */
  processGroup: number | null = null;

  constructor(
    /** What runs: as submitted, until `resolved` replaces it just before it starts. */
    public request: ExecutionRequest,
    /** Display form of the command, secrets already redacted. */
    public display: string,
    logPath: string,
    readonly planId: string | null,
    risk: RiskLevel,
    /** Values to redact from everything this execution emits (empty when redaction is off). */
    public secrets: readonly string[] = [],
  ) {
    super(request.id, logPath, risk);
  }

  /**
   * Just before it starts, its references (`${{ ... }}`) were substituted: the resolved
   * request is what runs, is logged and shown (the risk stays the one assessed on the plan).
   */
  resolved(request: ExecutionRequest, display: string, secrets: readonly string[]): void {
    this.request = request;
    this.display = display;
    this.secrets = secrets;
  }

  /** Its result is known: nothing of it runs any more. */
  override finish(status: ExecutionStatus, result: ExecutionResult): void {
    this.processGroup = null;
    super.finish(status, result);
  }

  /** An attempt's process started, leading process group `pid`. */
  spawned(pid: number): void {
    this.processGroup = pid;
    this.changed('spawned');
  }

  /** Its plan's rollback undid it. */
  rolledBack(): void {
    if (this.result) this.finish('rolled_back', { ...this.result, status: 'rolled_back' });
    else this.status = 'rolled_back';
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
    risk: RiskLevel,
    commands: TrackedCommand[],
    /** Who approved this plan, when the engine's policy required it. */
    readonly approval: ApprovalMetadata | null,
    /** A resumed plan's steps carried over from the run it resumes: their results there, by index. */
    readonly carried: ReadonlyMap<number, ExecutionResult> = new Map(),
  ) {
    super(plan.id, logPath, risk);
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
