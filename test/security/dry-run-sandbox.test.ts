/**
 * The dry run happens before anyone approved anything: it must not run code the requester
 * controls. Each payload is first shown to be live (run directly, it deletes its sentinel);
 * then, in a request's env, the pre-approval dry run (library, and server with the operator
 * allowing the names) leaves the sentinel intact while AWS (moto) still answers the dry run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { makeEngine, tempDir } from '../helpers.js';
import { awsTestEnv, type Moto, startMoto } from '../support/moto.js';

let moto: Moto;
beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(async () => {
  await moto?.stop();
});

function sentinel(): string {
  const path = join(tempDir('cee-sentinel-'), 'sentinel');
  writeFileSync(path, 'keep me');
  return path;
}

/** Payloads that run `rm -f <path>` when a node or python process starts. */
const payloads = {
  // NODE_OPTIONS splits at spaces and takes double quotes itself: neither appears in the module.
  nodeOptions: (path: string) => ({
    NODE_OPTIONS: `--import=data:text/javascript,import{rmSync}from'node:fs';rmSync('${path}',{force:true})`,
  }),
  nodeRequire: (path: string) => ({ NODE_OPTIONS: `--require=${writeModule(path)}` }),
  pythonBrowser: (path: string) => ({
    PYTHONWARNINGS: 'ignore::antigravity.x::0',
    BROWSER: `sh -c "rm -f ${path}" #%s`,
  }),
  pythonStartup: (path: string) => ({ PYTHONPATH: writePythonSite(path), PYTHONSTARTUP: '/dev/null' }),
  ldPreloadLike: (path: string) => ({ BASH_ENV: writeShell(path), PATH: `${join(path, '..')}:/usr/bin:/bin` }),
};

function writeModule(path: string): string {
  const file = join(path, '..', 'payload.cjs');
  writeFileSync(file, `require('fs').rmSync(${JSON.stringify(path)}, { force: true });\n`);
  return file;
}
function writePythonSite(path: string): string {
  const dir = join(path, '..');
  writeFileSync(
    join(dir, 'sitecustomize.py'),
    `import os\ntry:\n    os.remove(${JSON.stringify(path)})\nexcept OSError:\n    pass\n`,
  );
  return dir;
}
function writeShell(path: string): string {
  const file = join(path, '..', 'payload.sh');
  writeFileSync(file, `rm -f ${path}\n`);
  return file;
}

test('control: each payload is live when a program actually starts with it', () => {
  for (const [name, make] of [
    ['nodeOptions', payloads.nodeOptions],
    ['nodeRequire', payloads.nodeRequire],
  ] as const) {
    const path = sentinel();
    spawnSync(process.execPath, ['-e', ''], { env: { ...process.env, ...make(path) } });
    expect(existsSync(path), name).toBe(false);
  }
  for (const [name, make] of [
    ['pythonBrowser', payloads.pythonBrowser],
    ['pythonStartup', payloads.pythonStartup],
  ] as const) {
    const path = sentinel();
    spawnSync('/usr/bin/aws', ['--version'], { env: { ...process.env, ...make(path) } });
    expect(existsSync(path), name).toBe(false);
  }
});

test('the pre-approval dry run of sdk and aws_cli EC2 calls runs none of them, and still asks AWS', async () => {
  const engine = makeEngine({ aws_endpoint_url: moto.url, approval: {} });
  const cases = [
    {
      env: payloads.nodeOptions,
      command: {
        type: 'sdk' as const,
        service: 'ec2',
        operation: 'DescribeInstances',
        parameters: {},
        region: 'us-east-1',
      },
    },
    {
      env: payloads.nodeRequire,
      command: {
        type: 'sdk' as const,
        service: 'ec2',
        operation: 'TerminateInstances',
        parameters: { InstanceIds: ['i-0123456789abcdef0'] },
        region: 'us-east-1',
      },
    },
    {
      env: payloads.pythonBrowser,
      command: {
        type: 'aws_cli' as const,
        service: 'ec2',
        operation: 'describe-instances',
        args: [],
        region: 'us-east-1',
      },
    },
    {
      env: payloads.pythonStartup,
      command: {
        type: 'aws_cli' as const,
        service: 'ec2',
        operation: 'describe-instances',
        args: [],
        region: 'us-east-1',
      },
    },
    {
      env: payloads.ldPreloadLike,
      command: { type: 'aws_cli' as const, service: 'ec2', operation: 'describe-vpcs', args: [], region: 'us-east-1' },
    },
  ];
  for (const [i, c] of cases.entries()) {
    const path = sentinel();
    const request = await engine.createApprovalRequest({
      commands: [{ command: c.command, env: { ...awsTestEnv(moto.url), ...c.env(path) } }],
    });
    expect(existsSync(path), `case ${i}: the payload ran during the dry run`).toBe(true);
    expect(request.requires_approval).toBe(true);
    expect(request.risk_level, `case ${i}`).toBe('destructive');
    expect(request.verified).toBe(false);
    expect(request.commands[0]!.risk_reasons.join(' ')).toMatch(/changes which programs or code a command loads/);
    // The AWS call itself still happened, with the request's credentials and region.
    expect(request.commands[0]!.dry_run_result, `case ${i}`).toMatch(/would succeed|would fail/);
  }
});

test('dryRun() reports unverified work and runs only the configured binaries', async () => {
  const path = sentinel();
  const engine = makeEngine({ aws_endpoint_url: moto.url });
  const result = await engine.dryRun({
    commands: [
      {
        command: { type: 'aws_cli', service: 'ec2', operation: 'describe-instances', region: 'us-east-1' },
        env: { ...awsTestEnv(moto.url), ...payloads.pythonBrowser(path) },
      },
      { command: { type: 'exec', program: 'python3', args: ['-c', `import os; os.remove(${JSON.stringify(path)})`] } },
    ],
  });
  expect(existsSync(path)).toBe(true);
  expect(result.verified).toBe(false);
  expect(result.commands[0]).toMatchObject({ method: 'aws_dry_run', would_succeed: true, verified: false });
  expect(result.commands[1]).toMatchObject({
    method: 'description',
    would_succeed: null,
    verified: false,
    risk_reasons: [expect.stringContaining('python3 runs code')],
  });
});
