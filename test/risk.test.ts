import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { APPROVAL_LEVELS } from '../src/cli/commands/serve.js';
import {
  assessCommand,
  assessCommandRisk,
  awsOperationRisk,
  maxRisk,
  operationVerb,
  type RiskLevel,
} from '../src/policy/risk.js';
import { RISK_LEVELS } from '../src/vocabulary.js';
import { tempDir } from './helpers.js';
import { startTestServer } from './support/server.js';

/** The AWS CLI the engine is configured with, in these tests. */
const AWS = { awsCliPath: '/usr/bin/aws' };

/** Real AWS CLI operations and the level a careful operator would give them. */
const TABLE: Array<[service: string, operation: string, args: string[], expected: RiskLevel]> = [
  ['ec2', 'describe-instances', [], 'read_only'],
  ['ec2', 'describe-security-groups', [], 'read_only'],
  ['s3api', 'list-buckets', [], 'read_only'],
  ['s3api', 'get-object', ['--bucket', 'b', '--key', 'k', '/dev/stdout'], 'read_only'],
  ['s3api', 'get-object', ['--bucket', 'b', '--key', 'k', 'out'], 'modify'],
  ['s3api', 'head-object', [], 'read_only'],
  ['s3', 'ls', [], 'read_only'],
  ['iam', 'list-users', [], 'read_only'],
  ['iam', 'get-role', [], 'read_only'],
  ['sts', 'get-caller-identity', [], 'read_only'],
  ['logs', 'filter-log-events', [], 'read_only'],
  ['logs', 'tail', [], 'read_only'],
  ['dynamodb', 'query', [], 'read_only'],
  ['dynamodb', 'scan', [], 'read_only'],
  ['dynamodb', 'batch-get-item', [], 'read_only'],
  ['cloudformation', 'validate-template', [], 'read_only'],
  ['ec2', 'wait', ['instance-running'], 'read_only'],
  ['ec2', 'run-instances', [], 'modify'],
  ['ec2', 'start-instances', [], 'modify'],
  ['ec2', 'stop-instances', [], 'modify'],
  ['ec2', 'reboot-instances', [], 'modify'],
  ['ec2', 'create-tags', [], 'modify'],
  ['ec2', 'modify-instance-attribute', [], 'modify'],
  ['ec2', 'authorize-security-group-ingress', [], 'modify'],
  ['s3api', 'put-object', [], 'modify'],
  ['s3', 'cp', ['a', 's3://b/a'], 'modify'],
  ['s3', 'sync', ['.', 's3://b'], 'modify'],
  ['s3', 'mb', ['s3://b'], 'modify'],
  ['lambda', 'update-function-code', [], 'modify'],
  ['lambda', 'invoke', [], 'modify'],
  ['cloudformation', 'create-stack', [], 'modify'],
  ['dynamodb', 'batch-write-item', [], 'modify'],
  ['autoscaling', 'set-desired-capacity', [], 'modify'],
  ['ec2', 'terminate-instances', [], 'destructive'],
  ['ec2', 'delete-volume', [], 'destructive'],
  ['ec2', 'deregister-image', [], 'destructive'],
  ['ec2', 'revoke-security-group-ingress', [], 'destructive'],
  ['ec2', 'release-address', [], 'destructive'],
  ['ec2', 'detach-volume', [], 'destructive'],
  ['s3', 'rm', ['s3://b/k'], 'destructive'],
  ['s3', 'rb', ['s3://b', '--force'], 'destructive'],
  ['s3', 'mv', ['s3://b/a', 's3://b/c'], 'destructive'],
  ['s3', 'sync', ['.', 's3://b', '--delete'], 'destructive'],
  ['s3api', 'delete-object', [], 'destructive'],
  ['iam', 'remove-role-from-instance-profile', [], 'destructive'],
  ['rds', 'delete-db-instance', [], 'destructive'],
  ['sqs', 'purge-queue', [], 'destructive'],
  ['kms', 'disable-key', [], 'destructive'],
  ['dynamodb', 'batch-delete-item', [], 'destructive'],
  ['cloudformation', 'delete-stack', [], 'destructive'],
];

