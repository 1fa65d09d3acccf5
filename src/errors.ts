/**
 * Typed errors. Codes are the seed's variant names so they stay stable across the Rust
 * and TypeScript versions; messages follow the seed's wording and always name the field
 * (for validation) or the execution id (for engine errors) so a log line is actionable.
 */

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

export class ExecutionError extends Error {
  readonly code: ExecutionErrorCode;

  constructor(code: ExecutionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExecutionError';
    this.code = code;
  }

  static notFound(id: string): ExecutionError {
    return new ExecutionError('NotFound', `Execution not found: ${id}`);
  }
  static timeout(ms: number): ExecutionError {
    return new ExecutionError('Timeout', `Execution timeout after ${ms}ms`);
  }
  static cancelled(): ExecutionError {
    return new ExecutionError('Cancelled', 'Execution cancelled');
  }
  /** Work the approval policy holds back; for unverified work the message says what could not be established. */
  static approvalRequired(kind: 'plan' | 'command', id: string, level: string, assessment: { verified: boolean; reasons: readonly string[] }): ExecutionError {
    const why = assessment.reasons.length > 0 ? ` (${assessment.verified ? '' : 'unverified: '}${assessment.reasons.join('; ')})` : '';
    return new ExecutionError('ApprovalRequired', `Approval required but not provided: ${kind} ${id} is ${level}${why}; use executeWithApproval`);
  }
  static commandFailed(exitCode: number): ExecutionError {
    return new ExecutionError('CommandFailed', `Command failed with exit code ${exitCode}`);
  }
  static spawnFailed(reason: string, cause?: unknown): ExecutionError {
    return new ExecutionError('SpawnFailed', `Process spawn failed: ${reason}`, { cause });
  }
  static io(reason: string, cause?: unknown): ExecutionError {
    return new ExecutionError('Io', `IO error: ${reason}`, { cause });
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

const SEED_PREFIX: Record<ValidationErrorCode, string> = {
  InvalidCommand: 'Invalid command format',
  ScriptNotFound: 'Script file not found',
  TimeoutTooLarge: 'Timeout exceeds maximum allowed',
  InvalidWorkingDir: 'Invalid working directory',
  MissingField: 'Missing required field',
  InvalidPlan: 'Invalid execution plan',
  InvalidField: 'Invalid field',
};

/**
 * `ExecutionError::Validation(ValidationError)` flattened into one class: `instanceof
 * ExecutionError` still holds (code `Validation`), and `kind` carries the seed's variant.
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
  return `${SEED_PREFIX[issue.code]}: ${issue.reason}${where}`;
}
