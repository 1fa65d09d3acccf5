/**
 * Approvals from a terminal against a real server over HTTP: `approvals`, `approval show`,
 * `approve`, `reject`, each acting as the principal whose token is in CLOUDOPS_EXEC_TOKEN.
 * Exit codes: 0 done, 1 refused by the server (its code printed), 2 bad input or no server.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir, until } from './helpers.js';
import { BIN, runCli } from './support/cli.js';
import { addPrincipal, startTestServer, type TestServer, TOKEN } from './support/server.js';

/** modify and destructive wait for a human (destructive needs two approvers, the server's default). */
const APPROVAL = { approval: { auto_approve_readonly: true } };

/**
 * The CLI as `token`'s principal, run to its end. Spawned, never spawnSync: the server answering
 * it lives in this process's event loop.
 */
function cli(token: string | null, args: string[], env: Record<string, string> = {}) {
  return runCli(args, {
    env: { ...env, CLOUDOPS_SERVER: env.CLOUDOPS_SERVER || undefined, CLOUDOPS_EXEC_TOKEN: token ?? undefined },
  });
}

interface Setup {
  ts: TestServer;
  tokens: { submitter: string; alice: string; bob: string; viewer: string };
  /** The CLI against this server (`--server`). */
  as(token: string | null, ...args: string[]): ReturnType<typeof cli>;
}

async function setup(): Promise<Setup> {
  const ts = await startTestServer(APPROVAL);
  const tokens = {
    submitter: addPrincipal(ts, 'ci-bot', 'submitter'),
    alice: addPrincipal(ts, 'alice', 'approver'),
    bob: addPrincipal(ts, 'bob', 'approver'),
    viewer: addPrincipal(ts, 'vera', 'viewer'),
  };
  const as = (token: string | null, ...args: string[]) => {
    const [command, ...rest] = args;
    return command === 'approval'
      ? cli(token, [command, rest[0]!, '--server', ts.url, ...rest.slice(1)])
      : cli(token, [command!, '--server', ts.url, ...rest]);
  };
  return { ts, tokens, as };
}

/** A plan submitted over HTTP by `token`'s principal that creates `marker` when it runs. */
async function submitPlan(ts: TestServer, token: string, marker: string, risk_level = 'destructive'): Promise<string> {
  const submitted = await ts.as(token)('POST', '/api/plans', {
    description: 'retire the old hosts',
    commands: [{ command: { type: 'shell', command: `touch ${marker}` }, risk_level }],
  });
  expect(submitted.body).toMatchObject({ status: 'awaiting_approval' });
  return submitted.body.id as string;
}

test('approvals lists what waits; approval show gives risk, commands, dry-run verdicts, digest, votes, time left', async () => {
  const { ts, tokens, as } = await setup();
  const id = await submitPlan(ts, tokens.submitter, join(tempDir(), 'ran'));
  const digest = (await ts.api('GET', `/api/approvals/${id}`)).body.plan_sha256 as string;
  expect(digest).toMatch(/^[0-9a-f]{64}$/);

  const listed = await as(tokens.viewer, 'approvals', '--state', 'pending');
  expect(listed.stderr).toBe('');
  expect(listed.status).toBe(0);
  expect(listed.stdout).toMatch(
    new RegExp(`^${id} pending +destructive +0/2 +by ci-bot +in \\S+.* retire the old hosts$`, 'm'),
  );
  const json = await as(tokens.viewer, 'approvals', '--json');
  expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id, state: 'pending', still_needed: 2 })]);
  expect((await as(tokens.viewer, 'approvals', '--state', 'approved')).stdout).toBe('no approved approvals\n');

  const shown = await as(tokens.alice, 'approval', 'show', id);
  expect(shown.status).toBe(0);
  expect(shown.stdout).toContain(`Approval ${id}  pending`);
  expect(shown.stdout).toMatch(/risk +destructive/);
  expect(shown.stdout).toMatch(/submitted +\S+ by ci-bot/);
  expect(shown.stdout).toContain(`plan_sha256 ${digest}`);
  expect(shown.stdout).toMatch(/approvals +0 of 2/);
  expect(shown.stdout).toMatch(/needs +2 more approvers/);
  expect(shown.stdout).toMatch(/expires +\S+ \(in \S+/);
  expect(shown.stdout).toMatch(/1\. touch \S+\/ran/);
  expect(shown.stdout).toMatch(/dry run would run /);
  const shownJson = await as(tokens.alice, 'approval', 'show', id, '--json');
  expect(JSON.parse(shownJson.stdout)).toMatchObject({ id, plan_sha256: digest, required: 2, votes: [] });
});

