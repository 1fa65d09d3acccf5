/**
 * What approvers are shown a command would change (its blast radius), against moto with real
 * resources made first: in the approval request over HTTP, where a stale dry run whose look-ups
 * changed starts nothing (`DryRunChanged`); through the MCP `assess_plan` tool; in the CLI's
 * `plan` preview, in a pipe and as JSON.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { AuditTrail } from '../src/services/audit.js';
import { tempDir } from './helpers.js';
import {
  deleteFunction,
  deleteTags,
  echo,
  instanceStates,
  runInstances,
  terminate,
  uniqueName,
} from './support/blast-fixtures.js';
import { runCli } from './support/cli.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';
import { addPrincipal, startTestServer } from './support/server.js';

let moto: Moto;
/** The instances of every test below, made at once (one python3 start), by what they are for. */
const names = {
  web: uniqueName('web'),
  db: uniqueName('db'),
  api: uniqueName('api'),
  cache: uniqueName('cache'),
  cliWeb: uniqueName('web'),
};
let ids: Record<keyof typeof names, string>;
beforeAll(async () => {
  moto = await startMoto();
  const made = runInstances(moto, [
    { Name: names.web, env: 'prod', owner: 'ana' },
    { Name: names.db, env: 'prod' },
    { Name: names.api, env: 'prod' },
    { Name: names.cache, env: 'production' },
    { Name: names.cliWeb, env: 'prod', owner: 'ana' },
  ]);
  ids = Object.fromEntries(Object.keys(names).map((k, i) => [k, made[i]!])) as typeof ids;
}, 30_000);
afterAll(async () => {
  await moto?.stop();
});

/** Modify and destructive work waits for people; one approver each, so one vote starts it. */
const GATE = { required: { modify: 1, destructive: 1 } };

async function server(gate: object = GATE) {
  const ts = await startTestServer(
    { approval: { auto_approve_readonly: true }, aws_endpoint_url: moto.url },
    { approvals: gate },
  );
  const aliceToken = addPrincipal(ts, 'alice', 'approver');
  return {
    ts,
    aliceToken,
    carl: ts.as(addPrincipal(ts, 'carl', 'submitter')),
    alice: ts.as(aliceToken),
  };
}

test('the approval request lists each instance with its tags and warns of production, with the time it was looked up; says why an operation was not looked up, and nothing of a non-AWS command; `approval show` too', async () => {
  const { ts, carl, alice, aliceToken } = await server();
  const { web, db } = names;
  const terminated = [ids.web, ids.db];
  const asked = Date.now();
  const submitted = await carl('POST', '/api/plans', {
    commands: [terminate(moto, terminated), deleteFunction(moto, 'old-thumbnailer'), echo('done')],
  });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const approval = (await alice('GET', `/api/approvals/${submitted.body.approval_id}`)).body;
  const [command, lambda, shell] = approval.request.commands;
  expect(command.changes.map((c: { resource_id: string }) => c.resource_id).sort()).toEqual([...terminated].sort());
  for (const change of command.changes) {
    expect(change).toMatchObject({ action: 'terminate', service: 'ec2', resource_type: 'instance', exists: true });
  }
  const summaries = command.changes.map((c: { summary: string }) => c.summary).join('\n');
  expect(summaries).toContain(web);
  expect(summaries).toContain(db);
  const production = command.warnings.filter((w: { code: string }) => w.code === 'production_resource');
  expect(production.map((w: { resource_id: string }) => w.resource_id).sort()).toEqual([...terminated].sort());
  expect(command.resolution).toBe('resolved');
  // When it was looked up: what the page shows the age of (RFC 3339, since the plan was sent).
  expect(Date.parse(command.changes_resolved_at)).toBeGreaterThanOrEqual(asked - 1000);
  // An operation with no look-up says so; a command that is not AWS has nothing to say.
  expect(lambda).toMatchObject({
    changes: [],
    warnings: [],
    resolution: 'not_applicable',
    resolution_note: expect.stringContaining('no look-up for aws lambda delete-function'),
  });
  expect(shell).toMatchObject({ changes: [], warnings: [], resolution: 'not_applicable', resolution_note: null });
  // The digest stays the plan's: what was looked up is shown with its age, not signed.
  expect(approval.plan_sha256).toMatch(/^[0-9a-f]{64}$/);
  // An approver at a terminal reads the same.
  const shown = await runCli(['approval', 'show', approval.id, '--server', ts.url], {
    env: { CLOUDOPS_EXEC_TOKEN: aliceToken, CLOUDOPS_SERVER: undefined },
  });
  expect(shown.status, shown.stderr).toBe(0);
  expect(shown.stdout).toMatch(/will change \(2\) · looked up (just now|\d+ s ago)/);
  for (const [index, id] of terminated.entries()) {
    expect(shown.stdout).toMatch(new RegExp(`terminate instance ${id}\\b.*${[web, db][index]}`));
    expect(shown.stdout).toMatch(new RegExp(`! production: .*${id}`));
  }
  expect(shown.stdout).toContain('not looked up: no look-up for aws lambda delete-function');
  // Under the echo: nothing about look-ups (the only "not looked up" is the lambda's).
  expect(shown.stdout.match(/not looked up/g)).toHaveLength(1);
  expect(shown.stdout.slice(shown.stdout.indexOf('echo done'))).not.toMatch(/will change|looked up/);
  // Nothing was touched by looking.
  expect(await instanceStates(moto, terminated)).toEqual(['running', 'running']);
}, 60_000);