describe('AWS operations are classified by verb', () => {
  test('real operations reach every risk level of the vocabulary, and nothing else', () => {
    const levels = TABLE.map(([service, operation, args]) => awsOperationRisk(service, operation, args));
    expect(new Set(levels)).toEqual(new Set(RISK_LEVELS));
  });
  test.each(TABLE)('%s %s %j -> %s', (service, operation, args, expected) => {
    expect(awsOperationRisk(service, operation, args)).toBe(expected);
    expect(assessCommandRisk({ type: 'aws_cli', service, operation, args, profile: null, region: null })).toBe(
      expected,
    );
  });

  test('SDK-style PascalCase operation names give the same verbs', () => {
    expect(operationVerb('DescribeInstances')).toBe('describe');
    expect(operationVerb('BatchGetItem')).toBe('batch-get');
    expect(awsOperationRisk('ec2', 'TerminateInstances')).toBe('destructive');
    expect(awsOperationRisk('s3', 'PutObject')).toBe('modify');
    expect(awsOperationRisk('s3', 'ListObjectsV2')).toBe('read_only');
  });
});

describe('other commands', () => {
  test('known readers are read-only; unknown programs and scripts are unverified', () => {
    expect(assessCommand({ type: 'shell', command: 'echo hi', shell: 'bash' })).toEqual({
      risk_level: 'read_only',
      verified: true,
      reasons: [],
    });
    expect(assessCommand({ type: 'exec', program: 'ls', args: [] })).toMatchObject({
      risk_level: 'read_only',
      verified: true,
    });
    expect(assessCommand({ type: 'exec', program: 'make', args: ['deploy'] })).toMatchObject({
      risk_level: 'modify',
      verified: false,
    });
    expect(assessCommand({ type: 'script', path: '/x.sh', interpreter: null })).toMatchObject({
      risk_level: 'modify',
      verified: false,
    });
  });

  test('local programs that destroy, and infrastructure tools with a destructive subcommand, are destructive', () => {
    const sh = (command: string) => assessCommandRisk({ type: 'shell', command, shell: 'bash' });
    const destructive = [
      'rm -rf /tmp/build',
      'cd /srv && rm old.tar',
      'sudo rm -r /var/cache/x',
      'FOO=1 /bin/rm x',
      'ls | xargs rm',
      'dd if=/dev/zero of=/dev/sdb',
      'mkfs.ext4 /dev/sdb1',
      'find /tmp -name "*.log" -delete',
      'kill -9 1234',
      'timeout 5 shred secret.txt',
      'kubectl delete pod web-1',
      'kubectl -n prod delete deployment api',
      'terraform destroy -auto-approve',
      'helm uninstall web',
      'docker rmi nginx',
      'gcloud compute instances delete vm-1',
      'echo start; /usr/bin/rm -f x',
    ];
    for (const command of destructive) expect(sh(command), command).toBe('destructive');
    for (const command of [
      'echo hi',
      'ls -la',
      'kubectl get pods',
      'docker ps',
      'grep rmdir notes.txt',
      'cat rm.txt',
    ]) {
      expect(sh(command), command).toBe('read_only');
    }
    expect(sh('terraform plan')).toBe('read_only');
    expect(assessCommandRisk({ type: 'exec', program: '/bin/rm', args: ['-rf', '/tmp/x'] })).toBe('destructive');
    expect(assessCommandRisk({ type: 'exec', program: 'kubectl', args: ['delete', 'ns', 'staging'] })).toBe(
      'destructive',
    );
    expect(assessCommandRisk({ type: 'exec', program: 'kubectl', args: ['get', 'ns'] })).toBe('read_only');
  });

  test('an aws call inside exec or a shell string is seen', () => {
    expect(
      assessCommandRisk(
        { type: 'exec', program: '/usr/bin/aws', args: ['--region', 'us-east-1', 'ec2', 'terminate-instances'] },
        AWS,
      ),
    ).toBe('destructive');
    expect(assessCommandRisk({ type: 'exec', program: 'aws', args: ['ec2', 'describe-instances'] })).toBe('read_only');
    expect(
      assessCommandRisk({
        type: 'shell',
        command: 'ids=$(aws ec2 describe-instances | jq -r .x); aws ec2 terminate-instances --instance-ids $ids',
        shell: 'bash',
      }),
    ).toBe('destructive');
    // A read-only aws call in a shell string is still a shell string: other parts may write.
    expect(assessCommandRisk({ type: 'shell', command: 'aws s3 ls > listing.txt', shell: 'bash' })).toBe('modify');
  });

  test('only the configured aws is an AWS call: words after `bash -c <script>` are its arguments, not a command', () => {
    const viaBash = (call: string[]) =>
      assessCommandRisk({ type: 'exec', program: 'bash', args: ['-c', 'touch /tmp/x', 'aws', ...call] }, AWS);
    expect(viaBash(['ec2', 'describe-instances'])).toBe('modify');
    expect(viaBash(['ec2', 'terminate-instances'])).toBe('modify');
    expect(assessCommandRisk({ type: 'exec', program: 'env', args: ['aws', 'ec2', 'describe-instances'] }, AWS)).toBe(
      'read_only',
    );
    expect(
      assessCommand({ type: 'exec', program: '/usr/local/bin/aws', args: ['ec2', 'describe-instances'] }, AWS),
    ).toMatchObject({ verified: false, reasons: ['/usr/local/bin/aws is not the configured AWS CLI (/usr/bin/aws)'] });
  });

  test('maxRisk takes the highest, ignoring missing levels', () => {
    expect(maxRisk('read_only', null, 'modify')).toBe('modify');
    expect(maxRisk(undefined, 'destructive', 'read_only')).toBe('destructive');
    expect(maxRisk()).toBe('read_only');
  });
});

