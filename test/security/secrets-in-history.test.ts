/**
 * Secrets quoted by free text — a description made from the command, a skip reason naming
 * the failed dependency, an error — never reach the history file, listings, search or the
 * plan log. The secret is both an env value and written into the command itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { makeEngine, tempDir } from '../helpers.js';
import { decideAs } from '../support/approvals.js';
import { startTestServer } from '../support/server.js';

const SECRET = 'tok-SECRET-5a4b3c2d1e';

/** Every byte the engine left in `dir` (history, its WAL, logs), as text. */
function everythingIn(dir: string): string {
  return readdirSync(dir)
    .map((name) => readFileSync(join(dir, name)).toString('latin1'))
    .join('\n');
}

test('a skipped dependent names the failed command without its secret, in the result and the history file', async () => {
  const logDir = tempDir('cee-secret-');
  const engine = makeEngine({ log_dir: logDir });
  const planId = await engine.executePlan({
    strategy: { type: 'dependency_graph', dependencies: { 1: [0] } },
    commands: [
      { command: { type: 'exec', program: 'false', args: [SECRET] }, env: { API_TOKEN: SECRET } },
      { command: { type: 'exec', program: 'true', args: [] } },
    ],
  });
  const plan = await engine.waitPlan(planId);
  expect(plan.results[1]!.status).toBe('skipped');
  expect(plan.results[1]!.error).toContain('false ***');
  expect(JSON.stringify(plan)).not.toContain(SECRET);
  expect(JSON.stringify(engine.history!.list({ limit: 10 }))).not.toContain(SECRET);
  await engine.shutdown();
  engine.close();
  expect(everythingIn(logDir)).not.toContain(SECRET);
});

test('a request approved as a plan of one: listing, search, detail, plan log and history hold no secret', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { api, engine } = server;
  const submitted = await api('POST', '/api/executions', {
    command: { type: 'shell', command: `touch /tmp/cee-none-${SECRET}` },
    env: { API_TOKEN: SECRET },
  });
  expect(submitted.body.status).toBe('awaiting_approval');
  // The secret is in the command, so the approvers cannot read all of it: unverified, two approvals.
  const first = await decideAs(server, submitted.body.approval_id, { type: 'approve' });
  expect(first.body).toMatchObject({ state: 'pending', still_needed: 1 });
  expect(first.body.request.commands[0].verified).toBe(false);
  const decided = await decideAs(server, submitted.body.approval_id, { type: 'approve' }, { as: 'bob' });
  expect(decided.status).toBe(200);
  const planId = decided.body.execution_id;
  await api('GET', `/api/executions/${planId}/result?wait=true`);
  for (const path of [
    '/api/executions',
    `/api/executions/${planId}`,
    `/api/executions/${planId}/logs`,
    `/api/search?q=touch`,
  ]) {
    const response = await api('GET', path);
    expect(JSON.stringify(response.body), path).not.toContain(SECRET);
  }
  // Search is no oracle for a secret: nothing is indexed under it.
  expect((await api('GET', `/api/search?q=${SECRET}`)).body.executions).toEqual([]);
  const record = engine.history!.get(planId)!;
  expect(JSON.stringify(record)).not.toContain(SECRET);
  expect(record.command).toContain('***');
});
