/**
 * What the person asked (`metadata.user_prompt`) and the conversation it belongs to, on every
 * execution: on the wire, stored (redacted) in the history, inherited by a plan's commands,
 * searchable with the list's filters, and shown by the HTTP API.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { type ExecutionRecord, HistoryStore } from '../src/history/store.js';
import { parsePlan, parseRequest } from '../src/wire/parse.js';
import { makeEngine, tempDir } from './helpers.js';
import { storeAtVersion } from './support/old-store.js';
import { commandRecord } from './support/records.js';
import { startTestServer } from './support/server.js';

const CONV_A = 'aaaaaaaa-0000-4000-8000-00000000000a';
const CONV_B = 'bbbbbbbb-0000-4000-8000-00000000000b';

const record = (n: number, over: Partial<ExecutionRecord> = {}) =>
  commandRecord(n, { log_path: `/tmp/x-${n}.log`, ...over });

const shell = (command: string, metadata: Record<string, unknown> = {}) => ({
  command: { type: 'shell', command },
  metadata,
});

test('wire: user_prompt round-trips on requests and plans, defaults to null, and a too-long one names the field', () => {
  const request = parseRequest(shell('true', { user_prompt: 'list my buckets', conversation_id: CONV_A }));
  expect(request.metadata).toMatchObject({ user_prompt: 'list my buckets', conversation_id: CONV_A });
  expect(parseRequest(JSON.parse(JSON.stringify(request))).metadata.user_prompt).toBe('list my buckets');
  expect(parseRequest(shell('true')).metadata.user_prompt).toBeNull();
  const plan = parsePlan({ commands: [shell('true')], metadata: { user_prompt: 'clean up' } });
  expect(plan.metadata.user_prompt).toBe('clean up');
  expect(plan.commands[0]!.metadata.user_prompt).toBeNull();

  let error: any;
  try {
    parseRequest(shell('true', { user_prompt: 'x'.repeat(20_001) }));
  } catch (err) {
    error = err;
  }
  expect(error?.field).toBe('metadata.user_prompt');
  expect(error?.reason).toMatch(/at most 20000 characters/);
  expect(parseRequest(shell('true', { user_prompt: 'x'.repeat(20_000) })).metadata.user_prompt).toHaveLength(20_000);
});

test('history: a version-11 store gains the column; its old rows stay searchable; a prompt word finds a record', () => {
  const path = join(tempDir('cee-prompt-'), 'history.sqlite');
  const old = storeAtVersion(path, 11);
  old
    .prepare(
      `INSERT INTO executions (id, kind, status, command, description, submitted_at, log_path, output)
       VALUES ('old-1', 'command', 'completed', 'aws s3 ls', 'list buckets', '2026-01-01T00:00:00.000Z', '/tmp/o.log', 'walrus-output')`,
    )
    .run();
  old
    .prepare(
      `INSERT INTO executions_fts (rowid, id, command, description, output)
       SELECT rowid, id, command, description, output FROM executions`,
    )
    .run();
  old.close();

  const store = HistoryStore.open(path);
  try {
    expect(store.schemaVersion).toBeGreaterThanOrEqual(12);
    expect(store.get('old-1')).toMatchObject({ command: 'aws s3 ls', user_prompt: null });
    expect(store.search('walrus').map((r) => r.id)).toEqual(['old-1']);
    expect(store.search('buckets').map((r) => r.id)).toEqual(['old-1']);

    store.store(record(1, { user_prompt: 'please rotate the flamingo credentials', conversation_id: CONV_A }));
    expect(store.get(record(1).id)?.user_prompt).toBe('please rotate the flamingo credentials');
    expect(store.search('flamingo').map((r) => r.id)).toEqual([record(1).id]);
    // A changed prompt changes what the search finds.
    store.update(record(1).id, { user_prompt: 'now about penguins' });
    expect(store.search('flamingo')).toEqual([]);
    expect(store.search('penguins').map((r) => r.id)).toEqual([record(1).id]);
  } finally {
    store.close();
  }
});

test('history: search takes the filters list takes, and pages', () => {
  const store = HistoryStore.open(join(tempDir('cee-prompt-'), 'history.sqlite'));
  try {
    for (let n = 1; n <= 8; n++) {
      store.store(
        record(n, {
          conversation_id: n % 2 ? CONV_A : CONV_B,
          user_prompt: `deploy the otter service, take ${n}`,
          status: n <= 4 ? 'completed' : 'failed',
          risk_level: n % 4 === 0 ? 'destructive' : 'read_only',
          kind: n === 8 ? 'plan' : 'command',
          plan_id: n === 7 ? record(8).id : null,
        }),
      );
    }
    const ids = (records: ExecutionRecord[]) => records.map((r) => Number(r.id.slice(-12))).sort((a, b) => a - b);
    expect(ids(store.search('otter'))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ids(store.search('otter', { conversation_id: CONV_A }))).toEqual([1, 3, 5, 7]);
    expect(ids(store.search('otter', { conversation_id: CONV_B, status: 'failed' }))).toEqual([6, 8]);
    expect(ids(store.search('otter', { risk_level: 'destructive' }))).toEqual([4, 8]);
    expect(ids(store.search('otter', { kind: 'plan' }))).toEqual([8]);
    expect(ids(store.search('otter', { top_level: true, conversation_id: CONV_A }))).toEqual([1, 3, 5]);
    expect(ids(store.search('otter', { to_date: record(2).submitted_at }))).toEqual([1, 2]);
    expect(ids(store.search('otter', { from_date: record(7).submitted_at }))).toEqual([7, 8]);
    // Pages of the ranked matches: together they are the whole answer, without repeats.
    const pages = [0, 3, 6].flatMap((offset) => store.search('otter', { limit: 3, offset }));
    expect(ids(pages)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => store.search('otter', { conversation_id: CONV_A, status: 'bogus' as never })).toThrow(
      /unknown status/,
    );
    expect(() => store.search('otter', { limit: 10, offset: 995 })).toThrow(/from 0 to 990/);
  } finally {
    store.close();
  }
});

test('engine: the prompt is stored redacted, and a plan passes its prompt and conversation to its commands', async () => {
  const secret = 'hunter2-swordfish-9731';
  const engine = makeEngine();
  const id = await engine.execute({
    command: { type: 'shell', command: 'true' },
    env: { API_TOKEN: secret },
    metadata: { user_prompt: `use the token ${secret} to list instances`, conversation_id: CONV_A },
  });
  await engine.wait(id);
  const stored = engine.history!.get(id)!;
  expect(stored.user_prompt).toBe('use the token *** to list instances');
  expect(stored.conversation_id).toBe(CONV_A);
  expect(engine.history!.search(secret)).toEqual([]);
  expect(engine.history!.search('instances').map((r) => r.id)).toEqual([id]);

  const planId = await engine.executePlan({
    metadata: { user_prompt: `restart the narwhal fleet (token ${secret})`, conversation_id: CONV_B },
    commands: [
      { command: { type: 'shell', command: 'true' }, env: { DB_PASSWORD: secret } },
      {
        command: { type: 'shell', command: 'true' },
        metadata: { user_prompt: 'a step asked for separately', conversation_id: CONV_A },
      },
    ],
  });
  const result = await engine.waitPlan(planId);
  expect(result.status).toBe('completed');
  const [first, second] = result.results.map((r) => engine.history!.get(r.id)!);
  expect(engine.history!.get(planId)).toMatchObject({
    user_prompt: 'restart the narwhal fleet (token ***)',
    conversation_id: CONV_B,
  });
  // Inherited from the plan, as the plan's record holds it (redacted with the whole plan's secrets).
  expect(first).toMatchObject({ user_prompt: 'restart the narwhal fleet (token ***)', conversation_id: CONV_B });
  // A command's own prompt and conversation are kept.
  expect(second).toMatchObject({ user_prompt: 'a step asked for separately', conversation_id: CONV_A });
  expect(engine.history!.search('narwhal', { conversation_id: CONV_B }).map((r) => r.id)).toEqual(
    expect.arrayContaining([planId, first!.id]),
  );
  expect(engine.history!.search('narwhal', { conversation_id: CONV_B, kind: 'plan' }).map((r) => r.id)).toEqual([
    planId,
  ]);
});

test('HTTP: /api/search takes the list filters; an execution shows its user_prompt', async () => {
  const { api } = await startTestServer();
  const one = await api(
    'POST',
    '/api/executions',
    shell('true', { user_prompt: 'check the pelican queue', conversation_id: CONV_A }),
  );
  const two = await api(
    'POST',
    '/api/executions',
    shell('true', { user_prompt: 'drain the pelican queue', conversation_id: CONV_B }),
  );
  const plain = await api('POST', '/api/executions', shell('echo pelican'));
  for (const submitted of [one, two, plain]) {
    expect(submitted.status).toBe(202);
    await api('GET', `/api/executions/${submitted.body.id}/result?wait=true`);
  }
  const all = await api('GET', '/api/search?q=pelican');
  expect(all.status).toBe(200);
  expect(all.body.executions.map((e: { id: string }) => e.id).sort()).toEqual(
    [one.body.id, two.body.id, plain.body.id].sort(),
  );
  const narrowed = await api('GET', `/api/search?q=pelican&conversation_id=${CONV_B}&status=completed`);
  expect(narrowed.status).toBe(200);
  expect(narrowed.body.executions).toEqual([
    expect.objectContaining({ id: two.body.id, user_prompt: 'drain the pelican queue', conversation_id: CONV_B }),
  ]);
  const detail = await api('GET', `/api/executions/${one.body.id}`);
  expect(detail.body.execution).toMatchObject({ user_prompt: 'check the pelican queue', conversation_id: CONV_A });
  const list = await api('GET', `/api/executions?conversation_id=${CONV_A}`);
  expect(list.body.executions).toEqual([
    expect.objectContaining({ id: one.body.id, user_prompt: 'check the pelican queue' }),
  ]);
  expect((await api('GET', `/api/executions/${plain.body.id}`)).body.execution.user_prompt).toBeNull();

  // Strict, like the list: a misspelt filter is a 400 naming it, not a filter left off.
  const misspelt = await api('GET', `/api/search?q=pelican&conversation=${CONV_B}`);
  expect(misspelt.status).toBe(400);
  expect(misspelt.body.error.field).toBe('conversation');
  const badStatus = await api('GET', '/api/search?q=pelican&status=bogus');
  expect(badStatus.status).toBe(400);
  expect(badStatus.body.error.field).toBe('status');

  const openapi = await api('GET', '/api/openapi.json');
  const params = openapi.body.paths['/api/search'].get.parameters.map((p: { name: string }) => p.name);
  expect(params).toEqual(expect.arrayContaining(['q', 'conversation_id', 'status', 'risk_level', 'offset']));
});
