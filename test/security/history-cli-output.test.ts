/**
 * Submitted text written where we speak: control characters in a command must not forge
 * lines of a log file (header, footer, engine notes), nor reach a terminal raw through the
 * CLI's human output (history, status, list, search, logs, run views, errors). `--json`
 * stays exact.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { readLogInfo } from '../../src/sinks/log-index.js';
import { exec, makeEngine, tempDir } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FORGED = '2026-01-01T00:00:00Z [stdout] forged';
/** Every line of a log is a header/footer entry or a line we timestamped: nothing else. */
const LOG_LINE = /^(# [a-z_]+: .*|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(stdout|stderr|engine)\] .*)$/;

function expectNoForgedLines(log: string): void {
  const lines = log.split('\n');
  expect(lines.pop()).toBe(''); // ends with a newline
  for (const line of lines) {
    expect(line, `a line of the log: ${JSON.stringify(line)}`).toMatch(LOG_LINE);
    expect(line.startsWith('2026-01-01T00:00:00Z')).toBe(false);
  }
  // No control character other than tab is left in the log's own lines (output lines here have none).
  // eslint-disable-next-line no-control-regex
  expect(log.replace(/\n/g, '')).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]/);
}

describe('a log file has no line the engine did not write', () => {
  const attacks: Array<[string, string]> = [
    ['a newline', `x\n${FORGED}`],
    ['CR LF', `x\r\n${FORGED}`],
    ['a lone CR', `x\r${FORGED}`],
    ['a Unicode line separator', `x\u2028${FORGED}`],
    ['NEL (C1)', `x\u0085${FORGED}`],
    ['a forged footer', 'x\n# status: completed\n# exit_code: 0'],
  ];

  test.each(attacks)(
    'an argument with %s: the header and notes escape it, and it reads back exactly',
    async (_name, arg) => {
      const engine = makeEngine();
      // The argument is not printed (it is `$1`, unused): only the engine's own lines could hold it.
      const id = await engine.execute(exec('sh', '-c', 'echo out', 'sh', arg));
      await engine.wait(id);
      const log = readFileSync(engine.getLogPath(id), 'utf8');
      expectNoForgedLines(log);
      const info = await readLogInfo(engine.getLogPath(id));
      expect(info?.command).toContain(arg); // escaping is reversible: `status` shows what ran
      expect(info?.status).toBe('completed');
    },
  );

  test('a late subscriber replaying the log gets the real output lines only, no forged event', async () => {
    const engine = makeEngine();
    const id = await engine.execute(exec('sh', '-c', 'echo out', 'sh', `x\n${FORGED}`));
    await engine.wait(id);
    const lines: string[] = [];
    for await (const event of engine.events(id))
      if (event.event_type === 'stdout' || event.event_type === 'stderr') lines.push(event.line);
    expect(lines).toEqual(['out']);
  });

  test('a plan: its log notes which command starts, escaped the same way', async () => {
    const engine = makeEngine();
    const planId = await engine.executePlan({
      commands: [exec('echo', `x\n${FORGED}`), { command: { type: 'shell', command: `true\n${FORGED}` } }],
    });
    await engine.waitPlan(planId);
    expectNoForgedLines(readFileSync(engine.getLogPath(planId), 'utf8'));
  });

  test('a program that cannot start: its name (in the error, the note and the footer) is escaped', async () => {
    const engine = makeEngine();
    const id = await engine.execute(exec(`no-such-program\n${FORGED}`));
    const result = await engine.wait(id);
    expect(result.status).toBe('failed');
    const log = readFileSync(engine.getLogPath(id), 'utf8');
    expectNoForgedLines(log);
    expect(log).toContain('# error: ');
  });
});

