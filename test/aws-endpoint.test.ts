/**
 * One endpoint per run: with no `aws_endpoint_url` configured, AWS_ENDPOINT_URL (from the
 * request's env or the engine's) sends the `aws_cli` steps (Debian's AWS CLI 2.9, which ignores
 * that variable) and the `sdk` steps (which read it) to the same place, and the displayed
 * command names it. Every request carries awsTestEnv: a CLI call that missed the endpoint
 * would go through a closed proxy port and fail, never reaching AWS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { awsRunSettings } from '../src/command/aws.js';
import { resolveInvocation } from '../src/command/invocation.js';
import { resolveConfig } from '../src/config.js';
import { dryRunPlan } from '../src/engine/dry-run.js';
import type { ExecutionRequestInput } from '../src/index.js';
import { parsePlan, parseRequest } from '../src/wire/parse.js';
import { makeEngine, tempDir } from './helpers.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';
import { type RedisServer, startRedis, startWorkerProcessWithEnv } from './support/redis.js';

let moto: Moto;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

/** Buckets as moto holds them (asked directly, endpoint on the command line). */
function motoBuckets(): string[] {
  const r = spawnSync('/usr/bin/aws', ['s3api', 'list-buckets', '--endpoint-url', moto.url, '--output', 'json'], {
    env: { ...process.env, ...awsTestEnv(moto.url) },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return ((JSON.parse(r.stdout) as { Buckets?: Array<{ Name: string }> }).Buckets ?? []).map((b) => b.Name);
}

const parseCommand = (command: unknown) => parseRequest({ command }).command;

type Step = Omit<ExecutionRequestInput, 'env'>;
const cliBucket = (bucket: string): Step => ({
  command: { type: 'aws_cli', service: 's3api', operation: 'create-bucket', args: ['--bucket', bucket] },
});
const sdkBucket = (bucket: string): Step => ({
  command: { type: 'sdk', service: 's3', operation: 'CreateBucket', parameters: { Bucket: bucket } },
});

describe('a plan with an aws_cli and an sdk step, only AWS_ENDPOINT_URL set', () => {
  test('from the request env: both steps create their bucket in moto, and the shown commands name it', async () => {
    const engine = makeEngine({ redact_secrets: true });
    expect(engine.config.aws_endpoint_url).toBeNull();
    const suffix = randomUUID().slice(0, 8);
    const [cli, sdk] = [`cli-${suffix}`, `sdk-${suffix}`];
    const env = { ...awsTestEnv(moto.url), AWS_ENDPOINT_URL: moto.url };
    const planId = await engine.executePlan({
      strategy: { type: 'serial', stop_on_error: false },
      commands: [
        { ...cliBucket(cli), env },
        { ...sdkBucket(sdk), env },
      ],
    });
    const result = await engine.waitPlan(planId);
    for (const c of result.results) expect(c.status, `${c.stdout}\n${c.stderr}`).toBe('completed');
    expect(motoBuckets()).toEqual(expect.arrayContaining([cli, sdk]));
    const ids = new Set(result.results.map((c) => c.id));
    const shown = (await engine.listExecutions())
      .filter((e) => ids.has(e.id))
      .map((e) => e.command)
      .sort();
    expect(shown).toEqual([
      `aws s3api create-bucket --bucket ${cli} --endpoint-url ${moto.url}`,
      `sdk s3:CreateBucket {"Bucket":"${sdk}"} --endpoint-url ${moto.url}`,
    ]);
    await engine.shutdown();
  });

  test("from the engine's env: the same", async () => {
    const before = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = moto.url;
    try {
      const engine = makeEngine();
      const suffix = randomUUID().slice(0, 8);
      const env = awsTestEnv(moto.url);
      const planId = await engine.executePlan({
        commands: [
          { ...cliBucket(`cli-env-${suffix}`), env },
          { ...sdkBucket(`sdk-env-${suffix}`), env },
        ],
      });
      const result = await engine.waitPlan(planId);
      for (const c of result.results) expect(c.status, c.stderr).toBe('completed');
      expect(motoBuckets()).toEqual(expect.arrayContaining([`cli-env-${suffix}`, `sdk-env-${suffix}`]));
      await engine.shutdown();
    } finally {
      if (before === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = before;
    }
  });
});

test('a service-specific variable in the request cannot send the SDK step elsewhere than the configured endpoint', async () => {
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  const suffix = randomUUID().slice(0, 8);
  // A closed port: a step that went there would fail.
  const env = {
    ...awsTestEnv(moto.url),
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  };
  const planId = await engine.executePlan({
    commands: [
      { ...cliBucket(`cli-svc-${suffix}`), env },
      { ...sdkBucket(`sdk-svc-${suffix}`), env },
    ],
  });
  const result = await engine.waitPlan(planId);
  for (const c of result.results) expect(c.status, c.stderr).toBe('completed');
  expect(motoBuckets()).toEqual(expect.arrayContaining([`cli-svc-${suffix}`, `sdk-svc-${suffix}`]));
  await engine.shutdown();
});

test('only AWS_ENDPOINT_URL is read: a service-specific variable splits no run, in the request or the engine', async () => {
  const engine = makeEngine();
  const suffix = randomUUID().slice(0, 8);
  // The service-specific variables name a closed port: a step that went there would fail.
  const env = { ...awsTestEnv(moto.url), AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' };
  const before = process.env.AWS_ENDPOINT_URL_S3;
  process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:9';
  try {
    const planId = await engine.executePlan({
      commands: [
        { ...cliBucket(`cli-only-${suffix}`), env },
        { ...sdkBucket(`sdk-only-${suffix}`), env },
      ],
    });
    const result = await engine.waitPlan(planId);
    for (const c of result.results) expect(c.status, c.stderr).toBe('completed');
    expect(motoBuckets()).toEqual(expect.arrayContaining([`cli-only-${suffix}`, `sdk-only-${suffix}`]));
  } finally {
    if (before === undefined) delete process.env.AWS_ENDPOINT_URL_S3;
    else process.env.AWS_ENDPOINT_URL_S3 = before;
    await engine.shutdown();
  }
  // A queued job carries the submitter's AWS_ENDPOINT_URL only.
  expect(
    awsRunSettings({ aws_endpoint_url: null }, { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'http://b:1' })
      .endpoint_env,
  ).toEqual({ AWS_ENDPOINT_URL: 'http://a:1' });
});

describe("an endpoint_url in the AWS config file's profile", () => {
  test('is read by neither executor: with AWS_ENDPOINT_URL, both steps land in moto', async () => {
    const dir = tempDir('cee-endpoint-profile-');
    const configFile = join(dir, 'config');
    writeFileSync(configFile, '[default]\nendpoint_url=http://127.0.0.1:9\n');
    const engine = makeEngine();
    const suffix = randomUUID().slice(0, 8);
    const env = { ...awsTestEnv(moto.url), AWS_CONFIG_FILE: configFile, AWS_ENDPOINT_URL: moto.url };
    const planId = await engine.executePlan({
      commands: [
        { ...cliBucket(`cli-prof-${suffix}`), env },
        { ...sdkBucket(`sdk-prof-${suffix}`), env },
      ],
    });
    const result = await engine.waitPlan(planId);
    for (const c of result.results) expect(c.status, c.stderr).toBe('completed');
    expect(motoBuckets()).toEqual(expect.arrayContaining([`cli-prof-${suffix}`, `sdk-prof-${suffix}`]));
    await engine.shutdown();
  });

  test('with no endpoint in effect, sends no step there (both executors are told to ignore it)', async () => {
    const options = { awsCliPath: '/usr/bin/aws', workingDir: null, processEnv: {} };
    const sdkCommand = { type: 'sdk' as const, service: 's3', operation: 'ListBuckets', parameters: {} };
    for (const command of [cliBucket('x').command, sdkCommand, { type: 'exec' as const, program: 'aws', args: [] }])
      expect((await resolveInvocation(parseCommand(command), options)).env).toMatchObject({
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
      });
    // The profile names moto; nothing else does. A region no AWS endpoint resolves for keeps the
    // steps from AWS too: the CLI's call dies at the closed proxy, the SDK's at the DNS lookup.
    const dir = tempDir('cee-endpoint-profile-');
    const configFile = join(dir, 'config');
    writeFileSync(configFile, `[default]\nendpoint_url=${moto.url}\n`);
    const engine = makeEngine();
    const suffix = randomUUID().slice(0, 8);
    const env = {
      ...awsTestEnv(moto.url),
      AWS_CONFIG_FILE: configFile,
      AWS_REGION: 'cee-nowhere-1',
      AWS_DEFAULT_REGION: 'cee-nowhere-1',
      AWS_MAX_ATTEMPTS: '1',
    };
    const before = process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL;
    try {
      const planId = await engine.executePlan({
        strategy: { type: 'serial', stop_on_error: false },
        commands: [
          { ...cliBucket(`cli-noep-${suffix}`), env },
          { ...sdkBucket(`sdk-noep-${suffix}`), env },
        ],
      });
      const result = await engine.waitPlan(planId);
      for (const c of result.results) expect(c.status).toBe('failed');
      expect(motoBuckets()).not.toEqual(expect.arrayContaining([`sdk-noep-${suffix}`]));
      expect(motoBuckets()).not.toEqual(expect.arrayContaining([`cli-noep-${suffix}`]));
    } finally {
      if (before !== undefined) process.env.AWS_ENDPOINT_URL = before;
      await engine.shutdown();
    }
  }, 60_000);
});

test('an exec of the AWS CLI goes to the run endpoint like the aws_cli steps; its own --endpoint-url stays', async () => {
  const engine = makeEngine();
  const suffix = randomUUID().slice(0, 8);
  const env = { ...awsTestEnv(moto.url), AWS_ENDPOINT_URL: moto.url };
  const planId = await engine.executePlan({
    commands: [
      {
        command: {
          type: 'exec',
          program: '/usr/bin/aws',
          args: ['s3api', 'create-bucket', '--bucket', `exec-${suffix}`],
        },
        env,
      },
      { ...cliBucket(`cli-exec-${suffix}`), env },
    ],
  });
  const result = await engine.waitPlan(planId);
  for (const c of result.results) expect(c.status, c.stderr).toBe('completed');
  expect(motoBuckets()).toEqual(expect.arrayContaining([`exec-${suffix}`, `cli-exec-${suffix}`]));
  await engine.shutdown();
  const options = { awsCliPath: '/usr/bin/aws', workingDir: null, processEnv: { AWS_ENDPOINT_URL: 'http://proc:1' } };
  const exec = (program: string, args: string[]) => parseCommand({ type: 'exec', program, args });
  expect((await resolveInvocation(exec('aws', ['s3', 'ls']), options)).args).toEqual([
    's3',
    'ls',
    '--endpoint-url',
    'http://proc:1',
  ]);
  expect((await resolveInvocation(exec('aws', ['s3', 'ls', '--endpoint-url=http://own:1']), options)).args).toEqual([
    's3',
    'ls',
    '--endpoint-url=http://own:1',
  ]);
  // Another program is run as written.
  expect((await resolveInvocation(exec('echo', ['s3']), options)).args).toEqual(['s3']);
  expect((await resolveInvocation(exec('aws', ['s3', 'ls']), { ...options, processEnv: {} })).args).toEqual([
    's3',
    'ls',
  ]);
});

test('the endpoint order: configured, then AWS_ENDPOINT_URL of the request env, then of the process env', async () => {
  const command = {
    type: 'aws_cli' as const,
    service: 's3api',
    operation: 'list-buckets',
    args: [],
    profile: null,
    region: null,
  };
  const argsOf = async (options: Parameters<typeof resolveInvocation>[1]) =>
    (await resolveInvocation(command, options)).args.join(' ');
  const base = { awsCliPath: 'aws', workingDir: null, processEnv: { AWS_ENDPOINT_URL: 'http://proc:1' } };
  expect(await argsOf(base)).toBe('s3api list-buckets --endpoint-url http://proc:1');
  expect(await argsOf({ ...base, requestEnv: { AWS_ENDPOINT_URL: 'http://req:1' } })).toBe(
    's3api list-buckets --endpoint-url http://req:1',
  );
  expect(
    await argsOf({ ...base, requestEnv: { AWS_ENDPOINT_URL: 'http://req:1', AWS_ENDPOINT_URL_S3: 'http://req-s3:1' } }),
  ).toBe('s3api list-buckets --endpoint-url http://req:1');
  expect(
    await argsOf({ ...base, awsEndpointUrl: 'http://conf:1', requestEnv: { AWS_ENDPOINT_URL: 'http://req:1' } }),
  ).toBe('s3api list-buckets --endpoint-url http://conf:1');
  expect(await argsOf({ ...base, processEnv: {} })).toBe('s3api list-buckets');
  // The command's own --endpoint-url stays the only one.
  const own = await resolveInvocation({ ...command, args: ['--endpoint-url=http://own:1'] }, base);
  expect(own.args).toEqual(['s3api', 'list-buckets', '--endpoint-url=http://own:1']);
  // Run defaults for profile and region: the command's own, or its env's, win.
  const defaults = { ...base, awsProfile: 'ops', awsRegion: 'eu-west-1' };
  expect(await argsOf(defaults)).toBe(
    's3api list-buckets --profile ops --region eu-west-1 --endpoint-url http://proc:1',
  );
  expect(
    (await resolveInvocation({ ...command, region: 'us-west-2' }, { ...defaults, requestEnv: { AWS_PROFILE: 'mine' } }))
      .args,
  ).toEqual(['s3api', 'list-buckets', '--region', 'us-west-2', '--endpoint-url', 'http://proc:1']);
});

test("a dry run goes only to the engine's endpoint: a request naming the same one is dry-run there, another is not run", async () => {
  const env = { ...awsTestEnv(moto.url), AWS_ENDPOINT_URL: moto.url };
  const plan = parsePlan({
    commands: [
      { command: { type: 'aws_cli', service: 'ec2', operation: 'describe-instances', args: [] }, env },
      { command: { type: 'sdk', service: 'ec2', operation: 'DescribeInstances', parameters: {} }, env },
      { command: { type: 'aws_cli', service: 's3api', operation: 'list-buckets', args: [] }, env },
    ],
  });
  const same = await dryRunPlan(plan, resolveConfig({ aws_endpoint_url: moto.url }));
  const [cli, sdk, s3] = same.commands;
  expect(cli).toMatchObject({ method: 'aws_dry_run', would_succeed: true });
  expect(cli!.argv).toContain(moto.url);
  expect(sdk).toMatchObject({ method: 'aws_dry_run', would_succeed: true });
  expect(s3!.description).toContain(`list-buckets --endpoint-url ${moto.url}`);
  // An engine without an endpoint of its own would send its AWS credentials to the request's.
  const other = await dryRunPlan(plan, resolveConfig({}));
  for (const c of other.commands.slice(0, 2)) {
    expect(c).toMatchObject({ method: 'description', would_succeed: null });
    expect(c.description).toContain(`not run: it names its own endpoint (${moto.url}): not sent before approval`);
  }
});

describe('cloudops-exec run --endpoint-url --profile --region', () => {
  test('every aws step of the run goes to the given endpoint with the given profile and region', async () => {
    const dir = tempDir('cee-endpoint-cli-');
    const suffix = randomUUID().slice(0, 8);
    const planFile = join(dir, 'plan.json');
    writeFileSync(
      planFile,
      JSON.stringify({
        strategy: { type: 'serial', stop_on_error: true },
        commands: [
          {
            command: {
              type: 'aws_cli',
              service: 's3api',
              operation: 'create-bucket',
              args: ['--bucket', `cli-flag-${suffix}`],
              region: 'us-east-1',
            },
          },
          {
            command: {
              type: 'sdk',
              service: 's3',
              operation: 'CreateBucket',
              parameters: { Bucket: `sdk-flag-${suffix}` },
              region: 'us-east-1',
            },
          },
          // No region of its own: --region applies.
          { command: { type: 'aws_cli', service: 's3api', operation: 'list-buckets', args: [] } },
        ],
      }),
    );
    // A profile that exists only in this test's config file; the engine's env has no endpoint.
    const config = join(dir, 'aws-config');
    writeFileSync(
      config,
      '[profile moto-p]\naws_access_key_id = testing\naws_secret_access_key = testing-secret-key\n',
    );
    const {
      AWS_ACCESS_KEY_ID: _a,
      AWS_SECRET_ACCESS_KEY: _s,
      AWS_REGION: _r,
      AWS_DEFAULT_REGION: _d,
      ...rest
    } = awsTestEnv(moto.url);
    const env: NodeJS.ProcessEnv = { ...process.env, ...rest, AWS_CONFIG_FILE: config, CLOUDOPS_LOG_DIR: dir };
    delete env.AWS_ENDPOINT_URL;
    const bin = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const args = ['run', '--json', '--yes', '--endpoint-url', moto.url, '--profile', 'moto-p', '--region', 'eu-west-1'];
    const child = spawn(process.execPath, [bin, ...args, planFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr + stdout).toBe(0);
    const started = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event_type?: string; command?: string })
      .filter((e) => e.event_type === 'started')
      .map((e) => e.command);
    expect(started).toEqual([
      // The command's own region wins over --region.
      `aws s3api create-bucket --bucket cli-flag-${suffix} --profile moto-p --region us-east-1 --endpoint-url ${moto.url}`,
      `sdk s3:CreateBucket {"Bucket":"sdk-flag-${suffix}"} --endpoint-url ${moto.url}`,
      `aws s3api list-buckets --profile moto-p --region eu-west-1 --endpoint-url ${moto.url}`,
    ]);
    expect(motoBuckets()).toEqual(expect.arrayContaining([`cli-flag-${suffix}`, `sdk-flag-${suffix}`]));
  }, 60_000);

  test('an --endpoint-url that is not a URL is bad input (exit 2)', () => {
    const bin = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const r = spawnSync(process.execPath, [bin, 'sh', '--endpoint-url', 'not a url', 'true'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(2);
  });
});

test('an approval request shows where the AWS commands go', () => {
  const engine = makeEngine({ aws_endpoint_url: 'http://127.0.0.1:5000', approval: {} });
  const plan = parsePlan({
    commands: [
      { command: { type: 'aws_cli', service: 's3api', operation: 'list-buckets', args: [] } },
      { command: { type: 'sdk', service: 's3', operation: 'ListBuckets', parameters: {} } },
    ],
  });
  const shown = engine.workflow.createApprovalRequest(plan).commands.map((c) => c.command);
  expect(shown).toEqual([
    'aws s3api list-buckets --endpoint-url http://127.0.0.1:5000',
    'sdk s3:ListBuckets {} --endpoint-url http://127.0.0.1:5000',
  ]);
});

describe('queued to a worker on another machine', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('the worker sends AWS calls where the submitting engine would, never where its own environment says', async () => {
    const queue = `t-${randomUUID().slice(0, 8)}`;
    // The worker's own environment names a closed port: a step that went by it would fail.
    const worker = await startWorkerProcessWithEnv(
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' },
      redis.url,
      queue,
      tempDir('cee-worker-'),
    );
    const before = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = moto.url; // the submitter's environment
    try {
      const engine = makeEngine({ redis: { url: redis.url, queue } });
      const suffix = randomUUID().slice(0, 8);
      const env = awsTestEnv(moto.url);
      const planId = await engine.executePlan({
        commands: [
          { ...cliBucket(`cli-q-${suffix}`), env },
          { ...sdkBucket(`sdk-q-${suffix}`), env },
        ],
      });
      const result = await engine.waitPlan(planId);
      for (const c of result.results) expect(c.status, c.stderr).toBe('completed');
      expect(motoBuckets()).toEqual(expect.arrayContaining([`cli-q-${suffix}`, `sdk-q-${suffix}`]));
      await engine.shutdown();
    } finally {
      if (before === undefined) delete process.env.AWS_ENDPOINT_URL;
      else process.env.AWS_ENDPOINT_URL = before;
      await worker.stop();
    }
  }, 60_000);
});

test('an sdk step takes its region from AWS_DEFAULT_REGION when AWS_REGION is unset, as the CLI does', async () => {
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  const bucket = `sdk-default-region-${randomUUID().slice(0, 8)}`;
  const id = await engine.execute({
    ...sdkBucket(bucket),
    env: { ...awsTestEnv(moto.url), AWS_REGION: '', AWS_DEFAULT_REGION: 'us-east-1' },
  });
  const result = await engine.wait(id);
  expect(result.status, result.stderr).toBe('completed');
  expect(motoBuckets()).toContain(bucket);
  await engine.shutdown();
});
