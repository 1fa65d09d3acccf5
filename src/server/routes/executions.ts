/** Submitting, listing, inspecting, cancelling and rolling back executions; their logs; history search. */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { ExecutionError } from '../../errors.js';
import { parsePlan, parseRequest } from '../../wire/parse.js';
import { ExecutionResultSchema, PlanExecutionResultSchema } from '../../wire/schema.js';
import type { ExecutionPlan, ExecutionRequest } from '../../wire/types.js';
import {
  Accepted,
  Cancelling,
  CommandDetail,
  ExecutionList,
  IdParams,
  ListQuery,
  PlanDetail,
  ResultQuery,
  ResumeAccepted,
  ResumeBody,
  ResumePreview,
  ResumeQuery,
  SearchQuery,
} from '../api-schemas.js';
import type { ServerContext } from '../context.js';
import { historyFilterOf } from '../history-filter.js';
import { checkHttpInput } from '../input-guard.js';
import { assertMayStop } from '../ownership.js';
import { bodyOf, type RouteSpec, route } from '../route-spec.js';
import { needsApproval, submit } from '../submit.js';
import { detailOf, executionView } from '../views.js';

const ERROR_RESPONSES = {
  400: { description: 'Invalid input; `error.field` names the first bad field', schema: 'Error' },
  404: { description: 'No such execution', schema: 'Error' },
};

