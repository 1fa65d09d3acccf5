/**
 * Resuming a plan run from the dashboard (a real chromium): the "Resume" button shows what will
 * run and what is carried over before anything starts; the resumed run's page says where it came
 * from and marks the carried step in the table and the graph. A viewer gets no button.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import { sh, tempDir } from './helpers.js';
import { openDashboard as open, useBrowser } from './support/browser.js';
import { addPrincipal, startTestServer } from './support/server.js';

const SHOTS = join(import.meta.dirname, '..', 'test-artifacts', 'screenshots');

const browser = useBrowser();
beforeAll(() => {
  mkdirSync(SHOTS, { recursive: true });
});

/** Chromium logs every 4xx response as a console error; a refusal the page expects (and shows) is not a problem. */
const EXPECTED_CONSOLE = /^Failed to load resource: the server responded with a status of (400|409)/;

const openDashboard = (url: string, token?: string) =>
  open(browser(), url, { token, expectedConsole: EXPECTED_CONSOLE, height: 900 });

/** Three steps; `check` fails until the file `fix` exists. */
function threeSteps(dir: string) {
  return {
    description: 'three steps, the second needs a fix',
    commands: [
      { name: 'prepare', ...sh('echo prepared') },
      { name: 'check', ...sh(`test -f '${join(dir, 'fix')}' || { echo 'fix missing' >&2; exit 3; }`) },
      { name: 'finish', ...sh('echo finished') },
    ],
  };
}

const texts = (page: Page, testid: string) => page.getByTestId(testid).locator('li .step-label').allTextContents();

test('a failed plan is resumed from its page: the preview, then the new run with the carried step marked', async () => {
  const server = await startTestServer();
  const { url, api } = server;
  const dir = tempDir();
  const submitted = await api('POST', '/api/plans', threeSteps(dir));
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const firstId = submitted.body.id as string;
  const first = await api('GET', `/api/executions/${firstId}/result?wait=true`);
  expect(first.body.status).toBe('failed');

  const { page, problems } = await openDashboard(url);
  await page.goto(`${url}/#/executions/${firstId}`);
  const button = page.getByTestId('resume-button');
  await expect.poll(() => button.isVisible()).toBe(true);
  expect(await button.textContent()).toBe('Resume…');
  await button.click();
  await expect.poll(() => texts(page, 'resume-runs')).toEqual(['check', 'finish']);
  expect(await texts(page, 'resume-carried')).toEqual(['prepare']);
  expect(await page.getByTestId('resume-facts').textContent()).toContain('starts at once');

  // Choosing a step asks again: from `prepare`, every step runs; back to the default, `prepare` is carried.
  await page.getByTestId('resume-from').selectOption({ label: 'prepare' });
  await expect.poll(() => texts(page, 'resume-runs')).toEqual(['prepare', 'check', 'finish']);
  expect(await page.getByTestId('resume-carried').textContent()).toBe('None');
  await page.getByTestId('resume-from').selectOption('');
  await expect.poll(() => texts(page, 'resume-carried')).toEqual(['prepare']);
  await page.screenshot({ path: join(SHOTS, 'resume-preview.png'), fullPage: true });

  writeFileSync(join(dir, 'fix'), '');
  await page.getByTestId('resume-confirm').click();
  // The new run's page: where it came from, the carried step marked, and it completes.
  await expect.poll(() => page.url()).not.toContain(firstId);
  const newId = decodeURIComponent(page.url().split('#/executions/')[1] ?? '');
  expect(newId).not.toBe('');
  await expect.poll(() => page.getByTestId('execution-status').getAttribute('data-status')).toBe('completed');
  const resumedFrom = page.getByTestId('resumed-from');
  expect(await resumedFrom.locator('a').getAttribute('href')).toBe(`#/executions/${firstId}`);
  expect(await resumedFrom.textContent()).toContain('1 step carried over');

  await expect.poll(() => page.getByTestId('carried-tag').count()).toBe(1);
  const carriedRow = page.locator('tr', { has: page.getByTestId('carried-tag') });
  expect(await carriedRow.getByTestId('step-name').textContent()).toBe('prepare');
  // The link goes to the execution that ran the step, in the first run.
  await expect
    .poll(() => page.getByTestId('carried-from').getAttribute('href'))
    .toBe(`#/executions/${first.body.results[0].id}`);
  const nodes = page.getByTestId('dag-node');
  expect(await nodes.evaluateAll((els) => els.map((el) => el.getAttribute('data-carried')))).toEqual([
    'true',
    null,
    null,
  ]);
  expect(await nodes.first().locator('.dag-sub').textContent()).toBe('carried over · completed');
  // A completed run offers only "run again from a step".
  expect(await page.getByTestId('resume-button').textContent()).toBe('Run again from step…');
  await page.screenshot({ path: join(SHOTS, 'resume-resumed-run.png'), fullPage: true });

  const result = await api('GET', `/api/executions/${newId}/result?wait=true`);
  expect(result.body).toMatchObject({ status: 'completed', resumed_from: firstId });

  // Its "Run again from step…" previews nothing until a step is chosen; no step: nothing to confirm.
  await page.getByTestId('resume-button').click();
  expect(await page.getByTestId('resume-confirm').isDisabled()).toBe(true);
  await page.getByTestId('resume-from').selectOption({ label: 'finish' });
  await expect.poll(() => texts(page, 'resume-runs')).toEqual(['finish']);
  expect(await texts(page, 'resume-carried')).toEqual(['prepare', 'check']);
  expect(problems).toEqual([]);
  await page.close();
});

