/** End-to-end: the built `cloudops-exec` binary, spawned as a user or CI would run it. */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseEvent } from '../src/index.js';
import { isAlive, processGroupOf, READ_HOST_PID, tempDir, until } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const ANSI = /\x1b\[/;

function cli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; logDir?: string } = {},
): SpawnSyncReturns<string> {
  const logDir = options.logDir ?? tempDir('cee-cli-');
  return spawnSync(process.execPath, [BIN, '--log-dir', logDir, ...args], {
    cwd: root,
    encoding: 'utf8',
    input: options.input ?? '',
    env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '', ...options.env },
    timeout: 60_000,
  });
}

/** A CLI process in the background, both streams collected (an unread pipe would keep it from closing). */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (output.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output, exited };
}

function planFile(name: string, content: string): string {
  const path = join(tempDir('cee-plan-'), name);
  writeFileSync(path, content);
  return path;
}

describe('run', () => {
  test('serial example: plain prefixed lines off a TTY, summary, exit 0', () => {
    const r = cli(['run', 'examples/serial.json']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('[build] compiling');
    expect(r.stdout).toContain('[test] test run ok');
    expect(r.stdout.indexOf('[build] compiled 12 files')).toBeLessThan(r.stdout.indexOf('[test] test parse ok'));
    expect(r.stdout).toMatch(/✔ "Build, test and package, one step after another" completed — 3 completed of 3/);
    expect(r.stdout).not.toMatch(ANSI);
  });

  test('parallel and DAG (YAML) examples complete', () => {
    const stdout: Record<string, string> = {};
    for (const file of ['examples/parallel.json', 'examples/dag.yaml']) {
      const r = cli(['run', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/completed — 4 completed of 4/);
      stdout[file] = r.stdout;
    }
    const dag = stdout['examples/dag.yaml']!;
    expect(dag.indexOf('[deploy]')).toBeGreaterThan(dag.indexOf('[test] 42 passed'));
    expect(dag.indexOf('[test] ▶')).toBeGreaterThan(dag.indexOf('[build] built'));
  });

  test('a failing step with stop_on_error: exit 1, later steps skipped, the error and log shown', () => {
    const r = cli(['run', 'examples/failing.json']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('[migrate] ERROR: column "region" already exists');
    expect(r.stdout).not.toContain('[restart] restarting service');
    expect(r.stdout).toMatch(/↷ \[restart\] Skipped: step 1 did not complete \(failed\)/);
    expect(r.stdout).toMatch(/log: .*\.log/);
  });

  test('--json prints the event stream as NDJSON in the wire format, then the plan result', () => {
    const r = cli(['run', '--json', 'examples/failing.json']);
    expect(r.status).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = lines.pop()!;
    expect(last.plan_result).toMatchObject({
      status: 'failed',
      stats: { total: 3, completed: 1, failed: 1, skipped: 1 },
    });
    const events = lines.map((l) => parseEvent(l));
    expect(events.map((e) => e.event_type)).toContain('progress');
    expect(events.filter((e) => e.event_type === 'stderr').map((e) => (e as { line: string }).line)).toEqual([
      'ERROR: column "region" already exists',
    ]);
  });

  test('"-" reads the plan from stdin (YAML)', () => {
    const r = cli(['run', '-'], {
      input: 'commands:\n  - command: { type: exec, program: echo, args: [from stdin] }\n',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\[0:echo 'from stdin'\] from stdin/);
  });
});

describe('bad plan files: exit 2 and a message naming the problem', () => {
  test('invalid JSON names the position', () => {
    const r = cli([
      'run',
      planFile('bad.json', '{"commands": [\n  {"command": {"type": "exec", "program": "true"},}\n]}'),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.json:2:\d+: not valid JSON: /);
  });

  test('an unknown command type names the type, the field and its line', () => {
    const r = cli([
      'run',
      planFile(
        'unknown.json',
        '{\n  "commands": [\n    {"command": {"type": "powershell", "command": "dir"}}\n  ]\n}\n',
      ),
    ]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown\.json:3:\d+: commands\[0\]\.command\.type: unknown command type "powershell"/);
    expect(r.stderr).toContain('[InvalidCommand]');
  });

  test('a dependency cycle names the indices', () => {
    const r = cli(['run', join(root, '../shared/conformance/invalid/plan_cycle.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/dependency cycle between commands 0 -> 1 -> 0 \[InvalidPlan\]/);
  });

  test('a YAML alias without an anchor before it is named with its line; an alias bomb is still called one', () => {
    const undefinedAlias = cli([
      'validate',
      planFile('alias.yaml', 'commands:\n  - command: {type: exec, program: "true"}\n  - *nope\n'),
    ]);
    expect(undefinedAlias.status).toBe(2);
    expect(undefinedAlias.stderr).toContain('alias.yaml:3:5: not valid YAML: alias *nope has no anchor before it');
    expect(undefinedAlias.stderr).not.toContain('expand too much');
    // Set after its use is not before it: YAML anchors are read top to bottom.
    const late = cli([
      'validate',
      planFile('late.yaml', 'commands:\n  - *step\n  - &step {command: {type: exec, program: "true"}}\n'),
    ]);
    expect(late.status).toBe(2);
    expect(late.stderr).toContain('late.yaml:2:5: not valid YAML: alias *step has no anchor before it');

    const ten = (alias: string) => `[${Array(10).fill(alias).join(', ')}]`;
    const bomb = cli([
      'validate',
      planFile('bomb.yaml', `a: &a ["x"]\nb: &b ${ten('*a')}\nc: &c ${ten('*b')}\nd: ${ten('*c')}\n`),
    ]);
    expect(bomb.status).toBe(2);
    expect(bomb.stderr).toContain('bomb.yaml: not loadable as YAML: its aliases expand too much');
  });

  test('a missing file and an empty file', () => {
    expect(cli(['run', '/nonexistent/plan.json']).stderr).toMatch(/cannot read plan file \(no such file\)/);
    const empty = cli(['run', planFile('empty.yaml', '')]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('the plan file is empty');
  });
});

describe('exec and sh', () => {
  test('output passes through and the exit code mirrors the command', () => {
    const r = cli(['exec', '--', 'sh', '-c', 'echo out; echo err >&2; exit 5']);
    expect(r.status).toBe(5);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toMatch(/^err\ncloudops-exec: Command failed with exit code 5 \(log: .*\.log\)\n$/);
  });

  test('argv is not re-interpreted by a shell', () => {
    const r = cli(['exec', 'printf', '%s|', '$HOME', 'a b', ';ls']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('$HOME|a b|;ls|\n');
  });

  test('sh with env, cwd and another shell', () => {
    const dir = tempDir();
    const r = cli(['sh', '--shell', 'sh', '--env', 'WHO=world', '--cwd', dir, 'echo "hello $WHO from $(pwd) via $0"']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`hello world from ${dir} via sh\n`);
  });

  test('timeout exits 124, an unknown program 127', () => {
    const t = cli(['exec', '--timeout', '300', '--', 'sleep', '10']);
    expect(t.status).toBe(124);
    expect(t.stderr).toContain('Execution timeout after 300ms');
    expect(cli(['exec', 'no-such-program-xyz']).status).toBe(127);
  });
});

describe('validate and schema', () => {
  test('validate: a good plan passes, a bad one points at the field and line', () => {
    const ok = cli(['validate', 'examples/dag.yaml']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(
      /examples\/dag\.yaml: "Build and lint.*" is valid — 4 command\(s\), strategy dependency_graph/,
    );
    const bad = cli([
      'validate',
      planFile('t.yaml', 'commands:\n  - command: { type: exec, program: "true" }\n    timeout_ms: 99999999\n'),
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/t\.yaml:3:\d+: commands\[0\]\.timeout_ms: 99999999ms > 600000ms \[TimeoutTooLarge\]/);
  });

  test('schema prints the JSON Schema; unknown names are bad input', () => {
    const r = cli(['schema']);
    expect(r.status).toBe(0);
    const schema = JSON.parse(r.stdout) as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(['commands']);
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['strategy', 'commands']));
    expect(JSON.parse(cli(['schema', 'event']).stdout).oneOf).toHaveLength(10);
    const bad = cli(['schema', 'bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown schema "bogus"');
  });
});

describe('logs, list, status', () => {
  test('list and status show finished executions; logs prints the log', () => {
    const logDir = tempDir();
    const run = cli(['sh', '--json', 'echo listed'], { logDir });
    const id = (JSON.parse(run.stdout.split('\n')[0]!) as { execution_id: string }).execution_id;
    const list = cli(['list'], { logDir });
    expect(list.stdout).toMatch(new RegExp(`${id}  completed .* echo listed`));
    const status = cli(['status', id, '--json'], { logDir });
    expect(JSON.parse(status.stdout)).toMatchObject({ id, status: 'completed', exit_code: 0, command: 'echo listed' });
    const logs = cli(['logs', id], { logDir });
    expect(logs.stdout).toMatch(/\[stdout\] listed\n/);
    expect(cli(['status', 'not-an-id'], { logDir }).status).toBe(2);
    const unknown = cli(['status', '00000000-0000-4000-8000-000000000000'], { logDir });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no log for execution');
  });

  test('status and list carry the error code from the log footer; a word outside the vocabulary reads as null', () => {
    const logDir = tempDir();
    const run = cli(['sh', '--json', 'exit 3'], { logDir });
    expect(run.status).toBe(3);
    const id = (JSON.parse(run.stdout.split('\n')[0]!) as { execution_id: string }).execution_id;
    const status = JSON.parse(cli(['status', id, '--json'], { logDir }).stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ id, status: 'failed', exit_code: 3, error_code: 'exit' });
    const list = JSON.parse(cli(['list', '--json'], { logDir }).stdout) as Array<Record<string, unknown>>;
    expect(list).toEqual([expect.objectContaining({ id, error_code: 'exit' })]);
    expect(cli(['status', id], { logDir }).stdout).toMatch(/^error_code {3}exit$/m);

    const logPath = status.log_path as string;
    const footer = readFileSync(logPath, 'utf8');
    expect(footer).toContain('# error_code: exit\n');
    writeFileSync(logPath, footer.replace('# error_code: exit\n', '# error_code: exploded\n'));
    expect(JSON.parse(cli(['status', id, '--json'], { logDir }).stdout)).toMatchObject({
      status: 'failed',
      error_code: null,
    });
  });

  test('logs --follow streams a running execution until it ends', async () => {
    const logDir = tempDir();
    const gate = join(logDir, 'gate');
    const runner = startCli([
      '--log-dir',
      logDir,
      'sh',
      '--json',
      `echo first; while [ ! -f ${gate} ]; do sleep 0.05; done; echo second`,
    ]);
    await until(() => runner.output.stdout.includes('"line":"first"'), 10_000, 'first line');
    const id = (JSON.parse(runner.output.stdout.split('\n')[0]!) as { execution_id: string }).execution_id;
    const follower = startCli(['--log-dir', logDir, 'logs', '--follow', id]);
    await until(() => follower.output.stdout.includes('[stdout] first'), 10_000, 'follower to print the first line');
    expect(follower.output.stdout).not.toContain('[stdout] second');
    writeFileSync(gate, '');
    expect(await follower.exited).toBe(0);
    expect(follower.output.stdout).toMatch(/\[stdout\] second\n/);
    expect(follower.output.stdout).toMatch(/# status: completed\n/);
    expect(await runner.exited).toBe(0);
  });

  test('an execution whose engine was killed shows as interrupted', async () => {
    const logDir = tempDir();
    // The shell's host pid: in a PID namespace `$$` is a namespace pid.
    const victim = startCli(['--log-dir', logDir, 'sh', '--json', `${READ_HOST_PID}; echo $p; sleep 100`]);
    await until(() => victim.output.stdout.includes('"event_type":"stdout"'), 10_000, 'pid line');
    const lines = victim.output.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { execution_id: string; line?: string });
    const shellPid = Number(lines.find((l) => l.line)!.line);
    // Its group: the shell leads it, or in a PID namespace `unshare` does.
    const group = processGroupOf(shellPid)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    try {
      const status = cli(['status', '--json', lines[0]!.execution_id], { logDir });
      expect(
        status.stdout,
        `status exited ${status.status} (${status.signal ?? 'no signal'}): ${status.stderr}`,
      ).not.toBe('');
      expect(JSON.parse(status.stdout)).toMatchObject({ status: 'interrupted' });
    } finally {
      process.kill(-group, 'SIGKILL'); // SIGKILL gave the CLI no chance to clean up: do it here
    }
  });
});

describe('history and search', () => {
  test('executions land in the history; filters and full-text search find them', () => {
    const logDir = tempDir();
    const ok = cli(['sh', '--json', 'echo needle-in-output'], { logDir });
    const okId = (JSON.parse(ok.stdout.split('\n')[0]!) as { execution_id: string }).execution_id;
    const bad = cli(['sh', 'echo broken >&2; exit 3'], { logDir });
    expect(bad.status).toBe(3);
    const all = JSON.parse(cli(['history', '--json'], { logDir }).stdout) as Array<{ id: string; status: string }>;
    expect(all.map((r) => r.status)).toEqual(['failed', 'completed']); // newest first
    const failed = JSON.parse(cli(['history', '--json', '--status', 'failed'], { logDir }).stdout) as Array<{
      command: string;
    }>;
    expect(failed.map((r) => r.command)).toEqual(['echo broken >&2; exit 3']);
    expect(cli(['history', '--status', 'completed'], { logDir }).stdout).toMatch(
      new RegExp(`^${okId}  completed +read_only`, 'm'),
    );
    const found = JSON.parse(cli(['search', '--json', 'needle-in-output'], { logDir }).stdout) as Array<{ id: string }>;
    expect(found.map((r) => r.id)).toEqual([okId]);
    expect(cli(['search', 'no-such-word-anywhere'], { logDir }).stdout).toContain('nothing matches');
  });

  test('--error-code finds results by why they did not succeed', () => {
    const logDir = tempDir();
    cli(['sh', 'exit 3'], { logDir });
    expect(cli(['exec', 'no-such-program-xyz'], { logDir }).status).toBe(127);
    cli(['sh', 'true'], { logDir });
    const byCode = (code: string) =>
      JSON.parse(cli(['history', '--json', '--error-code', code], { logDir }).stdout) as Array<{
        command: string;
        error_code: string;
      }>;
    expect(byCode('exit')).toEqual([expect.objectContaining({ command: 'exit 3', error_code: 'exit' })]);
    expect(byCode('spawn_failed')).toEqual([
      expect.objectContaining({ command: 'no-such-program-xyz', error_code: 'spawn_failed' }),
    ]);
    expect(byCode('timeout')).toEqual([]);
    const bad = cli(['history', '--error-code', 'Process spawn failed'], { logDir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--error-code must be one of exit, signal, timeout');
  });

  test('integer options: digits within bounds, else exit 2 naming the option, what it takes and what it got', () => {
    const logDir = tempDir();
    cli(['sh', 'true'], { logDir });
    const refused: Array<[args: string[], message: string]> = [
      [
        ['history', '--limit', '1e3'],
        '--limit must be an integer from 0 to 10000: got "1e3", which is not a whole number in digits',
      ],
      [['history', '--limit', '10001'], '--limit must be an integer from 0 to 10000: got "10001", which is too large'],
      [
        ['history', '--offset', '-1'],
        '--offset must be a non-negative integer: got "-1", which is not a whole number in digits',
      ],
      [['search', '-n', '5000', 'x'], '--limit must be an integer from 0 to 1000: got "5000", which is too large'],
      [['list', '-n', ' 5'], '--limit must be a non-negative integer: got " 5", which is not a whole number in digits'],
      [['sh', '--timeout', '0', 'true'], '--timeout must be an integer of at least 1: got "0", which is too small'],
      [['sh', '--max-concurrent', 'many', 'true'], '--max-concurrent must be an integer of at least 1: got "many"'],
      [
        ['sh', '--kill-grace', '99999999999999999999', 'true'],
        '--kill-grace must be a non-negative integer: got "99999999999999999999", which is too large',
      ],
      [['serve', '--port', '70000'], '--port must be an integer from 0 to 65535: got "70000", which is too large'],
      [
        ['serve', '--port', '0', '--body-limit', '10'],
        '--body-limit must be an integer of at least 1024: got "10", which is too small',
      ],
    ];
    for (const [args, message] of refused) {
      const r = cli(args, { logDir });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`cloudops-exec: ${message}`);
    }
    expect(JSON.parse(cli(['history', '--json', '--limit', '1'], { logDir }).stdout)).toHaveLength(1);
  });

  test('bad filters and a missing store are bad input', () => {
    const logDir = tempDir();
    expect(cli(['history'], { logDir }).status).toBe(2);
    cli(['sh', 'true'], { logDir });
    const r = cli(['history', '--risk', 'scary'], { logDir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--risk must be one of read_only, modify, destructive');
    expect(r.stderr).not.toContain('did you mean');
    expect(cli(['history', '--from', 'last tuesday'], { logDir }).stderr).toContain('--from must be a date');
  });

  test('a mistyped vocabulary word names the option, the words and the one it was probably meant to be', () => {
    const logDir = tempDir();
    cli(['sh', 'true'], { logDir });
    /** stderr of each `history ARGS` run, kept: the hints below are read from the same runs. */
    const stderr = new Map<string, string>();
    for (const [args, message] of [
      [['--status', 'runing'], '--status must be one of pending, running,'],
      [['--risk', 'destrcutive'], '--risk must be one of read_only, modify, destructive (got "destrcutive")'],
      [['--kind', 'plna'], '--kind must be one of command, plan (got "plna")'],
      [['--error-code', 'spawn'], '--error-code must be one of exit, signal,'],
    ] as const) {
      const r = cli(['history', ...args], { logDir });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
      stderr.set(args.join(' '), r.stderr);
    }
    const hint = (args: string[]) =>
      /did you mean "([a-z_]+)"\?/.exec(
        stderr.get(args.join(' ')) ?? cli(['history', ...args], { logDir }).stderr,
      )?.[1];
    expect(hint(['--status', 'runing'])).toBe('running');
    expect(hint(['--risk', 'destrcutive'])).toBe('destructive');
    expect(hint(['--kind', 'plna'])).toBe('plan');
    expect(hint(['--error-code', 'spawn'])).toBe('spawn_failed');
    expect(hint(['--status', 'FAILED'])).toBe('failed');
  });
});

describe('Ctrl-C', () => {
  test('SIGINT cancels the run, kills the process trees, prints a summary and exits 130', async () => {
    const plan = planFile(
      'long.json',
      JSON.stringify({
        strategy: { type: 'parallel', max_concurrency: null },
        // Each inner shell prints its host pid (in a PID namespace `$$` is a namespace pid).
        commands: [0, 1].map((i) => ({
          command: { type: 'shell', command: `sh -c '${READ_HOST_PID}; echo $p; sleep 100' & wait` },
          metadata: { tags: { name: `long${i}` } },
        })),
      }),
    );
    const run = startCli(['--log-dir', tempDir(), 'run', plan]);
    const pids = () => [...run.output.stdout.matchAll(/\[long\d\] (\d+)$/gm)].map((m) => Number(m[1]));
    await until(() => pids().length === 2, 10_000, 'both commands to print their pids');
    const seen = pids();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output.stdout).toContain('Interrupted: cancelling running commands');
    expect(run.output.stdout).toMatch(/⊘ plan .* cancelled — 2 cancelled of 2/);
    await until(() => !seen.some(isAlive), 5_000, 'process trees to be gone');
  });

  test('a second SIGINT forces the exit at once and still leaves no process behind', async () => {
    // The tree ignores SIGTERM and the grace is long: only the forced path can end it quickly.
    // Each process prints its own host pid (in a PID namespace `$$` and `$!` are namespace pids); `exec` keeps the child's.
    const command = `trap '' TERM; ${READ_HOST_PID}; echo $p; sh -c '${READ_HOST_PID}; echo $p; exec sleep 100' & wait`;
    const plan = planFile(
      'stubborn.json',
      JSON.stringify({ commands: [{ command: { type: 'shell', command }, metadata: { tags: { name: 'stubborn' } } }] }),
    );
    const run = startCli(['--log-dir', tempDir(), 'run', '--kill-grace', '60000', plan]);
    const pids = () => [...run.output.stdout.matchAll(/\[stubborn\] (\d+)$/gm)].map((m) => Number(m[1]));
    await until(() => pids().length === 2, 10_000, 'pids printed');
    const seen = pids();
    run.child.kill('SIGINT');
    await until(() => run.output.stdout.includes('Interrupted'), 10_000, 'first interrupt acknowledged');
    expect(seen.every(isAlive)).toBe(true); // SIGTERM ignored, grace not over
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output.stdout).toContain('Forced exit');
    await until(() => !seen.some(isAlive), 5_000, 'stubborn tree to be gone');
  });
});

describe('conventions', () => {
  test.each(['run', 'exec', 'sh', 'validate', 'schema', 'logs', 'list', 'status', 'history', 'search'])(
    '%s --help shows examples',
    (sub) => {
      const r = cli([sub, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Examples:\n\s+\$ cloudops-exec /);
    },
  );

  test('unknown options and commands are bad input (exit 2, stderr)', () => {
    const r = cli(['run', '--bogus', 'x.json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(cli(['frobnicate']).status).toBe(2);
  });

  test("worker --help lists what the worker uses, from the worker's side; an option it would ignore is refused", () => {
    const help = cli(['worker', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--redis <url> +the Redis the submitters queue commands in/);
    expect(help.stdout).not.toContain('instead of running them here');
    expect(help.stdout).toContain('--concurrency <n>');
    expect(help.stdout).not.toContain('--max-concurrent');
    const ignored = cli(['worker', '--redis', 'redis://127.0.0.1:1', '--max-concurrent', '3']);
    expect(ignored.status).toBe(2);
    expect(ignored.stderr).toContain("unknown option '--max-concurrent'");
  });

  test('colour: FORCE_COLOR turns it on; NO_COLOR and --no-color turn it off', () => {
    expect(cli(['run', 'examples/serial.json'], { env: { FORCE_COLOR: '1' } }).stdout).toMatch(ANSI);
    expect(cli(['run', 'examples/serial.json'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } }).stdout).not.toMatch(ANSI);
    expect(cli(['--no-color', 'run', 'examples/serial.json'], { env: { FORCE_COLOR: '1' } }).stdout).not.toMatch(ANSI);
  });

  test('on a terminal, run shows a live task list (checked under a pseudo-terminal)', () => {
    const logDir = tempDir();
    const r = spawnSync(
      'script',
      [
        '-qfec',
        `stty rows 30 cols 120; ${process.execPath} ${BIN} --log-dir ${logDir} run examples/dag.yaml`,
        '/dev/null',
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '' },
        timeout: 60_000,
      },
    );
    expect(r.status).toBe(0);
    const screen = r.stdout;
    expect(screen).toMatch(/\x1b\[2K\x1b\[1A/); // rows are redrawn in place
    expect(screen).toMatch(ANSI); // colours on a terminal
    const plain = screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(plain).toMatch(/◌ deploy {2}pending/); // a waiting row
    expect(plain).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (build|lint|test|deploy) {2}\d+ms/); // a running row with elapsed time
    expect(plain).toMatch(/› 42 passed/); // tail of output
    expect(plain).toMatch(/✔ deploy {2}\d+ms/);
    expect(plain).toMatch(/4\/4/);
    expect(plain).not.toMatch(/\[build\] building/); // no plain prefixed lines on a terminal
  });
});

test('piped into head, run stops quietly when the reader goes away (no EPIPE crash)', () => {
  const logDir = tempDir('cee-cli-pipe-');
  const r = spawnSync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `"${process.execPath}" "${BIN}" --log-dir "${logDir}" run examples/parallel.json | head -n 1`,
    ],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
  expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at .*\.js:\d+/);
  expect(r.status).toBe(0);
});
