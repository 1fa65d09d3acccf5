/**
 * Submission over HTTP: work the engine's approval policy lets through starts at once;
 * work that needs a human is parked in the approval queue (a single request becomes a
 * plan of one, since approvals are given to plans) and the client is told where to look.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { displayCommand } from '../command/display.js';
import { redactData } from '../policy/redact-data.js';
import { planIds, requestIds } from '../services/approval-queue.js';
import { parsePlan } from '../wire/parse.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import type { Accepted } from './api-schemas.js';
import type { ServerContext } from './context.js';

type AcceptedBody = z.output<typeof Accepted>;

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

function needsApproval(ctx: ServerContext, plan: ExecutionPlan): boolean {
  return ctx.engine.config.approval !== null && ctx.engine.workflow.requiresApproval(plan);
}

export async function submit(ctx: ServerContext, subject: ExecutionPlan | ExecutionRequest): Promise<AcceptedBody> {
  // Ids are used once, ever: one an approval holds (waiting or decided) is refused here too
  // (the engine refuses those it tracks or its history holds).
  ctx.approvals.assertNew(isPlan(subject) ? planIds(subject) : requestIds(subject));
  if (isPlan(subject)) {
    if (needsApproval(ctx, subject)) return parked(ctx, subject);
    return { id: await ctx.engine.executePlan(subject), status: 'pending', approval_id: null };
  }
  // Assess the request as the engine does (a plan of one under the request's own id).
  if (needsApproval(ctx, parsePlan({ id: subject.id, commands: [subject] }))) return parked(ctx, planOfOne(subject));
  return { id: await ctx.engine.execute(subject), status: 'pending', approval_id: null };
}

async function parked(ctx: ServerContext, plan: ExecutionPlan): Promise<AcceptedBody> {
  const approval = await ctx.approvals.submit(plan);
  return { id: approval.id, status: 'awaiting_approval', approval_id: approval.id };
}
