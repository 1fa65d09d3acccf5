/**
 * The assistant's door, through the MCP SDK's own client: over Streamable HTTP at /mcp and over
 * stdio through `cloudops-exec mcp --server URL`, against a real server with real principals.
 * An assistant (a submitter) assesses and proposes; people (approvers) decide over HTTP; nothing
 * the assistant can call approves anything.
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, test } from 'vitest';
import { startServer } from '../src/server/index.js';
import { tempDir } from './helpers.js';
import { addPrincipal, startTestServer, type TestServer, TOKEN } from './support/server.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Modify and destructive work waits for people (destructive: two of them); read-only work runs. */
const CONFIG = { approval: { auto_approve_readonly: true } };

const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => undefined);
});

type Transport = 'http' | 'stdio';
const CONVERSATION: Record<Transport, string> = { http: randomUUID(), stdio: randomUUID() };

async function connect(ts: TestServer, token: string, transport: Transport): Promise<Client> {
  const client = new Client({ name: 'cloudops-test-assistant', version: '1.0.0' });
  if (transport === 'http') {
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', ts.url), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
  } else {
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI, 'mcp', '--server', ts.url],
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CLOUDOPS_EXEC_TOKEN: token },
        stderr: 'pipe',
      }),
    );
  }
  clients.push(client);
  return client;
}

/** A tool's answer: its structured content; a tool error fails the test with its body. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<any> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
  expect(JSON.parse(text)).toEqual(result.structuredContent);
  return result.structuredContent;
}

/** A tool error's body (the HTTP API's `{ error: { code, ... } }` with its status). */
async function refused(client: Client, name: string, args: Record<string, unknown>): Promise<any> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, JSON.stringify(result.content)).toBe(true);
  return result.structuredContent;
}

async function assistantServer() {
  const ts = await startTestServer(CONFIG);
  return {
    ts,
    assistant: addPrincipal(ts, 'assistant', 'submitter'),
    alice: ts.as(addPrincipal(ts, 'alice', 'approver')),
    bob: ts.as(addPrincipal(ts, 'bob', 'approver')),
  };
}

