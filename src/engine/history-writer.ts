/**
 * The engine's history writer. It follows each tracked execution's changes (submitted,
 * running, spawned, finished: `Tracked.listen`), the one place history writes come from, so
 * a crash loses nothing that had started: the next engine finds those rows unfinished and
 * marks them interrupted. Writes made in one turn of the event loop go to SQLite together,
 * in one transaction, at the end of that turn (per-write transactions cost more than the
 * spawn they record); reads through `flush` first, and so does process exit. A storage
 * failure is reported as a warning and never fails or stalls an execution.
 */

import type { ExecutionRecord, HistoryStore } from '../history/store.js';
import { hidesValue, redactData } from '../policy/redact-data.js';
import { processStartTime } from '../runner/kill-tree.js';
import type { ExecutionPlan } from '../wire/types.js';
import type { TrackedChange, TrackedCommand, TrackedExecution, TrackedPlan } from './tracked.js';

type Patch = Partial<Omit<ExecutionRecord, 'id'>>;

/** Sinks with writes that must reach the store if the process exits (one exit hook for all). */
const openSinks = new Set<HistoryWriter>();
let exitHooked = false;

/** What is waiting to be written for one execution: a whole record, and/or changes to it. */
interface PendingWrite {
  record: ExecutionRecord | null;
  patch: Patch | null;
}

export interface HistoryWriterOptions {
  /** Hide secret env values in the stored request, plan and approval, as in output. */
  redact_secrets: boolean;
  /** Where this engine's commands run (its executor's `place`). */
  place: string;
}

/** A plan's conversation and prompt, as recorded (redacted): what its commands that have none inherit. */
interface PlanOrigin {
  conversation_id: string | null;
  user_prompt: string | null;
}

/** Plans whose origin is remembered; older ones are read back from the store when a command needs them. */
const MAX_REMEMBERED_PLANS = 1_024;

export class HistoryWriter {
  private warned = false;
  private pending = new Map<string, PendingWrite>();
  private scheduled = false;
  /** The origin of recent plans, by id, oldest first (a rollback step may come long after its plan started). */
  private readonly planOrigins = new Map<string, PlanOrigin>();
  /**
   * Recent plans as submitted, by id: a command's record is redacted with the secrets of its whole
   * plan (one command's prompt or description may quote another command's secret).
   */
  private readonly plans = new Map<string, ExecutionPlan>();

  constructor(
    readonly store: HistoryStore,
    private readonly engineId: string,
    private readonly options: HistoryWriterOptions,
  ) {
    openSinks.add(this);
    if (openSinks.size === 1 && !exitHooked) {
      exitHooked = true;
      process.once('exit', () => {
        for (const sink of openSinks) sink.flush();
      });
    }
  }

  /** Record a change of `state`: a whole record when it appears or ends, the changed fields otherwise. */
  record(state: TrackedExecution, change: TrackedChange): void {
    switch (change) {
      case 'submitted':
      case 'finished':
        this.put(state.id, this.recordOf(state));
        return;
      case 'running':
        this.change(state.id, {
          status: 'running',
          started_at: state.startedAt?.toISOString() ?? new Date().toISOString(),
        });
        return;
      case 'spawned': {
        // The process group a command now runs in: what a later engine ends if this one dies first.
        const pid = state.kind === 'command' ? state.processGroup : null;
        if (pid !== null) this.change(state.id, { process_group: pid, process_start: processStartTime(pid) });
        return;
      }
    }
  }

  /** Whether the history holds a record of `id`, written or still pending (nothing is written). */
  has(id: string): boolean {
    return this.pending.get(id)?.record != null || this.store.has(id);
  }

  /** Write what is pending now (before a read, at shutdown, at exit). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const writes = [...this.pending];
    this.pending = new Map();
    this.guard(() =>
      this.store.writeBatch(writes.map(([id, w]) => (w.record ? { record: w.record } : { id, patch: w.patch! }))),
    );
  }

  /** Flush, and stop flushing at exit (the store is about to close). */
  close(): void {
    this.flush();
    openSinks.delete(this);
  }

  private put(id: string, record: ExecutionRecord): void {
    // A whole record supersedes earlier changes (it was built from the current state).
    this.pending.set(id, { record, patch: null });
    this.schedule();
  }

