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

import { valueReadFrom } from '../command/aws.js';
import { resolveInvocation } from '../command/invocation.js';
import type { ExecutionConfig } from '../config.js';
import { ApprovalWorkflow, assessRequest, type DryRunFacts } from '../policy/approval.js';
import type { BlastRadius } from '../policy/blast-radius.js';
import { redactorFor, secretsOf } from '../policy/redaction.js';
import { operationVerb, type RiskAssessment, type RiskLevel } from '../policy/risk.js';
import type { Command, ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import { awsCallOf } from './blast-radius/args.js';
import { lookupEndpoint, resolvePlanBlastRadius } from './blast-radius/resolve.js';
import { runDryRunInvocation } from './dry-run-env.js';
import { beforeRun } from './step-outputs.js';

export { dryRunEnvironment } from './dry-run-env.js';

/**
 * One command's dry run, and its blast radius (`changes`, `warnings`, `resolution`,
 * `resolution_note`, `resolved_at`): what it would touch, looked up with read-only calls.
 */
export interface DryRunCommandResult extends BlastRadius {
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
    // The AWS CLI replaces any parameter value `file://path` or `fileb://path` with that file's
    // content and sends it: a dry run, which runs before anyone approved, must not send a file
    // of this machine to an endpoint the requester chose.
    const given = name === null ? arg : arg.slice(name.length + 1);
    if (valueReadFrom(given) === 'file' && !abbreviates(name ?? '', '--cli-input-json', '--cli-i'.length))
      return {
        not_run: `${name ?? flagName(args[i - 1] ?? '') ?? 'an argument'} is read from ${given.trim()} on this machine when run; a dry run before approval reads no local files`,
      };
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
    if (valueReadFrom(value) !== null)
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
): Promise<Omit<DryRunCommandResult, keyof BlastRadius>> {
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
  let flagged: ReturnType<typeof withDryRunFlag> =
    needs.length > 0
      ? { not_run: `depends on outputs of ${needs.join(', ')}: described only` }
      : withDryRunFlag(request.command);
  if (flagged && !('not_run' in flagged)) {
    // As for the look-ups: before any approval, the engine's credentials go only to its own
    // endpoint (or AWS's), never to one the request names.
    const call = awsCallOf(request.command, config.aws_cli_path, request.working_dir);
    const target = call ? lookupEndpoint(request, call, config) : null;
    if (target && 'elsewhere' in target)
      flagged = { not_run: `it names its own endpoint (${target.elsewhere}): not sent before approval` };
  }
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
  const { outcome, text: raw } = await runDryRunInvocation(invocation, request, config, {
    timeoutMs: Math.min(request.timeout_ms ?? config.default_timeout_ms, DRY_RUN_TIMEOUT_MS),
    maxBytes: DRY_RUN_OUTPUT_BYTES,
  });
  const text = redact(raw).trim();
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

/**
 * Dry-run every command of a plan (one at a time: AWS rate limits apply to dry runs too),
 * while the read-only look-ups of what each would touch run beside them (a few at once).
 */
export async function dryRunPlan(
  plan: ExecutionPlan,
  config: ExecutionConfig,
  workflow = new ApprovalWorkflow(config.approval ?? {}, { awsCliPath: config.aws_cli_path }),
): Promise<DryRunResult> {
  const parts = workflow.assessParts(plan);
  const resumed = plan.resumed_from;
  // Parameters are known before anything runs; outputs only once their steps ran.
  const steps = plan.commands.map((written, index) => ({
    written,
    ...beforeRun(plan, written),
    carried: resumed?.carried.includes(index) ? { from: resumed.plan_id, assessment: parts.commands[index]! } : null,
  }));
  const radii = resolvePlanBlastRadius(
    steps.map((s) => ({ request: s.request, needs: s.needs, carried: s.carried !== null })),
    config,
  );
  // resolvePlanBlastRadius turns failures into `unresolved` results; should it still reject while the
  // dry-run calls below are awaited, that must not surface as an unhandled rejection (it is awaited after).
  radii.catch(() => {});
  const runs: Array<Omit<DryRunCommandResult, keyof BlastRadius>> = [];
  for (const s of steps) runs.push(await dryRunRequest(s.request, config, workflow, s.needs, s.written, s.carried));
  const found = await radii;
  const commands: DryRunCommandResult[] = runs.map((run, i) => {
    // What AWS said about the resources is shown as is, but never a secret of the request's env.
    const redact = redactorFor(secretsOf(steps[i]!.request, config));
    return { ...run, ...redactStrings(found[i]!, redact) };
  });
  const assessment = parts.plan;
  return { plan_id: plan.id, risk_level: workflow.levelOf(assessment), verified: assessment.verified, commands };
}

/** `value` with every string in it redacted. */
function redactStrings<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, redact)) as T;
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v, redact)])) as T;
  return value;
}

/**
 * What a dry run established about each command, by id, as an approval request shows it: the
 * verdict in one line ("would succeed", "would fail: <AWS's reason>", or what would run) and
 * the blast radius. AWS's own wording of a dry run that would have succeeded (a
 * `DryRunOperation` error) is not shown: it reads as a failure to a person.
 */
export function dryRunFacts(result: DryRunResult): Map<string, DryRunFacts> {
  return new Map(
    result.commands.map((c) => [
      c.id,
      {
        text: dryRunVerdict(c),
        would_succeed: c.would_succeed,
        changes: c.changes,
        warnings: c.warnings,
        resolution: c.resolution,
        resolution_note: c.resolution_note,
        resolved_at: c.resolved_at,
      },
    ]),
  );
}

export function dryRunVerdict(
  c: Pick<DryRunCommandResult, 'method' | 'would_succeed' | 'description' | 'output'>,
): string {
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
