/**
 * The public entry point. Input flows one way: schema (wire/parse) -> config-aware
 * validation -> policy (risk, approval) -> scheduler (slots, plan graph) -> one command
 * lifecycle (run-command) -> executor (local spawn, or a queue worker) -> sinks (events,
 * log, capture, history) -> result. This class tracks executions and wires those stages.
 */

import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { displayCommand } from '../command/display.js';
import { type ExecutionConfig, type ExecutionConfigInput, logPathOf, resolveConfig } from '../config.js';
import { ExecutionError, ValidationError } from '../errors.js';
import type { CommandExecutor } from '../executor/contract.js';
import { LocalExecutor } from '../executor/local.js';
import { type ExecutionRecord, type HistoryStore, MAX_LIST_LIMIT } from '../history/store.js';
import {
  type ApprovalDecisionInput,
  type ApprovalMetadata,
  type ApprovalRequest,
  ApprovalWorkflow,
  type Approver,
} from '../policy/approval.js';
import { redactData } from '../policy/redact-data.js';
import { redactorFor, secretsOf } from '../policy/redaction.js';
import { stopIdleRe2Workers } from '../policy/retry-matcher.js';
import { Slots } from '../scheduler/slots.js';
import { EventBus, type EventHandlerLike, isLineEvent, type SubscribeOptions } from '../sinks/event-bus.js';
import { validatePlan } from '../validation/plan.js';
import { validateRequest } from '../validation/request.js';
import type { RiskLevel } from '../vocabulary.js';
import { parsePlan, parseRequest, singleCommandPlan } from '../wire/parse.js';
import type {
  ExecutionEvent,
  ExecutionPlan,
  ExecutionPlanInput,
  ExecutionRequest,
  ExecutionRequestInput,
  ExecutionResult,
  ExecutionStatus,
  ExecutionSummary,
  PlanExecutionResult,
} from '../wire/types.js';
import type { PlanContext } from './command-context.js';
import { type DryRunResult, dryRunFacts, dryRunPlan } from './dry-run.js';
import { EventFeeds } from './event-feeds.js';
import { openHistory } from './history-open.js';
import type { HistoryWriter } from './history-writer.js';
import { linkSignal } from './link-signal.js';
import {
  carriedResults,
  leftoversUnreachable,
  notAPlan,
  type PastRun,
  pastRunOfRecords,
  pastRunOfTracked,
  type ResumeOptions,
  resumedAlready,
  resumePlanOf,
} from './resume.js';
import { runCommand } from './run-command.js';
import { runPlan } from './run-plan.js';
import { runRollback } from './run-rollback.js';
import { TrackedCommand, type TrackedExecution, TrackedPlan } from './tracked.js';

export interface SubmitOptions {
  /** Aborting it cancels the execution (or plan), like `cancel(id)`. */
  signal?: AbortSignal;
}

/** How to resume a plan run (`resumePlan`); `plan`, when given, as submitted (it is parsed here). */
export interface ResumeInput extends Omit<ResumeOptions, 'plan'> {
  plan?: ExecutionPlanInput | ExecutionPlan;
}

export interface ShutdownOptions {
  /** `cancel` (default) stops running work now; `drain` lets it finish. Either way, nothing new is accepted. */
  mode?: 'cancel' | 'drain';
  /** With `drain`: cancel whatever is still running after this long. */
  timeout_ms?: number;
}

export interface EngineOptions {
  /**
   * What runs each command attempt. Default: the local executor (spawns here). A queue-backed
   * engine gets the queue executor: `createEngine` picks it when the config names a Redis.
   */
  executor?: CommandExecutor;
}

/** How long, past the kill grace, a resume waits for a worker to stop a job a dead engine left. */
const LEFTOVER_WAIT_MS = 5_000;

/** The risk levels of a submission under the engine's policy, assessed once at admission. */
interface AdmittedRisk {
  plan: RiskLevel;
  commands: RiskLevel[];
}

