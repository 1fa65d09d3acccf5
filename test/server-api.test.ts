/** The HTTP API over real loopback HTTP: submission, inspection, cancel, logs, history, approvals, dry run, OpenAPI. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { expect, test } from 'vitest';
import { jsonSchemaOf } from '../src/index.js';
import { backgroundWritingPid, isAlive, tempDir, until } from './helpers.js';
import { decideAs } from './support/approvals.js';
import { startTestServer } from './support/server.js';

const shell = (command: string, extra: Record<string, unknown> = {}) => ({
  command: { type: 'shell', command },
  ...extra,
});
/** modify and destructive wait for a human; read-only runs. */
const APPROVAL = { approval: { auto_approve_readonly: true } };
/** A harmless command declared `modify`, so the policy above holds it for a human. */
const modifying = (command: string) => shell(command, { risk_level: 'modify' });

test('a request runs in the background: 202 with its id and Location, then status, result, log, listing and search', async () => {
  const { api } = await startTestServer();
  const submitted = await api('POST', '/api/executions', shell('echo zebra-crossing; echo warn >&2'));
  expect(submitted.status).toBe(202);
  expect(submitted.body).toMatchObject({ status: 'pending', approval_id: null });
  const id = submitted.body.id as string;
  expect(submitted.headers.get('location')).toBe(`/api/executions/${id}`);

  const result = await api('GET', `/api/executions/${id}/result?wait=true`);
  expect(result.status).toBe(200);
  expect(result.body).toMatchObject({
    id,
    status: 'completed',
    exit_code: 0,
    stdout: 'zebra-crossing\n',
    stderr: 'warn\n',
  });

  const detail = await api('GET', `/api/executions/${id}`);
  expect(detail.body.execution).toMatchObject({
    id,
    kind: 'command',
    status: 'completed',
    risk_level: 'read_only',
    command: expect.stringContaining('echo zebra-crossing'),
  });
  expect(detail.body.request.command).toMatchObject({ type: 'shell' });
  expect(detail.body.result.stdout).toBe('zebra-crossing\n');

  const log = await api('GET', `/api/executions/${id}/logs`);
  expect(log.headers.get('content-type')).toMatch(/^text\/plain/);
  expect(log.body).toMatch(/\[stdout\] zebra-crossing\n/);
  expect(log.body).toMatch(/\[stderr\] warn\n/);

  const list = await api('GET', '/api/executions?status=completed');
  expect(list.body.executions.map((e: { id: string }) => e.id)).toContain(id);
  expect(list.body.total).toBe(1);
  const found = await api('GET', '/api/search?q=zebra');
  expect(found.body.executions.map((e: { id: string }) => e.id)).toEqual([id]);
});

test('bad input: 400 naming the field and the reason, for bodies, queries and ids', async () => {
  const { api } = await startTestServer();
  const badType = await api('POST', '/api/plans', {
    commands: [shell('true'), { command: { type: 'powershell', command: 'x' } }],
  });
  expect(badType.status).toBe(400);
  expect(badType.body.error).toMatchObject({
    code: 'Validation',
    kind: 'InvalidCommand',
    field: 'commands[1].command.type',
  });
  expect(badType.body.error.reason).toMatch(/unknown command type "powershell"/);

  const tooLong = await api('POST', '/api/executions', shell('true', { timeout_ms: 10 ** 9 }));
  expect(tooLong.status).toBe(400);
  expect(tooLong.body.error).toMatchObject({ kind: 'TimeoutTooLarge', field: 'timeout_ms' });

  const cycle = await api('POST', '/api/plans', {
    strategy: { type: 'dependency_graph', dependencies: { 0: [1], 1: [0] } },
    commands: [shell('true'), shell('true')],
  });
  expect(cycle.status).toBe(400);
  expect(cycle.body.error.kind).toBe('InvalidPlan');

  const badQuery = await api('GET', '/api/executions?limit=0&status=done');
  expect(badQuery.status).toBe(400);
  expect(badQuery.body.error.issues.map((i: { field: string }) => i.field).sort()).toEqual(['limit', 'status']);

  expect((await api('GET', '/api/search?q=%20')).body.error.field).toBe('q');
  const missing = await api('GET', '/api/executions/00000000-0000-4000-8000-000000000000');
  expect(missing.status).toBe(404);
  expect(missing.body.error.code).toBe('NotFound');
});

