/**
 * Dry runs, and the human side of the approval workflow: what waits, what it would do, the
 * decision. Who decides is whoever is signed in (`request.principal`), never a name in the body.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ExecutionError, ValidationError } from '../../errors.js';
import { type Actor, planUnderDecision } from '../../services/approval-queue.js';
import { parsePlan, parseRequest } from '../../wire/parse.js';
import { allows } from '../access.js';
import {
  ApprovalEntry,
  ApprovalListQuery,
  DecisionBody,
  DryRunResultView,
  IdParams,
  PlanOrRequest,
} from '../api-schemas.js';
import { restoreRedacted } from '../client-view.js';
import type { ServerContext } from '../context.js';
import { checkHttpInput } from '../input-guard.js';
import { bodyOf, type RouteSpec, route } from '../route-spec.js';
import { planOfOne, withSubmitter } from '../submit.js';

const BAD_INPUT = { description: 'Invalid input; `error.field` names the first bad field', schema: 'Error' };
const NOT_FOUND = { description: 'No such approval', schema: 'Error' };

/** The signed-in principal, and where the request came from (for the audit trail). */
function actorOf(request: FastifyRequest): Actor {
  return { name: request.principal.name, source: request.ip };
}

/**
 * A decision naming its approver is refused rather than ignored: a client that still sends one
 * believes the name is recorded, and it is not (the approver is whoever is signed in).
 */
function refuseNamedApprover(input: unknown): void {
  if (typeof input !== 'object' || input === null) return;
  const decision = (input as { decision?: unknown }).decision;
  const field =
    'approved_by' in input
      ? 'approved_by'
      : typeof decision === 'object' && decision !== null && 'approved_by' in decision
        ? 'decision.approved_by'
        : null;
  if (field === null) return;
  throw ValidationError.of(
    'InvalidField',
    field,
    'the approver is whoever is signed in (the token or browser session); remove this field',
  );
}