describe.each<Transport>(['http', 'stdio'])('over %s', (transport) => {
  test('assess, submit, a person approves, follow to the end, read the log; read-only work runs at once', async () => {
    const { ts, assistant, alice, bob } = await assistantServer();
    const client = await connect(ts, assistant, transport);

    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'assess_plan',
      'cancel_execution',
      'get_approval',
      'get_execution',
      'read_log',
      'search_history',
      'submit_plan',
    ]);

    const victim = join(tempDir('cee-mcp-'), 'victim');
    mkdirSync(victim);
    const plan = {
      description: 'clean up the scratch directory',
      commands: [{ command: { type: 'shell', command: `echo removing; rm -rf ${victim}; echo removed-${transport}` } }],
    };

    // Assess: risk and the dry run come back; nothing runs.
    const assessment = await call(client, 'assess_plan', { plan });
    expect(assessment).toMatchObject({
      valid: true,
      risk_level: 'destructive',
      nothing_ran: true,
      approval: { required: true, approvals_needed: 2 },
    });
    expect(assessment.commands[0]).toMatchObject({ risk_level: 'destructive', dry_run: { method: 'description' } });
    expect(assessment.commands[0].risk_reasons.join(' ')).toMatch(/rm/);
    expect(existsSync(victim)).toBe(true);

    // Submit: it waits for two people; nothing runs.
    const submitted = await call(client, 'submit_plan', {
      plan,
      conversation_id: CONVERSATION[transport],
      user_prompt: 'please clean up the scratch directory',
    });
    expect(submitted).toMatchObject({
      status: 'awaiting_approval',
      state: 'pending',
      risk_level: 'destructive',
      required: 2,
      still_needed: 2,
      submitted_by: 'assistant',
      approved_by: [],
    });
    expect(submitted.approval_url).toBe(`${ts.url}/#/approvals/${submitted.approval_id}`);
    expect(existsSync(victim)).toBe(true);

    // The assistant follows the approval: told when it changes.
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri: `cloudops://approvals/${submitted.approval_id}` });

    // People decide over HTTP, as themselves.
    const approval = (await alice('GET', `/api/approvals/${submitted.approval_id}`)).body;
    for (const person of [alice, bob]) {
      const decided = await person('POST', `/api/approvals/${approval.id}/decision`, {
        decision: { type: 'approve' },
        plan_sha256: approval.plan_sha256,
      });
      expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    }

    const seen = await call(client, 'get_approval', { id: submitted.approval_id });
    expect(seen).toMatchObject({ state: 'approved', still_needed: 0, decision: { type: 'approve' } });
    expect(seen.approved_by.map((v: { principal: string }) => v.principal).sort()).toEqual(['alice', 'bob']);

    // get_execution takes the approval id, and waits for the end.
    let followed = await call(client, 'get_execution', { id: submitted.approval_id, wait_ms: 30_000 });
    for (let i = 0; !followed.finished && i < 5; i++)
      followed = await call(client, 'get_execution', { id: followed.execution.id, wait_ms: 30_000 });
    expect(followed).toMatchObject({
      finished: true,
      execution: { kind: 'plan', status: 'completed', conversation_id: CONVERSATION[transport] },
    });
    expect(followed.commands).toHaveLength(1);
    expect(followed.commands[0]).toMatchObject({ status: 'completed', exit_code: 0 });
    expect(existsSync(victim)).toBe(false);
    expect(updates).toContain(`cloudops://approvals/${submitted.approval_id}`);

    const log = await call(client, 'read_log', { id: followed.execution.id });
    expect(log.text).toMatch(new RegExp(`removed-${transport}`));
    expect(log).toMatchObject({ truncated: false, more_before: false });

    // The record keeps who asked, from which conversation.
    const history = await call(client, 'search_history', { conversation_id: CONVERSATION[transport], top_level: true });
    expect(history.executions.map((e: { id: string }) => e.id)).toEqual([followed.execution.id]);

    // Read-only work runs at once.
    const quick = await call(client, 'submit_plan', {
      request: { command: { type: 'exec', program: 'echo', args: [`hello-${transport}`] } },
      conversation_id: CONVERSATION[transport],
      user_prompt: 'say hello',
    });
    expect(quick).toMatchObject({ status: 'pending', kind: 'command' });
    await client.subscribeResource({ uri: `cloudops://executions/${quick.id}` });
    const done = await call(client, 'get_execution', { id: quick.id, wait_ms: 30_000 });
    expect(done).toMatchObject({ finished: true, execution: { status: 'completed' }, result: { exit_code: 0 } });
    expect(done.result.stdout_tail).toBe(`hello-${transport}\n`);
    const quickLog = await call(client, 'read_log', { id: quick.id, tail_lines: 5 });
    expect(quickLog.text).toMatch(new RegExp(`hello-${transport}`));
    const resource = await client.readResource({ uri: `cloudops://executions/${quick.id}/log` });
    expect((resource.contents[0] as { text: string }).text).toMatch(new RegExp(`hello-${transport}`));
    for (let i = 0; i < 50 && !updates.includes(`cloudops://executions/${quick.id}`); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(updates).toContain(`cloudops://executions/${quick.id}`);
  });
});

test('no tool and no argument can approve, reject, edit an approval or name an approver', async () => {
  const { ts, assistant } = await assistantServer();
  const client = await connect(ts, assistant, 'http');
  const { tools } = await client.listTools();
  expect(tools.length).toBeGreaterThanOrEqual(7);
  const deciding = /approve|reject|decide|decision|edit|modif|vote|withdraw/i;
  const naming = /approver|approved_by|decided_by|voter|^by$|principal|on_behalf|as_user|impersonat/i;
  /** Every property name in a JSON Schema, at any depth (a plan's own fields included). */
  const properties = (schema: unknown, at = ''): string[] => {
    if (typeof schema !== 'object' || schema === null) return [];
    return Object.entries(schema as Record<string, unknown>).flatMap(([key, value]) =>
      key === 'properties' && typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([name, sub]) => [`${at}${name}`, ...properties(sub, `${at}${name}.`)])
        : properties(value, at),
    );
  };
  for (const tool of tools) {
    expect(tool.name).not.toMatch(deciding);
    const top = Object.keys((tool.inputSchema as { properties?: object }).properties ?? {});
    for (const name of top) expect(name, `${tool.name}(${name})`).not.toMatch(deciding);
    for (const path of properties(tool.inputSchema)) {
      const leaf = path.split('.').at(-1)!;
      expect(leaf, `${tool.name}: ${path}`).not.toMatch(naming);
    }
  }
  // A decision smuggled in as an argument is refused by name, not ignored.
  const smuggled = await refused(client, 'get_approval', { id: 'x', approved_by: 'alice' });
  expect(smuggled.error).toMatchObject({ code: 'Validation', field: 'approved_by' });
  const unknown = await refused(client, 'approve_plan', { id: 'x' });
  expect(unknown.error.code).toBe('Validation');
});