test('a viewer sees no button; a run that cannot be resumed says why, next to the button', async () => {
  // Keeps one finished execution in memory: older runs are read back from the history.
  const server = await startTestServer({ max_retained_executions: 1 });
  const { url, api } = server;
  const dir = tempDir();
  const plan = threeSteps(dir);
  // A secret-named variable: the history keeps its value hidden.
  plan.commands[0] = { ...plan.commands[0]!, env: { API_TOKEN: 'token-value-0123456789' } } as never;
  const submitted = await api('POST', '/api/plans', plan);
  const id = submitted.body.id as string;
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body.status).toBe('failed');

  // A viewer: the page, without the button.
  const viewer = await openDashboard(url, addPrincipal(server, 'vera', 'viewer'));
  await viewer.page.goto(`${url}/#/executions/${id}`);
  await expect.poll(() => viewer.page.getByTestId('signed-in').textContent()).toBe('vera · viewer');
  await expect.poll(() => viewer.page.getByTestId('dag-node').count()).toBe(3);
  expect(await viewer.page.getByTestId('resume-button').isVisible()).toBe(false);
  expect(viewer.problems).toEqual([]);
  await viewer.page.close();

  // Later work pushes the run out of memory: its recorded plan has the secret hidden.
  const later = await api('POST', '/api/plans', { commands: [sh('echo later'), sh('echo again')] });
  await api('GET', `/api/executions/${later.body.id}/result?wait=true`);
  const refused = await api('GET', `/api/executions/${id}/resume`);
  expect(refused.status, JSON.stringify(refused.body)).toBe(409);

  const { page, problems } = await openDashboard(url, addPrincipal(server, 'sam', 'submitter'));
  await page.goto(`${url}/#/executions/${id}`);
  await page.getByTestId('resume-button').click();
  const error = page.getByTestId('resume-error');
  await expect.poll(() => error.textContent()).toContain('This run cannot be resumed');
  expect(await error.textContent()).toContain('secret values hidden');
  expect(await page.getByTestId('resume-confirm').isDisabled()).toBe(true);
  await page.screenshot({ path: join(SHOTS, 'resume-refused.png'), fullPage: true });
  expect(problems).toEqual([]);
  await page.close();
});

test('a resume whose steps need approval says so, and goes to its approval', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { url, engine } = server;
  const dir = tempDir();
  const plan = threeSteps(dir);
  // `check` deletes a directory once the fix is there: the resume waits for a human.
  plan.commands[1] = { name: 'check', ...sh(`test -f '${join(dir, 'fix')}' && rm -rf '${join(dir, 'scratch')}'`) };
  const first = await engine.waitPlan(
    await engine.executeWithApproval(plan, { type: 'approve' }, { approved_by: 'alice' }),
  );
  expect(first.status).toBe('failed');

  const { page, problems } = await openDashboard(url);
  await page.goto(`${url}/#/executions/${first.plan_id}`);
  await page.getByTestId('resume-button').click();
  await expect.poll(() => page.getByTestId('resume-needs-approval').isVisible()).toBe(true);
  expect(await page.getByTestId('resume-facts').textContent()).toContain('destructive');
  const confirm = page.getByTestId('resume-confirm');
  expect(await confirm.textContent()).toBe('Submit for approval');
  await confirm.click();
  await expect.poll(() => page.url()).toContain('#/approvals/');
  const approvalId = decodeURIComponent(page.url().split('#/approvals/')[1] ?? '');
  const approval = await server.api('GET', `/api/approvals/${encodeURIComponent(approvalId)}`);
  expect(approval.status).toBe(200);
  expect(approval.body.state).toBe('pending');
  expect(approval.body.plan.resumed_from).toEqual({ plan_id: first.plan_id, carried: [0] });
  expect(problems).toEqual([]);
  await page.close();
});
