/**
 * examples/runbook-ec2.yaml end to end, as a team runs it: a `cloudops-exec serve` whose approval
 * rules hold modify and destructive work for humans sends every AWS call to moto_server
 * (`--endpoint-url`) through the real AWS CLI v2 (/usr/bin/aws); a submitter runs the runbook
 * with `run --approve-via`, two approvers approve it with `cloudops-exec approve`, and moto's
 * state shows that the instance step 1 launched is the one that was tagged, checked and
 * terminated, and that nothing ran before the approval.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { tempDir, until } from './helpers.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const RUNBOOK = join(root, 'examples/runbook-ec2.yaml');
const AWS = '/usr/bin/aws';

let moto: Moto;
beforeAll(async () => {
  // Our own server, never a shared MOTO_URL one: "no instance exists yet" must mean this file's.
  moto = await startMoto({ private: true });
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Start `cmd args` with our env plus `env` (CLOUDOPS_EXEC_TOKEN only when given there). */
function start(cmd: string, args: string[], env: Record<string, string> = {}): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...awsTestEnv(moto.url), ...env };
  if (!env.CLOUDOPS_EXEC_TOKEN) delete childEnv.CLOUDOPS_EXEC_TOKEN;
  delete childEnv.CLOUDOPS_SERVER;
  delete childEnv.AWS_ENDPOINT_URL;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Run to its end; fails the test (with its output) unless it exits 0. */
async function ok(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const run = start(cmd, args, env);
  const code = await run.exited;
  expect(code, `${cmd} ${args.join(' ')}\n${run.stdout()}\n${run.stderr()}`).toBe(0);
  return run.stdout();
}

const cli = (args: string[], token?: string) =>
  ok(process.execPath, [BIN, ...args], token ? { CLOUDOPS_EXEC_TOKEN: token } : {});

interface Instance {
  InstanceId: string;
  State: { Name: string };
  Tags?: Array<{ Key: string; Value: string }>;
}

/** Every instance moto knows, asked directly (not through the engine). */
async function motoInstances(): Promise<Instance[]> {
  const out = await ok(AWS, ['ec2', 'describe-instances', '--endpoint-url', moto.url, '--output', 'json']);
  const parsed = JSON.parse(out) as { Reservations: Array<{ Instances: Instance[] }> };
  return parsed.Reservations.flatMap((r) => r.Instances);
}

test("the README's command for the runbook works as written (here as a dry run: nothing is created)", async () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /<!-- runbook-ec2[^>]*-->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'runbook block marked in README').toBeDefined();
  // moto is already ours (the README's `moto_server -p 5000 &` line is left out); the rest as
  // written, `npx cloudops-exec` being this checkout's CLI (readme.test.ts runs it through npx).
  const lines = block!.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('moto_server'));
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(/^npx cloudops-exec run .*examples\/runbook-ec2\.yaml$/);
  const script = `${lines
    .join('\n')
    .replaceAll('http://127.0.0.1:5000', moto.url)
    .replace(/^npx cloudops-exec /m, `'${process.execPath}' '${BIN}' `)} --dry-run`;
  const run = start('sh', ['-c', script], { CLOUDOPS_LOG_DIR: tempDir() });
  expect(await run.exited, `${run.stdout()}\n${run.stderr()}`).toBe(0);
  expect(run.stdout()).toMatch(/risk destructive — 4 commands/);
  expect(run.stdout()).toMatch(
    /#0 modify +aws ec2 run-instances .*\(create\)\n.*\n +dry run AWS dry run: the request would succeed/,
  );
  expect(run.stdout()).toContain('Key=env,Value=prod'); // the parameter, filled in where no output is needed
  expect(run.stdout()).toContain('Dry run: nothing would fail.');
  expect(run.stderr()).not.toContain('CLOUDOPS_WEAK_SECRET'); // the README's dummy credentials are redactable
  // Nothing was created: the next test (same moto) first checks that moto has no instance.
}, 60_000);

