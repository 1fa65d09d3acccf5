/**
 * The wire format as zod schemas: snake_case fields, `type` / `event_type` tags,
 * durations in integer milliseconds, timestamps as RFC 3339 strings. One schema serves
 * parsing, the TypeScript types (input = what a caller may omit, output = what the engine
 * stores and serializes) and the published JSON Schema.
 *
 * What a caller writes (requests, plans and every object inside them) is strict: an unknown
 * field is an error naming it and the nearest known name (parse.ts), never silently dropped;
 * `allow_unknown_fields` opts out. Results and events are what the engine writes: a reader
 * keeps accepting fields a newer engine adds.
 */
import { randomUUID } from 'node:crypto';
import { compile as compileJmespath } from '@jmespath-community/jmespath';
import { z } from 'zod';
import { ExecutionKindSchema, ExecutionStatusSchema, ResultErrorCodeSchema, RiskLevelSchema } from '../vocabulary.js';
import {
  OUTPUT_KEY_PATTERN,
  outputRegex,
  PARAMETER_NAME_PATTERN,
  PARAMETER_TYPES,
  parameterProblem,
} from './references.js';
import { MAX_RETRY_PATTERNS, retryPatternProblem, retryPatternsProblem } from './retry-pattern.js';

export { ExecutionStatusSchema, ResultErrorCodeSchema, RiskLevelSchema } from '../vocabulary.js';

// The Rust crate's Uuid parser accepts any 8-4-4-4-12 hex string, not only RFC 4122 variants.
const Id = z.guid();
/** An id the engine generates when the caller leaves it out. */
export const GeneratedId = Id.default(() => randomUUID());
const Timestamp = z.iso.datetime({ offset: true });
const NonEmpty = z.string().min(1, 'must not be empty');
const withoutNul = (s: string) => !s.includes('\0');
/** Environment variables one request may set. */
export const MAX_ENV_VARIABLES = 256;

/** What reaches `spawn` (args, env values) cannot hold a NUL: refuse it here, naming the field. */
const SpawnText = z.string().refine(withoutNul, 'must not contain NUL bytes');
const NoNul = NonEmpty.refine(withoutNul, 'must not contain NUL bytes');
/** Program and interpreter names: a blank one would be spawned as an empty file name. */
const ProgramName = NoNul.refine((s) => s.trim().length > 0, 'must not be blank');

const EnvName = z
  .string()
  .min(1, 'environment variable names must not be empty')
  .refine((s) => !s.includes('=') && !s.includes('\0'), 'environment variable names must not contain "=" or NUL');

/** The longest `metadata.user_prompt` accepted, in characters. */
export const MAX_USER_PROMPT_CHARS = 20_000;

export const ExecutionMetadataSchema = z.strictObject({
  source: z.string().nullable().default(null),
  conversation_id: Id.nullable().default(null),
  /** What the person asked (an AI assistant's user) that led to this work: stored, shown and searchable. */
  user_prompt: z
    .string()
    .max(MAX_USER_PROMPT_CHARS, `must be at most ${MAX_USER_PROMPT_CHARS} characters`)
    .nullable()
    .default(null),
  tags: z.record(z.string(), z.string()).default({}),
});

const defaultMetadata = () => ({ source: null, conversation_id: null, user_prompt: null, tags: {} });

export const ExecCommandSchema = z.strictObject({
  type: z.literal('exec'),
  program: ProgramName,
  args: z.array(SpawnText).default([]),
});

export const ShellCommandSchema = z.strictObject({
  type: z.literal('shell'),
  command: NoNul,
  shell: ProgramName.default('bash'),
});

export const ScriptCommandSchema = z.strictObject({
  type: z.literal('script'),
  path: NoNul,
  interpreter: ProgramName.nullable().default(null),
});

export const AwsCliCommandSchema = z.strictObject({
  type: z.literal('aws_cli'),
  // Lower-case CLI names only: the risk of a call is read from them, so they must name what runs
  // (`-delete-bucket` would otherwise pass as some other verb and run DeleteBucket through the SDK).
  service: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'must be an AWS CLI service name such as "ec2" or "s3api"'),
  operation: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be an AWS CLI operation name such as "describe-instances"'),
  args: z.array(SpawnText).default([]),
  profile: NoNul.nullable().default(null),
  region: NoNul.nullable().default(null),
});

