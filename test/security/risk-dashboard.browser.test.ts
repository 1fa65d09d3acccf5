/**
 * The approver sees what could not be verified: in a real browser (Debian's chromium via
 * playwright-core), an approval whose command runs inline Python shows the command as
 * destructive and says, in words, why it is not verified.
 */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { startTestServer, TOKEN } from '../support/server.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

test('an unverified command is shown as destructive with the reason, a verified one without', async () => {
  const { url, api } = await startTestServer({
    approval: { auto_approve_readonly: true, require_approval_modify: false },
  });
  const submitted = await api('POST', '/api/plans', {
    description: 'tidy up',
    commands: [
      { command: { type: 'exec', program: 'python3', args: ['-c', 'print(1)'] } },
      { command: { type: 'exec', program: 'rm', args: ['-f', '/tmp/cee-none'] } },
    ],
  });
  expect(submitted.body.status).toBe('awaiting_approval');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${url}/login?token=${TOKEN}`);
  await expect.poll(() => page.url()).toBe(`${url}/`);
  await page.goto(`${url}/#/approvals/${submitted.body.approval_id}`);
  await expect.poll(() => page.getByTestId('approval-state').textContent()).toMatch(/pending/i);
  const notes = page.getByTestId('approval-unverified');
  await expect.poll(() => notes.count()).toBe(1);
  expect(await notes.first().textContent()).toMatch(/Not verified: python3 runs code/);
  expect(await page.getByTestId('approval-risk-reasons').first().textContent()).toContain('rm removes or ends things');
  if (process.env.CEE_SCREENSHOT) await page.screenshot({ path: process.env.CEE_SCREENSHOT, fullPage: true });
  await page.close();
});