test('assessRisk takes a plan, a request or a bare command', async () => {
  const { assessRisk, parsePlan, parseRequest } = await import('../src/index.js');
  const shell = { type: 'shell' as const, command: 'aws ec2 delete-volume --volume-id v-1', shell: 'bash' };
  expect(assessRisk(shell)).toBe('destructive');
  expect(assessRisk(parseRequest({ command: { type: 'exec', program: 'ls' }, risk_level: 'destructive' }))).toBe(
    'destructive',
  );
  expect(assessRisk(parsePlan({ commands: [{ command: { type: 'aws_cli', service: 's3', operation: 'ls' } }] }))).toBe(
    'read_only',
  );
  expect(
    assessRisk(
      parsePlan({
        commands: [
          {
            command: { type: 'aws_cli', service: 's3', operation: 'ls' },
            rollback: [{ command: { type: 'aws_cli', service: 's3', operation: 'rm' } }],
          },
        ],
      }),
    ),
  ).toBe('destructive');
});

/** Well-known programs that only read, and the flags or redirections that make them write. */
const PROGRAMS: Array<[argv: string, expected: RiskLevel]> = [
  ['ls -la /tmp', 'read_only'],
  ['cat /etc/hostname', 'read_only'],
  ['echo hello', 'read_only'],
  ['grep -r needle .', 'read_only'],
  ['head -n 5 f', 'read_only'],
  ['tail -f f', 'read_only'],
  ['wc -l f', 'read_only'],
  ['df -h', 'read_only'],
  ['du -sh .', 'read_only'],
  ['ps aux', 'read_only'],
  ['pwd', 'read_only'],
  ['whoami', 'read_only'],
  ['date', 'read_only'],
  ['date -u +%s', 'read_only'],
  ['uname -a', 'read_only'],
  ['env', 'read_only'],
  ['find . -name app.log -type f', 'read_only'],
  ['sort f', 'read_only'],
  ['uniq -c f', 'read_only'],
  ['cut -d, -f1 f', 'read_only'],
  ['tee', 'read_only'],
  ['tee /dev/null', 'read_only'],
  ['sed s/a/b/ f', 'read_only'],
  ['kubectl get pods -A', 'read_only'],
  ['kubectl describe pod web-1', 'read_only'],
  ['kubectl logs web-1', 'read_only'],
  ['kubectl top pods', 'read_only'],
  ['kubectl version', 'read_only'],
  ['kubectl explain pods', 'read_only'],
  ['terraform plan', 'read_only'],
  ['terraform -chdir=infra plan -var env=dev', 'read_only'],
  ['terraform show', 'read_only'],
  ['terraform validate', 'read_only'],
  ['terraform version', 'read_only'],
  ['terraform output', 'read_only'],
  ['terraform state list', 'read_only'],
  ['terraform fmt -check', 'read_only'],
  ['tofu plan', 'read_only'],
  ['git status', 'read_only'],
  ['git log --oneline -5', 'read_only'],
  ['git diff HEAD~1', 'read_only'],
  ['git show HEAD', 'read_only'],
  ['git branch', 'read_only'],
  ['git branch -a', 'read_only'],
  ['git rev-parse HEAD', 'read_only'],
  ['git -C repo status', 'read_only'],
  ['git remote -v', 'read_only'],
  ['git tag', 'read_only'],
  ['git stash list', 'read_only'],
  // Write flags: the same programs, writing.
  ['find . -delete', 'destructive'],
  ['sort -o out f', 'modify'],
  ['sort --output=out f', 'modify'],
  ['uniq f out', 'modify'],
  ['date -s 12:00', 'modify'],
  ['sed -i s/a/b/ f', 'modify'],
  ['sed -i.bak s/a/b/ f', 'modify'],
  ['sed --in-place=.bak s/a/b/ f', 'modify'],
  ['sed -ni s/a/b/p f', 'modify'],
  ['tee out.txt', 'modify'],
  ['tee -a out.txt', 'modify'],
  ['terraform plan -out plan.tfplan', 'modify'],
  ['terraform plan -out=plan.tfplan', 'modify'],
  ['terraform init', 'modify'],
  ['terraform fmt', 'modify'],
  ['terraform destroy', 'destructive'],
  ['terraform state rm aws_instance.web', 'destructive'],
  ['git branch feature', 'modify'],
  ['git tag v1.0', 'modify'],
  ['git stash', 'modify'],
  ['git branch -D feature', 'destructive'],
  ['git tag -d v1.0', 'destructive'],
  ['git remote remove origin', 'destructive'],
  ['git stash drop', 'destructive'],
  ['kubectl delete pod web-1', 'destructive'],
  // Readers with an option that runs, writes or removes something.
  ['jobs -x rm %1', 'destructive'],
  ['jobs -l', 'read_only'],
  ['time -o out.txt ls', 'modify'],
  ['time --output=out.txt ls', 'modify'],
  ['/usr/bin/time -o out.txt ls', 'modify'],
  ['time -p ls', 'read_only'],
  ['ss -K dst 10.0.0.1', 'destructive'],
  ['ss --kill', 'destructive'],
  ['ss -tan', 'read_only'],
  ['crontab jobs.txt', 'modify'],
  ['crontab', 'modify'],
  ['crontab -e', 'modify'],
  ['crontab -l', 'read_only'],
  ['crontab -u bob -l', 'read_only'],
  ['crontab -r', 'destructive'],
  ['crontab -ir', 'destructive'],
  ['terraform plan -generate-config-out=generated.tf', 'modify'],
  ['find . -fprint out.txt', 'modify'],
  ['sort -o out.txt f', 'modify'],
];

