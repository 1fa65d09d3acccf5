/**
 * Real resources in moto for the blast-radius tests of what approvers are shown (approval page,
 * CLI preview, MCP, the stale dry-run rule). Made with boto3 (installed with moto), several in
 * one python3 process: one start of python instead of one `aws` CLI start per call; looked at
 * and retagged with single HTTP calls to moto.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { awsTestEnv, type Moto } from './moto.js';

const PRELUDE = `
import boto3, json, sys
data = json.load(sys.stdin)
ec2 = boto3.client('ec2', endpoint_url=sys.argv[1], region_name='us-east-1')
`;

/** Runs `script` in python3 against moto: `ec2` is a boto3 client, `data` the JSON given; it prints its answer as JSON. */
export function boto(moto: Moto, script: string, data: unknown = null): any {
  const out = execFileSync('python3', ['-c', `${PRELUDE}${script}`, moto.url], {
    input: JSON.stringify(data),
    env: { ...process.env, ...awsTestEnv(moto.url) },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return out.trim() ? JSON.parse(out) : null;
}

/** Running instances, one per tag set (the tags given as they are: a value may hold any character); their ids, in order. */
/**
 * A boto3 script against moto (one python3 process for many calls): `c(service)` is a client,
 * `arg` the data given; it sets `out`, the answer (JSON, dates as strings).
 */
export const botoScript = (moto: Moto, script: string, data: unknown = null): any =>
  boto(
    moto,
    `
_clients = {}
def c(name):
    if name not in _clients: _clients[name] = boto3.client(name, endpoint_url=sys.argv[1], region_name="us-east-1")
    return _clients[name]
arg = data
out = None
${script}
print(json.dumps(out, default=str))
`,
    data,
  );

export function runInstances(moto: Moto, tagSets: Record<string, string>[]): string[] {
  return boto(
    moto,
    `
ids = []
for tags in data:
    made = ec2.run_instances(ImageId='ami-12345678', MinCount=1, MaxCount=1, InstanceType='t3.micro',
        TagSpecifications=[{'ResourceType': 'instance', 'Tags': [{'Key': k, 'Value': v} for k, v in tags.items()]}])
    ids.append(made['Instances'][0]['InstanceId'])
print(json.dumps(ids))
`,
    tagSets,
  );
}

/**
 * One EC2 Query API call to moto over HTTP, from this process (no python or aws CLI to start):
 * moto does not check signatures, only reads the region from the credential scope. Its XML answer.
 */
async function ec2Query(moto: Moto, action: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(`${moto.url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`moto ${action}: ${response.status} ${text}`);
  return text;
}

/** The state of each instance (`running`, `stopped`, ...), in the order of `ids`. */
export async function instanceStates(moto: Moto, ids: string[]): Promise<(string | null)[]> {
  const xml = await ec2Query(
    moto,
    'DescribeInstances',
    Object.fromEntries(ids.map((id, i) => [`InstanceId.${i + 1}`, id])),
  );
  return ids.map(
    (id) =>
      new RegExp(`<instanceId>${id}</instanceId>[\\s\\S]*?<instanceState><code>\\d+</code><name>([a-z-]+)</name>`).exec(
        xml,
      )?.[1] ?? null,
  );
}

/** Removes the tags `keys` from instance `id`. */
export async function deleteTags(moto: Moto, id: string, keys: string[]): Promise<void> {
  await ec2Query(moto, 'DeleteTags', {
    'ResourceId.1': id,
    ...Object.fromEntries(keys.map((key, i) => [`Tag.${i + 1}.Key`, key])),
  });
}

/** Names no other test uses (a shared moto server is not empty). */
export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** An aws_cli request of an EC2 instance operation on `ids`, with moto's credentials. */
export function instancesRequest(moto: Moto, operation: string, ids: string[]) {
  return {
    command: { type: 'aws_cli', service: 'ec2', operation, args: ['--instance-ids', ...ids], region: 'us-east-1' },
    env: awsTestEnv(moto.url),
  };
}

/** An aws_cli request terminating `ids`, with moto's credentials. */
export const terminate = (moto: Moto, ids: string[]) => instancesRequest(moto, 'terminate-instances', ids);

/** An AWS operation the dry run has no look-up for: what it deletes is not shown, and the approval says so. */
export const deleteFunction = (moto: Moto, name: string) => ({
  command: {
    type: 'aws_cli',
    service: 'lambda',
    operation: 'delete-function',
    args: ['--function-name', name],
    region: 'us-east-1',
  },
  env: awsTestEnv(moto.url),
});

/** A command that is not AWS: nothing to look up, and nothing said about it. */
export const echo = (text: string) => ({ command: { type: 'shell', command: `echo ${text}` } });

/** An IAM trust policy a role can be created with, and a read-only policy to attach. */
export const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
export const READ_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
});
