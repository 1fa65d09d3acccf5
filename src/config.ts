/**
 * Engine configuration: what the engine runs with and its defaults, plus the bounds a
 * production engine needs (memory caps, kill grace). Validated like any other input.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ValidationError } from './errors.js';
import { ApprovalConfigSchema } from './policy/approval.js';
import { RedisConfigSchema } from './redis-config.js';
import { defaultAwsCliPath } from './runner/aws-cli-path.js';
import { ExecutorTypeSchema } from './vocabulary.js';
import { parseWith } from './wire/parse.js';
import { RetryConfigSchema } from './wire/schema.js';

const PositiveInt = z.int().positive();

export { defaultAwsCliPath };

/**
 * What a dry run looks up about the resources a command would change (its blast radius), with
 * read-only AWS calls only; see src/engine/blast-radius/.
 */
export const BlastRadiusConfigSchema = z.strictObject({
  /**
   * Tags that mark production: a resource with one of `keys` set to one of `values` (both
   * compared case-insensitively) gets a `production_resource` warning.
   */
  production_tags: z
    .strictObject({
      keys: z.array(z.string().min(1)).default(['env', 'environment', 'stage']),
      values: z.array(z.string().min(1)).default(['prod', 'production', 'prd']),
    })
    .prefault({}),
  /** A command touching more resources than this gets a `many_resources` warning. */
  many_resources: PositiveInt.default(10),
  /** Read-only calls one command's look-ups may make; what is left is reported unresolved. */
  max_calls_per_command: PositiveInt.default(20),
  /** How long one read-only call may take. */
  call_timeout_ms: PositiveInt.default(15_000),
  /** How long all look-ups of one command may take; what is left then is not looked up. */
  command_deadline_ms: PositiveInt.default(30_000),
  /** How long all look-ups of one plan may take. */
  plan_deadline_ms: PositiveInt.default(60_000),
});
export type BlastRadiusConfig = z.output<typeof BlastRadiusConfigSchema>;

// Strict, like its nested parts (approval, redis, retry): a misspelt option (`aws_endpoint_ur`) is an
// error naming it and the nearest known one, never a default silently kept (`allow_unknown_fields`
// is for plans and requests, not for the engine's own configuration).
export const ExecutionConfigSchema = z.strictObject({
  /** Timeout for requests that set none (default: 2 minutes). */
  default_timeout_ms: PositiveInt.default(120_000),
  /** Largest timeout a request may ask for (default: 10 minutes). */
  max_timeout_ms: PositiveInt.default(600_000),
  /** Emit `stdout` / `stderr` line events. Logs and results are kept either way. */
  stream_output: z.boolean().default(true),
  /** Where log files go; null means the per-user state dir (see `defaultLogDir`). */
  log_dir: z.string().min(1).nullable().default(null),
  /** Executions running at once; more are queued as `pending`, never rejected. */
  max_concurrent_executions: PositiveInt.default(10),
  /** Output kept in memory per stream for `ExecutionResult.stdout/stderr`; the log file keeps all. */
  max_output_bytes: PositiveInt.default(4 * 1024 * 1024),
  /** Longer lines are split into pieces of at most this many bytes (on character boundaries). */
  max_line_bytes: PositiveInt.default(1024 * 1024),
  /** Grace between SIGTERM and SIGKILL when cancelling or timing out. */
  kill_grace_ms: z.int().nonnegative().default(5_000),
  /**
   * How a command's descendants are kept from outliving it: `pid_namespace` (a PID namespace
   * per command: nothing escapes; commands see namespace pids), `process_group` (group + /proc
   * walk; a double-forked daemon escapes), `auto` (namespace when running as root and it works).
   */
  process_containment: z.enum(['auto', 'pid_namespace', 'process_group']).default('auto'),
  /**
   * AWS CLI binary for `aws_cli` commands. Default: Debian's `/usr/bin/aws` (v2) when it
   * exists, chosen deliberately over whatever `aws` (often a pip v1) comes first on PATH.
   */
  aws_cli_path: z
    .string()
    .min(1)
    .default(() => defaultAwsCliPath()),
  /**
   * The approval policy. When set, every submission is checked:
   * a plan that needs approval runs only through `executeWithApproval`. Null: no policy.
   */
  approval: ApprovalConfigSchema.nullable().default(null),
  /** Retry policy for commands whose request sets none; null: no retries. */
  retry: RetryConfigSchema.nullable().default(null),
  /** Keep every execution in the embedded history store (`history`, `searchExecutions`). */
  store_history: z.boolean().default(true),
  /** The history database; null means `<log_dir>/history.sqlite`. */
  history_path: z.string().min(1).nullable().default(null),
  /** Replace values of secret-looking environment variables in events, logs and results. */
  redact_secrets: z.boolean().default(true),
  /** `auto` runs aws_cli through the CLI and sdk through the SDK; `cli`/`sdk` force one. */
  default_executor: ExecutorTypeSchema.default('auto'),
  /**
   * Send AWS calls (CLI and SDK) to this endpoint instead of AWS, e.g. a local emulator. When
   * null, each AWS command's endpoint is AWS_ENDPOINT_URL from
   * its request's env, else from the engine's environment, else AWS; whichever it is, the CLI
   * (`--endpoint-url`) and the SDK are both given it, and the displayed command names it.
   */
  aws_endpoint_url: z.url().nullable().default(null),
  /**
   * Profile and region for AWS commands that name none (neither in the command nor as
   * AWS_PROFILE / AWS_REGION in the request's env); null leaves it to the AWS environment.
   */
  aws_profile: z.string().min(1).nullable().default(null),
  aws_region: z.string().min(1).nullable().default(null),
  /** Finished executions kept in memory for `getResult`/`listExecutions`; oldest are forgotten first. */
  max_retained_executions: PositiveInt.default(10_000),
  /**
   * Largest plan accepted: commands plus their rollback steps. Checked before any per-command
   * work (each command costs parsing, validation, tracking and a history row).
   */
  max_plan_commands: PositiveInt.default(10_000),
  /**
   * Accept requests and plans with fields this version does not know (they are dropped), for a
   * program that must read plans written for a newer version. Default: an unknown field is an
   * error naming it and the nearest known name (a typo such as `stop_on_eror` is never ignored).
   */
  allow_unknown_fields: z.boolean().default(false),
  /** Events buffered per slow subscriber before line events are dropped (lifecycle events never are). */
  event_buffer_limit: PositiveInt.default(10_000),
  /** How long one handler call may take before the engine stops waiting for it. */
  handler_timeout_ms: PositiveInt.default(10_000),
  /**
   * Scale-out: commands are queued in Redis (BullMQ) and run by `cloudops-exec worker`
   * processes on any machine, instead of being spawned here. Null (default): run locally.
   */
  redis: RedisConfigSchema.nullable().default(null),
  /** The look-ups of a dry run (what each command would touch); see BlastRadiusConfigSchema. */
  blast_radius: BlastRadiusConfigSchema.prefault({}),
});

