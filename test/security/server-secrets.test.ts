/**
 * Attack: read a request's secrets back from the server. Every path that returns a request
 * (details, plans, approvals and their events, decisions, rollback steps, listings, dry runs)
 * shows `***` for secret-named variables and for secret values wherever else they appear;
 * an approver's edit that keeps `***` still runs with the real secret.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir, until } from '../helpers.js';
import { decideAs } from '../support/approvals.js';
import { openSocket, startTestServer, TOKEN } from '../support/server.js';

/** modify and destructive wait for a human; read-only runs. */
const POLICY = {
  approval: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
};
/** These tests are about what is shown and kept, not about how many approve: one approver is enough. */
const ONE_APPROVER = { approvals: { required: { destructive: 1 } } };

const DB_PASSWORD = 'pw-7f3c9e1a-db';
const API_TOKEN = 'tok-51b2d8c4-api';
const ROLLBACK_KEY = 'rk-0a9b8c7d-rollback';
const SHORT = 'ab1'; // shorter than output redaction bothers with: still hidden as an env value
const SECRETS = [DB_PASSWORD, API_TOKEN, ROLLBACK_KEY];

/** No secret anywhere in `payload` (a response body, an event, a page). */
function expectNoSecret(payload: unknown, where: string): void {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  for (const secret of SECRETS) expect(text, `${where} leaks ${secret}`).not.toContain(secret);
  expect(text, `${where} leaks the short secret`).not.toMatch(/"SHORT_SECRET":"ab1"/);
}

