/**
 * The error catalogue, one place for every failure the engine reports (fastify's
 * lib/errors.js is the model): each code with its HTTP status and how its message is built.
 *
 * Two kinds of failure:
 * - thrown: `ExecutionError` (and `ValidationError`) with a stable `code`, raised by the API
 *   (unknown id, duplicate id, approval required, ...); `ERRORS` gives each its HTTP status
 *   and builds its message from the facts (`ExecutionError.create(code, facts)`).
 * - reported: a result that is not a success carries `error_code` (the vocabulary's
 *   `ResultErrorCode`) and an `error` message built here by `resultError`.
 * Callers branch on codes, never on message text. Messages always name the field (validation)
 * or the execution, so a log line is actionable.
 */
import type { ApprovalState, ExecutionKind, ExecutionStatus, ResultErrorCode, RiskLevel } from './vocabulary.js';

export type ValidationErrorCode =
  | 'InvalidCommand'
  | 'ScriptNotFound'
  | 'TimeoutTooLarge'
  | 'InvalidWorkingDir'
  | 'MissingField'
  | 'InvalidPlan'
  /** A field is present but has the wrong type or an out-of-range value. */
  | 'InvalidField'
  /** A file named as input (a plan file) does not exist. */
  | 'FileNotFound';

export type ExecutionErrorCode =
  | 'Validation'
  | 'NotFound'
  | 'Timeout'
  | 'Cancelled'
  | 'CommandFailed'
  | 'SpawnFailed'
  | 'Io'
  | 'Serialization'
  /** `getResult` on an execution that has not finished yet. */
  | 'NotCompleted'
  /** `cancel` on an execution that already finished. */
  | 'NotRunning'
  /** A decision on an approval that was already decided (or is being decided). */
  | 'AlreadyDecided'
  /** An id that is already tracked by this engine was submitted again. */
  | 'DuplicateId'
  /** Work submitted after `shutdown()` began. */
  | 'ShuttingDown'
  /** The engine's approval policy requires a decision for this plan and none was given. */
  | 'ApprovalRequired'
  /** The approver rejected the plan (or the approval was malformed). */
  | 'ApprovalRejected'
  /** A rollback command failed; the steps after it were not rolled back. */
  | 'RollbackFailed'
  /** The command needs an executor that is not available (e.g. an SDK client package). */
  | 'ExecutorNotAvailable'
  /** The signed-in principal's role does not allow this (or the work is someone else's). */
  | 'Forbidden'
  /** The principal that submitted a plan tried to approve it. */
  | 'SelfApproval'
  /** A decision named a plan digest other than the plan's: it was not what the approver saw. */
  | 'DigestMismatch'
  /** A decision on an approval whose time to live has passed. */
  | 'Expired'
  /** The dry run repeated before the start said something else than the one the approvers saw. */
  | 'DryRunChanged'
  /** A plan run that cannot be resumed as asked (still running, nothing to resume, steps that do not match). */
  | 'NotResumable';

/**
 * Why a plan run cannot be resumed (`NotResumable`):
 * - `not_a_plan`: it is a single command (run it again instead);
 * - `not_finished`: it is still pending or running;
 * - `rollback_running`: its rollback is under way;
 * - `resumed_already`: another run resumes it (resume that one);
 * - `nothing_to_run`: every step completed and no step was named to run again;
 * - `secrets_hidden`: its recorded plan has secret values hidden; the plan must be given again;
 * - `plan_differs`: the plan (given again, or naming it in `resumed_from`) is not the one that ran;
 * - `step_not_completed`: a step to carry over did not complete in that run;
 * - `step_undone`: a step to carry over was (even partly) undone by that run's rollback;
 * - `step_maybe_running`: a step to run again may still be running where the engine that started it died;
 * - `output_hidden`: a carried step's recorded output has a secret hidden in it.
 */
export type NotResumableReason =
  | 'not_a_plan'
  | 'not_finished'
  | 'rollback_running'
  | 'resumed_already'
  | 'nothing_to_run'
  | 'secrets_hidden'
  | 'plan_differs'
  | 'step_not_completed'
  | 'step_undone'
  | 'step_maybe_running'
  | 'output_hidden';

