/**
 * The approval gate over real HTTP, with real principals and their own tokens: the submitter
 * never approves its own plan, N-of-M distinct approvers, decisions bound to the plan digest,
 * expiry, a body naming its approver refused, a stale dry run run again, and the audit trail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { AuditTrail } from '../src/services/audit.js';
import { Principals } from '../src/services/principals.js';
import { canonicalJson } from '../src/wire/canonical-json.js';
import { tempDir, until } from './helpers.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';
import { addPrincipal, startTestServer, type TestServer } from './support/server.js';

const shell = (command: string, risk_level: 'modify' | 'destructive') => ({
  command: { type: 'shell', command },
  risk_level,
});
/** Modify and destructive work waits for people; read-only work runs. */
const APPROVAL = { approval: { auto_approve_readonly: true } };

/** A server with a submitter (carl), two approvers (alice, bob) and an admin principal (root). */
async function gateServer(options: Parameters<typeof startTestServer>[1] = {}, config: object = APPROVAL) {
  const ts = await startTestServer(config, options);
  const as = (name: string, role: 'submitter' | 'approver' | 'admin') => ts.as(addPrincipal(ts, name, role));
  return { ...ts, carl: as('carl', 'submitter'), alice: as('alice', 'approver'), bob: as('bob', 'approver'), ts };
}

type Api = TestServer['api'];

async function submitPlan(api: Api, plan: object): Promise<{ id: string; plan_sha256: string }> {
  const submitted = await api('POST', '/api/plans', plan);
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const approval = (await api('GET', `/api/approvals/${submitted.body.approval_id}`)).body;
  return { id: approval.id, plan_sha256: approval.plan_sha256 };
}

const decide = (api: Api, id: string, body: object) => api('POST', `/api/approvals/${id}/decision`, body);

test('the submitter may not approve its own plan, whatever its role; rejecting it (withdrawing) is allowed', async () => {
  const { api, ts, carl } = await gateServer();
  const root = ts.as(addPrincipal(ts, 'root', 'admin'));
  const mine = await submitPlan(root, { commands: [shell('echo mine', 'modify')] });
  const approval = (await root('GET', `/api/approvals/${mine.id}`)).body;
  expect(approval).toMatchObject({ submitted_by: 'root', state: 'pending', required: 1, votes: [], still_needed: 1 });

  const self = await decide(root, mine.id, { decision: { type: 'approve' }, plan_sha256: mine.plan_sha256 });
  expect(self.status).toBe(403);
  expect(self.body.error.code).toBe('SelfApproval');
  const selfEdit = await decide(root, mine.id, {
    decision: { type: 'modify_and_approve', modified_plan: { commands: [shell('echo edited', 'modify')] } },
    plan_sha256: mine.plan_sha256,
  });
  expect(selfEdit.status).toBe(403);
  expect(selfEdit.body.error.code).toBe('SelfApproval');

  // The server's own token is the admin `admin`: it cannot approve what it submitted either.
  const bootstrap = await submitPlan(api, { commands: [shell('echo bootstrap', 'modify')] });
  const selfBootstrap = await decide(api, bootstrap.id, {
    decision: { type: 'approve' },
    plan_sha256: bootstrap.plan_sha256,
  });
  expect(selfBootstrap.status).toBe(403);
  expect(selfBootstrap.body.error.code).toBe('SelfApproval');

  // A submitter's role may not approve at all, not even someone else's plan; nor reject another's.
  const carls = await submitPlan(carl, { commands: [shell('echo carl', 'modify')] });
  const byRole = await decide(carl, carls.id, { decision: { type: 'approve' }, plan_sha256: carls.plan_sha256 });
  expect(byRole.status).toBe(403);
  expect(byRole.body.error.code).toBe('Forbidden');
  const othersApprove = await decide(carl, bootstrap.id, {
    decision: { type: 'approve' },
    plan_sha256: bootstrap.plan_sha256,
  });
  expect(othersApprove.status).toBe(403);
  expect(othersApprove.body.error.code).toBe('Forbidden');
  const othersReject = await decide(carl, bootstrap.id, {
    decision: { type: 'reject', reason: 'not mine to withdraw' },
    plan_sha256: bootstrap.plan_sha256,
  });
  expect(othersReject.status).toBe(403);
  expect(othersReject.body.error).toMatchObject({ code: 'Forbidden' });
  expect(othersReject.body.error.message).toContain('carl (role submitter)');
  expect((await carl('GET', `/api/approvals/${bootstrap.id}`)).body.state).toBe('pending');
  // ...but a submitter withdraws its own plan: a reject of what it submitted.
  const carlWithdraws = await decide(carl, carls.id, {
    decision: { type: 'reject', reason: 'wrong host' },
    plan_sha256: carls.plan_sha256,
  });
  expect(carlWithdraws.status).toBe(200);
  expect(carlWithdraws.body).toMatchObject({ state: 'rejected', decision: { approved_by: 'carl' } });

  expect((await root('GET', `/api/approvals/${mine.id}`)).body).toMatchObject({ state: 'pending', votes: [] });
  const withdrawn = await decide(root, mine.id, {
    decision: { type: 'reject', reason: 'submitted by mistake' },
    plan_sha256: mine.plan_sha256,
  });
  expect(withdrawn.body).toMatchObject({ state: 'rejected', decision: { approved_by: 'root' } });
  expect(await ts.engine.listExecutions()).toEqual([]);
});

