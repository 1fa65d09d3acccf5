/**
 * The blast radius of a dry run against a real AWS emulator (moto on 127.0.0.1, Debian's aws
 * CLI v2): resources are created first (one boto3 script), then a dry run looks them up with
 * read-only calls and says what would change and what a careful colleague would warn about.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { awsCallOf } from '../src/engine/blast-radius/args.js';
import { resolveStep } from '../src/engine/blast-radius/resolve.js';
import type { OperationEntry } from '../src/engine/blast-radius/table.js';
import type { DryRunCommandResult } from '../src/engine/dry-run.js';
import type { ExecutionRequestInput } from '../src/index.js';
import { parseRequest } from '../src/wire/parse.js';
import { makeEngine } from './helpers.js';
import { botoScript, READ_POLICY, TRUST_POLICY } from './support/blast-fixtures.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';

let moto: Moto;
const run = randomUUID().slice(0, 8);
const env = () => awsTestEnv(moto.url);

/** What the set-up made (ids moto picked). */
let made: { web1: string; web2: string; cap: string; refuse: string; group: string };
/** A local directory with f00.txt and f01.txt (an `s3 sync` source). */
let local: string;

const trust = TRUST_POLICY;
const doc = READ_POLICY;
const prefixObjects: Record<string, string> = { 'keep/x.txt': 'x' };
for (let i = 0; i < 12; i++) prefixObjects[`tmp/f${String(i).padStart(2, '0')}.txt`] = 'data';

const py = (script: string, data: unknown = null): any => botoScript(moto, script, data);

/** Every resource the tests look up, made in one boto3 process (the set-up, not what is tested). */
const SETUP = `
r = arg["run"]
ec2 = c("ec2")
def launch(tags, **more):
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                             TagSpecifications=spec, **more)["Instances"][0]["InstanceId"]
group = ec2.create_security_group(GroupName="br-sg-" + r, Description="test")["GroupId"]
launch({"Name": "in-sg-" + r}, SecurityGroupIds=[group])
out = {
    "web1": launch({"Name": "web-1-" + r, "env": "prod", "owner": "ana"}),
    "web2": launch({"Name": "web-2-" + r, "Environment": "Production", "owner": "bo"}),
    "cap": launch({"Name": "cap-" + r}),
    "refuse": launch({"Name": "refuse-" + r}),
    "group": group,
}
s3 = c("s3")
for name, spec in arg["buckets"].items():
    s3.create_bucket(Bucket=name)
    if spec.get("versioned"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if spec.get("tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in spec["tags"].items()]})
    for key, body in spec["objects"].items():
        s3.put_object(Bucket=name, Key=key, Body=body.encode())
iam = c("iam")
iam.create_role(RoleName="br-role-" + r, AssumeRolePolicyDocument=arg["trust"], Tags=[{"Key": "stage", "Value": "PRD"}])
for name in ["read-a", "read-b"]:
    arn = iam.create_policy(PolicyName=name + "-" + r, PolicyDocument=arg["doc"])["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="br-role-" + r, PolicyArn=arn)
c("rds").create_db_instance(DBInstanceIdentifier="br-db-" + r, Engine="postgres", DBInstanceClass="db.t3.micro",
    AllocatedStorage=20, MasterUsername="admin1", MasterUserPassword="passw0rd-x1", DeletionProtection=True)
`;

