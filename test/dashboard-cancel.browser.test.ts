/** Cancelling from the dashboard asks first: one click arms the button, the second cancels. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser } from './support/browser.js';
import { addPrincipal, startTestServer } from './support/server.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

test('a cancel asks for confirmation: the first click only arms the button, the second cancels', async () => {
  const server = await startTestServer();
  const { url, api } = server;
  const token = addPrincipal(server, 'olga', 'approver');
  const submitted = await api('POST', '/api/executions', { command: { type: 'shell', command: 'sleep 30' } });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id as string;
  await expect.poll(async () => (await api('GET', `/api/executions/${id}`)).body.execution.status).toBe('running');

  const page = await browser.newPage();
  await page.goto(`${url}/login?token=${token}`);
  await page.goto(`${url}/#/executions/${encodeURIComponent(id)}`);
  // The header says who is signed in: the cancel is recorded under that principal.
  await expect.poll(() => page.getByTestId('signed-in').textContent()).toBe('olga · approver');
  const button = page.getByTestId('cancel-button');
  await button.click();
  await expect.poll(() => button.textContent()).toBe('Confirm cancel');
  // Armed, not cancelled: the command still runs.
  expect((await api('GET', `/api/executions/${id}`)).body.execution.status).toBe('running');
  await button.click();
  await expect.poll(async () => (await api('GET', `/api/executions/${id}`)).body.execution.status).toBe('cancelled');
  // Who cancelled it is recorded, and the page says so.
  expect((await api('GET', `/api/executions/${id}`)).body.cancelled_by).toMatchObject({
    principal: 'olga',
    object: id,
  });
  await expect.poll(() => page.getByTestId('cancelled-by').textContent()).toMatch(/^olga · /);
  await page.close();
});