test('a dependency-graph plan runs in order; its detail lists the commands in plan order with their states', async () => {
  const { api } = await startTestServer();
  const dir = tempDir();
  const order = join(dir, 'order');
  const submitted = await api('POST', '/api/plans', {
    description: 'diamond',
    strategy: { type: 'dependency_graph', dependencies: { 1: [0], 2: [0], 3: [1, 2] } },
    commands: [0, 1, 2, 3].map((i) => shell(`echo ${i} >> ${order}`)),
  });
  expect(submitted.status).toBe(202);
  const planId = submitted.body.id;
  const result = await api('GET', `/api/executions/${planId}/result?wait=true`);
  expect(result.body).toMatchObject({ plan_id: planId, status: 'completed', stats: { total: 4, completed: 4 } });
  const detail = await api('GET', `/api/executions/${planId}`);
  expect(detail.body.execution).toMatchObject({ kind: 'plan', status: 'completed', description: 'diamond' });
  expect(detail.body.commands.map((c: { id: string }) => c.id)).toEqual(
    detail.body.plan.commands.map((c: { id: string }) => c.id),
  );
  expect(detail.body.commands.every((c: { status: string }) => c.status === 'completed')).toBe(true);
  // Only plans and stand-alone commands at the top level.
  const top = await api('GET', '/api/executions?top_level=true');
  expect(top.body.executions.map((e: { id: string }) => e.id)).toEqual([planId]);
});

test('a running plan is listed as running, with its start time, while its commands run', async () => {
  const { api } = await startTestServer();
  const gate = join(tempDir(), 'gate');
  const planId = (await api('POST', '/api/plans', { commands: [shell(`while [ ! -f ${gate} ]; do sleep 0.02; done`)] }))
    .body.id;
  await until(
    async () => (await api('GET', '/api/executions?status=running&kind=plan')).body.total === 1,
    10_000,
    'plan running',
  );
  const running = (await api('GET', '/api/executions?status=running&kind=plan')).body.executions[0];
  expect(running).toMatchObject({ id: planId, status: 'running', started_at: expect.any(String) });
  (await import('node:fs')).writeFileSync(gate, '');
  expect((await api('GET', `/api/executions/${planId}/result?wait=true`)).body.status).toBe('completed');
});

test('cancel ends a running command and its process tree; a second cancel is 409', async () => {
  const { api } = await startTestServer();
  const dir = tempDir();
  const pidFile = join(dir, 'pid');
  const id = (await api('POST', '/api/executions', shell(`${backgroundWritingPid(pidFile, 'sleep 60')} wait`))).body.id;
  await until(() => existsSync(pidFile), 10_000, 'grandchild started');
  const grandchild = Number((await import('node:fs')).readFileSync(pidFile, 'utf8'));
  const cancelled = await api('POST', `/api/executions/${id}/cancel`);
  expect(cancelled.status).toBe(202);
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body.status).toBe('cancelled');
  await until(() => !isAlive(grandchild), 10_000, 'grandchild gone');
  const again = await api('POST', `/api/executions/${id}/cancel`);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('NotRunning');
});

test('a result asked for while running is 409 NotCompleted, without waiting', async () => {
  const { api } = await startTestServer();
  const id = (await api('POST', '/api/executions', shell('sleep 30'))).body.id;
  const early = await api('GET', `/api/executions/${id}/result`);
  expect(early.status).toBe(409);
  expect(early.body.error.code).toBe('NotCompleted');
  await api('POST', `/api/executions/${id}/cancel`);
});

test('under the approval policy, risky work waits; the approval shows risk, commands and dry-run results', async () => {
  const { api, engine } = await startTestServer(APPROVAL);
  const dir = tempDir();
  const target = join(dir, 'target');
  const submitted = await api('POST', '/api/plans', {
    description: 'clean up',
    commands: [shell(`rm -rf ${target}`), shell('echo done')],
  });
  expect(submitted.status).toBe(202);
  expect(submitted.body).toMatchObject({ status: 'awaiting_approval', approval_id: submitted.body.id });
  expect(submitted.headers.get('location')).toBe(`/api/approvals/${submitted.body.id}`);
  expect(await engine.listExecutions()).toEqual([]); // nothing started

  const approval = (await api('GET', `/api/approvals/${submitted.body.id}`)).body;
  expect(approval).toMatchObject({ state: 'pending', request: { risk_level: 'destructive', description: 'clean up' } });
  expect(approval.request.commands[0]).toMatchObject({
    risk_level: 'destructive',
    command: expect.stringContaining('rm -rf'),
  });
  expect(approval.request.commands[0].dry_run_result).toMatch(/would run/);
  expect((await api('GET', '/api/approvals?state=pending')).body.approvals.map((a: { id: string }) => a.id)).toEqual([
    submitted.body.id,
  ]);
  expect((await api('GET', '/api/health')).body.awaiting_approval).toBe(1);

  // Read-only work still runs at once.
  const readOnly = await api('POST', '/api/executions', {
    command: { type: 'aws_cli', service: 'ec2', operation: 'describe-instances', args: [] },
  });
  expect(readOnly.body.status).toBe('pending');
});

