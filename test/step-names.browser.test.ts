/** Named plan steps in the dashboard (a real chromium): the graph, the commands table and the approval page show the names. */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir } from './helpers.js';
import { openDashboard as open, useBrowser } from './support/browser.js';
import { startTestServer } from './support/server.js';

const browser = useBrowser();

const openDashboard = (url: string) => open(browser(), url);

const shell = (command: string) => ({ type: 'shell', command });

test('the execution page labels graph nodes and table rows by name and lists dependencies by name', async () => {
  const { url, api } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const submitted = await api('POST', '/api/plans', {
    strategy: { type: 'dependency_graph', dependencies: { report: ['build', 'lint'] } },
    commands: [
      { name: 'build', command: shell('echo built') },
      { name: 'lint', command: shell('echo linted') },
      { name: 'report', command: shell('echo reported') },
      { command: shell('echo unnamed') },
    ],
  });
  const id = submitted.body.plan_id ?? submitted.body.id;
  expect(typeof id, JSON.stringify(submitted.body)).toBe('string');
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).status).toBe(200);

  const { page, problems } = await openDashboard(url);
  await page.goto(`${url}/#/executions/${id}`);
  const nodes = page.getByTestId('dag-node');
  await expect.poll(() => nodes.count()).toBe(4);
  const titles = await nodes.evaluateAll((els) => els.map((el) => el.querySelector('.dag-title')?.textContent ?? ''));
  expect(titles.slice(0, 3).map((t) => t.split(' ')[0])).toEqual(['build', 'lint', 'report']);
  expect(titles[3]).toMatch(/^#3 /);
  expect(await page.getByTestId('step-name').allTextContents()).toEqual(['build', 'lint', 'report']);
  const reportRow = page.locator('tr', { has: page.getByTestId('step-name').filter({ hasText: 'report' }) });
  expect(await reportRow.textContent()).toContain('build, lint');
  expect(problems).toEqual([]);
  await page.close();
});

test('the approval page shows each step name and orders by name', async () => {
  const { url, api } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const scratch = join(tempDir(), 'old');
  const submitted = await api('POST', '/api/plans', {
    strategy: { type: 'dependency_graph', dependencies: { clean: ['backup'] } },
    commands: [
      { name: 'backup', command: shell('echo backing up') },
      { name: 'clean', command: shell(`rm -rf ${scratch}`) },
    ],
  });
  const approvalId = submitted.body.approval_id;
  expect(typeof approvalId, JSON.stringify(submitted.body)).toBe('string');

  const { page, problems } = await openDashboard(url);
  await page.goto(`${url}/#/approvals/${encodeURIComponent(approvalId)}`);
  await expect.poll(() => page.getByTestId('approval-step-name').allTextContents()).toEqual(['backup', 'clean']);
  const cleanCard = page.locator('li.cmd-card', {
    has: page.getByTestId('approval-step-name').filter({ hasText: 'clean' }),
  });
  expect(await cleanCard.textContent()).toContain('after backup');
  expect(problems).toEqual([]);
  await page.close();
});

test('a plan with a failed step shows the failure in its progress bar, with the count', async () => {
  const { url, api } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const submitted = await api('POST', '/api/plans', {
    strategy: { type: 'parallel' },
    commands: [
      { name: 'ok', command: shell('echo fine') },
      { name: 'broken', command: shell('echo broken; exit 3') },
    ],
  });
  const id = submitted.body.id;
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body.status).toBe('failed');
  const { page, problems } = await openDashboard(url);
  await page.goto(`${url}/#/executions/${id}`);
  const bar = page.locator('progress.progress');
  await expect.poll(() => bar.getAttribute('class')).toContain('progress-failed');
  expect(await page.locator('.progress-wrap').textContent()).toContain('2 / 2 finished · 1 failed');
  expect(problems).toEqual([]);
  await page.close();

  const fine = await api('POST', '/api/plans', { commands: [{ command: shell('echo fine') }] });
  expect((await api('GET', `/api/executions/${fine.body.id}/result?wait=true`)).body.status).toBe('completed');
  const second = await openDashboard(url);
  await second.page.goto(`${url}/#/executions/${fine.body.id}`);
  await expect.poll(() => second.page.locator('.progress-wrap').textContent()).toContain('1 / 1 finished');
  expect(await second.page.locator('progress.progress').getAttribute('class')).not.toContain('progress-failed');
  await second.page.close();
});

test('the commands table shows what each step produced for later steps', async () => {
  const { url, api } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const submitted = await api('POST', '/api/plans', {
    strategy: { type: 'dependency_graph', dependencies: { use: ['create'] } },
    commands: [
      {
        name: 'create',
        command: shell(`echo '{"Instances":[{"InstanceId":"i-0abc123"}]}'`),
        outputs: { instance_id: { json: 'Instances[0].InstanceId' } },
      },
      {
        name: 'use',
        command: { type: 'exec', program: 'echo', args: ['using', '${{ steps.create.outputs.instance_id }}'] },
      },
    ],
  });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const id = submitted.body.id;
  expect((await api('GET', `/api/executions/${id}/result?wait=true`)).body.status).toBe('completed');
  const { page, problems } = await openDashboard(url);
  await page.goto(`${url}/#/executions/${id}`);
  await expect.poll(() => page.getByTestId('step-output').allTextContents()).toEqual(['→ instance_id = i-0abc123']);
  expect(problems).toEqual([]);
  await page.close();
});
