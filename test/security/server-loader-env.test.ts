/**
 * Attack: make a command run code its argv does not show, through environment variables
 * that change what a program loads (NODE_OPTIONS, PYTHON*, BROWSER, PATH, LD_PRELOAD, ...).
 * Over HTTP every input that carries requests refuses them (400 naming the field and how the
 * operator can allow it), before anything runs or is dry-run; `allow_env` lets named ones in.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { tempDir } from '../helpers.js';
import { decideAs } from '../support/approvals.js';
import { startTestServer } from '../support/server.js';

const POLICY = {
  approval: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
};

/** A file every attack would delete or change, and a fake `aws` / browser that would do it. */
function bait() {
  const dir = tempDir();
  const sentinel = join(dir, 'sentinel');
  writeFileSync(sentinel, 'intact');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const name of ['aws', 'evil-browser']) {
    writeFileSync(join(bin, name), `#!/bin/sh\nrm -f ${sentinel}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const js = `data:text/javascript,import fs from "node:fs"; fs.rmSync(${JSON.stringify(sentinel)}, { force: true });`;
  return { sentinel, bin, js, intact: () => existsSync(sentinel) && readFileSync(sentinel, 'utf8') === 'intact' };
}

const describeInstances = { type: 'aws_cli', service: 'ec2', operation: 'describe-instances', args: [] };
const sdkDescribe = { type: 'sdk', service: 'ec2', operation: 'DescribeInstances', parameters: {} };

test('every input carrying requests refuses loader variables, naming the field; nothing runs, nothing is recorded', async () => {
  // No approval policy: without the refusal, each of these would run at once.
  const { api } = await startTestServer({ approval: null, aws_endpoint_url: 'http://127.0.0.1:9' });
  const b = bait();

  const attacks: Array<[string, string, unknown, string[]]> = [
    [
      'POST',
      '/api/executions',
      { command: sdkDescribe, env: { NODE_OPTIONS: `--import=${b.js}` } },
      ['env.NODE_OPTIONS'],
    ],
    [
      'POST',
      '/api/executions',
      {
        command: describeInstances,
        env: { PYTHONWARNINGS: 'always::antigravity.x', BROWSER: join(b.bin, 'evil-browser') },
      },
      ['env.BROWSER', 'env.PYTHONWARNINGS'],
    ],
    [
      'POST',
      '/api/executions',
      {
        command: { type: 'exec', program: 'aws', args: ['sts', 'get-caller-identity'] },
        env: { PATH: `${b.bin}:/usr/bin:/bin` },
      },
      ['env.PATH'],
    ],
    // Other spellings: Linux names are case-sensitive, and tools differ in what they read.
    [
      'POST',
      '/api/executions',
      { command: { type: 'exec', program: 'true', args: [] }, env: { ld_preload: '/tmp/x.so', Path: b.bin } },
      ['env.Path', 'env.ld_preload'],
    ],
    [
      'POST',
      '/api/executions',
      {
        command: { type: 'shell', command: 'true' },
        env: { 'BASH_FUNC_true%%': `() { rm -f ${b.sentinel}; }`, BASH_ENV: join(b.bin, 'aws') },
      },
      ['env.BASH_ENV', 'env.BASH_FUNC_true%%'],
    ],
    [
      'POST',
      '/api/executions',
      {
        command: describeInstances,
        env: { AWS_CONFIG_FILE: '/tmp/evil-config', GIT_SSH_COMMAND: 'x', node_options: '--require=x' },
      },
      ['env.AWS_CONFIG_FILE', 'env.GIT_SSH_COMMAND', 'env.node_options'],
    ],
    [
      'POST',
      '/api/plans',
      {
        commands: [
          { command: { type: 'shell', command: 'true' } },
          {
            command: { type: 'shell', command: 'true' },
            rollback: [{ command: { type: 'shell', command: 'true' }, env: { LD_PRELOAD: '/tmp/evil.so' } }],
          },
        ],
      },
      ['commands[1].rollback[0].env.LD_PRELOAD'],
    ],
    [
      'POST',
      '/api/plans',
      { commands: [{ command: sdkDescribe, env: { NODE_OPTIONS: `--import=${b.js}` } }] },
      ['commands[0].env.NODE_OPTIONS'],
    ],
    ['POST', '/api/dry-run', { command: sdkDescribe, env: { NODE_OPTIONS: `--import=${b.js}` } }, ['env.NODE_OPTIONS']],
    [
      'POST',
      '/api/dry-run',
      {
        commands: [
          { command: describeInstances, env: { PYTHONSTARTUP: '/tmp/x.py', BROWSER: join(b.bin, 'evil-browser') } },
        ],
      },
      ['commands[0].env.BROWSER', 'commands[0].env.PYTHONSTARTUP'],
    ],
    ['POST', '/api/approvals', { command: describeInstances, env: { PYTHONPATH: b.bin } }, ['env.PYTHONPATH']],
    [
      'POST',
      '/api/approvals',
      { commands: [{ command: sdkDescribe, env: { NODE_PATH: b.bin } }] },
      ['commands[0].env.NODE_PATH'],
    ],
  ];
  for (const [method, path, body, fields] of attacks) {
    const answer = await api(method, path, body);
    const what = `${path} ${JSON.stringify(fields)}`;
    expect(answer.status, what).toBe(400);
    expect(answer.body.error.code).toBe('Validation');
    expect(answer.body.error.field, what).toBe(fields[0]);
    expect(
      answer.body.error.issues.map((i: { field: string }) => i.field),
      what,
    ).toEqual(fields);
    const name = fields[0]!.split('env.')[1];
    expect(answer.body.error.reason).toContain(`changes which programs or code a command loads`);
    expect(answer.body.error.reason).toContain(`--allow-env ${name}`);
    expect(b.intact(), what).toBe(true);
  }
  expect((await api('GET', '/api/executions')).body.total).toBe(0);
  expect((await api('GET', '/api/approvals')).body.approvals).toEqual([]);
  expect(b.intact()).toBe(true);
});

test("an approver's edit cannot bring in a loader variable either", async () => {
  const server = await startTestServer(POLICY);
  const { api } = server;
  const b = bait();
  const id = (
    await api('POST', '/api/plans', {
      commands: [{ command: { type: 'shell', command: `touch ${join(tempDir(), 'x')}` } }],
    })
  ).body.approval_id;
  expect(id).toEqual(expect.any(String));
  for (const [env, field] of [
    [{ NODE_OPTIONS: `--import=${b.js}` }, 'decision.modified_plan.commands[0].env.NODE_OPTIONS'],
    [{ LD_AUDIT: '/tmp/x.so' }, 'decision.modified_plan.commands[0].env.LD_AUDIT'],
    [{ Pythonhome: '/tmp' }, 'decision.modified_plan.commands[0].env.Pythonhome'],
  ] as const) {
    const answer = await decideAs(
      server,
      id,
      { type: 'modify_and_approve', modified_plan: { commands: [{ command: sdkDescribe, env }] } },
      { as: 'mallory', accept_risk: 'destructive' },
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe(field);
  }
  const rollback = await decideAs(
    server,
    id,
    {
      type: 'modify_and_approve',
      modified_plan: {
        commands: [
          {
            command: { type: 'shell', command: 'true' },
            rollback: [{ command: { type: 'shell', command: 'true' }, env: { PATH: b.bin } }],
          },
        ],
      },
    },
    { as: 'mallory', accept_risk: 'destructive' },
  );
  expect(rollback.body.error.field).toBe('decision.modified_plan.commands[0].rollback[0].env.PATH');
  expect((await api('GET', `/api/approvals/${id}`)).body.state).toBe('pending');
  expect(b.intact()).toBe(true);
});

test('allow_env lets exactly the named variables in (then the approval policy judges the command)', async () => {
  const { api } = await startTestServer(POLICY, { allow_env: ['NODE_OPTIONS', 'PATH'] });
  const dir = tempDir();
  const accepted = await api('POST', '/api/executions', {
    command: { type: 'exec', program: 'true', args: [] },
    env: { PATH: '/usr/bin:/bin', NODE_OPTIONS: '--max-old-space-size=64' },
  });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  // Names are exact: another spelling is still refused.
  const other = await api('POST', '/api/executions', {
    command: { type: 'exec', program: 'true', args: [] },
    env: { node_options: '--require=x' },
  });
  expect(other.status).toBe(400);
  expect(other.body.error.field).toBe('env.node_options');
  const notAllowed = await api('POST', '/api/plans', {
    commands: [
      {
        command: { type: 'shell', command: `touch ${join(dir, 'x')}` },
        env: { PATH: '/usr/bin:/bin', LD_PRELOAD: '/tmp/x.so' },
      },
    ],
  });
  expect(notAllowed.status).toBe(400);
  expect(notAllowed.body.error.issues.map((i: { field: string }) => i.field)).toEqual(['commands[0].env.LD_PRELOAD']);
  expect(existsSync(join(dir, 'x'))).toBe(false);
});

test('allow_env must hold variable names', async () => {
  const err = await startTestServer({}, { allow_env: ['PATH', 'A=B'] }).catch((e: unknown) => e);
  expect(err).toMatchObject({ field: 'allow_env[1]' });
});
