/**
 * The project's words, defined once: every list of statuses, risk levels, approval states and
 * error codes (in the schemas, the history, the server's filters, the CLI's options, the
 * dashboard through the API) is derived from these enums. Adding a word here adds it
 * everywhere; nothing else spells these lists out.
 */
import { z } from 'zod';

export const ExecutionStatusSchema = z.enum([
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timeout',
  /** A plan command that never ran because a dependency (or an earlier serial step) did not complete. */
  'skipped',
  /** A completed command (or a plan) whose rollback commands have run. */
  'rolled_back',
  /** Found unfinished in the history after its engine's process died (crash, SIGKILL). */
  'interrupted',
]);
export type ExecutionStatus = z.infer<typeof ExecutionStatusSchema>;
export const EXECUTION_STATUSES = ExecutionStatusSchema.options;
/** Statuses of work that has not ended yet. */
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = ['pending', 'running'];
/**
 * Statuses of work that ended in error: what a plan's error budget (`max_failures`) counts and the
 * dashboard shows as failure. Skipped and cancelled work did not fail; it did not run to the end.
 */
export const FAILED_STATUSES: readonly ExecutionStatus[] = ['failed', 'timeout'];
/** Statuses after which nothing more happens to an execution: all the others. */
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(
  EXECUTION_STATUSES.filter((s) => !ACTIVE_STATUSES.includes(s)),
);

export const ExecutionKindSchema = z.enum(['command', 'plan']);
export type ExecutionKind = z.infer<typeof ExecutionKindSchema>;

/** What the work could change, least to most: what the approval policy decides on. */
export const RiskLevelSchema = z.enum(['read_only', 'modify', 'destructive']);
export type RiskLevel = z.infer<typeof RiskLevelSchema>;
export const RISK_LEVELS = RiskLevelSchema.options;

export const ApprovalStateSchema = z.enum([
  'pending',
  'approved',
  'rejected',
  /** Nobody decided within its time to live (`--approval-ttl`). */
  'expired',
]);
export type ApprovalState = z.infer<typeof ApprovalStateSchema>;
export const APPROVAL_STATES = ApprovalStateSchema.options;

/**
 * Why a result is not a success, as a fact a program can branch on (`error_code`); the
 * message in `error` is built from it in one place (errors.ts). Null exactly when `error` is.
 */
export const ResultErrorCodeSchema = z.enum([
  /** The command ran and exited with a non-zero code. */
  'exit',
  /** The command was ended by a signal it did not get from us. */
  'signal',
  /** It ran past its timeout; its process tree was stopped. */
  'timeout',
  /** Cancelled (by a caller, the plan, or shutdown) before or while it ran. */
  'cancelled',
  /** Never started: the program or interpreter could not be run, or the command could not be resolved. */
  'spawn_failed',
  /** A plan step that did not run because what it needs did not complete. */
  'skipped',
  /** A plan's error budget (`max_failures`) was spent: the plan, and each step it then did not start. */
  'error_budget',
  /** Queue mode: Redis could not be reached, so the command's outcome is not known. */
  'queue_unavailable',
  /** Queue mode: the worker running it died or lost its job. */
  'worker_lost',
  /** A plan step (or a plan) that did not complete: the plan's result names the first. */
  'step_failed',
  /** A rollback command did not complete; the steps before it were not undone. */
  'rollback_failed',
  /** Found unfinished after its engine died. */
  'interrupted',
  /** The engine could not open the command's log, or could not write all of it (the result says which). */
  'io',
  /** A fault inside the engine; the message says what. */
  'internal',
  /** A plan step never started: an output it refers to (`${{ steps.NAME.outputs.KEY }}`) was not produced. */
  'missing_output',
  /** A plan step never started: a value substituted into it holds a newline or NUL. */
  'unsafe_value',
  /**
   * A plan step never started: with its references resolved it is rated above the risk it was
   * admitted (or approved) at, so what would run is not what was judged.
   */
  'risk_raised',
]);
export type ResultErrorCode = z.infer<typeof ResultErrorCodeSchema>;
export const RESULT_ERROR_CODES = ResultErrorCodeSchema.options;

/** Which executor runs AWS commands: each by its own type (`auto`), or all through one. */
export const ExecutorTypeSchema = z.enum(['cli', 'sdk', 'auto']);
export type ExecutorType = z.infer<typeof ExecutorTypeSchema>;

/**
 * What a signed-in principal may do on the server (the library is trusted as it is):
 * - `viewer`: read everything;
 * - `submitter`: read, submit, and cancel its own work (an assistant, a CI job);
 * - `approver`: read, decide approvals, cancel;
 * - `admin`: everything, and manage principals.
 */
export const RoleSchema = z.enum(['viewer', 'submitter', 'approver', 'admin']);
export type Role = z.infer<typeof RoleSchema>;
export const ROLES = RoleSchema.options;

/** What the audit trail records. */
export const AuditActionSchema = z.enum([
  'submit',
  'approve',
  'reject',
  'edit',
  'expire',
  /** Enough approvals: the plan under decision started (its execution id, who approved it). */
  'start',
  /** The votes given were cleared: the dry run re-run at the last approval said something else. */
  'votes_reset',
  'cancel',
  'rollback',
  'principal_added',
  'principal_revoked',
  'sign_in',
]);
export type AuditAction = z.infer<typeof AuditActionSchema>;
export const AUDIT_ACTIONS = AuditActionSchema.options;
