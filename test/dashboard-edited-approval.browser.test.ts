/**
 * An execution page opened while its plan waits for approval, when an approver's edit gives the
 * plan new ids (a real chromium): once the edit is approved, the page goes to the run that
 * started, under its own id, and shows it to the end; it does not keep asking for the old id.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';
import { decideAs } from './support/approvals.js';
import { openDashboard, useBrowser } from './support/browser.js';
import { startTestServer } from './support/server.js';

const browser = useBrowser();

test('an execution page opened before an edit that gave the plan new ids ends on the new run, completed', async () => {
  const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
  const dir = tempDir();
  const touch = (name: string) => ({ command: { type: 'shell', command: `touch ${join(dir, name)}` } });
  const submitted = await ts.api('POST', '/api/plans', { commands: [touch('original')] });
  expect(submitted.body.status, JSON.stringify(submitted.body)).toBe('awaiting_approval');
  const id: string = submitted.body.id;

  // Every look at the old id before the run shows answers 404: expected, not a problem.
  const { page, problems } = await openDashboard(browser(), ts.url, { expectedConsole: /status of 404/ });
  const requested: string[] = [];
  page.on('request', (request) => requested.push(new URL(request.url()).pathname));
  await page.goto(`${ts.url}/#/executions/${id}`);
  await expect.poll(() => page.getByTestId('awaiting-approval').textContent()).toContain('waiting for approval');

  // The edit (a plan with no ids of its own: it gets new ones) needs another approver to start.
  const approved = await decideAs(
    ts,
    id,
    { type: 'modify_and_approve', modified_plan: { commands: [touch('edited')] } },
    { confirmEdit: true },
  );
  expect(approved.body.state, JSON.stringify(approved.body)).toBe('approved');
  const runId: string = approved.body.execution_id;
  expect(runId).toBeTruthy();
  expect(runId).not.toBe(id);

  await expect.poll(() => new URL(page.url()).hash).toBe(`#/executions/${runId}`);
  await expect
    .poll(() => page.getByTestId('execution-status').getAttribute('data-status'), { timeout: 20_000 })
    .toBe('completed');
  // The old id was asked for once when the page opened, not again and again after the approval.
  expect(requested.filter((path) => path === `/api/executions/${id}`)).toHaveLength(1);
  expect(problems).toEqual([]);
  await page.close();
});