test('a viewer may look but not submit; errors carry the HTTP codes and field names; a bad call leaves the session working', async () => {
  const { ts, assistant } = await assistantServer();
  const viewer = await connect(ts, addPrincipal(ts, 'vera', 'viewer'), 'http');
  const plan = { commands: [{ command: { type: 'exec', program: 'echo', args: ['hi'] } }] };
  const forbidden = await refused(viewer, 'submit_plan', { plan, conversation_id: randomUUID(), user_prompt: 'hi' });
  expect(forbidden).toMatchObject({ status: 403, error: { code: 'Forbidden' } });
  expect(forbidden.error.message).toMatch(
    /vera \(role viewer\) may not submit work \(MCP tool submit_plan\); needs role/,
  );
  expect((await ts.api('GET', '/api/executions')).body.total).toBe(0);
  // Looking is allowed.
  expect(await call(viewer, 'search_history', {})).toMatchObject({ executions: [], total: 0 });

  // The same bad plan: the same code and field over MCP as over HTTP.
  const client = await connect(ts, assistant, 'http');
  const bad = { commands: [{ command: { type: 'exec', program: 'echo' }, timeout: 5 }] };
  const overHttp = await ts.as(assistant)('POST', '/api/plans', bad);
  const overMcp = await refused(client, 'assess_plan', { plan: bad });
  expect(overMcp.status).toBe(overHttp.status);
  expect(overMcp.error.code).toBe(overHttp.body.error.code);
  expect(overMcp.error.field).toBe(overHttp.body.error.field);
  expect(overMcp.error.message).toMatch(/did you mean "timeout_ms"/);
  const typo = await refused(client, 'get_execution', { id: 'x', wait: 10 });
  expect(typo.error).toMatchObject({ code: 'Validation', field: 'wait' });
  expect(typo.error.message).toMatch(/did you mean "wait_ms"/);
  expect((await refused(client, 'get_execution', { id: 'nope' })).error.code).toBe('NotFound');
  expect((await refused(client, 'get_execution', { id: 'x', wait_ms: 60_001 })).error.field).toBe('wait_ms');
  // Still usable after every refusal.
  expect(await call(client, 'search_history', { limit: 1 })).toMatchObject({ total: 0 });
});

