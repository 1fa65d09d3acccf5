/**
 * Attack: reuse an id to rewrite what is known about an execution, or to take over another
 * approval. An id known to the history (from this or an earlier engine on the same store) or
 * to the approval queue is refused with 409 DuplicateId, always: plans, commands, rollback
 * steps; directly, through the approval queue, and in an approver's edit.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { ExecutionEngine, ExecutionError } from '../../src/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { Principals } from '../../src/services/principals.js';
import { tempDir } from '../helpers.js';
import { TOKEN } from '../support/server.js';

const POLICY = {
  approval: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
};

const open: Array<{ engine: ExecutionEngine; server: RunningServer | null }> = [];
afterEach(async () => {
  for (const { engine, server } of open.splice(0)) await stop(engine, server);
});

async function stop(engine: ExecutionEngine, server: RunningServer | null): Promise<void> {
  await server?.close();
  await engine.shutdown({ mode: 'cancel' });
  engine.close();
}

/**
 * A server over a new engine on `logDir` (the same dir: the same history, as after a restart).
 * `api` submits as the server's admin; `decide` decides as `approver`, one approval enough at
 * every risk level (these tests are about ids, not about how many approve).
 */
async function serverOn(logDir: string, approver = 'alice') {
  const engine = new ExecutionEngine({ log_dir: logDir, kill_grace_ms: 500, ...POLICY });
  const server = await startServer(engine, { port: 0, token: TOKEN, approvals: { required: { destructive: 1 } } });
  const entry = { engine, server: server as RunningServer | null };
  open.push(entry);
  const approverToken = new Principals(engine.history!).add(approver, 'approver', 'test').token;
  const as = (token: string) => async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const api = as(TOKEN);
  // An edit needs an approver other than its author: a second one confirms it.
  let confirmToken: string | null = null;
  const decide = async (id: string, body: Record<string, unknown>) => {
    const shown = (await api('GET', `/api/approvals/${id}`)).body;
    const answer = await as(approverToken)('POST', `/api/approvals/${id}/decision`, {
      plan_sha256: shown.plan_sha256,
      ...body,
    });
    if (answer.status !== 200 || answer.body.state !== 'pending') return answer;
    confirmToken ??= new Principals(engine.history!).add(`${approver}-confirm`, 'approver', 'test').token;
    return as(confirmToken)('POST', `/api/approvals/${id}/decision`, {
      decision: { type: 'approve' },
      plan_sha256: answer.body.plan_sha256,
      ...(body.accept_risk ? { accept_risk: body.accept_risk } : {}),
    });
  };
  const restart = async () => {
    open.splice(open.indexOf(entry), 1);
    await stop(engine, server);
  };
  return { api, decide, engine, restart };
}

const PLAN = '1d000000-0000-4000-8000-000000000001';
const CMD = '1d000000-0000-4000-8000-000000000002';
const UNDO = '1d000000-0000-4000-8000-000000000003';

test('after a restart, an old plan, command or rollback id is 409 everywhere; the approved destructive record is untouched', async () => {
  const logDir = tempDir();
  const dir = tempDir();
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'x');
  const first = await serverOn(logDir);
  const destructive = {
    id: PLAN,
    description: 'remove the victim',
    commands: [
      {
        id: CMD,
        command: { type: 'shell', command: `rm -f ${victim}` },
        rollback: [{ id: UNDO, command: { type: 'shell', command: `touch ${victim}` } }],
      },
    ],
  };
  const parked = await first.api('POST', '/api/plans', destructive);
  expect(parked.body.status).toBe('awaiting_approval');
  const approved = await first.decide(PLAN, { decision: { type: 'approve' } });
  expect(approved.status).toBe(200);
  expect((await first.api('GET', `/api/executions/${PLAN}/result?wait=true`)).body.status).toBe('completed');
  const before = (await first.api('GET', `/api/executions/${PLAN}`)).body;
  expect(before.execution.risk_level).toBe('destructive');
  await first.restart();

  const second = await serverOn(logDir, 'bob');
  const readOnly = (id: string) => ({ id, command: { type: 'exec' as const, program: 'true', args: [] as string[] } });
  const attempts: Array<[string, unknown]> = [
    ['/api/plans', { id: PLAN, commands: [readOnly('1d000000-0000-4000-8000-0000000000aa')] }],
    ['/api/plans', { commands: [readOnly(CMD)] }],
    ['/api/plans', { commands: [{ ...readOnly('1d000000-0000-4000-8000-0000000000ab'), rollback: [readOnly(UNDO)] }] }],
    ['/api/executions', readOnly(CMD)],
    ['/api/executions', readOnly(PLAN)],
    ['/api/executions', readOnly(UNDO)],
    ['/api/executions', { ...readOnly('1d000000-0000-4000-8000-0000000000ac'), rollback: [readOnly(CMD)] }],
    // Parked for approval: refused at once, not only when someone approves.
    ['/api/plans', { id: PLAN, commands: [{ command: { type: 'shell', command: 'echo modify' } }] }],
    ['/api/approvals', { id: PLAN, commands: [readOnly('1d000000-0000-4000-8000-0000000000ad')] }],
    ['/api/approvals', { commands: [readOnly(UNDO)] }],
  ];
  for (const [path, body] of attempts) {
    const answer = await second.api('POST', path, body);
    expect(answer.status, `${path} ${JSON.stringify(body)}`).toBe(409);
    expect(answer.body.error.code).toBe('DuplicateId');
    expect(answer.body.error.message).toMatch(/never reused|already/);
  }
  // The library refuses it too.
  await expect(
    second.engine.executePlan({ id: PLAN, commands: [readOnly('1d000000-0000-4000-8000-0000000000ae')] }),
  ).rejects.toMatchObject({ code: 'DuplicateId' });
  await expect(second.engine.execute(readOnly(CMD))).rejects.toBeInstanceOf(ExecutionError);

  const after = (await second.api('GET', `/api/executions/${PLAN}`)).body;
  expect(after.execution).toEqual(before.execution);
  expect(after.approval).toMatchObject({ approved_by: 'alice', risk_level: 'destructive' });
  expect((await second.api('GET', `/api/executions?limit=100`)).body.total).toBe(before.commands.length + 1);
  expect(existsSync(victim)).toBe(false);
});

