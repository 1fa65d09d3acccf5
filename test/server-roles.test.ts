/**
 * Who may do what over real HTTP: every role against every route, a submitter's cancel of
 * someone else's work, revocation on a running server, malformed tokens, sessions per principal.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { HistoryStore } from '../src/history/store.js';
import { AuditTrail } from '../src/services/audit.js';
import { Principals } from '../src/services/principals.js';
import type { Role } from '../src/vocabulary.js';
import { tempDir, until } from './helpers.js';
import { addPrincipal, openSocket, startTestServer, type TestServer, TOKEN } from './support/server.js';

const SLEEP = { command: { type: 'shell', command: 'sleep 30' } };
const UNKNOWN_ID = '00000000-0000-4000-8000-00000000abcd';

interface Who {
  name: string;
  role: Role;
  token: string;
}

/** A server with one principal of each role (and a second submitter); the bootstrap token is `admin`. */
async function serverWithPrincipals() {
  const ts = await startTestServer();
  const who = (name: string, role: Role): Who => ({ name, role, token: addPrincipal(ts, name, role) });
  const principals = {
    viewer: who('vera', 'viewer'),
    submitter: who('sam', 'submitter'),
    otherSubmitter: who('sue', 'submitter'),
    approver: who('april', 'approver'),
    storedAdmin: who('ada', 'admin'),
    bootstrap: { name: 'admin', role: 'admin', token: TOKEN } as Who,
  };
  return { ...ts, principals };
}

/** Finished work to read, roll back and look up: submitted by `sam`. */
async function finishedPlan(ts: TestServer, token: string): Promise<string> {
  const plan = await ts.as(token)('POST', '/api/plans', {
    commands: [
      { command: { type: 'shell', command: 'true' }, rollback: [{ command: { type: 'shell', command: 'true' } }] },
    ],
  });
  expect(plan.status).toBe(202);
  await ts.api('GET', `/api/executions/${plan.body.id}/result?wait=true`);
  return plan.body.id;
}

type Call = { method: string; path: string; body?: unknown };

/**
 * Every documented operation, what it is called with, and the status a principal allowed to call
 * it gets. `undefined` status: the route's own answer (it depends on the approval workflow), as
 * long as it is neither 401 nor 403.
 */
function operations(planId: string): Record<string, Call & { allowed?: number }> {
  return {
    health: { method: 'GET', path: '/api/health', allowed: 200 },
    openapi: { method: 'GET', path: '/api/openapi.json', allowed: 200 },
    whoami: { method: 'GET', path: '/api/whoami', allowed: 200 },
    getVocabulary: { method: 'GET', path: '/api/vocabulary', allowed: 200 },
    listExecutions: { method: 'GET', path: '/api/executions', allowed: 200 },
    searchExecutions: { method: 'GET', path: '/api/search?q=true', allowed: 200 },
    getExecution: { method: 'GET', path: `/api/executions/${planId}`, allowed: 200 },
    getResult: { method: 'GET', path: `/api/executions/${planId}/result`, allowed: 200 },
    getLogs: { method: 'GET', path: `/api/executions/${planId}/logs`, allowed: 200 },
    streamEvents: { method: 'GET', path: `/api/events?id=${planId}`, allowed: 200 },
    listApprovals: { method: 'GET', path: '/api/approvals', allowed: 200 },
    getApproval: { method: 'GET', path: `/api/approvals/${UNKNOWN_ID}`, allowed: 404 },
    submitExecution: {
      method: 'POST',
      path: '/api/executions',
      body: { command: { type: 'shell', command: 'true' } },
      allowed: 202,
    },
    submitPlan: {
      method: 'POST',
      path: '/api/plans',
      body: { commands: [{ command: { type: 'shell', command: 'true' } }] },
      allowed: 202,
    },
    dryRun: {
      method: 'POST',
      path: '/api/dry-run',
      body: { command: { type: 'shell', command: 'true' } },
      allowed: 200,
    },
    createApproval: { method: 'POST', path: '/api/approvals', body: { command: { type: 'shell', command: 'true' } } },
    decideApproval: { method: 'POST', path: `/api/approvals/${UNKNOWN_ID}/decision`, body: {} },
    cancelExecution: { method: 'POST', path: `/api/executions/${UNKNOWN_ID}/cancel`, allowed: 404 },
    rollbackPlan: { method: 'POST', path: `/api/executions/${UNKNOWN_ID}/rollback`, allowed: 404 },
    previewResume: { method: 'GET', path: `/api/executions/${UNKNOWN_ID}/resume`, allowed: 404 },
    resumePlan: { method: 'POST', path: `/api/executions/${UNKNOWN_ID}/resume`, body: {}, allowed: 404 },
    listPrincipals: { method: 'GET', path: '/api/principals', allowed: 200 },
    listAudit: { method: 'GET', path: '/api/audit', allowed: 200 },
    // MCP (Streamable HTTP): every role may open a session (each tool checks the role: mcp.test.ts); without one, 400.
    mcpPost: { method: 'POST', path: '/mcp', body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, allowed: 400 },
    mcpGet: { method: 'GET', path: '/mcp', allowed: 400 },
    mcpDelete: { method: 'DELETE', path: '/mcp', allowed: 400 },
  };
}

