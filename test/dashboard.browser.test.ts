/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core): submit a
 * destructive plan, see it wait for approval, approve it in the page, watch live output
 * appear and the plan complete. Screenshots are kept in test-artifacts/screenshots/.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, expect, test } from 'vitest';
import { EXECUTION_STATUSES, RISK_LEVELS } from '../src/vocabulary.js';
import { tempDir } from './helpers.js';
import { openDashboard as open, signIn, useBrowser } from './support/browser.js';
import { addPrincipal, startTestServer } from './support/server.js';

const SHOTS = join(import.meta.dirname, '..', 'test-artifacts', 'screenshots');

const browser = useBrowser();
beforeAll(() => {
  mkdirSync(SHOTS, { recursive: true });
});

/** Chromium logs every 4xx response as a console error; a 400 the page expects (and shows) is not a problem. */
const EXPECTED_CONSOLE = /^Failed to load resource: the server responded with a status of 400/;

/** A page signed in with `token` (default the server's own: the bootstrap admin). */
const openDashboard = (url: string, token?: string) =>
  open(browser(), url, { token, expectedConsole: EXPECTED_CONSOLE });

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

test('a destructive plan waits for two approvers other than its submitter, streams live output and completes', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { url } = server;
  const approvers = { dana: addPrincipal(server, 'dana', 'approver'), erin: addPrincipal(server, 'erin', 'approver') };
  const scratch = join(tempDir(), 'old-build');
  mkdirSync(scratch);
  writeFileSync(join(scratch, 'artifact.bin'), 'x');
  const plan = {
    description: 'Clean old build and rebuild',
    strategy: { type: 'dependency_graph', dependencies: { 1: [0], 2: [1] } },
    commands: [
      { description: 'remove old build', command: { type: 'shell', command: `rm -rf ${scratch}` } },
      {
        description: 'rebuild',
        command: { type: 'shell', command: 'for i in 1 2 3 4 5 6; do echo "progress $i"; sleep 0.4; done' },
      },
      { description: 'report', command: { type: 'shell', command: 'echo finished' } },
    ],
  };

  const { page, problems } = await openDashboard(url);
  await page.getByTestId('nav-submit').click();
  await page.getByTestId('submit-body').fill(JSON.stringify(plan, null, 2));
  await page.getByTestId('submit-button').click();

  // It waits for a human: risk, commands and dry-run results are shown; nothing has run.
  await expect.poll(() => page.getByTestId('approval-state').textContent()).toMatch(/pending/i);
  expect(await page.getByTestId('approval-risk').textContent()).toMatch(/destructive/);
  expect(await page.getByTestId('approval-command').allTextContents()).toEqual([
    expect.stringContaining(`rm -rf ${scratch}`),
    expect.stringContaining('progress'),
    expect.stringContaining('echo finished'),
  ]);
  expect((await page.getByTestId('approval-dry-run').first().textContent()) ?? '').toMatch(/would run/);
  expect(existsSync(scratch)).toBe(true);
  await shot(page, '1-approval-pending');

  // Its submitter (the admin signed in here) sees it with the approve buttons disabled.
  expect(await page.getByTestId('approve-button').isDisabled()).toBe(true);
  expect(await page.getByTestId('edit-button').isDisabled()).toBe(true);
  expect(await page.getByTestId('approval-own').isVisible()).toBe(true);
  expect(await page.getByTestId('approval-still-needed').textContent()).toContain('2 more');
  const approvalHash = new URL(page.url()).hash;

  // Two approvers, each signed in as themselves: the first leaves it pending, the second starts it.
  await signIn(page, url, approvers.dana, approvalHash);
  await page.getByTestId('approve-button').click();
  await expect.poll(() => page.getByTestId('approval-votes').textContent()).toContain('dana');
  expect(await page.getByTestId('approval-state').textContent()).toMatch(/pending/i);
  expect(await page.getByTestId('approval-still-needed').textContent()).toContain('1 more');
  expect(await page.getByTestId('approve-button').isDisabled()).toBe(true);
  expect(existsSync(scratch)).toBe(true);
  await signIn(page, url, approvers.erin, approvalHash);
  await page.getByTestId('approve-button').click();
  await expect.poll(() => page.getByTestId('approval-state').textContent()).toMatch(/approved/i);
  await page.getByTestId('approval-execution-link').click();

  // Live output appears while the plan is still running.
  const firstLine = page.getByTestId('log-line').filter({ hasText: 'progress 1' });
  await firstLine.first().waitFor({ timeout: 20_000 });
  const statusWhileStreaming = await page.getByTestId('execution-status').getAttribute('data-status');
  expect(statusWhileStreaming).toBe('running');
  await shot(page, '2-live-output');

  await expect
    .poll(() => page.getByTestId('execution-status').getAttribute('data-status'), { timeout: 30_000 })
    .toBe('completed');
  const nodes = page.getByTestId('dag-node');
  await expect
    .poll(() => nodes.evaluateAll((els) => els.map((el) => el.getAttribute('data-status'))))
    .toEqual(['completed', 'completed', 'completed']);
  await expect
    .poll(() =>
      page
        .getByTestId('log-line')
        .filter({ hasText: /^progress \d$/ })
        .count(),
    )
    .toBe(6);
  expect(existsSync(scratch)).toBe(false);
  await shot(page, '3-plan-completed');

  await page.getByTestId('nav-executions').click();
  const row = page.getByTestId('execution-row').first();
  await expect.poll(() => row.getAttribute('data-status')).toBe('completed');
  await shot(page, '4-executions');
  expect(problems).toEqual([]);
  await page.close();
});