beforeAll(async () => {
  moto = await startMoto();
  made = py(SETUP, {
    run,
    trust,
    doc,
    buckets: {
      [`br-plain-${run}`]: { objects: { 'a.txt': 'hello', 'logs/b.txt': 'x'.repeat(1000), 'logs/c.txt': '' } },
      [`br-versioned-${run}`]: { objects: { 'k.txt': 'abc' }, versioned: true },
      [`br-prefix-${run}`]: { objects: prefixObjects },
      [`br-cap-${run}`]: { objects: {} },
      [`br-prod-${run}`]: { objects: { 'tmp/a.txt': 'a', 'tmp/b.txt': 'bb' }, tags: { Env: 'PROD', team: 'x' } },
    },
  });
  local = mkdtempSync(join(tmpdir(), 'cee-sync-'));
  mkdirSync(join(local, 'sub'));
  writeFileSync(join(local, 'f00.txt'), 'data');
  writeFileSync(join(local, 'f01.txt'), 'data');
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

/** Instance states, straight from moto. */
const states = (ids: string[]): string[] =>
  py(
    'out = [i["State"]["Name"] for r in c("ec2").describe_instances(InstanceIds=arg)["Reservations"] for i in r["Instances"]]',
    ids,
  );

/** A local HTTP endpoint: every request is counted and answered with `answer` (status, XML body). */
async function endpoint(answer: { status: number; body: string } | null) {
  const requests: string[] = [];
  const server = createHttpServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (answer === null) return; // never answers
    res.writeHead(answer.status, { 'content-type': 'text/xml' });
    res.end(answer.body);
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cli = (service: string, operation: string, args: string[]): ExecutionRequestInput => ({
  command: { type: 'aws_cli', service, operation, args },
  env: env(),
});

async function dryRun(...commands: ExecutionRequestInput[]): Promise<DryRunCommandResult[]> {
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  return (await engine.dryRun({ commands })).commands;
}

const codes = (c: DryRunCommandResult) => c.warnings.map((w) => w.code);

test('terminating two tagged instances lists both with their Name and tags, and warns they are production', async () => {
  const { web1, web2 } = made;
  const [c] = await dryRun(cli('ec2', 'terminate-instances', ['--instance-ids', web1, web2]));
  expect(c!.resolution).toBe('resolved');
  expect(c!.resolved_at).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect(c!.changes).toHaveLength(2);
  expect(c!.changes[0]).toMatchObject({
    action: 'terminate',
    service: 'ec2',
    resource_type: 'instance',
    resource_id: web1,
    exists: true,
    details: { Name: `web-1-${run}`, state: 'running', instance_type: 't3.micro' },
  });
  expect(c!.changes[0]!.details.tags).toEqual(expect.arrayContaining(['env=prod', 'owner=ana']));
  expect(c!.changes[0]!.details.launch_time).toBeTruthy();
  expect(c!.changes[0]!.summary).toBe(`${web1} (web-1-${run}) running t3.micro env=prod, owner=ana`);
  expect(c!.changes[1]).toMatchObject({ resource_id: web2, details: { Name: `web-2-${run}` } });
  const prod = c!.warnings.filter((w) => w.code === 'production_resource');
  expect(prod.map((w) => w.resource_id)).toEqual([web1, web2]);
  expect(prod[1]!.message).toContain('Environment=Production');
  // The dry run changed nothing.
  expect(states([web1, web2])).toEqual(['running', 'running']);

  // The SDK form of the same call is read the same way; the production tags are configurable.
  const engine = makeEngine({
    aws_endpoint_url: moto.url,
    blast_radius: { production_tags: { keys: ['owner'], values: ['bo'] } },
  });
  const sdk = await engine.dryRun({
    commands: [
      {
        command: { type: 'sdk', service: 'ec2', operation: 'StopInstances', parameters: { InstanceIds: [web1, web2] } },
        env: env(),
      },
    ],
  });
  expect(sdk.commands[0]!.changes.map((ch) => [ch.action, ch.resource_id])).toEqual([
    ['stop', web1],
    ['stop', web2],
  ]);
  expect(sdk.commands[0]!.warnings.filter((w) => w.code === 'production_resource').map((w) => w.resource_id)).toEqual([
    web2,
  ]);
}, 60_000);

test('a missing instance, an id read as an option or a file, and a step output are each reported', async () => {
  const missing = 'i-0123456789abcdef0';
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  const { commands } = await engine.dryRun({
    commands: [
      cli('ec2', 'terminate-instances', ['--instance-ids', missing]),
      {
        // `exec aws ...` is read like an aws_cli command.
        command: {
          type: 'exec',
          program: 'aws',
          args: ['--region', 'us-east-1', 'ec2', 'terminate-instances', '--instance-ids', missing],
        },
        env: env(),
      },
      {
        command: {
          type: 'sdk',
          service: 'iam',
          operation: 'DeleteRole',
          parameters: { RoleName: '--endpoint-url=http://127.0.0.1:9' },
        },
        env: env(),
      },
      cli('s3api', 'delete-object', ['--bucket', 'b', '--key', 'file:///etc/hostname']),
      // The source of a sync goes in a look-up too: it is checked the same way.
      cli('s3', 'sync', [`s3://br-prefix-${run}/file:///etc/hostname`, `s3://br-prefix-${run}/tmp/`, '--delete']),
      {
        name: 'launch',
        command: { type: 'aws_cli', service: 'ec2', operation: 'run-instances', args: ['--image-id', 'ami-12345678'] },
        env: env(),
        outputs: { id: { json: 'Instances[0].InstanceId' } },
      },
      cli('ec2', 'terminate-instances', ['--instance-ids', '${{ steps.launch.outputs.id }}']),
    ],
  });
  const [c, exec, option, file, syncSource, launched, fromOutput] = commands;
  for (const result of [c!, exec!]) {
    expect(result.resolution).toBe('resolved');
    expect(result.changes).toEqual([expect.objectContaining({ resource_id: missing, exists: false })]);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'resource_not_found', resource_id: missing })]);
  }
  expect(option!.resolution).toBe('unresolved');
  expect(option!.resolution_note).toContain('reads as an option');
  expect(option!.resolved_at).toBeNull();
  expect(file!.resolution).toBe('unresolved');
  expect(file!.resolution_note).toContain('read from a file or URL');
  expect(syncSource!.resolution).toBe('unresolved');
  expect(syncSource!.resolution_note).toContain('file:///etc/hostname would be read from a file or URL');
  expect(fromOutput!.resolution).toBe('unresolved');
  expect(fromOutput!.resolution_note).toContain('step launch');
  expect(fromOutput!.warnings).toEqual([expect.objectContaining({ code: 'unresolved' })]);
  expect(fromOutput!.warnings[0]!.message).toContain('known only once it ran');
  // A read-only or non-AWS command has nothing to look up.
  expect(launched!.resolution).toBe('not_applicable');
}, 60_000);

