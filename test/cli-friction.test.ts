/**
 * The CLI as a shell user meets it: piping into `head`, options after the subcommand, id
 * prefixes, plan files run twice, YAML error places, the server's request log, and a queue
 * with no worker. Everything through the built binary (dist/cli/main.js) and real processes.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { tempDir, until } from './helpers.js';
import { freePort, kill } from './support/processes.js';
import { type RedisServer, startRedis, startWorkerProcess } from './support/redis.js';
import { addPrincipal, startTestServer, TOKEN } from './support/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const ANSI = /\x1b\[/;
/** What an unhandled error looks like on stderr. */
const STACK = /\n\s+at |EPIPE|Unhandled|node:internal/;
const ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '', FORCE_COLOR: '' };

function cli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    encoding: 'utf8',
    input: '',
    env: { ...ENV, ...env },
    timeout: 60_000,
  });
}

/** `cloudops-exec ARGS | head -N` through bash: head's output, then the CLI's exit status. */
function piped(args: string[], lines: number): { stdout: string; stderr: string; status: number } {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync(
    'bash',
    ['-c', `'${process.execPath}' '${BIN}' ${quoted} | head -${lines}; echo "status=\${PIPESTATUS[0]}"`],
    { cwd: root, encoding: 'utf8', env: ENV, timeout: 60_000 },
  );
  const status = /status=(\d+)\s*$/.exec(r.stdout);
  return {
    stdout: r.stdout.replace(/status=\d+\s*$/, ''),
    stderr: r.stderr,
    status: status ? Number(status[1]) : -1,
  };
}