test('the EC2 runbook through a server with approvals: waits, runs after two approvers, terminates the instance it launched', async () => {
  const logDir = tempDir();
  const server = start(process.execPath, [
    BIN,
    '--log-dir',
    logDir,
    'serve',
    '--port',
    '0',
    '--quiet',
    '--approve',
    'modify',
    '--approvals',
    'modify=1,destructive=2',
    '--aws-cli',
    AWS,
    '--endpoint-url',
    moto.url,
  ]);
  // The people, added to the server's store while it starts (a running server sees them at
  // once): a CI bot that submits, two approvers (destructive work needs two).
  const token = async (name: string, role: string) =>
    (JSON.parse(await cli(['--log-dir', logDir, 'auth', 'add', name, '--role', role, '--json'])) as { token: string })
      .token;
  const submitter = await token('ci-bot', 'submitter');
  const alice = await token('alice', 'approver');
  const bob = await token('bob', 'approver');
  await until(() => /serving on http:\/\/\S+/.test(server.stderr()) || server.child.exitCode !== null, 20_000, 'serve');
  const url = /serving on (http:\/\/\S+)/.exec(server.stderr())?.[1];
  expect(url, server.stderr()).toBeDefined();

  // Submitted with a parameter; it waits for approval and nothing has run.
  const run = start(
    process.execPath,
    [BIN, '--log-dir', tempDir(), 'run', '--json', '--approve-via', url!, '--param', 'env_name=prod', RUNBOOK],
    { CLOUDOPS_EXEC_TOKEN: submitter },
  );
  await until(
    () => run.stderr().includes('Waiting for approval') || run.child.exitCode !== null,
    20_000,
    'the run to wait for approval',
  );
  const approvalId = /Waiting for approval (\S+) on /.exec(run.stderr())?.[1];
  expect(approvalId, run.stderr()).toBeDefined();
  expect(run.stderr()).toMatch(/risk destructive, 2 approvers needed/);

  // Nothing ran before the approval (moto has no instance at all), while each approver reads the
  // plan (its digest) and approves exactly that.
  const [before, show] = await Promise.all([
    motoInstances(),
    cli(['approval', 'show', approvalId!, '--server', url!, '--json'], alice),
  ]);
  expect(before).toEqual([]); // nor did the README's dry run above
  const shown = JSON.parse(show) as { plan_sha256: string; request: { risk_level: string } };
  expect(shown.request.risk_level).toBe('destructive');
  const approve = (who: string) => cli(['approve', approvalId!, '--server', url!, '--sha256', shown.plan_sha256], who);
  expect(await approve(alice)).toContain('it still needs 1 more approver');
  expect(await approve(bob)).toContain(`Approved ${approvalId}: the plan started`);

  expect(await run.exited, run.stderr()).toBe(0);
  const { plan_result: result } = JSON.parse(run.stdout().trim().split('\n').at(-1)!) as {
    plan_result: { status: string; results: Array<{ status: string; outputs: Record<string, string> }> };
  };
  expect(result.status).toBe('completed');
  expect(result.results.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  const [create, , check, terminate] = result.results.map((r) => r.outputs);
  const id = create!.instance_id!;
  expect(id).toMatch(/^i-[0-9a-f]+$/);
  expect(check).toEqual({ checked_id: id, state: 'running', instance_type: 't3.micro' });
  expect(terminate).toEqual({ state: 'shutting-down' });

  // moto's own state: the one instance there is the one step 1 launched, tagged and terminated.
  const instances = await motoInstances();
  expect(instances.map((i) => [i.InstanceId, i.State.Name])).toEqual([[id, 'terminated']]);
  expect(instances[0]!.Tags).toEqual(
    expect.arrayContaining([
      { Key: 'env', Value: 'prod' },
      { Key: 'launched-by', Value: 'cloudops-exec' },
    ]),
  );

  server.child.kill('SIGINT');
  expect(await server.exited).toBe(0);
}, 60_000);
