/**
 * `plan PLAN` and `run --dry-run PLAN`: what running the plan would do, and nothing run
 * (the way `terraform plan` previews). The plan's risk as the engine assesses it, each AWS
 * call sent with AWS's own dry-run flag where it has one (EC2), and every other command
 * described ("would run …"): `engine.dryRun`, which runs no command of the plan itself.
 *
 * Exit codes: 0 nothing would fail; 1 AWS said a call would fail, or gave no verdict (no
 * credentials, no region, no answer: the preview could not establish it); 2 bad input.
 */
import { createEngine } from '../../create-engine.js';
import type { DryRunResult } from '../../engine/dry-run.js';
import type { ExecutionEngine } from '../../engine/engine.js';
import { ValidationError } from '../../errors.js';
import type { ExecutionPlan } from '../../wire/types.js';
import { engineConfig } from '../engine-config.js';
import { EXIT } from '../exit.js';
import type { EngineOptions } from '../options.js';
import { locateIssues, type PlanSource, parsePlanSource, readPlanSource } from '../plan-file.js';
import { colorEnabled, makeStyle } from '../style.js';
import { riskSummary, verdictsOf } from '../views/risk-summary.js';

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
  out.write(
    failing
      ? `\n${style.paint(['bold', 'red'], `Dry run: ${calls(failed)} would fail.`)} Nothing ran.\n`
      : unknown > 0
        ? `\n${style.paint(['bold', 'yellow'], `Dry run: ${calls(unknown)} gave no verdict`)} (see above): what ${unknown === 1 ? 'it' : 'they'} would do is not known. Nothing ran.\n`
        : `\n${style.paint('bold', 'Dry run: nothing would fail.')} Nothing ran: this was a preview.\n`,
  );
  return code;
}
