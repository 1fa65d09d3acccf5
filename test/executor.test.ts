/** ExecutorType: which executor runs an AWS command, and how a call is carried over to the other one. */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { cliOperationName, forExecutor, sdkOperationName } from '../src/command/aws.js';
import { makeEngine, tempDir } from './helpers.js';

test('operation names convert both ways', () => {
  expect(cliOperationName('DescribeInstances')).toBe('describe-instances');
  expect(cliOperationName('ListObjectsV2')).toBe('list-objects-v2');
  expect(cliOperationName('GetCallerIdentity')).toBe('get-caller-identity');
  expect(sdkOperationName('describe-instances')).toBe('DescribeInstances');
  expect(sdkOperationName('run-instances')).toBe('RunInstances');
});

test('cli: an sdk call becomes the same CLI call with --cli-input-json', () => {
  const sdk = {
    type: 'sdk' as const,
    service: 'ec2',
    operation: 'DescribeInstances',
    parameters: { InstanceIds: ['i-1'] },
    profile: 'prod',
    region: 'eu-west-1',
  };
  expect(forExecutor(sdk, 'cli')).toEqual({
    type: 'aws_cli',
    service: 'ec2',
    operation: 'describe-instances',
    args: ['--cli-input-json', '{"InstanceIds":["i-1"]}'],
    profile: 'prod',
    region: 'eu-west-1',
  });
  expect(forExecutor(sdk, 'auto')).toBe(sdk);
});

test('sdk: a CLI call with no args or only --cli-input-json becomes an SDK call; others are refused', () => {
  const cli = {
    type: 'aws_cli' as const,
    service: 'ec2',
    operation: 'describe-instances',
    args: ['--cli-input-json', '{"DryRun":true}'],
    profile: null,
    region: 'us-east-1',
  };
  expect(forExecutor(cli, 'sdk')).toEqual({
    type: 'sdk',
    service: 'ec2',
    operation: 'DescribeInstances',
    parameters: { DryRun: true },
    profile: null,
    region: 'us-east-1',
  });
  expect(() => forExecutor({ ...cli, args: ['--instance-ids', 'i-1'] }, 'sdk')).toThrow(
    /only without args or with just --cli-input-json/,
  );
});

test('the engine refuses at submission what its executor cannot run', async () => {
  const engine = makeEngine({ default_executor: 'sdk' });
  await expect(
    engine.execute({ command: { type: 'aws_cli', service: 's3', operation: 'ls', args: ['s3://bucket'] } }),
  ).rejects.toMatchObject({
    kind: 'InvalidCommand',
    field: 'command.args',
  });
});

test('executor cli runs an sdk command through the configured aws binary', async () => {
  const dir = tempDir();
  const fakeAws = join(dir, 'aws');
  writeFileSync(fakeAws, '#!/bin/sh\nprintf "<%s>" "$@"\n'); // our stand-in: prints its argv
  chmodSync(fakeAws, 0o755);
  const engine = makeEngine({ default_executor: 'cli', aws_cli_path: fakeAws });
  const id = await engine.execute({
    command: { type: 'sdk', service: 'sts', operation: 'GetCallerIdentity', parameters: {}, region: 'us-east-1' },
  });
  expect((await engine.wait(id)).stdout).toBe('<sts><get-caller-identity><--region><us-east-1>');
});
