/**
 * `run` shows the plan's risk before anything runs and asks before modify and destructive work:
 * driven through a real pseudo-terminal (`script` from util-linux), off a terminal, with
 * `--yes`, as `--dry-run`/`plan` against moto (nothing created), and `--approve-via` a real server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tempDir, until } from './helpers.js';
import { BIN, type Ran, runCli } from './support/cli.js';
import { awsTestEnv, type Moto, startMoto } from './support/moto.js';
import { addPrincipal, startTestServer } from './support/server.js';

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.FORCE_COLOR;
  if (!extra.CLOUDOPS_SERVER) delete env.CLOUDOPS_SERVER;
  return env;
}

/** The CLI with stdin not a terminal (`input` piped in), run to its end. */
function offTerminal(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<Ran> {
  const env = { ...options.env, CLOUDOPS_SERVER: options.env?.CLOUDOPS_SERVER || undefined };
  return runCli(['--log-dir', tempDir(), ...args], { input: options.input, env });
}

/**
 * The CLI on a pseudo-terminal (`script -qec`), `typed` being what the user types; the terminal
 * shows both streams. `redirect`: shell redirections of the CLI (`2>/dev/null`).
 */
function onTerminal(args: string[], typed: string, how: { redirect?: string; logDir?: string } = {}): Ran {
  const quote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;
  const command =
    [process.execPath, BIN, '--log-dir', how.logDir ?? tempDir(), ...args].map(quote).join(' ') +
    (how.redirect ? ` ${how.redirect}` : '');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    input: typed,
    encoding: 'utf8',
    env: childEnv(),
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function planFile(plan: unknown): string {
  const path = join(tempDir('cee-plan-'), 'plan.json');
  writeFileSync(path, JSON.stringify(plan));
  return path;
}

const PLAN_ID = '7c1d2e3f-0000-4000-8000-00000000a001';

/** A destructive plan (`rm`) that also creates `marker`: whether it ran shows in the file. */
function destructivePlan(marker: string, id = PLAN_ID) {
  return planFile({
    id,
    description: 'retire old files',
    commands: [
      { command: { type: 'exec', program: 'touch', args: [marker] } },
      { command: { type: 'exec', program: 'rm', args: ['-f', `${marker}.old`] } },
    ],
  });
}

/** A modify plan: it only creates `marker`. */
function modifyPlan(marker: string) {
  return planFile({ commands: [{ command: { type: 'exec', program: 'touch', args: [marker] } }] });
}

describe('the risk is shown, and modify/destructive work is confirmed on a terminal', () => {
  test('declined: nothing runs, exit 1; the risk was shown per command and overall', () => {
    const marker = join(tempDir(), 'ran');
    const r = onTerminal(['run', destructivePlan(marker)], 'n\n');
    expect(r.stdout).toMatch(/Plan 7c1d2e3f "retire old files"/);
    expect(r.stdout).toMatch(/risk destructive — 2 commands: 1 destructive, 1 modify/);
    expect(r.stdout).toMatch(/#0 modify +touch \S+\/ran/);
    expect(r.stdout).toMatch(/#1 destructive +rm -f \S+\/ran\.old/);
    expect(r.stdout).toContain('· rm removes or ends things');
    expect(r.stdout).toContain('This plan is destructive. Type 7c1d2e3f (its short id) or yes to run it:');
    expect(r.stdout).toContain('not confirmed (you typed "n"). Nothing ran.');
    expect(r.status).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  test('destructive: "y" is not enough; the short id or "yes" in full runs it', () => {
    const marker = join(tempDir(), 'ran');
    const y = onTerminal(['run', destructivePlan(marker)], 'y\n');
    expect(y.status).toBe(1);
    expect(existsSync(marker)).toBe(false);

    const byId = onTerminal(['run', destructivePlan(marker)], '7c1d2e3f\n');
    expect(byId.stdout).toMatch(/completed — 2 completed of 2/);
    expect(byId.status).toBe(0);
    expect(existsSync(marker)).toBe(true);

    const other = join(tempDir(), 'ran');
    const yes = onTerminal(['run', destructivePlan(other, '7c1d2e3f-0000-4000-8000-00000000a002')], 'yes\n');
    expect(yes.status).toBe(0);
    expect(existsSync(other)).toBe(true);
  });

  test('modify: "y" runs it', () => {
    const marker = join(tempDir(), 'ran');
    const r = onTerminal(['run', modifyPlan(marker)], 'y\n');
    expect(r.stdout).toContain('This plan modifies things. Run it?');
    expect(r.status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  test('--yes runs destructive work without asking', () => {
    const marker = join(tempDir(), 'ran');
    const r = onTerminal(['run', '--yes', destructivePlan(marker)], '');
    expect(r.stdout).toMatch(/risk destructive/);
    expect(r.stdout).not.toContain('Type 7c1d2e3f');
    expect(r.status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  test('read-only work is not asked about', () => {
    const r = onTerminal(['run', planFile({ commands: [{ command: { type: 'exec', program: 'uname' } }] })], '');
    expect(r.stdout).toMatch(/risk read_only — 1 command: 1 read_only/);
    expect(r.stdout).not.toMatch(/Run it\?|to run it:/);
    expect(r.status).toBe(0);
  });
});

describe('off a terminal', () => {
  test('destructive work without --yes: exit 2 with the reason, nothing ran; with --yes it runs', async () => {
    const marker = join(tempDir(), 'ran');
    const refused = await offTerminal(['run', destructivePlan(marker)], { input: 'yes\n' });
    expect(refused.stderr).toContain('destructive work needs --yes when not run from a terminal: nothing ran');
    expect(refused.status).toBe(2);
    expect(existsSync(marker)).toBe(false);

    // --json keeps stdout the event stream: the risk goes to stderr.
    const ran = await offTerminal(['run', '--yes', '--json', destructivePlan(marker)]);
    expect(ran.status).toBe(0);
    expect(ran.stderr).toMatch(/risk destructive/);
    const lines = ran.stdout.trim().split('\n');
    expect(lines.every((l) => l.startsWith('{'))).toBe(true);
    expect(existsSync(marker)).toBe(true);
  });

  test('a plan read from stdin is off a terminal too', async () => {
    const marker = join(tempDir(), 'ran');
    const plan = { commands: [{ command: { type: 'exec', program: 'rm', args: ['-f', marker] } }] };
    const r = await offTerminal(['run', '-'], { input: JSON.stringify(plan) });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('destructive work needs --yes');
  });

  test('modify work runs, its risk printed first', async () => {
    const marker = join(tempDir(), 'ran');
    const r = await offTerminal(['run', modifyPlan(marker)]);
    expect(r.status).toBe(0);
    expect(r.stdout.indexOf('risk modify')).toBeLessThan(r.stdout.indexOf('completed'));
    expect(existsSync(marker)).toBe(true);
  });
});

describe('--dry-run and plan against moto: what would happen, nothing done', () => {
  let moto: Moto;
  beforeAll(async () => {
    // Its own moto: the check that nothing at all was created must not see other test files' buckets.
    moto = await startMoto({ private: true });
  }, 30_000);
  afterAll(async () => {
    await moto?.stop();
  });

  /** moto's whole state (its own API, no AWS CLI start-up): bucket names, and the instances as JSON. */
  const state = async () => {
    const data = (await (await fetch(`${moto.url}/moto-api/data.json`)).json()) as {
      s3?: { FakeBucket?: Array<{ name: string }> };
      ec2?: { Instance?: unknown[] };
    };
    return {
      buckets: (data.s3?.FakeBucket ?? []).map((b) => b.name).sort(),
      instances: JSON.stringify(data.ec2?.Instance ?? []),
    };
  };

  test('run --dry-run creates no bucket and no instance, runs nothing else, and reads the verdicts', async () => {
    const tag = `dry-${Date.now()}`;
    const bucket = `cee-dry-${Date.now()}`;
    const marker = join(tempDir(), 'ran');
    const before = await state();
    const plan = planFile({
      description: 'make things',
      commands: [
        {
          command: {
            type: 'aws_cli',
            service: 's3api',
            operation: 'create-bucket',
            args: ['--bucket', bucket, '--endpoint-url', moto.url],
          },
        },
        {
          command: {
            type: 'aws_cli',
            service: 'ec2',
            operation: 'run-instances',
            args: [
              '--image-id',
              'ami-12345678',
              '--count',
              '1',
              '--tag-specifications',
              `ResourceType=instance,Tags=[{Key=test,Value=${tag}}]`,
              '--endpoint-url',
              moto.url,
            ],
          },
        },
        { command: { type: 'exec', program: 'touch', args: [marker] } },
      ],
    });
    const env = awsTestEnv(moto.url);
    // The engine's endpoint is moto's: a dry run goes nowhere else before an approval.
    const r = await offTerminal(['run', '--dry-run', '--endpoint-url', moto.url, plan], { env });
    expect(r.stderr).not.toContain('cloudops-exec:');
    expect(r.stdout).toMatch(/risk modify — 3 commands: 3 modify/);
    expect(r.stdout).toContain('AWS operation s3api create-bucket');
    expect(r.stdout).toContain('AWS operation ec2 run-instances');
    expect(r.stdout).toMatch(/dry run AWS dry run: the request would succeed/);
    expect(r.stdout).toMatch(/dry run would run \S*aws s3api create-bucket --bucket cee-dry-/);
    expect(r.stdout).toMatch(/dry run would run touch \S+\/ran/);
    expect(r.stdout).toContain('Dry run: nothing would fail.');
    expect(r.status).toBe(0);
    const after = await state();
    expect(after.buckets).toEqual(before.buckets);
    expect(after.buckets).not.toContain(bucket);
    expect(after.instances).not.toContain(tag);
    expect(existsSync(marker)).toBe(false);

    // `plan` is the same preview; --json gives the dry run as data.
    const json = await offTerminal(['plan', '--json', '--endpoint-url', moto.url, plan], { env });
    expect(json.status).toBe(0);
    const data = JSON.parse(json.stdout);
    expect(data.would_fail).toBe(false);
    expect(data.dry_run.commands.map((c: { method: string }) => c.method)).toEqual([
      'description',
      'aws_dry_run',
      'description',
    ]);
    expect((await state()).buckets).not.toContain(bucket);
    expect((await state()).instances).not.toContain(tag);
  }, 60_000);

  test('a call AWS says would fail: exit 1 with its reason', async () => {
    const plan = planFile({
      commands: [
        {
          command: {
            type: 'aws_cli',
            service: 'ec2',
            operation: 'delete-vpc',
            args: ['--vpc-id', 'vpc-0123456789abcdef0', '--endpoint-url', moto.url],
          },
        },
      ],
    });
    const r = await offTerminal(['plan', '--endpoint-url', moto.url, plan], { env: awsTestEnv(moto.url) });
    expect(r.stdout).toMatch(/destructive +aws ec2 delete-vpc/);
    expect(r.stdout).toMatch(/dry run AWS dry run: the request would fail: InvalidVpcID\.NotFound: /);
    expect(r.stdout).toContain('Dry run: 1 AWS call would fail. Nothing ran.');
    expect(r.status).toBe(1);
  });
});

describe('--approve-via: the server decides', () => {
  async function setup() {
    const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
    return {
      ts,
      submitter: addPrincipal(ts, 'ci-bot', 'submitter'),
      alice: addPrincipal(ts, 'alice', 'approver'),
    };
  }

  function submit(url: string, token: string, plan: string) {
    const child = spawn(process.execPath, [BIN, '--log-dir', tempDir(), 'run', '--approve-via', url, plan], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv({ CLOUDOPS_EXEC_TOKEN: token }),
    });
    const output = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (output.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    return { child, output, exited };
  }

  test('approved over HTTP by an approver: the CLI follows the run and exits 0; the work ran', async () => {
    const { ts, submitter, alice } = await setup();
    const marker = join(tempDir(), 'ran');
    const run = submit(ts.url, submitter, modifyPlan(marker));
    await until(() => run.output.stdout.includes('Waiting for approval'), 20_000, 'the CLI to wait');
    const [pending] = (await ts.api('GET', '/api/approvals?state=pending')).body.approvals;
    expect(run.output.stdout).toContain(`Waiting for approval ${pending.id} on ${new URL(ts.url).origin}`);
    expect(run.output.stdout).toContain(`/#/approvals/${pending.id}`);
    expect(run.output.stdout).toMatch(/risk modify, 1 approver needed/);
    expect(existsSync(marker)).toBe(false);

    const decided = await ts.as(alice)('POST', `/api/approvals/${pending.id}/decision`, {
      decision: { type: 'approve' },
      plan_sha256: pending.plan_sha256,
    });
    expect(decided.status).toBe(200);
    expect(await run.exited).toBe(0);
    expect(run.output.stdout).toMatch(/completed — 1 completed of 1/);
    expect(existsSync(marker)).toBe(true);
  });

  test('rejected: exit 1 with the reason, nothing ran', async () => {
    const { ts, submitter, alice } = await setup();
    const marker = join(tempDir(), 'ran');
    const run = submit(ts.url, submitter, modifyPlan(marker));
    await until(() => run.output.stdout.includes('Waiting for approval'), 20_000, 'the CLI to wait');
    const [pending] = (await ts.api('GET', '/api/approvals?state=pending')).body.approvals;
    await ts.as(alice)('POST', `/api/approvals/${pending.id}/decision`, {
      decision: { type: 'reject', reason: 'wrong account' },
      plan_sha256: pending.plan_sha256,
    });
    expect(await run.exited).toBe(1);
    expect(run.output.stdout).toContain(`Approval ${pending.id} rejected by alice: wrong account. Nothing ran.`);
    expect(existsSync(marker)).toBe(false);
  });

  test('Ctrl-C stops waiting (130) and says the approval stays pending', async () => {
    const { ts, submitter } = await setup();
    const run = submit(ts.url, submitter, modifyPlan(join(tempDir(), 'ran')));
    await until(() => run.output.stdout.includes('Waiting for approval'), 20_000, 'the CLI to wait');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output.stdout).toMatch(/Stopped waiting\. Approval \S+ stays pending/);
    expect((await ts.api('GET', '/api/approvals?state=pending')).body.approvals).toHaveLength(1);
  });
});

describe('review fixes: the order of checks, redirected stderr, the logs hint', () => {
  test('a plan whose fixed ids ran before is refused (DuplicateId) before anyone is asked', () => {
    const logDir = tempDir();
    const marker = join(tempDir(), 'ran');
    const plan = destructivePlan(marker, '7c1d2e3f-0000-4000-8000-00000000a0d1');
    expect(onTerminal(['run', '--yes', plan], '', { logDir }).status).toBe(0);
    const again = onTerminal(['run', plan], 'yes\n', { logDir });
    expect(again.stdout).toContain('[DuplicateId]');
    expect(again.stdout).toContain('cloudops-exec run --new-ids PLAN');
    expect(again.stdout).not.toContain('to run it:');
    expect(again.stdout).not.toMatch(/risk destructive/);
    expect(again.status).toBe(1);
  });

  test('stdin a terminal, stderr not (2>/dev/null): destructive work exits 2 without --yes, saying why on stdout', () => {
    const marker = join(tempDir(), 'ran');
    const r = onTerminal(['run', destructivePlan(marker)], 'yes\n', { redirect: '2>/dev/null' });
    expect(r.stdout).toMatch(/risk destructive/);
    expect(r.stdout).not.toContain('to run it:');
    expect(r.stdout).toContain('destructive work needs --yes when its stderr is not a terminal');
    expect(r.status).toBe(2);
    expect(existsSync(marker)).toBe(false);

    const yes = onTerminal(['run', '--yes', destructivePlan(marker)], '', { redirect: '2>/dev/null' });
    expect(yes.status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  test('stdin a terminal, stderr not: modify work runs after its risk, and says it did not ask', () => {
    const marker = join(tempDir(), 'ran');
    const r = onTerminal(['run', modifyPlan(marker)], '', { redirect: '2>/dev/null' });
    expect(r.stdout).toContain('Not asking: stderr is not a terminal');
    expect(r.stdout.indexOf('risk modify')).toBeLessThan(r.stdout.indexOf('Not asking'));
    expect(r.status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });

  test('the logs hint names a --log-dir that is not the default (quoted for the shell), and it works', async () => {
    const logDir = join(tempDir(), "my logs's dir");
    const r = await offTerminal(['--log-dir', logDir, 'run', modifyPlan(join(tempDir(), 'ran'))]);
    expect(r.status).toBe(0);
    const hint = r.stdout.match(/its logs: (cloudops-exec logs .*?) \(/)?.[1];
    expect(hint).toBe(`cloudops-exec logs --log-dir '${logDir.replace("'", "'\\''")}' ${hint?.split(' ').at(-1)}`);
    // The hint, run by a shell as printed (our binary standing in for `cloudops-exec`).
    const shown = spawnSync(
      'sh',
      ['-c', hint?.replace(/^cloudops-exec/, `'${process.execPath}' '${BIN}'`) ?? 'false'],
      {
        encoding: 'utf8',
        env: childEnv(),
      },
    );
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('touch');

    // The default log dir (CLOUDOPS_LOG_DIR unset, XDG_STATE_HOME set): no --log-dir in the hint.
    const env = childEnv({ XDG_STATE_HOME: tempDir() });
    delete env.CLOUDOPS_LOG_DIR;
    const plain = spawnSync(process.execPath, [BIN, 'run', modifyPlan(join(tempDir(), 'ran'))], {
      encoding: 'utf8',
      env,
    });
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/its logs: cloudops-exec logs [0-9a-f]{8} \(/);

    // CLOUDOPS_LOG_DIR not the default: named too.
    const viaEnv = spawnSync(process.execPath, [BIN, 'run', modifyPlan(join(tempDir(), 'ran'))], {
      encoding: 'utf8',
      env: { ...env, CLOUDOPS_LOG_DIR: logDir },
    });
    expect(viaEnv.stdout).toContain(`cloudops-exec logs --log-dir '${logDir.replace("'", "'\\''")}' `);
  });
});

describe('--approve-via: what is shown and what is refused', () => {
  test('engine-only options are refused (exit 2, naming them); nothing is submitted', async () => {
    const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
    const submitter = addPrincipal(ts, 'ci-bot', 'submitter');
    const marker = join(tempDir(), 'ran');
    const r = await offTerminal(
      [
        'run',
        '--approve-via',
        ts.url,
        '--endpoint-url',
        'http://127.0.0.1:5000',
        '--region',
        'eu-west-1',
        '--timeout',
        '5000',
        modifyPlan(marker),
      ],
      { env: { CLOUDOPS_EXEC_TOKEN: submitter } },
    );
    expect(r.stderr).toContain('--endpoint-url, --region, --timeout cannot be used with --approve-via');
    expect(r.stderr).toContain("the server's settings apply to work submitted with --approve-via");
    expect(r.status).toBe(2);
    expect((await ts.api('GET', '/api/approvals')).body.approvals).toHaveLength(0);
    expect((await ts.api('GET', '/api/executions')).body.executions).toHaveLength(0);

    // --queue has a default: only one given on the command line counts.
    const queue = await offTerminal(['run', '--approve-via', ts.url, '--queue', 'q', modifyPlan(marker)], {
      env: { CLOUDOPS_EXEC_TOKEN: submitter },
    });
    expect(queue.stderr).toContain('--queue cannot be used with --approve-via');
    expect(queue.status).toBe(2);
    expect(existsSync(marker)).toBe(false);
  });

  test("a server that asks no approval: this machine's assessment is shown first, then the server's answer", async () => {
    const ts = await startTestServer({});
    const submitter = addPrincipal(ts, 'ci-bot', 'submitter');
    const marker = join(tempDir(), 'ran');
    const r = await offTerminal(
      ['run', '--approve-via', ts.url, destructivePlan(marker, '7c1d2e3f-0000-4000-8000-00000000a0e1')],
      {
        env: { CLOUDOPS_EXEC_TOKEN: submitter },
      },
    );
    const local = r.stdout.indexOf("This machine's assessment");
    expect(local).toBeGreaterThanOrEqual(0);
    expect(r.stdout.indexOf('risk destructive — 2 commands: 1 destructive, 1 modify')).toBeGreaterThan(local);
    expect(r.stdout).toContain('· rm removes or ends things');
    expect(r.stdout).toMatch(
      /Submitted to \S+: the server's approval rules let it run at once \(the server rated it destructive\)/,
    );
    expect(r.stdout.indexOf('risk destructive')).toBeLessThan(r.stdout.indexOf('Submitted to'));
    expect(r.stdout).toContain(`its logs are on the server: ${new URL(ts.url).origin}/#/executions/7c1d2e3f-`);
    expect(r.status).toBe(0);
    expect(existsSync(marker)).toBe(true);
  });
});