/** Server-Sent Events of everything (approvals included) until `stop` resolves. */
function collectSse(url: string): { text: () => string; stop: () => Promise<void> } {
  const controller = new AbortController();
  let text = '';
  const done = (async () => {
    try {
      const response = await fetch(`${url}/api/events`, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        text += Buffer.from(value).toString('utf8');
      }
    } catch {
      // aborted
    }
  })();
  return {
    text: () => text,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

function securePlan(dir: string) {
  return {
    description: 'rotate the database credentials',
    rollback_strategy: 'manual',
    commands: [
      {
        id: '5ec0e7a1-0000-4000-8000-000000000001',
        description: 'write what the command was given',
        command: {
          type: 'shell',
          // The literal token is in the command text too: shown as ***, restored when kept.
          command: `printf %s "$DB_PASSWORD" > ${join(dir, 'db')}; test "$API_TOKEN" = "${API_TOKEN}" && echo match > ${join(dir, 'token-literal')}; echo "using $DB_PASSWORD"`,
        },
        env: { DB_PASSWORD, API_TOKEN, SHORT_SECRET: SHORT, REGION: 'eu-west-1' },
        rollback: [
          {
            id: '5ec0e7a1-0000-4000-8000-0000000000f1',
            command: { type: 'shell', command: `printf %s "$ROLLBACK_SECRET_KEY" > ${join(dir, 'rollback')}` },
            env: { ROLLBACK_SECRET_KEY: ROLLBACK_KEY },
          },
        ],
      },
    ],
  };
}

test('a parked plan shows *** for every secret: approval, listings, WebSocket and SSE events, decision; edit-and-approve keeping *** runs the real secrets', async () => {
  const server = await startTestServer(POLICY, ONE_APPROVER);
  const { api, url } = server;
  const dir = tempDir();
  const ws = await openSocket(url);
  ws.send({ type: 'subscribe' });
  await until(() => ws.messages.some((m) => m.type === 'subscribed'), 10_000, 'subscribed');
  const sse = collectSse(url);
  await until(() => sse.text().includes('stream open'), 10_000, 'SSE open');

  const submitted = await api('POST', '/api/plans', securePlan(dir));
  expect(submitted.status).toBe(202);
  expect(submitted.body.status).toBe('awaiting_approval');
  const id = submitted.body.approval_id as string;

  const approval = await api('GET', `/api/approvals/${id}`);
  expectNoSecret(approval.body, 'GET /api/approvals/{id}');
  const shownCommand = approval.body.plan.commands[0];
  expect(shownCommand.env).toEqual({ DB_PASSWORD: '***', API_TOKEN: '***', SHORT_SECRET: '***', REGION: 'eu-west-1' });
  expect(shownCommand.rollback[0].env).toEqual({ ROLLBACK_SECRET_KEY: '***' });
  expect(shownCommand.command.command).toContain('test "$API_TOKEN" = "***"');
  // The summary the approver reads is redacted too.
  expect(approval.body.request.commands[0].command).toContain('"***"');
  expectNoSecret((await api('GET', '/api/approvals')).body, 'GET /api/approvals');
  expectNoSecret((await api('GET', '/api/approvals?state=pending')).body, 'GET /api/approvals?state=pending');
  await until(() => ws.messages.some((m) => m.type === 'approval'), 10_000, 'approval event');
  await until(() => sse.text().includes('event: approval'), 10_000, 'SSE approval event');

  // The approver edits what they were shown (the dashboard's edit box holds exactly this) and keeps every ***.
  const edited = structuredClone(approval.body.plan);
  edited.commands[0].description = 'write what the command was given (reviewed)';
  const decided = await decideAs(
    server,
    id,
    { type: 'modify_and_approve', modified_plan: edited },
    { accept_risk: 'destructive', confirmEdit: true },
  );
  expect(decided.status, JSON.stringify(decided.body)).toBe(200);
  expectNoSecret(decided.body, 'the decision answer');
  expect(decided.body.decision.decision.modified_plan.commands[0].env.DB_PASSWORD).toBe('***');
  const planId = decided.body.execution_id as string;

  const result = await api('GET', `/api/executions/${planId}/result?wait=true`);
  expect(result.body.status).toBe('completed');
  expectNoSecret(result.body, 'the plan result');
  // The command really got the secrets: the hidden env values and the hidden literal in its text.
  expect(readFileSync(join(dir, 'db'), 'utf8')).toBe(DB_PASSWORD);
  expect(readFileSync(join(dir, 'token-literal'), 'utf8')).toBe('match\n');

  // Rollback steps get theirs too.
  const rolledBack = await api('POST', `/api/executions/${planId}/rollback`);
  expect(rolledBack.body.status).toBe('rolled_back');
  expectNoSecret(rolledBack.body, 'the rollback answer');
  expect(readFileSync(join(dir, 'rollback'), 'utf8')).toBe(ROLLBACK_KEY);

  const planDetail = await api('GET', `/api/executions/${planId}`);
  expectNoSecret(planDetail.body, 'GET /api/executions/{plan}');
  expect(planDetail.body.plan.commands[0].env.DB_PASSWORD).toBe('***');
  const stepIds = planDetail.body.commands.map((c: { id: string }) => c.id);
  expect(stepIds).toEqual(
    expect.arrayContaining(['5ec0e7a1-0000-4000-8000-000000000001', '5ec0e7a1-0000-4000-8000-0000000000f1']),
  );
  for (const stepId of stepIds) {
    const detail = await api('GET', `/api/executions/${stepId}`);
    expectNoSecret(detail.body, `GET /api/executions/${stepId}`);
    for (const value of Object.values(detail.body.request.env as Record<string, string>))
      expect(['***', 'eu-west-1']).toContain(value);
  }
  expectNoSecret((await api('GET', '/api/executions?limit=100')).body, 'GET /api/executions');
  expectNoSecret((await api('GET', '/api/search?q=database')).body, 'GET /api/search');
  expectNoSecret((await api('GET', `/api/executions/${planId}/logs`)).body, 'the plan log');
  expectNoSecret((await api('GET', `/api/approvals/${id}`)).body, 'the decided approval');

  // Three approval events: submitted, edited (votes reset, waiting for another approver), approved.
  await until(() => ws.messages.filter((m) => m.type === 'approval').length >= 3, 10_000, 'decision events');
  await sse.stop();
  ws.socket.close();
  expect(
    ws.messages.filter((m) => m.type === 'approval').map((m) => m.approval.plan.commands[0].env.DB_PASSWORD),
  ).toEqual(['***', '***', '***']);
  expectNoSecret(ws.messages, 'WebSocket messages');
  expect(sse.text()).toContain('"DB_PASSWORD":"***"');
  expectNoSecret(sse.text(), 'SSE stream');
});

test('a command run at once: its detail, result and listing hide the secrets; a single request parked for approval too', async () => {
  const { api } = await startTestServer({ approval: null });
  const dir = tempDir();
  const ran = await api('POST', '/api/executions', {
    command: {
      type: 'exec',
      program: 'sh',
      args: ['-c', `printf %s "$DB_PASSWORD" > ${join(dir, 'db')}; echo "$API_TOKEN"`, API_TOKEN],
    },
    env: { DB_PASSWORD, API_TOKEN },
    rollback: [{ command: { type: 'shell', command: 'true' }, env: { ROLLBACK_SECRET_KEY: ROLLBACK_KEY } }],
  });
  expect(ran.status).toBe(202);
  expectNoSecret(ran.body, 'the 202');
  const result = await api('GET', `/api/executions/${ran.body.id}/result?wait=true`);
  expect(result.body.stdout).toBe('***\n');
  expect(readFileSync(join(dir, 'db'), 'utf8')).toBe(DB_PASSWORD);
  const detail = await api('GET', `/api/executions/${ran.body.id}`);
  expectNoSecret(detail.body, 'GET /api/executions/{command}');
  expect(detail.body.request.env).toEqual({ DB_PASSWORD: '***', API_TOKEN: '***' });
  expect(detail.body.request.command.args[2]).toBe('***');
  expect(detail.body.request.rollback[0].env).toEqual({ ROLLBACK_SECRET_KEY: '***' });

  const dryRun = await api('POST', '/api/dry-run', {
    command: { type: 'shell', command: `echo ${API_TOKEN}` },
    env: { API_TOKEN },
  });
  expect(dryRun.status).toBe(200);
  expectNoSecret(dryRun.body, 'the dry run');
  const parked = await api('POST', '/api/approvals', {
    command: { type: 'shell', command: `echo ${DB_PASSWORD}` },
    env: { DB_PASSWORD },
  });
  expect(parked.status).toBe(201);
  expectNoSecret(parked.body, 'POST /api/approvals');
  expect(parked.body.plan.commands[0].env).toEqual({ DB_PASSWORD: '***' });
});

test('*** for a variable the original command did not hide is a 400 naming the field; nothing runs and the approval stays pending', async () => {
  const server = await startTestServer(POLICY, ONE_APPROVER);
  const { api } = server;
  const dir = tempDir();
  const marker = join(dir, 'ran');
  const plan = {
    commands: [
      {
        id: '5ec0e7a1-0000-4000-8000-0000000000a1',
        command: { type: 'shell', command: `touch ${marker}` },
        env: { DB_PASSWORD, REGION: 'eu' },
      },
    ],
  };
  const id = (await api('POST', '/api/plans', plan)).body.approval_id;
  const shown = (await api('GET', `/api/approvals/${id}`)).body.plan;
  const decide = (modified: unknown) =>
    decideAs(
      server,
      id,
      { type: 'modify_and_approve', modified_plan: modified },
      { as: 'bob', accept_risk: 'destructive', confirmEdit: true },
    );

  const cases: Array<[(p: any) => void, string]> = [
    // A variable the original did not have.
    [(p) => (p.commands[0].env.NEW_PASSWORD = '***'), 'decision.modified_plan.commands[0].env.NEW_PASSWORD'],
    // A variable the original had, but not hidden.
    [(p) => (p.commands[0].env.REGION = '***'), 'decision.modified_plan.commands[0].env.REGION'],
    // The original's secret under a new command id: the server cannot tell what it stands for.
    [
      (p) => (p.commands[0].id = '5ec0e7a1-0000-4000-8000-0000000000b2'),
      'decision.modified_plan.commands[0].env.DB_PASSWORD',
    ],
    [(p) => delete p.commands[0].id, 'decision.modified_plan.commands[0].env.DB_PASSWORD'],
    // A new command asking for another command's secret.
    [
      (p) => p.commands.push({ command: { type: 'shell', command: 'true' }, env: { DB_PASSWORD: '***' } }),
      'decision.modified_plan.commands[1].env.DB_PASSWORD',
    ],
    // A rollback step the original did not have.
    [
      (p) => (p.commands[0].rollback = [{ command: { type: 'shell', command: 'true' }, env: { DB_PASSWORD: '***' } }]),
      'decision.modified_plan.commands[0].rollback[0].env.DB_PASSWORD',
    ],
  ];
  for (const [edit, field] of cases) {
    const modified = structuredClone(shown);
    edit(modified);
    const answer = await decide(modified);
    expect(answer.status, field).toBe(400);
    expect(answer.body.error.field).toBe(field);
    expect(answer.body.error.reason).toMatch(/\*\*\*.*secret/);
    expectNoSecret(answer.body, 'the 400');
  }
  expect((await api('GET', `/api/approvals/${id}`)).body.state).toBe('pending');
  expect(existsSync(marker)).toBe(false);

  // A value the approver types in full is taken as typed.
  const retyped = structuredClone(shown);
  retyped.commands[0].env.DB_PASSWORD = 'typed-by-the-approver';
  retyped.commands[0].command.command = `printf %s "$DB_PASSWORD" > ${marker}`;
  const ok = await decide(retyped);
  expect(ok.status).toBe(200);
  await api('GET', `/api/executions/${ok.body.execution_id}/result?wait=true`);
  expect(readFileSync(marker, 'utf8')).toBe('typed-by-the-approver');
});

test('redact_secrets: false shows env values as given (the operator turned redaction off)', async () => {
  const { api } = await startTestServer({ ...POLICY, redact_secrets: false });
  const parked = await api('POST', '/api/approvals', {
    command: { type: 'shell', command: 'true' },
    env: { DB_PASSWORD },
  });
  expect(parked.body.plan.commands[0].env).toEqual({ DB_PASSWORD });
});

test('an edit that changes what a command does cannot keep its hidden values: the approver never saw them', async () => {
  const server = await startTestServer(POLICY, ONE_APPROVER);
  const { api } = server;
  const out = join(tempDir(), 'leak');
  const id = (
    await api('POST', '/api/plans', {
      commands: [{ command: { type: 'shell', command: 'curl -s https://example.invalid/deploy' }, env: { API_TOKEN } }],
    })
  ).body.approval_id;
  const shown = (await api('GET', `/api/approvals/${id}`)).body.plan;
  const exfiltrate = (change: (plan: any) => void) => {
    const edited = structuredClone(shown);
    change(edited);
    return decideAs(
      server,
      id,
      { type: 'modify_and_approve', modified_plan: edited },
      { as: 'bob', accept_risk: 'destructive', confirmEdit: true },
    );
  };
  for (const change of [
    (p: any) => (p.commands[0].command.command = `printf %s "$API_TOKEN" | rev > ${out}`),
    (p: any) => (p.commands[0].env.OTHER = 'x'),
    (p: any) => (p.commands[0].working_dir = '/tmp'),
  ]) {
    const refused = await exfiltrate(change);
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toMatch(/env\.API_TOKEN$/);
    expect(refused.body.error.reason).toContain('was edited');
  }
  expect((await api('GET', `/api/approvals/${id}`)).body.state).toBe('pending');
  expect(existsSync(out)).toBe(false);
});
