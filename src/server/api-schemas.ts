/**
 * Shapes the HTTP API adds around the wire objects: listings, details, the answer to a
 * submission, approvals, errors, the vocabulary. Wire objects themselves (requests, plans,
 * results, events) are the wire schemas, unchanged; every list of words is the vocabulary's.
 */
import { z } from 'zod';
import { ApprovalDecisionSchema } from '../policy/approval.js';
import { DRY_RUN_WARNING_CODES, RESOLUTION_STATES } from '../policy/blast-radius.js';
import {
  ApprovalStateSchema,
  ExecutionKindSchema,
  ExecutionStatusSchema,
  ResultErrorCodeSchema,
  RiskLevelSchema,
} from '../vocabulary.js';
import {
  ExecutionPlanSchema,
  ExecutionRequestSchema,
  ExecutionResultSchema,
  PlanExecutionResultSchema,
} from '../wire/schema.js';
import { queryBool, queryInt } from './route-spec.js';

const Id = z.string().min(1).max(200);

export const IdParams = z.object({ id: Id });

// Query strings are strict: a misspelt parameter (`?stat=pending`) is a 400 naming it and the
// nearest known one, not a filter silently left off (every approval, every execution answered).
export const ListQuery = z.strictObject({
  status: ExecutionStatusSchema.optional(),
  risk_level: RiskLevelSchema.optional(),
  /** Why it did not succeed (results that are not a success carry one). */
  error_code: ResultErrorCodeSchema.optional(),
  conversation_id: z.string().min(1).optional(),
  kind: ExecutionKindSchema.optional(),
  /** Only plans and stand-alone commands (not the commands inside plans). */
  top_level: queryBool.optional(),
  /** Submitted at or after: a date (2026-11-17) or an RFC 3339 time. */
  from: z.union([z.iso.datetime({ offset: true }), z.iso.date()]).optional(),
  to: z.union([z.iso.datetime({ offset: true }), z.iso.date()]).optional(),
  limit: queryInt(1, 1000).default(50),
  offset: queryInt(0, 1_000_000_000).default(0),
});

/** A search takes the words, and the filters of a listing (`ListQuery`); it pages through its first 1,000 matches. */
export const SearchQuery = ListQuery.extend({
  q: z.string().trim().min(1, 'a search needs at least one word'),
  limit: queryInt(1, 1000).default(50),
  offset: queryInt(0, 999).default(0),
});

export const EventsQuery = z.strictObject({
  /** One command or plan; omitted: every execution, live from now. */
  id: Id.optional(),
});

export const ResultQuery = z.strictObject({
  /** Wait for the execution to finish instead of answering 409 while it runs. */
  wait: queryBool.default(false),
});

export const ApprovalListQuery = z.strictObject({
  state: ApprovalStateSchema.optional(),
});

/** sha256 hex digest, as `plan_sha256` is written. */
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 digest: 64 lower-case hex digits');

export const DecisionBody = z
  .object({
    decision: ApprovalDecisionSchema,
    /** The approval's `plan_sha256` as you saw it: a decision on another version of the plan is refused (409). */
    plan_sha256: Sha256,
    notes: z.string().max(10_000).nullable().optional(),
    /** Edit-and-approve: the highest risk accepted for the edited plan when it is rated above the one shown (else 409). */
    accept_risk: RiskLevelSchema.optional(),
  })
  // A misspelt field (`Notes`, `Approved_By`) would otherwise be dropped while the client believes it counted.
  .strict();

/** The fields a decision body takes, for the error that names an unknown one. */
export const DECISION_FIELDS = Object.keys(DecisionBody.shape);

/** A plan, or a single request (run as a plan of one). */
export const PlanOrRequest = z.union([ExecutionPlanSchema, ExecutionRequestSchema]);

export const ExecutionView = z.object({
  id: Id,
  kind: ExecutionKindSchema,
  plan_id: Id.nullable(),
  /** A plan step's name (its request's `name`), shown instead of the command; null when it has none. */
  name: z.string().nullable(),
  /** What a finished plan step produced for later steps (`outputs`); null when it has none to tell. */
  outputs: z.record(z.string(), z.string()).nullable(),
  status: ExecutionStatusSchema,
  risk_level: RiskLevelSchema.nullable(),
  command: z.string(),
  description: z.string().nullable(),
  submitted_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  exit_code: z.number().nullable(),
  error: z.string().nullable(),
  /** Why it is not a success, as a code to branch on; null exactly when `error` is. */
  error_code: ResultErrorCodeSchema.nullable(),
  conversation_id: z.string().nullable(),
  /** What the person asked (an assistant's user) that led to this work; a plan's command shows its plan's. */
  user_prompt: z.string().nullable(),
  source: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  /** A step a resumed plan carried over (it did not run again): the execution that ran it; null otherwise. */
  carried_from: Id.nullable(),
});

