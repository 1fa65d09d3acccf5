/**
 * How a dry run runs anything at all: the AWS CLI or the SDK runner only, in a clean
 * environment built from an allow-list — the engine's own locale, home and AWS settings, and
 * from the request only which AWS credentials, profile and region to use. A request's
 * `NODE_OPTIONS`, `PYTHON*`, `PATH`, `BROWSER`, … never reach it. Shared by the dry-run call
 * itself (dry-run.ts) and the read-only look-ups of its blast radius (blast-radius/).
 */
import { isEndpointVariable } from '../command/aws.js';
import type { Invocation } from '../command/invocation.js';
import type { ExecutionConfig } from '../config.js';
import { type ProcessOutcome, runProcess } from '../runner/process.js';
import { OutputCapture } from '../sinks/output-capture.js';
import type { ExecutionRequest } from '../wire/types.js';

/** The engine's own variables a dry run keeps: locale, home (the AWS config lives there) and AWS settings. */
const INHERITED = /^(HOME|USER|LOGNAME|LANG|LANGUAGE|TZ|LC_[A-Z]+|AWS_[A-Z0-9_]+)$/;
/** The only variables a request may set for its dry run: which credentials, profile and region. */
const FROM_REQUEST = new Set([
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
]);
/** Where the AWS CLI's interpreter and helpers are found; never the request's PATH. */
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The environment of a dry run: allow-listed names only (see the module comment). */
export function dryRunEnvironment(
  request: Pick<ExecutionRequest, 'env'>,
  invocation: Invocation,
): Record<string, string> {
  const env: Record<string, string> = { PATH: SYSTEM_PATH };
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && INHERITED.test(name) && !isEndpointVariable(name)) env[name] = value;
  for (const [name, value] of Object.entries(request.env)) if (FROM_REQUEST.has(name)) env[name] = value;
  return { ...env, ...invocation.env };
}

export interface DryRunProcessResult {
  outcome: ProcessOutcome;
  /** Output as captured: stdout and stderr together, in order, bounded to `maxBytes`. */
  text: string;
  /** Stdout alone, whole; null when it was longer than `maxBytes` (a JSON answer cut short is no answer). */
  stdout: string | null;
  stderr: string;
}

/** Run one dry-run invocation (AWS CLI or SDK runner) in the clean environment, with a timeout. */
export async function runDryRunInvocation(
  invocation: Invocation,
  request: Pick<ExecutionRequest, 'env' | 'working_dir'>,
  config: ExecutionConfig,
  options: { timeoutMs: number; maxBytes: number },
): Promise<DryRunProcessResult> {
  const output = new OutputCapture(options.maxBytes);
  const errors = new OutputCapture(8 * 1024);
  const stdout: Buffer[] = [];
  let stdoutBytes = 0;
  const outcome = await runProcess(
    {
      file: invocation.file,
      args: invocation.args,
      env: dryRunEnvironment(request, invocation),
      cwd: request.working_dir ?? undefined,
    },
    {
      timeoutMs: options.timeoutMs,
      killGraceMs: config.kill_grace_ms,
      containment: config.process_containment,
      maxLineBytes: config.max_line_bytes,
      onOutput: (chunk) => {
        output.append(chunk.data);
        if (chunk.stream === 'stderr') errors.append(chunk.data);
        else {
          stdoutBytes += chunk.data.length;
          if (stdoutBytes <= options.maxBytes) stdout.push(Buffer.from(chunk.data));
        }
      },
    },
  );
  return {
    outcome,
    text: output.text('(dry run output is not logged)'),
    stdout: stdoutBytes <= options.maxBytes ? Buffer.concat(stdout).toString('utf8') : null,
    stderr: errors.text('(dry run output is not logged)'),
  };
}
