/**
 * Attacks on the risk assessment: ways to get a destructive effect past `--approve destructive`
 * by hiding what a command does. Each must come out destructive, or unverified (which the
 * default policy treats as destructive), and the answer must say why. End to end, through a
 * real server and engine, a sentinel file each attack would delete must survive.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ApprovalWorkflow, type Command, parsePlan } from '../../src/index.js';
import { assessCommand, type RiskAssessment } from '../../src/policy/risk.js';
import { makeEngine, tempDir } from '../helpers.js';
import { decideAs } from '../support/approvals.js';
import { startTestServer } from '../support/server.js';

const AWS = { awsCliPath: '/usr/bin/aws' };
const shell = (command: string, sh = 'bash'): Command => ({ type: 'shell', command, shell: sh });
const exec = (program: string, ...args: string[]): Command => ({ type: 'exec', program, args });

/** Commands whose effect (deleting TARGET) must not pass as less than destructive. */
function attacks(target: string): Array<[string, Command]> {
  const b64 = Buffer.from(`rm -f ${target}`).toString('base64');
  return [
    ['sh -c', exec('sh', '-c', `rm -f ${target}`)],
    ['bash -lc', exec('/bin/bash', '-lc', `rm -f ${target}`)],
    ['sudo sh -c', exec('sudo', '-n', 'sh', '-c', `rm -f ${target}`)],
    ['backslash', shell(`\\rm -f ${target}`)],
    ['empty quotes', shell(`r''m -f ${target}`)],
    ['double quotes', shell(`"r"m -f ${target}`)],
    ['ANSI-C quoting', shell(`$'\\x72\\x6d' -f ${target}`)],
    ['variable', shell(`x=rm; $x -f ${target}`)],
    ['braced variable', shell(`x=rm; \${x} -f ${target}`)],
    ['substitution', shell(`$(echo rm) -f ${target}`)],
    ['backticks', shell(`\`echo rm\` -f ${target}`)],
    ['brace expansion', shell(`{rm,-f,${target}}`)],
    ['glob', shell(`/bin/r? -f ${target}`)],
    ['eval base64', shell(`eval "$(echo ${b64} | base64 -d)"`)],
    ['source process substitution', shell(`source <(echo rm -f ${target})`)],
    ['alias', shell(`shopt -s expand_aliases; alias ls=rm; ls -f ${target}`)],
    ['function', shell(`cleanup() { rm -f ${target}; }; cleanup`)],
    ['trap', shell(`trap 'rm -f ${target}' EXIT; true`)],
    ['python -c', exec('python3', '-c', `import os; os.remove(${JSON.stringify(target)})`)],
    ['perl -e', exec('perl', '-e', `unlink ${JSON.stringify(target)}`)],
    ['node -e', exec('node', '-e', `require("fs").rmSync(${JSON.stringify(target)})`)],
    ['awk system', shell(`awk 'BEGIN { system("rm -f ${target}") }'`)],
    ['sed e flag', shell(`echo x | sed 's|x|rm -f ${target}|e'`)],
    ['find -execdir', shell(`find ${target} -execdir /bin/rm {} \\;`)],
    ['find -exec sh', shell(`find ${target} -exec sh -c 'rm -f "$1"' _ {} \\;`)],
    ['find -delete', exec('find', target, '-delete')],
    ['xargs rm', shell(`echo ${target} | xargs rm -f`)],
    ['xargs sh -c', shell(`echo ${target} | xargs -I{} sh -c 'rm -f {}'`)],
    ['script by shebang', { type: 'script', path: join(target, '..', 'cleanup.sh'), interpreter: null }],
    ['interpreter rm -f', { type: 'script', path: target, interpreter: 'rm -f' }],
    ['interpreter bash', { type: 'script', path: join(target, '..', 'cleanup.sh'), interpreter: 'bash' }],
    ['bash reads stdin', shell(`echo 'rm -f ${target}' | bash`)],
    ['here-document', shell(`bash <<'EOF'\nrm -f ${target}\nEOF`)],
    ['PATH in the string', shell(`PATH=/tmp/evil:$PATH ls ${target}`)],
    ['nameref', shell(`declare -n p=PATH; p=/tmp/evil; ls`)],
    ['arithmetic injection', shell(`read -r x < ${target}; (( x ))`)],
    ['prompt expansion', shell(`x='$(rm -f ${target})'; echo "\${x@P}"`)],
    ['git -c', exec('git', '-c', `core.pager=rm -f ${target}`, 'log')],
    ['git alias', exec('git', 'wipe')],
    ['tar --to-command', exec('tar', '-xf', 'a.tar', `--to-command=rm -f ${target}`)],
    ['rsync -e', exec('rsync', '-e', `sh -c 'rm -f ${target}'`, 'a', 'b:c')],
    ['docker exec', exec('docker', 'exec', 'web', 'rm', '-f', target)],
    ['ssh', exec('ssh', 'host', 'rm', '-f', target)],
    ['env -S', exec('env', '-S', `rm -f ${target}`)],
    ['nice + timeout + bash', exec('nice', '-n', '5', 'timeout', '5', 'bash', '-c', `rm -f ${target}`)],
    ['busybox', exec('busybox', 'rm', '-f', target)],
    ['unknown program', exec('make', 'clean')],
    ['program from an odd path', exec('/tmp/evil/ls', target)],
    ['shell from an odd path', { type: 'shell', command: 'ls', shell: '/tmp/evil/bash' }],
    ['zsh syntax', shell(`rm -f ${target}`, 'zsh')],
    ['unparsable', shell(`echo 'unterminated; rm -f ${target}`)],
    ['array expansion', shell(`a=(rm -f ${target}); "\${a[@]}"`)],
    ['printf -v', shell(`printf -v cmd %s rm; $cmd -f ${target}`)],
    ['hash -p', shell(`hash -p /bin/rm ls; ls ${target}`)],
    ['aws --debug', exec('/usr/bin/aws', '--debug', 'ec2', 'terminate-instances', '--instance-ids', 'i-1')],
    [
      'aws global options',
      exec(
        'aws',
        '--no-cli-pager',
        '--output',
        'json',
        '--region=us-east-1',
        'ec2',
        'terminate-instances',
        '--instance-ids',
        'i-1',
      ),
    ],
    ['aws unknown option', exec('aws', '--frobnicate', 'ec2', 'terminate-instances')],
    ['aws inside bash -c', exec('bash', '-c', 'aws ec2 terminate-instances --instance-ids i-1')],
    ['aws not configured', exec('/tmp/evil/aws', 'ec2', 'describe-instances')],
    ['aws operation from a variable', shell('op=terminate-instances; aws ec2 $op --instance-ids i-1')],
    [
      'ssm send-command',
      {
        type: 'aws_cli',
        service: 'ssm',
        operation: 'send-command',
        args: ['--document-name', 'AWS-RunShellScript'],
        profile: null,
        region: null,
      },
    ],
  ];
}

