/**
 * `run --approve-via URL PLAN`: hand the plan to a running `cloudops-exec serve` instead of
 * running it here. The server's approval rules apply: the plan is submitted (POST /api/plans)
 * as the principal whose token is in CLOUDOPS_EXEC_TOKEN, the approval id and where to decide
 * it are printed, the decision is waited for, and the execution followed to its end.
 *
 * Exit codes, as for a local run: 0 completed; 1 failed, rejected or expired; 2 bad input or no
 * server; 130 Ctrl-C (it stops waiting: a pending approval stays pending, a started plan keeps running).
 */
import type { ExecutionConfig } from '../../config.js';
import { ApprovalWorkflow, blastRadiusOf } from '../../policy/approval.js';
import type { ApprovalView } from '../../services/approval-queue.js';
import { printable } from '../../sinks/control-chars.js';
import type { ExecutionPlan, PlanExecutionResult } from '../../wire/types.js';
import { CliExit, EXIT } from '../exit.js';
import { colorEnabled, makeStyle, type Style } from '../style.js';
import { riskSummary, type Verdict } from '../views/risk-summary.js';
import { labelsOf, resumeLine, summaryLines } from '../views/view.js';
import { type Client, call, clientOf } from './approvals.js';

export interface RemoteRunOptions {
  approveVia?: string | true;
  json?: boolean;
  color?: boolean;
}

/** How often the approval is looked at while it waits. */
const POLL_MS = 1_000;

interface Accepted {
  id: string;
  status: 'pending' | 'awaiting_approval';
  approval_id: string | null;
}

