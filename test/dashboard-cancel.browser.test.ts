/** Cancelling from the dashboard asks first: one click arms the button, the second cancels. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser } from './support/browser.js';
import { startTestServer, TOKEN } from './support/server.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

test('a cancel asks for confirmation: the first click only arms the button, the second cancels', async () => {
  const { url, api } = await startTestServer();
  const submitted = await api('POST', '/api/executions', { command: { type: 'shell', command: 'sleep 30' } });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id as string;
  await expect.poll(async () => (await api('GET', `/api/executions/${id}`)).body.execution.status).toBe('running');

  const page = await browser.newPage();
  await page.goto(`${url}/login?token=${TOKEN}`);
  await page.goto(`${url}/#/executions/${encodeURIComponent(id)}`);
  // The header says who is signed in: the cancel is recorded under that principal.
  await expect.poll(() => page.getByTestId('signed-in').textContent()).toBe('admin · admin');
  const button = page.getByTestId('cancel-button');
  await button.click();
  await expect.poll(() => button.textContent()).toBe('Confirm cancel');
  // Armed, not cancelled: the command still runs.
  expect((await api('GET', `/api/executions/${id}`)).body.execution.status).toBe('running');
  await button.click();
  await expect.poll(async () => (await api('GET', `/api/executions/${id}`)).body.execution.status).toBe('cancelled');
  await page.close();
});