const DEFAULT_POLICY = new ApprovalWorkflow({}, AWS);

describe('every attack is destructive or unverified, with a reason', () => {
  test.each(attacks('/srv/sentinel'))('%s', (_name, command) => {
    const assessment: RiskAssessment = assessCommand(command, AWS);
    expect(assessment.risk_level === 'destructive' || !assessment.verified, JSON.stringify(assessment)).toBe(true);
    expect(assessment.reasons.length, 'names the reason').toBeGreaterThan(0);
    // The default policy rates unverified work as destructive.
    expect(DEFAULT_POLICY.assessRisk(parsePlan({ commands: [{ command }] }))).toBe('destructive');
  });
});

describe('programs stay read-only only with arguments that keep them so', () => {
  const writes: Array<[string, Command]> = [
    ['redirect', shell('ls > listing.txt')],
    ['append', shell('echo x >> /etc/motd')],
    ['&>', shell('cat a &> out')],
    ['>& file', shell('cat a >& out')],
    ['tee', shell('echo x | tee out')],
    ['sort -o', exec('sort', '-o', 'out', 'in')],
    ['uniq second operand', exec('uniq', 'in', 'out')],
    ['sed -i', exec('sed', '-i', 's/a/b/', 'file')],
    ['find -fprint', exec('find', '.', '-fprint', 'out')],
    ['date -s', exec('date', '-s', '2020-01-01')],
    [
      's3api get-object OUTFILE',
      {
        type: 'aws_cli',
        service: 's3api',
        operation: 'get-object',
        args: ['--bucket', 'b', '--key', 'k', '/home/me/.bashrc'],
        profile: null,
        region: null,
      },
    ],
    ['get-object via exec', exec('aws', 's3api', 'get-object', '--bucket', 'b', '--key', 'k', 'out')],
    [
      '--outfile',
      {
        type: 'aws_cli',
        service: 'lambda',
        operation: 'get-function',
        args: ['--function-name', 'f', '--outfile', 'x'],
        profile: null,
        region: null,
      },
    ],
    [
      '--output-file=',
      {
        type: 'aws_cli',
        service: 'cloudformation',
        operation: 'get-template',
        args: ['--output-file=x'],
        profile: null,
        region: null,
      },
    ],
    [
      's3 cp to a local path',
      { type: 'aws_cli', service: 's3', operation: 'cp', args: ['s3://b/k', './k'], profile: null, region: null },
    ],
  ];
  test.each(writes)('%s is at least modify', (_name, command) => {
    const assessment = assessCommand(command, AWS);
    expect(['modify', 'destructive'], JSON.stringify(assessment)).toContain(assessment.risk_level);
  });

  const reads: Array<[string, Command]> = [
    [
      'aws describe | jq',
      shell("aws ec2 describe-instances --query 'Reservations[].Instances[]' | jq -r '.[].InstanceId'"),
    ],
    ['redirect to /dev/null', shell('aws sts get-caller-identity > /dev/null 2>&1')],
    [
      'get-object to stdout',
      {
        type: 'aws_cli',
        service: 's3api',
        operation: 'get-object',
        args: ['--bucket', 'b', '--key', 'k', '/dev/stdout'],
        profile: null,
        region: null,
      },
    ],
    ['grep naming rm', shell('grep -r "rm -rf" .')],
    ['sed print', shell("sed -n '1,5p' notes.txt")],
    ['find without actions', exec('find', '/var/log', '-name', '*.log', '-mtime', '+7')],
    ['kubectl get', exec('kubectl', 'get', 'pods', '-n', 'prod')],
    ['command -v', shell('command -v aws >/dev/null || echo missing')],
    ['comment', shell('echo done # rm -rf /')],
  ];
  test.each(reads)('%s stays read-only and verified', (_name, command) => {
    expect(assessCommand(command, AWS)).toMatchObject({ risk_level: 'read_only', verified: true });
  });
});