/** Which roles each operation admits (the table: viewer reads; submitter submits and cancels; approver decides and cancels). */
const READ: Role[] = ['viewer', 'submitter', 'approver', 'admin'];
const ADMITS: Record<string, Role[]> = {
  submitExecution: ['submitter', 'admin'],
  submitPlan: ['submitter', 'admin'],
  dryRun: ['submitter', 'admin'],
  createApproval: ['submitter', 'admin'],
  // A submitter may reject (withdraw) its own approval: the route checks which (approvals-gate.test.ts).
  decideApproval: ['submitter', 'approver', 'admin'],
  cancelExecution: ['submitter', 'approver', 'admin'],
  rollbackPlan: ['submitter', 'approver', 'admin'],
  // Resuming submits work again.
  resumePlan: ['submitter', 'admin'],
  listPrincipals: ['admin'],
  // The trail is for the people who oversee the server (its route checks this itself).
  listAudit: ['viewer', 'admin'],
};

test('every role against every documented route: allowed, or 403 Forbidden naming who and what it needs', async () => {
  const ts = await serverWithPrincipals();
  const planId = await finishedPlan(ts, ts.principals.submitter.token);
  const table = operations(planId);
  // Every operation the server documents is in the table (a new route must say who may call it).
  const doc = (await ts.api('GET', '/api/openapi.json')).body;
  const documented = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>)
    .flatMap((methods) => Object.values(methods).map((op) => op.operationId))
    .filter((id) => id !== 'eventSocket');
  expect(Object.keys(table).sort()).toEqual(documented.sort());

  for (const who of Object.values(ts.principals)) {
    for (const [operation, call] of Object.entries(table)) {
      const answer = await ts.as(who.token)(call.method, call.path, call.body);
      const label = `${who.name} (${who.role}) ${operation}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
      if ((ADMITS[operation] ?? READ).includes(who.role)) {
        if (call.allowed !== undefined) expect(answer.status, label).toBe(call.allowed);
        else expect([401, 403], label).not.toContain(answer.status);
      } else {
        expect(answer.status, label).toBe(403);
        expect(answer.body.error.code, label).toBe('Forbidden');
        expect(answer.body.error.message, label).toContain(`${who.name} (role ${who.role})`);
      }
    }
  }
  // The documented roles say the same (x-roles): the table above is the issue's, the document follows it.
  expect(doc.paths['/api/plans'].post['x-roles']).toEqual(['submitter', 'admin']);
  expect(doc.paths['/api/approvals/{id}/decision'].post['x-roles']).toEqual(['submitter', 'approver', 'admin']);
  expect(doc.paths['/api/principals'].get['x-roles']).toEqual(['admin']);
});

test('the dashboard and the WebSocket are for every role; a refused submission never reaches the engine', async () => {
  const ts = await serverWithPrincipals();
  const { viewer } = ts.principals;
  for (const path of ['/', '/assets/app.js']) {
    expect((await fetch(`${ts.url}${path}`, { headers: { authorization: `Bearer ${viewer.token}` } })).status).toBe(
      200,
    );
  }
  const socket = await openSocket(ts.url, '/api/ws', { authorization: `Bearer ${viewer.token}` });
  socket.send({ type: 'subscribe' });
  await until(() => socket.messages.some((m) => m.type === 'subscribed'));
  socket.socket.close();
  const marker = join(tempDir(), 'must-not-exist');
  const refused = await ts.as(viewer.token)('POST', '/api/executions', {
    command: { type: 'shell', command: `touch ${marker}` },
  });
  expect(refused.status).toBe(403);
  expect(refused.body.error.message).toMatch(/needs role submitter or admin/);
  expect(ts.engine.history!.count()).toBe(0);
  expect(existsSync(marker)).toBe(false);
});

test('a submitter cancels its own work, not another submitter’s; an approver and an admin cancel anything', async () => {
  const ts = await serverWithPrincipals();
  const { submitter, otherSubmitter, approver, storedAdmin } = ts.principals;
  const submit = async () => {
    const answer = await ts.as(submitter.token)('POST', '/api/executions', SLEEP);
    expect(answer.status).toBe(202);
    await until(async () => (await ts.engine.getStatus(answer.body.id)) === 'running');
    return answer.body.id as string;
  };

  const first = await submit();
  const theirs = await ts.as(otherSubmitter.token)('POST', `/api/executions/${first}/cancel`);
  expect(theirs.status).toBe(403);
  expect(theirs.body.error).toMatchObject({ code: 'Forbidden' });
  expect(theirs.body.error.message).toContain('submitted by sam');
  expect(await ts.engine.getStatus(first)).toBe('running');
  expect((await ts.as(submitter.token)('POST', `/api/executions/${first}/cancel`)).status).toBe(202);

  for (const stopper of [approver, storedAdmin]) {
    const id = await submit();
    expect((await ts.as(stopper.token)('POST', `/api/executions/${id}/cancel`)).status).toBe(202);
  }

  // Each cancel is in the audit trail with who did it; the refused one is not.
  const cancels = new AuditTrail(ts.engine.history!).list().filter((e) => e.action === 'cancel');
  expect(cancels.map((e) => e.principal)).toEqual(['sam', 'april', 'ada']);
  expect(cancels[0]).toMatchObject({ object: first, source: '127.0.0.1' });
});

test('an audit trail that cannot be written costs the entry, not the answer: submit and cancel still succeed', async () => {
  const ts = await serverWithPrincipals();
  const { submitter } = ts.principals;
  // Another connection makes the store refuse audit rows (a full disk, a locked file, in effect).
  const db = new Database(ts.engine.history!.path);
  db.exec("CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END");
  db.close();
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    const submitted = await ts.as(submitter.token)('POST', '/api/executions', SLEEP);
    expect(submitted.status).toBe(202);
    await until(async () => (await ts.engine.getStatus(submitted.body.id)) === 'running');
    const cancelled = await ts.as(submitter.token)('POST', `/api/executions/${submitted.body.id}/cancel`);
    expect(cancelled.status).toBe(202);
    await until(() => warnings.some((w) => w.message.includes('audit refused')), 5_000, 'the warning');
    // Warned once, not on every request.
    expect(warnings.filter((w) => w.message.includes('not recorded'))).toHaveLength(1);
  } finally {
    process.off('warning', onWarning);
  }
  expect(new AuditTrail(ts.engine.history!).list()).toEqual([]);
});

test("a plan's owner rolls it back; another submitter may not", async () => {
  const ts = await serverWithPrincipals();
  const { submitter, otherSubmitter } = ts.principals;
  const planId = await finishedPlan(ts, submitter.token);
  const refused = await ts.as(otherSubmitter.token)('POST', `/api/executions/${planId}/rollback`);
  expect(refused.status).toBe(403);
  expect(refused.body.error.code).toBe('Forbidden');
  const done = await ts.as(submitter.token)('POST', `/api/executions/${planId}/rollback`);
  expect(done.status).toBe(200);
  const rollbacks = new AuditTrail(ts.engine.history!).list().filter((e) => e.action === 'rollback');
  expect(rollbacks).toMatchObject([{ principal: 'sam', object: planId }]);
});

test('the server records who submitted work, whatever the client claims', async () => {
  const ts = await serverWithPrincipals();
  const claimed = {
    command: { type: 'shell', command: 'true' },
    metadata: { tags: { submitted_by: 'april', team: 'ops' } },
  };
  const single = await ts.as(ts.principals.submitter.token)('POST', '/api/executions', claimed);
  const plan = await ts.as(ts.principals.storedAdmin.token)('POST', '/api/plans', {
    commands: [claimed],
    metadata: { tags: { submitted_by: 'april' } },
  });
  await ts.api('GET', `/api/executions/${plan.body.id}/result?wait=true`);
  expect(ts.engine.history!.get(single.body.id)!.tags).toEqual({ submitted_by: 'sam', team: 'ops' });
  expect(ts.engine.history!.get(plan.body.id)!.tags).toEqual({ submitted_by: 'ada' });
  const commands = ts.engine.history!.list({ plan_id: plan.body.id });
  expect(commands.map((c) => c.tags.submitted_by)).toEqual(['ada']);
  const submits = new AuditTrail(ts.engine.history!).list().filter((e) => e.action === 'submit');
  expect(submits).toMatchObject([
    { principal: 'sam', object: single.body.id, detail: { kind: 'command' } },
    { principal: 'ada', object: plan.body.id, detail: { kind: 'plan' } },
  ]);
});

test('whoami answers the principal of the token; the bootstrap token is admin', async () => {
  const ts = await serverWithPrincipals();
  expect((await ts.api('GET', '/api/whoami')).body).toEqual({ name: 'admin', role: 'admin' });
  expect((await ts.as(ts.principals.approver.token)('GET', '/api/whoami')).body).toEqual({
    name: 'april',
    role: 'approver',
  });
});

test('a revoked token is refused at once by the running server (revoked through another connection to the store)', async () => {
  const ts = await serverWithPrincipals();
  const { approver } = ts.principals;
  expect((await ts.as(approver.token)('GET', '/api/whoami')).status).toBe(200);
  // Another process's view of the same store, as `cloudops-exec auth revoke` has it.
  const other = HistoryStore.open(ts.engine.history!.path);
  try {
    new Principals(other).revoke('april');
  } finally {
    other.close();
  }
  const after = await ts.as(approver.token)('GET', '/api/whoami');
  expect(after.status).toBe(401);
  expect(after.body.error.code).toBe('Unauthorized');
  // The others still work.
  expect((await ts.as(ts.principals.viewer.token)('GET', '/api/whoami')).status).toBe(200);
});

test('malformed, unknown and near-miss tokens are 401 and never reach a route', async () => {
  const ts = await serverWithPrincipals();
  const good = ts.principals.submitter.token;
  const [, tokenId, secret] = /^cee_([0-9a-f]{16})_(.{43})$/.exec(good)!;
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  const candidates = [
    'cee_',
    `cee_${tokenId}_`,
    `cee_${tokenId}_${secret}x`,
    `cee_${tokenId}_${secret!.slice(1)}`,
    `cee_${tokenId}_${flip(secret!)}`, // right id, wrong secret
    `cee_${'0'.repeat(16)}_${secret}`, // unknown id, the right secret
    `cee_${tokenId!.slice(1)}_${secret}`,
    `${TOKEN}x`,
    TOKEN.slice(0, -1),
    good.replace('cee_', 'CEE_'),
  ];
  const marker = join(tempDir(), 'must-not-exist');
  for (const token of candidates) {
    const answer = await ts.as(token)('POST', '/api/executions', {
      command: { type: 'shell', command: `touch ${marker}` },
    });
    expect(answer.status, token).toBe(401);
    expect(answer.body.error.code).toBe('Unauthorized');
  }
  for (const authorization of [`Bearer ${good} extra`, `Basic ${good}`, 'Bearer', `Token ${good}`]) {
    const answer = await fetch(`${ts.url}/api/whoami`, { headers: { authorization } });
    expect(answer.status, authorization).toBe(401);
  }
  expect(ts.engine.history!.count()).toBe(0);
  expect(existsSync(marker)).toBe(false);
});

test("a principal's browser session carries its identity, and ends the moment the principal is revoked", async () => {
  const ts = await serverWithPrincipals();
  const { approver } = ts.principals;
  const next = encodeURIComponent('/#/approvals');
  const login = await fetch(`${ts.url}/login?token=${encodeURIComponent(approver.token)}&next=${next}`, {
    redirect: 'manual',
  });
  expect(login.status).toBe(303);
  expect(login.headers.get('location')).toBe('/#/approvals');
  const cookie = login.headers.get('set-cookie')!;
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Strict/i);
  // The cookie is a session, not the token.
  expect(cookie).not.toContain(approver.token);
  const jar = cookie.split(';')[0]!;
  const whoami = await fetch(`${ts.url}/api/whoami`, { headers: { cookie: jar } });
  expect(await whoami.json()).toEqual({ name: 'april', role: 'approver' });
  // The session has the principal's role, not more.
  const submit = await fetch(`${ts.url}/api/executions`, {
    method: 'POST',
    headers: { cookie: jar, 'content-type': 'application/json' },
    body: JSON.stringify({ command: { type: 'shell', command: 'true' } }),
  });
  expect(submit.status).toBe(403);

  const signIns = new AuditTrail(ts.engine.history!).list().filter((e) => e.action === 'sign_in');
  expect(signIns).toMatchObject([{ principal: 'april', source: '127.0.0.1' }]);

  new Principals(ts.engine.history!).revoke('april');
  const ended = await fetch(`${ts.url}/api/whoami`, { headers: { cookie: jar } });
  expect(ended.status).toBe(401);
  // And the token can no longer sign in again.
  const again = await fetch(`${ts.url}/login?token=${encodeURIComponent(approver.token)}`, { redirect: 'manual' });
  expect(again.status).toBe(401);
  expect(again.headers.get('set-cookie')).toBeNull();
});

test('a made-up session cookie is refused', async () => {
  const ts = await serverWithPrincipals();
  const answer = await fetch(`${ts.url}/api/whoami`, { headers: { cookie: 'cloudops_exec_session=made-up' } });
  expect(answer.status).toBe(401);
  expect(((await answer.json()) as any).error.message).toMatch(/session has ended/);
});

test('names are checked, taken names refused, and the admin name is the server token’s', async () => {
  const ts = await startTestServer();
  const principals = new Principals(ts.engine.history!);
  principals.add('ci.bot-1', 'submitter', null);
  expect(() => principals.add('ci.bot-1', 'viewer', null)).toThrow(
    expect.objectContaining({ code: 'DuplicateId', message: expect.stringContaining('ci.bot-1 already exists') }),
  );
  for (const bad of ['', 'Alice', '-x', 'a b', 'x'.repeat(65), 'admin']) {
    expect(() => principals.add(bad, 'viewer', null), bad).toThrow(expect.objectContaining({ field: 'name' }));
  }
  expect(() => principals.add('bob', 'aprover', null)).toThrow(/did you mean "approver"/);
  principals.revoke('ci.bot-1');
  // A revoked name stays taken: the audit trail's "ci.bot-1" always means the same identity.
  expect(() => principals.add('ci.bot-1', 'viewer', null)).toThrow(expect.objectContaining({ code: 'DuplicateId' }));
  expect(() => principals.revoke('admin')).toThrow(/server token/);
  // Stored: the token's id and the hash of its secret, never the token.
  const { token } = principals.add('carol', 'viewer', null);
  const row = ts.engine.history!.principal('carol')!;
  expect(token.startsWith(`cee_${row.token_id}_`)).toBe(true);
  expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(row)).not.toContain(token.slice(21));
});
