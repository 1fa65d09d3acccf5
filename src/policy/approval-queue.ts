/**
 * Plans waiting for a human (seed 002's approval workflow, asynchronous): submitted work
 * that needs approval is parked here with its approval request (risk, commands, dry-run
 * results) until someone approves, edits and approves, or rejects it. An approval starts
 * the plan through `executeWithApproval`, so the engine records who decided what. With a
 * history store (the engine's, by default) every change is written through, so what waits
 * survives a restart.
 */
import { ExecutionError } from '../errors.js';
import type { ExecutionEngine } from '../engine/engine.js';
import type { HistoryStore } from '../history/store.js';
import { parsePlan, parseWith } from '../wire/parse.js';
import type { ExecutionPlan, ExecutionPlanInput } from '../wire/types.js';
import { ApprovalDecisionSchema, planRisk, type ApprovalDecisionInput, type ApprovalMetadata, type ApprovalRequest, type Approver } from './approval.js';
import { maxRisk, type RiskLevel } from './risk.js';

export type ApprovalState = 'pending' | 'approved' | 'rejected';

export interface QueuedApproval {
  /** The submitted plan's id. */
  id: string;
  state: ApprovalState;
  request: ApprovalRequest;
  plan: ExecutionPlan;
  /** The decision, once made. */
  decision: ApprovalMetadata | null;
  /** The plan that ran: the submitted one, or the approver's edit of it. */
  execution_id: string | null;
  submitted_at: string;
}

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

export class ApprovalQueue {
  private readonly approvals = new Map<string, QueuedApproval>();
  /** Ids with a decision in progress, so two approvers cannot both start the plan. */
  private readonly deciding = new Set<string>();
  /** Ids being dry-run for a new approval. */
  private readonly submitting = new Set<string>();
  private readonly listeners = new Set<ApprovalListener>();

  constructor(
    private readonly engine: ExecutionEngine,
    private readonly store: HistoryStore | null = engine.history,
  ) {
    if (!store) return;
    const saved = new Map<string, QueuedApproval>();
    for (const approval of [...store.approvals('pending', 10_000), ...store.approvals(null, MAX_DECIDED)]) saved.set(approval.id, approval);
    // Oldest first, as if submitted in order.
    for (const approval of [...saved.values()].sort((a, b) => a.submitted_at.localeCompare(b.submitted_at))) this.approvals.set(approval.id, approval);
  }

  /** Park a plan until someone decides; resolves with what the approver will be shown. */
  async submit(input: ExecutionPlanInput | ExecutionPlan): Promise<QueuedApproval> {
    const plan = parsePlan(input);
    const existing = this.approvals.get(plan.id);
    if (existing || this.submitting.has(plan.id) || this.store?.get(plan.id)) {
      throw new ExecutionError('DuplicateId', `Plan ${plan.id} ${existing ? `already has an approval (${existing.state})` : 'is already known'}`);
    }
    this.submitting.add(plan.id);
    let request;
    try {
      request = await this.engine.createApprovalRequest(plan);
    } finally {
      this.submitting.delete(plan.id);
    }
    const approval: QueuedApproval = { id: plan.id, state: 'pending', request, plan, decision: null, execution_id: null, submitted_at: new Date().toISOString() };
    this.approvals.set(plan.id, approval);
    this.prune();
    this.save(approval);
    this.emit(approval);
    return approval;
  }

  get(id: string): QueuedApproval {
    const approval = this.approvals.get(id);
    if (!approval) throw new ExecutionError('NotFound', `Approval not found: ${id}`);
    return approval;
  }

  /** Newest first; `state` narrows the list. */
  list(state?: ApprovalState): QueuedApproval[] {
    return [...this.approvals.values()].filter((a) => state === undefined || a.state === state).reverse();
  }

  /**
   * Decide on a pending plan. Approve (or modify and approve) starts it and resolves with
   * the updated entry; reject records why. A plan is decided once: a second decision, or
   * one racing the first, is refused (`NotRunning`: nothing is waiting any more). An edit
   * whose risk is above what the approver was shown is refused (`ApprovalRequired`) unless
   * `acceptRisk` covers it: the approver decided on the risk shown, not on the edit's.
   */
  async decide(id: string, decisionInput: ApprovalDecisionInput, approver: Approver, options: DecideOptions = {}): Promise<QueuedApproval> {
    const approval = this.get(id);
    if (approval.state !== 'pending' || this.deciding.has(id)) {
      throw new ExecutionError('NotRunning', `Approval ${id} was already decided (${this.deciding.has(id) ? 'in progress' : approval.state})`);
    }
    const decision = parseWith(ApprovalDecisionSchema, decisionInput);
    if (decision.type === 'modify_and_approve') {
      const edited = planRisk(decision.modified_plan);
      const shown = approval.request.risk_level;
      const allowed = maxRisk(shown, options.acceptRisk);
      if (maxRisk(allowed, edited) !== allowed) {
        throw new ExecutionError(
          'ApprovalRequired',
          `The edited plan is rated ${edited}, above the ${shown} shown for approval; it was not started. Decide again with accept_risk "${edited}" to run it anyway.`,
        );
      }
    }
    this.deciding.add(id);
    try {
      if (decision.type === 'reject') {
        const processed = this.engine.workflow.processDecision(approval.plan, decision, approver);
        Object.assign(approval, { state: 'rejected', decision: processed.metadata });
      } else {
        const executionId = await this.engine.executeWithApproval(approval.plan, decision, approver);
        Object.assign(approval, { state: 'approved', decision: await this.engine.getApproval(executionId), execution_id: executionId });
      }
    } finally {
      this.deciding.delete(id);
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

  /** A storage failure costs persistence, not the decision: warn and go on in memory. */
  private save(approval: QueuedApproval): void {
    try {
      this.store?.saveApproval(approval);
    } catch (err) {
      process.emitWarning(`cloudops-execution-engine: approval ${approval.id} not saved to the history store: ${(err as Error).message}`, { code: 'CLOUDOPS_HISTORY' });
    }
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

  private prune(): void {
    let decided = [...this.approvals.values()].filter((a) => a.state !== 'pending').length;
    for (const [key, approval] of this.approvals) {
      if (decided <= MAX_DECIDED) break;
      if (approval.state !== 'pending') {
        this.approvals.delete(key);
        decided--;
      }
    }
  }
}
