/**
 * Attack: read a request's secrets from the dashboard (a real browser: Debian's chromium
 * driven by playwright-core). The approval page, its edit box, and every response and
 * WebSocket frame the page receives show `***`; approving the edit box as shown runs the
 * command with the real secret.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tempDir, until } from '../helpers.js';
import { decideAs } from '../support/approvals.js';
import { launchBrowser } from '../support/browser.js';
import { addPrincipal, startTestServer } from '../support/server.js';

const SECRET = 'dash-9c41e7b2-secret';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

test('the approval page and its edit box show *** for secrets; approving the edit as shown runs with the real value', async () => {
  // One approver is enough here: this is about what the page shows, not how many approve.
  const server = await startTestServer(
    { approval: { auto_approve_readonly: true } },
    { approvals: { required: { destructive: 1 } } },
  );
  const { url, api } = server;
  const dana = addPrincipal(server, 'dana', 'approver');
  const out = join(tempDir(), 'received');
  const submitted = await api('POST', '/api/plans', {
    description: 'deploy with the database password',
    commands: [
      {
        command: { type: 'shell', command: `printf %s "$DB_PASSWORD" > ${out}` },
        env: { DB_PASSWORD: SECRET, STAGE: 'blue' },
      },
    ],
  });
  expect(submitted.body.status).toBe('awaiting_approval');

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const received: string[] = [];
  const reading: Array<Promise<unknown>> = [];
  page.on('response', (response) => {
    if (response.url().startsWith(url))
      reading.push(
        response.text().then(
          (t) => received.push(t),
          () => {},
        ),
      );
  });
  page.on('websocket', (ws) => ws.on('framereceived', (frame) => received.push(String(frame.payload))));
  await page.goto(`${url}/login?token=${dana}`);
  await expect.poll(() => page.url()).toBe(`${url}/`);
  await page.goto(`${url}/#/approvals/${submitted.body.approval_id}`);
  await expect.poll(() => page.getByTestId('approval-state').textContent()).toMatch(/pending/i);

  await page.getByTestId('edit-button').click();
  const shown = JSON.parse(await page.getByTestId('edit-plan').inputValue());
  expect(shown.commands[0].env).toEqual({ DB_PASSWORD: '***', STAGE: 'blue' });
  expect(await page.content()).not.toContain(SECRET);

  const id = submitted.body.approval_id as string;
  await page.getByTestId('edit-approve-button').click();
  // An edit waits for an approver other than its author: once it is recorded, erin approves it.
  await expect.poll(async () => (await server.api('GET', `/api/approvals/${id}`)).body.edit?.by).toBe('dana');
  expect((await decideAs(server, id, { type: 'approve' }, { as: 'erin' })).status).toBe(200);
  await expect.poll(() => page.getByTestId('approval-state').textContent(), { timeout: 15_000 }).toMatch(/approved/i);
  await until(() => existsSync(out) && readFileSync(out, 'utf8').length > 0, 15_000, 'the command ran');
  expect(readFileSync(out, 'utf8')).toBe(SECRET);

  await page.getByTestId('approval-execution-link').click();
  await expect
    .poll(() => page.getByTestId('execution-status').getAttribute('data-status'), { timeout: 15_000 })
    .toBe('completed');
  expect(await page.content()).not.toContain(SECRET);
  await Promise.all(reading);
  expect(received.length).toBeGreaterThan(3);
  for (const body of received) expect(body).not.toContain(SECRET);
  await page.close();
});
