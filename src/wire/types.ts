/**
 * TypeScript types of the wire objects. `*Input` types are what callers may write (defaults
 * may be omitted); the plain names are the normalized objects the engine stores and emits.
 */
import type { z } from 'zod';
import type * as S from './schema.js';

export type ExecutionMetadata = z.output<typeof S.ExecutionMetadataSchema>;
export type Command = z.output<typeof S.CommandSchema>;
export type CommandInput = z.input<typeof S.CommandSchema>;
export type ExecCommand = z.output<typeof S.ExecCommandSchema>;
export type ShellCommand = z.output<typeof S.ShellCommandSchema>;
export type ScriptCommand = z.output<typeof S.ScriptCommandSchema>;
export type AwsCliCommand = z.output<typeof S.AwsCliCommandSchema>;
export type CommandType = Command['type'];

export type ExecutionRequest = z.output<typeof S.ExecutionRequestSchema>;
export type ExecutionRequestInput = z.input<typeof S.ExecutionRequestSchema>;
export type ExecutionStrategy = z.output<typeof S.ExecutionStrategySchema>;
export type ExecutionStrategyInput = z.input<typeof S.ExecutionStrategySchema>;
export type ExecutionPlan = z.output<typeof S.ExecutionPlanSchema>;
export type ExecutionPlanInput = z.input<typeof S.ExecutionPlanSchema>;

export type ExecutionStatus = z.output<typeof S.ExecutionStatusSchema>;
export type ExecutionResult = z.output<typeof S.ExecutionResultSchema>;
export type Attempt = z.output<typeof S.AttemptSchema>;
export type ExecutionStats = z.output<typeof S.ExecutionStatsSchema>;
export type PlanExecutionResult = z.output<typeof S.PlanExecutionResultSchema>;
export type ExecutionSummary = z.output<typeof S.ExecutionSummarySchema>;
export type ExecutionEvent = z.output<typeof S.ExecutionEventSchema>;
export type ExecutionEventType = ExecutionEvent['event_type'];
export type EventOf<T extends ExecutionEventType> = Extract<ExecutionEvent, { event_type: T }>;

export { TERMINAL_STATUSES } from '../vocabulary.js';
