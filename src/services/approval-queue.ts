/**
 * Plans waiting for people (the approval gate, asynchronous): submitted work that needs
 * approval is parked here with its approval request (risk, commands, dry-run results) until
 * enough people approved it, someone rejected it, or it expired. The rules are the server's:
 * - the principal that submitted a plan never approves it, nor the approver that edited it
 *   approves its own edit (`SelfApproval`);
 * - N-of-M: each risk level needs a number of distinct approvers (`ApprovalGate.required`),
 *   counting only principals still active when counted (a revoked approver's vote is void);
 *   one reject rejects;
 * - a decision names the digest of the plan it was made on (`plan_sha256`); another is refused;
 *   an edit makes a new plan, a new digest, and starts the votes again, at none: its author
 *   wrote it, so the full number must come from others;
 * - a pending approval expires (`ttl_ms`); a dry run older than `dry_run_max_age_ms` when the
 *   last approval arrives runs again, and a changed verdict or blast radius (resources named,
 *   found or gone, warnings) does not start the plan.
 * The last approval starts the plan through `executeWithApproval`, so the engine records who
 * decided what; every step goes to the audit trail. With a history store (the engine's, by
 * default) every change is written through, so what waits survives a restart.
 */

import { z } from 'zod';
import { dryRunFacts } from '../engine/dry-run.js';
import type { ExecutionEngine } from '../engine/engine.js';
import { ExecutionError, ValidationError } from '../errors.js';
import type { ApprovalStorage, HistoryStore } from '../history/store.js';
import {
  type ApprovalDecision,
  type ApprovalDecisionInput,
  ApprovalDecisionSchema,
  type ApprovalRequest,
  type ApprovalVote,
  blastRadiusOf,
  type CommandSummary,
  planDigest,
  type QueuedApproval,
} from '../policy/approval.js';
import { maxRisk, type RiskLevel } from '../policy/risk.js';
import type { ApprovalState, AuditAction } from '../vocabulary.js';
import { parsePlan, parseWith } from '../wire/parse.js';
import type { ExecutionPlan, ExecutionPlanInput, ExecutionRequest } from '../wire/types.js';
import { AuditTrail } from './audit.js';
import { BOOTSTRAP_PRINCIPAL, type Principals } from './principals.js';

export type ApprovalListener = (approval: QueuedApproval) => void;

const HOUR_MS = 60 * 60 * 1000;
const approversNeeded = z.number().int().min(1).max(100);

/** The server's approval rules; every field has a default. */
export const ApprovalGateSchema = z.object({
  /** Distinct approvers each risk level needs (read-only work, when the policy holds it back at all). */
  required: z
    .object({
      read_only: approversNeeded.default(1),
      modify: approversNeeded.default(1),
      destructive: approversNeeded.default(2),
    })
    .prefault({}),
  /** How long a pending approval waits before it expires. Default 24 h. */
  ttl_ms: z
    .number()
    .int()
    .positive()
    .default(24 * HOUR_MS),
  /** A dry run older than this when the last approval arrives is run again before the start. Default 15 min. */
  dry_run_max_age_ms: z
    .number()
    .int()
    .nonnegative()
    .default(15 * 60 * 1000),
});
export type ApprovalGate = z.output<typeof ApprovalGateSchema>;
export type ApprovalGateInput = z.input<typeof ApprovalGateSchema>;

/** Who acts (a signed-in principal's name) and from where (an address, for the audit trail). */
export interface Actor {
  name: string;
  source?: string | null;
}

/** A decision as a client sends it: what, on which plan digest, and why. */
export interface DecisionInput {
  decision: ApprovalDecisionInput;
  /** The `plan_sha256` of the approval as the decider saw it. */
  plan_sha256: string;
  notes?: string | null | undefined;
  /**
   * Edit-and-approve only: the highest risk the approver accepts for the edited plan. An edit
   * rated above what the approver was shown is not accepted without it.
   */
  accept_risk?: RiskLevel | undefined;
}