export const ExecutionList = z.object({ executions: z.array(ExecutionView), total: z.number() });

/** Who asked for a cancel over the API, and when (from the audit trail); null when nobody did. */
export const CancelledBy = z
  .object({ principal: z.string().nullable(), at: z.string(), object: Id })
  .nullable()
  .describe("Who asked to cancel this run (or, for a plan's command, its plan), and when; null when nobody did");

export const CommandDetail = z.object({
  execution: ExecutionView,
  cancelled_by: CancelledBy,
  request: ExecutionRequestSchema.nullable(),
  /** While the engine still holds it; the log has the output of older runs. */
  result: ExecutionResultSchema.nullable(),
});

export const PlanDetail = z.object({
  execution: ExecutionView,
  cancelled_by: CancelledBy,
  plan: ExecutionPlanSchema.nullable(),
  /** The plan's commands in plan order (dependency indices refer to it). */
  commands: z.array(ExecutionView),
  result: PlanExecutionResultSchema.nullable(),
  approval: z.unknown().nullable(),
});

export const Accepted = z.object({
  id: Id,
  status: z.enum(['pending', 'awaiting_approval']),
  /** Set when the work waits for a human: decide at /api/approvals/{approval_id}/decision. */
  approval_id: Id.nullable(),
});

/** Which step a resume starts from: every step that did not complete (`failed`, the default), or a step by name or index. */
const ResumeFrom = z.union([z.string().min(1).max(64), z.int().nonnegative()]);

/** What a resume would do, before it is asked for: the steps carried over and the ones that run. */
export const ResumeQuery = z.strictObject({ from: ResumeFrom.optional() });

export const ResumeBody = z.strictObject({
  from: ResumeFrom.optional(),
  /**
   * The plan again, as first submitted (ids aside): needed only when the recorded plan has
   * secret values hidden (the answer without it is `NotResumable`, reason `secrets_hidden`).
   */
  plan: z.record(z.string(), z.unknown()).optional(),
});

/** The steps of a resume: by index, those carried over (not run again) and those that run. */
const ResumeSteps = {
  /** The plan run it resumes. */
  resumed_from: Id,
  carried: z.array(z.int().nonnegative()),
  runs: z.array(z.int().nonnegative()),
};

export const ResumePreview = z.object({
  ...ResumeSteps,
  /** The risk of the steps that will run, under the server's policy, and whether it waits for a human. */
  risk_level: RiskLevelSchema,
  requires_approval: z.boolean(),
});

export const ResumeAccepted = Accepted.extend(ResumeSteps);

/** The answer to a cancel: the work is being stopped (its result says how it ended). */
export const Cancelling = z.object({ id: Id, status: z.literal('cancelling') });

/** One approval of the plan digest an approval carries. */
export const ApprovalVoteView = z.object({ principal: z.string(), at: z.string(), note: z.string().nullable() });

/** One resource a command would change, as a read-only look-up found it. */
export const ResourceChangeView = z.object({
  /** What happens to it, as the operation's verb says: `terminate`, `delete`, `stop`, `modify`, `revoke`, … */
  action: z.string(),
  /** The AWS service: `ec2`, `s3`, `iam`, `rds`, `cloudformation`. */
  service: z.string(),
  /** `instance`, `volume`, `bucket`, `role`, `db-instance`, `stack`, … */
  resource_type: z.string(),
  resource_id: z.string(),
  /** False when a read-only call said it does not exist; null when it could not be looked up. */
  exists: z.boolean().nullable(),
  /** One line a person recognises: `i-0abc (web-1) running t3.micro, env=prod, owner=ana`. */
  summary: z.string(),
  /** The facts behind the summary, by name (`Name`, `state`, `instance_type`, `tags`, …), as AWS reported them. */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(z.string())])),
});

/** What a careful colleague would point out about a command; clients decide on `code`, not on the message. */
export const DryRunWarningView = z.object({
  code: z.enum(DRY_RUN_WARNING_CODES),
  message: z.string(),
  /** The resource it is about; null for the command as a whole. */
  resource_id: z.string().nullable(),
});

/** What a command's dry run established about what it would change (its blast radius). */
const BlastRadiusFields = {
  /** The resources it would change; empty when none was looked up. */
  changes: z.array(ResourceChangeView),
  warnings: z.array(DryRunWarningView),
  /** How far the look-up went: every resource named (`resolved`), `partial`, none (`unresolved`), or nothing to look up (`not_applicable`). */
  resolution: z.enum(RESOLUTION_STATES),
  /** Why the look-up did not go all the way; null when it did. */
  resolution_note: z.string().nullable(),
};