/** Where an id was found when it may not be used again (`DuplicateId`). */
export type DuplicateIdFacts =
  | {
      id: string;
      /**
       * `tracked`: this engine runs or ran it; `history`: an execution in the history has it;
       * `approval_history`: an approval in the history has it; `submitting`: an approval being
       * submitted (its dry run still going) claims it.
       */
      reason: 'tracked' | 'history' | 'approval_history' | 'submitting';
    }
  /** An approval this queue holds owns the id (its plan, a command or a rollback step). */
  | { id: string; reason: 'approval'; owner: string; state: ApprovalState | 'decided' }
  /** The plan itself already has an approval. */
  | { id: string; reason: 'plan_has_approval'; state: ApprovalState }
  /** A principal (revoked or not) already has this name. */
  | { id: string; reason: 'principal' };

/** The engine method that answers for the other kind of execution. */
export type ResultMethod = 'getResult' | 'getPlanResult' | 'wait' | 'waitPlan';

/** What is not there (`NotFound`): an unknown id, or an id of the other kind than the call needs. */
export type NotFoundFacts =
  | {
      id: string;
      /**
       * `unknown` (default): no execution has this id; `approval`: no approval has it;
       * `rollback_of_command`: it is a command, and only plans roll back; `resource`: no MCP
       * resource has this URI.
       */
      reason?: 'unknown' | 'approval' | 'rollback_of_command' | 'resource';
    }
  /** A plan's id where a command's was needed (`is_plan`), or the other way round; `instead` answers for it. */
  | { id: string; reason: 'is_plan' | 'is_command'; instead: ResultMethod };

/** Why work is held back for a human (`ApprovalRequired`). */
export type ApprovalRequiredFacts =
  /** The approval policy holds it back; for unverified work, `reasons` say what could not be established. */
  | {
      reason: 'policy';
      kind: 'plan' | 'command';
      id: string;
      level: RiskLevel;
      verified: boolean;
      reasons: readonly string[];
    }
  /** An approver's edit is rated above the level the approver was shown. */
  | { reason: 'edit_above_shown'; edited: RiskLevel; shown: RiskLevel };

/** What each thrown code's message is built from. */
export interface ExecutionErrorFacts {
  Validation: { detail: string };
  NotFound: NotFoundFacts;
  Timeout: { timeoutMs: number };
  Cancelled: { detail?: string };
  CommandFailed: { exitCode: number };
  SpawnFailed: { detail: string };
  Io: { detail: string };
  Serialization: { detail: string };
  /** `before: 'rollback'`: a rollback was asked for. */
  NotCompleted: { id: string; status: ExecutionStatus; kind: ExecutionKind; before?: 'rollback' };
  NotRunning: { id: string; status: ExecutionStatus };
  /** `deciding`: another decision on it is under way. */
  AlreadyDecided: { id: string; state: ApprovalState; deciding: boolean };
  DuplicateId: DuplicateIdFacts;
  ShuttingDown: Record<string, never>;
  ApprovalRequired: ApprovalRequiredFacts;
  /** `rejected`: the approver said no (`detail` is why); `no_approver`: the approval names nobody. */
  ApprovalRejected: { reason: 'rejected'; approvedBy: string; detail: string } | { reason: 'no_approver' };
  RollbackFailed: { detail?: string };
  ExecutorNotAvailable: { detail: string };
  /** `who`: the principal and its role; `what`: the action refused; `needs`: roles that may do it (or why not). */
  Forbidden: { who: string; what: string; needs: string };
  SelfApproval: { id: string; principal: string };
  DigestMismatch: { id: string; expected: string; given: string };
  Expired: { id: string; expiredAt: string };
  DryRunChanged: { id: string; detail: string };
  NotResumable: { id: string; reason: NotResumableReason; detail: string };
}

/** One catalogue entry: the HTTP status the code answers with and how its message reads. */
export interface ErrorEntry<F> {
  readonly status: number;
  readonly message: (facts: F) => string;
}

