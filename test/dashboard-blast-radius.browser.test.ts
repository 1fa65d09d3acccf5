/**
 * The approval page shows what a command would change (a real chromium, moto with real
 * instances): each instance with its Name tag, the production warning, the age of the look-up;
 * tag values reach the page as text, never as markup. The screenshot is kept as a test artifact
 * (test-artifacts/approval-blast-radius.png).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  deleteFunction,
  echo,
  instanceStates,
  instancesRequest,
  runInstances,
  terminate,
  uniqueName,
} from './support/blast-fixtures.js';
import { openDashboard, useBrowser } from './support/browser.js';
import { type Moto, startMoto } from './support/moto.js';
import { startTestServer } from './support/server.js';

const browser = useBrowser();
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

let moto: Moto;
const web = uniqueName('web');
// A tag is whatever the instance's owner wrote: markup in it must show as text.
const db = `${uniqueName('db')}<img src=x onerror=alert(1)>`;
/** The instances of both tests, made at once (one python3 start): web, db, and one not production. */
let ids: string[];
beforeAll(async () => {
  moto = await startMoto();
  ids = runInstances(moto, [
    { Name: web, env: 'prod', owner: 'ana' },
    { Name: db, env: 'prod', owner: 'ben' },
    { Name: uniqueName('old'), env: 'staging' },
  ]);
}, 30_000);
afterAll(async () => {
  await moto?.stop();
});

test('the approval page lists both instances a termination would end, their Name tags and the production warning', async () => {
  const ts = await startTestServer({ approval: { auto_approve_readonly: true }, aws_endpoint_url: moto.url });
  const terminated = ids.slice(0, 2);
  const ownEndpoint = instancesRequest(moto, 'stop-instances', [ids[0]!]);
  // moto again, by another name: an endpoint other than the server's all the same.
  const elsewhere = moto.url.replace('127.0.0.1', 'localhost');
  ownEndpoint.command.args.push('--endpoint-url', elsewhere);
  const submitted = await ts.api('POST', '/api/plans', {
    description: 'retire the old web tier',
    commands: [
      terminate(moto, terminated),
      deleteFunction(moto, 'old-thumbnailer'),
      echo('done'),
      // Sent elsewhere than the server's AWS: not looked up, and the page says why (once, not also as a warning).
      ownEndpoint,
    ],
  });
  expect(submitted.body.status, JSON.stringify(submitted.body)).toBe('awaiting_approval');

  const { page, problems } = await openDashboard(browser(), ts.url, { height: 1100 });
  await page.goto(`${ts.url}/#/approvals/${submitted.body.approval_id}`);
  const rows = page.getByTestId('approval-change');
  await expect.poll(() => rows.count()).toBe(2);
  for (const [index, id] of terminated.entries()) {
    const row = page.locator(`[data-testid="approval-change"][data-resource="${id}"]`);
    expect(await row.textContent()).toContain([web, db][index]);
    expect(await row.textContent()).toContain('terminate');
    // Marked as production where it is listed.
    expect(await row.getAttribute('class')).toContain('br-row-production_resource');
  }
  const warnings = page.locator('[data-testid="approval-warning"][data-code="production_resource"]');
  await expect.poll(() => warnings.count()).toBe(2);
  const warned = (await warnings.allTextContents()).join('\n');
  for (const id of terminated) expect(warned).toContain(id);
  expect(await page.getByTestId('approval-changes-age').textContent()).toMatch(/^looked up (just now|\d+ s ago)/);
  // The operation with no look-up says so, and the command with its own endpoint; the echo (not
  // AWS) has no block at all.
  const notes = page.getByTestId('approval-resolution-note');
  await expect.poll(() => notes.count()).toBe(2);
  expect(await notes.allTextContents()).toEqual([
    'Not looked up: no look-up for aws lambda delete-function yet',
    `Not looked up: it names its own endpoint (${elsewhere}): not looked up before approval`,
  ]);
  expect(await page.locator('[data-testid="approval-warning"][data-code="unresolved"]').count()).toBe(0);
  expect(await page.getByTestId('approval-blast-radius').count()).toBe(3);
  // The markup in the tag is text on the page: no element was made of it.
  expect(await page.locator('[data-testid="approval-blast-radius"] img').count()).toBe(0);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.getByTestId('approval-blast-radius').first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${ARTIFACTS}approval-blast-radius.png`, fullPage: true });
  expect(problems).toEqual([]);
  await page.close();
  // Looking changed nothing.
  expect(await instanceStates(moto, terminated)).toEqual(['running', 'running']);
}, 90_000);

test('a look-up older than the server allows (dry_run_max_age_ms) is marked stale: the start looks again', async () => {
  const ts = await startTestServer(
    { approval: { auto_approve_readonly: true }, aws_endpoint_url: moto.url },
    { approvals: { dry_run_max_age_ms: 0 } },
  );
  const id = ids[2]!;
  const submitted = await ts.api('POST', '/api/plans', { commands: [terminate(moto, [id])] });
  expect(submitted.body.status, JSON.stringify(submitted.body)).toBe('awaiting_approval');
  const { page, problems } = await openDashboard(browser(), ts.url);
  await page.goto(`${ts.url}/#/approvals/${submitted.body.approval_id}`);
  const age = page.getByTestId('approval-changes-age');
  await expect.poll(() => age.textContent()).toContain('stale: looked up again before the plan starts');
  expect(await age.getAttribute('class')).toContain('br-stale');
  // Not production: no warning of it, and the row is not marked.
  expect(await page.locator('[data-code="production_resource"]').count()).toBe(0);
  expect(await page.getByTestId('approval-change').getAttribute('class')).toBeNull();
  expect(problems).toEqual([]);
  await page.close();
}, 60_000);