/** An AWS API call through the SDK for JavaScript v3. */
export const SdkCommandSchema = z.strictObject({
  type: z.literal('sdk'),
  /** Client package suffix: `ec2` -> `@aws-sdk/client-ec2`. */
  service: z.string().regex(/^[a-z0-9-]+$/, 'must be an SDK client name such as "ec2" or "s3"'),
  /** API operation in PascalCase, e.g. `DescribeInstances`. */
  operation: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'must be an API operation name such as "DescribeInstances"'),
  parameters: z.record(z.string(), z.unknown()).default({}),
  profile: NoNul.nullable().default(null),
  region: NoNul.nullable().default(null),
});

export const CommandSchema = z.discriminatedUnion('type', [
  ExecCommandSchema,
  ShellCommandSchema,
  ScriptCommandSchema,
  AwsCliCommandSchema,
  SdkCommandSchema,
]);

export const COMMAND_TYPES = ['exec', 'shell', 'script', 'aws_cli', 'sdk'] as const;

export const BackoffSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('fixed'), delay_ms: z.int().nonnegative() }),
  z.strictObject({ type: z.literal('exponential'), base_ms: z.int().positive(), max_ms: z.int().positive() }),
  z.strictObject({ type: z.literal('linear'), increment_ms: z.int().positive(), max_ms: z.int().positive() }),
]);