test('deleting a bucket with objects reports how many and their total size; a versioned one is warned about', async () => {
  const plain = `br-plain-${run}`;
  const versioned = `br-versioned-${run}`;
  const [p, v, rb] = await dryRun(
    cli('s3api', 'delete-bucket', ['--bucket', plain]),
    cli('s3api', 'delete-bucket', ['--bucket', versioned]),
    cli('s3', 'rb', [`s3://${plain}`, '--force']),
  );
  expect(p!.resolution).toBe('resolved');
  expect(p!.changes).toEqual([
    expect.objectContaining({
      action: 'delete',
      service: 's3',
      resource_type: 'bucket',
      resource_id: plain,
      exists: true,
      details: expect.objectContaining({ object_count: 3, total_size_bytes: 1005, versioning: 'Disabled' }),
    }),
  ]);
  expect(p!.changes[0]!.summary).toBe(`${plain} holds 3 objects (1005 B), versioning Disabled`);
  expect(codes(p!)).not.toContain('versioned_bucket');
  expect(v!.changes[0]!.details).toMatchObject({ object_count: 1, total_size_bytes: 3, versioning: 'Enabled' });
  expect(v!.warnings.find((w) => w.code === 'versioned_bucket')!.message).toBe(
    `bucket ${versioned} has versioning Enabled: every object version goes with it`,
  );
  expect(rb!.changes[0]).toMatchObject({ resource_id: plain, details: { object_count: 3 } });
}, 60_000);

