export { ExecutionEngine, type ShutdownOptions, type SubmitOptions } from './engine/engine.js';
export { DEFAULT_CONFIG, ExecutionConfigSchema, resolveConfig, type ExecutionConfig, type ExecutionConfigInput } from './config.js';
export {
  ExecutionError,
  ValidationError,
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
export { displayCommand } from './runner/invocation.js';
export { JSON_SCHEMA_NAMES, jsonSchemaOf, type JsonSchemaName } from './wire/json-schema.js';