export function approvalRoutes(ctx: ServerContext): RouteSpec[] {
  const { engine, approvals } = ctx;
  /** Plans by their `commands`; anything else is read as a single request. */
  const planOrRequest = {
    schema: PlanOrRequest,
    // Decided by shape first, so errors name fields of the one that was meant, not a union's.
    parse: (input: unknown) =>
      typeof input === 'object' && input !== null && 'commands' in input
        ? checkHttpInput(parsePlan(input, engine.config), ctx.input)
        : planOfOne(checkHttpInput(parseRequest(input, engine.config), ctx.input)),
  };
  /** A principal without `decide` (a submitter) may only reject an approval it submitted: withdraw it. */
  const assertWithdrawal = (request: FastifyRequest, id: string, type: string) => {
    const { name, role } = request.principal;
    const owner = approvals.get(id).submitted_by;
    if (type === 'reject' && owner === name) return;
    throw ExecutionError.create('Forbidden', {
      who: `${name} (role ${role})`,
      what: type === 'reject' ? `reject ${id}` : `${type === 'approve' ? 'approve' : 'edit and approve'} ${id}`,
      needs: `${owner === name ? 'a submitter may only reject (withdraw) its own plan' : `it was submitted by ${owner ?? 'nobody recorded'}; a submitter may only reject (withdraw) its own`}; approving needs role approver or admin`,
    });
  };
  return [
    route({
      method: 'POST',
      url: '/api/dry-run',
      operationId: 'dryRun',
      summary:
        'What a plan (or one request) would do, without doing it: EC2 calls go with --dry-run / DryRun, others are described',
      tag: 'approvals',
      access: 'submit',
      body: planOrRequest,
      responses: {
        200: {
          description: 'Per-command dry-run results: verdict, and what each command would change (resources, warnings)',
          schema: DryRunResultView,
        },
        400: BAD_INPUT,
      },
      handler: async ({ body }) => engine.dryRun(body),
    }),
    route({
      method: 'POST',
      url: '/api/approvals',
      operationId: 'createApproval',
      summary:
        'Ask for a human decision on a plan (or one request): risk, commands and dry-run results, kept until decided',
      tag: 'approvals',
      access: 'submit',
      body: planOrRequest,
      responses: {
        201: { description: 'Waiting for a decision', schema: ApprovalEntry },
        400: BAD_INPUT,
        409: { description: 'Already waiting', schema: 'Error' },
      },
      handler: async ({ body, request, reply }) => {
        const actor = actorOf(request);
        const approval = await approvals.submit(withSubmitter(body, actor.name), actor);
        ctx.audit.recordDone({
          principal: actor.name,
          action: 'submit',
          object: approval.id,
          source: actor.source,
          detail: {
            kind: 'approval',
            plan_sha256: approval.plan_sha256,
            risk_level: approval.request.risk_level,
            required: approval.required,
          },
        });
        reply.code(201).header('location', `/api/approvals/${approval.id}`);
        return approvals.view(approval);
      },
    }),
    route({
      method: 'GET',
      url: '/api/approvals',
      operationId: 'listApprovals',
      summary: 'Approvals, newest first; `?state=pending` for what waits',
      tag: 'approvals',
      access: 'read',
      query: ApprovalListQuery,
      responses: {
        200: { description: 'Approvals', schema: z.object({ approvals: z.array(ApprovalEntry) }) },
        400: BAD_INPUT,
      },
      handler: async ({ query }) => ({ approvals: approvals.list(query.state).map((a) => approvals.view(a)) }),
    }),
    route({
      method: 'GET',
      url: '/api/approvals/:id',
      operationId: 'getApproval',
      summary: 'One approval: the request shown to the approver and, once decided, the decision',
      tag: 'approvals',
      access: 'read',
      params: IdParams,
      responses: { 200: { description: 'The approval', schema: ApprovalEntry }, 404: NOT_FOUND },
      handler: async ({ params }) => approvals.view(approvals.get(params.id)),
    }),
    route({
      method: 'POST',
      url: '/api/approvals/:id/decision',
      operationId: 'decideApproval',
      summary:
        'Decide as the signed-in principal, on the plan digest you were shown (`plan_sha256`): approve (the approval that completes the number its risk needs starts the plan), modify and approve (the edit, re-validated and re-assessed, becomes the plan under decision with a new digest and no approvals: others must approve it, never its editor), or reject with a reason (one reject rejects). The submitter may not approve its own plan; a submitter may reject (withdraw) its own. Only votes of principals still active count.',
      tag: 'approvals',
      // `cancel`: approvers and admins decide; a submitter may withdraw its own plan (the handler checks which).
      access: 'cancel',
      params: IdParams,
      body: {
        schema: DecisionBody,
        parse: (input: unknown) => {
          refuseNamedApprover(input);
          // Unknown fields are refused by the strict schema, each named with the nearest known one (wire/parse.ts).
          const body = bodyOf(DecisionBody).parse(input);
          if (body.decision.type === 'modify_and_approve')
            checkHttpInput(body.decision.modified_plan, ctx.input, 'decision.modified_plan.');
          return body;
        },
      },
      responses: {
        200: {
          description:
            'Recorded: `pending` with the votes so far and `still_needed`, or decided (`execution_id` is the plan that started)',
          schema: ApprovalEntry,
        },
        400: BAD_INPUT,
        403: {
          description:
            'The submitter or the editor of the plan under decision may not approve it (`SelfApproval`), or the role may not decide: a submitter may only reject its own (`Forbidden`)',
          schema: 'Error',
        },
        404: NOT_FOUND,
        409: {
          description:
            "Already decided (`AlreadyDecided`); expired (`Expired`); `plan_sha256` is not the approval's (`DigestMismatch`: the plan changed since it was looked at); the repeated dry run says something else than the one shown (`DryRunChanged`: look again, the approvals start over); an edit rated above the risk shown without `accept_risk` (`ApprovalRequired`); or an edit using an id that is not new (another approval's, or one in the history: `DuplicateId`)",
          schema: 'Error',
        },
      },
      handler: async ({ params, body, request }) => {
        const actor = actorOf(request);
        if (!allows(request.principal.role, 'decide')) assertWithdrawal(request, params.id, body.decision.type);
        let decision = body.decision;
        if (decision.type === 'modify_and_approve') {
          const approval = approvals.get(params.id);
          // The approver was shown `***` for secrets; where the edit kept what was shown, the hidden values run.
          const restored = restoreRedacted(
            planUnderDecision(approval),
            decision.modified_plan,
            engine.config,
            'decision.modified_plan.',
          );
          // The work stays its submitter's (who may cancel it), whatever the edit's tags say.
          const modified = approval.submitted_by === null ? restored : withSubmitter(restored, approval.submitted_by);
          decision = { ...decision, modified_plan: modified };
        }
        const decided = await approvals.decide(
          params.id,
          { decision, plan_sha256: body.plan_sha256, notes: body.notes ?? null, accept_risk: body.accept_risk },
          actor,
        );
        return approvals.view(decided);
      },
    }),
  ];
}