test('approve starts the plan and records who approved (the signed-in principal); a second decision is refused', async () => {
  const server = await startTestServer(APPROVAL);
  const { api, engine } = server;
  const id = (await api('POST', '/api/plans', { commands: [modifying('echo approved-run')] })).body.id;
  const decided = await decideAs(server, id, { type: 'approve' }, { notes: 'ticket OPS-1' });
  expect(decided.status).toBe(200);
  expect(decided.body).toMatchObject({
    state: 'approved',
    execution_id: id,
    decision: { approved_by: 'alice', notes: 'ticket OPS-1' },
  });
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body.status).toBe('completed');
  expect(await engine.getApproval(id)).toMatchObject({ approved_by: 'alice' });
  expect((await api('GET', `/api/executions/${id}`)).body.approval).toMatchObject({ approved_by: 'alice' });

  const again = await decideAs(server, id, { type: 'approve' }, { as: 'bob' });
  expect(again.status).toBe(409);
  expect(again.body.error).toEqual({
    code: 'AlreadyDecided',
    message: `Approval ${id} was already decided (approved)`,
  });
});

test('reject needs a reason and runs nothing', async () => {
  const server = await startTestServer(APPROVAL);
  const { api, engine } = server;
  const dir = tempDir();
  const marker = join(dir, 'ran');
  const id = (await api('POST', '/api/executions', shell(`touch ${marker}`))).body.id;
  const noReason = await decideAs(server, id, { type: 'reject' });
  expect(noReason.status).toBe(400);
  expect(noReason.body.error.field).toBe('decision.reason');
  const rejected = await decideAs(server, id, { type: 'reject', reason: 'not in a change window' });
  expect(rejected.body).toMatchObject({
    state: 'rejected',
    execution_id: null,
    decision: { decision: { type: 'reject', reason: 'not in a change window' } },
  });
  expect(existsSync(marker)).toBe(false);
  expect(await engine.listExecutions()).toEqual([]);
});

test('modify and approve: an invalid edit is 400 naming its field and stays pending; a valid one runs the edit', async () => {
  const server = await startTestServer(APPROVAL);
  const { api } = server;
  const id = (await api('POST', '/api/plans', { commands: [modifying('echo original')] })).body.id;
  const broken = await decideAs(server, id, {
    type: 'modify_and_approve',
    modified_plan: { commands: [{ command: { type: 'shell' } }] },
  });
  expect(broken.status).toBe(400);
  expect(broken.body.error.field).toBe('decision.modified_plan.commands[0].command.command');
  expect((await api('GET', `/api/approvals/${id}`)).body.state).toBe('pending');

  const edited = await decideAs(server, id, {
    type: 'modify_and_approve',
    modified_plan: { commands: [modifying('echo edited')] },
  });
  // Its editor (alice) may not approve what she wrote: another approver runs it.
  expect(edited.body).toMatchObject({ state: 'pending', still_needed: 1 });
  const approved = await decideAs(server, id, { type: 'approve' }, { as: 'bob' });
  expect(approved.body.state).toBe('approved');
  const runId = approved.body.execution_id;
  expect(runId).not.toBe(id);
  const result = (await api('GET', `/api/executions/${runId}/result?wait=true`)).body;
  expect(result.results[0].stdout).toBe('edited\n');
});

test('dry run of a plan or of a single request changes nothing', async () => {
  const { api } = await startTestServer();
  const dir = tempDir();
  const marker = join(dir, 'ran');
  const plan = await api('POST', '/api/dry-run', { commands: [shell(`touch ${marker}`)] });
  expect(plan.status).toBe(200);
  expect(JSON.stringify(plan.body)).toContain('would run');
  const single = await api('POST', '/api/dry-run', shell(`touch ${marker}`));
  expect(single.status).toBe(200);
  expect(existsSync(marker)).toBe(false);
  expect((await api('POST', '/api/dry-run', { command: { type: 'nope' } })).body.error.field).toBe('command.type');
});