function notFoundMessage(f: NotFoundFacts): string {
  switch (f.reason) {
    case 'approval':
      return `Approval not found: ${f.id}`;
    case 'resource':
      return `Resource not found: ${f.id} (cloudops://executions/ID, cloudops://executions/ID/log or cloudops://approvals/ID)`;
    case 'rollback_of_command':
      return `Execution not found: ${f.id} is a command; rollback applies to plans`;
    case 'is_plan':
      return `Execution not found: ${f.id} is a plan; use ${f.instead}`;
    case 'is_command':
      return `Execution not found: ${f.id} is a command, not a plan; use ${f.instead}`;
    default:
      return `Execution not found: ${f.id}`;
  }
}

function duplicateIdMessage(f: DuplicateIdFacts): string {
  switch (f.reason) {
    case 'tracked':
      return `Execution id ${f.id} is already tracked by this engine`;
    case 'history':
      return `Id ${f.id} is already in the execution history; ids are never reused`;
    case 'approval_history':
      return `Id ${f.id} is already used by an approval in the history; ids are never reused`;
    case 'submitting':
      return `Id ${f.id} is already used by an approval being submitted`;
    case 'approval':
      return `Id ${f.id} is already used by approval ${f.owner} (${f.state}); ids are never reused`;
    case 'plan_has_approval':
      return `Plan ${f.id} already has an approval (${f.state})`;
    case 'principal':
      return `A principal named ${f.id} already exists (a revoked one keeps its name); choose another name`;
  }
}

function approvalRequiredMessage(f: ApprovalRequiredFacts): string {
  if (f.reason === 'edit_above_shown') {
    return (
      `The edited plan is rated ${f.edited}, above the ${f.shown} shown for approval; it was not started. ` +
      `Decide again with accept_risk "${f.edited}" to run it anyway.`
    );
  }
  const why = f.reasons.length > 0 ? ` (${f.verified ? '' : 'unverified: '}${f.reasons.join('; ')})` : '';
  return `Approval required but not provided: ${f.kind} ${f.id} is ${f.level}${why}; use executeWithApproval`;
}

/**
 * Every thrown code with the HTTP status it answers with (the server reads it from here) and
 * how its message is built from its facts (`ExecutionError.create`).
 */
export const ERRORS: { readonly [C in ExecutionErrorCode]: ErrorEntry<ExecutionErrorFacts[C]> } = {
  Validation: { status: 400, message: (f) => `Validation error: ${f.detail}` },
  NotFound: { status: 404, message: notFoundMessage },
  Timeout: { status: 504, message: (f) => RESULT_MESSAGES.timeout(f) },
  Cancelled: { status: 409, message: (f) => RESULT_MESSAGES.cancelled(f) },
  CommandFailed: { status: 500, message: (f) => RESULT_MESSAGES.exit(f) },
  SpawnFailed: { status: 500, message: (f) => RESULT_MESSAGES.spawn_failed(f) },
  Io: { status: 500, message: (f) => RESULT_MESSAGES.io(f) },
  Serialization: { status: 500, message: (f) => `Serialization error: ${f.detail}` },
  NotCompleted: {
    status: 409,
    message: (f) =>
      `${f.kind === 'plan' ? 'Plan' : 'Execution'} ${f.id} has not finished (status: ${f.status})` +
      (f.before === 'rollback' ? '; cancel it or wait before rolling back' : ''),
  },
  NotRunning: { status: 409, message: (f) => `Execution ${f.id} is not running (status: ${f.status})` },
  AlreadyDecided: {
    status: 409,
    message: (f) =>
      f.deciding ? `Approval ${f.id} is already being decided` : `Approval ${f.id} was already decided (${f.state})`,
  },
  DuplicateId: { status: 409, message: duplicateIdMessage },
  ShuttingDown: { status: 503, message: () => 'Engine is shutting down; no new executions are accepted' },
  ApprovalRequired: { status: 409, message: approvalRequiredMessage },
  ApprovalRejected: {
    status: 409,
    message: (f) =>
      f.reason === 'no_approver'
        ? 'An approval must name who approved it (approved_by)'
        : `Approval rejected by ${f.approvedBy}: ${f.detail}`,
  },
  RollbackFailed: { status: 500, message: (f) => RESULT_MESSAGES.rollback_failed(f) },
  ExecutorNotAvailable: { status: 422, message: (f) => `Executor not available: ${f.detail}` },
  Forbidden: { status: 403, message: (f) => `${f.who} may not ${f.what}; ${f.needs}` },
  SelfApproval: {
    status: 403,
    message: (f) => `${f.principal} submitted ${f.id} and cannot approve it: someone else must`,
  },
  DigestMismatch: {
    status: 409,
    message: (f) =>
      `Approval ${f.id} is for plan digest ${f.expected}, not ${f.given}: the plan is not the one the decision was made on; look at it again`,
  },
  Expired: { status: 409, message: (f) => `Approval ${f.id} expired at ${f.expiredAt}; submit the plan again` },
  DryRunChanged: {
    status: 409,
    message: (f) =>
      `Approval ${f.id}: the dry run repeated before the start says something else (${f.detail}); not started`,
  },
  NotResumable: { status: 409, message: (f) => `Plan ${f.id} cannot be resumed: ${f.detail}` },
};

