/**
 * Submission over HTTP: work the engine's approval policy lets through starts at once;
 * work that needs a human is parked in the approval queue (a single request becomes a
 * plan of one, since approvals are given to plans) and the client is told where to look.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { displayCommand } from '../command/display.js';
import { redactData } from '../policy/redact-data.js';
import { planIds, requestIds } from '../services/approval-queue.js';
import { canonicalJson } from '../wire/canonical-json.js';
import { parsePlan } from '../wire/parse.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import type { Accepted } from './api-schemas.js';
import type { ServerContext } from './context.js';

type AcceptedBody = z.output<typeof Accepted>;

/** The answer, and what the audit trail records of it: the digest of exactly what was accepted. */
export interface Submission {
  accepted: AcceptedBody;
  audit: Record<string, unknown>;
}

export function isPlan(subject: ExecutionPlan | ExecutionRequest): subject is ExecutionPlan {
  return 'commands' in subject;
}

/** A single request as the plan an approver decides on. */
export function planOfOne(request: ExecutionRequest): ExecutionPlan {
  // The description quotes the command: it is shown, logged and kept, so it never holds the request's secrets.
  const description =
    request.description ?? redactData(displayCommand(request.command), { redact_secrets: true }, [request]);
  return parsePlan({ id: randomUUID(), description, commands: [request] });
}

/** Whether the engine's approval policy holds `plan` back for a human. */
export function needsApproval(ctx: ServerContext, plan: ExecutionPlan): boolean {
  return ctx.engine.config.approval !== null && ctx.engine.workflow.requiresApproval(plan);
}

/** The tag naming the principal that submitted work over HTTP (whose it is, for cancels and approvals). */
export const SUBMITTED_BY_TAG = 'submitted_by';

const stamped = <M extends { metadata: { tags: Record<string, string> } }>(subject: M, name: string): M => ({
  ...subject,
  metadata: { ...subject.metadata, tags: { ...subject.metadata.tags, [SUBMITTED_BY_TAG]: name } },
});

/** `subject` (and a plan's commands) tagged as submitted by `name`; a value the client sent is overwritten. */
export function withSubmitter<S extends ExecutionPlan | ExecutionRequest>(subject: S, name: string): S {
  if (!isPlan(subject)) return stamped(subject, name);
  return { ...stamped(subject, name), commands: subject.commands.map((c) => stamped(c, name)) };
}

export async function submit(
  ctx: ServerContext,
  given: ExecutionPlan | ExecutionRequest,
  submittedBy: string,
): Promise<Submission> {
  const subject = withSubmitter(given, submittedBy);
  // Ids are used once, ever: one an approval holds (waiting or decided) is refused here too
  // (the engine refuses those it tracks or its history holds).
  ctx.approvals.assertNew(isPlan(subject) ? planIds(subject) : requestIds(subject));
  if (isPlan(subject)) {
    if (needsApproval(ctx, subject)) return parked(ctx, subject, submittedBy);
    const id = await ctx.engine.executePlan(subject);
    return started(id, 'plan', subject);
  }
  // Assess the request as the engine does (a plan of one under the request's own id).
  if (needsApproval(ctx, parsePlan({ id: subject.id, commands: [subject] })))
    return parked(ctx, withSubmitter(planOfOne(subject), submittedBy), submittedBy);
  const id = await ctx.engine.execute(subject);
  return started(id, 'command', subject);
}

/** Started at once: the digest is of the plan or request as it runs (with its submitter tag). */
function started(id: string, kind: 'plan' | 'command', subject: ExecutionPlan | ExecutionRequest): Submission {
  return {
    accepted: { id, status: 'pending', approval_id: null },
    audit: { kind, status: 'pending', sha256: createHash('sha256').update(canonicalJson(subject)).digest('hex') },
  };
}

async function parked(ctx: ServerContext, plan: ExecutionPlan, submittedBy: string): Promise<Submission> {
  // Its submitter may not approve it (SelfApproval).
  const approval = await ctx.approvals.submit(plan, { name: submittedBy });
  return {
    accepted: { id: approval.id, status: 'awaiting_approval', approval_id: approval.id },
    audit: {
      kind: 'approval',
      status: 'awaiting_approval',
      plan_sha256: approval.plan_sha256,
      risk_level: approval.request.risk_level,
      required: approval.required,
    },
  };
}