  private change(id: string, patch: Patch): void {
    const write = this.pending.get(id);
    if (write?.record) write.record = { ...write.record, ...patch };
    else if (write) write.patch = { ...write.patch, ...patch };
    else this.pending.set(id, { record: null, patch });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * The record of `state` as it stands now. The history is searchable and long-lived: it keeps
   * no secret values, in any field (a description or an error can quote a command), so the
   * whole record is redacted with the secrets of the request or plan it came from.
   */
  recordOf(state: TrackedExecution): ExecutionRecord {
    if (state.kind === 'command' && nothingToHide(state)) return this.rawRecordOf(state);
    if (state.kind === 'plan') this.remember(this.plans, state.id, state.plan);
    const plan = state.kind === 'command' && state.planId !== null ? this.planOf(state.planId) : undefined;
    const record = redactData(this.rawRecordOf(state), this.options, [
      state.kind === 'plan' ? state.plan : state.request,
      ...(plan ? [plan] : []),
    ]);
    if (state.kind === 'plan') this.rememberPlan(state.id, record);
    else if (state.planId !== null) return this.inherit(record, state.planId);
    return record;
  }

  /**
   * A plan's command without a conversation or prompt of its own has its plan's: the prompt that
   * led to the plan led to each of its steps. Taken from the plan's record, already redacted with
   * the secrets of the whole plan.
   */
  private inherit(record: ExecutionRecord, planId: string): ExecutionRecord {
    if (record.conversation_id !== null && record.user_prompt !== null) return record;
    const origin = this.planOrigin(planId);
    if (!origin) return record;
    return {
      ...record,
      conversation_id: record.conversation_id ?? origin.conversation_id,
      user_prompt: record.user_prompt ?? origin.user_prompt,
    };
  }

  private rememberPlan(id: string, record: ExecutionRecord): void {
    this.remember(this.planOrigins, id, { conversation_id: record.conversation_id, user_prompt: record.user_prompt });
  }

  /** Keep `value` as the newest of at most MAX_REMEMBERED_PLANS. */
  private remember<V>(map: Map<string, V>, id: string, value: V): void {
    map.delete(id); // re-inserted as the newest
    map.set(id, value);
    if (map.size > MAX_REMEMBERED_PLANS) map.delete(map.keys().next().value!);
  }

  private planOf(planId: string): ExecutionPlan | undefined {
    const known = this.plans.get(planId);
    if (known) return known;
    try {
      return this.store.get(planId)?.plan ?? undefined;
    } catch {
      return undefined; // reported where writes fail; the command is redacted with its own secrets
    }
  }

  private planOrigin(planId: string): PlanOrigin | null {
    const known = this.planOrigins.get(planId) ?? this.pending.get(planId)?.record;
    if (known) return { conversation_id: known.conversation_id, user_prompt: known.user_prompt };
    try {
      return this.store.get(planId);
    } catch {
      return null; // the store failing is reported where writes fail; the command keeps its own fields
    }
  }

  private rawRecordOf(state: TrackedExecution): ExecutionRecord {
    const metadata = state.kind === 'plan' ? state.plan.metadata : state.request.metadata;
    const base = {
      id: state.id,
      // A plan step's name (a rollback step may have one too); a plan has none.
      name: state.kind === 'plan' ? null : state.request.name,
      conversation_id: metadata.conversation_id,
      user_prompt: metadata.user_prompt,
      source: metadata.source,
      tags: metadata.tags,
      status: state.status,
      submitted_at: state.submittedAt.toISOString(),
      started_at: state.startedAt?.toISOString() ?? null,
      log_path: state.logPath,
      engine_pid: process.pid,
      engine_id: this.engineId,
      // Recorded by `spawned`; a finished execution has no process to end.
      process_group: null,
      process_start: null,
      // Assessed once, when the engine admitted it.
      risk_level: state.risk,
    };
    if (state.kind === 'plan') return { ...base, ...planFields(state) };
    const result = state.result;
    return {
      ...base,
      kind: 'command',
      plan_id: state.planId,
      command: state.display,
      description: state.request.description,
      request: state.request,
      plan: null,
      approval: null,
      exit_code: result?.exit_code ?? null,
      error: result?.error ?? null,
      error_code: result?.error_code ?? null,
      completed_at: result?.completed_at ?? null,
      duration_ms: result?.duration_ms ?? null,
      // Already redacted and bounded by the capture; the store bounds what it indexes.
      output: result ? [result.stdout, result.stderr].filter(Boolean).join('\n') : null,
      outputs: result ? result.outputs : null,
      carried_from: result?.carried_from ?? null,
      place: this.options.place,
    };
  }

  private guard(write: () => unknown): void {
    try {
      write();
    } catch (err) {
      if (this.warned) return;
      this.warned = true; // one warning, not one per execution
      process.emitWarning(
        `cloudops-execution-engine: history store ${this.store.path} is not being written: ${(err as Error).message}`,
        {
          code: 'CLOUDOPS_HISTORY',
        },
      );
    }
  }
}

/**
 * A command of its own (no plan, no rollback steps) has one environment, its request's: with
 * no secret values found for it (`secrets`: from that environment and the engine's, as its
 * output was redacted with) and no secret-named variable to show as `***`, its record holds
 * nothing to hide, and the walk over the record that redactData would make finds nothing.
 */
function nothingToHide(state: TrackedCommand): boolean {
  if (state.planId !== null || state.request.rollback.length > 0 || state.secrets.length > 0) return false;
  for (const [name, value] of Object.entries(state.request.env)) if (hidesValue(name, value)) return false;
  return true;
}

function planFields(
  state: TrackedPlan,
): Omit<
  ExecutionRecord,
  | 'risk_level'
  | 'id'
  | 'name'
  | 'conversation_id'
  | 'user_prompt'
  | 'source'
  | 'tags'
  | 'status'
  | 'submitted_at'
  | 'started_at'
  | 'log_path'
  | 'engine_pid'
  | 'engine_id'
  | 'process_group'
  | 'process_start'
> {
  const result = state.result;
  return {
    kind: 'plan',
    plan_id: null,
    command: state.plan.description || `plan of ${state.plan.commands.length} commands`,
    description: state.plan.description || null,
    request: null,
    plan: state.plan,
    approval: state.approval,
    exit_code: null,
    error: result?.error ?? null,
    error_code: result?.error_code ?? null,
    completed_at: result?.completed_at ?? null,
    duration_ms: result?.total_duration_ms ?? null,
    output: null,
    outputs: null,
    carried_from: null,
    place: null,
  };
}