/** One command's dry run: its risk, how it was dry-run, AWS's verdict, and what it would change. */
export const DryRunCommandView = z.object({
  id: Id,
  command: z.string(),
  risk_level: RiskLevelSchema,
  verified: z.boolean(),
  risk_reasons: z.array(z.string()),
  /** `aws_dry_run`: AWS was asked with its dry-run flag; `description`: nothing was run. */
  method: z.enum(['aws_dry_run', 'description']),
  /** AWS's verdict; null when nothing was asked or it gave none. */
  would_succeed: z.boolean().nullable(),
  description: z.string(),
  argv: z.array(z.string()),
  /** Names only: values may be secrets. */
  env_names: z.array(z.string()),
  working_dir: z.string().nullable(),
  /** What AWS answered (redacted), for `aws_dry_run`. */
  output: z.string().nullable(),
  ...BlastRadiusFields,
  /** When the look-ups ran (RFC 3339); null when none ran. */
  resolved_at: z.string().nullable(),
});

export const DryRunResultView = z.object({
  plan_id: Id,
  risk_level: RiskLevelSchema,
  verified: z.boolean(),
  commands: z.array(DryRunCommandView),
});

/**
 * One command as the approvers are shown it. The dry-run fields are absent in approvals saved
 * by versions that did not record them; the blast radius (`changes` … `changes_resolved_at`) is
 * empty, `not_applicable` and null when no dry run ran.
 */
export const ApprovalCommandView = z.object({
  id: Id,
  description: z.string(),
  command: z.string(),
  /** The level the policy applies (an unverified command counts as the policy's `unverified_risk`). */
  risk_level: RiskLevelSchema,
  verified: z.boolean(),
  risk_reasons: z.array(z.string()),
  /** What the dry run said, in words; null when none ran. */
  dry_run_result: z.string().nullable(),
  /** AWS's verdict: would succeed, would fail, none (null). */
  dry_run_would_succeed: z.boolean().nullable().optional(),
  changes: BlastRadiusFields.changes.optional(),
  warnings: BlastRadiusFields.warnings.optional(),
  resolution: BlastRadiusFields.resolution.optional(),
  resolution_note: BlastRadiusFields.resolution_note.optional(),
  /** When the look-ups ran (RFC 3339): what the age shown is counted from; null when none ran. */
  changes_resolved_at: z.string().nullable().optional(),
});

/** What the approvers are shown of the plan under decision. */
export const ApprovalRequestView = z.object({
  plan_id: Id,
  description: z.string(),
  risk_level: RiskLevelSchema,
  /** False when any command's effect could not be established. */
  verified: z.boolean(),
  requires_approval: z.boolean(),
  commands: z.array(ApprovalCommandView),
  estimated_duration_ms: z.number().nullable(),
  created_at: z.string(),
});

export const ApprovalEntry = z.object({
  id: Id,
  state: ApprovalStateSchema,
  /** What the approvers are shown: risk, commands, dry-run verdicts and blast radius of the plan under decision. */
  request: ApprovalRequestView,
  /** The plan as submitted. */
  plan: ExecutionPlanSchema,
  decision: z.unknown().nullable(),
  execution_id: Id.nullable(),
  submitted_at: z.string(),
  /** The principal that submitted it: it may not approve it. */
  submitted_by: z.string().nullable(),
  /** Distinct approvers its risk needs. */
  required: z.number().int(),
  /** Who approved the plan under decision so far. */
  votes: z.array(ApprovalVoteView),
  /** Approvals still needed before it starts (0 once decided). */
  still_needed: z.number().int(),
  /** The digest of the plan under decision (canonical JSON, sha256): a decision must send it. */
  plan_sha256: Sha256,
  /** When it expires if nobody decides; null: never. */
  expires_at: z.string().nullable(),
  /** When the dry run shown ran; null when none did. */
  dry_run_at: z.string().nullable(),
  /** An approver's edit: the plan under decision from then on. */
  edit: z.object({ plan: ExecutionPlanSchema, by: z.string(), at: z.string() }).nullable(),
});

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    kind: z.string().optional(),
    field: z.string().optional(),
    reason: z.string().optional(),
    issues: z.array(z.object({ code: z.string(), field: z.string(), reason: z.string() })).optional(),
  }),
});

/** The project's words, for clients (the dashboard) that must not spell them out themselves. */
export const Vocabulary = z.object({
  statuses: z.array(ExecutionStatusSchema),
  /** Statuses of work that has not ended yet (it can be cancelled). */
  active_statuses: z.array(ExecutionStatusSchema),
  /** Statuses of work that ended in error (a plan's error budget counts them). */
  failed_statuses: z.array(ExecutionStatusSchema),
  /** Least to most: what the approval policy decides on. */
  risk_levels: z.array(RiskLevelSchema),
  approval_states: z.array(ApprovalStateSchema),
  /** Why a result is not a success (`error_code`). */
  result_error_codes: z.array(ResultErrorCodeSchema),
  kinds: z.array(ExecutionKindSchema),
  /** Every `event_type`, and those that carry an output line (the others tell of status changes). */
  event_types: z.array(z.string()),
  line_event_types: z.array(z.string()),
});