test("a submitter cancels its own work but not another's; a session is its opener's only", async () => {
  const { ts, assistant } = await assistantServer();
  const other = addPrincipal(ts, 'other-bot', 'submitter');
  const mine = await connect(ts, assistant, 'http');
  const theirs = await connect(ts, other, 'http');
  const sleeping = { request: { command: { type: 'exec', program: 'sleep', args: ['30'] } } };
  const started = await call(mine, 'submit_plan', { ...sleeping, conversation_id: randomUUID(), user_prompt: 'wait' });
  expect(started.status).toBe('pending');
  const denied = await refused(theirs, 'cancel_execution', { id: started.id });
  expect(denied).toMatchObject({ status: 403, error: { code: 'Forbidden' } });
  expect(denied.error.message).toMatch(/submitted by assistant/);
  expect(await call(mine, 'cancel_execution', { id: started.id })).toEqual({ id: started.id, status: 'cancelling' });
  const ended = await call(mine, 'get_execution', { id: started.id, wait_ms: 20_000 });
  expect(ended.execution.status).toBe('cancelled');
  const audit = (await ts.api('GET', '/api/audit')).body.entries;
  expect(audit).toContainEqual(
    expect.objectContaining({ action: 'cancel', principal: 'assistant', object: started.id }),
  );

  // Another principal's token cannot ride on this session.
  const session = (mine.transport as StreamableHTTPClientTransport).sessionId!;
  const hijack = await fetch(`${ts.url}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${other}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': session,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
  });
  expect(hijack.status).toBe(403);
  // Nor may a browser session (the dashboard's cookie, no token) open one.
  const signIn = await fetch(`${ts.url}/login?token=${assistant}`, { redirect: 'manual' });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const noToken = await fetch(`${ts.url}/mcp`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  expect(noToken.status).toBe(401);
});

test('a 100 MB log read through read_log comes back within its cap, from its end or from a range', async () => {
  const { ts, assistant } = await assistantServer();
  const client = await connect(ts, assistant, 'http');
  // 100 MiB of numbered lines (seq pads each to 999 characters plus the newline), timestamped in the log.
  const started = await call(client, 'submit_plan', {
    request: {
      command: { type: 'shell', command: "seq -f '%0999.0f' 1 104858" },
      timeout_ms: 120_000,
    },
    conversation_id: randomUUID(),
    user_prompt: 'print a lot',
  });
  const done = await call(client, 'get_execution', { id: started.id, wait_ms: 60_000 });
  expect(done.execution.status).toBe('completed');
  const tail = await call(client, 'read_log', { id: started.id, tail_lines: 5_000, max_bytes: 16_384 });
  expect(tail.log_bytes).toBeGreaterThan(100 * 1024 * 1024);
  expect(Buffer.byteLength(tail.text)).toBeLessThanOrEqual(16_384);
  expect(tail).toMatchObject({ truncated: true, more_before: true });
  expect(tail.text).toMatch(/0+104858\n/);
  const range = await call(client, 'read_log', { id: started.id, from_line: 50_000, to_line: 50_002 });
  expect(range).toMatchObject({ first_line: 50_000, last_line: 50_002, line_count: 3, truncated: false });
  expect(Buffer.byteLength(range.text)).toBeLessThanOrEqual(16_384);
  const big = await call(client, 'read_log', { id: started.id, from_line: 10, to_line: 100_000, max_bytes: 65_536 });
  expect(Buffer.byteLength(big.text)).toBeLessThanOrEqual(65_536);
  expect(big).toMatchObject({ first_line: 10, truncated: true, more_after: true });
}, 120_000);

test('the stdio bridge stops at once without a token, a server or a token it takes; a session the server ended is opened again', async () => {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  // Asynchronously: the server it talks to runs in this process.
  const bridge = (server: string, extra: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, 'mcp', '--server', server],
        { env: { ...env, ...extra } },
        (_err, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
      );
    });
  const noToken = await bridge('http://127.0.0.1:9');
  expect(noToken.status).toBe(2);
  expect(noToken.stderr).toMatch(/CLOUDOPS_EXEC_TOKEN/);
  expect(noToken.stdout).toBe('');
  const noServer = await bridge('http://127.0.0.1:9', { CLOUDOPS_EXEC_TOKEN: 'x'.repeat(32) });
  expect(noServer.status).toBe(2);
  expect(noServer.stderr).toMatch(/cannot reach the server/);

  const { ts, assistant } = await assistantServer();
  const badToken = await bridge(ts.url, { CLOUDOPS_EXEC_TOKEN: 'y'.repeat(32) });
  expect(badToken.status).toBe(1);
  expect(badToken.stderr).toMatch(/Invalid API token/);
  expect(badToken.stdout).toBe('');

  const client = await connect(ts, assistant, 'stdio');
  expect(await call(client, 'search_history', { limit: 1 })).toMatchObject({ total: 0 });
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
  });
  const slow = await call(client, 'submit_plan', {
    request: { command: { type: 'exec', program: 'sleep', args: ['3'] } },
    conversation_id: randomUUID(),
    user_prompt: 'wait a little',
  });
  const uri = `cloudops://executions/${slow.id}`;
  await client.subscribeResource({ uri });
  // The server restarts on the same port: it knows no session. The bridge opens a new one itself.
  const port = Number(new URL(ts.url).port);
  await ts.server.close();
  const again = await startServer(ts.engine, { port, token: TOKEN });
  try {
    expect(await call(client, 'search_history', { limit: 1 })).toMatchObject({ total: 1 });
    expect((await client.listTools()).tools.length).toBe(7);
    // The subscription made in the old session was renewed in the new one.
    const done = await call(client, 'get_execution', { id: slow.id, wait_ms: 20_000 });
    expect(done.finished).toBe(true);
    for (let i = 0; i < 50 && !updates.includes(uri); i++) await new Promise((r) => setTimeout(r, 100));
    expect(updates).toContain(uri);
  } finally {
    await client.close();
    await again.close();
  }
});

test("a plan's secrets stay hidden in what the assistant reads back: the approval, the prompt on every step", async () => {
  const { ts, assistant } = await assistantServer();
  const client = await connect(ts, assistant, 'http');
  const secret = 'Sup3r-s3cret-pa55word';
  const plan = {
    description: `rotate the password to ${secret}`,
    commands: [
      { command: { type: 'shell', command: 'echo one' }, env: { DB_PASSWORD: secret }, risk_level: 'modify' },
      { command: { type: 'shell', command: 'echo two' } },
    ],
  };
  const submitted = await call(client, 'submit_plan', {
    plan,
    conversation_id: randomUUID(),
    user_prompt: `set the db password to ${secret}`,
  });
  expect(submitted.status).toBe('awaiting_approval');
  expect(JSON.stringify(submitted)).not.toContain(secret);
  const approval = await call(client, 'get_approval', { id: submitted.approval_id });
  expect(approval.description).toBe('rotate the password to ***');
  const resource = await client.readResource({ uri: `cloudops://approvals/${submitted.approval_id}` });
  expect(JSON.stringify(resource)).not.toContain(secret);

  // Read-only this time: it runs, and the step without the variable keeps the prompt hidden too.
  const ran = await call(client, 'submit_plan', {
    plan: { ...plan, commands: plan.commands.map(({ risk_level: _r, ...c }) => c) },
    conversation_id: randomUUID(),
    user_prompt: `set the db password to ${secret}`,
  });
  expect(ran.status).toBe('pending');
  await call(client, 'get_execution', { id: ran.id, wait_ms: 30_000 });
  const rows = await call(client, 'search_history', { q: 'password' });
  expect(rows.executions.length).toBeGreaterThanOrEqual(3);
  expect(JSON.stringify(rows)).not.toContain(secret);
  expect((await call(client, 'search_history', { q: secret })).executions).toEqual([]);
});

test('/mcp takes only a well-formed bearer token: a malformed one does not fall back to the browser session', async () => {
  const { ts, assistant } = await assistantServer();
  const signIn = await fetch(`${ts.url}/login?token=${assistant}`, { redirect: 'manual' });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const answer = await fetch(`${ts.url}/mcp`, {
    method: 'POST',
    headers: {
      cookie,
      authorization: 'Bearer two words',
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }),
  });
  expect(answer.status).toBe(401);
  expect(answer.headers.get('mcp-session-id')).toBeNull();
});