export class ExecutionEngine {
  readonly config: Readonly<ExecutionConfig>;
  private readonly bus: EventBus;
  private readonly slots: Slots;
  private readonly tracked = new Map<string, TrackedExecution>();
  /** Steps of earlier runs whose leftovers (queued or running jobs of a dead engine) this engine ended: safe to run again. */
  private readonly endedLeftovers = new Set<string>();
  /** Ids of finished top-level executions, oldest first, for retention. */
  private readonly finishedOrder: string[] = [];
  private readonly feeds: EventFeeds;
  private readonly context: PlanContext;
  private shuttingDown = false;
  private approvalWorkflow: ApprovalWorkflow | undefined;
  private readonly historyWriter: HistoryWriter | null;
  private readonly executor: CommandExecutor;
  /** Identifies this engine's rows in a history store other engines may share. */
  readonly engineId = randomUUID();

  constructor(config: ExecutionConfigInput = {}, options: EngineOptions = {}) {
    this.config = Object.freeze(resolveConfig(config));
    if (this.config.redis && !options.executor) {
      throw ValidationError.of(
        'InvalidField',
        'redis',
        'a queue-backed engine needs the queue executor: create it with createEngine(config)',
      );
    }
    this.executor = options.executor ?? new LocalExecutor(this.config);
    this.bus = new EventBus({
      bufferLimit: this.config.event_buffer_limit,
      handlerTimeoutMs: this.config.handler_timeout_ms,
    });
    this.feeds = new EventFeeds(this.bus, {
      bufferLimit: this.config.event_buffer_limit,
      streamOutput: this.config.stream_output,
    });
    // A corrupt store found later is replaced by one in memory, filled with what this engine tracks.
    this.historyWriter = openHistory(
      this.config,
      this.engineId,
      () => [...this.tracked.values()],
      this.executor.place ?? 'local',
    );
    this.slots = new Slots(this.config.max_concurrent_executions);
    this.context = {
      config: this.config,
      slots: this.slots,
      executor: this.executor,
      publish: (state, event) => this.publish(state, event),
      // A late subscriber reads lines back from the log: publish them only to those listening now.
      wantsLines: () => this.bus.hasSubscribers,
      ended: (state) => this.ended(state),
      judge: (request) => (this.config.approval === null ? null : this.workflow.judgeRequest(request)),
      trackStep: (plan, request) => {
        const step = this.newCommand(request, plan.id, this.workflow.requestLevel(request));
        plan.commandIds.add(step.id);
        this.track(step);
        return step;
      },
    };
  }

  /**
   * The execution history: every execution of this and earlier
   * engines on the same store, searchable, surviving restarts. Null with `store_history: false`
   * or when the store could not be opened (a warning says why). A corrupt store (found at start
   * or later) is replaced by one in memory holding what this engine runs: `history.lost` says why.
   */
  get history(): HistoryStore | null {
    // Reads see every write made so far (the sink batches them per event-loop turn).
    this.historyWriter?.flush();
    return this.historyWriter?.store ?? null;
  }

  /** Full-text search over commands, descriptions, user prompts and output in the history; best matches first, at most `limit`. */
  async searchExecutions(query: string, limit = 50): Promise<ExecutionRecord[]> {
    return this.history?.search(query, { limit }) ?? [];
  }

  /** Add an event handler: it receives every event from now on; chainable. */
  withEventHandler(handler: EventHandlerLike, options?: SubscribeOptions): this {
    this.bus.subscribe(handler, options);
    return this;
  }

  /** Add an event handler; returns a function that removes it. */
  subscribe(handler: EventHandlerLike, options?: SubscribeOptions): () => void {
    return this.bus.subscribe(handler, options);
  }

  /**
   * Validate and start one command in the background; resolves with its id once accepted.
   * Under an approval policy, a command that needs approval is refused (`ApprovalRequired`):
   * run it as a plan through `executeWithApproval`.
   */
  async execute(request: ExecutionRequestInput | ExecutionRequest, options: SubmitOptions = {}): Promise<string> {
    this.assertAccepting();
    const parsed = parseRequest(request, this.config);
    await validateRequest(parsed, this.config);
    this.assertAccepting();
    this.assertNew(idsOf([parsed]));
    const risk = this.admit(singleCommandPlan(parsed));
    const state = this.newCommand(parsed, null, risk.plan);
    this.track(state);
    linkSignal(options.signal, state.abort, state.done);
    void runCommand(this.context, state);
    return state.id;
  }

