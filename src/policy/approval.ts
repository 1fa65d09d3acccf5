/**
 * The approval workflow: which plans need a human decision, what the approver is
 * shown, and what a decision means. The engine enforces it before anything is scheduled.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AwsSettings } from '../command/aws.js';
import { displayCommand } from '../command/display.js';
import { ExecutionError } from '../errors.js';
import type { ApprovalState } from '../vocabulary.js';
import { canonicalJson } from '../wire/canonical-json.js';
import { parsePlan, parseWith } from '../wire/parse.js';
import { ExecutionPlanSchema } from '../wire/schema.js';
import type { Command, ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import type { BlastRadius, DryRunWarning, ResolutionState, ResourceChange } from './blast-radius.js';
import {
  assessCommand,
  assessEnvironment,
  assessed,
  assessHiddenContent,
  combine,
  maxRisk,
  planSecretNames,
  RISK_LEVELS,
  type RiskAssessment,
  type RiskContext,
  type RiskLevel,
  type SecretNames,
} from './risk.js';

// Strict: a misspelt policy field (`require_approval_destrutive`) is an error naming it, never a default silently kept.
export const ApprovalConfigSchema = z.strictObject({
  /** Read-only plans run without approval. Default: false (every plan is shown to a human). */
  auto_approve_readonly: z.boolean().default(false),
  require_approval_modify: z.boolean().default(true),
  require_approval_destructive: z.boolean().default(true),
  /** Run a dry run and show its results in the approval request. */
  dry_run_before_approval: z.boolean().default(true),
  /**
   * How to treat work whose effect cannot be established (`verified: false`: code computed at
   * run time, interpreters, scripts, unknown programs, loader variables in `env`). Default
   * `destructive`: it could do anything. An operator who trusts its submitters may relax it.
   */
  unverified_risk: z.enum(RISK_LEVELS).default('destructive'),
});
export type ApprovalConfig = z.output<typeof ApprovalConfigSchema>;
export type ApprovalConfigInput = z.input<typeof ApprovalConfigSchema>;

// Strict: `modified_plan` beside `type: approve` would otherwise be dropped, and the original plan
// run while the approver believes it was edited; `reasn` beside `reason` likewise.
export const ApprovalDecisionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('approve') }),
  z.strictObject({ type: z.literal('reject'), reason: z.string().min(1, 'a rejection needs a reason') }),
  z.strictObject({ type: z.literal('modify_and_approve'), modified_plan: ExecutionPlanSchema }),
]);
export type ApprovalDecision = z.output<typeof ApprovalDecisionSchema>;
export type ApprovalDecisionInput = z.input<typeof ApprovalDecisionSchema>;

export interface CommandSummary {
  id: string;
  description: string;
  command: string;
  /** The level the policy applies (an unverified command counts as `unverified_risk`). */
  risk_level: RiskLevel;
  /** False when what the command does could not be established; `risk_reasons` says why. */
  verified: boolean;
  risk_reasons: string[];
  /** What a dry run said about this command, when one ran. */
  dry_run_result: string | null;
  /**
   * The dry run's verdict as a fact: AWS said the call would succeed (true) or fail (false);
   * null when it gave none or the command was only described. What a repeated dry run is
   * compared on (a changed verdict stops the start); absent in approvals saved by older versions.
   */
  dry_run_would_succeed?: boolean | null;
  /**
   * What the dry run found the command would change, looked up with read-only calls (see
   * `BlastRadius`); empty when no dry run ran. This field and the four below are absent in
   * approvals saved by older versions: read them with `blastRadiusOf`.
   */
  changes?: ResourceChange[];
  /** What a careful colleague would point out (production tags, missing resources, …); empty when no dry run ran. */
  warnings?: DryRunWarning[];
  /** How far the look-up went; `not_applicable` when no dry run ran. */
  resolution?: ResolutionState;
  /** Why the look-up did not go all the way; null when it did (or none ran). */
  resolution_note?: string | null;
  /** When the look-ups ran (RFC 3339): the age the approver is shown; null when none ran. */
  changes_resolved_at?: string | null;
}

/** What a dry run established about one command, as the approval request shows it. */
export interface DryRunFacts extends BlastRadius {
  /** The verdict in words (the engine's `dryRunVerdict`). */
  text: string;
  /** AWS's verdict: would succeed (true), would fail (false), none (null). */
  would_succeed: boolean | null;
}

/** A command's blast radius as shown, with defaults for approvals saved before it was shown (and for no dry run). */
export function blastRadiusOf(c: CommandSummary): BlastRadius {
  return {
    changes: c.changes ?? [],
    warnings: c.warnings ?? [],
    resolution: c.resolution ?? 'not_applicable',
    resolution_note: c.resolution_note ?? null,
    resolved_at: c.changes_resolved_at ?? null,
  };
}

/** The summary fields of a dry run's facts about a command, or of none (a string verdict, or no dry run). */
function dryRunFields(
  facts: string | DryRunFacts | undefined,
): Pick<
  CommandSummary,
  | 'dry_run_result'
  | 'dry_run_would_succeed'
  | 'changes'
  | 'warnings'
  | 'resolution'
  | 'resolution_note'
  | 'changes_resolved_at'
