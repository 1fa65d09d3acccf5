/** Live events over SSE and WebSocket: late clients get what they missed first, then live events. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { Principals } from '../src/services/principals.js';
import { tempDir, until } from './helpers.js';
import { decideAs } from './support/approvals.js';
import { addPrincipal, openSocket, parseSse, readSse, startTestServer, TOKEN } from './support/server.js';

const shell = (command: string) => ({ command: { type: 'shell', command } });
const gated = (gate: string, before: string, after: string) =>
  shell(`${before}; while [ ! -f ${gate} ]; do sleep 0.02; done; ${after}`);

test('SSE: a client arriving mid-run gets every earlier line, then the live ones, then `end`', async () => {
  const { api, url, engine } = await startTestServer();
  const gate = join(tempDir(), 'gate');
  const id = (await api('POST', '/api/executions', gated(gate, 'seq 1 300', 'seq 301 310'))).body.id;
  await until(async () => (await engine.readLogs(id)).includes('[stdout] 300'), 10_000, '300 lines logged');
  const reading = readSse(url, `/api/events?id=${id}`);
  await until(async () => (await api('GET', '/api/health')).body.running === 1, 10_000, 'still running');
  setTimeout(() => writeFileSync(gate, ''), 100);
  const events = await reading;
  const names = events.map(([name]) => name);
  expect(names[0]).toBe('started');
  expect(names.at(-2)).toBe('completed');
  expect(names.at(-1)).toBe('end');
  expect(events.filter(([name]) => name === 'stdout').map(([, e]) => e.line)).toEqual(
    Array.from({ length: 310 }, (_, i) => String(i + 1)),
  );
  expect(events.every(([name, data]) => name === 'end' || data.event_type === name)).toBe(true);
});

test('SSE: a finished execution is replayed whole, and an unknown id is 404 before any stream starts', async () => {
  const { api, url } = await startTestServer();
  const id = (await api('POST', '/api/executions', shell('echo one; echo two >&2; exit 4'))).body.id;
  await api('GET', `/api/executions/${id}/result?wait=true`);
  const events = await readSse(url, `/api/events?id=${id}`);
  expect(events.map(([name, e]) => (name === 'stdout' || name === 'stderr' ? `${name}:${e.line}` : name))).toEqual([
    'started',
    'stdout:one',
    'stderr:two',
    'failed',
    'end',
  ]);
  const missing = await fetch(`${url}/api/events?id=00000000-0000-4000-8000-000000000000`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NotFound');
});

test('SSE without an id follows every new execution and approval until the client leaves', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { api, url } = server;
  const controller = new AbortController();
  const response = await fetch(`${url}/api/events`, {
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  let text = '';
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended before ${needle}`);
      text += new TextDecoder().decode(value);
    }
  };
  await readUntil(': stream open');
  const approvalId = (
    await api('POST', '/api/plans', { commands: [{ ...shell('echo approved-output'), risk_level: 'modify' }] })
  ).body.approval_id;
  await readUntil('event: approval');
  await decideAs(server, approvalId, { type: 'approve' }, { as: 'carol' });
  await readUntil('"line":"approved-output"');
  await readUntil('event: progress');
  controller.abort();
  const events = parseSse(text);
  const approvals = events.filter(([name]) => name === 'approval').map(([, a]) => a.state);
  expect(approvals.slice(0, 2)).toEqual(['pending', 'approved']);
  expect(events.some(([name, e]) => name === 'stdout' && e.line === 'approved-output')).toBe(true);
});

test('WebSocket: subscribe late to a plan, get its replay and live events, then `end`', async () => {
  const { api, url, engine } = await startTestServer();
  const gate = join(tempDir(), 'gate');
  const planId = (
    await api('POST', '/api/plans', {
      strategy: { type: 'dependency_graph', dependencies: { 1: [0] } },
      commands: [shell('echo first-step'), gated(gate, 'echo second-begins', 'echo second-ends')],
    })
  ).body.id;
  await until(
    async () => (await engine.readLogs(planId)).includes('[stdout] second-begins'),
    10_000,
    'second step begun',
  );
  const { messages, send, socket } = await openSocket(url);
  send({ type: 'subscribe', id: planId });
  await until(() => messages.some((m) => m.type === 'event' && m.event.line === 'second-begins'), 10_000, 'replay');
  writeFileSync(gate, '');
  await until(() => messages.some((m) => m.type === 'end'), 10_000, 'end of plan');
  socket.close();
  expect(messages[0]).toEqual({ type: 'subscribed', subscription: planId });
  const lines = messages.filter((m) => m.type === 'event' && m.event.event_type === 'stdout').map((m) => m.event.line);
  expect(lines).toEqual(['first-step', 'second-begins', 'second-ends']);
  expect(messages.filter((m) => m.type === 'event').every((m) => m.subscription === planId)).toBe(true);
  expect(messages.at(-1)).toEqual({ type: 'end', subscription: planId });
});

test('WebSocket: `?id=` subscribes on connect; bad messages get an error naming the field, and the socket stays open', async () => {
  const { api, url } = await startTestServer();
  const id = (await api('POST', '/api/executions', shell('echo via-query'))).body.id;
  await api('GET', `/api/executions/${id}/result?wait=true`);
  const { messages, send, socket } = await openSocket(url, `/api/ws?id=${id}`);
  await until(() => messages.some((m) => m.type === 'end'), 10_000, 'replayed');
  expect(messages.filter((m) => m.type === 'event').map((m) => m.event.event_type)).toEqual([
    'started',
    'stdout',
    'completed',
  ]);

  socket.send('not json');
  send({ type: 'subscribe', id: 42 });
  send({ type: 'subscribe', id: '00000000-0000-4000-8000-000000000000' });
  socket.send(Buffer.from([1, 2, 3]), { binary: true });
  await until(() => messages.filter((m) => m.type === 'error').length === 4, 10_000, 'four errors');
  const errors = messages.filter((m) => m.type === 'error').map((m) => m.error);
  expect(errors[0]).toMatchObject({ code: 'Validation' });
  expect(errors[1]).toMatchObject({ code: 'Validation', field: 'id' });
  expect(errors[2]).toMatchObject({ code: 'NotFound' });
  expect(errors[3]).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('binary') });
  expect(messages.filter((m) => m.type === 'error').map((m) => m.subscription)).toEqual([
    null,
    null,
    '00000000-0000-4000-8000-000000000000',
    null,
  ]);
  expect(socket.readyState).toBe(socket.OPEN);
  socket.close();
});

test('WebSocket: the all-subscription sees new executions; unsubscribe stops it', async () => {
  const { api, url } = await startTestServer();
  const { messages, send, socket } = await openSocket(url);
  send({ type: 'subscribe' });
  await until(() => messages.some((m) => m.type === 'subscribed' && m.subscription === '*'), 10_000, 'subscribed');
  const id = (await api('POST', '/api/executions', shell('echo seen-by-all'))).body.id;
  await until(
    () => messages.some((m) => m.type === 'event' && m.event.event_type === 'completed' && m.event.execution_id === id),
    10_000,
    'completed seen',
  );
  send({ type: 'unsubscribe' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const before = messages.length;
  const other = (await api('POST', '/api/executions', shell('echo unseen'))).body.id;
  await api('GET', `/api/executions/${other}/result?wait=true`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(messages.slice(before).filter((m) => m.type === 'event')).toEqual([]);
  socket.close();
});

test('closing the server ends open event streams instead of hanging', async () => {
  const { api, url, server } = await startTestServer();
  const id = (await api('POST', '/api/executions', shell('sleep 30'))).body.id;
  const { socket, messages } = await openSocket(url, `/api/ws?id=${id}`);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  // Read as it arrives: both streams are known open (they delivered `started`) before the server closes.
  let sseText = '';
  const sse = fetch(`${url}/api/events?id=${id}`, { headers: { authorization: `Bearer ${TOKEN}` } }).then(
    async (response) => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body!) sseText += decoder.decode(chunk, { stream: true });
    },
  );
  await until(() => sseText.includes('event: started'), 10_000, 'SSE stream delivering');
  await until(
    () => messages.some((m) => m.type === 'event' && m.event.event_type === 'started'),
    10_000,
    'WebSocket delivering',
  );
  await server.close();
  expect(await closed).toBe(1001);
  await sse; // the stream ended: otherwise this would hang until the test times out
  expect(sseText).toContain('event: end');
});

test('open streams stop at the next heartbeat once their principal is revoked: WebSocket 1008, SSE error then end', async () => {
  const ts = await startTestServer({}, { heartbeatMs: 50 });
  const token = addPrincipal(ts, 'vera', 'viewer');
  const login = await fetch(`${ts.url}/login?token=${encodeURIComponent(token)}`, { redirect: 'manual' });
  const jar = login.headers.get('set-cookie')!.split(';')[0]!;
  const byToken = await openSocket(ts.url, '/api/ws', { authorization: `Bearer ${token}` });
  const bySession = await openSocket(ts.url, '/api/ws', { cookie: jar });
  const closed = [byToken, bySession].map(
    ({ socket }) =>
      new Promise<[number, string]>((resolve) => socket.once('close', (code, why) => resolve([code, why.toString()]))),
  );
  for (const ws of [byToken, bySession]) ws.send({ type: 'subscribe' });
  const sse = await fetch(`${ts.url}/api/events`, { headers: { authorization: `Bearer ${token}` } });
  expect(sse.status).toBe(200);
  const sseText = sse.text();
  await until(() => bySession.messages.some((m) => m.type === 'subscribed'), 5_000, 'subscribed');
  await until(() => byToken.messages.some((m) => m.type === 'subscribed'), 5_000, 'subscribed');

  // Events flow to the viewer while it may read.
  const first = (await ts.api('POST', '/api/executions', shell('echo before'))).body.id;
  for (const ws of [byToken, bySession])
    await until(() => ws.messages.some((m) => m.event?.execution_id === first), 5_000, 'event delivered');

  new Principals(ts.engine.history!).revoke('vera');
  for (const ending of closed) {
    const [code, why] = await ending;
    expect(code).toBe(1008);
    expect(why).toContain('signed out');
  }
  const events = parseSse(await sseText);
  expect(events.at(-2)).toEqual(['error', expect.objectContaining({ code: 'Unauthorized' })]);
  expect(events.at(-1)?.[0]).toBe('end');
  expect(events.some(([, e]) => e.execution_id === first)).toBe(true);
  // The admin's stream, opened the same way, is not affected.
  const admin = await openSocket(ts.url);
  admin.send({ type: 'subscribe' });
  await until(() => admin.messages.some((m) => m.type === 'subscribed'), 5_000, 'admin subscribed');
  const second = (await ts.api('POST', '/api/executions', shell('echo after'))).body.id;
  await until(() => admin.messages.some((m) => m.event?.execution_id === second), 5_000, 'admin still served');
  expect(admin.socket.readyState).toBe(admin.socket.OPEN);
});

test('a browser stream stops at the first heartbeat after its session ends, with the reason', async () => {
  const ts = await startTestServer({}, { heartbeatMs: 50, sessionTtlMs: 1_500 });
  const login = await fetch(`${ts.url}/login?token=${encodeURIComponent(addPrincipal(ts, 'sam', 'viewer'))}`, {
    redirect: 'manual',
  });
  const jar = login.headers.get('set-cookie')!.split(';')[0]!;
  const ws = await openSocket(ts.url, '/api/ws', { cookie: jar });
  const closed = new Promise<[number, string]>((resolve) =>
    ws.socket.once('close', (code, why) => resolve([code, why.toString()])),
  );
  ws.send({ type: 'subscribe' });
  await until(() => ws.messages.some((m) => m.type === 'subscribed'), 5_000, 'subscribed');
  const [code, why] = await closed;
  expect(code).toBe(1008);
  expect(why).toContain('signed out');
  // The cookie no longer signs in either.
  expect((await fetch(`${ts.url}/api/whoami`, { headers: { cookie: jar } })).status).toBe(401);
});