  /**
   * Validate and start a plan in the background; resolves with the plan id once accepted.
   * Under an approval policy, a plan that needs approval is refused (`ApprovalRequired`).
   */
  async executePlan(plan: ExecutionPlanInput | ExecutionPlan, options: SubmitOptions = {}): Promise<string> {
    const parsed = await this.acceptPlan(plan);
    return this.startPlan(parsed, options, null, this.admit(parsed));
  }

  /**
   * Run a plan under a human decision. `reject` throws
   * `ApprovalRejected`; `modify_and_approve` runs the approver's plan, re-validated and
   * re-assessed. Who approved, when and why is kept with the plan (`getApproval`).
   */
  async executeWithApproval(
    plan: ExecutionPlanInput | ExecutionPlan,
    decision: ApprovalDecisionInput,
    approver: Approver,
    options: SubmitOptions = {},
  ): Promise<string> {
    const original = await this.acceptPlan(plan);
    const processed = this.workflow.processDecision(original, decision, approver);
    if (!processed.approved) {
      const reason = processed.metadata.decision.type === 'reject' ? processed.metadata.decision.reason : 'rejected';
      throw ExecutionError.create('ApprovalRejected', {
        reason: 'rejected',
        approvedBy: approver.approved_by,
        detail: reason,
      });
    }
    const approved = processed.plan === original ? original : await this.acceptPlan(processed.plan);
    return this.startPlan(approved, options, processed.metadata, this.riskOf(approved));
  }

  /**
   * Resume a finished plan run (failed, cancelled, interrupted by a dead engine, or completed
   * with `from` naming a step): a new run of the same plan under new ids, linked to it
   * (`resumed_from`), in which the steps that completed are carried over (results and outputs;
   * nothing of them runs again) and the others run. `from: STEP` runs that step and every step
   * after it by dependency again. Only the steps that will run count for the approval policy.
   * Resolves with the new run's id.
   */
  async resumePlan(planId: string, options: ResumeInput & SubmitOptions = {}): Promise<string> {
    return this.executePlan(await this.prepareResume(planId, options), options);
  }

  /**
   * The plan that would resume run `planId` (see `resumePlan`), without starting it: what to
   * submit for approval. Its `resumed_from` names the run and the steps carried over.
   */
  async prepareResume(planId: string, options: ResumeInput = {}): Promise<ExecutionPlan> {
    const by = this.resumesOf(planId)[0];
    if (by !== undefined) throw resumedAlready(planId, by);
    const given = options.plan === undefined ? undefined : parsePlan(options.plan, this.config);
    return resumePlanOf(this.pastRun(planId), { from: options.from, id: options.id, plan: given });
  }

  /** What an approver needs to decide: risk, commands and (by default) dry-run results. */
  async createApprovalRequest(plan: ExecutionPlanInput | ExecutionPlan): Promise<ApprovalRequest> {
    const parsed = parsePlan(plan, this.config);
    await validatePlan(parsed, this.config);
    const dryRun = this.workflow.config.dry_run_before_approval
      ? dryRunFacts(await dryRunPlan(parsed, this.config, this.workflow))
      : undefined;
    return this.workflow.createApprovalRequest(parsed, dryRun);
  }

  /** What the plan would do, without doing it (see `dryRunPlan`). Needs no approval: nothing is changed. */
  async dryRun(plan: ExecutionPlanInput | ExecutionPlan): Promise<DryRunResult> {
    const parsed = parsePlan(plan, this.config);
    await validatePlan(parsed, this.config);
    return dryRunPlan(parsed, this.config, this.workflow);
  }

  /** Who approved a plan, or null if it ran without an approval. */
  async getApproval(id: string): Promise<ApprovalMetadata | null> {
    const state = this.lookup(id);
    return state.kind === 'plan' ? state.approval : null;
  }

  /** The engine's approval policy, or a default one for assessing and approving by hand. */
  get workflow(): ApprovalWorkflow {
    return (this.approvalWorkflow ??= new ApprovalWorkflow(
      this.config.approval ?? {},
      { awsCliPath: this.config.aws_cli_path },
      { endpointUrl: this.config.aws_endpoint_url, profile: this.config.aws_profile, region: this.config.aws_region },
    ));
  }

