/**
 * Dry runs against a real AWS emulator (moto on 127.0.0.1, Debian's aws CLI v2, the JS SDK):
 * a dry run changes nothing, the approved real run does, and both executors agree.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dryRunVerdict } from '../src/engine/dry-run.js';
import type { ExecutionEngine, ExecutionRequestInput } from '../src/index.js';
import { makeEngine } from './helpers.js';
import { awsTestEnv, startMoto } from './support/moto.js';

let moto: Awaited<ReturnType<typeof startMoto>>;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

const tag = randomUUID();
const env = () => awsTestEnv(moto.url);

function runInstances(): ExecutionRequestInput {
  return {
    command: {
      type: 'aws_cli',
      service: 'ec2',
      operation: 'run-instances',
      args: [
        '--image-id',
        'ami-12345678',
        '--count',
        '1',
        '--instance-type',
        't2.micro',
        '--tag-specifications',
        `ResourceType=instance,Tags=[{Key=dryrun-test,Value=${tag}}]`,
      ],
      region: 'us-east-1',
    },
    env: env(),
    description: 'launch one instance',
  };
}

async function taggedInstances(engine: ExecutionEngine): Promise<string[]> {
  const id = await engine.execute({
    command: {
      type: 'sdk',
      service: 'ec2',
      operation: 'DescribeInstances',
      parameters: { Filters: [{ Name: 'tag:dryrun-test', Values: [tag] }] },
      region: 'us-east-1',
    },
    env: env(),
  });
  const result = await engine.wait(id);
  expect(result.status, result.stderr).toBe('completed');
  const body = JSON.parse(result.stdout) as { Reservations?: Array<{ Instances?: Array<{ InstanceId: string }> }> };
  return (body.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId));
}

test('a dry run asks AWS with --dry-run / DryRun, gets "would succeed", and creates nothing', async () => {
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  const result = await engine.dryRun({
    commands: [
      runInstances(),
      {
        command: {
          type: 'sdk',
          service: 'ec2',
          operation: 'RunInstances',
          parameters: { ImageId: 'ami-12345678', MinCount: 1, MaxCount: 1 },
          region: 'us-east-1',
        },
        env: env(),
      },
      {
        command: { type: 'shell', command: 'echo deploy' },
        env: { DEPLOY_TOKEN: 'tok-7d1e2f3a-secret' },
        working_dir: '/tmp',
      },
    ],
  });
  expect(result.risk_level).toBe('modify');
  expect(result.commands[0]).toMatchObject({ method: 'aws_dry_run', would_succeed: true });
  expect(result.commands[0]!.output).toContain('DryRunOperation');
  expect(result.commands[0]!.argv).toContain('/usr/bin/aws');
  expect(result.commands[1]).toMatchObject({ method: 'aws_dry_run', would_succeed: true });
  expect(result.commands[2]).toMatchObject({
    method: 'description',
    would_succeed: null,
    env_names: ['DEPLOY_TOKEN'],
    working_dir: '/tmp',
    argv: ['bash', '-c', 'echo deploy'],
  });
  expect(JSON.stringify(result)).not.toContain('tok-7d1e2f3a-secret');
  expect(await taggedInstances(engine)).toEqual([]);
}, 60_000);

test('approval shows the dry run; the approved real run creates the instance, and the SDK sees it', async () => {
  const engine = makeEngine({ aws_endpoint_url: moto.url, approval: {} });
  // Under the seed policy even reads need approval, so a second engine without one reads back.
  const reader = makeEngine({ aws_endpoint_url: moto.url });
  const plan = { description: 'launch', commands: [runInstances()] };
  await expect(engine.executePlan(plan)).rejects.toMatchObject({ code: 'ApprovalRequired' });
  const request = await engine.createApprovalRequest(plan);
  // A verdict, not AWS's wording of it (a DryRunOperation "error" reads as a failure to a person).
  expect(request.commands[0]!.dry_run_result).toBe('AWS dry run: the request would succeed');
  expect(await taggedInstances(reader)).toEqual([]);

  const id = await engine.executeWithApproval(plan, { type: 'approve' }, { approved_by: 'ops-oncall' });
  const result = await engine.waitPlan(id);
  expect(result.status, result.results[0]!.stderr).toBe('completed');
  const created = (JSON.parse(result.results[0]!.stdout) as { Instances: Array<{ InstanceId: string }> }).Instances.map(
    (i) => i.InstanceId,
  );
  expect(created).toHaveLength(1);
  expect(await taggedInstances(reader)).toEqual(created);
}, 60_000);

test("an approval reads AWS's dry-run answer as a verdict: its reason, not its wording", () => {
  const base = {
    id: 'x',
    command: 'aws ec2 terminate-instances --dry-run',
    risk_level: 'destructive' as const,
    verified: true,
    risk_reasons: [],
    method: 'aws_dry_run' as const,
    argv: [],
    env_names: [],
    working_dir: null,
  };
  const denied =
    '\nAn error occurred (UnauthorizedOperation) when calling the TerminateInstances operation: You are not authorized to perform this operation.\n';
  expect(
    dryRunVerdict({
      ...base,
      would_succeed: false,
      description: 'AWS dry run: the request would fail',
      output: denied,
    }),
  ).toBe(
    'AWS dry run: the request would fail: UnauthorizedOperation: You are not authorized to perform this operation.',
  );
  const allowed =
    'An error occurred (DryRunOperation) when calling the TerminateInstances operation: Request would have succeeded, but DryRun flag is set.';
  expect(
    dryRunVerdict({
      ...base,
      would_succeed: true,
      description: 'AWS dry run: the request would succeed',
      output: allowed,
    }),
  ).toBe('AWS dry run: the request would succeed');
  expect(
    dryRunVerdict({ ...base, would_succeed: null, description: 'AWS dry run gave no verdict', output: 'Throttling\n' }),
  ).toBe('AWS dry run gave no verdict: Throttling');
});

test('a dry run stays one whatever the args say: "DryRun": false in --cli-input-json, --no-dry-run; input it cannot rewrite, and local files, are not run', async () => {
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  const before = await taggedInstances(engine);
  const launch = (args: string[]): ExecutionRequestInput => ({
    command: { type: 'aws_cli', service: 'ec2', operation: 'run-instances', args, region: 'us-east-1' },
    env: env(),
  });
  // moto honours DryRun for RunInstances (not for every action, e.g. CreateVpc).
  const json = JSON.stringify({
    ImageId: 'ami-12345678',
    MinCount: 1,
    MaxCount: 1,
    DryRun: false,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'dryrun-test', Value: tag }] }],
  });
  const flags = ['--image-id', 'ami-12345678', '--count', '1'];
  const tags = ['--tag-specifications', `ResourceType=instance,Tags=[{Key=dryrun-test,Value=${tag}}]`];
  const result = await engine.dryRun({
    commands: [
      launch(['--cli-input-json', json]),
      launch([`--cli-input-j=${json}`, '--no-dry-run']),
      // The last of the two wins in the AWS CLI.
      launch([...flags, ...tags, '--dry-run', '--no-dry-run']),
      {
        command: {
          type: 'sdk',
          service: 'ec2',
          operation: 'RunInstances',
          parameters: JSON.parse(json) as Record<string, unknown>,
          region: 'us-east-1',
        },
        env: env(),
      },
      launch(['--cli-input-yaml', 'ImageId: ami-12345678\nMinCount: 1\nMaxCount: 1\nDryRun: false\n']),
      launch(['--cli-input-json', 'file:///tmp/launch.json']),
      launch(['--cli-input-json', '{not json']),
      // The CLI would read these files of the engine's machine and send them before any approval.
      launch([...flags, '--user-data', 'file:///etc/hostname']),
      launch([...flags, '--user-data=fileb:///etc/hostname']),
    ],
  });
  const [plain, abbreviated, noDryRun, sdk, yaml, file, broken, userData, userDataInline] = result.commands;
  for (const c of [plain, abbreviated, noDryRun, sdk]) {
    expect(c).toMatchObject({ method: 'aws_dry_run', would_succeed: true });
    expect(c!.output).toContain('DryRunOperation');
  }
  for (const c of [yaml, file, broken, userData, userDataInline]) {
    expect(c).toMatchObject({ method: 'description', would_succeed: null, output: null });
    expect(c!.description).toMatch(/^not run: /);
  }
  expect(file!.description).toContain('file:///tmp/launch.json');
  expect(userData!.description).toContain('--user-data is read from file:///etc/hostname on this machine');
  expect(userDataInline!.description).toContain('--user-data is read from fileb:///etc/hostname on this machine');
  expect(await taggedInstances(engine)).toEqual(before);
  await engine.shutdown();
}, 60_000);