test('s3 rm --recursive and s3 sync --delete say how many objects would go, with a few names', async () => {
  const bucket = `br-prefix-${run}`;
  const [rm, sync, plainSync] = await dryRun(
    cli('s3', 'rm', [`s3://${bucket}/tmp/`, '--recursive']),
    { ...cli('s3', 'sync', ['.', `s3://${bucket}/tmp/`, '--delete']), working_dir: local },
    cli('s3', 'sync', ['.', `s3://${bucket}/tmp/`]),
  );
  expect(rm!.changes[0]).toMatchObject({ resource_type: 'objects', resource_id: `s3://${bucket}/tmp/` });
  expect(rm!.changes[0]!.details).toMatchObject({ object_count: 12, total_size_bytes: 48 });
  expect(rm!.changes[0]!.details.sample_keys).toEqual([
    'tmp/f00.txt',
    'tmp/f01.txt',
    'tmp/f02.txt',
    'tmp/f03.txt',
    'tmp/f04.txt',
  ]);
  expect(codes(rm!)).toContain('many_resources');
  // The engine's own files are not read before approval (the local directory has f00 and f01):
  // all twelve under the destination may go, and it says which depends on the local files.
  expect(sync!.resolution).toBe('resolved');
  expect(sync!.changes[0]!.details).toMatchObject({ object_count: 12, total_size_bytes: 48, exact: false });
  expect(sync!.changes[0]!.details.note).toContain('depends on the local files of . when it runs');
  expect(sync!.changes[0]!.summary).toContain('up to 12 objects (48 B) may go (e.g. tmp/f00.txt');
  // Without --delete, sync removes nothing.
  expect(plainSync!.resolution).toBe('not_applicable');
}, 60_000);

test('deleting objects in a bucket tagged production is warned about', async () => {
  const bucket = `br-prod-${run}`;
  const results = await dryRun(
    cli('s3', 'rm', [`s3://${bucket}/tmp/a.txt`]),
    cli('s3api', 'delete-objects', ['--bucket', bucket, '--delete', 'Objects=[{Key=tmp/a.txt},{Key=tmp/b.txt}]']),
    { ...cli('s3', 'sync', ['.', `s3://${bucket}/tmp/`, '--delete']), working_dir: local },
  );
  const prod = results.map((r) => r.warnings.filter((w) => w.code === 'production_resource').map((w) => w.message));
  expect(prod).toEqual([
    [`object s3://${bucket}/tmp/a.txt is in a bucket tagged Env=PROD`],
    [
      `object s3://${bucket}/tmp/a.txt is in a bucket tagged Env=PROD`,
      `object s3://${bucket}/tmp/b.txt is in a bucket tagged Env=PROD`,
    ],
    [`the objects under s3://${bucket}/tmp/ are in a bucket tagged Env=PROD`],
  ]);
  expect(results.map((r) => r.resolution)).toEqual(['resolved', 'resolved', 'resolved']);
}, 60_000);

test('an IAM role, an RDS instance and a security group: policies, final snapshot, protection, use', async () => {
  const role = `br-role-${run}`;
  const db = `br-db-${run}`;
  const [c, skip, kept, sg] = await dryRun(
    cli('iam', 'delete-role', ['--role-name', role]),
    cli('rds', 'delete-db-instance', ['--db-instance-identifier', db, '--skip-final-snapshot']),
    cli('rds', 'delete-db-instance', ['--db-instance-identifier', db, '--final-db-snapshot-identifier', 'last']),
    cli('ec2', 'delete-security-group', ['--group-id', made.group]),
  );
  expect(c!.resolution).toBe('resolved');
  expect(c!.changes[0]).toMatchObject({ resource_type: 'role', resource_id: role, exists: true });
  expect(c!.changes[0]!.details.attached_policies).toEqual([`read-a-${run}`, `read-b-${run}`]);
  expect(c!.changes[0]!.summary).toContain(`read-a-${run}, read-b-${run}`);
  expect(codes(c!)).toContain('production_resource');

  expect(skip!.changes[0]!.details).toMatchObject({
    engine: 'postgres',
    allocated_storage_gib: 20,
    final_snapshot: false,
    deletion_protection: true,
  });
  expect(codes(skip!)).toEqual(expect.arrayContaining(['no_final_snapshot', 'deletion_protection']));
  expect(kept!.changes[0]!.details).toMatchObject({ final_snapshot: true, final_snapshot_identifier: 'last' });
  expect(codes(kept!)).not.toContain('no_final_snapshot');

  expect(sg!.changes[0]).toMatchObject({ resource_type: 'security-group', resource_id: made.group, exists: true });
  expect(codes(sg!)).toContain('in_use');
}, 60_000);

