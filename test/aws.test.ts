/**
 * AWS commands through the engine against a real emulator: moto_server on 127.0.0.1, Debian's
 * AWS CLI v2 (/usr/bin/aws) for `aws_cli` commands and the JS SDK child for `sdk` commands
 * (dist/runner/sdk-child.js: run `npm run build` first, as `npm test` does).
 * Every call goes to moto; nothing here can reach real AWS (see awsTestEnv).
 *
 * With MOTO_URL set the server is shared with other test files, so no assertion assumes an
 * empty account: created instances carry a tag unique to this run and are looked up by it.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { ExecutionEngine, ExecutionRequestInput, ExecutionResult } from '../src/index.js';
import { makeEngine } from './helpers.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';

let moto: Moto;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

/** With our own server, nothing but this file touches it: total counts are meaningful. */
const ownServer = !process.env.MOTO_URL;

const engine = () => makeEngine({ aws_endpoint_url: moto.url });
const env = () => awsTestEnv(moto.url);

type Command = ExecutionRequestInput['command'];

async function run(e: ExecutionEngine, command: Command): Promise<ExecutionResult> {
  return e.wait(await e.execute({ command, env: env() }));
}

const cli = (operation: string, args: string[] = []): Command => ({ type: 'aws_cli', service: 'ec2', operation, args });
const sdk = (operation: string, parameters: Record<string, unknown> = {}, service = 'ec2'): Command => ({
  type: 'sdk',
  service,
  operation,
  parameters,
});

const tagArgs = (tag: string) => ['--tag-specifications', `ResourceType=instance,Tags=[{Key=test,Value=${tag}}]`];

interface Reservations {
  Reservations?: Array<{ Instances?: Array<{ InstanceId: string }> }>;
}
const instanceIds = (stdout: string) =>
  ((JSON.parse(stdout) as Reservations).Reservations ?? []).flatMap((r) =>
    (r.Instances ?? []).map((i) => i.InstanceId),
  );

/** Instances through the CLI, all of them or those tagged test=<tag>. */
async function cliInstances(e: ExecutionEngine, tag?: string): Promise<string[]> {
  const result = await run(e, cli('describe-instances', tag ? ['--filters', `Name=tag:test,Values=${tag}`] : []));
  expect(result.status, result.stderr).toBe('completed');
  return instanceIds(result.stdout);
}

test('aws_cli describe-instances runs Debian /usr/bin/aws (v2) against moto and returns JSON', async () => {
  const e = engine();
  expect(e.config.aws_cli_path).toBe('/usr/bin/aws');
  const version = spawnSync('/usr/bin/aws', ['--version'], { encoding: 'utf8', env: { ...process.env, ...env() } });
  expect(`${version.stdout}${version.stderr}`).toMatch(/^aws-cli\/2\./);

  const result = await run(e, {
    type: 'aws_cli',
    service: 'ec2',
    operation: 'describe-instances',
    args: [],
    region: 'us-east-1',
  });
  expect(result.status, result.stderr).toBe('completed');
  expect(result.exit_code).toBe(0);
  expect(JSON.parse(result.stdout)).toHaveProperty('Reservations');
  expect(await e.readLogs(result.id)).toContain(
    `/usr/bin/aws ec2 describe-instances --region us-east-1 --endpoint-url ${moto.url}`,
  );
});

test('aws_cli run-instances --dry-run fails with DryRunOperation and creates nothing', async () => {
  const e = engine();
  const tag = randomUUID();
  const before = ownServer ? (await cliInstances(e)).length : null;

  const result = await run(
    e,
    cli('run-instances', ['--image-id', 'ami-12345678', '--count', '1', '--dry-run', ...tagArgs(tag)]),
  );
  expect(result.status).toBe('failed');
  expect(result.exit_code).not.toBe(0);
  expect(result.stderr).toContain('DryRunOperation');

  expect(await cliInstances(e, tag)).toEqual([]);
  if (before !== null) expect(await cliInstances(e)).toHaveLength(before);
});