export interface ApprovalQueueOptions {
  gate?: ApprovalGateInput;
  /** Where submissions and decisions are recorded; default an AuditTrail over the store (none without one). */
  audit?: AuditTrail | null;
  /**
   * Who may still vote: a vote counts only while its principal is active (the bootstrap admin
   * always is). Null (the default): every vote counts, as for in-process use without principals.
   */
  principals?: Pick<Principals, 'active'> | null;
}

/** An approval as clients read it: with how many approvals it still needs. */
export type ApprovalView = QueuedApproval & { still_needed: number };

/** `counted`: the votes that count (ApprovalQueue.countedVotes); default all of them. */
export function approvalView(approval: QueuedApproval, counted: number = approval.votes.length): ApprovalView {
  const stillNeeded = approval.state === 'pending' ? Math.max(0, approval.required - counted) : 0;
  return { ...approval, still_needed: stillNeeded };
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

/** The plan the approvers decide on now: the latest edit, else the plan as submitted. */
export function planUnderDecision(approval: QueuedApproval): ExecutionPlan {
  return approval.edit?.plan ?? approval.plan;
}

/** What the approvers are shown, and when its dry run ran (null: none did). */
interface Review {
  request: ApprovalRequest;
  dry_run_at: string | null;
}

const verdictText = (verdict: boolean | null) =>
  verdict === true ? 'would succeed' : verdict === false ? 'would fail' : 'no verdict';

const existsText = (exists: boolean | null | undefined) =>
  exists === true ? 'exists' : exists === false ? 'does not exist' : 'not looked up';

/** Each warning as compared: its code, and the resource it is about (its message may word the same fact anew). */
const warningKeys = (c: CommandSummary) =>
  [
    ...new Set(
      blastRadiusOf(c).warnings.map((w) => (w.resource_id === null ? w.code : `${w.code} (${w.resource_id})`)),
    ),
  ].sort();

/**
 * How what a command would change differs between two dry runs: resources no longer or newly
 * named, a resource found or gone, warnings given or dropped; empty when none of that changed.
 * Summaries and details are not compared: a state or a tag value moves on its own, and a warning
 * says when it matters. A command shown without a look-up (an approval saved by an older version)
 * has nothing to compare.
 */
function changedBlastRadius(before: CommandSummary, now: CommandSummary): string[] {
  if (before.changes === undefined) return [];
  const was = new Map(blastRadiusOf(before).changes.map((r) => [r.resource_id, r.exists]));
  const is = new Map(blastRadiusOf(now).changes.map((r) => [r.resource_id, r.exists]));
  const out: string[] = [];
  const gone = [...was.keys()].filter((id) => !is.has(id));
  const added = [...is.keys()].filter((id) => !was.has(id));
  if (gone.length > 0) out.push(`no longer changes ${gone.join(', ')}`);
  if (added.length > 0) out.push(`now also changes ${added.join(', ')}`);
  for (const [id, exists] of is)
    if (was.has(id) && was.get(id) !== exists) out.push(`${id} ${existsText(was.get(id))} → ${existsText(exists)}`);
  const warnedBefore = warningKeys(before);
  const warnedNow = warningKeys(now);
  if (warnedBefore.join('\n') !== warnedNow.join('\n'))
    out.push(`warnings ${warnedBefore.join(', ') || 'none'} → ${warnedNow.join(', ') || 'none'}`);
  return out;
}

/**
 * Commands whose dry run is not what it was — a verdict, or what the command would change (see
 * `changedBlastRadius`) — one line each, as `<id>: <what changed>; …`; empty when none changed.
 */
function changedDryRuns(before: ApprovalRequest, now: ApprovalRequest): string[] {
  const earlier = new Map(before.commands.map((c) => [c.id, c]));
  return now.commands.flatMap((c) => {
    const shown = earlier.get(c.id);
    const was = shown?.dry_run_would_succeed ?? null;
    const is = c.dry_run_would_succeed ?? null;
    const changed = [
      ...(was !== is ? [`${verdictText(was)} → ${verdictText(is)}`] : []),
      ...(shown ? changedBlastRadius(shown, c) : []),
    ];
    return changed.length > 0 ? [`${c.id}: ${changed.join('; ')}`] : [];
  });
}

export class ApprovalQueue {
  readonly gate: ApprovalGate;
  private readonly audit: AuditTrail | null;
  private readonly principals: Pick<Principals, 'active'> | null;
  private readonly approvals = new Map<string, QueuedApproval>();
  /** Which approval each id belongs to: plan, command and rollback ids, of the plan submitted and of its edits. */
  private readonly owners = new Map<string, string>();
  /** Ids with a decision in progress (an edit's dry run, a start), so two approvers cannot both act on it. */
  private readonly deciding = new Set<string>();
  /** Every id of the plans being dry-run for a new approval or an edit. */
  private readonly submitting = new Set<string>();
  private readonly listeners = new Set<ApprovalListener>();

  constructor(
    private readonly engine: ExecutionEngine,
    private readonly store: HistoryStore | null = engine.history,
    options: ApprovalQueueOptions = {},
  ) {
    this.gate = parseWith(ApprovalGateSchema, options.gate ?? {});
    this.audit = options.audit !== undefined ? options.audit : store ? new AuditTrail(store) : null;
    this.principals = options.principals ?? null;
    if (!store) return;
    const saved = new Map<string, QueuedApproval>();
    for (const approval of [...store.approvals('pending', 10_000), ...store.approvals(null, MAX_DECIDED)])
      saved.set(approval.id, approval);
    // Oldest first, as if submitted in order.
    for (const approval of [...saved.values()].sort((a, b) => a.submitted_at.localeCompare(b.submitted_at))) {
      if (approval.state === 'pending') this.adoptPolicy(approval);
      this.add(approval);
    }
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

  /**
   * Park a plan until enough people approve it; resolves with what the approvers will be shown.
   * `submitter`: the principal submitting it, who will not be allowed to approve it (null: in-process).
   * The submission's audit entry is the caller's: it knows what was submitted (a plan, a request
   * made a plan of one, an explicit approval request) and records it once.
   */
  async submit(input: ExecutionPlanInput | ExecutionPlan, submitter: Actor | null = null): Promise<QueuedApproval> {
    this.expireDue();
    const plan = parsePlan(input);
    const ids = planIds(plan);
    const existing = this.approvals.get(plan.id);
    if (existing)
      throw ExecutionError.create('DuplicateId', { id: plan.id, reason: 'plan_has_approval', state: existing.state });
    this.assertNew(ids);
    for (const id of ids) this.submitting.add(id);
    let review: Review;
    try {
      review = await this.review(plan);
    } finally {
      for (const id of ids) this.submitting.delete(id);
    }
    // The dry run took a while: the engine may have run work under one of these ids meanwhile.
    this.assertNew(ids);
    const submittedAt = new Date();
    const approval: QueuedApproval = {
      id: plan.id,
      state: 'pending',
      request: review.request,
      plan,
      decision: null,
      execution_id: null,
      submitted_at: submittedAt.toISOString(),
      submitted_by: submitter?.name ?? null,
      required: this.requiredFor(review.request.risk_level),
      votes: [],
      plan_sha256: planDigest(plan),
      expires_at: new Date(submittedAt.getTime() + this.gate.ttl_ms).toISOString(),
      dry_run_at: review.dry_run_at,
      edit: null,
    };
    // Recorded before it is taken: another engine on this store may have claimed the id since the check.
    this.insert(approval);
    this.add(approval);
    this.prune();
    this.emit(approval);
    return approval;
  }

  /** One approval; a pending one past its time reads as `expired`. */
  get(id: string): QueuedApproval {
    this.expireDue();
    const approval = this.approvals.get(id);
    if (!approval) throw ExecutionError.create('NotFound', { id, reason: 'approval' });
    return approval;
  }

  /** An approval as clients read it, `still_needed` counting only the votes that count now. */
  view(approval: QueuedApproval): ApprovalView {
    return approvalView(approval, this.countedVotes(approval).length);
  }

  /**
   * The votes that count: of principals still active (looked up now, so a revocation voids a
   * vote given before it, also one read back after a restart), and never the submitter's or the
   * editor's own (refused when cast; also not counted if an older version stored one).
   */
  countedVotes(approval: QueuedApproval): ApprovalVote[] {
    return approval.votes.filter(
      (vote) =>
        vote.principal !== approval.submitted_by &&
        vote.principal !== approval.edit?.by &&
        (this.principals === null ||
          vote.principal === BOOTSTRAP_PRINCIPAL ||
          this.principals.active(vote.principal) !== null),
    );
  }

  /** Newest first; `state` narrows the list. */
  list(state?: ApprovalState): QueuedApproval[] {
    this.expireDue();
    return [...this.approvals.values()].filter((a) => state === undefined || a.state === state).reverse();
  }

  /**
   * One principal's decision on a pending plan, on the digest it was shown (`DigestMismatch`
   * otherwise). A reject rejects at once. An approval counts once per principal (the same
   * principal again changes nothing) and never the submitter's (`SelfApproval`); the one that
   * completes the number required starts the plan (after a fresh dry run when the shown one is
   * old: a changed verdict is `DryRunChanged`, and the approvals start again). An edit, rated
   * as the policy rates it and not above the risk shown unless `accept_risk` covers it, becomes
   * the plan under decision with a new digest and no votes; its author may not approve it
   * (`SelfApproval`), so it needs the full number from others.
   */
  async decide(id: string, input: DecisionInput, actor: Actor): Promise<QueuedApproval> {
    const approval = this.get(id);
    if (approval.state === 'expired')
      throw ExecutionError.create('Expired', { id, expiredAt: approval.expires_at ?? approval.submitted_at });
    if (approval.state !== 'pending' || this.deciding.has(id)) {
      throw ExecutionError.create('AlreadyDecided', { id, state: approval.state, deciding: this.deciding.has(id) });
    }
    const decision = parseWith(ApprovalDecisionSchema, input.decision);
    // Rejecting one's own plan withdraws it: only approving it would bypass a second pair of eyes.
    if (decision.type !== 'reject' && approval.submitted_by !== null && approval.submitted_by === actor.name)
      throw ExecutionError.create('SelfApproval', { id, principal: actor.name });
    // The author of an edit wrote the plan now under decision: approving it would be a plan nobody else saw.
    // Editing it again is allowed: that starts the votes again too.
    if (decision.type === 'approve' && approval.edit?.by === actor.name)
      throw ExecutionError.create('SelfApproval', { id, principal: actor.name });
    if (input.plan_sha256 !== approval.plan_sha256) {
      throw ExecutionError.create('DigestMismatch', { id, expected: approval.plan_sha256, given: input.plan_sha256 });
    }
    const notes = input.notes ?? null;
    switch (decision.type) {
      case 'reject':
        return this.reject(approval, decision, actor, notes);
      case 'approve':
        return this.approve(approval, actor, notes);
      case 'modify_and_approve':
        return this.edit(approval, decision.modified_plan, actor, notes, input.accept_risk);
    }
  }

  /** Called on every submission and change (a vote, an edit, a decision, an expiry); returns the unsubscribe. */
  onChange(listener: ApprovalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private reject(
    approval: QueuedApproval,
    decision: ApprovalDecision,
    actor: Actor,
    notes: string | null,
  ): QueuedApproval {
    const processed = this.engine.workflow.processDecision(approval.plan, decision, { approved_by: actor.name, notes });
    Object.assign(approval, { state: 'rejected', decision: processed.metadata });
    this.save(approval);
    this.record(actor, 'reject', approval, { reason: decision.type === 'reject' ? decision.reason : null });
    this.emit(approval);
    return approval;
  }

  private async approve(approval: QueuedApproval, actor: Actor, notes: string | null): Promise<QueuedApproval> {
    // Idempotent: a principal's second approval (a retry, a double click) is not a second approver.
    if (!approval.votes.some((vote) => vote.principal === actor.name)) {
      approval.votes.push({ principal: actor.name, at: new Date().toISOString(), note: notes });
      const counted = this.countedVotes(approval).length;
      this.record(actor, 'approve', approval, { votes: counted, required: approval.required });
    }
    // Also when this principal had approved already: a start that failed before is tried again.
    if (this.countedVotes(approval).length >= approval.required) return this.start(approval, actor, notes);
    this.save(approval);
    this.emit(approval);
    return approval;
  }

  private async edit(
    approval: QueuedApproval,
    edited: ExecutionPlan,
    actor: Actor,
    notes: string | null,
    acceptRisk: RiskLevel | undefined,
  ): Promise<QueuedApproval> {
    const id = approval.id;
    // A resume is checked against the run it resumes when it starts: an edited one would never start.
    // `!= null`: a plan stored before resumes existed has no such field.
    if (approval.plan.resumed_from != null || edited.resumed_from != null) {
      throw ValidationError.of(
        'InvalidField',
        'decision.modified_plan',
        'a resumed run cannot be edited (it must be the plan that ran): reject it, and run the edited plan as a new run',
      );
    }
    // The edit keeps this approval's ids or takes new ones: never another approval's, never the history's.
    const editIds = planIds(edited);
    this.assertNew(editIds, id);
    // Rated as the policy rates it (unverified work at `unverified_risk`), as the shown level was.
    const editedRisk = this.engine.workflow.assessRisk(edited);
    const shown = approval.request.risk_level;
    const allowed = maxRisk(shown, acceptRisk);
    if (maxRisk(allowed, editedRisk) !== allowed) {
      throw ExecutionError.create('ApprovalRequired', { reason: 'edit_above_shown', edited: editedRisk, shown });
    }
    this.deciding.add(id);
    // Its new ids are taken while it is dry-run: a racing submission or edit cannot claim them too.
    const reserved = editIds.filter((owned) => this.owners.get(owned) !== id);
    for (const owned of reserved) this.submitting.add(owned);
    let review: Review;
    try {
      review = await this.review(edited);
    } finally {
      this.deciding.delete(id);
      for (const owned of reserved) this.submitting.delete(owned);
    }
    for (const owned of editIds) this.owners.set(owned, id);
    const from = approval.plan_sha256;
    const at = new Date().toISOString();
    Object.assign(approval, {
      edit: { plan: edited, by: actor.name, at },
      request: review.request,
      dry_run_at: review.dry_run_at,
      plan_sha256: planDigest(edited),
      // Never fewer than the plan as submitted needed: an edit does not lower the bar.
      required: Math.max(approval.required, this.requiredFor(review.request.risk_level)),
      // None: the edit's author may not approve what it wrote; the full number must come from others.
      votes: [],
    } satisfies Partial<QueuedApproval>);
    this.record(actor, 'edit', approval, {
      from_sha256: from,
      risk_level: review.request.risk_level,
      required: approval.required,
      ...(notes === null ? {} : { notes }),
    });
    this.save(approval);
    this.emit(approval);
    return approval;
  }

  /**
   * Enough approvals: check the dry run is still what was shown, then run the plan under decision.
   * Whatever happens is saved: a start refused or failed keeps the approval pending, with its votes
   * (or, after a changed dry run, the new result and none).
   */
  private async start(approval: QueuedApproval, actor: Actor, notes: string | null): Promise<QueuedApproval> {
    const id = approval.id;
    this.deciding.add(id);
    try {
      const plan = planUnderDecision(approval);
      if (this.dryRunIsOld(approval)) {
        const fresh = await this.review(plan);
        const changed = changedDryRuns(approval.request, fresh.request);
        Object.assign(approval, { request: fresh.request, dry_run_at: fresh.dry_run_at });
        if (changed.length > 0) {
          // The approvals were given on what the old dry run said: they are asked for again.
          this.record(actor, 'votes_reset', approval, {
            reason: 'dry_run_changed',
            changed,
            votes: approval.votes.map((vote) => vote.principal),
          });
          approval.votes = [];
          throw ExecutionError.create('DryRunChanged', { id, detail: changed.join('; ') });
        }
      }
      // Counted again after the dry run's wait: a voter revoked meanwhile no longer counts.
      if (this.countedVotes(approval).length < approval.required) return approval;
      const decision: ApprovalDecisionInput = approval.edit
        ? { type: 'modify_and_approve', modified_plan: approval.edit.plan }
        : { type: 'approve' };
      const executionId = await this.engine.executeWithApproval(approval.plan, decision, {
        approved_by: actor.name,
        notes,
      });
      Object.assign(approval, {
        state: 'approved',
        decision: await this.engine.getApproval(executionId),
        execution_id: executionId,
      });
      this.record(actor, 'start', approval, {
        execution_id: executionId,
        approvers: this.countedVotes(approval).map((vote) => vote.principal),
      });
    } finally {
      this.deciding.delete(id);
      this.save(approval);
      this.emit(approval);
    }
    return approval;
  }

  /**
   * What the approvers are shown for `plan`: its assessment and, unless the policy skips it, what
   * a dry run established (each verdict and blast radius, kept as facts to compare a later dry run on).
   */
  private async review(plan: ExecutionPlan): Promise<Review> {
    if (!this.engine.workflow.config.dry_run_before_approval)
      return { request: await this.engine.createApprovalRequest(plan), dry_run_at: null };
    const dryRun = await this.engine.dryRun(plan);
    const request = this.engine.workflow.createApprovalRequest(plan, dryRunFacts(dryRun));
    return { request, dry_run_at: new Date().toISOString() };
  }

  private dryRunIsOld(approval: QueuedApproval): boolean {
    if (approval.dry_run_at === null) return false;
    return Date.now() - Date.parse(approval.dry_run_at) > this.gate.dry_run_max_age_ms;
  }

  private requiredFor(level: RiskLevel): number {
    return this.gate.required[level];
  }

  /**
   * A pending approval read back from the store, under this server's rules, where they are
   * stricter: it needs at least as many approvers as its risk needs now, and it expires a time
   * to live after it was submitted, or earlier if it was saved with an earlier expiry.
   */
  private adoptPolicy(approval: QueuedApproval): void {
    approval.required = Math.max(approval.required, this.requiredFor(approval.request.risk_level));
    const byPolicy = Date.parse(approval.submitted_at) + this.gate.ttl_ms;
    const saved = approval.expires_at === null ? Infinity : Date.parse(approval.expires_at);
    if (!(saved <= byPolicy)) approval.expires_at = new Date(byPolicy).toISOString();
  }

  /** Pending approvals past their time become `expired` (checked whenever approvals are read or decided). */
  private expireDue(): void {
    const now = Date.now();
    for (const approval of this.approvals.values()) {
      if (approval.state !== 'pending' || approval.expires_at === null || this.deciding.has(approval.id)) continue;
      if (Date.parse(approval.expires_at) > now) continue;
      approval.state = 'expired';
      this.save(approval);
      this.record(null, 'expire', approval, { expires_at: approval.expires_at, votes: approval.votes.length });
      this.emit(approval);
    }
  }

  /** An audit entry for `approval`; a failure to record costs the entry, not the decision (with a warning). */
  private record(
    actor: Actor | null,
    action: AuditAction,
    approval: QueuedApproval,
    detail: Record<string, unknown>,
  ): void {
    // A failure to record costs the entry, not the decision (the trail warns once).
    this.audit?.recordDone({
      principal: actor?.name ?? null,
      action,
      object: approval.id,
      source: actor?.source ?? null,
      detail: { plan_sha256: approval.plan_sha256, ...detail },
    });
  }

  /** How the store writes approvals: decided ones redacted unless the engine is configured not to. */
  private get storage(): ApprovalStorage {
    return { redact_secrets: this.engine.config.redact_secrets };
  }

  /** A new approval: an id the store holds is refused (DuplicateId); another storage failure costs persistence. */
  private insert(approval: QueuedApproval): void {
    try {
      this.store?.insertApproval(approval, this.storage);
    } catch (err) {
      if (err instanceof ExecutionError && err.code === 'DuplicateId') throw err;
      this.warnNotSaved(approval, err);
    }
  }

  /**
   * A change, written over the pending row (a decided one redacted now that it will not run
   * again: store.ts `approvalRow`). A row that is missing (its first write failed) is written
   * now; one already decided elsewhere is kept, with a warning. A storage failure costs
   * persistence, not the decision.
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
    if (approval.edit) for (const owned of planIds(approval.edit.plan)) this.owners.set(owned, approval.id);
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
