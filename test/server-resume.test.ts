/**
 * Resuming a plan run over HTTP: the preview (GET) and the resume (POST) of
 * /api/executions/{id}/resume; refusals (still running, an unknown step, a viewer); and the
 * approval policy, which counts only the steps that will run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { sh, tempDir } from './helpers.js';
import { decideAs } from './support/approvals.js';
import { addPrincipal, startTestServer } from './support/server.js';

/** Three steps; `check` fails until the file `fix` exists. */
function threeSteps(dir: string, second = `test -f '${join(dir, 'fix')}'`) {
  return {
    commands: [
      { name: 'first', ...sh('echo one') },
      { name: 'check', ...sh(second) },
      { name: 'last', ...sh('echo three') },
    ],
  };
}

test('preview, then resume: the completed step is carried over, the rest run; the new run completes', async () => {
  const ts = await startTestServer();
  const { api } = ts;
  const dir = tempDir();
  const first = await api('POST', '/api/plans', threeSteps(dir));
  expect(first.status, JSON.stringify(first.body)).toBe(202);
  const done = await api('GET', `/api/executions/${first.body.id}/result?wait=true`);
  expect(done.body.results.map((r: { status: string }) => r.status)).toEqual(['completed', 'failed', 'skipped']);

  const preview = await api('GET', `/api/executions/${first.body.id}/resume`);
  expect(preview.status, JSON.stringify(preview.body)).toBe(200);
  expect(preview.body).toMatchObject({
    resumed_from: first.body.id,
    carried: [0],
    runs: [1, 2],
    requires_approval: false,
  });
  expect(typeof preview.body.risk_level).toBe('string');
  const fromLast = await api('GET', `/api/executions/${first.body.id}/resume?from=last`);
  expect(fromLast.body).toMatchObject({ carried: [0], runs: [1, 2] });

  writeFileSync(join(dir, 'fix'), '');
  const resumed = await api('POST', `/api/executions/${first.body.id}/resume`, {});
  expect(resumed.status, JSON.stringify(resumed.body)).toBe(202);
  expect(resumed.body).toMatchObject({
    status: 'pending',
    approval_id: null,
    resumed_from: first.body.id,
    carried: [0],
    runs: [1, 2],
  });
  expect(resumed.headers.get('location')).toBe(`/api/executions/${resumed.body.id}`);
  const result = await api('GET', `/api/executions/${resumed.body.id}/result?wait=true`);
  expect(result.body).toMatchObject({ status: 'completed', resumed_from: first.body.id });

  // The new run's page data: its plan names the run it resumed; the carried step names the execution that ran it.
  const detail = await api('GET', `/api/executions/${resumed.body.id}`);
  expect(detail.body.plan.resumed_from).toEqual({ plan_id: first.body.id, carried: [0] });
  const byName = new Map(detail.body.commands.map((c: { name: string }) => [c.name, c]));
  expect(byName.get('first')).toMatchObject({ status: 'completed', carried_from: done.body.results[0].id });
  expect(byName.get('check')).toMatchObject({ status: 'completed', carried_from: null });

  // Every step completed now: no default resume, but a step may be named to run again.
  const nothing = await api('GET', `/api/executions/${resumed.body.id}/resume`);
  expect(nothing.status).toBe(409);
  expect(nothing.body.error.code).toBe('NotResumable');
  const again = await api('GET', `/api/executions/${resumed.body.id}/resume?from=1`);
  expect(again.body).toMatchObject({ carried: [0], runs: [1, 2] });
});

test('refusals: a running plan (409), an unknown step naming the field `from` (400), a viewer (403)', async () => {
  const ts = await startTestServer();
  const { api } = ts;
  const dir = tempDir();
  const running = await api('POST', '/api/plans', { commands: [{ name: 'wait', ...sh('sleep 30') }] });
  expect(running.status).toBe(202);
  const busy = await api('GET', `/api/executions/${running.body.id}/resume`);
  expect(busy.status).toBe(409);
  expect(busy.body.error.code).toBe('NotResumable');
  expect((await api('POST', `/api/executions/${running.body.id}/resume`, {})).status).toBe(409);
  await api('POST', `/api/executions/${running.body.id}/cancel`);

  const failed = await api('POST', '/api/plans', threeSteps(dir));
  await api('GET', `/api/executions/${failed.body.id}/result?wait=true`);
  for (const answer of [
    await api('GET', `/api/executions/${failed.body.id}/resume?from=chek`),
    await api('POST', `/api/executions/${failed.body.id}/resume`, { from: 'chek' }),
  ]) {
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error.field).toBe('from');
    expect(answer.body.error.reason).toContain('check');
  }
  expect((await api('GET', `/api/executions/${failed.body.id}/resume?from=7`)).status).toBe(400);

  const viewer = ts.as(addPrincipal(ts, 'vera', 'viewer'));
  expect((await viewer('GET', `/api/executions/${failed.body.id}/resume`)).status).toBe(200);
  const refused = await viewer('POST', `/api/executions/${failed.body.id}/resume`, {});
  expect(refused.status).toBe(403);
  const after = await api('GET', `/api/executions?kind=plan&top_level=true`);
  expect(after.body.total).toBe(2); // the viewer's resume started nothing
});

test('under the approval policy only the steps that will run count: destructive ones wait, read-only ones start', async () => {
  const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { api, engine } = ts;
  const dir = tempDir();
  const scratch = join(dir, 'scratch');

  // Approved on the engine directly: `check` deletes a directory once the fix is there.
  const destructive = await engine.waitPlan(
    await engine.executeWithApproval(
      threeSteps(dir, `test -f '${join(dir, 'fix')}' && rm -rf '${scratch}'`),
      { type: 'approve' },
      { approved_by: 'alice' },
    ),
  );
  expect(destructive.status).toBe('failed');
  const preview = await api('GET', `/api/executions/${destructive.plan_id}/resume`);
  expect(preview.body).toMatchObject({ runs: [1, 2], risk_level: 'destructive', requires_approval: true });
  const waits = await api('POST', `/api/executions/${destructive.plan_id}/resume`, {});
  expect(waits.status, JSON.stringify(waits.body)).toBe(202);
  expect(waits.body.status).toBe('awaiting_approval');
  expect(typeof waits.body.approval_id).toBe('string');
  expect(waits.headers.get('location')).toBe(`/api/approvals/${waits.body.approval_id}`);
  // It must start as the plan that ran: an approver may approve or reject it, not edit it.
  const shown = await api('GET', `/api/approvals/${waits.body.approval_id}`);
  const edit = await decideAs(ts, waits.body.approval_id, {
    type: 'modify_and_approve',
    modified_plan: shown.body.plan,
  });
  expect(edit.status).toBe(400);
  expect(edit.body.error).toMatchObject({
    field: 'decision.modified_plan',
    reason: expect.stringContaining('cannot be edited'),
  });

  // Read-only remaining steps start at once.
  const readOnly = await engine.waitPlan(await engine.executePlan(threeSteps(tempDir())));
  const quiet = await api('GET', `/api/executions/${readOnly.plan_id}/resume`);
  expect(quiet.body).toMatchObject({ runs: [1, 2], risk_level: 'read_only', requires_approval: false });
  const starts = await api('POST', `/api/executions/${readOnly.plan_id}/resume`, {});
  expect(starts.body).toMatchObject({ status: 'pending', approval_id: null });
  expect((await api('GET', `/api/executions/${starts.body.id}/result?wait=true`)).body.resumed_from).toBe(
    readOnly.plan_id,
  );
});
