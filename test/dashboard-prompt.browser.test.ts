/**
 * The dashboard shows what the person asked: on the execution page (as text, never markup), in
 * the list (a snippet), on the approval page; the conversation links to its executions; and
 * searching finds an execution by a word of its prompt.
 */
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

const CONV = 'cccccccc-0000-4000-8000-00000000000c';
const HOSTILE = 'why is <img src=x onerror="window.__pwned=1"> the quokka build red? <b>bold</b>';

test('an execution shows its prompt as text and its conversation; the list, search and conversation link find it', async () => {
  const server = await startTestServer();
  const { url, api } = server;
  const token = addPrincipal(server, 'vera', 'viewer');
  const asked = await api('POST', '/api/executions', {
    command: { type: 'shell', command: 'echo checked' },
    metadata: { user_prompt: HOSTILE, conversation_id: CONV },
  });
  const other = await api('POST', '/api/executions', { command: { type: 'shell', command: 'echo unrelated' } });
  for (const submitted of [asked, other]) {
    expect(submitted.status).toBe(202);
    await api('GET', `/api/executions/${submitted.body.id}/result?wait=true`);
  }
  const id = asked.body.id as string;

  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  await page.goto(`${url}/login?token=${token}`);
  await page.goto(`${url}/#/executions/${encodeURIComponent(id)}`);

  // The prompt is the text it was: the tags are characters on the page, not elements.
  const prompt = page.getByTestId('user-prompt');
  await expect.poll(() => prompt.textContent()).toBe(HOSTILE);
  expect(await prompt.locator('img, b').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.getByText('Asked by the user').count()).toBe(1);

  // The conversation id lists that conversation's executions.
  await page.getByTestId('conversation-link').click();
  await expect.poll(() => page.getByTestId('conversation-filter').textContent()).toContain(CONV);
  await expect.poll(() => page.getByTestId('execution-row').count()).toBe(1);
  expect(await page.getByTestId('execution-row').getAttribute('data-id')).toBe(id);
  expect(await page.getByTestId('prompt-snippet').textContent()).toContain('the quokka build red?');

  // Back to every execution: a word of the prompt finds it.
  await page.goto(`${url}/#/`);
  await expect.poll(() => page.getByTestId('execution-row').count()).toBe(2);
  await page.locator('#exec-search').fill('quokka');
  await page.locator('#exec-search').press('Enter');
  await expect.poll(() => page.getByTestId('execution-row').count()).toBe(1);
  expect(await page.getByTestId('execution-row').getAttribute('data-id')).toBe(id);
  expect(problems).toEqual([]);
  await page.close();
});

test('a long prompt is collapsed with a toggle; the approval page shows the prompt the plan came from', async () => {
  const server = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { url, api } = server;
  const token = addPrincipal(server, 'ada', 'approver');
  const long = Array.from({ length: 30 }, (_, i) => `line ${i + 1} of what the person asked`).join('\n');
  const submitted = await api('POST', '/api/plans', {
    metadata: { user_prompt: long, conversation_id: CONV },
    commands: [{ command: { type: 'shell', command: 'true' }, risk_level: 'modify' }],
  });
  expect(submitted.status).toBe(202);
  expect(submitted.body.status).toBe('awaiting_approval');

  const page = await browser.newPage();
  await page.goto(`${url}/login?token=${token}`);
  await page.goto(`${url}/#/approvals/${encodeURIComponent(submitted.body.approval_id)}`);
  const panel = page.getByTestId('approval-prompt');
  await expect.poll(() => panel.getByTestId('user-prompt').textContent()).toBe(long);
  expect(await panel.getByTestId('conversation-link').textContent()).toBe(CONV);
  // Collapsed: shorter on screen than the text it holds, until asked for all of it.
  const text = panel.getByTestId('user-prompt');
  const collapsed = await text.evaluate((el) => [el.clientHeight, el.scrollHeight]);
  expect(collapsed[0]).toBeLessThan(collapsed[1]!);
  await panel.getByRole('button', { name: 'Show all' }).click();
  const expanded = await text.evaluate((el) => [el.clientHeight, el.scrollHeight]);
  expect(expanded[0]).toBeGreaterThanOrEqual(expanded[1]!);
  await page.close();
});
