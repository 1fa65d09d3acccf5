export type { ExecutorType } from './command/aws.js';
export { displayCommand } from './command/display.js';
export {
  DEFAULT_CONFIG,
  type ExecutionConfig,
  type ExecutionConfigInput,
  ExecutionConfigSchema,
  resolveConfig,
} from './config.js';
export { createEngine } from './create-engine.js';
export { type DryRunCommandResult, type DryRunResult, dryRunPlan } from './engine/dry-run.js';
export { type EngineOptions, ExecutionEngine, type ShutdownOptions, type SubmitOptions } from './engine/engine.js';
export {
  ERRORS,
  ExecutionError,
  type ExecutionErrorCode,
  type ExecutionErrorFacts,
  type ResultError,
  type ResultErrorFacts,
  resultError,
  ValidationError,
  type ValidationErrorCode,
  type ValidationIssue,
} from './errors.js';
export type {
  AttemptEnd,
  AttemptObserver,
  AttemptOutcome,
  AttemptSpec,
  CapturedOutput,
  CommandExecutor,
} from './executor/contract.js';
export { LocalExecutor } from './executor/local.js';
export {
  type ApprovalConfig,
  type ApprovalConfigInput,
  ApprovalConfigSchema,
  type ApprovalDecision,
  type ApprovalDecisionInput,
  ApprovalDecisionSchema,
  type ApprovalMetadata,
  type ApprovalRequest,
  ApprovalWorkflow,
  type Approver,
  assessRisk,
  type CommandSummary,
  type ProcessedApproval,
  planRisk,
  requestRisk,
} from './policy/approval.js';
export { isSecretName, REDACTED } from './policy/redaction.js';
export {
  backoffDelay,
  DEFAULT_RETRY,
  type RetryConfig,
  type RetryConfigInput,
  retryableMatch,
} from './policy/retry.js';
export { assessCommandRisk, awsOperationRisk, maxRisk, RISK_LEVELS, type RiskLevel } from './policy/risk.js';
export type { EventHandler, EventHandlerLike, EventListener, SubscribeOptions } from './sinks/event-bus.js';
export { validatePlan } from './validation/plan.js';
export { validateRequest } from './validation/request.js';
export {
  ACTIVE_STATUSES,
  APPROVAL_STATES,
  type ApprovalState,
  EXECUTION_STATUSES,
  type ExecutionKind,
  RESULT_ERROR_CODES,
  type ResultErrorCode,
} from './vocabulary.js';
export { JSON_SCHEMA_NAMES, type JsonSchemaName, jsonSchemaOf } from './wire/json-schema.js';
export { parseEvent, parsePlan, parsePlanResult, parseRequest, parseResult, serialize } from './wire/parse.js';
export * from './wire/schema.js';
export * from './wire/types.js';
