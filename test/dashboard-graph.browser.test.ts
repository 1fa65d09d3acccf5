/**
 * The dependency graph follows a plan that waited for approval (a real chromium): on the
 * approval page once it is approved, on its execution page opened before the approval,
 * while it runs, and after it ended (from the stored results).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';
import { decideAs } from './support/approvals.js';
import { openDashboard as open, useBrowser } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

const browser = useBrowser();

/** A 404 the page expects (a plan with no run yet) is not a problem. */
const openDashboard = (url: string) => open(browser(), url, { expectedConsole: /status of 404/ });

/**
 * A destructive plan (so it waits for two approvers), serial and stopping on error: `rm` of a
 * scratch path, a step that waits for a file the test creates (so the test sees it running),
 * one that fails, and one skipped after the failure.
 */
async function submitWaitingPlan(ts: TestServer): Promise<{ id: string; gate: string }> {
  const dir = tempDir();
  const gate = join(dir, 'go');
  const submitted = await ts.api('POST', '/api/plans', {
    strategy: { type: 'serial', stop_on_error: true },
    commands: [
      { name: 'clean', command: { type: 'shell', command: `rm -rf ${join(dir, 'old')}` } },
      { name: 'wait', command: { type: 'shell', command: `until [ -e ${gate} ]; do sleep 0.05; done; echo went` } },
      { name: 'broken', command: { type: 'shell', command: 'echo broken; exit 3' } },
      { name: 'after', command: { type: 'shell', command: 'echo never' } },
    ],
  });
  expect(submitted.body.status, JSON.stringify(submitted.body)).toBe('awaiting_approval');
  return { id: submitted.body.id, gate };
}

async function approve(ts: TestServer, id: string): Promise<void> {
  expect((await decideAs(ts, id, { type: 'approve' }, { as: 'dana' })).status).toBe(200);
  const second = await decideAs(ts, id, { type: 'approve' }, { as: 'erin' });
  expect(second.body.state, JSON.stringify(second.body)).toBe('approved');
}

const statuses = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));

test('the approval page graph turns from planned to the run states once the plan is approved', async () => {
  const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { id, gate } = await submitWaitingPlan(ts);
  const { page, problems } = await openDashboard(ts.url);
  await page.goto(`${ts.url}/#/approvals/${id}`);
  const nodes = '.dag .dag-node';
  await expect.poll(() => statuses(page, nodes)).toEqual(['planned', 'planned', 'planned', 'planned']);

  await approve(ts, id);
  await expect.poll(() => statuses(page, nodes)).toEqual(['completed', 'running', 'pending', 'pending']);
  writeFileSync(gate, '');
  await expect
    .poll(() => statuses(page, nodes), { timeout: 20_000 })
    .toEqual(['completed', 'completed', 'failed', 'skipped']);
  expect(problems).toEqual([]);
  await page.close();
});

test('an execution page opened before the approval shows the run once approved, live, and after it ended', async () => {
  const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { id, gate } = await submitWaitingPlan(ts);
  const { page, problems } = await openDashboard(ts.url);
  await page.goto(`${ts.url}/#/executions/${id}`);
  await expect.poll(() => page.getByTestId('awaiting-approval').textContent()).toContain('waiting for approval');

  await approve(ts, id);
  const nodes = '[data-testid="dag-node"]';
  await expect.poll(() => statuses(page, nodes)).toEqual(['completed', 'running', 'pending', 'pending']);
  expect(await page.getByTestId('execution-status').getAttribute('data-status')).toBe('running');

  // Another page opened while it runs starts from the same state.
  const second = await openDashboard(ts.url);
  await second.page.goto(`${ts.url}/#/executions/${id}`);
  await expect.poll(() => statuses(second.page, nodes)).toEqual(['completed', 'running', 'pending', 'pending']);

  writeFileSync(gate, '');
  for (const p of [page, second.page]) {
    await expect
      .poll(() => statuses(p, nodes), { timeout: 20_000 })
      .toEqual(['completed', 'completed', 'failed', 'skipped']);
    await expect.poll(() => p.getByTestId('execution-status').getAttribute('data-status')).toBe('failed');
  }
  await second.page.close();

  // Opened after it ended: the states come from the stored results.
  await page.reload();
  await expect.poll(() => statuses(page, nodes)).toEqual(['completed', 'completed', 'failed', 'skipped']);
  expect(problems).toEqual([]);
  expect(second.problems).toEqual([]);
  await page.close();
});