  private async acceptPlan(plan: ExecutionPlanInput | ExecutionPlan): Promise<ExecutionPlan> {
    this.assertAccepting();
    const parsed = parsePlan(plan, this.config);
    await validatePlan(parsed, this.config);
    this.assertAccepting();
    this.assertNew(idsOf(parsed.commands, parsed.id));
    await this.endLeftoversOf(parsed);
    this.carriedOf(parsed); // a resume naming steps that did not complete there is refused before the policy
    return parsed;
  }

  /**
   * The steps a resume will run again that an engine that died may have left queued or running
   * where this engine's executor runs commands (its queue): ended first (a queued job taken
   * out, a running one stopped by its worker), so no step runs twice at once. What cannot be
   * ended is refused by `carriedOf`.
   */
  private async endLeftoversOf(plan: ExecutionPlan): Promise<void> {
    const executor = this.executor;
    if (!plan.resumed_from || !executor.endLeftovers) return;
    const past = this.pastRun(plan.resumed_from.plan_id);
    const carried = new Set(plan.resumed_from.carried);
    const place = executor.place ?? 'local';
    const ids = past.plan.commands.flatMap((c, i) => (!carried.has(i) && past.leftAt[i] === place ? [c.id] : []));
    if (ids.length === 0) return;
    let still: Set<string>;
    try {
      still = new Set(await executor.endLeftovers(ids, this.config.kill_grace_ms + LEFTOVER_WAIT_MS));
    } catch (err) {
      throw leftoversUnreachable(past.plan.id, place, err);
    }
    for (const id of ids) if (!still.has(id)) this.endedLeftovers.add(id);
  }

  /**
   * A finished plan run, from this engine or from the history. A step it carried over from an
   * earlier run counts as undone when that run's rollback has undone it since.
   */
  private pastRun(planId: string): PastRun {
    const past = this.readPastRun(planId);
    past.results.forEach((result, i) => {
      if (result?.carried_from && this.undoneSince(result.carried_from)) past.undoStarted[i] = true;
    });
    return past;
  }

  private readPastRun(planId: string): PastRun {
    const state = this.tracked.get(planId);
    if (state?.kind === 'plan') return pastRunOfTracked(state, (id) => this.tracked.get(id));
    if (state) throw notAPlan(planId);
    const record = this.history?.get(planId);
    if (!record) throw ExecutionError.notFound(planId);
    const steps = record.kind === 'plan' ? this.history!.list({ plan_id: planId, limit: MAX_LIST_LIMIT }) : [];
    return pastRunOfRecords(record, steps, this.endedLeftovers);
  }

  /** Whether a rollback has started undoing the step that ran as `executionId` (in its own run). */
  private undoneSince(executionId: string): boolean {
    const tracked = this.tracked.get(executionId);
    const planId = tracked?.kind === 'command' ? tracked.planId : (this.history?.get(executionId)?.plan_id ?? null);
    if (planId === null) return false;
    const owner = this.tracked.get(planId);
    const plan = owner?.kind === 'plan' ? owner.plan : this.history?.get(planId)?.plan;
    const step = plan?.commands.find((c) => c.id === executionId);
    return step?.rollback.some((r) => this.tracked.has(r.id) || this.history?.get(r.id) != null) ?? false;
  }

  /**
   * The results a resumed plan carries over (checked against the run it resumes); none for a
   * first run. A run is resumed once: a second resume would run its failed steps again beside
   * the first one's (resume the later run instead).
   */
  private carriedOf(plan: ExecutionPlan): Map<number, ExecutionResult> {
    if (!plan.resumed_from) return new Map();
    const from = plan.resumed_from.plan_id;
    const other = this.resumesOf(from).find((id) => id !== plan.id);
    if (other !== undefined) throw resumedAlready(from, other);
    return carriedResults(plan, this.pastRun(from));
  }

  /** Runs (tracked here, or in the history) that resume `planId`. */
  private resumesOf(planId: string): string[] {
    const tracked = [...this.tracked.values()].flatMap((s) =>
      s.kind === 'plan' && s.plan.resumed_from?.plan_id === planId ? [s.id] : [],
    );
    return [...new Set([...tracked, ...(this.history?.resumesOf(planId) ?? [])])];
  }