test('2-of-2 for destructive work: one approval leaves it pending, the same approver twice counts once, a second starts it', async () => {
  const { carl, alice, bob, ts } = await gateServer();
  const marker = join(tempDir(), 'ran');
  const plan = await submitPlan(carl, { commands: [shell(`touch ${marker}`, 'destructive')] });
  expect((await carl('GET', `/api/approvals/${plan.id}`)).body).toMatchObject({
    submitted_by: 'carl',
    required: 2,
    still_needed: 2,
  });

  const first = await decide(alice, plan.id, {
    decision: { type: 'approve' },
    plan_sha256: plan.plan_sha256,
    notes: 'looks right',
  });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ state: 'pending', still_needed: 1, execution_id: null, decision: null });
  expect(first.body.votes).toEqual([{ principal: 'alice', at: expect.any(String), note: 'looks right' }]);

  const again = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ state: 'pending', still_needed: 1 });
  expect(again.body.votes.map((v: { principal: string }) => v.principal)).toEqual(['alice']);
  expect(existsSync(marker)).toBe(false);
  expect(await ts.engine.listExecutions()).toEqual([]);

  const second = await decide(bob, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ state: 'approved', still_needed: 0, execution_id: plan.id });
  expect(second.body.votes.map((v: { principal: string }) => v.principal)).toEqual(['alice', 'bob']);
  expect(second.body.decision).toMatchObject({ approved_by: 'bob' });
  expect((await bob('GET', `/api/executions/${plan.id}/result?wait=true`)).body.status).toBe('completed');
  expect(existsSync(marker)).toBe(true);

  const entries = new AuditTrail(ts.engine.history!).list({ limit: 1000 }).filter((e) => e.object === plan.id);
  expect(entries.map((e) => [e.principal, e.action])).toEqual([
    ['carl', 'submit'],
    ['alice', 'approve'],
    ['bob', 'approve'],
    ['bob', 'start'],
  ]);
  // Each entry names the content it was about; the start names the execution and who approved it.
  expect(entries[0]!.detail).toMatchObject({ kind: 'approval', plan_sha256: plan.plan_sha256, required: 2 });
  expect(entries[3]!.detail).toEqual({
    plan_sha256: plan.plan_sha256,
    execution_id: plan.id,
    approvers: ['alice', 'bob'],
  });
});

test('one reject rejects, whatever approvals came before; the trail records each decision', async () => {
  const { carl, alice, bob, ts } = await gateServer();
  const plan = await submitPlan(carl, { commands: [shell('echo never', 'destructive')] });
  await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  const rejected = await decide(bob, plan.id, {
    decision: { type: 'reject', reason: 'not during the freeze' },
    plan_sha256: plan.plan_sha256,
  });
  expect(rejected.body).toMatchObject({
    state: 'rejected',
    still_needed: 0,
    execution_id: null,
    decision: { approved_by: 'bob', decision: { type: 'reject', reason: 'not during the freeze' } },
  });
  const late = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(late.status).toBe(409);
  expect(late.body.error.code).toBe('AlreadyDecided');
  expect(await ts.engine.listExecutions()).toEqual([]);
  const entries = new AuditTrail(ts.engine.history!).list({ limit: 1000 }).filter((e) => e.object === plan.id);
  expect(entries.map((e) => [e.principal, e.action])).toEqual([
    ['carl', 'submit'],
    ['alice', 'approve'],
    ['bob', 'reject'],
  ]);
  expect(entries[2]!.detail).toMatchObject({ reason: 'not during the freeze', plan_sha256: plan.plan_sha256 });
  expect(entries[2]!.source).toBe('127.0.0.1');
});