test('2 of 2: approve records each approver as itself; the second starts the plan; the submitter cannot approve', async () => {
  const { ts, tokens, as } = await setup();
  const marker = join(tempDir(), 'ran');
  const id = await submitPlan(ts, tokens.submitter, marker);

  // A submitter's role may not decide at all; the server says so and the CLI exits 1 with its code.
  const digest = (await ts.api('GET', `/api/approvals/${id}`)).body.plan_sha256 as string;
  const bySubmitter = await as(tokens.submitter, 'approve', id, '--sha256', digest);
  expect(bySubmitter.status).toBe(1);
  expect(bySubmitter.stderr).toMatch(/refused: .*ci-bot \(role submitter\) may not .*\[Forbidden\]/);

  const first = await as(tokens.alice, 'approve', id, '--sha256', digest.slice(0, 16), '--note', 'hosts checked');
  expect(first.stderr).toBe('');
  expect(first.status).toBe(0);
  expect(first.stdout).toContain(`Approval ${id}  pending`); // what was approved was shown first
  expect(first.stdout).toContain(`Your approval of ${id} is recorded (1 of 2); it still needs 1 more approver`);
  expect(existsSync(marker)).toBe(false);
  const afterFirst = (await ts.api('GET', `/api/approvals/${id}`)).body;
  expect(afterFirst.votes).toEqual([expect.objectContaining({ principal: 'alice', note: 'hosts checked' })]);

  const second = await as(tokens.bob, 'approve', id, '--json', '--sha256', digest);
  expect(second.status).toBe(0);
  expect(second.stderr).toContain(`Approval ${id}  pending`); // shown on stderr, so stdout is one JSON document
  expect(JSON.parse(second.stdout)).toMatchObject({ id, state: 'approved', execution_id: id });
  await until(() => existsSync(marker), 10_000, 'the approved plan ran');

  const again = await as(tokens.alice, 'approve', id, '--sha256', digest);
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/refused: .*\[AlreadyDecided\]/);

  // The bootstrap admin may submit and approve, but never its own plan.
  const own = await submitPlan(ts, TOKEN, join(tempDir(), 'own'), 'modify');
  const ownDigest = (await ts.api('GET', `/api/approvals/${own}`)).body.plan_sha256 as string;
  const self = await as(TOKEN, 'approve', own, '--sha256', ownDigest);
  expect(self.status).toBe(1);
  expect(self.stderr).toMatch(/refused: .*\[SelfApproval\]/);
});

test('approve names the digest it read: required off a terminal, and a plan changed since is not approved', async () => {
  const { ts, tokens, as } = await setup();
  const marker = join(tempDir(), 'ran');
  const id = await submitPlan(ts, tokens.submitter, marker);
  const digest = (await ts.api('GET', `/api/approvals/${id}`)).body.plan_sha256 as string;

  // Spawned with stdin not a terminal: nobody could confirm what is shown, so the digest is required.
  const blind = await as(tokens.alice, 'approve', id);
  expect(blind.status).toBe(2);
  expect(blind.stderr).toContain('--sha256 is required when stdin is not a terminal');
  const tooShort = await as(tokens.alice, 'approve', id, '--sha256', digest.slice(0, 8));
  expect(tooShort.status).toBe(2);
  expect(tooShort.stderr).toContain('first 16 hex digits or more');

  // The digest the approver read no longer matches (the plan was edited in between, say).
  const other = digest.startsWith('0') ? `1${digest.slice(1)}` : `0${digest.slice(1)}`;
  const changed = await as(tokens.alice, 'approve', id, '--sha256', other.slice(0, 16));
  expect(changed.status).toBe(1);
  expect(changed.stderr).toContain('the plan changed since you looked: run approval show again');
  expect((await ts.api('GET', `/api/approvals/${id}`)).body.votes).toEqual([]);

  const matched = await as(tokens.alice, 'approve', id, '--sha256', digest.toUpperCase());
  expect(matched.status).toBe(0);
  expect((await ts.api('GET', `/api/approvals/${id}`)).body.votes).toEqual([
    expect.objectContaining({ principal: 'alice' }),
  ]);
});

/** The CLI on a terminal (a pseudo-terminal from `script`), typing `typed` when it asks. */
function onTerminal(token: string, args: string[], typed: string): ReturnType<typeof cli> {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CLOUDOPS_EXEC_TOKEN: token };
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr: '' }));
    child.stdin.end(typed);
  });
}

