/**
 * Dry runs: what a plan would do, without doing it. EC2 operations (CLI or SDK) are sent
 * with their own dry-run flag, and AWS answers `DryRunOperation` when the call would have
 * succeeded; every other command is described instead (full argv, env names without their
 * values, working dir) and never run.
 */
import type { ExecutionConfig } from '../config.js';
import { processSpecOf, resolveInvocation } from '../runner/invocation.js';
import { runProcess } from '../runner/process.js';
import { OutputCapture } from '../sinks/output-capture.js';
import type { Command, ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import { planRisk, requestRisk } from './approval.js';
import { redactorFor, secretsOf } from './redaction.js';
import { operationVerb, type RiskLevel } from './risk.js';

export interface DryRunCommandResult {
  id: string;
  command: string;
  risk_level: RiskLevel;
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
  commands: DryRunCommandResult[];
}

const DRY_RUN_TIMEOUT_MS = 60_000;
const DRY_RUN_OUTPUT_BYTES = 16 * 1024;

/** The same command with AWS's dry-run flag, or null if it has none we can use. */
export function withDryRunFlag(command: Command): Command | null {
  // Every EC2 API action takes DryRun; `wait` is a CLI-side poller, not an API call.
  if (command.type === 'aws_cli' && command.service === 'ec2' && operationVerb(command.operation) !== 'wait') {
    return command.args.includes('--dry-run') ? command : { ...command, args: [...command.args, '--dry-run'] };
  }
  if (command.type === 'sdk' && command.service === 'ec2') {
    return { ...command, parameters: { ...command.parameters, DryRun: true } };
  }
  return null;
}

function verdict(output: string): boolean | null {
  if (/DryRunOperation/.test(output)) return true;
  if (/UnauthorizedOperation|AccessDenied|InvalidParameter|InvalidAMIID|does not exist|MissingParameter/i.test(output)) return false;
  return null;
}

async function dryRunRequest(request: ExecutionRequest, config: ExecutionConfig): Promise<DryRunCommandResult> {
  const redact = redactorFor(secretsOf(request, config));
  const options = { awsCliPath: config.aws_cli_path, executor: config.default_executor, awsEndpointUrl: config.aws_endpoint_url, workingDir: request.working_dir };
  const real = await resolveInvocation(request.command, options);
  const base = {
    id: request.id,
    command: redact([real.file, ...real.args].join(' ')),
    risk_level: requestRisk(request),
    argv: [real.file, ...real.args].map(redact),
    env_names: Object.keys(request.env).sort(),
    working_dir: request.working_dir,
  };
  const flagged = withDryRunFlag(request.command);
  if (!flagged) {
    const where = request.working_dir ? ` in ${request.working_dir}` : '';
    const env = base.env_names.length > 0 ? ` with ${base.env_names.join(', ')} set` : '';
    return { ...base, method: 'description', would_succeed: null, output: null, description: `would run ${base.argv.join(' ')}${where}${env}` };
  }
  const invocation = await resolveInvocation(flagged, options);
  const output = new OutputCapture(DRY_RUN_OUTPUT_BYTES);
  const outcome = await runProcess(
    processSpecOf(invocation, request),
    {
      timeoutMs: Math.min(request.timeout_ms ?? config.default_timeout_ms, DRY_RUN_TIMEOUT_MS),
      killGraceMs: config.kill_grace_ms,
      maxLineBytes: config.max_line_bytes,
      onOutput: (chunk) => output.append(chunk.data),
    },
  );
  const text = redact(output.text('(dry run output is not logged)')).trim();
  const succeeded = outcome.reason === 'exited' && outcome.exitCode === 0;
  // A read-only call may simply succeed; a dry-run verdict is in the error text otherwise.
  const wouldSucceed = succeeded ? true : verdict(text);
  const description =
    wouldSucceed === true ? 'AWS dry run: the request would succeed' : wouldSucceed === false ? 'AWS dry run: the request would fail' : 'AWS dry run gave no verdict';
  return { ...base, method: "aws_dry_run", would_succeed: wouldSucceed, output: text, description };
}

/** Dry-run every command of a plan (one at a time: AWS rate limits apply to dry runs too). */
export async function dryRunPlan(plan: ExecutionPlan, config: ExecutionConfig): Promise<DryRunResult> {
  const commands: DryRunCommandResult[] = [];
  for (const request of plan.commands) commands.push(await dryRunRequest(request, config));
  return { plan_id: plan.id, risk_level: planRisk(plan), commands };
}

/** One line per command for an approval request. */
export function dryRunSummaries(result: DryRunResult): Map<string, string> {
  return new Map(result.commands.map((c) => [c.id, c.output ? `${c.description}: ${c.output.split('\n')[0]}` : c.description]));
}
