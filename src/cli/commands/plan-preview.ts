/**
 * `plan PLAN` and `run --dry-run PLAN`: what running the plan would do, and nothing run
 * (the way `terraform plan` previews). The plan's risk as the engine assesses it, each AWS
 * call sent with AWS's own dry-run flag where it has one (EC2), and every other command
 * described ("would run …"), and the AWS resources each command would change, looked up with
 * read-only calls, with warnings about them: `engine.dryRun`, which runs no command of the plan itself.
 *
 * Exit codes: 0 nothing would fail; 1 AWS said a call would fail, or gave no verdict (no
 * credentials, no region, no answer: the preview could not establish it); 2 bad input.
 */
import { createEngine } from '../../create-engine.js';
import type { DryRunResult } from '../../engine/dry-run.js';
import type { ExecutionEngine } from '../../engine/engine.js';
import { ValidationError } from '../../errors.js';
import type { DryRunWarning } from '../../policy/blast-radius.js';
import type { ExecutionPlan } from '../../wire/types.js';
import { engineConfig } from '../engine-config.js';
import { EXIT } from '../exit.js';
import type { EngineOptions } from '../options.js';
import { locateIssues, type PlanSource, parsePlanSource, readPlanSource } from '../plan-file.js';
import { colorEnabled, makeStyle } from '../style.js';
import { riskSummary, shownWarnings, verdictsOf } from '../views/risk-summary.js';

export interface PlanOptions extends EngineOptions {
  json?: boolean;
  color?: boolean;
}

/** `plan PLAN`: read, preview, exit. */
export async function planCommand(file: string, options: PlanOptions): Promise<number> {
  const config = engineConfig(options);
  const source = await readPlanSource(file);
  const plan = parsePlanSource(source, config);
  const engine = createEngine(config);
  try {
    return await previewPlan(engine, plan, source, options);
  } finally {
    await engine.shutdown();
  }
}

/** Whether AWS said any call would fail. */
export function anyWouldFail(result: DryRunResult): boolean {
  return result.commands.some((c) => c.would_succeed === false);
}

/** AWS calls sent as dry runs that got no verdict: what they would do is not known. */
function withoutVerdict(result: DryRunResult): number {
  return result.commands.filter((c) => c.method === 'aws_dry_run' && c.would_succeed === null).length;
}

/** `2 warnings (1 production, 1 not found)`: how many, and the ones that change a decision. */
function warningsText(warnings: readonly DryRunWarning[]): string {
  const n = warnings.length;
  const alarms = (['production_resource', 'resource_not_found'] as const)
    .map((code) => [code, warnings.filter((w) => w.code === code).length] as const)
    .filter(([, count]) => count > 0)
    .map(([code, count]) => `${count} ${code === 'production_resource' ? 'production' : 'not found'}`);
  return `${n} warning${n === 1 ? '' : 's'}${alarms.length > 0 ? ` (${alarms.join(', ')})` : ''}`;
}

/** The preview of a parsed plan on stdout (JSON with --json); the exit code it deserves. */
export async function previewPlan(
  engine: ExecutionEngine,
  plan: ExecutionPlan,
  source: PlanSource,
  options: PlanOptions,
  out: NodeJS.WriteStream = process.stdout,
): Promise<number> {
  let result: DryRunResult;
  try {
    result = await engine.dryRun(plan);
  } catch (err) {
    if (err instanceof ValidationError) throw locateIssues(source, err);
    throw err;
  }
  const failing = anyWouldFail(result);
  const unknown = withoutVerdict(result);
  const code = failing || unknown > 0 ? EXIT.FAILED : EXIT.OK;
  if (options.json) {
    out.write(`${JSON.stringify({ dry_run: result, would_fail: failing, without_verdict: unknown })}\n`);
    return code;
  }
  const style = makeStyle(colorEnabled(out, options.color));
  const request = engine.workflow.createApprovalRequest(plan);
  out.write(riskSummary(plan, request, style, verdictsOf(result.commands)));
  const failed = result.commands.filter((c) => c.would_succeed === false).length;
  const calls = (n: number) => `${n} AWS call${n === 1 ? '' : 's'}`;
  const warnings = result.commands.flatMap((c) => shownWarnings(c));
  const warned =
    warnings.length > 0 ? ` ${style.paint(['bold', 'yellow'], `Read the ${warningsText(warnings)} above.`)}` : '';
  // AWS accepting every call is not "nothing would fail" when a look-up found a resource missing
  // (moto, and some AWS operations, accept a dry run of an id that does not exist).
  const missing = warnings.some((w) => w.code === 'resource_not_found');
  const sent = result.commands.filter((c) => c.method === 'aws_dry_run').length;
  const accepted =
    sent === 0 ? 'no call was sent to AWS to check' : `AWS accepted ${sent === 1 ? 'the call' : `all ${sent} calls`}`;
  out.write(
    failing
      ? `\n${style.paint(['bold', 'red'], `Dry run: ${calls(failed)} would fail.`)}${warned} Nothing ran.\n`
      : unknown > 0
        ? `\n${style.paint(['bold', 'yellow'], `Dry run: ${calls(unknown)} gave no verdict`)} (see above): what ${unknown === 1 ? 'it' : 'they'} would do is not known.${warned} Nothing ran.\n`
        : missing
          ? `\n${style.paint(['bold', 'yellow'], `Dry run: ${accepted}; ${warningsText(warnings)} above.`)} Nothing ran: this was a preview.\n`
          : `\n${style.paint('bold', 'Dry run: nothing would fail.')}${warned} Nothing ran: this was a preview.\n`,
  );
  return code;
}