/** Still unverified: what the assessment cannot read ahead (rated `unverified_risk` by a policy). */
const UNVERIFIED = [
  'git -c core.pager=less log',
  'git --exec-path=/tmp log',
  'git diff --ext-diff',
  'git log --output=patch.txt',
  'git grep -Oless x',
  'git commit -m x',
  'git wipe',
  'terraform apply',
  'terraform import aws_instance.web i-1',
  'sed -e w/tmp/x f',
  'kubectl get pods --kubeconfig=/tmp/kc',
  'kubectl --kubeconfig /tmp/kc get pods',
  'helm install web ./chart --post-renderer ./render',
  'jobs -x python3 x.py',
  'time -o /home/u/.bashrc ls',
  'ss -D /home/u/.bashrc',
  'sort -o /home/u/.profile f',
  'find . -fprint /etc/cron.d/x',
  'awk {print>$1}',
  'awk {print>"/etc/cron.d/x"}',
  'crontab -x',
];

describe('well-known read-only programs, and their write flags', () => {
  const exec = (argv: string) => {
    const [program, ...args] = argv.split(' ');
    return assessCommand({ type: 'exec', program: program!, args });
  };
  test.each(PROGRAMS)('exec %s is %s (verified)', (argv, expected) => {
    const assessment = exec(argv);
    expect(assessment.risk_level).toBe(expected);
    expect(assessment.verified).toBe(true);
  });
  test.each(PROGRAMS)('sh %s is %s', (command, expected) => {
    expect(assessCommandRisk({ type: 'shell', command, shell: 'bash' })).toBe(expected);
  });
  test.each(UNVERIFIED)('%s is not verified', (argv) => {
    expect(exec(argv).verified).toBe(false);
  });

  test('a replace string inside a word puts input into it: its text is not known', () => {
    for (const args of [
      ['-I', '{}', 'sh', '-c', 'echo {}'],
      ['-I{}', 'bash', '-c', 'cat {}'],
      ['--replace', 'sh', '-c', 'echo {}'],
    ]) {
      expect(assessCommand({ type: 'exec', program: 'xargs', args }).verified, args.join(' ')).toBe(false);
    }
    const find = assessCommand({ type: 'exec', program: 'find', args: ['.', '-exec', 'sh', '-c', 'cat {}', ';'] });
    expect(find.verified).toBe(false);
    expect(assessCommand({ type: 'exec', program: 'find', args: ['.', '-exec', 'cat', '{}', ';'] })).toMatchObject({
      risk_level: 'read_only',
      verified: true,
    });
    expect(assessCommand({ type: 'exec', program: 'xargs', args: ['-I{}', 'echo', '{}'] }).verified).toBe(true);
  });

  // Redirections in shell strings: a reader writing a file is modify.
  const REDIRECTIONS: Array<[command: string, expected: RiskLevel]> = [
    ['ls > listing.txt', 'modify'],
    ['ls >> listing.txt', 'modify'],
    ['ls &> listing.txt', 'modify'],
    ['ls >| listing.txt', 'modify'],
    ['cat f | tee copy.txt', 'modify'],
    ['kubectl get pods -o yaml > pods.yaml', 'modify'],
    ['git log > log.txt', 'modify'],
    ['ls 2>/dev/null', 'read_only'],
    ['ls > /dev/null', 'read_only'],
    ['cat f | grep x | wc -l', 'read_only'],
    ['ps aux | sort | uniq -c | head', 'read_only'],
    ['echo hi | tee', 'read_only'],
  ];
  test.each(REDIRECTIONS)('sh %s is %s', (command, expected) => {
    const assessment = assessCommand({ type: 'shell', command, shell: 'bash' });
    expect(assessment.risk_level).toBe(expected);
    expect(assessment.verified).toBe(true);
  });
});