export class ExecutionError extends Error {
  readonly code: ExecutionErrorCode;
  /** What the message was built from, when it came from the catalogue (the reason after its fixed words). */
  readonly detail: string | undefined;

  constructor(code: ExecutionErrorCode, message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ExecutionError';
    this.code = code;
    this.detail = options?.detail;
  }

  /** The error of `code`, its message built by the catalogue (`ERRORS`) from `facts`. */
  static create<C extends ExecutionErrorCode>(
    code: C,
    facts: ExecutionErrorFacts[C],
    options?: { cause?: unknown },
  ): ExecutionError {
    const detail = (facts as { detail?: unknown }).detail;
    return new ExecutionError(code, ERRORS[code].message(facts), {
      cause: options?.cause,
      detail: typeof detail === 'string' ? detail : undefined,
    });
  }

  static notFound(id: string): ExecutionError {
    return ExecutionError.create('NotFound', { id });
  }
  static timeout(ms: number): ExecutionError {
    return ExecutionError.create('Timeout', { timeoutMs: ms });
  }
  static cancelled(): ExecutionError {
    return ExecutionError.create('Cancelled', {});
  }
  /** Work the approval policy holds back; for unverified work the message says what could not be established. */
  static approvalRequired(
    kind: 'plan' | 'command',
    id: string,
    level: RiskLevel,
    assessment: { verified: boolean; reasons: readonly string[] },
  ): ExecutionError {
    return ExecutionError.create('ApprovalRequired', {
      reason: 'policy',
      kind,
      id,
      level,
      verified: assessment.verified,
      reasons: assessment.reasons,
    });
  }
  static commandFailed(exitCode: number): ExecutionError {
    return ExecutionError.create('CommandFailed', { exitCode });
  }
  static spawnFailed(reason: string, cause?: unknown): ExecutionError {
    return ExecutionError.create('SpawnFailed', { detail: reason }, { cause });
  }
  static io(reason: string, cause?: unknown): ExecutionError {
    return ExecutionError.create('Io', { detail: reason }, { cause });
  }
  static serialization(reason: string, cause?: unknown): ExecutionError {
    return ExecutionError.create('Serialization', { detail: reason }, { cause });
  }
}

export interface ValidationIssue {
  code: ValidationErrorCode;
  /** Dotted path of the offending field, e.g. `commands[2].timeout_ms`; empty for the whole document. */
  field: string;
  reason: string;
}

const VALIDATION_PREFIX: Record<ValidationErrorCode, string> = {
  InvalidCommand: 'Invalid command format',
  ScriptNotFound: 'Script file not found',
  TimeoutTooLarge: 'Timeout exceeds maximum allowed',
  InvalidWorkingDir: 'Invalid working directory',
  MissingField: 'Missing required field',
  InvalidPlan: 'Invalid execution plan',
  InvalidField: 'Invalid field',
  FileNotFound: 'File not found',
};