export type ExecutionConfig = z.output<typeof ExecutionConfigSchema>;
export type ExecutionConfigInput = z.input<typeof ExecutionConfigSchema>;

/** `ExecutionConfig::default()`. */
export const DEFAULT_CONFIG: Readonly<ExecutionConfig> = Object.freeze(ExecutionConfigSchema.parse({}));

export function resolveConfig(input: ExecutionConfigInput = {}): ExecutionConfig {
  let config: ExecutionConfig;
  try {
    config = parseWith(ExecutionConfigSchema, input);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(err.issues.map((i) => ({ ...i, field: i.field ? `config.${i.field}` : 'config' })));
  }
  if (config.default_timeout_ms > config.max_timeout_ms) {
    throw ValidationError.of(
      'TimeoutTooLarge',
      'config.default_timeout_ms',
      `${config.default_timeout_ms}ms > ${config.max_timeout_ms}ms (max_timeout_ms)`,
    );
  }
  return config;
}

/** Default log dirs this process has made (or found) already. */
const madeStateDirs = new Set<string>();

/**
 * The default log dir: per user, `$XDG_STATE_HOME/cloudops-execution-engine`, else
 * `~/.local/state/cloudops-execution-engine`, made with mode 0700. Not a shared temp path:
 * there another user could plant a `server-token` or read what the history holds.
 */
export function defaultLogDir(): string {
  const xdg = process.env.XDG_STATE_HOME;
  // The XDG spec says a relative value is invalid and to be ignored.
  const dir = join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state'), 'cloudops-execution-engine');
  if (!madeStateDirs.has(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      madeStateDirs.add(dir);
    } catch {
      // Whatever writes there next reports why it cannot.
    }
  }
  return dir;
}

export function logDirOf(config: ExecutionConfig): string {
  return config.log_dir ?? defaultLogDir();
}

export function historyPathOf(config: ExecutionConfig): string {
  return config.history_path ?? join(logDirOf(config), 'history.sqlite');
}

/** Where the log of execution `id` goes unless its request names another file. */
export function logPathOf(config: ExecutionConfig, id: string): string {
  return join(logDirOf(config), `${id}.log`);
}