test('a command naming its own endpoint is not looked up: the engine credentials go nowhere it picked', async () => {
  const trap = await endpoint({ status: 200, body: '' });
  try {
    const engine = makeEngine({ aws_endpoint_url: moto.url });
    const { commands } = await engine.dryRun({
      commands: [
        cli('iam', 'delete-user', ['--user-name', 'someone', '--endpoint-url', trap.url]),
        // An abbreviation the CLI accepts is the same option.
        cli('iam', 'delete-user', ['--user-name', 'someone', '--endpoint', trap.url]),
        {
          command: { type: 'exec', program: 'aws', args: ['--endpoint-url', trap.url, 's3', 'rb', 's3://b'] },
          env: env(),
        },
        // Naming the engine's own endpoint is fine.
        cli('iam', 'delete-role', ['--role-name', `br-role-${run}`, '--endpoint-url', moto.url]),
        // EC2's own dry run (DryRun=true) is not sent there either.
        cli('ec2', 'terminate-instances', ['--instance-ids', 'i-0123456789abcdef0', '--endpoint-url', trap.url]),
      ],
    });
    // Without a configured endpoint, an AWS_ENDPOINT_URL in the request's env would send the command there.
    const bare = makeEngine({ aws_endpoint_url: null });
    const fromEnv = await bare.dryRun({
      commands: [
        { ...cli('iam', 'delete-user', ['--user-name', 'someone']), env: { ...env(), AWS_ENDPOINT_URL: trap.url } },
      ],
    });
    for (const c of [...commands.slice(0, 3), fromEnv.commands[0]!]) {
      expect(c.resolution).toBe('unresolved');
      expect(c.resolution_note).toBe(`it names its own endpoint (${trap.url}): not looked up before approval`);
    }
    expect(commands[3]!.resolution).toBe('resolved');
    expect(commands[4]).toMatchObject({ method: 'description', would_succeed: null, resolution: 'unresolved' });
    expect(commands[4]!.description).toContain(
      `not run: it names its own endpoint (${trap.url}): not sent before approval`,
    );
    expect(trap.requests).toEqual([]);
    expect(trap.connections()).toBe(0);
  } finally {
    await trap.close();
  }
}, 60_000);

test('an authentication failure is "no usable AWS credentials", never "does not exist"', async () => {
  const body = (code: string) =>
    `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>1</RequestId></ErrorResponse>`;
  const denied = await endpoint({ status: 403, body: body('InvalidClientTokenId') });
  try {
    const engine = makeEngine({ aws_endpoint_url: denied.url });
    const { commands } = await engine.dryRun({
      commands: [
        cli('iam', 'delete-access-key', ['--access-key-id', 'AKIAIOSFODNN7EXAMPLE', '--user-name', 'u']),
        cli('iam', 'delete-user', ['--user-name', 'someone']),
      ],
    });
    for (const c of commands) {
      expect(c.resolution).toBe('unresolved');
      expect(c.resolution_note).toBe('no usable AWS credentials');
      expect(codes(c)).not.toContain('resource_not_found');
    }
  } finally {
    await denied.close();
  }
}, 60_000);

test('no credentials, a call cap and a command in another region or account are each reported', async () => {
  const web = made.cap;
  const bucket = `br-cap-${run}`;
  const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...noKeys } = env();
  const engine = makeEngine({ aws_endpoint_url: moto.url, blast_radius: { max_calls_per_command: 1 } });
  const result = await engine.dryRun({
    commands: [
      {
        command: { type: 'aws_cli', service: 'ec2', operation: 'stop-instances', args: ['--instance-ids', web] },
        env: noKeys,
      },
      cli('s3api', 'delete-bucket', ['--bucket', bucket]),
      cli('ec2', 'reboot-instances', ['--instance-ids', web]),
      { ...cli('ec2', 'reboot-instances', ['--instance-ids', web, '--region', 'eu-west-1']) },
      {
        command: {
          type: 'aws_cli',
          service: 'ec2',
          operation: 'reboot-instances',
          args: ['--instance-ids', web],
          profile: 'audit',
        },
        env: env(),
      },
    ],
  });
  const [noCreds, capped, usual, elsewhere, otherAccount] = result.commands;
  expect(noCreds!.resolution).toBe('unresolved');
  expect(noCreds!.resolution_note).toContain('no usable AWS credentials');
  expect(capped!.resolution).toBe('unresolved');
  expect(capped!.resolution_note).toContain('cap of 1 look-up calls');
  expect(usual!.resolution).toBe('resolved');
  expect(codes(usual!)).not.toContain('other_region');
  expect(elsewhere!.warnings).toContainEqual(expect.objectContaining({ code: 'other_region' }));
  expect(elsewhere!.warnings.find((w) => w.code === 'other_region')!.message).toContain('eu-west-1');
  expect(codes(elsewhere!)).not.toContain('other_account');
  expect(otherAccount!.warnings).toContainEqual(expect.objectContaining({ code: 'other_account' }));
  expect(otherAccount!.warnings.find((w) => w.code === 'other_account')!.message).toContain('profile audit');
}, 60_000);