describe('the environment is part of the risk', () => {
  const loaders: Array<Record<string, string>> = [
    { NODE_OPTIONS: '--import=data:text/javascript,process.exit(0)' },
    { PYTHONWARNINGS: 'ignore::antigravity.x::0', BROWSER: 'sh -c "rm x" #%s' },
    { PATH: '/tmp/evil:/usr/bin' },
    { LD_PRELOAD: '/tmp/evil.so' },
    { BASH_ENV: '/tmp/evil.sh' },
    { AWS_CONFIG_FILE: '/tmp/evil-config' },
    { AWS_SHARED_CREDENTIALS_FILE: '/tmp/creds' },
    { GIT_SSH_COMMAND: 'rm x' },
    { PERL5OPT: '-Mevil' },
    { RUBYOPT: '-revil' },
  ];
  test.each(loaders)('%j makes a read-only call unverified', (env) => {
    const plan = parsePlan({
      commands: [{ command: { type: 'aws_cli', service: 'ec2', operation: 'describe-instances' }, env }],
    });
    const assessment = DEFAULT_POLICY.assess(plan);
    expect(assessment.verified).toBe(false);
    expect(assessment.reasons.join(' ')).toContain(Object.keys(env)[0]!);
    expect(DEFAULT_POLICY.assessRisk(plan)).toBe('destructive');
  });

  test('ordinary variables change nothing; an operator can relax unverified work to modify', () => {
    const plain = parsePlan({
      commands: [
        {
          command: { type: 'aws_cli', service: 'ec2', operation: 'describe-instances' },
          env: { AWS_REGION: 'us-east-1', STAGE: 'prod' },
        },
      ],
    });
    expect(DEFAULT_POLICY.assess(plain)).toMatchObject({ risk_level: 'read_only', verified: true });
    const relaxed = new ApprovalWorkflow({ unverified_risk: 'modify' }, AWS);
    expect(relaxed.assessRisk(parsePlan({ commands: [{ command: exec('make', 'build') }] }))).toBe('modify');
    // Relaxing never lowers what is seen: rm stays destructive.
    expect(relaxed.assessRisk(parsePlan({ commands: [{ command: exec('sh', '-c', 'rm -f x') }] }))).toBe('destructive');
  });
});