> {
  if (facts === undefined || typeof facts === 'string')
    return {
      dry_run_result: facts ?? null,
      changes: [],
      warnings: [],
      resolution: 'not_applicable',
      resolution_note: null,
      changes_resolved_at: null,
    };
  return {
    dry_run_result: facts.text,
    dry_run_would_succeed: facts.would_succeed,
    changes: facts.changes,
    warnings: facts.warnings,
    resolution: facts.resolution,
    resolution_note: facts.resolution_note,
    changes_resolved_at: facts.resolved_at,
  };
}

export interface ApprovalRequest {
  plan_id: string;
  description: string;
  risk_level: RiskLevel;
  /** False when any command's effect could not be established. */
  verified: boolean;
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

type RequestLike = Pick<ExecutionRequest, 'command' | 'risk_level'> & {
  env?: ExecutionRequest['env'];
  working_dir?: ExecutionRequest['working_dir'];
  description?: ExecutionRequest['description'];
  rollback?: ExecutionRequest['rollback'];
};

/** One request: its command and environment as assessed, its rollback steps, and what it declares. */
export function assessRequest(request: RequestLike, ctx: RiskContext = {}, secrets?: SecretNames): RiskAssessment {
  // A request alone: its own secrets, its rollback steps' included; in a plan, every command's.
  const shownSecrets = secrets ?? planSecretNames([request]);
  const parts = [
    assessCommand(request.command, ctx),
    assessEnvironment(request.env ?? {}),
    assessHiddenContent(request, shownSecrets),
    ...(request.rollback ?? []).map((r) => assessRequest(r, ctx, shownSecrets)),
  ];
  const combined = combine(parts);
  return { ...combined, risk_level: maxRisk(combined.risk_level, request.risk_level) };
}

/** A plan's assessment and each of its commands' (rollback steps included in their command's). */
export interface PlanAssessment {
  plan: RiskAssessment;
  commands: RiskAssessment[];
}

/**
 * A step a resumed plan carries over does not run, and the resumed plan does not roll it back
 * (what it did belongs to the run it ran in, whose rollback undoes it): nothing of it runs.
 */
function assessCarried(from: string): RiskAssessment {
  return assessed('read_only', `carried over from plan ${from}: not run again`);
}

/**
 * Every command of a plan, once, and the plan: its riskiest command or its declared level. Of
 * a resumed plan, only what will run counts: its carried steps are not run again.
 */
export function assessPlanParts(plan: ExecutionPlan, ctx: RiskContext = {}): PlanAssessment {
  const secrets = planSecretNames(plan.commands);
  const carried = new Set(plan.resumed_from?.carried ?? []);
  const commands = plan.commands.map((c, i) =>
    carried.has(i) ? assessCarried(plan.resumed_from!.plan_id) : assessRequest(c, ctx, secrets),
  );
  const combined = combine(commands);
  return { plan: { ...combined, risk_level: maxRisk(combined.risk_level, plan.risk_level) }, commands };
}

/** A plan: every command (rollback steps included), and its declared level. */
export function assessPlan(plan: ExecutionPlan, ctx: RiskContext = {}): RiskAssessment {
  return assessPlanParts(plan, ctx).plan;
}

/** Risk level of one request as seen (see `assessRequest`; the policy may rate unverified work higher). */
export function requestRisk(request: RequestLike, ctx: RiskContext = {}): RiskLevel {
  return assessRequest(request, ctx).risk_level;
}

/** Risk level of a plan as seen: its riskiest command (rollback steps included) or its declared level. */
export function planRisk(plan: ExecutionPlan, ctx: RiskContext = {}): RiskLevel {
  return assessPlan(plan, ctx).risk_level;
}

/** Risk of a plan, a request or a bare command (`assess_risk` for any of them), as seen. */
export function assessRisk(subject: ExecutionPlan | ExecutionRequest | Command, ctx: RiskContext = {}): RiskLevel {
  if ('commands' in subject) return planRisk(subject, ctx);
  // Commands carry a `type` tag; requests do not (and a shell command has a `command` field too).
  if ('type' in subject) return assessCommand(subject, ctx).risk_level;
  return requestRisk(subject, ctx);
}

export class ApprovalWorkflow {
  readonly config: ApprovalConfig;
  private readonly context: RiskContext;

  /** `aws`: the engine's AWS endpoint, profile and region, so the approver sees where AWS commands go. */
  constructor(
    config: ApprovalConfigInput = {},
    context: RiskContext = {},
    private readonly aws?: AwsSettings,
  ) {
    this.config = parseWith(ApprovalConfigSchema, config);
    this.context = context;
  }

  /** What the plan can be seen to do, and whether that could be established. */
  assess(plan: ExecutionPlan): RiskAssessment {
    return assessPlan(plan, this.context);
  }

  /** The plan's assessment and each command's, in one pass. */
  assessParts(plan: ExecutionPlan): PlanAssessment {
    return assessPlanParts(plan, this.context);
  }