test('a decision names the digest it was made on: missing is 400, another one is 409 DigestMismatch', async () => {
  const { carl, alice } = await gateServer();
  const plan = await submitPlan(carl, { commands: [shell('echo digest', 'modify')] });
  const shown = (await alice('GET', `/api/approvals/${plan.id}`)).body;
  // The digest is the sha256 of the canonical JSON of the plan (sorted keys, no spaces).
  expect(shown.plan_sha256).toBe(createHash('sha256').update(canonicalJson(shown.plan)).digest('hex'));

  const missing = await decide(alice, plan.id, { decision: { type: 'approve' } });
  expect(missing.status).toBe(400);
  expect(missing.body.error.field).toBe('plan_sha256');
  const other = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: 'a'.repeat(64) });
  expect(other.status).toBe(409);
  expect(other.body.error.code).toBe('DigestMismatch');
  expect((await alice('GET', `/api/approvals/${plan.id}`)).body).toMatchObject({ state: 'pending', votes: [] });
});

test('a body naming the approver is refused, naming the field: the approver is whoever is signed in', async () => {
  const { carl, alice } = await gateServer();
  const plan = await submitPlan(carl, { commands: [shell('echo named', 'modify')] });
  const named = await decide(alice, plan.id, {
    decision: { type: 'approve' },
    plan_sha256: plan.plan_sha256,
    approved_by: 'alice',
  });
  expect(named.status).toBe(400);
  expect(named.body.error).toMatchObject({ code: 'Validation', field: 'approved_by' });
  const inside = await decide(alice, plan.id, {
    decision: { type: 'approve', approved_by: 'somebody-else' },
    plan_sha256: plan.plan_sha256,
  });
  expect(inside.status).toBe(400);
  expect(inside.body.error.field).toBe('decision.approved_by');
  // Any other field the body does not take is refused too, named (a misspelling would otherwise be dropped).
  const unknown = await decide(alice, plan.id, {
    decision: { type: 'approve' },
    plan_sha256: plan.plan_sha256,
    Approved_By: 'alice',
  });
  expect(unknown.status).toBe(400);
  expect(unknown.body.error).toMatchObject({ code: 'Validation', field: 'Approved_By' });
  expect(unknown.body.error.message).toContain('Approved_By');
  expect((await alice('GET', `/api/approvals/${plan.id}`)).body).toMatchObject({ state: 'pending', votes: [] });
});

test('a pending approval past its time to live reads as expired, deciding it is 409 Expired, and the trail says so', async () => {
  const { carl, alice, ts } = await gateServer({ approvals: { ttl_ms: 1 } });
  const plan = await submitPlan(carl, { commands: [shell('echo late', 'modify')] });
  const approval = (await alice('GET', `/api/approvals/${plan.id}`)).body;
  // The precondition, not a timing assertion: read it once its expiry time has certainly passed.
  while (Date.now() <= Date.parse(approval.expires_at)) await new Promise((resolve) => setTimeout(resolve, 5));

  expect((await alice('GET', `/api/approvals/${plan.id}`)).body).toMatchObject({ state: 'expired', still_needed: 0 });
  const late = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(late.status).toBe(409);
  expect(late.body.error.code).toBe('Expired');
  const expired = (await alice('GET', '/api/approvals?state=expired')).body.approvals;
  expect(expired.map((a: { id: string }) => a.id)).toEqual([plan.id]);
  expect(await ts.engine.listExecutions()).toEqual([]);
  // Persisted: the store has it expired, and one `expire` entry was recorded.
  expect(ts.engine.history!.approvals('expired').map((a) => a.id)).toEqual([plan.id]);
  const entries = new AuditTrail(ts.engine.history!).list({ limit: 1000 }).filter((e) => e.object === plan.id);
  expect(entries.filter((e) => e.action === 'expire')).toHaveLength(1);
});

