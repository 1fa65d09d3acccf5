/**
 * Looking up a blast radius never changes anything: for every operation in the tables, moto's
 * state (everything those operations touch, described and listed) is the same before and after
 * a dry run of them all; and every look-up call the tables can make is one the risk classifier
 * rates read-only (resolve.ts refuses any other before it runs).
 */
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { awsCallOf } from '../src/engine/blast-radius/args.js';
import type { OperationArgs } from '../src/engine/blast-radius/table.js';
import { OPERATION_TABLES } from '../src/engine/blast-radius/tables.js';
import type { ExecutionRequestInput } from '../src/index.js';
import { assessAwsArgv } from '../src/policy/aws-risk.js';
import { makeEngine } from './helpers.js';
import { botoScript, READ_POLICY, TRUST_POLICY } from './support/blast-fixtures.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';

let moto: Moto;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

const run = randomUUID().slice(0, 8);
const env = () => awsTestEnv(moto.url);

const py = (script: string, data: unknown = null): any => botoScript(moto, script, data);

/** One resource of each kind the tables cover. */
const SETUP = `
r = arg["run"]
ec2, s3, iam, rds = c("ec2"), c("s3"), c("iam"), c("rds")
instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
    TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": "prod"}]}])["Instances"][0]["InstanceId"]
volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
group = ec2.create_security_group(GroupName="ro-" + r, Description="ro")["GroupId"]
ec2.authorize_security_group_ingress(GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp="10.0.0.0/8")
s3.create_bucket(Bucket=arg["bucket"])
s3.put_bucket_versioning(Bucket=arg["bucket"], VersioningConfiguration={"Status": "Enabled"})
for key in ["p/a.txt", "p/b.txt"]:
    s3.put_object(Bucket=arg["bucket"], Key=key, Body=b"x")
iam.create_user(UserName=arg["user"])
key = iam.create_access_key(UserName=arg["user"])["AccessKey"]["AccessKeyId"]
iam.create_role(RoleName=arg["role"], AssumeRolePolicyDocument=arg["trust"])
policy = iam.create_policy(PolicyName="ro-" + r, PolicyDocument=arg["doc"])["Policy"]["Arn"]
iam.attach_role_policy(RoleName=arg["role"], PolicyArn=policy)
rds.create_db_instance(DBInstanceIdentifier=arg["db"], Engine="postgres", DBInstanceClass="db.t3.micro",
    AllocatedStorage=20, MasterUsername="admin1", MasterUserPassword="passw0rd-x1")
rds.create_db_cluster(DBClusterIdentifier=arg["cluster"], Engine="aurora-postgresql",
    MasterUsername="admin1", MasterUserPassword="passw0rd-x1")
c("cloudformation").create_stack(StackName=arg["stack"], TemplateBody=arg["template"])
out = {"instance": instance, "volume": volume, "snapshot": snapshot, "group": group, "key": key, "policy": policy}
`;

/**
 * Everything the supported operations could change, as moto reports it (moving clock fields,
 * such as an RDS instance's latest restorable time, left out: they are not state).
 */
const SNAPSHOT = `
ec2, s3, iam, rds, cfn = c("ec2"), c("s3"), c("iam"), c("rds"), c("cloudformation")
def strip(d):
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if k not in ("ResponseMetadata", "LatestRestorableTime")}
    if isinstance(d, list):
        return [strip(v) for v in d]
    return d
out = {
    "instances": ec2.describe_instances(),
    "volumes": ec2.describe_volumes(),
    "snapshots": ec2.describe_snapshots(OwnerIds=["self"]),
    "groups": ec2.describe_security_groups(),
    "interfaces": ec2.describe_network_interfaces(),
    "buckets": s3.list_buckets(),
    "users": iam.list_users(),
    "roles": iam.list_roles(),
    "policies": iam.list_policies(Scope="Local"),
    "databases": rds.describe_db_instances(),
    "clusters": rds.describe_db_clusters(),
    "stacks": cfn.describe_stacks(),
}
for b in arg["buckets"]:
    out["versions " + b] = s3.list_object_versions(Bucket=b)
    out["versioning " + b] = s3.get_bucket_versioning(Bucket=b)
for u in arg["users"]:
    out["keys " + u] = iam.list_access_keys(UserName=u)
for ro in arg["roles"]:
    out["attached " + ro] = iam.list_attached_role_policies(RoleName=ro)
for st in arg["stacks"]:
    out["resources " + st] = cfn.list_stack_resources(StackName=st)
out = strip(out)
`;

const cli = (service: string, operation: string, ...args: string[]): ExecutionRequestInput => ({
  command: { type: 'aws_cli', service, operation, args },
  env: env(),
});