  /** The level this policy applies: the assessed one, or `unverified_risk` for work that could not be verified. */
  levelOf(assessment: RiskAssessment): RiskLevel {
    return assessment.verified ? assessment.risk_level : maxRisk(assessment.risk_level, this.config.unverified_risk);
  }

  /** The plan's risk under this policy. */
  assessRisk(plan: ExecutionPlan): RiskLevel {
    return this.levelOf(this.assess(plan));
  }

  /** One request's risk under this policy. */
  requestLevel(request: ExecutionRequest): RiskLevel {
    return this.levelOf(assessRequest(request, this.context));
  }

  /** One request's risk under this policy, with the reasons for it. */
  judgeRequest(request: ExecutionRequest): { level: RiskLevel; reasons: readonly string[] } {
    const assessment = assessRequest(request, this.context);
    return { level: this.levelOf(assessment), reasons: assessment.reasons };
  }

  requiresApproval(plan: ExecutionPlan): boolean {
    return this.requiresApprovalAt(this.assessRisk(plan));
  }

  /** Whether work at `level` (as this policy rates it) needs a decision. */
  requiresApprovalAt(level: RiskLevel): boolean {
    switch (level) {
      case 'read_only':
        return !this.config.auto_approve_readonly;
      case 'modify':
        return this.config.require_approval_modify;
      case 'destructive':
        return this.config.require_approval_destructive;
    }
  }

  /**
   * What the approver sees; `dryRun` maps command ids to what a dry run said: its verdict in
   * words, or all it established (verdict and blast radius).
   */
  createApprovalRequest(
    plan: ExecutionPlan,
    dryRun: ReadonlyMap<string, string | DryRunFacts> = new Map(),
  ): ApprovalRequest {
    const parts = this.assessParts(plan);
    const assessment = parts.plan;
    return {
      plan_id: plan.id,
      description: plan.description,
      risk_level: this.levelOf(assessment),
      verified: assessment.verified,
      requires_approval: this.requiresApproval(plan),
      commands: plan.commands.map((c, i) => {
        const command = parts.commands[i]!;
        const shown = displayCommand(c.command, this.aws && { ...this.aws, requestEnv: c.env });
        return {
          id: c.id,
          description: c.description ?? shown,
          command: shown,
          risk_level: this.levelOf(command),
          verified: command.verified,
          risk_reasons: command.reasons,
          ...dryRunFields(dryRun.get(c.id)),
        };
      }),
      estimated_duration_ms: plan.estimated_duration_ms,
      created_at: new Date().toISOString(),
    };
  }

  /** Turn a decision into what may run. A modified plan is parsed and re-assessed. */
  processDecision(plan: ExecutionPlan, decision: ApprovalDecisionInput, approver: Approver): ProcessedApproval {
    if (!approver.approved_by.trim()) throw ExecutionError.create('ApprovalRejected', { reason: 'no_approver' });
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

export type { ApprovalState } from '../vocabulary.js';

/**
 * The digest an approval is bound to: sha256 hex of the canonical JSON of the parsed plan (the
 * plan that would run, as the server holds it). A decision names it, so a decision made on
 * another version of the plan (edited since, or never seen) is refused instead of applied.
 */
export function planDigest(plan: ExecutionPlan): string {
  return createHash('sha256').update(canonicalJson(plan)).digest('hex');
}

/** One principal's approval of the plan digest an approval carries. */
export interface ApprovalVote {
  /** The signed-in principal that approved (never one named in a request body). */
  principal: string;
  at: string;
  note: string | null;
}

/** An approver's edit of the submitted plan: from then on the plan under decision. */
export interface ApprovalEdit {
  plan: ExecutionPlan;
  /** The principal that made the edit: like the submitter, it may not approve it (the votes start at none). */
  by: string;
  at: string;
}

export interface QueuedApproval {
  /** The submitted plan's id. */
  id: string;
  state: ApprovalState;
  /** What the approvers are shown: risk, commands and dry-run results of the plan under decision. */
  request: ApprovalRequest;
  /** The plan as submitted. */
  plan: ExecutionPlan;
  /** The decision, once made. */
  decision: ApprovalMetadata | null;
  /** The plan that ran: the submitted one, or the approver's edit of it. */
  execution_id: string | null;
  submitted_at: string;
  /** The principal that submitted it, who may not approve it; null when submitted in-process or before v9. */
  submitted_by: string | null;
  /** How many distinct principals must approve before it starts (the server's policy for its risk). */
  required: number;
  /** Approvals of `plan_sha256` so far, one per principal; an edit or a changed dry run starts them again. */
  votes: ApprovalVote[];
  /** `planDigest` of the plan under decision: the edit's when there is one, else the submitted plan's. */
  plan_sha256: string;
  /** When it expires if still pending; null: never. */
  expires_at: string | null;
  /** When the dry run shown in `request` ran; null when none ran. */
  dry_run_at: string | null;
  /** The latest edit, when an approver edited the plan; the plan under decision is then `edit.plan`. */
  edit: ApprovalEdit | null;
}