test('edit-and-approve: a new digest, every vote reset, the editor may not approve its edit; two others run it', async () => {
  const { carl, alice, bob, ts } = await gateServer();
  const dave = ts.as(addPrincipal(ts, 'dave', 'approver'));
  const dir = tempDir();
  const plan = await submitPlan(carl, { commands: [shell(`touch ${join(dir, 'original')}`, 'destructive')] });
  expect(
    (
      await alice('POST', `/api/approvals/${plan.id}/decision`, {
        decision: { type: 'approve' },
        plan_sha256: plan.plan_sha256,
      })
    ).body.votes,
  ).toHaveLength(1);

  const edited = await decide(bob, plan.id, {
    decision: {
      type: 'modify_and_approve',
      modified_plan: { commands: [shell(`touch ${join(dir, 'edited')}`, 'destructive')] },
    },
    plan_sha256: plan.plan_sha256,
  });
  expect(edited.status).toBe(200);
  // Bob wrote it: his edit is not his approval; destructive work needs two others.
  expect(edited.body).toMatchObject({ state: 'pending', required: 2, still_needed: 2, votes: [], edit: { by: 'bob' } });
  expect(edited.body.plan_sha256).not.toBe(plan.plan_sha256);
  expect(edited.body.request.commands[0].command).toContain('edited');
  expect(ts.engine.history!.approvals('pending').find((a) => a.id === plan.id)).toMatchObject({
    votes: [],
    edit: { by: 'bob' },
  });

  const editorApproves = await decide(bob, plan.id, {
    decision: { type: 'approve' },
    plan_sha256: edited.body.plan_sha256,
  });
  expect(editorApproves.status).toBe(403);
  expect(editorApproves.body.error.code).toBe('SelfApproval');

  // Alice approved the plan as submitted, not the edit: her approval is asked for again, on the new digest.
  const stale = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(stale.status).toBe(409);
  expect(stale.body.error.code).toBe('DigestMismatch');
  const one = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: edited.body.plan_sha256 });
  expect(one.body).toMatchObject({ state: 'pending', still_needed: 1 });
  expect(await ts.engine.listExecutions()).toEqual([]);
  const approved = await decide(dave, plan.id, { decision: { type: 'approve' }, plan_sha256: edited.body.plan_sha256 });
  expect(approved.body).toMatchObject({ state: 'approved', decision: { decision: { type: 'modify_and_approve' } } });
  const run = (await alice('GET', `/api/executions/${approved.body.execution_id}/result?wait=true`)).body;
  expect(run.status).toBe('completed');
  expect(existsSync(join(dir, 'edited'))).toBe(true);
  expect(existsSync(join(dir, 'original'))).toBe(false);
});

test('an approver that edits modify work does not run it alone: it waits for another approver', async () => {
  const { carl, alice, bob, ts } = await gateServer();
  const dir = tempDir();
  const plan = await submitPlan(carl, { commands: [shell(`touch ${join(dir, 'original')}`, 'modify')] });
  const edited = await decide(alice, plan.id, {
    decision: {
      type: 'modify_and_approve',
      modified_plan: { commands: [shell(`touch ${join(dir, 'mine')}`, 'modify')] },
    },
    plan_sha256: plan.plan_sha256,
  });
  expect(edited.body).toMatchObject({ state: 'pending', required: 1, still_needed: 1, votes: [], execution_id: null });
  const self = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: edited.body.plan_sha256 });
  expect(self.status).toBe(403);
  expect(self.body.error.code).toBe('SelfApproval');
  expect(await ts.engine.listExecutions()).toEqual([]);
  expect(existsSync(join(dir, 'mine'))).toBe(false);

  const approved = await decide(bob, plan.id, { decision: { type: 'approve' }, plan_sha256: edited.body.plan_sha256 });
  expect(approved.body).toMatchObject({ state: 'approved', decision: { approved_by: 'bob' } });
  expect((await bob('GET', `/api/executions/${approved.body.execution_id}/result?wait=true`)).body.status).toBe(
    'completed',
  );
  expect(existsSync(join(dir, 'mine'))).toBe(true);
});