/**
 * A validation failure: `instanceof ExecutionError` holds (code `Validation`), `kind` says
 * which kind of problem, `field` where, and `issues` lists every problem found.
 */
export class ValidationError extends ExecutionError {
  readonly kind: ValidationErrorCode;
  readonly field: string;
  readonly reason: string;
  /** Every problem found, first one first; `kind`/`field`/`reason` describe `issues[0]`. */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: ValidationIssue[]) {
    const first = issues[0];
    if (!first) throw new TypeError('ValidationError needs at least one issue');
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super('Validation', ERRORS.Validation.message({ detail: `${describeIssue(first)}${more}` }));
    this.name = 'ValidationError';
    this.kind = first.code;
    this.field = first.field;
    this.reason = first.reason;
    this.issues = issues;
  }

  static of(code: ValidationErrorCode, field: string, reason: string): ValidationError {
    return new ValidationError([{ code, field, reason }]);
  }
}

export function describeIssue(issue: ValidationIssue): string {
  const where = issue.field ? ` (at ${issue.field})` : '';
  return `${VALIDATION_PREFIX[issue.code]}: ${issue.reason}${where}`;
}

/** The facts a result's message is built from; each code reads the ones it needs. */
export interface ResultErrorFacts {
  /** `exit`: the exit code. */
  exitCode?: number;
  /** `signal`: the signal's name. */
  signal?: string | null;
  /** `timeout`: the limit. */
  timeoutMs?: number;
  /** Free detail: why it could not start, where it was cancelled, what was lost, ... */
  detail?: string;
}

/** How each reported failure reads. The first words are stable: people and old clients know them. */
const RESULT_MESSAGES: { readonly [C in ResultErrorCode]: (facts: ResultErrorFacts) => string } = {
  exit: (f) => `Command failed with exit code ${f.exitCode ?? -1}`,
  signal: (f) => `Command was killed by signal ${f.signal ?? 'unknown'}`,
  timeout: (f) => `Execution timeout after ${f.timeoutMs ?? 0}ms`,
  cancelled: (f) => `Execution cancelled${f.detail ? ` ${f.detail}` : ''}`,
  spawn_failed: (f) => `Process spawn failed: ${f.detail ?? 'unknown error'}`,
  skipped: (f) => `Skipped: ${f.detail ?? 'a step it needs did not complete'}`,
  error_budget: (f) => `Error budget spent: ${f.detail ?? 'too many steps failed'}`,
  queue_unavailable: (f) => `Queue unavailable: ${f.detail ?? 'Redis cannot be reached'}`,
  worker_lost: (f) => `Worker lost: ${f.detail ?? 'the worker running it stopped'}`,
  step_failed: (f) => f.detail ?? 'A step did not complete',
  rollback_failed: (f) => `Rollback failed: ${f.detail ?? 'a rollback command did not complete'}`,
  interrupted: (f) => `Interrupted: ${f.detail ?? 'the engine process ended before this execution finished'}`,
  io: (f) => `IO error: ${f.detail ?? 'the log file could not be written'}`,
  internal: (f) => `Internal error: ${f.detail ?? 'unknown'}`,
  missing_output: (f) => `Missing output: ${f.detail ?? 'an output this step refers to was not produced'}`,
  unsafe_value: (f) => `Unsafe value: ${f.detail ?? 'a substituted value holds a newline or NUL'}`,
  risk_raised: (f) =>
    `Risk raised: ${f.detail ?? 'with its references resolved the command is rated above the risk it was approved at'}`,
};

/** A reported failure: its code and the message built from it. */
export interface ResultError {
  error_code: ResultErrorCode;
  error: string;
}

export function resultError(code: ResultErrorCode, facts: ResultErrorFacts = {}): ResultError {
  return { error_code: code, error: RESULT_MESSAGES[code](facts) };
}

/** A thrown error as a reported one: an IO error keeps its code; anything else is the engine's own fault. */
export function resultErrorOf(err: unknown): ResultError {
  if (err instanceof ExecutionError && err.code === 'Io')
    return resultError('io', { detail: err.detail ?? err.message });
  return resultError('internal', { detail: err instanceof Error ? err.message : String(err) });
}