test('a stale dry run whose look-up changed (a production tag removed meanwhile) starts nothing: 409 DryRunChanged, votes reset; looked up again and found the same, the plan starts', async () => {
  const { ts, carl, alice } = await server({ ...GATE, dry_run_max_age_ms: 0 });
  const id = ids.api;
  const submitted = await carl('POST', '/api/plans', { commands: [terminate(moto, [id])] });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const approvalId: string = submitted.body.approval_id;
  const shown = (await alice('GET', `/api/approvals/${approvalId}`)).body;
  const [before] = shown.request.commands;
  expect(before.dry_run_would_succeed).toBe(true);
  expect(before.changes).toEqual([expect.objectContaining({ resource_id: id, action: 'terminate' })]);
  expect(before.warnings).toContainEqual(expect.objectContaining({ code: 'production_resource', resource_id: id }));

  // The instance is no longer tagged production: AWS's verdict is the same, what the approver saw is not.
  await deleteTags(moto, id, ['env']);
  const refused = await alice('POST', `/api/approvals/${approvalId}/decision`, {
    decision: { type: 'approve' },
    plan_sha256: shown.plan_sha256,
  });
  expect(refused.status, JSON.stringify(refused.body)).toBe(409);
  expect(refused.body.error.code).toBe('DryRunChanged');
  expect(refused.body.error.message).toContain(`warnings production_resource (${id}) → none`);
  expect(await ts.engine.listExecutions()).toEqual([]);
  expect(await instanceStates(moto, [id])).toEqual(['running']);

  // The approvers are shown the new look-up, and asked again.
  const now = (await alice('GET', `/api/approvals/${approvalId}`)).body;
  expect(now).toMatchObject({ state: 'pending', votes: [], still_needed: 1, plan_sha256: shown.plan_sha256 });
  const [after] = now.request.commands;
  expect(after.dry_run_would_succeed).toBe(true);
  expect(after.warnings.map((w: { code: string }) => w.code)).not.toContain('production_resource');
  expect(Date.parse(after.changes_resolved_at)).toBeGreaterThan(Date.parse(before.changes_resolved_at));
  const reset = new AuditTrail(ts.engine.history!).list({ limit: 1000 }).filter((e) => e.action === 'votes_reset');
  expect(reset).toEqual([
    expect.objectContaining({
      object: approvalId,
      detail: expect.objectContaining({ reason: 'dry_run_changed', changed: [expect.stringContaining(id)] }),
    }),
  ]);

  // Approved again: still stale, so looked up once more; the same resources and warnings as shown now, so it starts.
  const started = await alice('POST', `/api/approvals/${approvalId}/decision`, {
    decision: { type: 'approve' },
    plan_sha256: shown.plan_sha256,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  expect(started.body.state).toBe('approved');
  const result = (await ts.api('GET', `/api/executions/${started.body.execution_id}/result?wait=true`)).body;
  expect(result.status, JSON.stringify(result)).toBe('completed');
  expect(await instanceStates(moto, [id])).toEqual(['terminated']);
}, 90_000);

test('the MCP assess_plan tool returns what each command would change, and its warnings', async () => {
  const { ts } = await server();
  const assistant = addPrincipal(ts, 'assistant', 'submitter');
  const name = names.cache;
  const id = ids.cache;
  const missing = 'i-0badc0ffee0000000';
  const client = new Client({ name: 'cloudops-test-assistant', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', ts.url), {
    requestInit: { headers: { authorization: `Bearer ${assistant}` } },
  });
  await client.connect(transport);
  try {
    const result = await client.callTool({
      name: 'assess_plan',
      arguments: { plan: { commands: [terminate(moto, [id, missing])] } },
    });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const assessed = result.structuredContent as any;
    const [command] = assessed.commands;
    expect(command.changes).toEqual([
      expect.objectContaining({ resource_id: id, exists: true, summary: expect.stringContaining(name) }),
      expect.objectContaining({ resource_id: missing, exists: false }),
    ]);
    const codes = command.warnings.map((w: { code: string; resource_id: string }) => `${w.code} ${w.resource_id}`);
    expect(codes).toContain(`production_resource ${id}`);
    expect(codes).toContain(`resource_not_found ${missing}`);
    expect(command.resolution).toBe('resolved');
    expect(typeof command.changes_resolved_at).toBe('string');
    expect(assessed.nothing_ran).toBe(true);
  } finally {
    // Ended, not just dropped: an open session holds the server's close until it times out.
    await transport.terminateSession();
    await client.close();
  }
  expect(await instanceStates(moto, [id])).toEqual(['running']);
}, 60_000);

test('`plan` shows what would change and the warnings, in a pipe and in --json; why an operation was not looked up; nothing of a non-AWS command', async () => {
  const name = names.cliWeb;
  const id = ids.cliWeb;
  const missing = 'i-0deadbeef0000000';
  const path = join(tempDir('cee-plan-'), 'plan.json');
  writeFileSync(
    path,
    JSON.stringify({
      description: 'retire the old web server',
      commands: [
        { command: terminate(moto, [id, missing]).command },
        { command: deleteFunction(moto, 'old-thumbnailer').command },
        echo('done'),
      ],
    }),
  );
  const env = { ...awsTestEnv(moto.url), CLOUDOPS_SERVER: undefined };
  const args = ['--log-dir', tempDir(), 'plan', '--endpoint-url', moto.url];
  // Two previews (the same dry run each), side by side.
  const [piped, json] = await Promise.all([
    runCli([...args, path], { env }),
    runCli([...args, '--json', path], { env }),
  ]);
  expect(piped.status, piped.stderr).toBe(0);
  expect(piped.stdout).toMatch(/will change \(2\) · looked up (just now|\d+ s ago)/);
  expect(piped.stdout).toMatch(new RegExp(`terminate instance ${id}\\b.*${name}`));
  expect(piped.stdout).toMatch(new RegExp(`terminate instance ${missing}\\b`));
  expect(piped.stdout).toMatch(new RegExp(`! production: .*${id}`));
  expect(piped.stdout).toMatch(new RegExp(`! not found: .*${missing}`));
  expect(piped.stdout).toContain('not looked up: no look-up for aws lambda delete-function');
  expect(piped.stdout.match(/not looked up/g)).toHaveLength(1);
  expect(piped.stdout.slice(piped.stdout.indexOf('echo done'), piped.stdout.indexOf('Dry run:'))).not.toMatch(
    /will change|looked up/,
  );
  // AWS accepting the call is not "nothing would fail" next to a resource not found.
  expect(piped.stdout).not.toContain('nothing would fail');
  expect(piped.stdout).toMatch(/Dry run: AWS accepted the call; 2 warnings \(1 production, 1 not found\) above\./);
  // A pipe gets no colours.
  expect(piped.stdout).not.toContain('\u001b[');

  const data = JSON.parse(json.stdout);
  const [command, lambda] = data.dry_run.commands;
  expect(command.changes.map((c: { resource_id: string }) => c.resource_id)).toEqual([id, missing]);
  expect(command.warnings).toContainEqual(expect.objectContaining({ code: 'production_resource', resource_id: id }));
  expect(command.warnings).toContainEqual(
    expect.objectContaining({ code: 'resource_not_found', resource_id: missing }),
  );
  expect(command).toHaveProperty('resolution');
  expect(command).toHaveProperty('resolved_at');
  expect(lambda.resolution_note).toContain('no look-up for aws lambda delete-function');
  expect(await instanceStates(moto, [id])).toEqual(['running']);
}, 60_000);