describe('a declared risk_level raises, never lowers', () => {
  test.each([
    ['sed -i s/a/b/ f', 'read_only', 'modify'],
    ['rm -f x', 'read_only', 'destructive'],
    ['ls', 'read_only', 'read_only'],
    ['ls', 'modify', 'modify'],
    ['ls', 'destructive', 'destructive'],
  ] as const)('%s declared %s is %s', async (command, declared, expected) => {
    const { assessRisk, parsePlan, parseRequest } = await import('../src/index.js');
    const request = parseRequest({ command: { type: 'shell', command }, risk_level: declared });
    expect(assessRisk(request)).toBe(expected);
    expect(assessRisk(parsePlan({ commands: [{ command: { type: 'shell', command } }], risk_level: declared }))).toBe(
      expected,
    );
    expect(assessRisk(parsePlan({ commands: [request] }))).toBe(expected);
  });
});

describe("the server's default approval policy (serve --approve modify)", () => {
  test('a plan of ls runs without approval; sed -i waits for a human', async () => {
    const dir = tempDir();
    const file = join(dir, 'f.txt');
    writeFileSync(file, 'a\n');
    const { api } = await startTestServer({ approval: APPROVAL_LEVELS.modify! });
    const plan = (command: { type: 'exec'; program: string; args: string[] }) => ({ commands: [{ command }] });

    const listed = await api('POST', '/api/plans', plan({ type: 'exec', program: 'ls', args: [dir] }));
    expect(listed.status).toBe(202);
    expect(listed.body.approval_id ?? null).toBeNull();
    const result = await api('GET', `/api/executions/${listed.body.id}/result?wait=true`);
    expect(result.body.status).toBe('completed');
    expect(JSON.stringify(result.body)).toContain('f.txt');

    const edited = await api(
      'POST',
      '/api/plans',
      plan({ type: 'exec', program: 'sed', args: ['-i', 's/a/b/', file] }),
    );
    expect(edited.status).toBe(202);
    expect(edited.body.approval_id).toEqual(expect.any(String));
    const approval = await api('GET', `/api/approvals/${edited.body.approval_id}`);
    expect(approval.body).toMatchObject({ state: 'pending', request: { risk_level: 'modify' } });
    expect(readFileSync(file, 'utf8')).toBe('a\n');
  });
});