describe('end to end: nothing runs before a human approves', () => {
  test('through the server under --approve destructive, every attack waits for approval and the sentinel survives', async () => {
    const dir = tempDir('cee-attack-');
    const sentinel = join(dir, 'sentinel');
    writeFileSync(sentinel, 'keep me');
    writeFileSync(join(dir, 'cleanup.sh'), `#!/bin/sh\nrm -f ${sentinel}\n`, { mode: 0o755 });
    const { api, engine } = await startTestServer({
      aws_cli_path: '/usr/bin/aws',
      approval: { auto_approve_readonly: true, require_approval_modify: false, require_approval_destructive: true },
    });
    for (const [name, command] of attacks(sentinel)) {
      const response = await api('POST', '/api/executions', { command, working_dir: dir });
      expect(response.status, `${name}: ${JSON.stringify(response.body)}`).toBe(202);
      expect(response.body.status, name).toBe('awaiting_approval');
      const approval = await api('GET', `/api/approvals/${response.body.approval_id}`);
      const summary = approval.body.request.commands[0];
      expect(summary.risk_level, name).toBe('destructive');
      expect(summary.risk_reasons.length, `${name} names the reason`).toBeGreaterThan(0);
    }
    expect(await engine.listExecutions()).toEqual([]);
    expect(existsSync(sentinel)).toBe(true);
  }, 120_000);

  test('the library refuses unverified work under a policy, naming what could not be established', async () => {
    const dir = tempDir('cee-attack-');
    const sentinel = join(dir, 'sentinel');
    writeFileSync(sentinel, 'keep me');
    const engine = makeEngine({ approval: { auto_approve_readonly: true, require_approval_modify: false } });
    const refusal = engine.execute({
      command: exec('python3', '-c', `import os; os.remove(${JSON.stringify(sentinel)})`),
    });
    await expect(refusal).rejects.toMatchObject({
      code: 'ApprovalRequired',
      message: expect.stringContaining('python3 runs code'),
    });
    await expect(engine.execute({ command: exec('ls', dir), env: { LD_PRELOAD: '/tmp/x.so' } })).rejects.toMatchObject({
      code: 'ApprovalRequired',
      message: expect.stringContaining('LD_PRELOAD'),
    });
    expect(existsSync(sentinel)).toBe(true);
    // What is verified and below the threshold still runs at once.
    const id = await engine.execute({ command: exec('ls', dir) });
    expect((await engine.wait(id)).status).toBe('completed');
  });
});

describe('edit-and-approve re-rates the edit as the policy does', () => {
  test('an edit that hides rm (sh -c, python, eval) above the risk shown is not started without accept_risk', async () => {
    const dir = tempDir('cee-attack-');
    const sentinel = join(dir, 'sentinel');
    writeFileSync(sentinel, 'keep me');
    const server = await startTestServer({ aws_cli_path: '/usr/bin/aws', approval: { auto_approve_readonly: false } });
    const { api } = server;
    const edits: Command[] = [
      exec('sh', '-c', `rm -f ${sentinel}`),
      exec('python3', '-c', `import os; os.remove(${JSON.stringify(sentinel)})`),
      shell(`eval "rm -f ${sentinel}"`),
      shell(`x=rm; $x -f ${sentinel}`),
    ];
    for (const edit of edits) {
      // What the approver was shown: a plain listing (read-only).
      const pending = await api('POST', '/api/approvals', { commands: [{ command: exec('ls', dir) }] });
      expect(pending.body.request.risk_level).toBe('read_only');
      const decision = { type: 'modify_and_approve', modified_plan: { commands: [{ command: edit }] } };
      const refused = await decideAs(server, pending.body.id, decision, { as: 'bob' });
      expect(refused.status, JSON.stringify(edit)).toBe(409);
      expect(refused.body.error).toMatchObject({
        code: 'ApprovalRequired',
        message: expect.stringContaining('destructive'),
      });
      expect((await api('GET', `/api/approvals/${pending.body.id}`)).body.state).toBe('pending');
    }
    expect(existsSync(sentinel)).toBe(true);
  });
});