test('a runbook through MCP: parameters given in the plan, a named step feeding a later one its output', async () => {
  const { ts, assistant } = await assistantServer();
  const client = await connect(ts, assistant, 'http');
  const plan = {
    parameters: { greeting: { type: 'string', enum: ['hello', 'hi'] } },
    params: { greeting: 'hi' },
    strategy: { type: 'dependency_graph', dependencies: { show: ['make'] } },
    commands: [
      {
        name: 'make',
        command: { type: 'exec', program: 'echo', args: ['{"id":"${{ params.greeting }}-42"}'] },
        outputs: { id: { json: 'id' } },
      },
      { name: 'show', command: { type: 'exec', program: 'echo', args: ['got ${{ steps.make.outputs.id }}'] } },
    ],
  };
  const assessed = await call(client, 'assess_plan', { plan });
  expect(assessed).toMatchObject({ valid: true, risk_level: 'read_only' });
  const started = await call(client, 'submit_plan', { plan, conversation_id: randomUUID(), user_prompt: 'greet' });
  const done = await call(client, 'get_execution', { id: started.id, wait_ms: 30_000 });
  expect(done.execution.status).toBe('completed');
  const log = await call(client, 'read_log', { id: started.id });
  expect(log.text).toContain('[stdout] got hi-42');
  // A value outside the parameter's enum is refused by name, as over HTTP.
  const bad = await refused(client, 'submit_plan', {
    plan: { ...plan, params: { greeting: 'yo' } },
    conversation_id: randomUUID(),
    user_prompt: 'greet',
  });
  expect(bad.error.code).toBe('Validation');
  expect(bad.error.field).toMatch(/params\.greeting/);
});
