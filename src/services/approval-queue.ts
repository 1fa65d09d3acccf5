/**
 * Plans waiting for a human (the approval workflow, asynchronous): submitted work
 * that needs approval is parked here with its approval request (risk, commands, dry-run
 * results) until someone approves, edits and approves, or rejects it. An approval starts
 * the plan through `executeWithApproval`, so the engine records who decided what. With a
 * history store (the engine's, by default) every change is written through, so what waits
 * survives a restart.
 */

import type { ExecutionEngine } from '../engine/engine.js';
import { ExecutionError } from '../errors.js';
import type { ApprovalStorage, HistoryStore } from '../history/store.js';
import {
  type ApprovalDecisionInput,
  ApprovalDecisionSchema,
  type Approver,
  type QueuedApproval,
} from '../policy/approval.js';
import { maxRisk, type RiskLevel } from '../policy/risk.js';
import type { ApprovalState } from '../vocabulary.js';
import { parsePlan, parseWith } from '../wire/parse.js';
import type { ExecutionPlan, ExecutionPlanInput, ExecutionRequest } from '../wire/types.js';

export type ApprovalListener = (approval: QueuedApproval) => void;

export interface DecideOptions {
  /**
   * Edit-and-approve only: the highest risk the approver accepts for the edited plan. An edit
   * rated above what the approver was shown is not started without it.
   */
  acceptRisk?: RiskLevel | undefined;
}

/** Decided approvals kept for listing, oldest dropped first. */
const MAX_DECIDED = 1_000;

/** A request's id and its rollback steps' ids (at any depth). */
export function requestIds(
  request: Pick<ExecutionRequest, 'id'> & { rollback?: ReadonlyArray<Pick<ExecutionRequest, 'id'>> },
): string[] {
  // `?? []`: rollback steps have none, and approvals saved by older versions are read back as stored.
  return [request.id, ...(request.rollback ?? []).flatMap((step) => requestIds(step))];
}

/** Every id running a plan would use: the plan's, its commands', their rollback steps'. */
export function planIds(plan: ExecutionPlan): string[] {
  return [plan.id, ...plan.commands.flatMap((c) => requestIds(c))];
}

export class ApprovalQueue {
  private readonly approvals = new Map<string, QueuedApproval>();
  /** Which approval each id belongs to: plan, command and rollback ids, of the plan submitted and of an approved edit. */
  private readonly owners = new Map<string, string>();
  /** Ids with a decision in progress, so two approvers cannot both start the plan. */
  private readonly deciding = new Set<string>();
  /** Every id of the plans being dry-run for a new approval. */
  private readonly submitting = new Set<string>();
  private readonly listeners = new Set<ApprovalListener>();

  constructor(
    private readonly engine: ExecutionEngine,
    private readonly store: HistoryStore | null = engine.history,
  ) {
    if (!store) return;
    const saved = new Map<string, QueuedApproval>();
    for (const approval of [...store.approvals('pending', 10_000), ...store.approvals(null, MAX_DECIDED)])
      saved.set(approval.id, approval);
    // Oldest first, as if submitted in order.
    for (const approval of [...saved.values()].sort((a, b) => a.submitted_at.localeCompare(b.submitted_at)))
      this.add(approval);
  }

  /**
   * Refuse ids this queue knows (any approval's plan, commands or rollback steps, waiting or
   * decided, or being submitted) or that the history holds: an id is used once, ever. A reused
   * id would take over another approval, or rewrite an execution's history record.
   * `except`: the approval whose own ids may be used again (an approver's edit of it).
   */
  assertNew(ids: readonly string[], except?: string): void {
    for (const id of ids) {
      const owner = this.owners.get(id);
      if (owner !== undefined && owner !== except) {
        const state = this.approvals.get(owner)?.state ?? 'decided';
        throw ExecutionError.create('DuplicateId', { id, reason: 'approval', owner, state });
      }
      if (this.submitting.has(id)) throw ExecutionError.create('DuplicateId', { id, reason: 'submitting' });
      if (this.store?.get(id)) throw ExecutionError.create('DuplicateId', { id, reason: 'history' });
      // Approvals older than the ones kept in memory (MAX_DECIDED), or another engine's on this store.
      if (id !== except && this.store?.hasApproval(id))
        throw ExecutionError.create('DuplicateId', { id, reason: 'approval_history' });
    }
  }

  /** Park a plan until someone decides; resolves with what the approver will be shown. */
  async submit(input: ExecutionPlanInput | ExecutionPlan): Promise<QueuedApproval> {
    const plan = parsePlan(input);
    const ids = planIds(plan);
    const existing = this.approvals.get(plan.id);
    if (existing)
      throw ExecutionError.create('DuplicateId', { id: plan.id, reason: 'plan_has_approval', state: existing.state });
    this.assertNew(ids);
    for (const id of ids) this.submitting.add(id);
    let request;
    try {
      request = await this.engine.createApprovalRequest(plan);
    } finally {
      for (const id of ids) this.submitting.delete(id);
    }
    // The dry run took a while: the engine may have run work under one of these ids meanwhile.
    this.assertNew(ids);
    const approval: QueuedApproval = {
      id: plan.id,
      state: 'pending',
      request,
      plan,
      decision: null,
      execution_id: null,
      submitted_at: new Date().toISOString(),
    };
    // Recorded before it is taken: another engine on this store may have claimed the id since the check.
    this.insert(approval);
    this.add(approval);
    this.prune();
    this.emit(approval);
    return approval;
  }