test('approve on a terminal without --sha256: the plan is shown and approved only when the approver says y', async () => {
  const { ts, tokens } = await setup();
  const id = await submitPlan(ts, tokens.submitter, join(tempDir(), 'ran'));
  const digest = (await ts.api('GET', `/api/approvals/${id}`)).body.plan_sha256 as string;

  const declined = await onTerminal(tokens.alice, ['approve', id, '--server', ts.url], 'n\n');
  expect(declined.stdout).toContain(`plan_sha256 ${digest}`);
  expect(declined.stdout).toContain(`Approve this plan (plan_sha256 ${digest.slice(0, 16)}…)? [y/N]`);
  expect(declined.stdout).toContain('not approved (you did not confirm)');
  expect(declined.status).toBe(1);
  expect((await ts.api('GET', `/api/approvals/${id}`)).body.votes).toEqual([]);

  const confirmed = await onTerminal(tokens.alice, ['approve', id, '--server', ts.url], 'y\n');
  expect(confirmed.stdout).toContain(`Your approval of ${id} is recorded (1 of 2)`);
  expect(confirmed.status).toBe(0);
  expect((await ts.api('GET', `/api/approvals/${id}`)).body.votes).toEqual([
    expect.objectContaining({ principal: 'alice' }),
  ]);
});

test('reject needs a reason and rejects at once; deciding a decided approval is refused', async () => {
  const { ts, tokens, as } = await setup();
  const marker = join(tempDir(), 'ran');
  const id = await submitPlan(ts, tokens.submitter, marker);

  const noReason = await as(tokens.bob, 'reject', id);
  expect(noReason.status).toBe(2);
  expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
  expect((await as(tokens.bob, 'reject', id, '--reason', '  ')).status).toBe(2);

  const rejected = await as(tokens.bob, 'reject', id, '--reason', 'wrong account');
  expect(rejected.stderr).toBe('');
  expect(rejected.status).toBe(0);
  expect(rejected.stdout).toContain(`Rejected ${id}`);
  const stored = (await ts.api('GET', `/api/approvals/${id}`)).body;
  expect(stored).toMatchObject({
    state: 'rejected',
    decision: { decision: { type: 'reject', reason: 'wrong account' } },
  });
  expect(existsSync(marker)).toBe(false);

  const shown = await as(tokens.viewer, 'approval', 'show', id);
  expect(shown.stdout).toMatch(/decision +reject by bob at \S+: wrong account/);
  const late = await as(tokens.alice, 'approve', id, '--sha256', stored.plan_sha256);
  expect(late.status).toBe(1);
  expect(late.stderr).toMatch(/\[AlreadyDecided\]/);
});

test('bad input and no server exit 2; a bad token is refused (1); CLOUDOPS_SERVER names the server', async () => {
  const { ts, tokens, as } = await setup();
  const unknown = await as(tokens.alice, 'approval', 'show', '00000000-0000-4000-8000-0000000000ff');
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toMatch(/\[NotFound\]/);

  const noToken = await as(null, 'approvals');
  expect(noToken.status).toBe(2);
  expect(noToken.stderr).toContain('set CLOUDOPS_EXEC_TOKEN to your API token');

  const badState = await as(tokens.alice, 'approvals', '--state', 'pendng');
  expect(badState.status).toBe(2);
  expect(badState.stderr).toContain('did you mean "pending"?');

  const badUrl = await cli(tokens.alice, ['approvals', '--server', 'ftp://example.com']);
  expect(badUrl.status).toBe(2);
  expect(badUrl.stderr).toContain('--server must be an http:// or https:// URL');

  // Port 1 on loopback: nothing listens there.
  const unreachable = await cli(tokens.alice, ['approvals', '--server', 'http://127.0.0.1:1']);
  expect(unreachable.status).toBe(2);
  expect(unreachable.stderr).toContain('cannot reach the server at http://127.0.0.1:1');

  const badToken = await as('cee_0000000000000000_not-a-real-secret-not-a-real-secret-000000', 'approvals');
  expect(badToken.status).toBe(1);
  expect(badToken.stderr).toMatch(/refused: .*\[Unauthorized\]/);

  const viaEnv = await cli(tokens.viewer, ['approvals'], { CLOUDOPS_SERVER: ts.url });
  expect(viaEnv.status).toBe(0);
  expect(viaEnv.stdout).toBe('no approvals\n');
});