function history(logDir: string): Array<{ id: string; status: string; plan_id: string | null }> {
  const r = cli(['history', '--log-dir', logDir, '--json', '-n', '100']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function file(name: string, content: string): string {
  const path = join(tempDir('cee-friction-plan-'), name);
  writeFileSync(path, content);
  return path;
}

const uuid = (head: string) => `${head}-1111-4111-8111-111111111111`;

describe('a closed stdout (| head) is a normal end', () => {
  /** The next start of the CLI in `logDir` finds nothing left over, and the runs ended cancelled. */
  function expectCleanEnd(logDir: string) {
    const next = cli(['sh', '--log-dir', logDir, 'true']);
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).toBe('');
    const records = history(logDir);
    expect(records.length).toBeGreaterThan(0);
    expect(records.map((r) => r.status)).not.toContain('interrupted');
    expect(records.map((r) => r.status)).not.toContain('running');
  }

  test('exec -- yes | head -1: no stack trace, exit 0, the command cancelled', () => {
    const logDir = tempDir();
    const r = piped(['exec', '--log-dir', logDir, '--', 'yes', 'row'], 1);
    expect(r.stdout).toBe('row\n');
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(history(logDir)[0]).toMatchObject({ status: 'cancelled' });
    expectCleanEnd(logDir);
  });

  test('sh | head -1 and run | head -2: the same', () => {
    const logDir = tempDir();
    const sh = piped(['sh', '--log-dir', logDir, 'while :; do echo tick; done'], 1);
    expect(sh.stdout).toBe('tick\n');
    expect(sh.stderr).not.toMatch(STACK);
    expect(sh.status).toBe(0);

    const plan = file(
      'loop.json',
      JSON.stringify({
        commands: [
          { command: { type: 'shell', command: 'while :; do echo loop; done' } },
          { command: { type: 'shell', command: 'echo never' } },
        ],
      }),
    );
    const run = piped(['run', '--log-dir', logDir, '--yes', plan], 2);
    expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(2);
    expect(run.stderr).not.toMatch(STACK);
    expect(run.status).toBe(0);
    const records = history(logDir);
    const planRecord = records.find((r) => r.plan_id === null && records.some((c) => c.plan_id === r.id));
    expect(planRecord?.status).toBe('cancelled');
    expectCleanEnd(logDir);
  });

  test('logs and list | head -1 stop quietly with exit 0', () => {
    const logDir = tempDir();
    const big = cli(['exec', '--log-dir', logDir, '--', 'seq', '1', '100000']);
    expect(big.status, big.stderr).toBe(0);
    const id = JSON.parse(cli(['list', '--log-dir', logDir, '--json']).stdout)[0].id as string;
    const logs = piped(['logs', '--log-dir', logDir, id.slice(0, 8)], 1);
    expect(logs.stdout).toMatch(/^# /);
    expect(logs.stderr).toBe('');
    expect(logs.status).toBe(0);
    const list = piped(['list', '--log-dir', logDir], 1);
    expect(list.stdout).toContain(id);
    expect(list.stderr).toBe('');
    expect(list.status).toBe(0);
  });
});

describe('global options in any position', () => {
  test('--log-dir after the subcommand reads and writes the same directory as before it', () => {
    const logDir = tempDir();
    expect(cli(['--log-dir', logDir, 'sh', 'echo before']).status).toBe(0);
    expect(cli(['sh', '--log-dir', logDir, 'echo after']).status).toBe(0);
    const list = cli(['list', '--log-dir', logDir]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain('echo before');
    expect(list.stdout).toContain('echo after');
    // The subcommand's own value wins over the program's.
    const other = tempDir();
    expect(cli(['--log-dir', other, 'list', '--log-dir', logDir]).stdout).toContain('echo before');
  });

  test('exec still passes options after the program through to it', () => {
    const logDir = tempDir();
    const r = cli(['exec', '--log-dir', logDir, '--', 'echo', '--log-dir', 'x', '--no-color']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('--log-dir x --no-color\n');
  });

  test('--no-color before or after the subcommand turns forced colours off', () => {
    const plan = file('one.json', JSON.stringify({ commands: [{ command: { type: 'shell', command: 'echo hi' } }] }));
    const coloured = cli(['run', '--log-dir', tempDir(), plan], { FORCE_COLOR: '1' });
    expect(coloured.status, coloured.stderr).toBe(0);
    expect(coloured.stdout).toMatch(ANSI);
    for (const args of [
      ['run', '--no-color', '--log-dir', tempDir(), plan],
      ['--no-color', 'run', '--log-dir', tempDir(), plan],
    ]) {
      const r = cli(args, { FORCE_COLOR: '1' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(ANSI);
    }
  });
});

describe('ids', () => {
  const dagPlan = (planId: string, first: string, second: string) =>
    JSON.stringify({
      id: planId,
      // Command 1 runs first, command 0 after it: plan order is not the order they ran in.
      strategy: { type: 'dependency_graph', dependencies: { '0': [1] } },
      commands: [
        { id: first, command: { type: 'shell', command: 'echo output-of-zero' } },
        { id: second, command: { type: 'shell', command: 'echo output-of-one' } },
      ],
    });

  test('run prints the plan id and where its logs are; logs PLAN shows each command in plan order', () => {
    const logDir = tempDir();
    const plan = file('dag.json', dagPlan(uuid('abcd0001'), uuid('abcd0002'), uuid('abcd0003')));
    const run = cli(['run', '--log-dir', logDir, plan]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`plan ${uuid('abcd0001')}; its logs: cloudops-exec logs --log-dir ${logDir} abcd0001`);
    expect(run.stdout).toContain(join(logDir, `${uuid('abcd0001')}.log`));

    const logs = cli(['logs', '--log-dir', logDir, 'abcd0001']);
    expect(logs.status, logs.stderr).toBe(0);
    const zero = logs.stdout.indexOf('[stdout] output-of-zero');
    const one = logs.stdout.indexOf('[stdout] output-of-one');
    expect(zero).toBeGreaterThan(0);
    expect(one).toBeGreaterThan(zero);
    expect(logs.stdout).toContain(`==> command 0 (${uuid('abcd0002')}) <==`);
  });

  test('a unique prefix is enough; an ambiguous one lists the candidates (exit 2); none is not found (exit 2)', () => {
    const logDir = tempDir();
    const plan = file('dag.json', dagPlan(uuid('feed0001'), uuid('feed0002'), uuid('beef0003')));
    expect(cli(['run', '--log-dir', logDir, plan]).status).toBe(0);

    const status = cli(['status', '--log-dir', logDir, 'beef']);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toContain(uuid('beef0003'));

    const ambiguous = cli(['status', '--log-dir', logDir, 'feed']);
    expect(ambiguous.status).toBe(2);
    expect(ambiguous.stderr).toContain('"feed" is ambiguous');
    expect(ambiguous.stderr).toContain(uuid('feed0001'));
    expect(ambiguous.stderr).toContain(uuid('feed0002'));

    const none = cli(['logs', '--log-dir', logDir, '0123']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no execution id starts with "0123"');

    const bad = cli(['logs', '--log-dir', logDir, '../etc']);
    expect(bad.status).toBe(2);
  });
});

test('approval show and reject take a unique approval-id prefix; an ambiguous one lists the candidates', async () => {
  const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
  const alice = addPrincipal(ts, 'alice', 'approver');
  const submit = async (id: string) =>
    (
      await ts.api('POST', '/api/plans', {
        id,
        commands: [{ command: { type: 'shell', command: 'true' }, risk_level: 'destructive' }],
      })
    ).body;
  expect(await submit(uuid('cafe0001'))).toMatchObject({ status: 'awaiting_approval' });
  expect(await submit(uuid('cafe0002'))).toMatchObject({ status: 'awaiting_approval' });
  // Spawned, not spawnSync: the server answering it lives in this process.
  const run = (token: string, args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args, '--server', ts.url], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...ENV, CLOUDOPS_EXEC_TOKEN: token, NO_COLOR: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const shown = await run(TOKEN, ['approval', 'show', 'cafe0002']);
  expect(shown.status, shown.stderr).toBe(0);
  expect(shown.stdout).toContain(`Approval ${uuid('cafe0002')}`);
  const ambiguous = await run(TOKEN, ['approval', 'show', 'cafe']);
  expect(ambiguous.status).toBe(2);
  expect(ambiguous.stderr).toContain(uuid('cafe0001'));
  expect(ambiguous.stderr).toContain(uuid('cafe0002'));
  const rejected = await run(alice, ['reject', 'cafe0001', '--reason', 'wrong account']);
  expect(rejected.status, rejected.stderr).toBe(0);
  expect((await ts.api('GET', `/api/approvals/${uuid('cafe0001')}`)).body).toMatchObject({ state: 'rejected' });
});

describe('plan files', () => {
  test('running a plan with fixed ids again is refused (DuplicateId) and keeps the first run; --new-ids runs it again', () => {
    const logDir = tempDir();
    const planId = uuid('d0d00001');
    const plan = file(
      'fixed.json',
      JSON.stringify({
        id: planId,
        strategy: { type: 'dependency_graph', dependencies: { '1': [0] } },
        commands: [
          { id: uuid('d0d00002'), command: { type: 'shell', command: 'echo first' } },
          { id: uuid('d0d00003'), command: { type: 'shell', command: 'echo second' } },
        ],
      }),
    );
    expect(cli(['run', '--log-dir', logDir, plan]).status).toBe(0);
    const firstLog = readFileSync(join(logDir, `${uuid('d0d00002')}.log`), 'utf8');

    const again = cli(['run', '--log-dir', logDir, plan]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('[DuplicateId]');
    expect(again.stderr).toContain('cloudops-exec run --new-ids');
    expect(readFileSync(join(logDir, `${uuid('d0d00002')}.log`), 'utf8')).toBe(firstLog);

    const fresh = cli(['run', '--log-dir', logDir, '--new-ids', '--json', plan]);
    expect(fresh.status, fresh.stderr).toBe(0);
    const result = JSON.parse(fresh.stdout.trim().split('\n').at(-1)!).plan_result;
    expect(result.plan_id).not.toBe(planId);
    expect(result.results.map((r: { id: string }) => r.id)).not.toContain(uuid('d0d00002'));
    // The dependency (by index) still holds: second ran after first.
    const [first, second] = result.results as Array<{ started_at: string; completed_at: string; stdout: string }>;
    expect(first!.stdout).toBe('first\n');
    expect(Date.parse(second!.started_at)).toBeGreaterThanOrEqual(Date.parse(first!.completed_at));
    expect(history(logDir).filter((r) => r.plan_id === null)).toHaveLength(2);
  });

  test('YAML syntax errors name line and column; a missing file is FileNotFound', () => {
    const yaml = file('bad.yaml', 'description: x\ncommands:\n  - command: {type: shell, command: "echo"\n  - x: [1\n');
    const r = cli(['validate', yaml]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${yaml.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: not valid YAML`));

    const missing = cli(['validate', join(tempDir(), 'nope.yaml')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('[FileNotFound]');
    expect(missing.stderr).not.toContain('InvalidField');
    const run = cli(['run', join(tempDir(), 'nope.json')]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('[FileNotFound]');
  });
});

describe('serve request log', () => {
  const children: Array<ReturnType<typeof spawn>> = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await kill(child);
  });

  async function serve(...args: string[]) {
    const env = { ...ENV };
    delete env.CLOUDOPS_EXEC_TOKEN;
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    children.push(child);
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await until(() => /API token: \S+/.test(stderr) || child.exitCode !== null, 20_000, 'server started');
    const url = /serving on (http:\/\/\S+)/.exec(stderr)?.[1] ?? '';
    const token = /API token: (\S+)/.exec(stderr)?.[1] ?? '';
    return { url, token, stdout: () => stdout };
  }

  test('one line per request with method, path, status, principal and duration; never the token', async () => {
    const logDir = tempDir();
    const server = await serve('--log-dir', logDir);
    expect(readFileSync(join(logDir, 'server-token'), 'utf8').trim()).toBe(server.token);
    const health = await fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(health.status).toBe(200);
    await fetch(`${server.url}/api/health`);
    await fetch(`${server.url}/login?token=${server.token}`, { redirect: 'manual' });
    await until(() => server.stdout().split('\n').length > 3, 10_000, 'three request lines');
    const lines = server.stdout().trim().split('\n');
    expect(lines[0]).toMatch(/^\S+ - admin \[\d{4}-\d\d-\d\dT[^\]]+\] "GET \/api\/health" 200 \S+ \d+\.\dms$/);
    expect(lines[1]).toMatch(/ - - \[.*\] "GET \/api\/health" 401 /);
    expect(lines[2]).toMatch(/"GET \/login" \d{3} /);
    expect(server.stdout()).not.toContain(server.token);
  });

  test('--quiet prints no request lines', async () => {
    const server = await serve('--quiet', '--log-dir', tempDir());
    await fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${server.token}` } });
    // A second request answered means the first one's log line (if any) was written.
    await fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(server.stdout()).toBe('');
  });
});

describe('queue mode', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('a submitter with no live worker says once that it is waiting; a worker then runs the command', async () => {
    const logDir = tempDir();
    const queue = `friction-${process.pid}-${Date.now()}`;
    const child = spawn(
      process.execPath,
      [BIN, 'sh', '--log-dir', logDir, '--redis', redis.url, '--queue', queue, 'echo queued-ok'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: ENV },
    );
    let stderr = '';
    let stdout = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until(() => stderr.includes('waiting for a worker'), 20_000, 'the waiting notice');
      expect(stderr).toContain(`--queue ${queue}`);
      const worker = await startWorkerProcess(redis.url, queue, tempDir());
      try {
        expect(await exited).toBe(0);
      } finally {
        await worker.stop();
      }
      expect(stdout).toBe('queued-ok\n');
      expect(stderr.match(/waiting for a worker/g)).toHaveLength(1);
    } finally {
      await kill(child);
    }
  });

  test('with a live worker nothing is said', async () => {
    const queue = `friction-live-${process.pid}-${Date.now()}`;
    const worker = await startWorkerProcess(redis.url, queue, tempDir());
    try {
      const r = cli(['sh', '--log-dir', tempDir(), '--redis', redis.url, '--queue', queue, 'sleep 4; echo done']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('waiting for a worker');
    } finally {
      await worker.stop();
    }
  });

  test('a worker that cannot reach Redis says so once, not once per retry', async () => {
    const port = await freePort();
    const r = cli(['worker', '--log-dir', tempDir(), '--redis', `redis://127.0.0.1:${port}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.match(/ECONNREFUSED/g)).toHaveLength(1);
    expect(r.stderr).toContain('Queue unavailable');
  }, 30_000);
});

test('--env takes one NAME=VALUE per flag and leaves the program after it alone', () => {
  const logDir = tempDir();
  const r = cli(['exec', '--log-dir', logDir, '--env', 'FOO=1', '--env', 'BAR=two', 'printenv', 'FOO', 'BAR']);
  expect(r.stderr).not.toMatch(/missing required argument/);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain('1\ntwo\n');
});

test('a dry run that gets no verdict from AWS is not "nothing would fail": exit 1, counted in --json', () => {
  const dir = tempDir();
  const plan = join(dir, 'stop.json');
  // A closed port: AWS is never reached, so no verdict comes back.
  writeFileSync(
    plan,
    JSON.stringify({
      commands: [
        {
          command: {
            type: 'aws_cli',
            service: 'ec2',
            operation: 'stop-instances',
            args: ['--instance-ids', 'i-0123456789abcdef0', '--endpoint-url', 'http://127.0.0.1:9'],
            region: 'us-east-1',
          },
          env: { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing-secret-key', AWS_MAX_ATTEMPTS: '1' },
        },
      ],
    }),
  );
  // The engine's own endpoint: a dry run is sent to no other.
  const text = cli(['plan', '--log-dir', dir, '--endpoint-url', 'http://127.0.0.1:9', plan]);
  expect(text.status, text.stderr).toBe(1);
  expect(text.stdout).toContain('Dry run: 1 AWS call gave no verdict');
  expect(text.stdout).not.toContain('nothing would fail');
  const json = cli(['plan', '--json', '--log-dir', dir, '--endpoint-url', 'http://127.0.0.1:9', plan]);
  expect(json.status).toBe(1);
  expect(JSON.parse(json.stdout)).toMatchObject({ would_fail: false, without_verdict: 1 });
});