test('a call that times out ends its command look-ups; the plan has a deadline too', async () => {
  // An endpoint that accepts the connection and never answers.
  const silent = await endpoint(null);
  try {
    const keys = 'Objects=[{Key=a},{Key=b},{Key=c}]';
    const one = makeEngine({ aws_endpoint_url: silent.url, blast_radius: { call_timeout_ms: 1_000 } });
    const timed = await one.dryRun({ commands: [cli('s3api', 'delete-objects', ['--bucket', 'b', '--delete', keys])] });
    const c = timed.commands[0]!;
    expect(c.resolution).toBe('unresolved');
    expect(c.resolution_note).toContain('timed out after 1000 ms, so no more look-ups were made for this command');
    expect(c.changes.map((ch) => ch.exists)).toEqual([null, null, null]);
    // Three objects, three calls each: one call was made, then none.
    expect(silent.connections()).toBe(1);

    // A command's own deadline, shorter than a call's timeout, cuts its first call.
    const short = makeEngine({
      aws_endpoint_url: silent.url,
      blast_radius: { call_timeout_ms: 5_000, command_deadline_ms: 500 },
    });
    const cut = await short.dryRun({ commands: [cli('iam', 'delete-user', ['--user-name', 'u0'])] });
    expect(cut.commands[0]!.resolution_note).toBe('the look-ups of this command ran past their 500 ms limit');

    // Five commands, four at a time, a plan deadline shorter than two call timeouts: the fifth
    // starts late and is cut by the plan's deadline.
    const plan = makeEngine({
      aws_endpoint_url: silent.url,
      blast_radius: { call_timeout_ms: 1_000, plan_deadline_ms: 1_500 },
    });
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'].map((u) => cli('iam', 'delete-user', ['--user-name', u]));
    const { commands } = await plan.dryRun({ commands: users });
    expect(commands.map((x) => x.resolution)).toEqual(Array(5).fill('unresolved'));
    expect(commands[4]!.resolution_note).toBe('the look-ups of the plan ran past their 1500 ms limit');
  } finally {
    await silent.close();
  }
}, 60_000);

test('a look-up that is not read-only is refused before it runs', async () => {
  const web = made.refuse;
  // A table entry gone wrong: its "describe" call would terminate the instance.
  const rogue: OperationEntry = {
    service: 'ec2',
    operations: ['stop-instances'],
    action: 'stop',
    resource_type: 'instance',
    targets: (args) => args.values('--instance-ids', 'InstanceIds'),
    lookup: {
      kind: 'each',
      calls: { oops: (id) => ['ec2', 'terminate-instances', '--instance-ids', id] },
      notFound: /NotFound/,
      found: () => ({ details: {}, summary: '' }),
    },
  };
  const config = resolveConfig({ aws_endpoint_url: moto.url });
  const request = parseRequest(cli('ec2', 'stop-instances', ['--instance-ids', web]));
  const call = awsCallOf(request.command, config.aws_cli_path, null);
  const radius = await resolveStep({ request, needs: [], carried: false }, call, config, [rogue]);
  expect(radius.resolution).toBe('unresolved');
  expect(radius.resolution_note).toContain('refused: it is not read-only');
  expect(radius.resolved_at).toBeNull();
  expect(states([web])).toEqual(['running']);
}, 60_000);