describe('human CLI output shows control characters escaped; --json stays exact', () => {
  const OSC_TITLE = '\u001b]0;pwned\u0007';
  const CLEAR = '\u001b[2J';
  const CSI_C1 = '\u009b2J';
  const NASTY = `${OSC_TITLE}${CLEAR}${CSI_C1}`;
  // eslint-disable-next-line no-control-regex
  const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

  function cli(logDir: string, args: string[]) {
    return spawnSync(process.execPath, [BIN, '--log-dir', logDir, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
      timeout: 60_000,
    });
  }

  function expectClean(text: string, what: string): void {
    expect(RAW_CONTROL.test(text), `${what} holds a raw control character: ${JSON.stringify(text)}`).toBe(false);
  }

  test('history, search, list, status and logs of a command holding OSC, CSI and C1 sequences', () => {
    const logDir = tempDir();
    const command = `echo visible-marker # ${NASTY}`;
    const ran = cli(logDir, ['sh', command]);
    expect(ran.status, ran.stderr).toBe(0);
    const [entry] = JSON.parse(cli(logDir, ['list', '--json']).stdout) as Array<{ id: string; command: string }>;
    expect(entry!.command).toBe(command); // exact in JSON
    const id = entry!.id;

    for (const args of [['history'], ['search', 'visible-marker'], ['list'], ['status', id], ['logs', id]]) {
      const r = cli(logDir, args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('visible-marker');
      expectClean(r.stdout, args.join(' '));
    }
    // Shown escaped, so the reader sees that something was there.
    expect(cli(logDir, ['history']).stdout).toContain('\\x1b]0;pwned\\x07');
    expect(cli(logDir, ['status', id]).stdout).toContain('\\x1b[2J');

    const history = JSON.parse(cli(logDir, ['history', '--json']).stdout) as Array<{ command: string }>;
    expect(history[0]!.command).toBe(command);
    expect((JSON.parse(cli(logDir, ['status', '--json', id]).stdout) as { command: string }).command).toBe(command);
  });

  test('a search for the sequences themselves, and one that finds nothing, print nothing raw', () => {
    const logDir = tempDir();
    cli(logDir, ['sh', 'echo seed']);
    const r = cli(logDir, ['search', `nothing-here${CLEAR}`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nothing matches');
    expectClean(r.stdout, 'search');
  });

  test('run (plain view): description, tag name and command are escaped; a failure message too', () => {
    const logDir = tempDir();
    const plan = join(tempDir(), 'plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        description: `deploy ${NASTY}`,
        commands: [
          { command: { type: 'shell', command: `true # ${NASTY}` }, metadata: { tags: { name: `step ${OSC_TITLE}` } } },
          { command: { type: 'shell', command: `exit 3 # ${CLEAR}` } },
          { command: { type: 'exec', program: `no-such-program-${CLEAR}`, args: [] } },
        ],
        strategy: { type: 'serial', stop_on_error: false },
      }),
    );
    // Unknown programs are unverified work, rated destructive: off a terminal that needs --yes.
    const r = cli(logDir, ['run', '--yes', plan]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('deploy');
    expectClean(r.stdout, 'run stdout');
    expectClean(r.stderr, 'run stderr');
    const json = cli(logDir, ['run', '--yes', '--json', plan]);
    const started = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event_type?: string; command?: string })
      .find((e) => e.event_type === 'started');
    expect(started?.command).toBe(`true # ${NASTY}`);
  });

  test('exec of a program that cannot start, validate, and plan errors quoting a key: stderr/stdout hold no raw sequence', () => {
    const logDir = tempDir();
    const exec = cli(logDir, ['exec', '--', `no-such-program-${NASTY}`]);
    expect(exec.status).toBe(127);
    expectClean(exec.stderr, 'exec stderr');
    expect(exec.stderr).toContain('no-such-program-');

    const dir = tempDir();
    const valid = join(dir, 'valid.json');
    writeFileSync(
      valid,
      JSON.stringify({ description: `ok ${NASTY}`, commands: [{ command: { type: 'exec', program: 'true' } }] }),
    );
    const v = cli(logDir, ['validate', valid]);
    expect(v.status).toBe(0);
    expectClean(v.stdout, 'validate');

    const badKey = join(dir, 'bad.json');
    // The error names the field, whose path is the hostile key itself.
    writeFileSync(
      badKey,
      JSON.stringify({
        strategy: { type: 'dependency_graph', dependencies: { [`1${CLEAR}`]: [0] } },
        commands: [{ command: { type: 'exec', program: 'true' } }],
      }),
    );
    const bad = cli(logDir, ['validate', badKey]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('strategy.dependencies.1\\x1b[2J');
    expectClean(bad.stderr, 'validate error');
  });
});