  /**
   * The policy stage: nothing reaches the scheduler without passing here or an approval. The
   * risk is assessed here once, and carried by the tracked executions from then on.
   */
  private admit(plan: ExecutionPlan): AdmittedRisk {
    const parts = this.workflow.assessParts(plan);
    const level = this.workflow.levelOf(parts.plan);
    if (this.config.approval !== null && this.workflow.requiresApprovalAt(level)) {
      // The reasons quote programs and arguments: the request's secrets stay out of the message.
      const reasons = redactData(parts.plan.reasons, this.config, [plan]);
      throw ExecutionError.approvalRequired(plan.commands.length > 1 ? 'plan' : 'command', plan.id, level, {
        ...parts.plan,
        reasons,
      });
    }
    return { plan: level, commands: parts.commands.map((command) => this.workflow.levelOf(command)) };
  }

  /** The risk of approved work (its approval was the policy stage). */
  private riskOf(plan: ExecutionPlan): AdmittedRisk {
    const parts = this.workflow.assessParts(plan);
    return {
      plan: this.workflow.levelOf(parts.plan),
      commands: parts.commands.map((command) => this.workflow.levelOf(command)),
    };
  }

  private startPlan(
    parsed: ExecutionPlan,
    options: SubmitOptions,
    approval: ApprovalMetadata | null,
    risk: AdmittedRisk,
  ): string {
    const carried = this.carriedOf(parsed);
    const from = parsed.resumed_from?.plan_id;
    if (from !== undefined && this.history && !this.history.claimResume(from, parsed.id)) {
      throw resumedAlready(from, this.history.resumesOf(from)[0] ?? 'another run');
    }
    // A carried step's log is the one written when it ran.
    const commands = parsed.commands.map((request, i) =>
      this.newCommand(request, parsed.id, risk.commands[i]!, carried.get(i)?.log_path),
    );
    const state = new TrackedPlan(parsed, this.defaultLogPath(parsed.id), risk.plan, commands, approval, carried);
    // The plan is listed (and recorded) before its commands, in submission order.
    this.track(state);
    for (const command of commands) this.track(command);
    // One listener for the whole plan (one per command would trip Node's listener-leak warning past 10).
    state.abort.signal.addEventListener(
      'abort',
      () => {
        for (const command of commands) command.abort.abort(state.abort.signal.reason);
      },
      { once: true },
    );
    linkSignal(options.signal, state.abort, state.done);
    void runPlan(this.context, state).catch((err: unknown) => {
      process.emitWarning(`cloudops-execution-engine: plan ${state.id} failed internally: ${String(err)}`);
    });
    return state.id;
  }

  /** Status of a tracked execution, or from the history for one this engine no longer (or never) tracked. */
  async getStatus(id: string): Promise<ExecutionStatus> {
    const state = this.tracked.get(id);
    if (state) return state.status;
    const record = this.history?.get(id);
    if (record) return record.status as ExecutionStatus;
    throw ExecutionError.notFound(id);
  }

  /** Result of a finished command; `NotCompleted` while it is still pending or running. */
  async getResult(id: string): Promise<ExecutionResult> {
    const state = this.lookup(id);
    if (state.kind === 'plan')
      throw ExecutionError.create('NotFound', { id, reason: 'is_plan', instead: 'getPlanResult' });
    if (!state.result) throw ExecutionError.create('NotCompleted', { id, status: state.status, kind: 'command' });
    return state.result;
  }

  async getPlanResult(id: string): Promise<PlanExecutionResult> {
    const state = this.lookup(id);
    if (state.kind !== 'plan')
      throw ExecutionError.create('NotFound', { id, reason: 'is_command', instead: 'getResult' });
    if (!state.result) throw ExecutionError.create('NotCompleted', { id, status: state.status, kind: 'plan' });
    return state.result;
  }

  /** The command's result once it finishes (no polling). */
  async wait(id: string): Promise<ExecutionResult> {
    const state = this.lookup(id);
    if (state.kind === 'plan') throw ExecutionError.create('NotFound', { id, reason: 'is_plan', instead: 'waitPlan' });
    return state.done;
  }