test("a revoked approver's vote no longer counts: 2-of-2 still needs one after the revocation", async () => {
  const { carl, alice, bob, ts } = await gateServer();
  const dave = ts.as(addPrincipal(ts, 'dave', 'approver'));
  const plan = await submitPlan(carl, { commands: [shell('echo two-of-two', 'destructive')] });
  const first = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(first.body).toMatchObject({ state: 'pending', still_needed: 1 });
  new Principals(ts.engine.history!).revoke('alice');
  expect((await bob('GET', `/api/approvals/${plan.id}`)).body).toMatchObject({ state: 'pending', still_needed: 2 });

  const second = await decide(bob, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(second.status).toBe(200);
  expect(second.body).toMatchObject({ state: 'pending', still_needed: 1, execution_id: null });
  expect(await ts.engine.listExecutions()).toEqual([]);

  const third = await decide(dave, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(third.body).toMatchObject({ state: 'approved', still_needed: 0, execution_id: plan.id });
});

test('what waits keeps its votes, digest and submitter over a restart; the second approval afterwards starts it', async () => {
  const logDir = tempDir();
  const first = await gateServer({}, { ...APPROVAL, log_dir: logDir });
  const plan = await submitPlan(first.carl, { commands: [shell('echo after-restart', 'destructive')] });
  await decide(first.alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  await first.server.close();
  await first.engine.shutdown();
  first.engine.close();

  const second = await startTestServer({ ...APPROVAL, log_dir: logDir });
  const bob = second.as(addPrincipal(second, 'bob2', 'approver'));
  expect((await bob('GET', `/api/approvals/${plan.id}`)).body).toMatchObject({
    submitted_by: 'carl',
    plan_sha256: plan.plan_sha256,
    votes: [{ principal: 'alice' }],
    still_needed: 1,
  });
  const approved = await decide(bob, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(approved.body.state).toBe('approved');
  expect((await bob('GET', `/api/executions/${plan.id}/result?wait=true`)).body.results[0].stdout).toBe(
    'after-restart\n',
  );
});

test('a server restarted with a shorter --approval-ttl shortens what waits; a longer one does not lengthen it', async () => {
  const logDir = tempDir();
  const first = await gateServer({}, { ...APPROVAL, log_dir: logDir });
  const plan = await submitPlan(first.carl, { commands: [shell('echo later', 'modify')] });
  const submitted = (await first.carl('GET', `/api/approvals/${plan.id}`)).body;
  await first.server.close();
  await first.engine.shutdown();
  first.engine.close();

  const shorter = await startTestServer({ ...APPROVAL, log_dir: logDir }, { approvals: { ttl_ms: 60_000 } });
  const now = (await shorter.api('GET', `/api/approvals/${plan.id}`)).body;
  expect(Date.parse(now.expires_at)).toBe(Date.parse(submitted.submitted_at) + 60_000);
  await shorter.server.close();
  await shorter.engine.shutdown();
  shorter.engine.close();

  const longer = await startTestServer({ ...APPROVAL, log_dir: logDir }, { approvals: { ttl_ms: 7 * 86_400_000 } });
  // The expiry it was submitted with (24 h), not seven days.
  expect((await longer.api('GET', `/api/approvals/${plan.id}`)).body.expires_at).toBe(submitted.expires_at);
});

// A dry run's verdict that changes: AWS answers "would succeed" while the emulator runs, and
// nothing once it is gone. A private emulator, since this test stops it.
let moto: Moto;
beforeAll(async () => {
  moto = await startMoto({ private: true });
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

test('a stale dry run is run again when the last approval arrives; a changed verdict starts nothing (409 DryRunChanged)', async () => {
  const { carl, alice, ts } = await gateServer(
    { approvals: { dry_run_max_age_ms: 0 } },
    { ...APPROVAL, aws_endpoint_url: moto.url },
  );
  const stop = {
    command: {
      type: 'aws_cli',
      service: 'ec2',
      operation: 'stop-instances',
      args: ['--instance-ids', 'i-0123456789abcdef0'],
      region: 'us-east-1',
    },
    env: awsTestEnv(moto.url),
  };
  const plan = await submitPlan(carl, { commands: [stop] });
  const shown = (await alice('GET', `/api/approvals/${plan.id}`)).body;
  expect(shown.request.commands[0]).toMatchObject({ dry_run_would_succeed: true });

  await moto.stop();
  const refused = await decide(alice, plan.id, { decision: { type: 'approve' }, plan_sha256: plan.plan_sha256 });
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('DryRunChanged');
  expect(await ts.engine.listExecutions()).toEqual([]);

  // The approvers are shown the new result, and their approvals are asked for again.
  const now = (await alice('GET', `/api/approvals/${plan.id}`)).body;
  expect(now).toMatchObject({ state: 'pending', votes: [], still_needed: 1 });
  expect(now.request.commands[0].dry_run_would_succeed).not.toBe(true);
  expect(Date.parse(now.dry_run_at)).toBeGreaterThan(Date.parse(shown.dry_run_at));
  // The trail keeps the vote that was cleared, and why.
  const reset = new AuditTrail(ts.engine.history!).list({ limit: 1000 }).filter((e) => e.action === 'votes_reset');
  expect(reset).toEqual([
    expect.objectContaining({
      principal: 'alice',
      object: plan.id,
      detail: expect.objectContaining({ reason: 'dry_run_changed', votes: ['alice'], changed: [expect.any(String)] }),
    }),
  ]);
}, 120_000);

test('serve --approvals, --approval-ttl and --dry-run-max-age set the gate; a bad value is bad input (exit 2)', async () => {
  const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
  const env = { ...process.env };
  delete env.CLOUDOPS_EXEC_TOKEN;
  const serve = (...args: string[]) => [bin, '--log-dir', tempDir(), 'serve', '--port', '0', ...args];
  for (const args of [
    ['--approvals', 'modify=x'],
    ['--approvals', 'urgent=1'],
    ['--approvals', 'destructive=0'],
    ['--approval-ttl', '5q'],
    ['--dry-run-max-age', '10x'],
  ]) {
    const run = spawnSync(process.execPath, serve(...args), { encoding: 'utf8', env, timeout: 20_000 });
    expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(2);
    expect(run.stderr).toContain(args[0]);
  }

  const child = spawn(
    process.execPath,
    serve('--approvals', 'modify=2,destructive=3', '--approval-ttl', '8h', '--dry-run-max-age', '90s'),
    { stdio: ['ignore', 'ignore', 'pipe'], env },
  );
  try {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until(() => /API token: \S+/.test(stderr) || child.exitCode !== null, 20_000, 'server started');
    const url = /serving on (http:\/\/\S+)/.exec(stderr)?.[1];
    const token = /API token: (\S+)/.exec(stderr)?.[1];
    const health = await fetch(`${url}/api/health`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await health.json()) as { approval_gate: unknown }).approval_gate).toEqual({
      required: { read_only: 1, modify: 2, destructive: 3 },
      ttl_ms: 8 * 3_600_000,
      dry_run_max_age_ms: 90_000,
    });
  } finally {
    child.kill('SIGKILL');
  }
});

test('a secret value in the command hides part of it from the approver: the command is marked not verified and rated so', async () => {
  const { carl } = await gateServer();
  const target = join(tempDir(), 'prod-db-main.flag');
  const submitted = await carl('POST', '/api/plans', {
    commands: [{ command: { type: 'exec', program: 'touch', args: [target] }, env: { API_TOKEN: 'prod-db-main' } }],
  });
  expect(submitted.status).toBe(202);
  const approval = (await carl('GET', `/api/approvals/${submitted.body.approval_id}`)).body;
  const [command] = approval.request.commands;
  // What the approver reads is hidden…
  expect(command.command).toContain('***.flag');
  // …so the page says so, and the policy treats it as work it cannot see (unverified: destructive by default).
  expect(command.verified).toBe(false);
  expect(command.risk_reasons.join(' ')).toMatch(/secret variable API_TOKEN appears in what approvers are shown/);
  expect(approval.request.risk_level).toBe('destructive');
  expect(approval).toMatchObject({ required: 2, still_needed: 2 });
  expect(existsSync(target)).toBe(false);
});