  get(id: string): QueuedApproval {
    const approval = this.approvals.get(id);
    if (!approval) throw ExecutionError.create('NotFound', { id, reason: 'approval' });
    return approval;
  }

  /** Newest first; `state` narrows the list. */
  list(state?: ApprovalState): QueuedApproval[] {
    return [...this.approvals.values()].filter((a) => state === undefined || a.state === state).reverse();
  }

  /**
   * Decide on a pending plan. Approve (or modify and approve) starts it and resolves with
   * the updated entry; reject records why. A plan is decided once: a second decision, or
   * one racing the first, is refused (`AlreadyDecided`). An edit
   * whose risk is above what the approver was shown is refused (`ApprovalRequired`) unless
   * `acceptRisk` covers it: the approver decided on the risk shown, not on the edit's.
   */
  async decide(
    id: string,
    decisionInput: ApprovalDecisionInput,
    approver: Approver,
    options: DecideOptions = {},
  ): Promise<QueuedApproval> {
    const approval = this.get(id);
    if (approval.state !== 'pending' || this.deciding.has(id)) {
      throw ExecutionError.create('AlreadyDecided', { id, state: approval.state, deciding: this.deciding.has(id) });
    }
    const decision = parseWith(ApprovalDecisionSchema, decisionInput);
    // The edit keeps this approval's ids or takes new ones: never another approval's, never the history's.
    const editIds = decision.type === 'modify_and_approve' ? planIds(decision.modified_plan) : [];
    this.assertNew(editIds, id);
    if (decision.type === 'modify_and_approve') {
      // Rated as the policy rates it (unverified work at `unverified_risk`), as the shown level was.
      const edited = this.engine.workflow.assessRisk(decision.modified_plan);
      const shown = approval.request.risk_level;
      const allowed = maxRisk(shown, options.acceptRisk);
      if (maxRisk(allowed, edited) !== allowed) {
        throw ExecutionError.create('ApprovalRequired', { reason: 'edit_above_shown', edited, shown });
      }
    }
    this.deciding.add(id);
    // Its new ids are taken while it starts: a racing submission or edit cannot claim them too.
    const reserved = editIds.filter((owned) => this.owners.get(owned) !== id);
    for (const owned of reserved) this.submitting.add(owned);
    try {
      if (decision.type === 'reject') {
        const processed = this.engine.workflow.processDecision(approval.plan, decision, approver);
        Object.assign(approval, { state: 'rejected', decision: processed.metadata });
      } else {
        const executionId = await this.engine.executeWithApproval(approval.plan, decision, approver);
        Object.assign(approval, {
          state: 'approved',
          decision: await this.engine.getApproval(executionId),
          execution_id: executionId,
        });
        for (const owned of editIds) this.owners.set(owned, id);
      }
    } finally {
      this.deciding.delete(id);
      for (const owned of reserved) this.submitting.delete(owned);
    }
    this.save(approval);
    this.emit(approval);
    return approval;
  }

  /** Called on every submission and decision; returns a function that stops it. */
  onChange(listener: ApprovalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How the store writes approvals: decided ones redacted unless the engine is configured not to. */
  private get storage(): ApprovalStorage {
    return { redact_secrets: this.engine.config.redact_secrets };
  }

  /** A new approval: an id the store already holds is refused (DuplicateId); another storage failure only costs persistence. */
  private insert(approval: QueuedApproval): void {
    try {
      this.store?.insertApproval(approval, this.storage);
    } catch (err) {
      if (err instanceof ExecutionError && err.code === 'DuplicateId') throw err;
      this.warnNotSaved(approval, err);
    }
  }

  /**
   * A decision, written over the pending row, redacted now that it will not run again (store.ts
   * `approvalRow`). A row that is missing (its first write failed) is written now; one already
   * decided elsewhere is kept, with a warning. A storage failure costs persistence, not the decision.
   */
  private save(approval: QueuedApproval): void {
    try {
      this.store?.saveApproval(approval, this.storage);
    } catch (err) {
      this.warnNotSaved(approval, err);
    }
  }

  private warnNotSaved(approval: QueuedApproval, err: unknown): void {
    process.emitWarning(
      `cloudops-execution-engine: approval ${approval.id} not saved to the history store: ${(err as Error).message}`,
      { code: 'CLOUDOPS_HISTORY' },
    );
  }

  private emit(approval: QueuedApproval): void {
    for (const listener of this.listeners) {
      try {
        listener(approval);
      } catch (err) {
        process.emitWarning(`cloudops-execution-engine: approval listener threw: ${String(err)}`);
      }
    }
  }

  private add(approval: QueuedApproval): void {
    this.approvals.set(approval.id, approval);
    for (const owned of planIds(approval.plan)) this.owners.set(owned, approval.id);
    const edit = approval.decision?.decision;
    if (edit?.type === 'modify_and_approve')
      for (const owned of planIds(edit.modified_plan)) this.owners.set(owned, approval.id);
  }

  /** Dropped approvals free their ids here; an approved plan's stay taken in the history. */
  private prune(): void {
    let decided = [...this.approvals.values()].filter((a) => a.state !== 'pending').length;
    for (const [key, approval] of this.approvals) {
      if (decided <= MAX_DECIDED) break;
      if (approval.state !== 'pending') {
        this.approvals.delete(key);
        for (const [owned, owner] of this.owners) if (owner === key) this.owners.delete(owned);
        decided--;
      }
    }
  }
}