/** A retryable error pattern: its syntax is checked here; RE2's own compile check is asynchronous (validation/request.ts). */
const RetryPattern = NonEmpty.superRefine((pattern, ctx) => {
  const problem = retryPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Exit codes one retry policy may list. */
export const MAX_RETRY_EXIT_CODES = 32;

/** When and how a failed command is retried. Defaults: 3 attempts, exponential 1 s..30 s, AWS throttling. */
export const RetryConfigSchema = z.strictObject({
  /** Attempts in all, the first one included (1 = no retry). */
  max_attempts: z.int().min(1).default(3),
  backoff: BackoffSchema.default({ type: 'exponential', base_ms: 1_000, max_ms: 30_000 }),
  /**
   * Substrings, or `/regex/flags` (JavaScript syntax without backreferences or lookaround,
   * flags i m s; run by RE2), looked for in the output of a failed attempt.
   */
  retryable_errors: z
    .array(RetryPattern)
    .max(MAX_RETRY_PATTERNS, `at most ${MAX_RETRY_PATTERNS} patterns`)
    .superRefine((patterns, ctx) => {
      const problem = retryPatternsProblem(patterns);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(['ThrottlingException', 'RequestLimitExceeded', 'ServiceUnavailable']),
  /** Each delay varies by up to this fraction either way, so many clients do not retry in step. */
  jitter: z.number().min(0).max(1).default(0.2),
  /** Exit codes that make a failed attempt retryable too, whatever its output says. */
  retryable_exit_codes: z
    .array(z.int().min(1, 'exit codes are 1 to 255').max(255, 'exit codes are 1 to 255'))
    .max(MAX_RETRY_EXIT_CODES, `at most ${MAX_RETRY_EXIT_CODES} exit codes`)
    .refine((codes) => new Set(codes).size === codes.length, 'must not list an exit code twice')
    .default([]),
});

/** What a step name may be: lower-case letters, digits, `_` and `-`, 1 to 64 characters. */
export const STEP_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** A plan step's name: dependencies and substitutions may refer to the step by it, and it is shown instead of the command. */
export const StepNameSchema = z
  .string()
  .regex(STEP_NAME_PATTERN, 'must be 1 to 64 characters of a-z, 0-9, "_" and "-"')
  .refine((name) => !/^\d+$/.test(name), 'must not be only digits (it would read as a step index)');

/**
 * How one output of a step is read once it completed: exactly one of `json` (a JMESPath
 * expression over its stdout parsed as JSON; a result that is not a string is JSON-encoded),
 * `regex` (the one capture group of the first match in its stdout, run by RE2) or `file: true`
 * (the `KEY=value` line the step wrote to the file named by `$CLOUDOPS_OUTPUTS`).
 */
export const StepOutputSchema = z
  .strictObject({
    json: NonEmpty.superRefine((expression, ctx) => {
      try {
        compileJmespath(expression);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `is not a JMESPath expression: ${(err as Error).message}` });
      }
    }).optional(),
    regex: NonEmpty.superRefine((source, ctx) => {
      const parsed = outputRegex(source);
      if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
    }).optional(),
    file: z.literal(true).optional(),
  })
  .refine(
    (output) => [output.json, output.regex, output.file].filter((v) => v !== undefined).length === 1,
    'must have exactly one of "json", "regex" or "file"',
  );

const requestFields = {
  id: GeneratedId,
  command: CommandSchema,
  /**
   * The step's name, unique within its plan: dependencies (and substitutions) may refer to the
   * step by it, and displays show it instead of the command.
   */
  name: StepNameSchema.nullable().default(null),
  // Bounded: every secret-named variable becomes a pattern that output and answers are searched for.
  env: z
    .record(EnvName, SpawnText)
    .refine(
      (env) => Object.keys(env).length <= MAX_ENV_VARIABLES,
      `at most ${MAX_ENV_VARIABLES} environment variables per request`,
    )
    .default({}),
  working_dir: NoNul.nullable().default(null),
  timeout_ms: z.int().positive('must be a positive number of milliseconds').nullable().default(null),
  /** Where to write this execution's log instead of `<log_dir>/<id>.log`. */
  output_log_path: NoNul.nullable().default(null),
  metadata: ExecutionMetadataSchema.default(defaultMetadata),
  /** Human-readable purpose, shown to approvers. */
  description: z.string().nullable().default(null),
  /** Declared risk: raises the assessed level, never lowers it. */
  risk_level: RiskLevelSchema.nullable().default(null),
  /** Retry policy for this command; null uses the engine's. */
  retry: RetryConfigSchema.nullable().default(null),
  /** What this step produces for later steps (`${{ steps.NAME.outputs.KEY }}`), by key. */
  outputs: z
    .record(z.string().regex(OUTPUT_KEY_PATTERN, 'output keys must match [A-Za-z_][A-Za-z0-9_]*'), StepOutputSchema)
    .default({}),
};

/** A rollback step: a request of its own, without nested rollbacks. */
export const RollbackRequestSchema = z.strictObject(requestFields);

export const ExecutionRequestSchema = z.strictObject({
  ...requestFields,
  /** Commands that undo this one, run in order when its plan rolls back. */
  rollback: z.array(RollbackRequestSchema).default([]),
});

export const SerialStrategySchema = z.strictObject({
  type: z.literal('serial'),
  stop_on_error: z.boolean().default(true),
});

/**
 * The error budget of a parallel or dependency-graph plan: once this many steps have failed
 * (status `failed` or `timeout`), no new step starts (scheduler/graph-runner.ts). A count, or
 * a percentage of the plan's steps rounded down ("10%"); 0 acts as 1; null: no budget.
 */
export const MaxFailuresSchema = z
  .union(
    [
      z.int().nonnegative('must be a number of steps, 0 or more (or a percentage such as "10%")'),
      z.string().regex(/^(100|[1-9]?\d)%$/, 'must be a whole percentage from "0%" to "100%" (such as "10%")'),
    ],
    {
      error: 'must be a number of steps (0 or more) or a percentage of the steps from "0%" to "100%"',
    },
  )
  .nullable()
  .default(null);

export const ParallelStrategySchema = z.strictObject({
  type: z.literal('parallel'),
  /** `null` means no plan-level limit; the engine-wide `max_concurrent_executions` still applies. */
  max_concurrency: z.int().positive('must be at least 1 (use null for no limit)').nullable().default(null),
  max_failures: MaxFailuresSchema,
});

export const DependencyGraphStrategySchema = z.strictObject({
  type: z.literal('dependency_graph'),
  /**
   * Step -> steps it depends on, each as a command index or a step `name` (JSON object keys are
   * strings: `"2"` is index 2). The engine resolves names to indices when it builds the graph.
   */
  dependencies: z
    .record(
      z.string().regex(/^(0|[1-9]\d*|(?!\d+$)[a-z0-9_-]{1,64})$/, 'keys must be command indices or step names'),
      z.array(
        z.union([z.int().nonnegative(), StepNameSchema], {
          error: 'must be a command index (0 or more) or a step name',
        }),
      ),
    )
    .default({}),
  max_failures: MaxFailuresSchema,
});

export const ExecutionStrategySchema = z.discriminatedUnion('type', [
  SerialStrategySchema,
  ParallelStrategySchema,
  DependencyGraphStrategySchema,
]);

export const RollbackStrategySchema = z.enum([
  /** Roll back only when `rollback(id)` is called. */
  'manual',
  /** Roll back the completed steps as soon as the plan fails. */
  'on_failure',
]);

const ParameterValueSchema = z.union([z.string(), z.number(), z.boolean()]);

/** A plan parameter: its type, and a default (without one, a value must be given). */
export const ParameterSchema = z
  .strictObject({
    type: z.enum(PARAMETER_TYPES).default('string'),
    default: ParameterValueSchema.nullable().default(null),
    /** The only values allowed, when set. */
    enum: z.array(ParameterValueSchema).min(1, 'must list at least one value').nullable().default(null),
    description: z.string().nullable().default(null),
  })
  .superRefine((parameter, ctx) => {
    parameter.enum?.forEach((value, i) => {
      const problem = parameterProblem(parameter.type, null, value);
      if (problem) ctx.addIssue({ code: 'custom', path: ['enum', i], message: problem });
    });
    if (parameter.default === null) return;
    const problem = parameterProblem(parameter.type, parameter.enum, parameter.default);
    if (problem) ctx.addIssue({ code: 'custom', path: ['default'], message: problem });
  });

/** Which earlier run a plan resumes, and which of its steps are carried over from it. */
export const ResumeSchema = z.strictObject({
  /** The plan execution this one resumes. */
  plan_id: Id,
  /** Indices of the steps that completed there and are not run again. */
  carried: z.array(z.int().nonnegative()).default([]),
});

export const ExecutionPlanSchema = z.strictObject({
  id: GeneratedId,
  description: z.string().default(''),
  strategy: ExecutionStrategySchema.default({ type: 'serial', stop_on_error: true }),
  commands: z.array(ExecutionRequestSchema).min(1, 'a plan needs at least one command'),
  metadata: ExecutionMetadataSchema.default(defaultMetadata),
  /** Declared risk of the whole plan: raises the assessed level, never lowers it. */
  risk_level: RiskLevelSchema.nullable().default(null),
  rollback_strategy: RollbackStrategySchema.default('manual'),
  estimated_duration_ms: z.int().nonnegative().nullable().default(null),
  /** What the plan takes (`${{ params.NAME }}`), by name. */
  parameters: z
    .record(z.string().regex(PARAMETER_NAME_PATTERN, 'parameter names must match [a-z_][a-z0-9_]*'), ParameterSchema)
    .default({}),
  /** The parameter values given for this run (checked against `parameters` before anything runs). */
  params: z.record(z.string(), ParameterValueSchema).default({}),
  /**
   * Set when this run resumes an earlier run of the same plan: the steps listed in `carried`
   * (indices) completed there and are not run again; their results and outputs are carried over.
   */
  resumed_from: ResumeSchema.nullable().default(null),
});

/** One attempt that failed with a retryable error and was retried. */
export const AttemptSchema = z.object({
  attempt: z.int().positive(),
  exit_code: z.int(),
  error: z.string().nullable(),
  /** Why it was retried: the retryable pattern found in its output, or `exit code N` for a listed exit code. */
  retry_reason: z.string(),
  started_at: Timestamp,
  duration_ms: z.int().nonnegative(),
  /** The wait before the next attempt. */
  delay_ms: z.int().nonnegative(),
});

export const ExecutionResultSchema = z.object({
  id: Id,
  status: ExecutionStatusSchema,
  /** The process exit code; -1 when it was killed by a signal or never started. */
  exit_code: z.int(),
  stdout: z.string(),
  stderr: z.string(),
  duration_ms: z.int().nonnegative(),
  started_at: Timestamp,
  completed_at: Timestamp.nullable(),
  log_path: z.string(),
  error: z.string().nullable(),
  /** Why it is not a success, as a code to branch on; null exactly when `error` is. */
  error_code: ResultErrorCodeSchema.nullable().default(null),
  /** Signal that ended the process (e.g. `SIGTERM`), if any. */
  signal: z.string().nullable().default(null),
  /** True when `stdout` / `stderr` were cut to the engine's `max_output_bytes`; the log file has everything. */
  stdout_truncated: z.boolean().default(false),
  stderr_truncated: z.boolean().default(false),
  /** How many times the command ran (more than 1 after retries); 0 if it never started. */
  attempts: z.int().nonnegative().default(1),
  /** The attempts before the last one, when it was retried (the result itself describes the last). */
  previous_attempts: z.array(AttemptSchema).default([]),
  /** The outputs the step declared and produced (`${{ steps.NAME.outputs.KEY }}`); one that could not be read is absent. */
  outputs: z.record(z.string(), z.string()).default({}),
  /** Set when a resumed plan carried this step over: the execution that ran it (nothing ran again). */
  carried_from: Id.nullable().default(null),
});

export const ExecutionStatsSchema = z.object({
  total: z.int().nonnegative(),
  completed: z.int().nonnegative(),
  failed: z.int().nonnegative(),
  cancelled: z.int().nonnegative(),
  timeout: z.int().nonnegative(),
  skipped: z.int().nonnegative().default(0),
  rolled_back: z.int().nonnegative().default(0),
  interrupted: z.int().nonnegative().default(0),
});

export const PlanExecutionResultSchema = z.object({
  plan_id: Id,
  status: ExecutionStatusSchema,
  results: z.array(ExecutionResultSchema),
  total_duration_ms: z.int().nonnegative(),
  stats: ExecutionStatsSchema,
  started_at: Timestamp.nullable().default(null),
  completed_at: Timestamp.nullable().default(null),
  /** Results of the rollback commands, in the order they ran (empty if there was no rollback). */
  rollback_results: z.array(ExecutionResultSchema).default([]),
  /** Why the plan (or its rollback) did not end as hoped. */
  error: z.string().nullable().default(null),
  /** Why it is not a success (`step_failed`, `rollback_failed`, `cancelled`, ...); null exactly when `error` is. */
  error_code: ResultErrorCodeSchema.nullable().default(null),
  /** The plan execution this one resumed (see the plan's `resumed_from`); null for a first run. */
  resumed_from: Id.nullable().default(null),
});

export const ExecutionSummarySchema = z.object({
  id: Id,
  kind: ExecutionKindSchema,
  status: ExecutionStatusSchema,
  /** Display form of the command (or the plan's description). */
  command: z.string(),
  /** Set for commands that belong to a plan. */
  plan_id: Id.nullable(),
  submitted_at: Timestamp,
  started_at: Timestamp.nullable(),
  duration_ms: z.int().nonnegative().nullable(),
});

export const ExecutionEventSchema = z.discriminatedUnion('event_type', [
  z.object({
    event_type: z.literal('started'),
    execution_id: Id,
    command: z.string(),
    /** The step's name, when its request has one. */
    name: z.string().nullable().default(null),
    timestamp: Timestamp,
  }),
  z.object({ event_type: z.literal('stdout'), execution_id: Id, line: z.string(), timestamp: Timestamp }),
  z.object({ event_type: z.literal('stderr'), execution_id: Id, line: z.string(), timestamp: Timestamp }),
  z.object({
    event_type: z.literal('completed'),
    execution_id: Id,
    result: ExecutionResultSchema,
    timestamp: Timestamp,
  }),
  z.object({
    event_type: z.literal('failed'),
    execution_id: Id,
    error: z.string(),
    /** The result's `error_code`: why, as a fact (`timeout`, `exit`, ...). */
    error_code: ResultErrorCodeSchema.nullable().default(null),
    timestamp: Timestamp,
  }),
  z.object({ event_type: z.literal('cancelled'), execution_id: Id, timestamp: Timestamp }),
  z.object({
    event_type: z.literal('progress'),
    plan_id: Id,
    completed: z.int().nonnegative(),
    total: z.int().nonnegative(),
    current_command: z.string().nullable().default(null),
    timestamp: Timestamp,
  }),
  // Retries and rollback:
  z.object({
    event_type: z.literal('retrying'),
    execution_id: Id,
    /** The attempt that just failed (1-based). */
    attempt: z.int().positive(),
    max_attempts: z.int().positive(),
    delay_ms: z.int().nonnegative(),
    /** Why: the retryable pattern found in the output, or `exit code N` for a listed exit code. */
    reason: z.string(),
    timestamp: Timestamp,
  }),
  z.object({ event_type: z.literal('rollback_started'), execution_id: Id, timestamp: Timestamp }),
  z.object({
    event_type: z.literal('rollback_completed'),
    execution_id: Id,
    /** Results of the rollback commands, in the order they ran. */
    results: z.array(ExecutionResultSchema),
    status: ExecutionStatusSchema,
    timestamp: Timestamp,
  }),
]);

/** Every event type, read from the event schema itself (one definition). */
export const EVENT_TYPES = ExecutionEventSchema.options.map((option) => option.shape.event_type.value);
/** The event types that carry one output line; every other event is about an execution's lifecycle. */
export const LINE_EVENT_TYPES: readonly ExecutionEventType[] = ['stdout', 'stderr'];
type ExecutionEventType = (typeof EVENT_TYPES)[number];