test('aws_cli run-instances creates one tagged instance that describe-instances lists', async () => {
  const e = engine();
  const tag = randomUUID();
  const created = await run(e, cli('run-instances', ['--image-id', 'ami-12345678', '--count', '1', ...tagArgs(tag)]));
  expect(created.status, created.stderr).toBe('completed');
  expect(created.exit_code).toBe(0);
  const launched = (JSON.parse(created.stdout) as { Instances: Array<{ InstanceId: string }> }).Instances.map(
    (i) => i.InstanceId,
  );

  const listed = await cliInstances(e, tag);
  expect(listed).toHaveLength(1);
  expect(listed[0]).toMatch(/^i-[0-9a-f]+$/);
  expect(listed).toEqual(launched);
});

test('sdk DescribeInstances sees the instance aws_cli run-instances created', async () => {
  const e = engine();
  const tag = randomUUID();
  const created = await run(e, cli('run-instances', ['--image-id', 'ami-12345678', '--count', '1', ...tagArgs(tag)]));
  expect(created.status, created.stderr).toBe('completed');
  const launched = (JSON.parse(created.stdout) as { Instances: Array<{ InstanceId: string }> }).Instances.map(
    (i) => i.InstanceId,
  );
  expect(launched).toHaveLength(1);

  const described = await run(e, sdk('DescribeInstances', { Filters: [{ Name: 'tag:test', Values: [tag] }] }));
  expect(described.status, described.stderr).toBe('completed');
  expect(described.exit_code).toBe(0);
  expect(instanceIds(described.stdout)).toEqual(launched);
});

test('sdk RunInstances with DryRun fails with "DryRunOperation: ..." and creates nothing', async () => {
  const e = engine();
  const tag = randomUUID();
  const result = await run(
    e,
    sdk('RunInstances', {
      ImageId: 'ami-12345678',
      MinCount: 1,
      MaxCount: 1,
      DryRun: true,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'test', Value: tag }] }],
    }),
  );
  expect(result.status).toBe('failed');
  expect(result.exit_code).toBe(1);
  expect(result.stderr).toMatch(/^DryRunOperation: /);
  expect(result.stdout).toBe('');

  const described = await run(e, sdk('DescribeInstances', { Filters: [{ Name: 'tag:test', Values: [tag] }] }));
  expect(described.status, described.stderr).toBe('completed');
  expect(instanceIds(described.stdout)).toEqual([]);
});

test('sdk call to a client package that is not installed: exit 127, ExecutorNotAvailable', async () => {
  expect(existsSync(join(process.cwd(), 'node_modules/@aws-sdk/client-braket'))).toBe(false);
  const result = await run(engine(), sdk('SearchDevices', {}, 'braket'));
  expect(result.status).toBe('failed');
  expect(result.exit_code).toBe(127);
  expect(result.stderr).toContain('ExecutorNotAvailable');
  expect(result.stderr).toContain('@aws-sdk/client-braket');
});

test('sdk call that AWS rejects fails with "<ErrorName>: <message>" on stderr', async () => {
  const result = await run(engine(), sdk('TerminateInstances', { InstanceIds: ['i-0123456789abcdef0'] }));
  expect(result.status).toBe('failed');
  expect(result.exit_code).toBe(1);
  expect(result.stderr).toMatch(/^InvalidInstanceID\.NotFound: .*i-0123456789abcdef0/);
});

test('the log of an aws_cli execution has the argv line and never the secret access key', async () => {
  const e = engine();
  const secret = env().AWS_SECRET_ACCESS_KEY!;
  expect(secret).toMatch(/^moto-secret-[0-9a-f-]{36}$/);
  const result = await run(e, cli('describe-instances'));
  expect(result.status, result.stderr).toBe('completed');
  const log = await e.readLogs(result.id);
  expect(log).toMatch(
    new RegExp(
      `\\[engine\\] spawned pid \\d+: /usr/bin/aws ec2 describe-instances --endpoint-url ${moto.url.replaceAll('.', '\\.')}\\n`,
    ),
  );
  expect(log).not.toContain(secret);
});

test('a secret the AWS CLI prints (configure export-credentials) is redacted in the result and the log', async () => {
  const e = engine();
  const secret = env().AWS_SECRET_ACCESS_KEY!;
  const result = await run(e, { type: 'aws_cli', service: 'configure', operation: 'export-credentials', args: [] });
  expect(result.status, result.stderr).toBe('completed');
  expect(result.stdout).toContain('"SecretAccessKey"');
  expect(result.stdout).not.toContain(secret);
  const log = await e.readLogs(result.id);
  expect(log).toContain('SecretAccessKey');
  expect(log).not.toContain(secret);
});
