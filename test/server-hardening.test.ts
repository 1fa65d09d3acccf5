/** What a client must not be able to do through the server: bypass approval, touch arbitrary files, crash a route. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';
import { decideAs } from './support/approvals.js';
import { startTestServer, TOKEN } from './support/server.js';

/** `serve --approve modify` (the default): read-only work runs at once, the rest waits. */
const POLICY = {
  approval: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
};

test('an exec of another program is not read-only because its arguments mention a read-only aws call', async () => {
  const { api } = await startTestServer(POLICY);
  const marker = join(tempDir(), 'ran');
  const submitted = await api('POST', '/api/executions', {
    command: { type: 'exec', program: 'bash', args: ['-c', `touch ${marker}`, 'aws', 'ec2', 'describe-instances'] },
  });
  expect(submitted.status).toBe(202);
  expect(submitted.body.status).toBe('awaiting_approval');
  const approval = await api('GET', `/api/approvals/${submitted.body.approval_id ?? submitted.body.id}`);
  expect(approval.body.request.risk_level).toBe('modify');
  expect(existsSync(marker)).toBe(false);
});

test('output_log_path is refused over HTTP, in a request, a plan step, a rollback step and an edited plan', async () => {
  const server = await startTestServer(POLICY);
  const { api } = server;
  const victim = join(tempDir(), 'victim');
  writeFileSync(victim, 'important\n');
  const read = { type: 'sdk', service: 'sts', operation: 'GetCallerIdentity' };

  const single = await api('POST', '/api/executions', { command: read, output_log_path: victim });
  expect(single.status).toBe(400);
  expect(single.body.error).toMatchObject({ code: 'Validation', field: 'output_log_path' });

  const plan = await api('POST', '/api/plans', {
    commands: [{ command: read }, { command: read, output_log_path: victim }],
  });
  expect(plan.body.error.field).toBe('commands[1].output_log_path');

  const rollback = await api('POST', '/api/approvals', {
    commands: [{ command: read, rollback: [{ command: read, output_log_path: victim }] }],
  });
  expect(rollback.body.error.field).toBe('commands[0].rollback[0].output_log_path');

  const pending = await api('POST', '/api/approvals', {
    commands: [{ command: { type: 'shell', command: 'echo hi' } }],
  });
  const edited = await decideAs(server, pending.body.id, {
    type: 'modify_and_approve',
    modified_plan: { commands: [{ command: { type: 'shell', command: 'echo hi' }, output_log_path: victim }] },
  });
  expect(edited.status).toBe(400);
  expect(edited.body.error.field).toBe('decision.modified_plan.commands[0].output_log_path');
  expect(readFileSync(victim, 'utf8')).toBe('important\n');
});

test('a decided approval cannot be submitted again under the same id', async () => {
  const server = await startTestServer(POLICY);
  const { api } = server;
  const plan = {
    id: '11111111-1111-4111-8111-111111111111',
    commands: [{ command: { type: 'shell', command: 'echo hello' } }],
  };
  expect((await api('POST', '/api/approvals', plan)).status).toBe(201);
  expect((await decideAs(server, plan.id, { type: 'approve' })).status).toBe(200);
  const again = await api('POST', '/api/approvals', plan);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('DuplicateId');
  const now = await api('GET', `/api/approvals/${plan.id}`);
  expect(now.body).toMatchObject({ state: 'approved', decision: { approved_by: 'alice' } });
});

test('two submissions of one id at the same time: one is queued, the other refused', async () => {
  const { api } = await startTestServer(POLICY);
  const plan = {
    id: '22222222-2222-4222-8222-222222222222',
    commands: [{ command: { type: 'shell', command: 'echo hello' } }],
  };
  const statuses = (await Promise.all([api('POST', '/api/approvals', plan), api('POST', '/api/approvals', plan)]))
    .map((r) => r.status)
    .sort();
  expect(statuses).toEqual([201, 409]);
});

test('/login?next= stays on this server and never answers 500', async () => {
  const { url } = await startTestServer();
  const login = (next: string) =>
    fetch(`${url}/login?token=${TOKEN}&next=${encodeURIComponent(next)}`, { redirect: 'manual' });
  const crlf = await login('/\r\nx');
  expect(crlf.status).toBe(303);
  expect((await login('/\\evil.example/')).headers.get('location')).toBe('/');
  expect((await login('//evil.example/')).headers.get('location')).toBe('/');
  expect((await login('/#/executions?x=1')).headers.get('location')).toBe('/#/executions?x=1');
  expect((await login('http://[::1')).headers.get('location')).toBe('/');
});

