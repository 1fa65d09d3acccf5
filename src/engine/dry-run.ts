/**
 * Dry runs: what a plan would do, without doing it. EC2 operations (CLI or SDK) are sent
 * with their own dry-run flag, and AWS answers `DryRunOperation` when the call would have
 * succeeded; every other command is described instead (full argv, env names without their
 * values, working dir) and never run.
 *
 * A dry run happens before anyone approved anything, so it runs nothing the requester
 * controls beyond the AWS call itself: only the configured binaries (the AWS CLI, or this
 * Node with the SDK runner), in a clean environment built from an allow-list — the engine's
 * own locale, home and AWS settings, and from the request only which AWS credentials, profile
 * and region to use. A request's `NODE_OPTIONS`, `PYTHON*`, `PATH`, `BROWSER`, … never reach it.
 */

import { isEndpointVariable } from '../command/aws.js';
import { type Invocation, resolveInvocation } from '../command/invocation.js';
import type { ExecutionConfig } from '../config.js';
import { ApprovalWorkflow, assessRequest } from '../policy/approval.js';
import { redactorFor, secretsOf } from '../policy/redaction.js';
import { operationVerb, type RiskAssessment, type RiskLevel } from '../policy/risk.js';
import { type ProcessSpec, runProcess } from '../runner/process.js';
import { OutputCapture } from '../sinks/output-capture.js';
import type { Command, ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import { beforeRun } from './step-outputs.js';

export interface DryRunCommandResult {
  id: string;
  command: string;
  /** The level the approval policy applies (unverified work at its `unverified_risk`). */
  risk_level: RiskLevel;
  /** False when what the command does could not be established; `risk_reasons` says why. */
  verified: boolean;
  risk_reasons: string[];
  /** `aws_dry_run`: AWS was asked with its dry-run flag; `description`: nothing was run. */
  method: 'aws_dry_run' | 'description';
  /** AWS's verdict for `aws_dry_run`; null when nothing was asked. */
  would_succeed: boolean | null;
  description: string;
  argv: string[];
  /** Names only: values may be secrets. */
  env_names: string[];
  working_dir: string | null;
  /** What AWS answered (redacted), for `aws_dry_run`. */
  output: string | null;
}

export interface DryRunResult {
  plan_id: string;
  risk_level: RiskLevel;
  verified: boolean;
  commands: DryRunCommandResult[];
}

const DRY_RUN_TIMEOUT_MS = 60_000;
const DRY_RUN_OUTPUT_BYTES = 16 * 1024;

/** A command AWS could dry-run, but not safely as written: why it is not run at all. */
export interface DryRunRefused {
  not_run: string;
}

/** `--name` or `--name=value` as written: the name (the AWS CLI takes any unique prefix of a flag). */
function flagName(arg: string): string | null {
  if (!arg.startsWith('--')) return null;
  const eq = arg.indexOf('=');
  return eq === -1 ? arg : arg.slice(0, eq);
}

/** Whether `name` is `full` or an abbreviation of it at least `min` characters long. */
function abbreviates(name: string, full: string, min: number): boolean {
  return name.length >= min && full.startsWith(name);
}

/**
 * EC2 CLI args with DryRun set: `--no-dry-run` removed, and `DryRun: true` inside every
 * `--cli-input-json` (whose `"DryRun": false` would otherwise win over `--dry-run`); `--dry-run`
 * appended when there is no JSON to carry it. Input the dry run cannot rewrite ahead — YAML,
 * JSON read from a file or URL when run, JSON that does not parse — is refused.
 */
function ec2DryRunArgs(args: readonly string[]): string[] | DryRunRefused {
  const out: string[] = [];
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = flagName(arg);
    if (name === null) {
      out.push(arg);
      continue;
    }
    // --dry-run is added below; --no-dry-run must not undo it.
    if (abbreviates(name, '--dry-run', 4) || abbreviates(name, '--no-dry-run', 7)) continue;
    if (abbreviates(name, '--cli-input-yaml', '--cli-input-y'.length))
      return { not_run: `${name} input could set DryRun to false, and only JSON input can be rewritten ahead` };
    if (!abbreviates(name, '--cli-input-json', '--cli-i'.length)) {
      out.push(arg);
      continue;
    }
    if (name.length < '--cli-input-j'.length)
      return { not_run: `${name} is ambiguous (--cli-input-json or --cli-input-yaml)` };
    const inline = arg.length > name.length;
    const value = inline ? arg.slice(name.length + 1) : args[++i];
    if (value === undefined) return { not_run: `${name} has no value` };
    if (/^(file|fileb|https?):\/\//i.test(value.trim()))
      return { not_run: `the JSON of ${name} is read from ${value.trim()} when run, so DryRun cannot be set in it` };
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return { not_run: `the JSON of ${name} does not parse, so DryRun cannot be set in it` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return { not_run: `the JSON of ${name} is not an object, so DryRun cannot be set in it` };
    const rewritten = JSON.stringify({ ...parsed, DryRun: true });
    if (inline) out.push(`${name}=${rewritten}`);
    else out.push(name, rewritten);
    json = true;
  }
  // With JSON alone the command stays one the SDK executor can run (args: just --cli-input-json).
  if (!json) out.push('--dry-run');
  return out;
}

/**
 * The same command with AWS's dry-run flag; null if it has none we can use; `not_run` when it
 * has one, but the command as written could override it (see ec2DryRunArgs).
 */
export function withDryRunFlag(command: Command): Command | DryRunRefused | null {
  // Every EC2 API action takes DryRun; `wait` is a CLI-side poller, not an API call.
  if (command.type === 'aws_cli' && command.service === 'ec2' && operationVerb(command.operation) !== 'wait') {
    const args = ec2DryRunArgs(command.args);
    return 'not_run' in args ? args : { ...command, args };
  }
  if (command.type === 'sdk' && command.service === 'ec2') {
    return { ...command, parameters: { ...command.parameters, DryRun: true } };
  }
  return null;
}

function verdict(output: string): boolean | null {
  if (/DryRunOperation/.test(output)) return true;
  if (/UnauthorizedOperation|AccessDenied|InvalidParameter|InvalidAMIID|does not exist|MissingParameter/i.test(output))
    return false;
  return null;
}

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

async function dryRunRequest(
  request: ExecutionRequest,
  config: ExecutionConfig,
  workflow: ApprovalWorkflow,
  /** Labels of the steps whose outputs it uses: only known once they ran, so it is described only. */
  needs: readonly string[] = [],
  /** As written, references unresolved: what the risk is assessed on. */
  written: ExecutionRequest = request,
  /** A step a resumed plan carries over (not run again): the plan run it completed in, and its assessment. */
  carried: { from: string; assessment: RiskAssessment } | null = null,
): Promise<DryRunCommandResult> {
  const redact = redactorFor(secretsOf(request, config));
  const options = {
    awsCliPath: config.aws_cli_path,
    executor: config.default_executor,
    awsEndpointUrl: config.aws_endpoint_url,
    awsProfile: config.aws_profile,
    awsRegion: config.aws_region,
    // The endpoint the real run would use (an AWS_ENDPOINT_URL in the request's env included),
    // though the dry run's own environment does not carry that variable.
    requestEnv: request.env,
    workingDir: request.working_dir,
  };
  const real = await resolveInvocation(request.command, options);
  const assessment = carried?.assessment ?? assessRequest(written, { awsCliPath: config.aws_cli_path });
  const base = {
    id: request.id,
    command: redact([real.file, ...real.args].join(' ')),
    risk_level: workflow.levelOf(assessment),
    verified: assessment.verified,
    risk_reasons: assessment.reasons,
    argv: [real.file, ...real.args].map(redact),
    env_names: Object.keys(request.env).sort(),
    working_dir: request.working_dir,
  };
  if (carried) {
    const description = `carried over from plan ${carried.from}: it completed there and is not run again`;
    return { ...base, method: 'description', would_succeed: null, output: null, description };
  }
  const flagged: ReturnType<typeof withDryRunFlag> =
    needs.length > 0
      ? { not_run: `depends on outputs of ${needs.join(', ')}: described only` }
      : withDryRunFlag(request.command);
  if (!flagged || 'not_run' in flagged) {
    const where = request.working_dir ? ` in ${request.working_dir}` : '';
    const env = base.env_names.length > 0 ? ` with ${base.env_names.join(', ')} set` : '';
    const would = `would run ${base.argv.join(' ')}${where}${env}`;
    return {
      ...base,
      method: 'description',
      would_succeed: null,
      output: null,
      description: flagged ? `not run: ${redact(flagged.not_run)}; ${would}` : would,
    };
  }
  const invocation = await resolveInvocation(flagged, options);
  const output = new OutputCapture(DRY_RUN_OUTPUT_BYTES);
  const spec: ProcessSpec = {
    file: invocation.file,
    args: invocation.args,
    env: dryRunEnvironment(request, invocation),
    cwd: request.working_dir ?? undefined,
  };
  const outcome = await runProcess(spec, {
    timeoutMs: Math.min(request.timeout_ms ?? config.default_timeout_ms, DRY_RUN_TIMEOUT_MS),
    killGraceMs: config.kill_grace_ms,
    containment: config.process_containment,
    maxLineBytes: config.max_line_bytes,
    onOutput: (chunk) => output.append(chunk.data),
  });
  const text = redact(output.text('(dry run output is not logged)')).trim();
  const succeeded = outcome.reason === 'exited' && outcome.exitCode === 0;
  // A read-only call may simply succeed; a dry-run verdict is in the error text otherwise.
  const wouldSucceed = succeeded ? true : verdict(text);
  const description =
    wouldSucceed === true
      ? 'AWS dry run: the request would succeed'
      : wouldSucceed === false
        ? 'AWS dry run: the request would fail'
        : 'AWS dry run gave no verdict';
  return { ...base, method: 'aws_dry_run', would_succeed: wouldSucceed, output: text, description };
}

/** Dry-run every command of a plan (one at a time: AWS rate limits apply to dry runs too). */
export async function dryRunPlan(
  plan: ExecutionPlan,
  config: ExecutionConfig,
  workflow = new ApprovalWorkflow(config.approval ?? {}, { awsCliPath: config.aws_cli_path }),
): Promise<DryRunResult> {
  const commands: DryRunCommandResult[] = [];
  const parts = workflow.assessParts(plan);
  const resumed = plan.resumed_from;
  for (const [index, written] of plan.commands.entries()) {
    // Parameters are known before anything runs; outputs only once their steps ran.
    const { needs, request } = beforeRun(plan, written);
    const carried = resumed?.carried.includes(index)
      ? { from: resumed.plan_id, assessment: parts.commands[index]! }
      : null;
    commands.push(await dryRunRequest(request, config, workflow, needs, written, carried));
  }
  const assessment = parts.plan;
  return { plan_id: plan.id, risk_level: workflow.levelOf(assessment), verified: assessment.verified, commands };
}

/**
 * One line per command for an approval request, read as a verdict: "would succeed", "would
 * fail: <AWS's reason>", or what would run. AWS's own wording of a dry run that would have
 * succeeded (a `DryRunOperation` error) is not shown: it reads as a failure to a person.
 */
export function dryRunSummaries(result: DryRunResult): Map<string, string> {
  return new Map(result.commands.map((c) => [c.id, dryRunVerdict(c)]));
}

export function dryRunVerdict(c: DryRunCommandResult): string {
  if (c.method === 'description' || c.would_succeed === true) return c.description;
  const answer = awsReason(c.output ?? '');
  return answer ? `${c.description}: ${answer}` : c.description;
}

/** `An error occurred (Code) when calling the Op operation: message` as `Code: message`; else the first line. */
function awsReason(output: string): string {
  const line = output.split('\n').find((l) => l.trim() !== '') ?? '';
  const match = /An error occurred \(([^)]+)\) when calling the \S+ operation: (.*)$/.exec(line);
  return (match ? `${match[1]}: ${match[2]}` : line).trim();
}