test('an explicit approval request can be created for any plan, and a duplicate is refused', async () => {
  const { api } = await startTestServer(APPROVAL);
  const plan = { id: '00000000-0000-4000-8000-0000000000aa', commands: [shell('ls')] };
  const created = await api('POST', '/api/approvals', plan);
  expect(created.status).toBe(201);
  expect(created.headers.get('location')).toBe(`/api/approvals/${plan.id}`);
  expect((await api('POST', '/api/approvals', plan)).status).toBe(409);
  expect((await api('GET', '/api/approvals/00000000-0000-4000-8000-0000000000ff')).status).toBe(404);
});

test('rollback of a finished plan runs its rollback commands over HTTP', async () => {
  const { api } = await startTestServer();
  const dir = tempDir();
  const file = join(dir, 'created');
  const id = (
    await api('POST', '/api/plans', {
      rollback_strategy: 'manual',
      commands: [shell(`touch ${file}`, { rollback: [shell(`rm ${file}`)] })],
    })
  ).body.id;
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body.status).toBe('completed');
  expect(existsSync(file)).toBe(true);
  const rolled = await api('POST', `/api/executions/${id}/rollback`);
  expect(rolled.status).toBe(200);
  expect(rolled.body.status).toBe('rolled_back');
  expect(existsSync(file)).toBe(false);
});

test('the OpenAPI document is valid, covers every route, and uses the schemas that validate input', async () => {
  const { api, server } = await startTestServer();
  const doc = (await api('GET', '/api/openapi.json')).body;
  await expect(validate(structuredClone(doc))).resolves.toMatchObject({ valid: true });
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(methods)) {
      expect(
        server.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }),
        `${method} ${path}`,
      ).toBe(true);
    }
  }
  const { $schema: _, ...plan } = jsonSchemaOf('plan');
  expect(doc.components.schemas.ExecutionPlan).toEqual(plan);
  expect(doc.paths['/api/plans'].post.requestBody.content['application/json'].schema).toEqual({
    $ref: '#/components/schemas/ExecutionPlan',
  });
});

test('what waits for approval survives a server restart, and can be approved afterwards', async () => {
  const logDir = tempDir();
  const first = await startTestServer({ ...APPROVAL, log_dir: logDir });
  const waiting = (
    await first.api('POST', '/api/plans', { description: 'survives', commands: [modifying('echo after-restart')] })
  ).body.id;
  const rejected = (await first.api('POST', '/api/plans', { commands: [modifying('echo never')] })).body.id;
  await decideAs(first, rejected, { type: 'reject', reason: 'no' }, { as: 'frank' });
  await first.server.close();
  await first.engine.shutdown();
  first.engine.close();

  const second = await startTestServer({ ...APPROVAL, log_dir: logDir });
  const listed = (await second.api('GET', '/api/approvals')).body.approvals;
  expect(listed.map((a: { id: string; state: string }) => [a.id, a.state])).toEqual([
    [rejected, 'rejected'],
    [waiting, 'pending'],
  ]);
  expect(listed[0].decision).toMatchObject({ approved_by: 'frank', decision: { type: 'reject', reason: 'no' } });
  const approved = await decideAs(second, waiting, { type: 'approve' }, { as: 'grace' });
  expect(approved.body.state).toBe('approved');
  expect((await second.api('GET', `/api/executions/${waiting}/result?wait=true`)).body.results[0].stdout).toBe(
    'after-restart\n',
  );
});

test('who cancelled is part of the detail: of a cancelled plan, and of its commands (their plan was cancelled)', async () => {
  const { api } = await startTestServer();
  const plan = await api('POST', '/api/plans', { commands: [shell('sleep 30'), shell('echo after')] });
  const id = plan.body.id as string;
  await until(async () => (await api('GET', `/api/executions/${id}`)).body.commands[0]?.status === 'running');
  expect((await api('GET', `/api/executions/${id}`)).body.cancelled_by).toBeNull();
  expect((await api('POST', `/api/executions/${id}/cancel`)).status).toBe(202);
  await api('GET', `/api/executions/${id}/result?wait=true`);
  const detail = (await api('GET', `/api/executions/${id}`)).body;
  expect(detail.execution.status).toBe('cancelled');
  expect(detail.cancelled_by).toEqual({ principal: 'admin', at: expect.any(String), object: id });
  const step = (await api('GET', `/api/executions/${detail.commands[0].id}`)).body;
  expect(step.cancelled_by).toMatchObject({ principal: 'admin', object: id });
});