test('a rejected plan never runs, and the page shows the server error for a bad edit', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { url, api } = server;
  const marker = join(tempDir(), 'should-not-exist');
  const id = (
    await api('POST', '/api/plans', { commands: [{ command: { type: 'shell', command: `touch ${marker}` } }] })
  ).body.approval_id;
  const { page, problems } = await openDashboard(url, addPrincipal(server, 'erin', 'approver'));
  await page.goto(`${url}/#/approvals/${id}`);

  await page.getByTestId('edit-button').click();
  await page.getByTestId('edit-plan').fill(JSON.stringify({ commands: [{ command: { type: 'shell' } }] }));
  await page.getByTestId('edit-approve-button').click();
  await expect
    .poll(() => page.getByTestId('approval-error').textContent())
    .toContain('decision.modified_plan.commands[0].command.command');
  expect(await page.getByTestId('approval-state').textContent()).toMatch(/pending/i);

  await page.getByTestId('reject-reason').fill('outside the change window');
  await page.getByTestId('reject-button').click();
  await expect.poll(() => page.getByTestId('approval-state').textContent()).toMatch(/rejected/i);
  await shot(page, '5-rejected');
  expect(existsSync(marker)).toBe(false);
  expect(problems).toEqual([]);
  await page.close();
});

test("the filters offer the server's vocabulary, and a failed command shows its error code", async () => {
  const { url, api } = await startTestServer();
  const id = (
    await api('POST', '/api/executions', { command: { type: 'shell', command: 'echo about to fail; exit 3' } })
  ).body.id as string;
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body).toMatchObject({
    status: 'failed',
    error_code: 'exit',
  });
  const { page, problems } = await openDashboard(url);

  const options = (select: string) =>
    page.locator(`#${select} option`).evaluateAll((els) => els.map((el) => el.getAttribute('value')));
  await expect.poll(() => options('exec-status')).toEqual(['', ...EXECUTION_STATUSES]);
  expect(await options('exec-risk')).toEqual(['', ...RISK_LEVELS]);
  await expect.poll(() => page.getByTestId('execution-row').getAttribute('data-status')).toBe('failed');
  expect(await page.getByTestId('execution-row').getByTestId('error-code').textContent()).toBe('exit');

  await page.goto(`${url}/#/executions/${id}`);
  await expect.poll(() => page.getByTestId('execution-status').getAttribute('data-status')).toBe('failed');
  expect(await page.getByTestId('error-code').textContent()).toBe('exit');
  await shot(page, '6-failed-with-error-code');

  await page.goto(`${url}/#/approvals`);
  const filters = page.getByRole('group', { name: 'Show approvals' }).getByRole('button');
  await expect.poll(() => filters.allTextContents()).toEqual(['All', 'Pending', 'Approved', 'Rejected', 'Expired']);
  expect(problems).toEqual([]);
  await page.close();
});

test('an edit is shown as a diff: live while it is typed, then to the approvers against the plan as submitted', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { url, api } = server;
  const marker = join(tempDir(), 'edited-marker');
  const plan = {
    commands: [
      { command: { type: 'shell', command: `touch ${marker}` } },
      { command: { type: 'shell', command: 'echo unchanged' } },
    ],
  };
  const id = (await api('POST', '/api/plans', plan)).body.approval_id as string;
  const { page, problems } = await openDashboard(url, addPrincipal(server, 'erin', 'approver'));
  await page.goto(`${url}/#/approvals/${id}`);

  await page.getByTestId('edit-button').click();
  expect(await page.getByTestId('edit-diff').textContent()).toContain('No changes yet.');
  const shown = await page.getByTestId('edit-plan').inputValue();
  await page.getByTestId('edit-plan').fill(shown.replace(`touch ${marker}`, `touch ${marker}.safer`));
  // Only the changed line, removed and added, with a little context: not the whole plan again.
  const live = page.getByTestId('edit-diff');
  await expect
    .poll(() => live.locator('pre.diff .diff-del').allTextContents())
    .toEqual([expect.stringContaining(`touch ${marker}"`)]);
  expect(await live.locator('pre.diff .diff-add').allTextContents()).toEqual([
    expect.stringContaining(`touch ${marker}.safer"`),
  ]);
  expect(await live.textContent()).toContain('+1 −1 lines');
  await page.getByTestId('edit-approve-button').click();
  await expect.poll(() => page.getByTestId('approval-votes').textContent()).toContain('0 of');

  // Another approver sees what the edit changed, against the plan as submitted.
  await signIn(page, url, addPrincipal(server, 'frank', 'approver'), `#/approvals/${id}`);
  const changes = page.getByTestId('approval-edit-diff');
  await expect
    .poll(() => changes.locator('pre.diff .diff-add').allTextContents())
    .toEqual([expect.stringContaining('.safer"')]);
  expect(await changes.locator('pre.diff .diff-del').allTextContents()).toEqual([
    expect.stringContaining(`touch ${marker}"`),
  ]);
  // Three lines of context on each side of the one change, no more.
  const context = await changes.locator('pre.diff .diff-ctx').count();
  expect(context).toBeGreaterThan(0);
  expect(context).toBeLessThanOrEqual(6);
  expect(await page.getByText('edited by erin').count()).toBe(1);
  await shot(page, '7-edit-diff');
  expect(problems).toEqual([]);
  await page.close();
});
