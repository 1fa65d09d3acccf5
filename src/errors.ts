/**
 * The error catalogue, one place for every failure the engine reports (fastify's
 * lib/errors.js is the model): each code with its HTTP status and how its message is built.
 *
 * Two kinds of failure:
 * - thrown: `ExecutionError` (and `ValidationError`) with a stable `code`, raised by the API
 *   (unknown id, duplicate id, approval required, ...); `ERRORS` gives each its HTTP status.
 * - reported: a result that is not a success carries `error_code` (the vocabulary's
 *   `ResultErrorCode`) and an `error` message built here by `resultError`.
 * Callers branch on codes, never on message text. Messages always name the field (validation)
 * or the execution, so a log line is actionable.
 */
import type { ResultErrorCode } from './vocabulary.js';

export type ValidationErrorCode =
  | 'InvalidCommand'
  | 'ScriptNotFound'
  | 'TimeoutTooLarge'
  | 'InvalidWorkingDir'
  | 'MissingField'
  | 'InvalidPlan'
  /** A field is present but has the wrong type or an out-of-range value. */
  | 'InvalidField';

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
  | 'ExecutorNotAvailable';

/** Every thrown code with the HTTP status it answers with (the server reads it from here). */
export const ERRORS: { readonly [C in ExecutionErrorCode]: { readonly status: number } } = {
  Validation: { status: 400 },
  NotFound: { status: 404 },
  Timeout: { status: 504 },
  Cancelled: { status: 409 },
  CommandFailed: { status: 500 },
  SpawnFailed: { status: 500 },
  Io: { status: 500 },
  Serialization: { status: 500 },
  NotCompleted: { status: 409 },
  NotRunning: { status: 409 },
  DuplicateId: { status: 409 },
  ShuttingDown: { status: 503 },
  ApprovalRequired: { status: 409 },
  ApprovalRejected: { status: 409 },
  RollbackFailed: { status: 500 },
  ExecutorNotAvailable: { status: 422 },
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

  static notFound(id: string): ExecutionError {
    return new ExecutionError('NotFound', `Execution not found: ${id}`);
  }
  static timeout(ms: number): ExecutionError {
    return new ExecutionError('Timeout', RESULT_MESSAGES.timeout({ timeoutMs: ms }));
  }
  static cancelled(): ExecutionError {
    return new ExecutionError('Cancelled', RESULT_MESSAGES.cancelled({}));
  }
  /** Work the approval policy holds back; for unverified work the message says what could not be established. */
  static approvalRequired(
    kind: 'plan' | 'command',
    id: string,
    level: string,
    assessment: { verified: boolean; reasons: readonly string[] },
  ): ExecutionError {
    const why =
      assessment.reasons.length > 0
        ? ` (${assessment.verified ? '' : 'unverified: '}${assessment.reasons.join('; ')})`
        : '';
    return new ExecutionError(
      'ApprovalRequired',
      `Approval required but not provided: ${kind} ${id} is ${level}${why}; use executeWithApproval`,
    );
  }
  static commandFailed(exitCode: number): ExecutionError {
    return new ExecutionError('CommandFailed', RESULT_MESSAGES.exit({ exitCode }));
  }
  static spawnFailed(reason: string, cause?: unknown): ExecutionError {
    return new ExecutionError('SpawnFailed', RESULT_MESSAGES.spawn_failed({ detail: reason }), {
      cause,
      detail: reason,
    });
  }
  static io(reason: string, cause?: unknown): ExecutionError {
    return new ExecutionError('Io', RESULT_MESSAGES.io({ detail: reason }), { cause, detail: reason });
  }
  static serialization(reason: string, cause?: unknown): ExecutionError {
    return new ExecutionError('Serialization', `Serialization error: ${reason}`, { cause });
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
    super('Validation', `Validation error: ${describeIssue(first)}${more}`);
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
  queue_unavailable: (f) => `Queue unavailable: ${f.detail ?? 'Redis cannot be reached'}`,
  worker_lost: (f) => `Worker lost: ${f.detail ?? 'the worker running it stopped'}`,
  step_failed: (f) => f.detail ?? 'A step did not complete',
  rollback_failed: (f) => `Rollback failed: ${f.detail ?? 'a rollback command did not complete'}`,
  interrupted: (f) => `Interrupted: ${f.detail ?? 'the engine process ended before this execution finished'}`,
  io: (f) => `IO error: ${f.detail ?? 'the log file could not be written'}`,
  internal: (f) => `Internal error: ${f.detail ?? 'unknown'}`,
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