test('input nested deeper than 64 levels is a 400 naming where, not a crash', async () => {
  const { api } = await startTestServer();
  const deep = `{"command":{"type":"sdk","service":"ec2","operation":"DescribeInstances","parameters":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}}`;
  const answer = await api('POST', '/api/executions', deep);
  expect(answer.status).toBe(400);
  expect(answer.body.error.field).toMatch(/^command\.parameters\.a(\[0\])+$/);
  expect(answer.body.error.reason).toContain('nested more than 64 levels');
});

test('NUL bytes in args, env values and shell commands are refused up front, naming the field', async () => {
  const { api } = await startTestServer({
    approval: { auto_approve_readonly: true, require_approval_modify: false, require_approval_destructive: false },
  });
  const cases: Array<[unknown, string]> = [
    [{ command: { type: 'exec', program: 'echo', args: ['ok', 'a\u0000b'] } }, 'command.args[1]'],
    [{ command: { type: 'exec', program: 'echo' }, env: { NAME: 'x\u0000y' } }, 'env.NAME'],
    [{ command: { type: 'shell', command: 'echo a\u0000b' } }, 'command.command'],
  ];
  for (const [body, field] of cases) {
    const answer = await api('POST', '/api/executions', body);
    expect(answer.status, field).toBe(400);
    expect(answer.body.error.field).toBe(field);
  }
  // An empty argument is still an argument.
  expect(
    (await api('POST', '/api/executions', { command: { type: 'exec', program: 'echo', args: [''] } })).status,
  ).toBe(202);
});

test('an edit rated above the risk shown is not accepted until the approver accepts that risk, then needs its approvers', async () => {
  const server = await startTestServer(POLICY);
  const { api } = server;
  const dir = tempDir();
  const marker = join(dir, 'keep');
  writeFileSync(marker, '');
  const pending = await api('POST', '/api/approvals', {
    commands: [{ command: { type: 'shell', command: 'echo modify-level' }, risk_level: 'modify' }],
  });
  expect(pending.body.request.risk_level).toBe('modify');
  const decision = {
    type: 'modify_and_approve',
    modified_plan: { commands: [{ command: { type: 'shell', command: `rm -f ${marker}` } }] },
  };

  const refused = await decideAs(server, pending.body.id, decision, { as: 'bob' });
  expect(refused.status).toBe(409);
  expect(refused.body.error).toMatchObject({ code: 'ApprovalRequired' });
  expect(refused.body.error.message).toContain('rated destructive, above the modify shown');
  expect((await api('GET', `/api/approvals/${pending.body.id}`)).body.state).toBe('pending');
  expect(existsSync(marker)).toBe(true);

  const accepted = await decideAs(server, pending.body.id, decision, { as: 'bob', accept_risk: 'destructive' });
  expect(accepted.status).toBe(200);
  // Now destructive: two approvers other than its editor (bob) must approve it.
  expect(accepted.body).toMatchObject({ state: 'pending', required: 2, still_needed: 2, edit: { by: 'bob' } });
  expect(existsSync(marker)).toBe(true);
  expect((await decideAs(server, pending.body.id, { type: 'approve' }, { as: 'alice' })).body.still_needed).toBe(1);
  expect(existsSync(marker)).toBe(true);
  const started = await decideAs(server, pending.body.id, { type: 'approve' }, { as: 'dave' });
  expect(started.body.decision).toMatchObject({ risk_level: 'destructive', decision: { type: 'modify_and_approve' } });
  await api('GET', `/api/executions/${started.body.execution_id}/result?wait=true`);
  expect(existsSync(marker)).toBe(false);
});

test('an edit at or below the risk shown needs no accept_risk, and never fewer approvers than the plan submitted', async () => {
  const server = await startTestServer(POLICY);
  const { api } = server;
  const safer = {
    type: 'modify_and_approve',
    modified_plan: { commands: [{ command: { type: 'shell', command: 'echo safer' } }] },
  };
  const modify = await api('POST', '/api/approvals', {
    commands: [{ command: { type: 'shell', command: 'echo modify-level' }, risk_level: 'modify' }],
  });
  const edit = await decideAs(server, modify.body.id, safer, { as: 'bob' });
  expect(edit.status).toBe(200);
  expect(edit.body).toMatchObject({ state: 'pending', required: 1, still_needed: 1 });
  const started = await decideAs(server, modify.body.id, { type: 'approve' }, { as: 'alice' });
  expect(started.body.state).toBe('approved');

  const destructive = await api('POST', '/api/approvals', {
    commands: [{ command: { type: 'shell', command: 'rm -f /tmp/cee-hardening-nothing' } }],
  });
  expect(destructive.body.request.risk_level).toBe('destructive');
  // Its editor wrote the edit: two others still look at it, as the destructive plan needed.
  const edited = await decideAs(server, destructive.body.id, safer, { as: 'bob' });
  expect(edited.status).toBe(200);
  expect(edited.body).toMatchObject({ state: 'pending', required: 2, still_needed: 2 });
  expect(edited.body.request.risk_level).toBe('read_only');
});
