/** The submit page takes YAML as well as JSON (a real chromium): a YAML plan runs; a YAML error shows its line and column. */
import type { Page } from 'playwright-core';
import { expect, test } from 'vitest';
import { openDashboard, useBrowser } from './support/browser.js';
import { startTestServer } from './support/server.js';

const browser = useBrowser();

async function openSubmit(url: string): Promise<{ page: Page; problems: string[] }> {
  // Chromium logs the 400 the page expects (and shows) as a console error.
  const { page, problems } = await openDashboard(browser(), url, { expectedConsole: /status of 400/ });
  await page.goto(`${url}/#/submit`);
  await page.getByTestId('submit-body').waitFor();
  return { page, problems };
}

const statuses = (page: Page) =>
  page.getByTestId('dag-node').evaluateAll((els) => els.map((el) => el.getAttribute('data-status')));

test('a YAML plan pasted in the submit page runs, and its graph shows each step done', async () => {
  const { url } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { page, problems } = await openSubmit(url);
  await page
    .getByTestId('submit-body')
    .fill(
      [
        'description: from yaml',
        'strategy:',
        '  type: dependency_graph',
        '  dependencies: {report: [hello]}',
        'commands:',
        '  - name: hello',
        '    command: {type: exec, program: echo, args: [hello from yaml]}',
        '  - name: report',
        '    command:',
        '      type: shell',
        '      command: echo reported',
      ].join('\n'),
    );
  await page.getByTestId('submit-button').click();
  await expect.poll(() => page.url()).toMatch(/#\/executions\/[0-9a-f-]{36}$/);
  await expect.poll(() => page.getByTestId('execution-status').getAttribute('data-status')).toBe('completed');
  await expect.poll(() => statuses(page)).toEqual(['completed', 'completed']);
  await expect.poll(() => page.getByTestId('log-line').allTextContents()).toContain('hello from yaml');
  expect(problems).toEqual([]);
  await page.close();
});

test('a single request in YAML runs; a YAML syntax error is shown under the text with its line and column', async () => {
  const { url } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const { page, problems } = await openSubmit(url);
  const text = page.getByTestId('submit-body');
  await text.fill('description: broken\ncommands:\n  - command: {type: exec, program: echo\n  - name: x\n');
  await page.getByTestId('submit-button').click();
  const result = page.getByTestId('submit-result');
  await expect.poll(() => result.getAttribute('class')).toContain('error');
  expect(await result.textContent()).toMatch(/not valid YAML: .*\(at line \d+, column \d+\)/);
  expect(await text.getAttribute('aria-invalid')).toBe('true');
  // It is shown right under the text, before the help and the buttons.
  expect(await text.evaluate((el) => el.nextElementSibling?.getAttribute('data-testid'))).toBe('submit-result');
  expect(page.url()).toMatch(/#\/submit$/);

  await text.fill('description: one request\ncommand: {type: exec, program: echo, args: [single yaml]}\n');
  await page.getByTestId('submit-button').click();
  await expect.poll(() => page.url()).toMatch(/#\/executions\/[0-9a-f-]{36}$/);
  await expect.poll(() => page.getByTestId('execution-status').getAttribute('data-status')).toBe('completed');
  await expect.poll(() => page.getByTestId('log-line').allTextContents()).toContain('single yaml');
  expect(problems).toEqual([]);
  await page.close();
});
