/** Dry runs, and the human side of the approval workflow: what waits, what it would do, the decision. */
import { z } from 'zod';
import { parsePlan, parseRequest } from '../../wire/parse.js';
import { ApprovalEntry, ApprovalListQuery, DecisionBody, IdParams, PlanOrRequest } from '../api-schemas.js';
import { restoreRedacted } from '../client-view.js';
import type { ServerContext } from '../context.js';
import { checkHttpInput } from '../input-guard.js';
import { bodyOf, type RouteSpec, route } from '../route-spec.js';
import { planOfOne } from '../submit.js';

const BAD_INPUT = { description: 'Invalid input; `error.field` names the first bad field', schema: 'Error' };
const NOT_FOUND = { description: 'No such approval', schema: 'Error' };

export function approvalRoutes(ctx: ServerContext): RouteSpec[] {
  const { engine, approvals } = ctx;
  /** Plans by their `commands`; anything else is read as a single request. */
  const planOrRequest = {
    schema: PlanOrRequest,
    // Decided by shape first, so errors name fields of the one that was meant, not a union's.
    parse: (input: unknown) =>
      typeof input === 'object' && input !== null && 'commands' in input
        ? checkHttpInput(parsePlan(input), ctx.input)
        : planOfOne(checkHttpInput(parseRequest(input), ctx.input)),
  };
  return [
    route({
      method: 'POST',
      url: '/api/dry-run',
      operationId: 'dryRun',
      summary:
        'What a plan (or one request) would do, without doing it: EC2 calls go with --dry-run / DryRun, others are described',
      tag: 'approvals',
      body: planOrRequest,
      responses: { 200: { description: 'Per-command dry-run results', schema: z.unknown() }, 400: BAD_INPUT },
      handler: async ({ body }) => engine.dryRun(body),
    }),
    route({
      method: 'POST',
      url: '/api/approvals',
      operationId: 'createApproval',
      summary:
        'Ask for a human decision on a plan (or one request): risk, commands and dry-run results, kept until decided',
      tag: 'approvals',
      body: planOrRequest,
      responses: {
        201: { description: 'Waiting for a decision', schema: ApprovalEntry },
        400: BAD_INPUT,
        409: { description: 'Already waiting', schema: 'Error' },
      },
      handler: async ({ body, reply }) => {
        const approval = await approvals.submit(body);
        reply.code(201).header('location', `/api/approvals/${approval.id}`);
        return approval;
      },
    }),
    route({
      method: 'GET',
      url: '/api/approvals',
      operationId: 'listApprovals',
      summary: 'Approvals, newest first; `?state=pending` for what waits',
      tag: 'approvals',
      query: ApprovalListQuery,
      responses: {
        200: { description: 'Approvals', schema: z.object({ approvals: z.array(ApprovalEntry) }) },
        400: BAD_INPUT,
      },
      handler: async ({ query }) => ({ approvals: approvals.list(query.state) }),
    }),
    route({
      method: 'GET',
      url: '/api/approvals/:id',
      operationId: 'getApproval',
      summary: 'One approval: the request shown to the approver and, once decided, the decision',
      tag: 'approvals',
      params: IdParams,
      responses: { 200: { description: 'The approval', schema: ApprovalEntry }, 404: NOT_FOUND },
      handler: async ({ params }) => approvals.get(params.id),
    }),
    route({
      method: 'POST',
      url: '/api/approvals/:id/decision',
      operationId: 'decideApproval',
      summary:
        'Approve (starts the plan), modify and approve (starts the edited plan, re-validated and re-assessed), or reject with a reason',
      tag: 'approvals',
      params: IdParams,
      body: {
        schema: DecisionBody,
        parse: (input: unknown) => {
          const body = bodyOf(DecisionBody).parse(input);
          if (body.decision.type === 'modify_and_approve')
            checkHttpInput(body.decision.modified_plan, ctx.input, 'decision.modified_plan.');
          return body;
        },
      },
      responses: {
        200: { description: 'Decided; `execution_id` is the plan that started', schema: ApprovalEntry },
        400: BAD_INPUT,
        404: NOT_FOUND,
        409: {
          description:
            "Already decided (`AlreadyDecided`); an edit rated above the risk shown without `accept_risk` (`ApprovalRequired`); or an edit using an id that is not new (another approval's, or one in the history: `DuplicateId`)",
          schema: 'Error',
        },
      },
      handler: async ({ params, body }) => {
        // The approver was shown `***` for secrets; where the edit kept what was shown, the hidden values run.
        const decision =
          body.decision.type === 'modify_and_approve'
            ? {
                ...body.decision,
                modified_plan: restoreRedacted(
                  approvals.get(params.id).plan,
                  body.decision.modified_plan,
                  engine.config,
                  'decision.modified_plan.',
                ),
              }
            : body.decision;
        return approvals.decide(
          params.id,
          decision,
          { approved_by: body.approved_by, notes: body.notes ?? null },
          { acceptRisk: body.accept_risk },
        );
      },
    }),
  ];
}