const enc = encodeURIComponent;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves when Ctrl-C (or SIGTERM) arrives, until disposed. */
function interrupted(): { promise: Promise<'interrupted'>; dispose(): void } {
  let onSignal: () => void = () => {};
  const promise = new Promise<'interrupted'>((resolve) => {
    onSignal = () => resolve('interrupted');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return {
    promise,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * `config`: this machine's settings, for the risk shown before submitting (the engine's own
 * assessment, as a local run shows it); the server assesses again under its rules, and its
 * answer follows.
 */
export async function runViaServer(
  plan: ExecutionPlan,
  config: ExecutionConfig,
  options: RemoteRunOptions,
): Promise<number> {
  const client = clientOf({ server: options.approveVia === true ? undefined : options.approveVia });
  // With --json, stdout is one {"plan_result": ...} line at the end; everything else goes to stderr.
  const info = options.json ? process.stderr : process.stdout;
  const style = makeStyle(colorEnabled(info, options.color));
  const local = new ApprovalWorkflow(config.approval ?? {}, { awsCliPath: config.aws_cli_path }).createApprovalRequest(
    plan,
  );
  info.write(`${style.paint('dim', "This machine's assessment (the server assesses again under its own rules):")}\n`);
  info.write(riskSummary(plan, local, style));
  const accepted = await call<Accepted>(client, 'POST', '/api/plans', plan);
  return followSubmission(client, accepted, plan, options);
}

/**
 * `retry --approve-via URL PLAN_ID`: the server resumes its plan run (POST
 * /api/executions/{id}/resume); the new run is then waited for and followed as `run` does.
 */
export async function resumeViaServer(
  planId: string,
  from: string | undefined,
  options: RemoteRunOptions,
): Promise<number> {
  const client = clientOf({ server: options.approveVia === true ? undefined : options.approveVia });
  const accepted = await call<Accepted & { carried: number[]; runs: number[] }>(
    client,
    'POST',
    `/api/executions/${enc(planId)}/resume`,
    from === undefined ? {} : { from },
  );
  // The plan the server resumes with: held by its approval, or by the run that started.
  const plan =
    accepted.approval_id !== null
      ? (await call<ApprovalView>(client, 'GET', `/api/approvals/${enc(accepted.approval_id)}`)).plan
      : (await call<{ plan: ExecutionPlan }>(client, 'GET', `/api/executions/${enc(accepted.id)}`)).plan;
  const info = options.json ? process.stderr : process.stdout;
  info.write(`${resumeLine(plan, planId)}\n`);
  return followSubmission(client, accepted, plan, options);
}

/** After the server accepted `plan`: its approval waited for (when it needs one), then the run followed to its end. */
async function followSubmission(
  client: Client,
  accepted: Accepted,
  plan: ExecutionPlan,
  options: RemoteRunOptions,
): Promise<number> {
  const info = options.json ? process.stderr : process.stdout;
  const style = makeStyle(colorEnabled(info, options.color));
  const origin = client.base.origin;
  const stop = interrupted();
  try {
    let executionId = accepted.id;
    if (accepted.approval_id !== null) {
      const decided = await Promise.race([
        waitForDecision(client, accepted.approval_id, plan, info, style),
        stop.promise,
      ]);
      if (decided === 'interrupted') {
        info.write(
          `\nStopped waiting. Approval ${printable(accepted.approval_id)} stays pending on ${origin}: nothing runs until it is approved (then it runs there, without this command), and it can be rejected there.\n`,
        );
        return EXIT.INTERRUPTED;
      }
      if (decided.state !== 'approved' || decided.execution_id === null) return endWithout(decided, info);
      executionId = decided.execution_id;
      info.write(`Approved: running on ${origin} as ${printable(executionId)}\n`);
    } else {
      const rated = await serverRisk(client, executionId);
      info.write(
        `\nSubmitted to ${origin}: the server's approval rules let it run at once${rated ? ` (the server rated it ${printable(rated)})` : ''}, as ${printable(executionId)}\n`,
      );
    }
    const result = await Promise.race([followToEnd(client, executionId), stop.promise]);
    if (result === 'interrupted') {
      info.write(
        `\nStopped following. Plan ${printable(executionId)} keeps running on ${origin}; cancel it there (${origin}/#/executions/${enc(executionId)}).\n`,
      );
      return EXIT.INTERRUPTED;
    }
    if (options.json) process.stdout.write(`${JSON.stringify({ plan_result: result })}\n`);
    else info.write(`${summaryLines(plan, result, labelsOf(plan), style, origin).join('\n')}\n`);
    return result.status === 'completed' ? EXIT.OK : EXIT.FAILED;
  } finally {
    stop.dispose();
  }
}

/** The server's view of the plan, where to decide it, then polls until it is decided. */
async function waitForDecision(
  client: Client,
  id: string,
  plan: ExecutionPlan,
  info: NodeJS.WritableStream,
  style: Style,
): Promise<ApprovalView> {
  const path = `/api/approvals/${enc(id)}`;
  let approval = await call<ApprovalView>(client, 'GET', path);
  const verdicts = new Map<string, Verdict>(
    approval.request.commands
      .filter((c) => c.dry_run_result !== null)
      .map((c) => [
        c.id,
        { text: c.dry_run_result as string, would_succeed: c.dry_run_would_succeed ?? null, blast: blastRadiusOf(c) },
      ]),
  );
  const origin = client.base.origin;
  const server = client.base.href.replace(/\/$/, '');
  info.write(`\n${style.paint('dim', "The server's assessment:")}\n`);
  info.write(riskSummary(plan, approval.request, style, verdicts));
  info.write(
    `\n${style.paint('bold', `Waiting for approval ${printable(id)}`)} on ${origin}: risk ${printable(approval.request.risk_level)}, ${approval.required} approver${approval.required === 1 ? '' : 's'} needed (not you: a submitter may not approve its own plan)\n` +
      `  dashboard  ${origin}/#/approvals/${enc(id)}\n` +
      `  terminal   cloudops-exec approve ${printable(id)} --server ${server}\n` +
      '  Ctrl-C stops waiting; the approval then stays pending on the server.\n',
  );
  let votes = approval.votes.length;
  while (approval.state === 'pending') {
    await sleep(POLL_MS);
    approval = await call<ApprovalView>(client, 'GET', path);
    if (approval.state === 'pending' && approval.votes.length !== votes) {
      votes = approval.votes.length;
      const last = approval.votes.at(-1);
      info.write(
        `  approved by ${printable(last?.principal ?? '?')} (${votes} of ${approval.required}); ${approval.still_needed} more needed\n`,
      );
    }
  }
  return approval;
}

/** The risk the server recorded for an execution it accepted; null if it does not say. */
async function serverRisk(client: Client, id: string): Promise<string | null> {
  try {
    const detail = await call<{ execution?: { risk_level?: unknown } }>(client, 'GET', `/api/executions/${enc(id)}`);
    const level = detail.execution?.risk_level;
    return typeof level === 'string' ? level : null;
  } catch {
    return null;
  }
}

/** A decision that started nothing: rejected (with the reason) or expired. */
function endWithout(approval: ApprovalView, info: NodeJS.WritableStream): number {
  const d = approval.decision?.decision;
  const by = approval.decision ? ` by ${printable(approval.decision.approved_by)}` : '';
  const why = d?.type === 'reject' ? `: ${printable(d.reason)}` : '';
  info.write(`\nApproval ${printable(approval.id)} ${printable(approval.state)}${by}${why}. Nothing ran.\n`);
  return EXIT.FAILED;
}

/**
 * The plan's result once it ends (`?wait=true`). A wait longer than the HTTP client holds a
 * request open ends in an error: asked again while the server still knows the execution.
 */
async function followToEnd(client: Client, id: string): Promise<PlanExecutionResult> {
  for (;;) {
    try {
      return await call<PlanExecutionResult>(client, 'GET', `/api/executions/${enc(id)}/result?wait=true`);
    } catch (err) {
      if (!(err instanceof CliExit) || !/cannot reach the server/.test(err.message)) throw err;
      // Still there? (A server that went away answers nothing: the error is then final.)
      await call<unknown>(client, 'GET', `/api/executions/${enc(id)}`);
    }
  }
}
