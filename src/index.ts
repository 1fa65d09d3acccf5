export { ExecutionEngine, type EngineOptions, type ShutdownOptions, type SubmitOptions } from './engine/engine.js';
export { createEngine } from './create-engine.js';
export type { AttemptEnd, AttemptObserver, AttemptOutcome, AttemptSpec, CommandExecutor } from './executor/contract.js';
export { LocalExecutor } from './executor/local.js';
export { DEFAULT_CONFIG, ExecutionConfigSchema, resolveConfig, type ExecutionConfig, type ExecutionConfigInput } from './config.js';
export {
  APPROVAL_STATES,
  ACTIVE_STATUSES,
  EXECUTION_STATUSES,
  RESULT_ERROR_CODES,
  type ApprovalState,
  type ExecutionKind,
  type ResultErrorCode,
} from './vocabulary.js';
export {
  ERRORS,
  ExecutionError,
  resultError,
  ValidationError,
  type ResultError,
  type ExecutionErrorCode,
  type ValidationErrorCode,
  type ValidationIssue,
} from './errors.js';
export type { EventHandler, EventHandlerLike, EventListener, SubscribeOptions } from './sinks/event-bus.js';
export { parseEvent, parsePlan, parsePlanResult, parseRequest, parseResult, serialize } from './wire/parse.js';
export * from './wire/schema.js';
export * from './wire/types.js';
export { validatePlan } from './validation/plan.js';
export { validateRequest } from './validation/request.js';
export { displayCommand } from './command/display.js';
export { JSON_SCHEMA_NAMES, jsonSchemaOf, type JsonSchemaName } from './wire/json-schema.js';
export {
  ApprovalConfigSchema,
  ApprovalDecisionSchema,
  ApprovalWorkflow,
  assessRisk,
  planRisk,
  requestRisk,
  type ApprovalConfig,
  type ApprovalConfigInput,
  type ApprovalDecision,
  type ApprovalDecisionInput,
  type ApprovalMetadata,
  type ApprovalRequest,
  type Approver,
  type CommandSummary,
  type ProcessedApproval,
} from './policy/approval.js';
export { dryRunPlan, type DryRunCommandResult, type DryRunResult } from './engine/dry-run.js';
export { assessCommandRisk, awsOperationRisk, maxRisk, RISK_LEVELS, type RiskLevel } from './policy/risk.js';
export { backoffDelay, DEFAULT_RETRY, retryableMatch, type RetryConfig, type RetryConfigInput } from './policy/retry.js';
export { isSecretName, REDACTED } from './policy/redaction.js';
export { type ExecutorType } from './command/aws.js';