test("an edit cannot take over another approval's ids, nor the history's; keeping its own id or a new one works", async () => {
  const logDir = tempDir();
  const dir = tempDir();
  const { api, decide, restart } = await serverOn(logDir);
  const marker = (name: string) => join(dir, name);
  const plan = (file: string) => ({ commands: [{ command: { type: 'shell', command: `touch ${marker(file)}` } }] });
  const a = (await api('POST', '/api/plans', plan('a'))).body.approval_id as string;
  const b = (await api('POST', '/api/plans', plan('b'))).body.approval_id as string;
  const bPlan = (await api('GET', `/api/approvals/${b}`)).body.plan;
  const bCommand = bPlan.commands[0].id as string;
  const done = (await api('POST', '/api/executions', { command: { type: 'exec', program: 'true', args: [] } })).body
    .id as string;
  await api('GET', `/api/executions/${done}/result?wait=true`);

  const edit = (modified: Record<string, unknown>) =>
    decide(a, {
      decision: {
        type: 'modify_and_approve',
        modified_plan: { commands: [{ command: { type: 'shell', command: `touch ${marker('edit')}` } }], ...modified },
      },
      accept_risk: 'destructive',
    });
  for (const modified of [
    { id: b },
    { commands: [{ id: bCommand, command: { type: 'shell', command: `touch ${marker('edit')}` } }] },
    {
      commands: [
        {
          command: { type: 'shell', command: 'true' },
          rollback: [{ id: b, command: { type: 'shell', command: 'true' } }],
        },
      ],
    },
    { id: done },
    { commands: [{ id: done, command: { type: 'shell', command: 'true' } }] },
  ]) {
    const answer = await edit(modified);
    expect(answer.status, JSON.stringify(modified)).toBe(409);
    expect(answer.body.error.code).toBe('DuplicateId');
  }
  expect(existsSync(marker('edit'))).toBe(false);
  expect((await api('GET', `/api/approvals/${a}`)).body.state).toBe('pending');
  const bNow = (await api('GET', `/api/approvals/${b}`)).body;
  expect(bNow.state).toBe('pending');
  expect(bNow.plan).toEqual(bPlan);

  // Nothing else may use a waiting approval's ids either.
  for (const [path, body] of [
    ['/api/executions', { id: bCommand, command: { type: 'exec', program: 'true', args: [] } }],
    ['/api/executions', { id: b, command: { type: 'exec', program: 'true', args: [] } }],
    ['/api/plans', { id: b, commands: [{ command: { type: 'exec', program: 'true', args: [] } }] }],
  ] as const) {
    expect((await api('POST', path, body)).status, `${path} ${JSON.stringify(body)}`).toBe(409);
  }

  // The edit keeping its own plan id runs.
  const kept = await edit({ id: a });
  expect(kept.status, JSON.stringify(kept.body)).toBe(200);
  expect(kept.body.execution_id).toBe(a);
  expect((await api('GET', `/api/executions/${a}/result?wait=true`)).body.status).toBe('completed');
  expect(existsSync(marker('edit'))).toBe(true);

  // After a restart the waiting approval still owns its ids; an edit with new ids works.
  await restart();
  const again = await serverOn(logDir, 'bob');
  expect(
    (await again.api('POST', '/api/executions', { id: bCommand, command: { type: 'exec', program: 'true', args: [] } }))
      .status,
  ).toBe(409);
  const fresh = await again.decide(b, {
    decision: {
      type: 'modify_and_approve',
      modified_plan: { commands: [{ command: { type: 'shell', command: `touch ${marker('b-edit')}` } }] },
    },
    accept_risk: 'destructive',
  });
  expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
  expect(fresh.body.execution_id).not.toBe(b);
  expect((await again.api('GET', `/api/executions/${fresh.body.execution_id}/result?wait=true`)).body.status).toBe(
    'completed',
  );
  expect(existsSync(marker('b-edit'))).toBe(true);
  expect(existsSync(marker('b'))).toBe(false);
});
