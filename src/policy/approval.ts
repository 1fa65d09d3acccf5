/**
 * The approval workflow (seed 002): which plans need a human decision, what the approver is
 * shown, and what a decision means. The engine enforces it before anything is scheduled.
 */
import { z } from 'zod';
import { ExecutionError } from '../errors.js';
import { displayCommand } from '../runner/invocation.js';
import { parsePlan, parseWith } from '../wire/parse.js';
import { ExecutionPlanSchema } from '../wire/schema.js';
import type { Command, ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import { assessCommandRisk, maxRisk, type RiskLevel } from './risk.js';

export const ApprovalConfigSchema = z.object({
  /** Read-only plans run without approval. Seed default: false (every plan is shown to a human). */
  auto_approve_readonly: z.boolean().default(false),
  require_approval_modify: z.boolean().default(true),
  require_approval_destructive: z.boolean().default(true),
  /** Run a dry run and show its results in the approval request. */
  dry_run_before_approval: z.boolean().default(true),
});
export type ApprovalConfig = z.output<typeof ApprovalConfigSchema>;
export type ApprovalConfigInput = z.input<typeof ApprovalConfigSchema>;

export const ApprovalDecisionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('approve') }),
  z.object({ type: z.literal('reject'), reason: z.string().min(1, 'a rejection needs a reason') }),
  z.object({ type: z.literal('modify_and_approve'), modified_plan: ExecutionPlanSchema }),
]);
export type ApprovalDecision = z.output<typeof ApprovalDecisionSchema>;
export type ApprovalDecisionInput = z.input<typeof ApprovalDecisionSchema>;

export interface CommandSummary {
  id: string;
  description: string;
  command: string;
  risk_level: RiskLevel;
  /** What a dry run said about this command, when one ran. */
  dry_run_result: string | null;
}

export interface ApprovalRequest {
  plan_id: string;
  description: string;
  risk_level: RiskLevel;
  requires_approval: boolean;
  commands: CommandSummary[];
  estimated_duration_ms: number | null;
  created_at: string;
}

export interface ApprovalMetadata {
  approved_by: string;
  approved_at: string;
  decision: ApprovalDecision;
  notes: string | null;
  /** The risk of the plan that was approved (re-assessed for a modified plan). */
  risk_level: RiskLevel;
}

export interface ProcessedApproval {
  approved: boolean;
  /** The plan to run: the original, or the approver's modified one. */
  plan: ExecutionPlan;
  metadata: ApprovalMetadata;
}

export interface Approver {
  approved_by: string;
  notes?: string | null;
}

/** Risk of one request: its command as assessed, its rollback steps, and what it declares. */
export function requestRisk(request: Pick<ExecutionRequest, 'command' | 'risk_level'> & { rollback?: ExecutionRequest['rollback'] }): RiskLevel {
  return maxRisk(assessCommandRisk(request.command), request.risk_level, ...(request.rollback ?? []).map((r) => requestRisk(r)));
}

/** Risk of a plan: its riskiest command (rollback steps included) or its declared level, whichever is higher. */
export function planRisk(plan: ExecutionPlan): RiskLevel {
  return maxRisk(plan.risk_level, ...plan.commands.map((c) => requestRisk(c)));
}

/** Risk of a plan, a request or a bare command (`assess_risk` for any of them). */
export function assessRisk(subject: ExecutionPlan | ExecutionRequest | Command): RiskLevel {
  if ('commands' in subject) return planRisk(subject);
  // Commands carry a `type` tag; requests do not (and a shell command has a `command` field too).
  if ('type' in subject) return assessCommandRisk(subject);
  return requestRisk(subject);
}

export class ApprovalWorkflow {
  readonly config: ApprovalConfig;

  constructor(config: ApprovalConfigInput = {}) {
    this.config = ApprovalConfigSchema.parse(config);
  }

  assessRisk(plan: ExecutionPlan): RiskLevel {
    return planRisk(plan);
  }

  requiresApproval(plan: ExecutionPlan): boolean {
    switch (this.assessRisk(plan)) {
      case 'read_only':
        return !this.config.auto_approve_readonly;
      case 'modify':
        return this.config.require_approval_modify;
      case 'destructive':
        return this.config.require_approval_destructive;
    }
  }

  /** What the approver sees; `dryRun` maps command ids to what a dry run said. */
  createApprovalRequest(plan: ExecutionPlan, dryRun: ReadonlyMap<string, string> = new Map()): ApprovalRequest {
    return {
      plan_id: plan.id,
      description: plan.description,
      risk_level: this.assessRisk(plan),
      requires_approval: this.requiresApproval(plan),
      commands: plan.commands.map((c) => ({
        id: c.id,
        description: c.description ?? displayCommand(c.command),
        command: displayCommand(c.command),
        risk_level: requestRisk(c),
        dry_run_result: dryRun.get(c.id) ?? null,
      })),
      estimated_duration_ms: plan.estimated_duration_ms,
      created_at: new Date().toISOString(),
    };
  }

  /** Turn a decision into what may run. A modified plan is parsed and re-assessed. */
  processDecision(plan: ExecutionPlan, decision: ApprovalDecisionInput, approver: Approver): ProcessedApproval {
    if (!approver.approved_by.trim()) throw new ExecutionError('ApprovalRejected', 'An approval must name who approved it (approved_by)');
    const parsed = parseWith(ApprovalDecisionSchema, decision);
    const approvedPlan = parsed.type === 'modify_and_approve' ? parsePlan(parsed.modified_plan) : plan;
    return {
      approved: parsed.type !== 'reject',
      plan: approvedPlan,
      metadata: {
        approved_by: approver.approved_by,
        approved_at: new Date().toISOString(),
        decision: parsed,
        notes: approver.notes ?? null,
        risk_level: this.assessRisk(approvedPlan),
      },
    };
  }
}