export function executionRoutes(ctx: ServerContext): RouteSpec[] {
  const { engine } = ctx;
  const kindOf = (id: string) => {
    const record = ctx.history.get(id);
    if (!record) throw ExecutionError.notFound(id);
    return record.kind;
  };
  const accepted = {
    202: { description: 'Accepted: running, or waiting for approval', schema: Accepted },
    400: ERROR_RESPONSES[400],
    409: { description: 'Duplicate id', schema: 'Error' },
  };
  const submitRoute = <B extends ExecutionRequest | ExecutionPlan>(
    url: string,
    operationId: string,
    summary: string,
    component: string,
    parse: (input: unknown) => B,
  ) =>
    route({
      method: 'POST',
      url,
      operationId,
      summary,
      tag: 'executions',
      access: 'submit',
      body: { schema: component, parse: (input: unknown) => checkHttpInput(parse(input), ctx.input) },
      responses: accepted,
      handler: async ({ body, request, reply }) => {
        const { accepted: answer, audit } = await submit(ctx, body, request.principal.name);
        ctx.audit.recordDone({
          principal: request.principal.name,
          action: 'submit',
          object: answer.id,
          source: request.ip,
          detail: audit,
        });
        reply
          .code(202)
          .header(
            'location',
            answer.approval_id ? `/api/approvals/${answer.approval_id}` : `/api/executions/${answer.id}`,
          );
        return answer;
      },
    });

  return [
    submitRoute(
      '/api/executions',
      'submitExecution',
      'Run one command (in the background); under the approval policy it may wait for a human first',
      'ExecutionRequest',
      (input) => parseRequest(input, engine.config),
    ),
    submitRoute(
      '/api/plans',
      'submitPlan',
      'Run a plan (serial, parallel or dependency graph); under the approval policy it may wait for a human first',
      'ExecutionPlan',
      (input) => parsePlan(input, engine.config),
    ),
    route({
      method: 'GET',
      url: '/api/executions',
      operationId: 'listExecutions',
      summary: 'Executions, newest first, from the history (this and earlier runs of the server)',
      tag: 'executions',
      access: 'read',
      query: ListQuery,
      responses: { 200: { description: 'A page of executions', schema: ExecutionList }, 400: ERROR_RESPONSES[400] },
      handler: async ({ query }) => {
        const filter = historyFilterOf(query);
        return {
          executions: ctx.history
            .list({ ...filter, limit: query.limit, offset: query.offset })
            .map((r) => executionView(r, engine.config)),
          total: ctx.history.count(filter),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/api/search',
      operationId: 'searchExecutions',
      summary:
        'Full-text search over commands, descriptions, output and user prompts, best match first; takes the filters of the executions list',
      tag: 'executions',
      access: 'read',
      query: SearchQuery,
      responses: { 200: { description: 'Matching executions', schema: ExecutionList }, 400: ERROR_RESPONSES[400] },
      handler: async ({ query }) => {
        const found = ctx.history.search(query.q, {
          ...historyFilterOf(query),
          limit: query.limit,
          offset: query.offset,
        });
        return { executions: found.map((r) => executionView(r, engine.config)), total: found.length };
      },
    }),
    route({
      method: 'GET',
      url: '/api/executions/:id',
      operationId: 'getExecution',
      summary: 'One command (with its request and result) or plan (with its commands in plan order)',
      tag: 'executions',
      access: 'read',
      params: IdParams,
      responses: {
        200: { description: 'The execution', schema: CommandDetail.or(PlanDetail) },
        404: ERROR_RESPONSES[404],
      },
      handler: async ({ params }) => detailOf(engine, ctx.history, ctx.audit, params.id),
    }),
    route({
      method: 'GET',
      url: '/api/executions/:id/result',
      operationId: 'getResult',
      summary: 'The result of a finished command or plan; `?wait=true` waits for it',
      tag: 'executions',
      access: 'read',
      params: IdParams,
      query: ResultQuery,
      responses: {
        200: {
          description: 'ExecutionResult for a command, PlanExecutionResult for a plan',
          schema: ExecutionResultSchema.or(PlanExecutionResultSchema),
        },
        404: { description: 'Unknown, or no longer held in memory (see the execution and its log)', schema: 'Error' },
        409: { description: 'Still running (without wait)', schema: 'Error' },
      },
      handler: async ({ params, query }) => {
        if (kindOf(params.id) === 'plan')
          return query.wait ? engine.waitPlan(params.id) : engine.getPlanResult(params.id);
        return query.wait ? engine.wait(params.id) : engine.getResult(params.id);
      },
    }),
    route({
      method: 'POST',
      url: '/api/executions/:id/cancel',
      operationId: 'cancelExecution',
      summary:
        'Cancel a pending or running command or plan; the whole process tree is ended (a submitter: only its own)',
      tag: 'executions',
      access: 'cancel',
      params: IdParams,
      responses: {
        202: { description: 'Cancelling', schema: Cancelling },
        403: { description: "A submitter's cancel of work it did not submit (`Forbidden`)", schema: 'Error' },
        404: ERROR_RESPONSES[404],
        409: { description: 'Not running', schema: 'Error' },
      },
      handler: async ({ params, request, reply }) => {
        await assertMayStop(ctx, request.principal, params.id);
        await engine.cancel(params.id);
        ctx.audit.recordDone({
          principal: request.principal.name,
          action: 'cancel',
          object: params.id,
          source: request.ip,
        });
        reply.code(202);
        return { id: params.id, status: 'cancelling' as const };
      },
    }),
    route({
      method: 'POST',
      url: '/api/executions/:id/rollback',
      operationId: 'rollbackPlan',
      summary:
        "Roll back a finished plan: its completed steps' rollback commands, last first; answers when done (a submitter: only its own)",
      tag: 'executions',
      access: 'cancel',
      params: IdParams,
      responses: {
        200: { description: 'The plan result after the rollback', schema: PlanExecutionResultSchema },
        403: { description: "A submitter's rollback of a plan it did not submit (`Forbidden`)", schema: 'Error' },
        404: ERROR_RESPONSES[404],
        409: { description: 'Not finished', schema: 'Error' },
      },
      handler: async ({ params, request }) => {
        await assertMayStop(ctx, request.principal, params.id);
        const result = await engine.rollback(params.id);
        ctx.audit.recordDone({
          principal: request.principal.name,
          action: 'rollback',
          object: params.id,
          source: request.ip,
          detail: { status: result.status },
        });
        return result;
      },
    }),
    route({
      method: 'GET',
      url: '/api/executions/:id/resume',
      operationId: 'previewResume',
      summary:
        'What resuming a finished plan run would do: the steps carried over (they completed; not run again) and the steps that run, with their risk',
      tag: 'executions',
      access: 'read',
      params: IdParams,
      query: ResumeQuery,
      responses: {
        200: { description: 'The steps, by index', schema: ResumePreview },
        400: ERROR_RESPONSES[400],
        404: ERROR_RESPONSES[404],
        409: { description: 'Not resumable (`NotResumable`: still running, nothing to run, ...)', schema: 'Error' },
      },
      handler: async ({ params, query }) => {
        const plan = await engine.prepareResume(params.id, { from: query.from });
        return {
          ...resumeSteps(plan),
          risk_level: engine.workflow.assessRisk(plan),
          requires_approval: needsApproval(ctx, plan),
        };
      },
    }),
    route({
      method: 'POST',
      url: '/api/executions/:id/resume',
      operationId: 'resumePlan',
      summary:
        'Resume a finished plan run (failed, cancelled, interrupted, or from a named step): a new run linked to it that carries the completed steps over and runs the rest; under the approval policy it may wait for a human first',
      tag: 'executions',
      access: 'submit',
      params: IdParams,
      body: {
        schema: ResumeBody,
        parse: (input: unknown) => {
          const body = bodyOf(ResumeBody).parse(input);
          const plan = body.plan === undefined ? undefined : parsePlan(body.plan, engine.config);
          return { from: body.from, plan: plan && checkHttpInput(plan, ctx.input, 'plan.') };
        },
      },
      responses: {
        202: { description: 'Accepted: running, or waiting for approval', schema: ResumeAccepted },
        400: ERROR_RESPONSES[400],
        404: ERROR_RESPONSES[404],
        409: { description: 'Not resumable (`NotResumable`), or an approval is required first', schema: 'Error' },
      },
      handler: async ({ params, body, request, reply }) => {
        const plan = await engine.prepareResume(params.id, { from: body.from, plan: body.plan });
        const { accepted: answer, audit } = await submit(ctx, plan, request.principal.name);
        ctx.audit.recordDone({
          principal: request.principal.name,
          action: 'submit',
          object: answer.id,
          source: request.ip,
          detail: { ...audit, resumed_from: params.id },
        });
        reply
          .code(202)
          .header(
            'location',
            answer.approval_id ? `/api/approvals/${answer.approval_id}` : `/api/executions/${answer.id}`,
          );
        return { ...answer, ...resumeSteps(plan) };
      },
    }),
    route({
      method: 'GET',
      url: '/api/executions/:id/logs',
      operationId: 'getLogs',
      summary:
        'The log: a header, every output line with its timestamp and stream, a footer (a plan: its schedule log, then each command log)',
      tag: 'executions',
      access: 'read',
      params: IdParams,
      responses: { 200: { description: 'Log text', contentType: 'text/plain' }, 404: ERROR_RESPONSES[404] },
      handler: async ({ params, reply }) => {
        if (kindOf(params.id) === 'plan')
          return reply.type('text/plain; charset=utf-8').send(await engine.readLogs(params.id));
        // Commands stream from disk: a log can be far larger than memory.
        const path = engine.getLogPath(params.id);
        try {
          await access(path);
        } catch {
          return reply.type('text/plain; charset=utf-8').send(''); // not started yet
        }
        return reply.type('text/plain; charset=utf-8').send(createReadStream(path));
      },
    }),
  ];
}

/** A resume plan's steps by index: carried over, or run. */
function resumeSteps(plan: ExecutionPlan): { resumed_from: string; carried: number[]; runs: number[] } {
  const carried = plan.resumed_from?.carried ?? [];
  return {
    resumed_from: plan.resumed_from?.plan_id ?? plan.id,
    carried,
    runs: plan.commands.flatMap((_, i) => (carried.includes(i) ? [] : [i])),
  };
}