test('a dry run of every supported operation looks each resource up and changes nothing', async () => {
  const bucket = `ro-${run}`;
  const user = `ro-user-${run}`;
  const role = `ro-role-${run}`;
  const db = `ro-db-${run}`;
  const cluster = `ro-cl-${run}`;
  const stack = `ro-stack-${run}`;
  const trust = TRUST_POLICY;
  const doc = READ_POLICY;
  const template = JSON.stringify({
    Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `ro-${run}` } } },
  });
  const {
    instance,
    volume,
    snapshot: snap,
    group,
    key,
    policy,
  } = py(SETUP, {
    run,
    bucket,
    user,
    role,
    db,
    cluster,
    stack,
    trust,
    doc,
    template,
  });

  const commands: ExecutionRequestInput[] = [
    cli('ec2', 'terminate-instances', '--instance-ids', instance),
    cli('ec2', 'stop-instances', '--instance-ids', instance),
    cli('ec2', 'reboot-instances', '--instance-ids', instance),
    cli('ec2', 'modify-instance-attribute', '--instance-id', instance, '--instance-type', 'Value=t3.large'),
    cli('ec2', 'delete-volume', '--volume-id', volume),
    cli('ec2', 'delete-snapshot', '--snapshot-id', snap),
    cli('ec2', 'delete-security-group', '--group-id', group),
    cli(
      'ec2',
      'revoke-security-group-ingress',
      '--group-id',
      group,
      '--protocol',
      'tcp',
      '--port',
      '22',
      '--cidr',
      '10.0.0.0/8',
    ),
    cli('s3api', 'delete-bucket', '--bucket', bucket),
    cli('s3', 'rb', `s3://${bucket}`, '--force'),
    cli('s3api', 'delete-object', '--bucket', bucket, '--key', 'p/a.txt'),
    cli('s3api', 'delete-objects', '--bucket', bucket, '--delete', 'Objects=[{Key=p/a.txt},{Key=p/b.txt}]'),
    cli('s3', 'rm', `s3://${bucket}/p/a.txt`),
    cli('s3', 'rm', `s3://${bucket}/p/`, '--recursive'),
    { ...cli('s3', 'sync', '.', `s3://${bucket}/p/`, '--delete'), working_dir: tmpdir() },
    cli('iam', 'delete-user', '--user-name', user),
    cli('iam', 'delete-role', '--role-name', role),
    cli('iam', 'delete-policy', '--policy-arn', policy),
    cli('iam', 'delete-access-key', '--access-key-id', key, '--user-name', user),
    cli('rds', 'delete-db-instance', '--db-instance-identifier', db, '--skip-final-snapshot'),
    cli('rds', 'delete-db-cluster', '--db-cluster-identifier', cluster, '--skip-final-snapshot'),
    cli('cloudformation', 'delete-stack', '--stack-name', stack),
  ];
  // Every entry of the tables is exercised.
  const covered = new Set(commands.map((c) => `${(c.command as any).service} ${(c.command as any).operation}`));
  expect(
    [...new Set(OPERATION_TABLES.flatMap((e) => e.operations.map((op) => `${e.service} ${op}`)))].filter(
      (o) => !covered.has(o),
    ),
  ).toEqual([]);

  const names = { buckets: [bucket], users: [user], roles: [role], stacks: [stack] };
  const before = py(SNAPSHOT, names);
  const engine = makeEngine({ aws_endpoint_url: moto.url, blast_radius: { max_calls_per_command: 50 } });
  const result = await engine.dryRun({ commands });
  const after = py(SNAPSHOT, names);
  expect(after).toEqual(before);

  // The look-ups did run: every command's resources were found.
  for (const c of result.commands) {
    expect({ command: c.command, resolution: c.resolution, note: c.resolution_note }).toMatchObject({
      resolution: 'resolved',
    });
    expect(c.changes.length, c.command).toBeGreaterThan(0);
    expect(
      c.changes.every((ch) => ch.exists === true),
      JSON.stringify(c.changes),
    ).toBe(true);
  }
}, 120_000);

/** Arguments naming `id` for every option a table reads. */
function argsNaming(id: string): OperationArgs {
  return {
    values: () => [id],
    value: () => id,
    flag: () => true,
    raw: () => undefined,
    positionals: ['.', `s3://bucket/${id}`],
    workingDir: null,
  };
}

test('every look-up call the tables can make is rated read-only by the risk classifier', () => {
  let checked = 0;
  for (const entry of OPERATION_TABLES) {
    const s3 = entry.service === 's3' || entry.service === 's3api';
    const ids = entry.resource_type.startsWith('object')
      ? ['s3://bucket/key', 's3://bucket/a/b/', 's3://bucket/sp ace']
      : s3
        ? ['bucket']
        : ['i-0abc', 'arn:aws:iam::123456789012:policy/p', 'AKIAEXAMPLE', 'name'];
    for (const id of ids) {
      const args = argsNaming(id);
      const { lookup } = entry;
      const argvs =
        lookup.kind === 'list'
          ? [lookup.argv([id, 'x-2']), ...Object.values(lookup.more ?? {}).map((f) => f(id))]
          : Object.values(lookup.calls).map((f) => f(id, args));
      for (const argv of argvs.filter((a) => a.length > 0)) {
        // As resolve.ts runs it: the command's endpoint, region and profile, JSON output.
        const words = [...argv, '--endpoint-url', 'http://127.0.0.1:9', '--output', 'json', '--region', 'us-east-1'];
        const risk = assessAwsArgv(words);
        expect({ argv: words.join(' '), risk: risk.risk_level, verified: risk.verified }).toEqual({
          argv: words.join(' '),
          risk: 'read_only',
          verified: true,
        });
        checked++;
      }
    }
  }
  expect(checked).toBeGreaterThan(60);
  // The reading of a command itself is what feeds those calls: an s3 rm names its path.
  const call = awsCallOf(
    {
      type: 'aws_cli',
      service: 's3',
      operation: 'rm',
      args: ['--recursive', 's3://b/p/'],
      profile: null,
      region: null,
    },
    '/usr/bin/aws',
    null,
  );
  expect(call?.args.positionals).toEqual(['s3://b/p/']);
});