  /** The plan's result once every command has finished or been skipped/cancelled. */
  async waitPlan(id: string): Promise<PlanExecutionResult> {
    const state = this.lookup(id);
    if (state.kind !== 'plan') throw ExecutionError.create('NotFound', { id, reason: 'is_command', instead: 'wait' });
    return state.done;
  }

  /**
   * Roll back a finished plan: the rollback commands of its completed
   * steps run in reverse order. Resolves with the plan's updated result (`rolled_back`, or
   * `failed` with a RollbackFailed error). Runs at most once; later calls get the same result.
   */
  async rollback(id: string): Promise<PlanExecutionResult> {
    const state = this.lookup(id);
    if (state.kind !== 'plan') throw ExecutionError.create('NotFound', { id, reason: 'rollback_of_command' });
    if (!state.result)
      throw ExecutionError.create('NotCompleted', { id, status: state.status, kind: 'plan', before: 'rollback' });
    const finished = state.result;
    state.rollback ??= runRollback(this.context, state, finished).then((result) => {
      state.finish(result.status, result);
      return result;
    });
    return state.rollback;
  }

  /** Every tracked execution (plans and their commands included), in submission order. */
  async listExecutions(): Promise<ExecutionSummary[]> {
    return [...this.tracked.values()].map((s) => s.summary());
  }

  /**
   * Cancel a pending or running execution or plan. Running processes get SIGTERM, then
   * SIGKILL after `kill_grace_ms`, down to every descendant. Resolves once initiated;
   * `wait` / `waitPlan` tell when it is over.
   */
  async cancel(id: string): Promise<void> {
    const state = this.lookup(id);
    if (state.finished) throw ExecutionError.create('NotRunning', { id, status: state.status });
    state.abort.abort(ExecutionError.cancelled());
  }

