/**
 * The arguments of the MCP tools, as zod schemas built from the same schemas that validate
 * the HTTP API (plans, requests, the listing filters): their JSON Schemas are what the tools
 * publish. No argument names an approver or carries a decision: the assistant's door proposes,
 * people decide (in the dashboard or over HTTP, signed in as themselves).
 */
import { z } from 'zod';
import { ExecutionMetadataSchema, ExecutionPlanSchema, ExecutionRequestSchema } from '../../wire/schema.js';
import { ListQuery } from '../api-schemas.js';

/** Most a `get_execution` call waits, so a tool call never holds a session for long. */
export const MAX_WAIT_MS = 60_000;
/** Most text `read_log` returns (UTF-8 bytes): about 16k tokens. */
export const MAX_LOG_BYTES = 64 * 1024;
export const DEFAULT_LOG_BYTES = 16 * 1024;
export const MAX_LOG_LINES = 5_000;

const Id = z.string().min(1).max(200);

const work = {
  plan: ExecutionPlanSchema.optional().describe(
    'A plan: `commands` (each a request) and a `strategy` (serial, parallel or dependency graph). Give `plan` or `request`, not both.',
  ),
  request: ExecutionRequestSchema.optional().describe(
    'A single command (run as a plan of one). Give `plan` or `request`, not both.',
  ),
};

export const AssessInput = z.strictObject(work);

export const SubmitInput = z.strictObject({
  ...work,
  // The wire's own fields (metadata.conversation_id, metadata.user_prompt), here required.
  conversation_id: ExecutionMetadataSchema.shape.conversation_id
    .unwrap()
    .unwrap()
    .describe(
      'The conversation this work comes from (a UUID): kept on the execution record, searchable with search_history.',
    ),
  user_prompt: ExecutionMetadataSchema.shape.user_prompt
    .unwrap()
    .unwrap()
    .min(1)
    .describe('What the person asked for, in their words: shown to approvers and kept with the execution.'),
});

export const GetExecutionInput = z.strictObject({
  id: Id.describe('An execution id (a command or a plan) or the approval id submit_plan returned.'),
  wait_ms: z
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .default(0)
    .describe(
      `Wait up to this many milliseconds (at most ${MAX_WAIT_MS}) for it to finish, or for a waiting approval to be decided; answers as soon as that happens. 0: answer at once.`,
    ),
});

export const ReadLogInput = z.strictObject({
  id: Id.describe("An execution id: a command's log, or a plan's (its schedule, then each command's)."),
  tail_lines: z
    .int()
    .min(1)
    .max(MAX_LOG_LINES)
    .optional()
    .describe('The last N lines (default 100). Ignored when from_line is given.'),
  from_line: z.int().min(1).optional().describe('First line to return (1-based), to read a range instead of the tail.'),
  to_line: z.int().min(1).optional().describe('Last line to return (inclusive); default from_line + 199.'),
  max_bytes: z
    .int()
    .min(256)
    .max(MAX_LOG_BYTES)
    .default(DEFAULT_LOG_BYTES)
    .describe(`Most bytes of log text to return (default ${DEFAULT_LOG_BYTES}, at most ${MAX_LOG_BYTES}).`),
});

const filters = ListQuery.shape;

export const SearchHistoryInput = z.strictObject({
  q: z
    .string()
    .trim()
    .min(1)
    .optional()
    .describe('Words to find in commands, descriptions, user prompts and output; omitted: newest first.'),
  status: filters.status,
  risk_level: filters.risk_level,
  error_code: filters.error_code,
  conversation_id: filters.conversation_id.describe('Only the work of one conversation.'),
  kind: filters.kind,
  top_level: z.boolean().optional().describe("Only plans and stand-alone commands (not a plan's own commands)."),
  from: filters.from.describe('Submitted at or after: a date (2026-11-17) or an RFC 3339 time.'),
  to: filters.to.describe('Submitted at or before: a date or an RFC 3339 time.'),
  limit: z.int().min(1).max(100).default(20),
  offset: z.int().min(0).max(1_000_000_000).default(0),
});

export const CancelInput = z.strictObject({
  id: Id.describe('The execution (command or plan) to stop; its whole process tree is ended.'),
});

export const GetApprovalInput = z.strictObject({
  id: Id.describe('The approval id submit_plan returned.'),
});