  /**
   * The whole log of an execution; for a plan, its schedule log followed by each command's
   * log. Empty for a tracked execution that has not started; `NotFound` for an unknown id.
   */
  async readLogs(id: string): Promise<string> {
    const state = this.tracked.get(id);
    const paths =
      state?.kind === 'plan' ? [state.logPath, ...state.commands.map((c) => c.logPath)] : [this.getLogPath(id)];
    const parts: string[] = [];
    for (const path of paths) {
      try {
        parts.push(await readFile(path, 'utf8'));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !state) throw ExecutionError.notFound(id);
        if (code === 'ENOENT') continue; // tracked but not started (pending, or cancelled/skipped before it ran): no log yet
        throw ExecutionError.io(`cannot read log ${path}: ${(err as Error).message}`, err);
      }
    }
    return parts.join('\n');
  }

  /** Where an execution's log is (or will be) written. */
  getLogPath(id: string): string {
    return this.tracked.get(id)?.logPath ?? this.history?.get(id)?.log_path ?? this.defaultLogPath(id);
  }

  /**
   * Events of one execution or plan, or of everything from now on when `id` is omitted. A
   * late subscriber first gets what it missed: the lifecycle events, with every output line
   * read back from the log in its place, then the live events. Ends when that execution
   * finishes or the engine shuts down. An id this engine no longer tracks is replayed from
   * the history and its log.
   */
  events(id?: string): AsyncIterableIterator<ExecutionEvent> {
    if (id === undefined) return this.feeds.all(this.shuttingDown && this.idle());
    const state = this.tracked.get(id);
    if (state) return this.feeds.of(state, (commandId) => this.tracked.get(commandId));
    const record = this.history?.get(id);
    if (!record) throw ExecutionError.notFound(id);
    return this.feeds.fromHistory(
      record.kind === 'plan' ? this.history!.list({ plan_id: id, limit: 10_000 }) : [record],
    );
  }

  /** Stop accepting work, then cancel (default) or drain what is running; resolves when all of it has ended. */
  async shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.shuttingDown = true;
    const pending = () =>
      [...this.tracked.values()].filter((s) => !s.finished || (s.kind === 'plan' && s.rollback !== null));
    const cancelAll = () => {
      for (const s of pending()) s.abort.abort(ExecutionError.cancelled());
    };
    if ((options.mode ?? 'cancel') === 'cancel') cancelAll();
    let timer: NodeJS.Timeout | undefined;
    if (options.mode === 'drain' && options.timeout_ms !== undefined) timer = setTimeout(cancelAll, options.timeout_ms);
    await Promise.all(
      pending().map((s) => (s.kind === 'plan' && s.rollback ? Promise.all([s.done, s.rollback]) : s.done)),
    );
    clearTimeout(timer);
    await this.executor.close();
    this.feeds.end(null);
    // The RE2 workers are shared by every engine in the process: only idle ones are stopped.
    stopIdleRe2Workers();
  }

  /** Release the history store's file handles (after `shutdown`); queries on `history` fail afterwards. */
  close(): void {
    this.historyWriter?.close();
    this.historyWriter?.store.close();
  }

  private idle(): boolean {
    return [...this.tracked.values()].every((s) => s.finished);
  }

  private assertAccepting(): void {
    if (this.shuttingDown) throw ExecutionError.create('ShuttingDown', {});
  }

  /**
   * An id is used once, ever: one this engine tracks, or one the history holds from this or an
   * earlier engine (a restart forgets what it tracked), is refused. Reusing it would rewrite
   * that execution's history record, approval included.
   */
  private assertNew(ids: string[]): void {
    // Asked of the writer, which sees its pending rows: a flush here would write each
    // submission's row on its own instead of one batch per event-loop turn.
    const history = this.historyWriter;
    for (const id of ids) {
      if (this.tracked.has(id)) throw ExecutionError.create('DuplicateId', { id, reason: 'tracked' });
      if (history?.has(id)) throw ExecutionError.create('DuplicateId', { id, reason: 'history' });
    }
  }

  private lookup(id: string): TrackedExecution {
    const state = this.tracked.get(id);
    if (!state) throw ExecutionError.notFound(id);
    return state;
  }

  private defaultLogPath(id: string): string {
    return logPathOf(this.config, id);
  }

  private newCommand(
    request: ExecutionRequest,
    planId: string | null,
    risk: RiskLevel,
    logPath?: string,
  ): TrackedCommand {
    const secrets = secretsOf(request, this.config);
    const display = redactorFor(secrets)(
      displayCommand(request.command, {
        endpointUrl: this.config.aws_endpoint_url,
        profile: this.config.aws_profile,
        region: this.config.aws_region,
        requestEnv: request.env,
      }),
    );
    return new TrackedCommand(
      request,
      display,
      logPath ?? request.output_log_path ?? this.defaultLogPath(request.id),
      planId,
      risk,
      secrets,
    );
  }

  /** Track an execution; the history records it now and follows its changes from here. */
  private track(state: TrackedExecution): void {
    this.tracked.set(state.id, state);
    const writer = this.historyWriter;
    if (writer) state.listen((changed, change) => writer.record(changed, change));
  }

  private publish(state: TrackedExecution, event: ExecutionEvent): void {
    // Output lines are not remembered (a late subscriber reads them from the log): the hot path.
    if (isLineEvent(event)) {
      this.bus.publish(event);
      return;
    }
    const source = state.kind === 'command' ? state : null;
    state.remember(event, source);
    if (state.kind === 'command' && state.planId !== null) this.tracked.get(state.planId)?.remember(event, source);
    this.bus.publish(event);
  }

  private ended(state: TrackedExecution): void {
    this.feeds.end(state.id);
    if (state.kind === 'command' && state.planId !== null) return; // retained with its plan
    this.finishedOrder.push(state.id);
    while (this.finishedOrder.length > this.config.max_retained_executions) this.forget(this.finishedOrder.shift()!);
  }

  private forget(id: string): void {
    const state = this.tracked.get(id);
    this.tracked.delete(id);
    // Its commands and the rollback steps tracked for it.
    if (state?.kind === 'plan') for (const commandId of state.commandIds) this.tracked.delete(commandId);
  }
}

/** Every id a submission would track: plan, commands and their rollback steps. */
function idsOf(requests: readonly ExecutionRequest[], planId?: string): string[] {
  return [...(planId ? [planId] : []), ...requests.flatMap((r) => [r.id, ...r.rollback.map((b) => b.id)])];
}
